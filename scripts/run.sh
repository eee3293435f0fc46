#!/usr/bin/env bash
# make run: start the codec server and the Temporal dev server (with its Web
# UI pointed at the codec server, and the search attributes), create and
# migrate the database, start the worker, and open a demo case. Ctrl-C stops
# everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=${CASEFLOW_STATE:-.caseflow}   # local state: history, keys, token, logs
PORT=${CASEFLOW_TEMPORAL_PORT:-7233}
UI_PORT=${CASEFLOW_UI_PORT:-8233}
CODEC_PORT=${CASEFLOW_CODEC_PORT:-8081}
export TEMPORAL_ADDRESS=127.0.0.1:$PORT
mkdir -p "$STATE"
export CASEFLOW_CODEC_KEY_FILE=${CASEFLOW_CODEC_KEY_FILE:-$(cd "$STATE" && pwd)/codec.keys}

PAYER_PORT=${CASEFLOW_PAYER_PORT:-8090}
METRICS_ADDR=${CASEFLOW_METRICS_ADDR:-127.0.0.1:9464}   # the worker's /metrics, /healthz, /readyz
RUN_PID_FILE=$STATE/run.pid

# The guard runs before anything is started or built (the Makefile runs
# "scripts/run.sh --check" before it builds): a second make run refuses
# while one is running, and stops nothing it did not start.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
guard() {
  if [ -f "$RUN_PID_FILE" ] && pid=$(cat "$RUN_PID_FILE") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "caseflow: make run is already running (pid $pid, state in $STATE/); use it from another shell, or stop it with Ctrl-C where it runs" >&2
    return 1
  fi
  local what port
  for what in "Temporal:$PORT:CASEFLOW_TEMPORAL_PORT" "the Web UI:$UI_PORT:CASEFLOW_UI_PORT" "the codec server:$CODEC_PORT:CASEFLOW_CODEC_PORT" "the payer simulator:$PAYER_PORT:CASEFLOW_PAYER_PORT" "the worker's metrics:${METRICS_ADDR##*:}:CASEFLOW_METRICS_ADDR"; do
    port=${what#*:}; port=${port%%:*}
    [ "${what%%:*}" = "the payer simulator" ] && [ -n "${CASEFLOW_PAYER_URL:-}" ] && continue
    if answers "$port"; then
      echo "caseflow: something already answers on 127.0.0.1:$port, the port of ${what%%:*}; stop it or set ${what##*:}" >&2
      return 1
    fi
  done
}
guard || exit 1
[ "${1:-}" = "--check" ] && exit 0

pids=()
cleanup() {
  trap - EXIT INT TERM
  rm -f "$RUN_PID_FILE"
  [ ${#pids[@]} -gt 0 ] || return 0
  echo
  echo "stopping caseflow..."
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  echo "stopped. State kept in $STATE/ (make clean removes it)."
}
trap cleanup EXIT INT TERM
echo $$ >"$RUN_PID_FILE"

[ -f "$CASEFLOW_CODEC_KEY_FILE" ] || bin/caseflow keys generate --file "$CASEFLOW_CODEC_KEY_FILE"

# The codec server decrypts payloads for the Web UI. Its token never goes on
# a command line (ps shows those to every local user): the codec server reads
# it from a file, and the dev server reads the UI's codec endpoint, which
# carries it, from a Temporal CLI environment file.
TOKEN_FILE=$STATE/codec.token
[ -f "$TOKEN_FILE" ] || bin/caseflow codec-server token --file "$TOKEN_FILE" >/dev/null
echo "starting the codec server on 127.0.0.1:$CODEC_PORT (log: $STATE/codec-server.log)"
bin/caseflow codec-server --addr "127.0.0.1:$CODEC_PORT" --token-file "$TOKEN_FILE" \
  --ui-origin "http://localhost:$UI_PORT" --ui-origin "http://127.0.0.1:$UI_PORT" >>"$STATE/codec-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$CODEC_PORT") 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "caseflow: the codec server did not start; see $STATE/codec-server.log" >&2; tail -3 "$STATE/codec-server.log" >&2; exit 1; }
  sleep 0.2
done
TEMPORAL_ENV_FILE=$STATE/temporal-env.yaml
(umask 077; printf 'env:\n  caseflow:\n    ui-codec-endpoint: "http://127.0.0.1:%s/ui/%s"\n' "$CODEC_PORT" "$(tr -d '[:space:]' <"$TOKEN_FILE")" >"$TEMPORAL_ENV_FILE")

attrs=()
for a in CasePhase=Keyword CaseRisk=Keyword CaseProgram=Keyword CaseManager=Keyword CaseNextDue=Datetime CasePaused=Bool; do
  attrs+=(--search-attribute "$a")
done
echo "starting the Temporal dev server on $TEMPORAL_ADDRESS (UI on http://localhost:$UI_PORT, history in $STATE/temporal.db)"
# --env-file/--env set --ui-codec-endpoint to http://127.0.0.1:$CODEC_PORT/ui/<token>.
bin/temporal server start-dev --env-file "$TEMPORAL_ENV_FILE" --env caseflow \
  --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
  --db-filename "$STATE/temporal.db" --log-level warn "${attrs[@]}" >"$STATE/temporal.log" 2>&1 &
pids+=($!)
server_pid=$!
for _ in $(seq 1 60); do
  bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "caseflow: the dev server did not start; see $STATE/temporal.log" >&2; tail -5 "$STATE/temporal.log" >&2; exit 1; }
  sleep 1
