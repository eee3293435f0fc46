package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/tzdb"
)

// Dispatcher delivers an alert: a message to staff (call due, overdue call,
// missed clock) or an automated call to a client. Deliveries carry opaque ids
// only; the recipient's contact details are looked up behind it.
//
// The alert id is the delivery's idempotency key: a worker that dies after
// Dispatch returned and before the outbox row is marked delivered dispatches
// the alert again with the same id, so a channel that must not deliver twice
// (an automated call) deduplicates on it.
type Dispatcher interface {
	Dispatch(ctx context.Context, a care.Alert) error
}

// LogDispatcher is the default channel: it writes each alert as a structured
// log line (ids, kind, recipient; never patient data).
type LogDispatcher struct{ Logger *slog.Logger }

// Dispatch logs the alert.
func (d LogDispatcher) Dispatch(_ context.Context, a care.Alert) error {
	d.Logger.Info("alert", "alert_id", a.ID, "case_id", a.CaseID, "task_id", a.TaskID, "kind", a.Kind, "recipient", a.Recipient)
	return nil
}

func (a *Activities) dispatcher(ctx context.Context) Dispatcher {
	if a.Dispatcher != nil {
		return a.Dispatcher
	}
	return LogDispatcher{Logger: slog.Default().With("activity", activity.GetInfo(ctx).ActivityType.Name)}
}

// deliverAlerts sends the case's undelivered alerts and marks each one
// delivered once its channel took it. A failed attempt is counted on the
// outbox row with its error, and fails the activity so that it is retried:
// an alert or automated call is recorded as delivered only once it was.
func (a *Activities) deliverAlerts(ctx context.Context, caseID string) error {
	pending, err := a.Store.UndeliveredAlerts(ctx, caseID)
	if err != nil {
		return err
	}
	d := a.dispatcher(ctx)
	for _, al := range pending {
		if err := d.Dispatch(ctx, al); err != nil {
			_ = a.Store.AlertNotDelivered(context.WithoutCancel(ctx), al.ID, err.Error())
			return fmt.Errorf("deliver alert %s: %w", al.ID, err)
		}
		if err := a.Store.MarkAlertDelivered(ctx, al.ID); err != nil {
			return err
		}
	}
	return nil
}

// PlanDischargeClocks computes the transitional-care clocks of a discharge
// on the program calendar: interactive contact by the end of the Nth
// business day after the discharge date (weekends and holidays skipped),
// face-to-face visit by the end of day 7 (high complexity, CPT 99496) or 14
// (moderate, 99495), and the readmission watch. Clocks shorter than a day
// (the compressed demo program) run from now instead. It runs as an activity
// because it needs the time-zone database and the calendar may change.
func (a *Activities) PlanDischargeClocks(_ context.Context, p care.Policy, risk care.RiskLevel, date string, now time.Time) (care.DischargeClocks, error) {
	return PlanDischargeClocks(p, risk, date, now)
}

// PlanDischargeClocks is the calculation behind the activity of that name.
func PlanDischargeClocks(p care.Policy, risk care.RiskLevel, date string, now time.Time) (care.DischargeClocks, error) {
	loc, err := tzdb.Load(p.Timezone)
	if err != nil {
		return care.DischargeClocks{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("policy %s v%d: unknown time zone %q", p.Program, p.Version, p.Timezone), ErrTypeBadPolicy, err)
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return care.DischargeClocks{}, temporal.NewNonRetryableApplicationError("discharge date must be YYYY-MM-DD", ErrTypeBadInput, err)
	}
	pd := p.PostDischarge
	c := care.DischargeClocks{DischargedAt: now, VisitDays: 14}
	visit := pd.VisitModerate.D()
	if risk == care.RiskHigh {
		visit, c.VisitDays = pd.VisitHigh.D(), 7
	}
	after := func(span time.Duration) time.Time {
		if span%(24*time.Hour) == 0 {
			return care.EndOfDay(d.AddDate(0, 0, int(span/(24*time.Hour))), loc)
		}
		return now.Add(span)
	}
	if pd.ContactWithin > 0 {
		c.ContactDue = now.Add(pd.ContactWithin.D())
	} else {
		c.ContactDue = care.EndOfDay(p.Calendar.AddBusinessDays(d, pd.ContactBusinessDays), loc)
	}
	c.VisitDue = after(visit)
	c.ReadmissionEnds = after(pd.ReadmissionWindow.D())
	return c, nil
}

