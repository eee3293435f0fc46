# caseflow: the two commands are "make run" (everything up, with a demo case)
# and "make test" (every test). Everything they need is built here from the
# Go module proxy; nothing is downloaded at run time.

TEMPORAL_CLI_VERSION  := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
# The full Temporal server of docker-compose.yml (temporalio/server image tag);
# the one the CLI above embeds. Bump both together.
TEMPORAL_SERVER_VERSION := v1.29.1
BIN      := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
TEMPORAL_SERVER   := $(BIN)/temporal-server
TEMPORAL_SQL_TOOL := $(BIN)/temporal-sql-tool
GO       ?= go

export CASEFLOW_TEMPORAL_BIN := $(TEMPORAL)
export CASEFLOW_TEMPORAL_SERVER_BIN := $(TEMPORAL_SERVER)
export CASEFLOW_TEMPORAL_SQL_TOOL_BIN := $(TEMPORAL_SQL_TOOL)

.PHONY: all tools temporal-server build run test test-unit lint fmt tzdb clean help bench bench-smoke bench-cluster ui-check soak node-tools

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

tools: $(TEMPORAL) $(BIN)/workflowcheck temporal-server ## build the Temporal CLI (dev server + UI), the full Temporal server and its sql tool, and workflowcheck from source

$(TEMPORAL):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) from source (about 4 minutes the first time)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The full Temporal server (PostgreSQL persistence and visibility, as
# docker-compose.yml runs it) and temporal-sql-tool, for e2e/fullserver_test.go
# and make bench-cluster (internal/fullserver). Both report their version, so a
# bump of TEMPORAL_SERVER_VERSION rebuilds them; go install builds into a
# scratch GOBIN and the binaries are moved under names that say what they are.
temporal-server: ## build bin/temporal-server and bin/temporal-sql-tool (TEMPORAL_SERVER_VERSION) from source
	@v=$(patsubst v%,%,$(TEMPORAL_SERVER_VERSION)); \
	if $(TEMPORAL_SERVER) --version 2>/dev/null | grep -qx "temporal version $$v" && \
	   $(TEMPORAL_SQL_TOOL) --version 2>/dev/null | grep -qx "temporal-sql-tool version $$v"; then exit 0; fi; \
	echo "building the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool from source (several minutes the first time)"; \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) && \
	mkdir -p $(BIN) && mv -f $$tmp/server $(TEMPORAL_SERVER) && mv -f $$tmp/sql $(TEMPORAL_SQL_TOOL)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

build: ## build bin/caseflow and bin/caseflow-worker
	$(GO) build -o $(BIN)/ ./cmd/...

# The guard comes first: a second "make run" while one runs refuses before it
# rebuilds anything under the running worker.
run: ## start the dev server + UI, migrate, start the worker and open a demo case
	@scripts/run.sh --check
	@$(MAKE) --no-print-directory tools build
	@scripts/run.sh

test: tools build node-tools ## run every test: unit, workflow, store and end-to-end against the real dev server and PostgreSQL
	$(GO) test -count=1 -timeout 20m ./...

SOAK_KILLS ?= 60
SOAK_CASES ?= 12

soak: tools build ## the fault suite, longer: SOAK_KILLS worker kills over SOAK_CASES cases (docs/operations.md)
	CASEFLOW_FAULT_KILLS=$(SOAK_KILLS) CASEFLOW_FAULT_CASES=$(SOAK_CASES) $(GO) test -count=1 -timeout 60m -run 'TestFaultSuite' -v ./e2e/

node-tools: ## the npm packages tests use, from their lockfiles: the FHIR R4 validator (tools/fhircheck) and an HL7 client (tools/hl7send)
	@command -v npm >/dev/null || { echo "installing node and npm"; apt-get update && apt-get install -y nodejs npm; }
	@[ -d tools/fhircheck/node_modules/@medplum/core ] || (cd tools/fhircheck && npm ci --no-audit --no-fund)
	@[ -d tools/hl7send/node_modules/node-hl7-client ] || (cd tools/hl7send && npm ci --no-audit --no-fund)

ui-check: tools build ## headless Chromium against the local Web UI and codec server; screenshots to docs/screenshots
	@[ -x /usr/bin/chromium ] || { echo "installing Debian's chromium"; apt-get update && apt-get install -y chromium; }
	@command -v npm >/dev/null || { echo "installing node and npm"; apt-get update && apt-get install -y nodejs npm; }
	@[ -d tools/uicheck/node_modules/playwright-core ] || (cd tools/uicheck && npm ci --no-audit --no-fund)
	@scripts/ui-check.sh

bench: tools build ## run the benchmark suite (own dev server, database and workers; ~30 min) and write docs/BENCHMARKS.md
	$(GO) build -o $(BIN)/ ./bench/cmd/caseflow-bench
	CASEFLOW_BENCH_COMMAND="make bench$(if $(BENCH_FLAGS), BENCH_FLAGS='$(BENCH_FLAGS)')" \
	  $(BIN)/caseflow-bench -bin $(BIN) -temporal $(TEMPORAL) -doc docs/BENCHMARKS.md $(BENCH_FLAGS)

# The same scenarios on the full Temporal server (bin/temporal-server on
# PostgreSQL persistence and visibility, as docker-compose.yml runs it), into
# docs/BENCHMARKS.md's bench:cluster section. BENCH_FLAGS scales it as for
# make bench. The committed section ran at full size (25 minutes on 2 cores).
bench-cluster: tools build ## the benchmark on the full Temporal server on PostgreSQL (as docker-compose.yml) into its section of docs/BENCHMARKS.md; BENCH_FLAGS scales it (~25 min at full size)
	$(GO) build -o $(BIN)/ ./bench/cmd/caseflow-bench
	CASEFLOW_BENCH_COMMAND="make bench-cluster$(if $(BENCH_FLAGS), BENCH_FLAGS='$(BENCH_FLAGS)')" \
	  $(BIN)/caseflow-bench -server full -bin $(BIN) -temporal $(TEMPORAL) -temporal-server $(TEMPORAL_SERVER) \
	  -temporal-sql-tool $(TEMPORAL_SQL_TOOL) -doc docs/BENCHMARKS.md $(BENCH_FLAGS)

BENCH_SMOKE := -cases 30 -concurrency 8 -open 10 -rt-cases 2 -updates 10 -rate 5 -cadence 1s -duration 2s \
	-wave 30 -days 14 -replays 3 -settle 300ms -adt-messages 50 -import-rows 2000

bench-smoke: tools build ## a tiny run of every benchmark scenario (under a minute); prints the table, writes no doc
	$(GO) build -o $(BIN)/ ./bench/cmd/caseflow-bench
	$(BIN)/caseflow-bench -bin $(BIN) -temporal $(TEMPORAL) $(BENCH_SMOKE)

test-unit: ## run the tests that need neither Temporal nor PostgreSQL
	$(GO) test -count=1 ./care/ ./workflows/ ./codec/

lint: tools ## gofmt, go vet and the Temporal workflowcheck analyzer
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck ./...

tzdb: ## copy the Go toolchain's IANA time zone database into internal/tzdb (then set its Version and digest; docs/production.md)
	cp "$$($(GO) env GOROOT)/lib/time/zoneinfo.zip" internal/tzdb/zoneinfo.zip
	@grep -h '^CODE=\|^DATA=' "$$($(GO) env GOROOT)/lib/time/update.bash"
	@sha256sum internal/tzdb/zoneinfo.zip

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove built binaries and the local dev state (.caseflow)
	rm -rf $(BIN)/caseflow $(BIN)/caseflow-worker .caseflow