done

bin/caseflow migrate
# Staff ids the demo acts as and the policies name as supervisor: managers,
# actors and supervisors must be registered staff (caseflow staff add).
bin/caseflow staff add cm-ana cm-bo cm-cy cm-di sup-care-team >/dev/null   # demo/candidates.csv names cm-bo, cm-cy, cm-di
bin/caseflow policy load policies/
bin/caseflow providers load demo/providers.json

# The insurer: caseflow's payer simulator (demo/payer.json: physiotherapy
# approved, neuropsychology pended then approved, occupational therapy
# denied), unless CASEFLOW_PAYER_URL points at a real payer.
if [ -z "${CASEFLOW_PAYER_URL:-}" ]; then
  export CASEFLOW_PAYER_URL=http://127.0.0.1:$PAYER_PORT
  echo "starting the payer simulator on $CASEFLOW_PAYER_URL (log: $STATE/payer-sim.log)"
  bin/caseflow payer-sim --addr "127.0.0.1:$PAYER_PORT" --config demo/payer.json >>"$STATE/payer-sim.log" 2>&1 &
  pids+=($!)
fi

echo "starting the worker (log: $STATE/worker.log; metrics on http://$METRICS_ADDR/metrics)"
bin/caseflow-worker --metrics-addr "$METRICS_ADDR" >>"$STATE/worker.log" 2>&1 &
pids+=($!)

demo=demo-case
open_demo() {
  bin/caseflow case open --case-id "$1" --patient-ref MRN-0001042 --name "River Quinn" --birth-date 1991-04-02 \
    --program complex-case --model clinical --manager cm-ana --source referral --actor cm-ana
}
out=$(open_demo "$demo")
echo "$out"
if grep -q "phase closed" <<<"$out"; then
  demo=demo-case-$(date +%Y%m%d%H%M%S)
  open_demo "$demo"
fi
echo "$demo" >"$STATE/demo-case"   # the README's C=$(cat .caseflow/demo-case)

cat <<MSG

caseflow is up.
  Web UI:      http://localhost:$UI_PORT/namespaces/default/workflows/case-$demo
               (histories decrypted by the codec server on 127.0.0.1:$CODEC_PORT; log: $STATE/codec-server.log)
  Open cases:  http://localhost:$UI_PORT/namespaces/default/workflows?query=CasePhase%3D%22screening%22
  Demo case:   $demo (River: bicycle accident, clinical model)
Drive it from another shell in this folder:
  export CASEFLOW_ACTOR=cm-ana
  C=\$(cat $STATE/demo-case)   # $demo; a new one each time the last was closed
  bin/caseflow case screen \$C --eligible
  bin/caseflow case assess \$C --file demo/river/assessment.json
  bin/caseflow case stratify \$C --category acute
  bin/caseflow case plan \$C --file demo/river/plan.json
  bin/caseflow case contact \$C --with client --notes "physiotherapy going well"
  bin/caseflow case transition \$C --kind discharge --from "rehab unit" --to home --date $(date +%Y-%m-%d)
  bin/caseflow case evaluate \$C --file demo/river/evaluation.json
  bin/caseflow case close \$C --reason goals-met
  bin/caseflow case show \$C; bin/caseflow case history \$C; bin/caseflow case list --all
Decrypted history with the Temporal CLI:
  TEMPORAL_CODEC_ENDPOINT=http://127.0.0.1:$CODEC_PORT TEMPORAL_CODEC_AUTH="Bearer \$(cat $TOKEN_FILE)" \\
    bin/temporal workflow show -w case-\$C --detailed
Press Ctrl-C to stop.
MSG
wait "$server_pid"
