package workflows_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// A coordination that fails on an error it does not handle (here the store
// refuses the booking: another attempt holds the occurrence) tells its case
// that it needs staff before it fails, by the error's kind only. Before, it
// failed silently and the case kept showing "authorization approved".
func TestACoordinationThatFailsTellsItsCase(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.book = func(care.BookingRequest) error {
		return temporal.NewNonRetryableApplicationError("booking c-river:pt:p1:1:1 holds patient River Quinn", "OccurrenceBooked", nil)
	}
	s.run()
	require.True(t, s.env.IsWorkflowCompleted())
	require.Error(t, s.env.GetWorkflowError(), "the workflow still fails, for engineers to see")
	last := s.last()
	require.Equal(t, care.ServiceNeedsStaff, last.State.Status)
	require.Contains(t, last.Summary, "pt: coordination failed on OccurrenceBooked")
	require.Contains(t, last.NeedsStaff, "approve the plan again")
	for _, u := range s.updates {
		require.False(t, strings.Contains(u.Summary+u.NeedsStaff, "River"), "never the error's text: %q", u.Summary+u.NeedsStaff)
	}
}

// Before failure-reported, the coordination failed without a report.
func TestACoordinationThatFailedBeforeFailureReportedSaysNothing(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.env.OnGetVersion("failure-reported", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.book = func(care.BookingRequest) error {
		return temporal.NewNonRetryableApplicationError("occurrence booked", "OccurrenceBooked", nil)
	}
	s.run()
	require.Error(t, s.env.GetWorkflowError())
	require.NotEqual(t, care.ServiceNeedsStaff, s.last().State.Status)
}
