package workflows

// Transitions of care (the transition action and the ADT signal), and the
// pause and resume of the outreach clocks.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

func (w *caseWorkflow) transition(ctx workflow.Context, actor string, t care.Transition) (Status, error) {
	return w.act(ctx, actor, UpdateTransition, func() error {
		// Cases recorded before change event-dates checked the phase and
		// the record only.
		if workflow.GetVersion(ctx, versionEventDates, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return w.canTransitionRecordBefore(actor, t)
		}
		return w.recheckTransition(ctx, actor, t)
	}, func() (string, any, error) {
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
	if t.Message != "" && workflow.GetVersion(ctx, versionADTMessageOnce, workflow.DefaultVersion, 1) == 1 {
		if slices.Contains(w.state.Messages, t.Message) {
			// A repeat of a message the case took: nothing happened again.
			return nil
		}
		w.state.Messages = append(w.state.Messages, t.Message)
		if n := len(w.state.Messages); n > MessagesKept {
			w.state.Messages = slices.Clone(w.state.Messages[n-MessagesKept:])
		}
	}
	before := w.state.Phase
	var err error
	if workflow.GetVersion(ctx, versionReadmissionAnyPhase, workflow.DefaultVersion, 1) == 1 {
		err = w.recheckTransition(ctx, care.ActorSystem, t)
	} else {
		err = w.canTransitionBefore(t)
	}
	if err != nil {
		return w.record(ctx, care.ActorSystem, "transition-ignored", before, "external transition ignored: "+err.Error(), t)
	}
	summary, err := w.applyTransition(ctx, t)
	if err != nil {
		return err
	}
	return w.record(ctx, care.ActorSystem, UpdateTransition, before, summary, t)
}

// versionDischargeAnyPhase: a discharge arriving while the case is in
// assessment, stratification, planning or implementation, after a
// readmission (the client was readmitted and the case sent back to be
// re-assessed or re-planned), is applied: it starts the transitional-care
// clocks and the readmission watch, and the case stays in its phase.
// Before, staff's was refused and the feed's recorded as ignored, and no
// clock ever started for that discharge. Asked only for such a discharge,
// in the handler's and the signal's check.
const versionDischargeAnyPhase = "discharge-any-phase"

// recheckTransition is the check of a transition under the lock (the staff
// action's handler, the feed's signal): the rule of change
// discharge-any-phase applies only under its gate, so that a history
// recorded before it replays as it ran.
func (w *caseWorkflow) recheckTransition(ctx workflow.Context, actor string, t care.Transition) error {
	return w.checkTransition(workflow.Now(ctx), actor, t, func() bool {
		return workflow.GetVersion(ctx, versionDischargeAnyPhase, workflow.DefaultVersion, 1) == 1
	})
}

// dischargeKeepsPhase reports whether t is a discharge in a phase where
// the phase machine keeps the case in its phase (the case is re-assessed
// or re-planned: care/phases.go dischargeInHospital).
func (w *caseWorkflow) dischargeKeepsPhase(t care.Transition) bool {
	if t.Kind != care.TransitionDischarge {
		return false
	}
	to, ok := care.Machine.Next(w.state.Phase, care.ActionTransition, t.Branch())
	return ok && to == ""
}

// inHospital reports whether the client is in hospital as far as the case
// knows: the last transition on record is a readmission.
func (w *caseWorkflow) inHospital() bool {
	last := w.state.Transition
	return last != nil && last.Kind == care.TransitionReadmission
}

// canTransitionBefore is how the feed's transitions were checked before
// change readmission-any-phase: a readmission only in follow-up and
// post-transition (and a discharge only where it leads to post-transition).
func (w *caseWorkflow) canTransitionBefore(t care.Transition) error {
	if t.Kind == care.TransitionReadmission && w.state.Phase != care.PhaseFollowUp && w.state.Phase != care.PhasePostTransition {
		return care.Machine.Refusal(w.state.Phase, care.ActionTransition)
	}
	return w.canTransitionRecordBefore(care.ActorSystem, t)
}

// canTransitionRecordBefore is canTransitionRecord as the phase table was
// before change discharge-any-phase, for the paths recorded before
// event-dates and readmission-any-phase: a discharge only where it leads
// to post-transition.
func (w *caseWorkflow) canTransitionRecordBefore(actor string, t care.Transition) error {
	if w.dischargeKeepsPhase(t) {
		return care.Machine.Refusal(w.state.Phase, care.ActionTransition)
	}
	return w.canTransitionRecord(actor, t)
}

// applyTransition moves the case between levels of care.
func (w *caseWorkflow) applyTransition(ctx workflow.Context, t care.Transition) (string, error) {
	if workflow.GetVersion(ctx, versionEventDates, workflow.DefaultVersion, 1) == 1 {
		return w.applyTransitionAt(ctx, t)
	}
	return w.applyTransitionBefore(ctx, t)
}

// applyTransitionAt applies a transition from its own date (change
// event-dates). A discharge supersedes the clocks and the visit booking of
// an earlier one and starts the transitional-care clocks from the
// discharge date; those already past when it is entered are recorded
// missed at their due times, reported in one late-entry alert. A
// readmission is counted from the discharge date (day 0) to its own date:
// up to the last day of the watch it ends the watch unmet, even when the
// watch had already closed because the readmission was entered late.
func (w *caseWorkflow) applyTransitionAt(ctx workflow.Context, t care.Transition) (string, error) {
	s, p := &w.state, w.state.Policy
	now := workflow.Now(ctx)
	loc := p.Location()
	s.Transition = &t
	s.TransitionAt = now
	switch t.Kind {
	case care.TransitionReadmission:
		summary := fmt.Sprintf("readmitted to %s on %s", t.To, t.Date)
		if d := s.Discharge; d != nil && !d.Readmitted {
			d.Readmitted = true
			summary += w.readmissionAgainstWatch(ctx, now, loc, t)
		}
		w.readmittedLate(ctx, now, readmittedAt(t, now, loc), t.Date)
		w.cancelTasks(now, "readmitted", care.PostDischargeKinds...)
		s.Clocks.TransitionContact = nil // its clock, if missed, is no longer kept
		w.cancelVisits(ctx)
		w.follow(ctx, care.ActionTransition, t.Branch())
		return summary, nil
	case care.TransitionDischarge:
		var c care.DischargeClocks
		if err := w.compute(ctx, "compute discharge clocks", a.DischargeClocks, "DischargeClocks", &c,
			care.DischargeRequest{Policy: p, Risk: s.Risk, Transition: t, EnteredAt: now}); err != nil {
			return "", err
		}
		w.cancelTasks(now, "superseded by a new discharge", append(care.PostDischargeKinds, care.TaskReadmissionWatch)...)
		s.Clocks.TransitionContact = nil // superseded too: its clock, if missed, is no longer kept
		w.cancelVisits(ctx)
		s.Discharge = &c
		owner, from := s.Case.Manager, c.DischargedAt
		cpt := "99495"
		if c.Complexity == care.ComplexityHigh {
			cpt = "99496"
		}
		contact := w.newTask(from, care.TaskTCMContact, "interactive contact with the client "+c.ContactRule+" of discharge", owner, c.ContactDue, true)
		visit := w.newTask(from, care.TaskTCMVisit, fmt.Sprintf("face-to-face visit with the patient within %s of discharge (%s complexity, CPT %s)",
			c.VisitWithin, c.Complexity, cpt), owner, c.VisitDue, true)
		medRec := w.newTask(from, care.TaskMedRec, "medication reconciliation no later than the date of the face-to-face visit", owner, c.VisitDue, true)
		watch := w.newTask(from, care.TaskReadmissionWatch, "no readmission within "+care.SpellDuration(p.PostDischarge.ReadmissionWindow.D())+
			" of discharge (the discharge date is day 0)", p.Supervisor, c.ReadmissionEnds, true)
		c.Tasks = []string{contact.ID, visit.ID, medRec.ID, watch.ID}
		summary := fmt.Sprintf("discharged from %s to %s on %s (%s complexity); contact due %s, visit due %s, TCM period ends %s",
			t.From, t.To, t.Date, c.Complexity, c.ContactDue.UTC().Format(time.RFC3339), c.VisitDue.UTC().Format(time.RFC3339),
			c.TCMPeriodEnd.UTC().Format(time.RFC3339))
		if met := w.recordedContacts(ctx, c, contact.ID, visit.ID); met != "" {
			summary += "; met by contacts recorded before: " + met
		}
		if late := w.pastClocks(now, c.Tasks); late != "" {
			w.alert(now, contact, "late-entry", p.Supervisor, fmt.Sprintf("discharge of case %s on %s entered late: %s", s.Case.ID, t.Date, late))
			summary += "; entered late: " + late
		}
		if w.task(visit.ID).Status == care.TaskOpen {
			if err := w.bookVisit(ctx, visit); err != nil {
				return "", err
			}
		}
		w.follow(ctx, care.ActionTransition, t.Branch())
		return summary, nil
	default:
		var c care.DischargeClocks
		if err := w.compute(ctx, "plan post-transition contact", a.DischargeClocks, "DischargeClocks", &c,
			care.DischargeRequest{Policy: p, Risk: s.Risk, Transition: t, EnteredAt: now}); err != nil {
			return "", err
		}
		w.cancelTasks(now, "superseded by a new transition", care.TaskContact)
		ct := w.newTask(c.DischargedAt, care.TaskContact, fmt.Sprintf("contact the client and receiving providers after the %s", t.Kind), s.Case.Manager, c.ContactDue, true)
		if workflow.GetVersion(ctx, versionTransitionContact, workflow.DefaultVersion, 1) == 1 {
			s.Clocks.TransitionContact = &TransitionContact{TaskID: ct.ID, From: transitionFrom(c, loc)}
		}
		summary := fmt.Sprintf("%s from %s to %s on %s", t.Kind, t.From, t.To, t.Date)
		if late := w.pastClocks(now, []string{ct.ID}); late != "" {
			w.alert(now, ct, "late-entry", p.Supervisor, fmt.Sprintf("%s of case %s on %s entered late: %s", t.Kind, s.Case.ID, t.Date, late))
			summary += "; entered late: " + late
		}
		w.follow(ctx, care.ActionTransition, t.Branch())
		return summary, nil
	}
}

// transitionFrom is when contacts count toward the clocks of a transition
// with clocks c: from the start of its date when it was dated without a
// time and entered on that day (its clocks start when it was entered),
// else from when it happened.
func transitionFrom(c care.DischargeClocks, loc *time.Location) time.Time {
	if c.DischargedAt.Equal(c.EnteredAt) {
		if day, err := time.ParseInLocation(time.DateOnly, c.Date, loc); err == nil {
			return day
		}
	}
	return c.DischargedAt
}

// recordedContacts counts toward the clocks of discharge c the latest
// contact that reached the client or family, and the latest face-to-face
// visit with the client, recorded before the discharge was entered (change
// discharge-recorded-contacts): one made from the discharge's time to a
// clock's due time meets it then, and the visit sets when the medication
// reconciliation is due. It says which, for the summary. A discharge dated
// today without a time happened, as far as the case knows, when it was
// entered: a contact recorded before then was made before it (in
// hospital), unlike one entered afterwards with an earlier time of that
// day (transitionFrom).
func (w *caseWorkflow) recordedContacts(ctx workflow.Context, c care.DischargeClocks, contactID, visitID string) string {
	cs := w.state.Clocks
	within := func(at time.Time, id string) *care.Task {
		t := w.task(id)
		if at.IsZero() || at.Before(c.DischargedAt) || t == nil || t.Status != care.TaskOpen || at.After(t.Due) {
			return nil
		}
		return t
	}
	contact, visit := within(cs.ClientContactAt, contactID), within(cs.ClientVisitAt, visitID)
	if contact == nil && visit == nil || workflow.GetVersion(ctx, versionDischargeContacts, workflow.DefaultVersion, 1) != 1 {
		return ""
	}
	var met []string
	if contact != nil {
		at := cs.ClientContactAt.UTC().Format(time.RFC3339)
		w.finishTask(contact, cs.ClientContactAt, care.TaskDone, "client reached at "+at+", before the discharge was entered")
		met = append(met, contact.ID+" at "+at)
	}
	if visit != nil {
		at := cs.ClientVisitAt.UTC().Format(time.RFC3339)
		w.finishTask(visit, cs.ClientVisitAt, care.TaskDone, "face-to-face visit with client at "+at+", before the discharge was entered")
		w.visitDone(ctx, cs.ClientVisitAt)
		met = append(met, visit.ID+" at "+at)
	}
	return strings.Join(met, ", ")
}

// pastClocks closes the clocks among ids whose due time passed before now
// at their real due times: the readmission watch as met, every other clock
// as missed. It says which, for the one late-entry alert.
func (w *caseWorkflow) pastClocks(now time.Time, ids []string) string {
	var past []string
	for _, id := range ids {
		t := w.task(id)
		if t == nil || t.Status != care.TaskOpen || !t.Due.Before(now) {
			continue
		}
		if t.Kind == care.TaskReadmissionWatch {
			w.finishTask(t, t.Due, care.TaskDone, "no readmission within the window")
			past = append(past, t.ID+" ended met")
			continue
		}
		w.finishTask(t, t.Due, care.TaskMissed, "not done by its due time (discharge entered late)")
		past = append(past, t.ID+" missed at "+t.Due.UTC().Format(time.RFC3339))
	}
	return strings.Join(past, ", ")
}

// readmissionAgainstWatch records a readmission against the latest
// discharge's watch and describes it for the summary.
func (w *caseWorkflow) readmissionAgainstWatch(ctx workflow.Context, now time.Time, loc *time.Location, t care.Transition) string {
	s, p := &w.state, w.state.Policy
	d := s.Discharge
	discharged := d.DischargedAt.In(loc)
	if d.Date != "" {
		if v, err := time.ParseInLocation(time.DateOnly, d.Date, loc); err == nil {
			discharged = v
		}
	}
	at := readmittedAt(t, now, loc)
	atDate, nowDate := at, now
	if workflow.GetVersion(ctx, versionEventTimes, workflow.DefaultVersion, 1) == 1 {
		// The workflow's clock is UTC: count days on the program's calendar.
		atDate, nowDate = at.In(loc), now.In(loc)
	}
	day := civilDays(discharged, atDate)
	inside := !at.After(d.ReadmissionEnds)
	entered := civilDays(discharged, nowDate)
	var watch *care.Task
	for i := range s.Tasks {
		if wt := &s.Tasks[i]; wt.Kind == care.TaskReadmissionWatch && (wt.Status == care.TaskOpen || wt.Status == care.TaskDone) {
			watch = wt
		}
	}
	if !inside {
		if watch != nil && watch.Status == care.TaskOpen {
			w.finishTask(watch, now, care.TaskDone, "no readmission within the window")
		}
		return fmt.Sprintf(" on day %d after discharge, after the %s readmission watch", day, care.SpellDuration(p.PostDischarge.ReadmissionWindow.D()))
	}
	if watch == nil {
		return fmt.Sprintf(" on day %d after discharge", day)
	}
	outcome := fmt.Sprintf("readmitted on day %d after discharge", day)
	if entered != day {
		outcome += fmt.Sprintf(" (entered on day %d)", entered)
	}
	if watch.Status == care.TaskOpen {
		w.finishTask(watch, now, care.TaskDone, outcome)
	} else {
		watch.Outcome = outcome // the watch had closed met before the readmission was entered
		w.markChanged(watch.ID)
	}
	met := false
	watch.Met = &met
	w.alert(now, *watch, "readmission", p.Supervisor, fmt.Sprintf("case %s %s", s.Case.ID, outcome))
	return fmt.Sprintf(" on day %d of the readmission watch", day)
}

// readmittedAt is when readmission t, entered at now, happened: at its
// time, or from the start of its date, or when it was entered when it is
// dated without a time on the day it was entered.
func readmittedAt(t care.Transition, now time.Time, loc *time.Location) time.Time {
	at, timed, _ := t.At(loc)
	if !timed && at.Format(time.DateOnly) == now.In(loc).Format(time.DateOnly) {
		at = now
	}
	return at
}

// readmittedLate cancels the latest discharge's clocks as a readmission at
// at, entered later at now, would have when entered on time (change
// readmission-late-clocks): those still open at the readmission's time
// (not at the entry), and those recorded missed at a due time after it (the
// client was back in hospital; a clock-missed alert already sent stays
// sent). The change is asked only when there is such a clock.
func (w *caseWorkflow) readmittedLate(ctx workflow.Context, now, at time.Time, date string) {
	d := w.state.Discharge
	if d == nil || at.IsZero() || !at.Before(now) {
		return
	}
	var clocks []*care.Task
	for i := range w.state.Tasks {
		t := &w.state.Tasks[i]
		if !hasKind(care.PostDischargeKinds, t.Kind) {
			continue
		}
		if t.Status == care.TaskOpen || t.Status == care.TaskMissed && slices.Contains(d.Tasks, t.ID) && t.Due.After(at) {
			clocks = append(clocks, t)
		}
	}
	if len(clocks) == 0 || workflow.GetVersion(ctx, versionReadmissionLateClocks, workflow.DefaultVersion, 1) != 1 {
		return
	}
	for _, t := range clocks {
		outcome := "readmitted on " + date + ", entered late"
		if t.Status == care.TaskMissed {
			outcome += " (it had been recorded missed at " + t.Due.UTC().Format(time.RFC3339) + ")"
		}
		t.Status, t.Outcome, t.CompletedAt, t.Met = care.TaskCancelled, outcome, maxTime(at, t.StartedAt), nil
		w.markChanged(t.ID)
	}
}

// civilDays counts the calendar days from the date of a to the date of b
// (both in the same zone).
func civilDays(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

// applyTransitionBefore is how transitions were applied before change
// event-dates: a discharge starts the transitional-care clocks from the
// time it is entered; a readmission ends an open readmission watch
// (unmet), stops the post-discharge clocks and returns the case to
// transition handling until the next discharge.
func (w *caseWorkflow) applyTransitionBefore(ctx workflow.Context, t care.Transition) (string, error) {
	s, p := &w.state, w.state.Policy
	now := workflow.Now(ctx)
	s.Transition = &t
	s.TransitionAt = now
	postDischarge := care.PostDischargeKinds
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
		if err := w.compute(ctx, "plan discharge clocks", a.PlanDischargeClocks, "PlanDischargeClocks", &c, p, s.Risk, t.Date, now); err != nil {
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
		if err := w.compute(ctx, "plan post-transition contact", a.PlanDischargeClocks, "PlanDischargeClocks", &c, p, s.Risk, t.Date, now); err != nil {
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
		s := &w.state
		s.Paused, s.PausedAt, s.PauseReason = true, now, p.Reason
		w.pause = &care.PauseRecord{PausedAt: now, Reason: p.Reason}
		if workflow.GetVersion(ctx, versionPauseKeepsDeadlines, workflow.DefaultVersion, 1) == 1 {
			s.Clocks.PauseKeepsDeadlines, s.Clocks.PausedAttr = true, true
			return "outreach paused (calls and cadence; deadlines keep running): " + p.Reason, p, nil
		}
		return "outreach clocks paused: " + p.Reason, p, nil
	})
}

func (w *caseWorkflow) resumeClocks(ctx workflow.Context, actor string, p care.Pause) (Status, error) {
	return w.act(ctx, actor, UpdateResume, func() error { return w.canResume(actor, p) }, func() (string, any, error) {
		s := &w.state
		now := workflow.Now(ctx)
		paused := now.Sub(s.PausedAt)
		// A cadence (re)started during the pause (a discharge, or a loop
		// back through assessment or planning) ran paused only since it
		// started: it moves by that time (change resume-from-cadence;
		// before, by the whole pause). Asked only at such a resume.
		cadence, restarted := paused, false
		if since := s.Clocks.CadenceSince; since.After(s.PausedAt) && (!s.NextCallAt.IsZero() || !s.NextReassessAt.IsZero()) &&
			workflow.GetVersion(ctx, versionResumeFromCadence, workflow.DefaultVersion, 1) == 1 {
			cadence, restarted = now.Sub(since), true
		}
		w.pause = &care.PauseRecord{PausedAt: s.PausedAt, ResumedAt: now, Reason: s.PauseReason}
		keeps := s.Clocks.PauseKeepsDeadlines
		s.Paused, s.PausedAt, s.PauseReason, s.Clocks.PauseKeepsDeadlines = false, time.Time{}, "", false
		s.Clocks.CadenceSince = time.Time{} // state only: no command
		shift := func(t *time.Time, d time.Duration) {
			if !t.IsZero() {
				*t = t.Add(d)
			}
		}
		shift(&s.NextCallAt, cadence)
		shift(&s.NextReassessAt, cadence)
		for i := range s.Tasks {
			// A pause moves the outreach (calls, re-assessments) only; the
			// regulatory deadlines never move.
			if t := &s.Tasks[i]; t.Status == care.TaskOpen && (!keeps || t.Kind == care.TaskCall || t.Kind == care.TaskReassess) {
				shift(&t.Due, paused)
				w.markChanged(t.ID)
			}
		}
		if restarted {
			moved := fmt.Sprintf("calls restarted during the pause moved by the %s they ran paused", care.FormatDuration(cadence.Round(time.Minute)))
			if keeps {
				moved += "; deadlines unchanged"
			}
			return fmt.Sprintf("outreach resumed after %s paused, %s: %s",
				care.FormatDuration(paused.Round(time.Minute)), moved, p.Reason), p, nil
		}
		if keeps {
			return fmt.Sprintf("outreach resumed after %s paused, calls moved by as much; deadlines unchanged: %s",
				care.FormatDuration(paused.Round(time.Minute)), p.Reason), p, nil
		}
		return fmt.Sprintf("outreach clocks resumed after %s paused: %s", care.FormatDuration(paused.Round(time.Minute)), p.Reason), p, nil
	})
}
