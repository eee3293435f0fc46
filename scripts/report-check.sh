#!/usr/bin/env bash
# The browser check of "caseflow report html": write the page of the report
# tests' fixture (report/report_test.go, a real PostgreSQL database), open it
# in headless Chromium (tools/uicheck/report.mjs, playwright-core) and save
# docs/screenshots/report.png. Needs PostgreSQL (as the tests do),
# /usr/bin/chromium and tools/uicheck's node packages
# ((cd tools/uicheck && npm ci), as "make ui-check" installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CASEFLOW_REPORT_HTML=$out/report.html go test -count=1 -run TestHTMLPageIsSelfContainedWithTheFigures ./report/ >/dev/null
[ -d tools/uicheck/node_modules/playwright-core ] || (cd tools/uicheck && npm ci --no-audit --no-fund)
node tools/uicheck/report.mjs "$out/report.html" docs/screenshots/report.png
