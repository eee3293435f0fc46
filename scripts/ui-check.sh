#!/usr/bin/env bash
# make ui-check: open caseflow's cases in the local Temporal Web UI with
# headless Chromium and check that, with the codec server "make run" sets up,
# an engineer reads the decrypted history, and without its token sees only
# encrypted payloads. Saves screenshots to docs/screenshots/: the case list,
# a case's page and its decoded history, its user metadata, and the page
# without the token. The browser is driven through the DevTools protocol
# (playwright-core, tools/uicheck/check.mjs); docs/cli.md says how to take
# the same screenshots by hand.
#
# It reuses a running "make run" (the dev server on $TEMPORAL_ADDRESS), or
# starts one itself (scripts/run.sh) and stops it at the end. Needs
# /usr/bin/chromium and the node packages of tools/uicheck (make ui-check
# installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=${CASEFLOW_STATE:-.caseflow}   # local state: history, keys, token, logs
PORT=${CASEFLOW_TEMPORAL_PORT:-7233}
UI_PORT=${CASEFLOW_UI_PORT:-8233}
export TEMPORAL_ADDRESS=127.0.0.1:$PORT
mkdir -p "$STATE"
export CASEFLOW_CODEC_KEY_FILE=${CASEFLOW_CODEC_KEY_FILE:-$(cd "$STATE" && pwd)/codec.keys}
export CASEFLOW_ACTOR=cm-ana

run_pid=
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$run_pid" ]; then
    echo "ui-check: stopping the caseflow it started"
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

if bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "ui-check: using the caseflow already running on $TEMPORAL_ADDRESS (make run)"
else
  log=$STATE/ui-check-run.log
  echo "ui-check: starting caseflow as make run does (log: $log)"
  scripts/run.sh >"$log" 2>&1 &
  run_pid=$!
  for _ in $(seq 1 240); do
    grep -q "caseflow is up" "$log" && break
    kill -0 "$run_pid" 2>/dev/null || { echo "ui-check: make run failed:" >&2; tail -20 "$log" >&2; run_pid=; exit 1; }
    sleep 0.5
  done
  grep -q "caseflow is up" "$log" || { echo "ui-check: make run did not come up within 2 minutes; see $log" >&2; exit 1; }
fi

# Two cases waiting for their care plan: River (the demo) and a second
# client whose risk was raised by the case manager.
stamp=$(date +%Y%m%d%H%M%S)
bin/caseflow staff add cm-ana cm-ben >/dev/null   # managers must be registered staff
river=ui-a-$stamp
sam=ui-b-$stamp
bin/caseflow case open --case-id "$river" --patient-ref "MRN-A${RANDOM}${RANDOM}" --name "River Quinn" --birth-date 1991-04-02 \
  --program complex-case --model clinical --manager cm-ana --source referral >/dev/null
bin/caseflow case screen "$river" --eligible --notes "referred by the trauma ward" >/dev/null
bin/caseflow case assess "$river" --file demo/river/assessment.json >/dev/null
bin/caseflow case stratify "$river" --category acute >/dev/null
bin/caseflow case open --case-id "$sam" --patient-ref "MRN-B${RANDOM}${RANDOM}" --name "Sam Okafor" --birth-date 1948-11-30 \
  --program transitional-care --model brokerage --manager cm-ben --source adt >/dev/null
bin/caseflow case screen "$sam" --eligible >/dev/null
bin/caseflow case assess "$sam" --file demo/river/assessment.json --age 78 --notes "lives alone since March; two falls this winter" >/dev/null
bin/caseflow case stratify "$sam" --risk high --override-reason "lives alone after two falls" --category intermediate >/dev/null
echo "ui-check: opened cases $river and $sam (phase planning)"

UI_URL=http://localhost:$UI_PORT CASE_ID=$river PHASE=planning DECODED_TEXT="traumatic head injury" \
  SCREENSHOTS=${CASEFLOW_SCREENSHOTS:-docs/screenshots} node tools/uicheck/check.mjs
