package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// The can* functions are the update validators: they read the state, never
// change it, and explain a refusal in terms staff can act on. Whether the
// case's phase allows an action comes from the phase machine
// (care.Machine); the record, the actor and the task or appointment an
// action is about are checked here.

func (w *caseWorkflow) canScreen(actor string, s care.Screening) error {
	return w.allowed(care.ActionScreen, s.Branch(), actor, s.Validate)
}

func (w *caseWorkflow) canAssess(actor string, as care.Assessment) error {
	return w.allowed(care.ActionAssess, care.BranchAny, actor, as.Validate)
}

func (w *caseWorkflow) canStratify(actor string, s care.Stratification) error {
	return w.allowed(care.ActionStratify, care.BranchAny, actor, func() error { return s.Validate(*w.state.Proposal) })
}

func (w *caseWorkflow) canPlan(actor string, p care.CarePlan) error {
	return w.allowed(care.ActionPlan, care.BranchAny, actor, p.Validate)
}

func (w *caseWorkflow) canContact(now time.Time, actor string, c care.Contact) error {
	return w.allowed(care.ActionContact, c.Branch(), actor, func() error {
		if err := c.Validate(); err != nil {
			return err
		}
		return w.checkHappenedAt(c.At, now)
	})
}

// checkHappenedAt checks the time a contact or call was made, if given,
// in the validator (now is its time). The handler's check under the lock
// passes a zero now and skips it: an update an older worker accepted with
// a time it did not read must replay as it ran, and the time cannot change
// between validator and handler.
func (w *caseWorkflow) checkHappenedAt(at, now time.Time) error {
	if now.IsZero() {
		return nil
	}
	pd := w.state.Policy.PostDischarge
	return care.CheckHappenedAt(at, now, w.state.Case.OpenedAt, pd.FutureToleranceOrDefault(), pd.MaxBeforeOpenedOrDefault())
}

// canTransitionRecord checks the phase, the actor and the record of a
// transition.
func (w *caseWorkflow) canTransitionRecord(actor string, t care.Transition) error {
	return w.allowed(care.ActionTransition, t.Branch(), actor, t.Validate)
}

// canTransition checks a transition recorded at now: the phase, actor and
// record, then its date (not in the future beyond the policy's tolerance,
// not long before the case opened, not before the transition it follows), a
// readmission needs a discharge on record where the case is not in
// follow-up, and a discharge needs an admission (readmission or transfer)
// after the previous discharge; where a discharge keeps the phase (the case
// is re-assessed or re-planned) it needs a readmission as the last
// transition on record (change discharge-any-phase, which the validator
// applies always).
func (w *caseWorkflow) canTransition(now time.Time, actor string, t care.Transition) error {
	return w.checkTransition(now, actor, t, func() bool { return true })
}

// checkTransition is canTransition; dischargeAnyPhase says whether a
// discharge after a readmission is accepted where it keeps the phase, and
// is asked only for such a discharge that passes every other check.
func (w *caseWorkflow) checkTransition(now time.Time, actor string, t care.Transition, dischargeAnyPhase func() bool) error {
	if err := w.canTransitionRecord(actor, t); err != nil {
		return err
	}
	if w.dischargeKeepsPhase(t) && !w.inHospital() {
		return care.NotAllowedf("%v; a discharge is recorded here only after a readmission (the client is in hospital), and the last transition on record is not one",
			care.Machine.Refusal(w.state.Phase, care.ActionTransition))
	}
	s, pd := &w.state, &w.state.Policy.PostDischarge
	loc := s.Policy.Location()
	if err := t.CheckDate(now, s.Case.OpenedAt, loc, pd.FutureToleranceOrDefault(), pd.MaxBeforeOpenedOrDefault()); err != nil {
		return err
	}
	last := s.Transition
	if last != nil && t.Date < last.Date {
		return care.Invalidf("date", "%s is before the %s on %s recorded last: check the date", t.Date, last.Kind, last.Date)
	}
	switch t.Kind {
	case care.TransitionReadmission:
		if s.Discharge == nil && s.Phase != care.PhaseFollowUp && s.Phase != care.PhasePostTransition {
			return care.NotAllowedf("a readmission is recorded after a discharge, and this case has none on record: record the discharge first (caseflow case transition --kind discharge)")
		}
	case care.TransitionDischarge:
		if last != nil && last.Kind == care.TransitionDischarge {
			return care.Conflictf("the client was already discharged on %s and no admission was recorded since: record the readmission (or transfer) first (caseflow case transition --kind readmission)", last.Date)
		}
		if w.dischargeKeepsPhase(t) && !dischargeAnyPhase() {
			return care.Machine.Refusal(s.Phase, care.ActionTransition)
		}
	}
	return nil
}

