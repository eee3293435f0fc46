package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// clockTimer is the one durable timer of a case: it is set for the earliest
// thing that must happen by itself (a call falling due, an escalation, a
// clock running out). A later deadline keeps the pending timer, which fires,
// finds nothing due and is set again; an earlier one replaces it.
type clockTimer struct {
	at     time.Time
	f      workflow.Future
	cancel workflow.CancelFunc
}

func (c *clockTimer) set(ctx workflow.Context, w *caseWorkflow, at time.Time, why string) {
	switch {
	case at.IsZero():
		return // nothing to wake for; a pending timer fires harmlessly
	case c.f != nil && !at.Before(c.at):
		return
	}
	if c.f != nil {
		c.cancel()
	}
	d := at.Sub(workflow.Now(ctx))
	if d < 0 {
		d = 0
	}
	tctx, cancel := workflow.WithCancel(ctx)
	c.at, c.cancel = at, cancel
	c.f = workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: why})
	w.steps++
}

func (c *clockTimer) fired() bool { return c.f != nil && c.f.IsReady() }

// earlier reports that at needs the timer set sooner than it is.
func (c *clockTimer) earlier(at time.Time) bool {
	return !at.IsZero() && (c.f == nil || at.Before(c.at))
}

func (c *clockTimer) reset() { c.f, c.at = nil, time.Time{} }

// nextWake is when the case next has something to do by itself, and what.
// Nothing wakes a paused case.
func (w *caseWorkflow) nextWake() (time.Time, string) {
	s := w.state
	if s.Paused || s.Phase == care.PhaseClosed {
		return time.Time{}, ""
	}
	var at time.Time
	var why string
	consider := func(t time.Time, reason string) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, why = t, reason
		}
	}
	consider(s.NextCallAt, "next follow-up call falls due")
	consider(s.NextReassessAt, "re-assessment falls due")
	for _, t := range s.Tasks {
		if t.Status == care.TaskOpen {
			at, reason := w.taskDeadline(t)
			consider(at, reason)
		}
	}
	return at, why
}

// taskDeadline is when an open task needs the workflow's attention.
func (w *caseWorkflow) taskDeadline(t care.Task) (time.Time, string) {
	switch {
	case t.Kind == care.TaskCall && t.EscalatedAt.IsZero():
		return t.Due.Add(w.state.Policy.FollowUp.EscalateAfter.D()), "escalate " + t.ID + " if still open"
	case t.Kind == care.TaskReadmissionWatch:
		return t.Due, "readmission watch ends"
	case t.Clock && t.Kind != care.TaskCall:
		return t.Due, t.ID + " due"
	}
	return time.Time{}, ""
}

// fireClocks does what has fallen due: it opens the due follow-up call
// (alerting the case manager and, where the program says so, placing an
// automated call), opens a due re-assessment, escalates calls still open
// past their window, marks missed clocks and closes an uneventful
// readmission watch. It records them as one step.
func (w *caseWorkflow) fireClocks(ctx workflow.Context) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	s, p := &w.state, w.state.Policy
	if s.Paused || s.Phase == care.PhaseClosed {
		return nil
	}
	now := workflow.Now(ctx)
	var fired []string
	if !s.NextCallAt.IsZero() && !now.Before(s.NextCallAt) {
		fired = append(fired, w.openCall(now))
	}
	if !s.NextReassessAt.IsZero() && !now.Before(s.NextReassessAt) {
		t := w.newTask(now, care.TaskReassess, "periodic re-assessment of the client", s.Case.Manager, now.Add(p.Steps.Assessment.D()), false)
		s.NextReassessAt = s.NextReassessAt.Add(p.FollowUp.ReassessEvery.D())
		fired = append(fired, t.ID+" opened")
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.Status != care.TaskOpen {
			continue
		}
		at, _ := w.taskDeadline(*t)
		if at.IsZero() || now.Before(at) {
			continue
		}
		switch {
		case t.Kind == care.TaskCall:
			t.EscalatedAt = now
			w.markChanged(t.ID)
			w.alert(now, *t, "call-overdue", p.Supervisor, fmt.Sprintf("%s of case %s is still open past its window", t.ID, s.Case.ID))
			fired = append(fired, t.ID+" escalated to "+p.Supervisor)
		case t.Kind == care.TaskReadmissionWatch:
			w.finishTask(t, now, care.TaskDone, "no readmission within the window")
			met := true
			t.Met = &met
			fired = append(fired, "readmission watch met")
		default:
			w.finishTask(t, now, care.TaskMissed, "not done by its due time")
			w.alert(now, *t, "clock-missed", p.Supervisor, fmt.Sprintf("%s of case %s was not done by its due time", t.ID, s.Case.ID))
			fired = append(fired, t.ID+" missed")
		}
	}
	if len(fired) == 0 {
		return nil
	}
	return w.record(ctx, care.ActorSystem, "clock", s.Phase, strings.Join(fired, "; "), nil)
}

