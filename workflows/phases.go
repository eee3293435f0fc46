package workflows

// Entering a phase and the worklist of a case.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// enter moves the case to phase p and starts or stops the phase's clocks.
func (w *caseWorkflow) enter(ctx workflow.Context, p care.Phase) {
	now := workflow.Now(ctx)
	if p == w.state.Phase {
		return
	}
	w.state.Phase = p
	w.state.PhaseSince = now
	switch p {
	case care.PhaseFollowUp:
		w.startCalls(now)
	case care.PhasePostTransition:
		if w.state.NextCallAt.IsZero() {
			w.startCalls(now)
		}
	default:
		// Calls and re-assessments run only in follow-up and after a
		// transition; leaving those phases stops them.
		w.state.NextCallAt, w.state.NextReassessAt = time.Time{}, time.Time{}
		w.cancelTasks(now, "phase "+string(p), care.TaskCall, care.TaskReassess)
	}
}

// openItems is the case's worklist: the step the phase waits for, and the
// open tasks.
func (w *caseWorkflow) openItems() []Item {
	s, p := w.state, w.state.Policy
	owner := s.Case.Manager
	var items []Item
	step := func(kind, desc string, due time.Time) {
		items = append(items, Item{Kind: kind, Description: desc, Owner: owner, Due: due})
	}
	switch s.Phase {
	case care.PhaseScreening:
		step("screen", "screen the client for eligibility", s.PhaseSince.Add(p.Steps.Screening.D()))
	case care.PhaseAssessment:
		step("assess", "assess the client and record the outcome baseline", s.PhaseSince.Add(p.Steps.Assessment.D()))
	case care.PhaseStratification:
		step("stratify", fmt.Sprintf("confirm risk level (rules propose %s) and care category", s.Proposal.Level), s.PhaseSince.Add(p.Steps.Stratification.D()))
	case care.PhasePlanning:
		step("plan", "agree the care plan with the physician", s.PhaseSince.Add(p.Steps.Planning.D()))
	case care.PhaseImplementation:
		step("coordinate", "coordinate the planned services", s.PhaseSince)
	case care.PhaseEvaluation:
		step("close", "close the case with a closure reason", s.PhaseSince)
	}
	for _, t := range s.Tasks {
		if t.Status == care.TaskOpen && t.Kind != care.TaskReadmissionWatch {
			items = append(items, Item{TaskID: t.ID, Kind: string(t.Kind), Description: t.Description, Owner: t.Owner, Due: t.Due})
		}
	}
	if !s.NextCallAt.IsZero() && !s.Paused {
		step("next-call", "next follow-up call falls due", s.NextCallAt)
	}
	return items
}
