package workflows_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// TestALongRunDoesNotGrowWithItsCalls runs one case in follow-up for
// hundreds of follow-up calls in a single run, none of them answered (each
// is closed as missed when the next falls due), and checks that the run's
// memory does not grow with them once its bounded parts (the timeline, the
// open items) are full. A cached case lives for as long as its run: what a
// run keeps per call, every cached case pays for each call it has made.
//
// The store is stubbed by plain registered functions, not mocks: a mock
// keeps the arguments of every call it answers.
func TestALongRunDoesNotGrowWithItsCalls(t *testing.T) {
	const warm, calls = 80, 400
	p := loadPolicy(t, "complex-case")
	p.FollowUp.AutomatedCalls = false
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	c := riverCase()
	c.OpenedAt = start
	plan := riverPlan()
	plan.Services = nil
	a := riverAssessment()
	state := workflows.CaseState{Case: c, Policy: p, Phase: care.PhaseFollowUp, PhaseSince: start,
		Risk: care.RiskHigh, Category: care.CategoryAcute, Plan: &plan, PlanVersion: 1, ServicesStarted: true, Seq: 10,
		Proposal: &care.RiskProposal{Level: care.RiskHigh}, Assessment: &a, NextCallAt: start.Add(time.Hour)}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	var clockSteps int
	var before, after uint64
	env.RegisterActivityWithOptions(func(_ context.Context, st care.Step) error {
		if st.Event.Action != "clock" || !strings.Contains(st.Event.Summary, " due") {
			return nil
		}
		clockSteps++
		switch clockSteps {
		case warm:
			before = heapInUse()
		case warm + calls:
			after = heapInUse()
		}
		return nil
	}, activity.RegisterOptions{Name: "RecordStep"})
	env.RegisterActivityWithOptions(func(_ context.Context, program string, version int) (care.Policy, error) {
		return p, nil
	}, activity.RegisterOptions{Name: "LoadPolicy"})
	env.RegisterActivityWithOptions(acts.MonthEnd, activity.RegisterOptions{Name: "MonthEnd"})
	// Close the case a little after the last measured call.
	interval := p.FollowUp.Cadence.High.D()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateClose, "", &testUpdate{t: t}, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	}, time.Hour+time.Duration(warm+calls+1)*interval+time.Minute)
	env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: c, Policy: p, State: &state, MaxStepsPerRun: 4 * (warm + calls + 10)})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "the case ran in one run and closed")
	require.GreaterOrEqual(t, clockSteps, warm+calls)
	grew := int64(after) - int64(before)
	t.Logf("the heap grew by %d bytes over %d follow-up calls (%d a call)", grew, calls, grew/calls)
	// A kept context or timer per call is about 1 KiB (400 KiB here); a
	// tenth of that is the test environment's own noise.
	require.Less(t, grew, int64(calls*100), "the run keeps about %d bytes per follow-up call", grew/calls)
}

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