func (w *caseWorkflow) canCall(now time.Time, actor string, c care.CallResult) error {
	return w.openTask(care.ActionCall, c.Branch(), actor, c.TaskID, c.Validate, func(t care.Task) error {
		if t.Kind != care.TaskCall {
			return care.Invalidf("call", "%s is a %s task, not a call; mark it done with \"caseflow case done\"", t.ID, t.Kind)
		}
		if err := w.checkHappenedAt(c.At, now); err != nil {
			return err
		}
		if !now.IsZero() && !c.At.IsZero() && c.At.Before(t.StartedAt) {
			return care.Invalidf("at", "%s is before %s fell due (%s): a call made then was not this call",
				c.At.UTC().Format(time.RFC3339), t.ID, t.StartedAt.UTC().Format(time.RFC3339))
		}
		return nil
	})
}

// versionDoneNeedsContact: "case done" does not complete the clocks only
// a record meets (metOnlyByRecord): the CCM month's minutes, the TCM
// interactive contact and the post-transition contact. Before, it recorded
// them done (and met by their due time) with nothing on record. Asked only
// by the complete handler's re-check, for such a task.
const versionDoneNeedsContact = "done-needs-contact"

func (w *caseWorkflow) canComplete(actor string, c care.TaskCompletion) error {
	return w.checkComplete(actor, c, func() bool { return true })
}

// recheckComplete is the complete handler's check under the lock: the rule
// of change done-needs-contact applies only under its gate, so that an
// update an older worker accepted replays as it ran.
func (w *caseWorkflow) recheckComplete(ctx workflow.Context, actor string, c care.TaskCompletion) error {
	return w.checkComplete(actor, c, func() bool {
		return workflow.GetVersion(ctx, versionDoneNeedsContact, workflow.DefaultVersion, 1) == 1
	})
}

// checkComplete checks a task completion; needsRecord says whether the
// clocks only a record meets are refused (asked only for such a task).
func (w *caseWorkflow) checkComplete(actor string, c care.TaskCompletion, needsRecord func() bool) error {
	byRecord := func(t care.Task) error {
		if err := metOnlyByRecord(t); err != nil && needsRecord() {
			return err
		}
		return nil
	}
	if t := w.task(c.TaskID); t != nil && w.lateDoable(*t) {
		// A missed clock can still be done: it is recorded done late (a
		// contact clock by the contact or call, as when it is open).
		return w.allowed(care.ActionComplete, care.BranchAny, actor, func() error { return byRecord(*t) })
	}
	return w.openTask(care.ActionComplete, care.BranchAny, actor, c.TaskID, func() error { return nil }, func(t care.Task) error {
		switch t.Kind {
		case care.TaskCall:
			return care.Invalidf("task", "%s is a call; record its outcome with \"caseflow case call\"", t.ID)
		case care.TaskReadmissionWatch:
			return care.Invalidf("task", "%s ends by itself; a readmission is recorded with \"caseflow case transition --kind readmission\"", t.ID)
		}
		return byRecord(t)
	})
}

// metOnlyByRecord refuses marking done a clock that only a record meets:
// the CCM month by its minutes (CPT 99490: at least 20 in the calendar
// month), the TCM interactive contact by a contact, a reached call or two
// documented attempts, the post-transition contact by a contact or a
// reached call (docs/policies.md).
func metOnlyByRecord(t care.Task) error {
	switch t.Kind {
	case care.TaskCCMMinutes:
		return care.NotAllowedf("%s is met by the month's care-management minutes, not marked done: record the minutes with \"caseflow case contact --minutes\" (or \"caseflow case call --minutes\")", t.ID)
	case care.TaskTCMContact:
		return care.NotAllowedf("%s is met by a contact with the client or family, a reached call or two documented attempts, not marked done: record the contact with \"caseflow case contact\" (an attempt with --attempt --outcome no-answer) or the call with \"caseflow case call\"", t.ID)
	case care.TaskContact:
		return care.NotAllowedf("%s is met by a contact with the client or family or a reached call, not marked done: record the contact with \"caseflow case contact\" or the call with \"caseflow case call\"", t.ID)
	}
	return nil
}