// openCall opens the follow-up call that fell due and schedules the next one
// at the case's cadence. A previous call still open is closed as missed: a
// months-long case never piles up calls.
func (w *caseWorkflow) openCall(now time.Time) string {
	s, p := &w.state, w.state.Policy
	for i := range s.Tasks {
		if t := &s.Tasks[i]; t.Kind == care.TaskCall && t.Status == care.TaskOpen {
			w.finishTask(t, now, care.TaskMissed, "not recorded before the next call fell due")
		}
	}
	due := s.NextCallAt
	t := w.newTask(due, care.TaskCall, "follow-up call with the client", s.Case.Manager, due.Add(p.FollowUp.CallWindow.D()), true)
	w.alert(now, t, "call-due", s.Case.Manager, fmt.Sprintf("%s of case %s is due", t.ID, s.Case.ID))
	summary := t.ID + " due"
	if p.FollowUp.AutomatedCalls {
		w.alert(now, t, "automated-call", s.Case.PatientID, fmt.Sprintf("automated follow-up call for %s of case %s", t.ID, s.Case.ID))
		summary += " (automated call placed)"
	}
	interval := w.callInterval()
	next := due.Add(interval)
	if !next.After(now) {
		next = now.Add(interval) // after a long pause or outage: no burst of calls
	}
	s.NextCallAt = next
	return summary
}

// startCalls starts the follow-up cadence (and the re-assessment interval).
func (w *caseWorkflow) startCalls(now time.Time) {
	w.state.NextCallAt = now.Add(w.callInterval())
	if every := w.state.Policy.FollowUp.ReassessEvery.D(); every > 0 && w.state.NextReassessAt.IsZero() {
		w.state.NextReassessAt = now.Add(every)
	}
}

// callInterval is the case's follow-up cadence: by risk level, scaled by the
// case-management model. A changed risk level applies from the next call on.
func (w *caseWorkflow) callInterval() time.Duration {
	return w.state.Policy.CallInterval(w.state.Risk, w.state.Case.Model)
}

