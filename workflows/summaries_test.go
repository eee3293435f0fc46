package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

func TestSummariesSayWhatTheStepDidWithoutPatientData(t *testing.T) {
	t.Parallel()
	ev := func(action string, before, after care.Phase, detail any) care.Event {
		return care.Event{Seq: 12, Action: action, PhaseBefore: before, PhaseAfter: after, Detail: detail}
	}
	for want, e := range map[string]care.Event{
		"record service update: physiotherapy booked (event 12)": ev("service", care.PhaseFollowUp, care.PhaseFollowUp,
			care.ServiceState{Service: care.Service{ID: "svc-1", Code: "physiotherapy", Name: "Physio with Dr Who"}, Status: care.ServiceBooked}),
		"record call call-7: reached (event 12, follow-up → assessment)": ev("call", care.PhaseFollowUp, care.PhaseAssessment,
			care.CallResult{TaskID: "call-7", Outcome: care.CallReached, Notes: "River fell at home"}),
		"record contact with family (event 12)": ev("contact", care.PhaseFollowUp, care.PhaseFollowUp, care.Contact{With: care.PartyFamily, Notes: "secret"}),
		"record transition: discharge (event 12, follow-up → post-transition)": ev("transition", care.PhaseFollowUp, care.PhasePostTransition,
			care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home"}),
		"record pause (event 12)": ev("pause", care.PhaseFollowUp, care.PhaseFollowUp, care.Pause{Reason: "re-admitted"}),
	} {
		require.Equal(t, want, recordSummary(e))
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	require.Equal(t, "2026-12-01 09:00 and 2026-12-01 09:01 UTC", window(at, at.Add(time.Minute)))
	require.Equal(t, "2026-12-01 and 2026-12-15", window(at, at.AddDate(0, 0, 14)))
	require.Equal(t, "1m30s", roundDuration(89978108314*time.Nanosecond))
	require.Equal(t, "90m", roundDuration(89*time.Minute+40*time.Second))
}

func TestTheFirstBookingIsNoRebooking(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", attemptNote(1), "attempts count from 1, the first booking")
	require.Equal(t, ", rebooking 1", attemptNote(2))
	require.Equal(t, ", rebooking 2", attemptNote(3))
}