// openTask checks branch b of an action on one of the case's open tasks.
func (w *caseWorkflow) openTask(action care.Action, b care.Branch, actor, taskID string, validate func() error, fits func(care.Task) error) error {
	if err := w.allowed(action, b, actor, validate); err != nil {
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
			return care.NotFoundf("task: %q is not an open task of this case; it has none open", taskID)
		}
		return care.NotFoundf("task: %q is not an open task of this case; open tasks: %s", taskID, strings.Join(open, ", "))
	}
	return fits(*t)
}

func (w *caseWorkflow) canAppointment(actor string, at care.Attendance) error {
	if err := w.allowed(care.ActionAppointment, care.BranchAny, actor, at.Validate); err != nil {
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
			return care.NotFoundf("appointment: %q is not a booked appointment of this case; it has none booked", at.AppointmentID)
		}
		return care.NotFoundf("appointment: %q is not a booked appointment of this case; booked: %s", at.AppointmentID, strings.Join(booked, ", "))
	}
	return nil
}

// canRecordAttendance is the validator of the appointment action: besides
// canAppointment, attendance (attended or no-show) cannot be recorded for an
// appointment that has not started. (Only the validator checks the time:
// it does not run on replay, so recorded cases are not affected.)
func (w *caseWorkflow) canRecordAttendance(now time.Time, actor string, at care.Attendance) error {
	if err := w.canAppointment(actor, at); err != nil {
		return err
	}
	sv := w.state.Services[w.bookedService(at.AppointmentID)]
	if at.Status != care.AppointmentCancelled && now.Before(sv.Appointment.StartsAt) {
		return care.NotAllowedf("appointment %s starts at %s: its attendance can be recorded once it has started (or cancel it)",
			at.AppointmentID, sv.Appointment.StartsAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (w *caseWorkflow) canPause(actor string, p care.Pause) error {
	if w.state.Paused {
		return care.NotAllowedf("the case's clocks are already paused since %s (%s)", w.state.PausedAt.UTC().Format(time.RFC3339), w.state.PauseReason)
	}
	return w.allowed(care.ActionPause, care.BranchAny, actor, p.Validate)
}

func (w *caseWorkflow) canResume(actor string, p care.Pause) error {
	if !w.state.Paused {
		return care.NotAllowedf("resume is not allowed: the case's clocks are not paused")
	}
	return w.allowed(care.ActionResume, care.BranchAny, actor, p.Validate)
}

// canEvaluate checks an evaluation: from follow-up, a case that never had
// a transition of care is evaluated only explicitly (--without-transition
// --reason).
func (w *caseWorkflow) canEvaluate(actor string, e care.Evaluation) error {
	return w.allowed(care.ActionEvaluate, care.BranchAny, actor, func() error {
		if err := e.Validate(); err != nil {
			return err
		}
		if w.state.Phase == care.PhaseFollowUp && w.state.Transition == nil && !e.WithoutTransition {
			return care.NotAllowedf("the case had no transition of care: evaluate it from follow-up only explicitly (--without-transition --reason \"...\"), or record the transition first")
		}
		return nil
	})
}

// canClose checks a closure: goals-met needs an evaluation; the other
// reasons close a case from any open phase.
func (w *caseWorkflow) canClose(actor string, c care.Closure) error {
	if err := w.canCloseAnyReason(actor, c); err != nil {
		return err
	}
	if c.Reason == care.ClosureGoalsMet && w.state.Evaluation == nil {
		return care.NotAllowedf("closing with goals-met needs an evaluation of the outcomes first (caseflow case evaluate); other reasons close the case as it is")
	}
	return nil
}

func (w *caseWorkflow) canCloseAnyReason(actor string, c care.Closure) error {
	if w.state.Phase == care.PhaseClosed {
		return care.NotAllowedf("the case is already closed (%s)", w.state.Closure.Reason)
	}
	return w.allowed(care.ActionClose, care.BranchAny, actor, c.Validate)
}

// allowed checks the phase first (the most useful answer to a wrong action:
// the phase machine's hint), then the actor, then the record itself.
func (w *caseWorkflow) allowed(action care.Action, b care.Branch, actor string, validate func() error) error {
	if err := care.Machine.Check(w.state.Phase, action, b); err != nil {
		return err
	}
	if err := care.ValidateOpaqueID("actor", actor); err != nil {
		return err
	}
	return validate()
}
