package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
)

// Dispatcher delivers an alert: a message to staff (call due, overdue call,
// missed clock) or an automated call to a client. Deliveries carry opaque ids
// only; the recipient's contact details are looked up behind it.
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
	loc, err := time.LoadLocation(p.Timezone)
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