// DischargeClocks computes the clocks of a discharge from the discharge's
// own date and time (change event-dates), whenever it is entered: the
// interactive contact by the end of the Nth business day after the
// discharge date, the face-to-face visit by the end of day 7 (high
// complexity, CPT 99496) or 14 (moderate, 99495) after it, the readmission
// watch through the end of day 30 (the discharge date is day 0) and the
// 30-day TCM period. The complexity is the staff's choice, else high for a
// high-risk case. Clocks shorter than a day (the compressed demo program)
// run from the discharge time: the time given, else the time it was
// entered when the date is that day, else the start of the date. Labels
// come from the policy values.
func (a *Activities) DischargeClocks(_ context.Context, r care.DischargeRequest) (care.DischargeClocks, error) {
	return DischargeClocks(r)
}

// DischargeClocks is the calculation behind the activity of that name.
func DischargeClocks(r care.DischargeRequest) (care.DischargeClocks, error) {
	p, t := r.Policy, r.Transition
	loc, err := tzdb.Load(p.Timezone)
	if err != nil {
		return care.DischargeClocks{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("policy %s v%d: unknown time zone %q", p.Program, p.Version, p.Timezone), ErrTypeBadPolicy, err)
	}
	at, timed, ok := t.At(loc)
	if !ok {
		return care.DischargeClocks{}, temporal.NewNonRetryableApplicationError("discharge date must be YYYY-MM-DD and time HH:MM", ErrTypeBadInput, nil)
	}
	if !timed && at.Format(time.DateOnly) == r.EnteredAt.In(loc).Format(time.DateOnly) {
		at = r.EnteredAt
	}
	// The discharge's date on the program's calendar: EnteredAt is the
	// workflow's clock, in UTC, whose date is the next day from the
	// evening on in the Americas.
	l := at.In(loc)
	date := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	pd := p.PostDischarge
	c := care.DischargeClocks{DischargedAt: at, Date: t.Date, EnteredAt: r.EnteredAt, Complexity: t.Complexity}
	if c.Complexity == "" {
		c.Complexity = care.ComplexityModerate
		if r.Risk == care.RiskHigh {
			c.Complexity = care.ComplexityHigh
		}
	}
	visit := pd.VisitModerate.D()
	if c.Complexity == care.ComplexityHigh {
		visit = pd.VisitHigh.D()
	}
	c.VisitDays = int(visit / (24 * time.Hour))
	c.VisitWithin = care.SpellDuration(visit)
	after := func(span time.Duration) time.Time {
		if span%(24*time.Hour) == 0 {
			return care.EndOfDay(date.AddDate(0, 0, int(span/(24*time.Hour))), loc)
		}
		return at.Add(span)
	}
	if pd.ContactWithin > 0 {
		c.ContactDue = at.Add(pd.ContactWithin.D())
		c.ContactRule = "within " + pd.ContactWithin.String()
	} else {
		c.ContactDue = care.EndOfDay(p.Calendar.AddBusinessDays(date, pd.ContactBusinessDays), loc)
		c.ContactRule = fmt.Sprintf("within %d business days", pd.ContactBusinessDays)
	}
	c.VisitDue = after(visit)
	c.ReadmissionEnds = after(pd.ReadmissionWindow.D())
	c.TCMPeriodEnd = after(pd.TCMPeriodOrDefault())
	return c, nil
}

// MonthEnd is the last second of the calendar month of t in the program's
// time zone, and the month's name (YYYY-MM): the CCM 99490 accumulator's
// period.
func (a *Activities) MonthEnd(_ context.Context, p care.Policy, t time.Time) (care.Month, error) {
	return MonthOf(p, t)
}

// MonthOf is the calculation behind MonthEnd.
func MonthOf(p care.Policy, t time.Time) (care.Month, error) {
	loc, err := tzdb.Load(p.Timezone)
	if err != nil {
		return care.Month{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("policy %s v%d: unknown time zone %q", p.Program, p.Version, p.Timezone), ErrTypeBadPolicy, err)
	}
	l := t.In(loc)
	first := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	return care.Month{Name: first.Format("2006-01"), Start: first, End: first.AddDate(0, 1, 0).Add(-time.Second)}, nil
}
