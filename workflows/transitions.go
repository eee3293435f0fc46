package workflows

// Transitions of care (the transition action and the ADT signal), and the
// pause and resume of the outreach clocks.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

func (w *caseWorkflow) transition(ctx workflow.Context, actor string, t care.Transition) (Status, error) {
	return w.act(ctx, actor, UpdateTransition, func() error { return w.canTransition(actor, t) }, func() (string, any, error) {
		summary, err := w.applyTransition(ctx, t)
		return summary, t, err
	})
}

// onTransitionSignal applies a transition reported by an external system, or
// records why it could not.
func (w *caseWorkflow) onTransitionSignal(ctx workflow.Context, t care.Transition) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	before := w.state.Phase
	if err := w.canTransition(care.ActorSystem, t); err != nil {
		return w.record(ctx, care.ActorSystem, "transition-ignored", before, "external transition ignored: "+err.Error(), t)
	}
	summary, err := w.applyTransition(ctx, t)
	if err != nil {
		return err
	}
	return w.record(ctx, care.ActorSystem, UpdateTransition, before, summary, t)
}

// applyTransition moves the case between levels of care. A discharge starts
// the transitional-care clocks; a readmission ends the readmission watch
// (unmet), stops the post-discharge clocks and returns the case to
// transition handling until the next discharge.
func (w *caseWorkflow) applyTransition(ctx workflow.Context, t care.Transition) (string, error) {
	s, p := &w.state, w.state.Policy
	now := workflow.Now(ctx)
	s.Transition = &t
	s.TransitionAt = now
	postDischarge := []care.TaskKind{care.TaskTCMContact, care.TaskTCMVisit, care.TaskMedRec, care.TaskContact}
	switch t.Kind {
	case care.TransitionReadmission:
		summary := fmt.Sprintf("readmitted to %s", t.To)
		for i := range s.Tasks {
			if wt := &s.Tasks[i]; wt.Kind == care.TaskReadmissionWatch && wt.Status == care.TaskOpen {
				day := int(now.Sub(s.Discharge.DischargedAt) / (24 * time.Hour))
				w.finishTask(wt, now, care.TaskDone, fmt.Sprintf("readmitted on day %d after discharge", day))
				met := false
				wt.Met = &met
				w.alert(now, *wt, "readmission", p.Supervisor, fmt.Sprintf("case %s readmitted on day %d after discharge", s.Case.ID, day))
				summary += fmt.Sprintf(" on day %d of the readmission watch", day)
			}
		}
		w.cancelTasks(now, "readmitted", postDischarge...)
		w.cancelVisits(ctx)
		w.follow(ctx, care.ActionTransition, t.Branch())
		return summary, nil
	case care.TransitionDischarge:
		var c care.DischargeClocks
		if err := w.execute(ctx, "plan discharge clocks", a.PlanDischargeClocks, &c, p, s.Risk, t.Date, now); err != nil {
			return "", err
		}
		w.cancelTasks(now, "superseded by a new discharge", append(postDischarge, care.TaskReadmissionWatch)...)
		s.Discharge = &c
		contactRule := fmt.Sprintf("within %d business days", p.PostDischarge.ContactBusinessDays)
		if p.PostDischarge.ContactWithin > 0 {
			contactRule = "within " + p.PostDischarge.ContactWithin.String()
		}
		complexity := "moderate"
		if c.VisitDays == 7 {
			complexity = "high"
		}
		w.newTask(now, care.TaskTCMContact, "interactive contact with the client "+contactRule+" of discharge", s.Case.Manager, c.ContactDue, true)
		visit := w.newTask(now, care.TaskTCMVisit, fmt.Sprintf("face-to-face visit within %d days of discharge (%s complexity)", c.VisitDays, complexity), s.Case.Manager, c.VisitDue, true)
		w.newTask(now, care.TaskMedRec, "medication reconciliation by the face-to-face visit", s.Case.Manager, c.VisitDue, true)
		w.newTask(now, care.TaskReadmissionWatch, "no readmission within "+p.PostDischarge.ReadmissionWindow.String()+" of discharge", p.Supervisor, c.ReadmissionEnds, true)
		if workflow.GetVersion(ctx, versionVisitBooking, workflow.DefaultVersion, 1) == 1 {
			if err := w.bookVisit(ctx, visit); err != nil {
				return "", err
			}
		}
		w.follow(ctx, care.ActionTransition, t.Branch())
		return fmt.Sprintf("discharged from %s to %s on %s; contact due %s, visit due %s", t.From, t.To, t.Date,
			c.ContactDue.UTC().Format(time.RFC3339), c.VisitDue.UTC().Format(time.RFC3339)), nil
	default:
		var c care.DischargeClocks
		if err := w.execute(ctx, "plan post-transition contact", a.PlanDischargeClocks, &c, p, s.Risk, t.Date, now); err != nil {
			return "", err
		}
		w.cancelTasks(now, "superseded by a new transition", care.TaskContact)
		w.newTask(now, care.TaskContact, fmt.Sprintf("contact the client and receiving providers after the %s", t.Kind), s.Case.Manager, c.ContactDue, true)
		w.follow(ctx, care.ActionTransition, t.Branch())
		return fmt.Sprintf("%s from %s to %s on %s", t.Kind, t.From, t.To, t.Date), nil
	}
}

func (w *caseWorkflow) pauseClocks(ctx workflow.Context, actor string, p care.Pause) (Status, error) {
	return w.act(ctx, actor, UpdatePause, func() error { return w.canPause(actor, p) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		w.state.Paused, w.state.PausedAt, w.state.PauseReason = true, now, p.Reason
		w.pause = &care.PauseRecord{PausedAt: now, Reason: p.Reason}
		return "outreach clocks paused: " + p.Reason, p, nil
	})
}

func (w *caseWorkflow) resumeClocks(ctx workflow.Context, actor string, p care.Pause) (Status, error) {
	return w.act(ctx, actor, UpdateResume, func() error { return w.canResume(actor, p) }, func() (string, any, error) {
		s := &w.state
		now := workflow.Now(ctx)
		paused := now.Sub(s.PausedAt)
		w.pause = &care.PauseRecord{PausedAt: s.PausedAt, ResumedAt: now, Reason: s.PauseReason}
		s.Paused, s.PausedAt, s.PauseReason = false, time.Time{}, ""
		shift := func(t *time.Time) {
			if !t.IsZero() {
				*t = t.Add(paused)
			}
		}
		shift(&s.NextCallAt)
		shift(&s.NextReassessAt)
		for i := range s.Tasks {
			if t := &s.Tasks[i]; t.Status == care.TaskOpen {
				shift(&t.Due)
				w.markChanged(t.ID)
			}
		}
		return fmt.Sprintf("outreach clocks resumed after %s paused: %s", care.FormatDuration(paused.Round(time.Minute)), p.Reason), p, nil
	})
}
