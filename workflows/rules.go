package workflows

import (
	"strings"
	"time"

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
	return w.allowed(UpdateContact, actor, c.Validate, care.PhaseFollowUp, care.PhasePostTransition, care.PhaseTransition)
}

func (w *caseWorkflow) canTransition(actor string, t care.Transition) error {
	if t.Kind == care.TransitionReadmission {
		return w.allowed(UpdateTransition, actor, t.Validate, care.PhaseFollowUp, care.PhasePostTransition)
	}
	return w.allowed(UpdateTransition, actor, t.Validate, care.PhaseFollowUp, care.PhasePostTransition, care.PhaseTransition)
}

func (w *caseWorkflow) canCall(actor string, c care.CallResult) error {
	return w.openTask(UpdateCall, actor, c.TaskID, c.Validate, func(t care.Task) error {
		if t.Kind != care.TaskCall {
			return care.Invalidf("call", "%s is a %s task, not a call; mark it done with \"caseflow case done\"", t.ID, t.Kind)
		}
		return nil
	})
}

func (w *caseWorkflow) canComplete(actor string, c care.TaskCompletion) error {
	return w.openTask(UpdateComplete, actor, c.TaskID, func() error { return nil }, func(t care.Task) error {
		switch t.Kind {
		case care.TaskCall:
			return care.Invalidf("task", "%s is a call; record its outcome with \"caseflow case call\"", t.ID)
		case care.TaskReadmissionWatch:
			return care.Invalidf("task", "%s ends by itself; a readmission is recorded with \"caseflow case transition --kind readmission\"", t.ID)
		}
		return nil
	})
}

// openTask checks an action on one of the case's open tasks.
func (w *caseWorkflow) openTask(action, actor, taskID string, validate func() error, fits func(care.Task) error) error {
	if w.state.Phase == care.PhaseClosed {
		return care.NotAllowedf("%s is not allowed while the case is in closed: the case is closed", action)
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	t := w.task(taskID)
	if t == nil || t.Status != care.TaskOpen {
		var open []string
		for _, o := range w.state.Tasks {
			if o.Status == care.TaskOpen {
				open = append(open, o.ID)
			}
		}
		if len(open) == 0 {
			return care.Invalidf("task", "%q is not an open task of this case; it has none open", taskID)
		}
		return care.Invalidf("task", "%q is not an open task of this case; open tasks: %s", taskID, strings.Join(open, ", "))
	}
	return fits(*t)
}

func (w *caseWorkflow) canAppointment(actor string, at care.Attendance) error {
	if w.state.Phase == care.PhaseClosed {
		return care.NotAllowedf("appointment is not allowed while the case is in closed: the case is closed")
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	if err := at.Validate(); err != nil {
		return err
	}
	if w.bookedService(at.AppointmentID) < 0 {
		var booked []string
		for _, sv := range w.state.Services {
			if a := sv.Appointment; a != nil && a.Status == care.AppointmentBooked {
				booked = append(booked, a.ID+" ("+sv.ID+")")
			}
		}
		if len(booked) == 0 {
			return care.Invalidf("appointment", "%q is not a booked appointment of this case; it has none booked", at.AppointmentID)
		}
		return care.Invalidf("appointment", "%q is not a booked appointment of this case; booked: %s", at.AppointmentID, strings.Join(booked, ", "))
	}
	return nil
}

func (w *caseWorkflow) canPause(actor string, p care.Pause) error {
	if w.state.Paused {
		return care.NotAllowedf("the case's clocks are already paused since %s (%s)", w.state.PausedAt.UTC().Format(time.RFC3339), w.state.PauseReason)
	}
	return w.allowed(UpdatePause, actor, p.Validate, care.PhaseAssessment, care.PhaseStratification, care.PhasePlanning,
		care.PhaseImplementation, care.PhaseFollowUp, care.PhaseTransition, care.PhasePostTransition, care.PhaseEvaluation)
}

func (w *caseWorkflow) canResume(actor string, p care.Pause) error {
	if !w.state.Paused {
		return care.NotAllowedf("resume is not allowed: the case's clocks are not paused")
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	return p.Validate()
}

func (w *caseWorkflow) canEvaluate(actor string, e care.Evaluation) error {
	return w.allowed(UpdateEvaluate, actor, e.Validate, care.PhaseFollowUp, care.PhasePostTransition)
}

func (w *caseWorkflow) canClose(actor string, c care.Closure) error {
	if w.state.Phase == care.PhaseClosed {
		return care.NotAllowedf("the case is already closed (%s)", w.state.Closure.Reason)
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
		return care.NotAllowedf("%s is not allowed while the case is in %s: %s", action, w.state.Phase, nextStep(w.state.Phase))
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
		return "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)"
	case care.PhaseTransition:
		return "the client is in hospital: record the discharge (caseflow case transition --kind discharge)"
	case care.PhaseEvaluation:
		return "close the case (caseflow case close --reason)"
	case care.PhaseClosed:
		return "the case is closed"
	}
	return "unknown phase"
}
