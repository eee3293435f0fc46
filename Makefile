# caseflow: the two commands are "make run" (everything up, with a demo case)
# and "make test" (every test). Everything they need is built here from the
# Go module proxy; nothing is downloaded at run time.

TEMPORAL_CLI_VERSION  := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
BIN      := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
GO       ?= go

export CASEFLOW_TEMPORAL_BIN := $(TEMPORAL)

.PHONY: all tools build run test test-unit lint fmt clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

tools: $(TEMPORAL) $(BIN)/workflowcheck ## build the Temporal CLI (dev server + UI) and workflowcheck from source

$(TEMPORAL):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) from source (about 4 minutes the first time)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

build: ## build bin/caseflow and bin/caseflow-worker
	$(GO) build -o $(BIN)/ ./cmd/...

run: tools build ## start the dev server + UI, migrate, start the worker and open a demo case
	@scripts/run.sh

test: tools build ## run every test: unit, workflow, store and end-to-end against the real dev server and PostgreSQL
	$(GO) test -count=1 -timeout 20m ./...

test-unit: ## run the tests that need neither Temporal nor PostgreSQL
	$(GO) test -count=1 ./care/ ./workflows/ ./codec/

lint: tools ## gofmt, go vet and the Temporal workflowcheck analyzer
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove built binaries and the local dev state (.caseflow)
	rm -rf $(BIN)/caseflow $(BIN)/caseflow-worker .caseflow
