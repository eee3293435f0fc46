#!/usr/bin/env bash
# make run: start the Temporal dev server (with its Web UI and search
# attributes), create and migrate the database, start the worker, and open a
# demo case. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=.caseflow
PORT=${CASEFLOW_TEMPORAL_PORT:-7233}
UI_PORT=${CASEFLOW_UI_PORT:-8233}
export TEMPORAL_ADDRESS=127.0.0.1:$PORT
export CASEFLOW_CODEC_KEY_FILE=${CASEFLOW_CODEC_KEY_FILE:-$PWD/$STATE/codec.keys}
mkdir -p "$STATE"

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping caseflow..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  echo "stopped. State kept in $STATE/ (make clean removes it)."
}
trap cleanup EXIT INT TERM

if bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "caseflow: something already answers on $TEMPORAL_ADDRESS; stop it or set CASEFLOW_TEMPORAL_PORT" >&2
  exit 1
fi

[ -f "$CASEFLOW_CODEC_KEY_FILE" ] || bin/caseflow keys generate --file "$CASEFLOW_CODEC_KEY_FILE"

attrs=()
for a in CasePhase=Keyword CaseRisk=Keyword CaseProgram=Keyword CaseManager=Keyword CaseNextDue=Datetime; do
  attrs+=(--search-attribute "$a")
done
echo "starting the Temporal dev server on $TEMPORAL_ADDRESS (UI on http://localhost:$UI_PORT, history in $STATE/temporal.db)"
bin/temporal server start-dev --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
  --db-filename "$STATE/temporal.db" --log-level warn "${attrs[@]}" >"$STATE/temporal.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "caseflow: the dev server did not start; see $STATE/temporal.log" >&2; tail -5 "$STATE/temporal.log" >&2; exit 1; }
  sleep 1
done

bin/caseflow migrate
bin/caseflow policy load policies/

echo "starting the worker (log: $STATE/worker.log)"
bin/caseflow-worker >>"$STATE/worker.log" 2>&1 &
pids+=($!)

demo=demo-river
open_demo() {
  bin/caseflow case open --case-id "$1" --patient-ref DEMO-RIVER --name "River Quinn" --birth-date 1991-04-02 \
    --program complex-case --model clinical --manager cm-ana --source referral --actor cm-ana
}
out=$(open_demo "$demo")
echo "$out"
if grep -q "phase closed" <<<"$out"; then
  demo=demo-river-$(date +%Y%m%d%H%M%S)
  open_demo "$demo"
fi

cat <<MSG

caseflow is up.
  Web UI:      http://localhost:$UI_PORT/namespaces/default/workflows/case-$demo
  Demo case:   $demo (River: bicycle accident, clinical model)
Drive it from another shell in this folder:
  export CASEFLOW_ACTOR=cm-ana
  bin/caseflow case screen $demo --eligible
  bin/caseflow case assess $demo --file demo/river/assessment.json
  bin/caseflow case stratify $demo --category acute
  bin/caseflow case plan $demo --file demo/river/plan.json
  bin/caseflow case contact $demo --with client --notes "physiotherapy going well"
  bin/caseflow case transition $demo --kind discharge --from "rehab unit" --to home --date $(date +%Y-%m-%d)
  bin/caseflow case evaluate $demo --file demo/river/evaluation.json
  bin/caseflow case close $demo --reason goals-met
  bin/caseflow case show $demo; bin/caseflow case history $demo; bin/caseflow case list --all
Press Ctrl-C to stop.
MSG
wait "${pids[0]}"
