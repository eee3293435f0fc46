package workflows

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// TestFiredClockTimersAreNotKept fires the case's clock timer many times in
// one run, as a case in follow-up does call after call, and checks that the
// run does not keep what each fired timer left behind. Until reset
// cancelled a fired timer's context, each one stayed referenced from the
// run's context for the rest of the run (about 1 KiB a call, per cached
// case).
func TestFiredClockTimersAreNotKept(t *testing.T) {
	const warm, fires = 200, 3000
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	fire := func(ctx workflow.Context) (int64, error) {
		w := &caseWorkflow{}
		var c clockTimer
		var before uint64
		for i := range warm + fires {
			if i == warm {
				before = liveHeap()
			}
			c.set(ctx, w, workflow.Now(ctx).Add(time.Minute), "call due")
			if err := c.f.Get(ctx, nil); err != nil {
				return 0, err
			}
			if !c.fired() {
				return 0, errors.New("the clock timer's future is ready but fired() says it is not")
			}
			c.reset()
		}
		return int64(liveHeap()) - int64(before), nil
	}
	env.RegisterWorkflowWithOptions(fire, workflow.RegisterOptions{Name: "fire"})
	env.ExecuteWorkflow("fire")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var grew int64
	require.NoError(t, env.GetWorkflowResult(&grew))
	// Kept, the fired timers' contexts grow the heap by over 1 KiB each
	// (3 MiB here); a tenth of that is the test environment's own noise.
	t.Logf("the heap grew by %d bytes over %d fired clock timers", grew, fires)
	require.Less(t, grew, int64(fires*100), "the heap grew by %d bytes over %d fired clock timers", grew, fires)
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