func (w *caseWorkflow) call(ctx workflow.Context, actor string, c care.CallResult) (Status, error) {
	return w.act(ctx, actor, UpdateCall, func() error { return w.canCall(actor, c) }, func() (string, any, error) {
		s, p := &w.state, w.state.Policy
		now := workflow.Now(ctx)
		t := w.task(c.TaskID)
		w.finishTask(t, now, care.TaskDone, string(c.Outcome))
		summary := fmt.Sprintf("%s: %s%s", t.ID, c.Outcome, metSuffix(*t))
		switch c.Outcome {
		case care.CallReached:
			s.NoAnswers = 0
			s.LastContactAt = now
			w.completeTasks(now, "reached by phone", care.TaskTCMContact, care.TaskContact)
		case care.CallDeclined:
			s.NoAnswers = 0
		case care.CallNoAnswer:
			s.NoAnswers++
			if s.NoAnswers%p.FollowUp.NoAnswerEscalation == 0 {
				lost := w.newTask(now, care.TaskLostToContact, fmt.Sprintf("%d calls unanswered in a row: reach the client another way or close the case", s.NoAnswers),
					p.Supervisor, now.Add(p.FollowUp.CallWindow.D()), false)
				w.alert(now, lost, "no-answer", p.Supervisor, fmt.Sprintf("%d calls of case %s unanswered in a row", s.NoAnswers, s.Case.ID))
				summary += fmt.Sprintf("; %d unanswered in a row, escalated to %s", s.NoAnswers, p.Supervisor)
			}
		}
		if c.Deteriorated {
			w.enter(ctx, care.PhaseAssessment)
			summary += "; condition deteriorated: back to assessment"
		}
		return summary, c, nil
	})
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
		w.enter(ctx, care.PhaseTransition)
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
		w.enter(ctx, care.PhasePostTransition)
		return fmt.Sprintf("discharged from %s to %s on %s; contact due %s, visit due %s", t.From, t.To, t.Date,
			c.ContactDue.UTC().Format(time.RFC3339), c.VisitDue.UTC().Format(time.RFC3339)), nil
	default:
		var c care.DischargeClocks
		if err := w.execute(ctx, "plan post-transition contact", a.PlanDischargeClocks, &c, p, s.Risk, t.Date, now); err != nil {
			return "", err
		}
		w.cancelTasks(now, "superseded by a new transition", care.TaskContact)
		w.newTask(now, care.TaskContact, fmt.Sprintf("contact the client and receiving providers after the %s", t.Kind), s.Case.Manager, c.ContactDue, true)
		w.enter(ctx, care.PhasePostTransition)
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

// newTask opens a task and returns a copy of it.
func (w *caseWorkflow) newTask(now time.Time, kind care.TaskKind, desc, owner string, due time.Time, clock bool) care.Task {
	w.state.TaskSeq++
	t := care.Task{
		ID: fmt.Sprintf("%s-%d", kind, w.state.TaskSeq), CaseID: w.state.Case.ID, Kind: kind, Description: desc,
		Owner: owner, StartedAt: now, Due: due, Status: care.TaskOpen, Clock: clock,
	}
	w.state.Tasks = append(w.state.Tasks, t)
	w.markChanged(t.ID)
	return t
}

// task returns the task with id, or nil.
func (w *caseWorkflow) task(id string) *care.Task {
	for i := range w.state.Tasks {
		if w.state.Tasks[i].ID == id {
			return &w.state.Tasks[i]
		}
	}
	return nil
}

// finishTask closes a task; a clock done by its due time is met.
func (w *caseWorkflow) finishTask(t *care.Task, now time.Time, status care.TaskStatus, outcome string) {
	t.Status, t.Outcome, t.CompletedAt = status, outcome, now
	if t.Clock {
		met := status == care.TaskDone && !now.After(t.Due)
		t.Met = &met
	}
	w.markChanged(t.ID)
}

// completeTasks marks the open tasks of the given kinds done.
func (w *caseWorkflow) completeTasks(now time.Time, outcome string, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Status == care.TaskOpen && hasKind(kinds, t.Kind) {
			w.finishTask(t, now, care.TaskDone, outcome)
		}
	}
}

// cancelTasks cancels the open tasks of the given kinds (all kinds if none).
func (w *caseWorkflow) cancelTasks(now time.Time, reason string, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Status == care.TaskOpen && (len(kinds) == 0 || hasKind(kinds, t.Kind)) {
			t.Status, t.Outcome, t.CompletedAt = care.TaskCancelled, reason, now
			w.markChanged(t.ID)
		}
	}
}

func hasKind(kinds []care.TaskKind, k care.TaskKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// markChanged notes that the step must write task id.
func (w *caseWorkflow) markChanged(id string) {
	for _, c := range w.changed {
		if c == id {
			return
		}
	}
	w.changed = append(w.changed, id)
}

// changedTasks returns copies of the tasks the step changed.
func (w *caseWorkflow) changedTasks() []care.Task {
	var out []care.Task
	for _, id := range w.changed {
		if t := w.task(id); t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// pruneTasks drops closed tasks from the workflow state; PostgreSQL keeps
// them.
func (w *caseWorkflow) pruneTasks() {
	open := w.state.Tasks[:0]
	for _, t := range w.state.Tasks {
		if t.Status == care.TaskOpen {
			open = append(open, t)
		}
	}
	w.state.Tasks = open
}

// alert raises an alert about task t. Its id makes it idempotent.
func (w *caseWorkflow) alert(now time.Time, t care.Task, kind, recipient, message string) {
	w.alerts = append(w.alerts, care.Alert{
		ID: fmt.Sprintf("%s/%s/%s/%d", w.state.Case.ID, t.ID, kind, w.state.Seq+1), CaseID: w.state.Case.ID, TaskID: t.ID,
		Kind: kind, Recipient: recipient, Message: message, At: now,
	})
}

func metSuffix(t care.Task) string {
	switch {
	case t.Met == nil:
		return ""
	case *t.Met:
		return " (in time)"
	}
	return " (late)"
}
