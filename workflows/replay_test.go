package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/worker"
)

// TestReplayRecordedHistories replays every history recorded from real runs
// (workflows/testdata/histories, written by the e2e tests with
// CASEFLOW_RECORD_HISTORIES=1) against the current workflow code. A change to
// workflow logic that is not guarded by workflow.GetVersion fails here with a
// non-determinism error. See docs/workflow-changes.md.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories: run CASEFLOW_RECORD_HISTORIES=1 go test ./e2e/")
	kr, err := codec.ParseKeyring(testkeys.Spec)
	require.NoError(t, err)
	dc := codec.DataConverter(kr)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
				DataConverter:    dc,
				FailureConverter: codec.FailureConverter(dc),
			})
			require.NoError(t, err)
			worker.RegisterWorkflows(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(logger, f))
		})
	}
}
