package workflows

// The case's one durable clock timer, what it fires (follow-up calls,
// re-assessments, escalations, missed clocks) and the call action.

import (
	"fmt"
	"slices"
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

// reset forgets the timer once it has fired, and cancels its context so
// that the run's context lets go of it: an uncancelled child context (with
// its done channel, about 850 bytes) stays referenced until the run ends,
// one for every follow-up call of the run. For a fired timer the cancel
// sends nothing (the SDK drops a timer's cancellation when it fires: no
// command, no event), so this needs no version gate.
func (c *clockTimer) reset() {
	if c.cancel != nil {
		c.cancel()
	}
	c.f, c.at, c.cancel = nil, time.Time{}, nil
}

// nextWake is when the case next has something to do by itself, and what
// (the clock timer's summary).
func (w *caseWorkflow) nextWake() (time.Time, string) { return w.wake(true) }

// nextWakeAt is nextWake without its reason: the main loop's wait
// condition asks it at every turn of the workflow's event loop, so it
// builds no string.
func (w *caseWorkflow) nextWakeAt() time.Time {
	at, _ := w.wake(false)
	return at
}

// wake is when the case next has something to do by itself and, with
// reasons, what. A pause suspends the outreach (calls, re-assessments);
// the deadlines of a case paused under change pause-keeps-deadlines still
// wake it, those of a case paused before nothing.
func (w *caseWorkflow) wake(reasons bool) (time.Time, string) {
	s := &w.state
	if (s.Paused && !s.Clocks.PauseKeepsDeadlines) || s.Phase == care.PhaseClosed {
		return time.Time{}, ""
	}
	var at time.Time
	var why string
	consider := func(t time.Time, reason string) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, why = t, reason
		}
	}
	if !s.Paused {
		call := ""
		if reasons {
			call = "follow-up call due (every " + care.FormatDuration(w.callInterval()) + ")"
		}
		consider(s.NextCallAt, call)
		consider(s.NextReassessAt, "periodic re-assessment due")
	}
	for _, t := range s.Tasks {
		if t.Status == care.TaskOpen && !(s.Paused && outreach(t)) {
			consider(w.taskDeadline(t, reasons))
		}
	}
	if m := s.Clocks.CCM; m != nil {
		consider(m.Month.End.Add(time.Second), "a new calendar month of CCM minutes starts")
	}
	return at, why
}

// outreach reports that t is outreach, which a pause suspends: a call.
func outreach(t care.Task) bool { return t.Kind == care.TaskCall }

