package workflows

import (
	"fmt"
	"time"

	"github.com/caseflow/caseflow/care"
)

// The summaries of activities and timers are what the Temporal Web UI shows
// for each step of a case. They say what the step did for the case with ids
// and enums only, never patient data (free text staff typed, names, places):
// they are encrypted like every payload, but an engineer reading a history
// should not need the codec to know what a step was. They are user metadata,
// not part of the commands replay compares.

// recordSummary is the summary of the RecordStep activity of an event.
func recordSummary(e care.Event) string {
	what := e.Action
	switch d := e.Detail.(type) {
	case care.ServiceState:
		what = fmt.Sprintf("%s update: %s %s", e.Action, d.Code, d.Status)
	case care.CallResult:
		what = fmt.Sprintf("%s %s: %s", e.Action, d.TaskID, d.Outcome)
	case care.TaskCompletion:
		what = fmt.Sprintf("%s: %s done", e.Action, d.TaskID)
	case care.Attendance:
		what = fmt.Sprintf("%s %s: %s", e.Action, d.AppointmentID, d.Status)
	case care.Transition:
		what = fmt.Sprintf("%s: %s", e.Action, d.Kind)
	case care.Contact:
		what = fmt.Sprintf("%s with %s", e.Action, d.With)
	case care.Closure:
		what = fmt.Sprintf("%s: %s", e.Action, d.Reason)
	}
	s := fmt.Sprintf("record %s (event %d", what, e.Seq)
	if e.PhaseBefore != e.PhaseAfter {
		s += fmt.Sprintf(", %s → %s", e.PhaseBefore, e.PhaseAfter)
	}
	return s + ")"
}

// window writes a time window for a summary: dates when it spans a day or
// more, times too when it is shorter.
func window(from, to time.Time) string {
	if to.Sub(from) >= 24*time.Hour {
		return from.UTC().Format(time.DateOnly) + " and " + to.UTC().Format(time.DateOnly)
	}
	return from.UTC().Format("2006-01-02 15:04") + " and " + to.UTC().Format("2006-01-02 15:04") + " UTC"
}

// roundDuration rounds a computed duration (a booking window ending at a
// visit's due time) to what a message should say: "1m30s", never
// "1m29.978108314s".
func roundDuration(d time.Duration) string {
	if d >= 10*time.Minute {
		return care.FormatDuration(d.Round(time.Minute))
	}
	return care.FormatDuration(d.Round(time.Second))
}

// attemptNote says which rebooking a booking is: attempts count from 1,
// the first booking ("" for it; attempt 2 is rebooking 1).
func attemptNote(attempt int) string {
	if attempt <= 1 {
		return ""
	}
	return fmt.Sprintf(", rebooking %d", attempt-1)
}
