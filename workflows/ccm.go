package workflows

// Chronic care management (CPT 99490): the care-management minutes of a
// case per calendar month of the program's time zone, against the
// policy's monthly target.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// addMinutes adds the minutes a contact or call took to the month's
// accumulator. The first minutes of a case open the month's ccm-minutes
// clock (due at the month's end, met once the target is reached); from
// then on the clock rolls over by itself every month (rollMonth). Programs
// without a CCM target only record the minutes in the event.
//
// now is when the contact or call was made (change contact-times: the time
// staff gave). Minutes made in a month whose clock has already closed and
// rolled over do not count (counted is false): that month's record stands,
// and the summary says so.
func (w *caseWorkflow) addMinutes(ctx workflow.Context, now time.Time, minutes int) (summary string, counted bool, err error) {
	s, p := &w.state, w.state.Policy
	if minutes <= 0 || p.CCM.MonthlyMinutes <= 0 {
		return "", true, nil
	}
	m := s.Clocks.CCM
	if m != nil && now.After(m.Month.End) && now.Before(m.Month.End.Add(time.Second)) &&
		workflow.GetVersion(ctx, versionCCMLastSecond, workflow.DefaultVersion, 1) == 1 {
		// After the whole second the month's clock is due at, before the
		// next month starts: the clock closed at that second (before, these
		// minutes opened a second clock for the same month).
		return fmt.Sprintf("%d minutes made after %s's clock closed at its last whole second, not counted", minutes, m.Month.Name), false, nil
	}
	if m != nil && now.Before(m.Month.Start) {
		if !m.Since.IsZero() && now.Before(m.Since) {
			return fmt.Sprintf("%d minutes made before %s, the case's first CCM month, not counted: their month had no clock", minutes,
				m.Since.In(p.Location()).Format("2006-01")), false, nil
		}
		return fmt.Sprintf("%d minutes made before %s, not counted: the clock of their month closed", minutes, m.Month.Name), false, nil
	}
	if m == nil || now.After(m.Month.End) {
		if err := w.openMonth(ctx, now); err != nil {
			return "", true, err
		}
		m = s.Clocks.CCM
	}
	if m.Minutes > 0 && m.Last.IsZero() {
		// Counted before the time of minutes was kept: made by now, in
		// the month.
		m.Last = minTime(workflow.Now(ctx), m.Month.End)
	}
	m.Minutes += minutes
	if now.After(m.Last) {
		m.Last = now
	}
	summary = fmt.Sprintf("%d minutes; %d of %d in %s", minutes, m.Minutes, m.Target, m.Month.Name)
	if t := w.task(m.TaskID); t != nil && t.Status == care.TaskOpen {
		if m.Minutes >= m.Target {
			// Met when the latest of the minutes it needed were made.
			w.finishTask(t, m.Last, care.TaskDone, fmt.Sprintf("%d minutes in %s", m.Minutes, m.Month.Name))
			summary += " (target met)"
		} else {
			t.Description = monthDescription(*m)
			w.markChanged(t.ID)
		}
	}
	return summary, true, nil
}

// openMonth starts the accumulator of the calendar month of at, with its
// ccm-minutes clock.
func (w *caseWorkflow) openMonth(ctx workflow.Context, at time.Time) error {
	s, p := &w.state, w.state.Policy
	var mo care.Month
	if err := w.compute(ctx, "calendar month", a.MonthEnd, "MonthEnd", &mo, p, at); err != nil {
		return err
	}
	m := &care.MonthMinutes{Month: mo, Target: p.CCM.MonthlyMinutes, Since: mo.Start}
	if prev := s.Clocks.CCM; prev != nil {
		m.Since = prev.Since // zero when prev was written before Since was kept
	}
	t := w.newTask(mo.Start, care.TaskCCMMinutes, monthDescription(*m), s.Case.Manager, mo.End, true)
	m.TaskID = t.ID
	s.Clocks.CCM = m
	return nil
}

func monthDescription(m care.MonthMinutes) string {
	return fmt.Sprintf("%d minutes of care-management contact in %s (CPT 99490): %d so far", m.Target, m.Month.Name, m.Minutes)
}

// monthFlagAt is when a ccm-minutes clock still under target is flagged to
// the case manager: the policy's last days of the month.
func (w *caseWorkflow) monthFlagAt(t care.Task) time.Time {
	days := w.state.Policy.CCM.FlagLastDays
	if days <= 0 || !t.EscalatedAt.IsZero() {
		return time.Time{}
	}
	return t.Due.Add(-time.Duration(days) * 24 * time.Hour)
}

// rollMonth starts the next month's accumulator once the current month has
// ended (its clock closes met or missed by itself).
func (w *caseWorkflow) rollMonth(ctx workflow.Context, now time.Time) (string, error) {
	m := w.state.Clocks.CCM
	if m == nil || !now.After(m.Month.End) || w.state.Phase == care.PhaseClosed {
		return "", nil
	}
	if err := w.openMonth(ctx, m.Month.End.Add(time.Second)); err != nil {
		return "", err
	}
	return w.state.Clocks.CCM.TaskID + " opened", nil
}