// taskDeadline is when an open task needs the workflow's attention and,
// with reason, why.
func (w *caseWorkflow) taskDeadline(t care.Task, reason bool) (time.Time, string) {
	because := func(s ...string) string {
		if !reason {
			return ""
		}
		return strings.Join(s, "")
	}
	switch {
	case t.Kind == care.TaskCall && t.EscalatedAt.IsZero():
		return t.Due.Add(w.state.Policy.FollowUp.EscalateAfter.D()), because("escalate ", t.ID, " if still open")
	case t.Kind == care.TaskReadmissionWatch:
		return t.Due, because("readmission watch ends")
	case t.Kind == care.TaskCCMMinutes && !w.monthFlagAt(t).IsZero():
		return w.monthFlagAt(t), because(t.ID, " under target in the month's last days")
	case t.Clock && t.Kind != care.TaskCall:
		return t.Due, because(t.ID, " due")
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
	if (s.Paused && !s.Clocks.PauseKeepsDeadlines) || s.Phase == care.PhaseClosed {
		return nil
	}
	now := workflow.Now(ctx)
	var fired []string
	if !s.Paused && !s.NextCallAt.IsZero() && !now.Before(s.NextCallAt) {
		fired = append(fired, w.openCall(ctx, now))
	}
	if !s.Paused && !s.NextReassessAt.IsZero() && !now.Before(s.NextReassessAt) {
		t := w.newTask(now, care.TaskReassess, "periodic re-assessment of the client", s.Case.Manager, now.Add(p.Steps.Assessment.D()), false)
		s.NextReassessAt = s.NextReassessAt.Add(p.FollowUp.ReassessEvery.D())
		fired = append(fired, t.ID+" opened")
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.Status != care.TaskOpen || (s.Paused && outreach(*t)) {
			continue
		}
		at, _ := w.taskDeadline(*t, false)
		if at.IsZero() || now.Before(at) {
			continue
		}
		switch {
		case t.Kind == care.TaskCCMMinutes && t.EscalatedAt.IsZero() && now.Before(t.Due):
			t.EscalatedAt = now
			w.markChanged(t.ID)
			w.alert(now, *t, "ccm-under-target", s.Case.Manager, fmt.Sprintf("%s of case %s is under its monthly target", t.ID, s.Case.ID))
			fired = append(fired, t.ID+" under target")
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
	if m, err := w.rollMonth(ctx, now); err != nil {
		return err
	} else if m != "" {
		fired = append(fired, m)
	}
	if len(fired) == 0 {
		return nil
	}
	return w.record(ctx, care.ActorSystem, "clock", s.Phase, strings.Join(fired, "; "), nil)
}

// openCall opens the follow-up call that fell due and schedules the next one
// at the case's cadence. A previous call still open is closed as missed: a
// months-long case never piles up calls.
func (w *caseWorkflow) openCall(ctx workflow.Context, now time.Time) string {
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
		// Requested, not placed: the alerts outbox records its delivery
		// (delivered_at, delivery_attempts, last_error). Only this text
		// changed, which running cases never replay.
		summary += " (automated call requested)"
	}
	interval := w.callInterval()
	next := due.Add(interval)
	if w.calendarMonths(ctx) {
		next = w.nextMonthly(due)
	}
	if !next.After(now) {
		next = now.Add(interval) // after a long pause or outage: no burst of calls
		if w.calendarMonths(ctx) {
			next = w.nextMonthly(now)
		}
	}
	s.NextCallAt = next
	return summary
}

// calendarMonths reports that the case's cadence is a calendar-month one:
// the program asks for it (follow_up.calendar_months), the cadence is 28
// days or more, and the case reached this point after change
// calendar-month-cadence.
func (w *caseWorkflow) calendarMonths(ctx workflow.Context) bool {
	return w.state.Policy.FollowUp.CalendarMonths && w.callInterval() >= 28*24*time.Hour &&
		workflow.GetVersion(ctx, versionCalendarMonths, workflow.DefaultVersion, 1) == 1
}

// nextMonthly is the due time of the call in the calendar month after that
// of t, in the program's time zone: on the case's call day, or the month's
// last day when it is shorter, at t's time of day. Every calendar month has
// one.
func (w *caseWorkflow) nextMonthly(t time.Time) time.Time {
	loc := w.state.Policy.Location()
	l := t.In(loc)
	day := w.state.Clocks.CallDay
	if day == 0 {
		day = l.Day()
	}
	last := time.Date(l.Year(), l.Month()+2, 0, 0, 0, 0, 0, loc).Day() // last day of next month
	return time.Date(l.Year(), l.Month()+1, min(day, last), l.Hour(), l.Minute(), l.Second(), 0, loc)
}

// startCalls starts the follow-up cadence (and the re-assessment interval).
// A calendar-month cadence falls due on this day of every month. Started
// while the case is paused, it notes when, so that resume moves it by the
// time it ran paused only (Clocks.CadenceSince, change
// resume-from-cadence). Noting it emits no command; resume asks the change.
// The phase machine starts calls only after stopping them (both due times
// zero), so the re-assessment restarts with the calls.
func (w *caseWorkflow) startCalls(ctx workflow.Context, now time.Time) {
	if w.state.Paused {
		w.state.Clocks.CadenceSince = now
	}
	w.state.NextCallAt = now.Add(w.callInterval())
	if w.calendarMonths(ctx) {
		w.state.Clocks.CallDay = now.In(w.state.Policy.Location()).Day()
		w.state.NextCallAt = w.nextMonthly(now)
	}
	if every := w.state.Policy.FollowUp.ReassessEvery.D(); every > 0 && w.state.NextReassessAt.IsZero() {
		w.state.NextReassessAt = now.Add(every)
	}
}

// callInterval is the case's follow-up cadence: by risk level, scaled by the
// case-management model. A changed risk level applies from the next call on.
func (w *caseWorkflow) callInterval() time.Duration {
	return w.state.Policy.CallInterval(w.state.Risk, w.state.Case.Model)
}

// reachedLate records the missed contact clocks done late by a call that
// reached the client, entered at now without the time it was made, as a
// contact entered so records them (change transition-contact; before, they
// stayed missed with no record that the client was reached). The change is
// asked only when there is such a clock.
func (w *caseWorkflow) reachedLate(ctx workflow.Context, now time.Time) {
	missed := slices.ContainsFunc(w.state.Tasks, func(t care.Task) bool {
		return (t.Kind == care.TaskTCMContact || t.Kind == care.TaskContact) && w.lateDoable(t)
	})
	if !missed || workflow.GetVersion(ctx, versionTransitionContact, workflow.DefaultVersion, 1) != 1 {
		return
	}
	if w.state.Discharge != nil && workflow.GetVersion(ctx, versionTCMAsBilled, workflow.DefaultVersion, 1) == 1 {
		w.completeLate(now, "reached by phone", care.TaskTCMContact)
	}
	w.completeLate(now, "reached by phone", care.TaskContact)
}

// callNotCounted is the event detail of a call whose minutes did not
// count: the CCM month it was made in had closed (change contact-times).
type callNotCounted struct {
	care.CallResult
	MinutesNotCounted bool `json:"minutes_not_counted"`
}

func (w *caseWorkflow) call(ctx workflow.Context, actor string, c care.CallResult) (Status, error) {
	return w.act(ctx, actor, UpdateCall, func() error { return w.canCall(time.Time{}, actor, c) }, func() (string, any, error) {
		s, p := &w.state, w.state.Policy
		now := workflow.Now(ctx)
		at, timed := w.happenedAt(ctx, c.At, now)
		t := w.task(c.TaskID)
		w.finishTask(t, at, care.TaskDone, string(c.Outcome))
		summary := fmt.Sprintf("%s: %s%s", t.ID, c.Outcome, metSuffix(*t))
		if timed {
			summary += " (made " + at.UTC().Format(time.RFC3339) + ", entered later)"
		}
		switch c.Outcome {
		case care.CallReached:
			s.NoAnswers = 0
			if at.After(s.Clocks.ClientContactAt) {
				s.Clocks.ClientContactAt = at // for a discharge entered later (change discharge-recorded-contacts)
			}
			if !timed {
				s.LastContactAt = now
				w.completeTasks(now, "reached by phone", care.TaskTCMContact, care.TaskContact)
				w.reachedLate(ctx, now)
				break
			}
			if at.After(s.LastContactAt) {
				s.LastContactAt = at
			}
			asBilled := s.Discharge != nil && workflow.GetVersion(ctx, versionTCMAsBilled, workflow.DefaultVersion, 1) == 1
			// A transfer's contact clock is kept while missed only under
			// change transition-contact: one kept can be met or done late.
			w.doneAt(at, "reached by phone", s.Clocks.TransitionContact != nil, care.TaskContact)
			w.doneAt(at, "reached by phone", asBilled, care.TaskTCMContact)
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
		var detail any = c
		if m, counted, err := w.addMinutes(ctx, at, c.Minutes); err != nil {
			return "", nil, err
		} else if m != "" {
			summary += "; " + m
			if !counted {
				detail = callNotCounted{CallResult: c, MinutesNotCounted: true}
			}
		}
		if w.follow(ctx, care.ActionCall, c.Branch()) != "" {
			summary += "; condition deteriorated: back to assessment"
		}
		return summary, detail, nil
	})
}
