package workflows

import (
	"fmt"

	"github.com/caseflow/caseflow/care"
)

// The can* functions are the update validators: they read the state, never
// change it, and explain a refusal in terms staff can act on.

func (w *caseWorkflow) canScreen(actor string, s care.Screening) error {
	return w.allowed(UpdateScreen, actor, s.Validate, care.PhaseScreening)
}

func (w *caseWorkflow) canAssess(actor string, as care.Assessment) error {
	return w.allowed(UpdateAssess, actor, as.Validate, care.PhaseAssessment)
}

func (w *caseWorkflow) canStratify(actor string, s care.Stratification) error {
	return w.allowed(UpdateStratify, actor, func() error { return s.Validate(*w.state.Proposal) }, care.PhaseStratification)
}

func (w *caseWorkflow) canPlan(actor string, p care.CarePlan) error {
	return w.allowed(UpdatePlan, actor, p.Validate, care.PhasePlanning)
}

func (w *caseWorkflow) canContact(actor string, c care.Contact) error {
	return w.allowed(UpdateContact, actor, c.Validate, care.PhaseFollowUp, care.PhasePostTransition)
}

func (w *caseWorkflow) canTransition(actor string, t care.Transition) error {
	return w.allowed(UpdateTransition, actor, t.Validate, care.PhaseFollowUp, care.PhasePostTransition)
}

func (w *caseWorkflow) canEvaluate(actor string, e care.Evaluation) error {
	return w.allowed(UpdateEvaluate, actor, e.Validate, care.PhaseFollowUp, care.PhasePostTransition)
}

func (w *caseWorkflow) canClose(actor string, c care.Closure) error {
	if w.state.Phase == care.PhaseClosed {
		return fmt.Errorf("the case is already closed (%s)", w.state.Closure.Reason)
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	return c.Validate()
}

// allowed checks the phase first (the most useful answer to a wrong action),
// then the actor, then the record itself.
func (w *caseWorkflow) allowed(action, actor string, validate func() error, phases ...care.Phase) error {
	ok := false
	for _, p := range phases {
		ok = ok || w.state.Phase == p
	}
	if !ok {
		return fmt.Errorf("%s is not allowed while the case is in %s: %s", action, w.state.Phase, nextStep(w.state.Phase))
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	return validate()
}

// nextStep tells staff what the case is waiting for in a phase.
func nextStep(p care.Phase) string {
	switch p {
	case care.PhaseScreening:
		return "screen the client first (caseflow case screen)"
	case care.PhaseAssessment:
		return "assess the client first (caseflow case assess)"
	case care.PhaseStratification:
		return "confirm the risk level first (caseflow case stratify)"
	case care.PhasePlanning:
		return "approve a care plan first (caseflow case plan)"
	case care.PhaseImplementation:
		return "the plan's services are being coordinated; try again in a moment"
	case care.PhaseFollowUp, care.PhasePostTransition:
		return "record a contact, a transition or the evaluation (caseflow case contact|transition|evaluate)"
	case care.PhaseEvaluation:
		return "close the case (caseflow case close --reason)"
	case care.PhaseClosed:
		return "the case is closed"
	}
	return "unknown phase"
}
