package workflows

// Entering a phase and the worklist of a case.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// follow moves the case where branch b of action a leads from its phase,
// as the phase machine (care.Machine) says, and returns that phase ("" when
// the case stays where it is). Handlers move a case only through follow. A
// move the machine does not list is a bug in the handler (its validator
// refuses the action): follow panics, failing the workflow task, rather than
// let the case into a phase its rules do not allow.
func (w *caseWorkflow) follow(ctx workflow.Context, a care.Action, b care.Branch) care.Phase {
	to, ok := care.Machine.Next(w.state.Phase, a, b)
	if !ok {
		panic(fmt.Sprintf("phase machine: %s (%q) is not allowed in %s", a, b, w.state.Phase))
	}
	if to != "" {
		w.enter(ctx, to)
	}
	return to
}

// enter moves the case to phase p and starts or stops the calls as the
// phase's rule says.
func (w *caseWorkflow) enter(ctx workflow.Context, p care.Phase) {
	now := workflow.Now(ctx)
	if p == w.state.Phase {
		return
	}
	w.state.Phase = p
	w.state.PhaseSince = now
	switch care.Machine.Rule(p).Clocks {
	case care.ClocksStart:
		w.startCalls(ctx, now)
	case care.ClocksStartIfNone:
		if w.state.NextCallAt.IsZero() {
			w.startCalls(ctx, now)
		}
	default: // care.ClocksStop
		w.state.NextCallAt, w.state.NextReassessAt = time.Time{}, time.Time{}
		w.cancelTasks(now, "phase "+string(p), care.TaskCall, care.TaskReassess)
	}
}

// openItems is the case's worklist: the work item the phase waits for, the
// open tasks and the next call.
func (w *caseWorkflow) openItems() []Item {
	s, p := &w.state, &w.state.Policy
	owner := s.Case.Manager
	var items []Item
	step := func(kind, desc string, due time.Time) {
		items = append(items, Item{Kind: kind, Description: desc, Owner: owner, Due: due})
	}
	if work := care.Machine.Rule(s.Phase).Work; work != nil {
		var proposed care.RiskLevel
		if s.Proposal != nil {
			proposed = s.Proposal.Level
		}
		step(work.Kind, work.Describe(proposed), s.PhaseSince.Add(work.Due.Of(*p)))
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
