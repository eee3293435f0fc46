package metrics

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/httperr"
)

// Step counts what one recorded step of a case did: a case opened or
// closed, a staff action, clocks closed, alerts raised. It is counted once
// per successful write, so an activity retried after its write (its alert
// delivery failed) counts the step again. A clock is counted once, when it
// closes: prior holds the step's clocks as they stood before it (nil: as
// if open), and a clock already closed is counted again only when its
// result changed, as "corrected" (a missed clock done late, a met watch
// undone by a readmission entered late).
func (m *Metrics) Step(st care.Step, prior map[string]care.Task) {
	ev, program := st.Event, st.Snapshot.Program
	m.Steps.WithLabelValues(program).Inc()
	switch {
	case ev.Action == "opened":
		m.CasesOpened.WithLabelValues(program).Inc()
	case ev.PhaseAfter == care.PhaseClosed && ev.PhaseBefore != care.PhaseClosed:
		m.CasesClosed.WithLabelValues(program, string(st.Snapshot.ClosureReason)).Inc()
	}
	if ev.Actor != care.ActorSystem && ev.Actor != "" {
		m.StaffActions.WithLabelValues(program, ev.Action, actionResult(ev)).Inc()
	}
	for _, t := range st.Tasks {
		now := clockResult(t)
		if !t.Clock || now == "" {
			continue
		}
		switch before := clockResult(prior[t.ID]); before {
		case "":
			m.Clocks.WithLabelValues(program, string(t.Kind), now).Inc()
		case now: // written again (a retry): counted when it closed
		default:
			m.Clocks.WithLabelValues(program, string(t.Kind), "corrected").Inc()
		}
	}
	for _, a := range st.Alerts {
		m.Alerts.WithLabelValues(program, a.Kind).Inc()
	}
}

// clockResult is how clock t stands: "met", "missed" (past its due time),
// "unmet" (closed unmet: done late, readmitted), or "" while it is open.
func clockResult(t care.Task) string {
	switch {
	case t.Status == care.TaskMissed:
		return "missed"
	case t.Status == care.TaskDone && t.Met != nil && *t.Met:
		return "met"
	case t.Status == care.TaskDone:
		return "unmet"
	}
	return ""
}

// closingClocks are the ids of the clocks step st closes or changes.
func closingClocks(st care.Step) []string {
	var ids []string
	for _, t := range st.Tasks {
		if t.Clock && clockResult(t) != "" {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// taskReader reads a case's tasks as they stand (postgres.Store).
type taskReader interface {
	TasksByID(ctx context.Context, caseID string, ids []string) (map[string]care.Task, error)
}

// actionResult is a staff action's result as a bounded label: the call's
// outcome, the contact's party (or "attempt"), else "recorded".
func actionResult(ev care.Event) string {
	d, _ := ev.Detail.(map[string]any)
	switch x := ev.Detail.(type) {
	case care.CallResult:
		d = map[string]any{"outcome": string(x.Outcome)}
	case care.Contact:
		d = map[string]any{"with": string(x.With), "attempt": x.Attempt}
	}
	switch ev.Action {
	case "call":
		if o, _ := d["outcome"].(string); slices.Contains(care.CallOutcomes, care.CallOutcome(o)) {
			return o
		}
	case "contact":
		if a, _ := d["attempt"].(bool); a {
			return "attempt"
		}
		if w, _ := d["with"].(string); slices.Contains(care.ContactParties, care.ContactParty(w)) {
			return w
		}
	}
	return "recorded"
}

// Store counts, around the activities' store, the steps recorded, alert
// deliveries, reminders and booking conflicts.
type Store struct {
	activities.Store
	M *Metrics
}

// RecordStep records the step, then counts it. The clocks it closes are
// read first, so that a clock is counted when it closes, not at every
// write. A read that fails does not stop the step: its clocks are then
// counted as closing now, as a retry of it would be.
func (s Store) RecordStep(ctx context.Context, st care.Step, runID string) error {
	var prior map[string]care.Task
	if ids := closingClocks(st); len(ids) > 0 {
		if r, ok := s.Store.(taskReader); ok {
			prior, _ = r.TasksByID(ctx, st.Event.CaseID, ids)
		}
	}
	err := s.Store.RecordStep(ctx, st, runID)
	if err == nil {
		s.M.Step(st, prior)
	}
	return err
}

// MarkAlertDelivered counts a delivered alert.
func (s Store) MarkAlertDelivered(ctx context.Context, alertID string) error {
	err := s.Store.MarkAlertDelivered(ctx, alertID)
	if err == nil {
		s.M.AlertDeliveries.WithLabelValues("delivered").Inc()
	}
	return err
}

// AlertNotDelivered counts a failed alert delivery.
func (s Store) AlertNotDelivered(ctx context.Context, alertID, reason string) error {
	s.M.AlertDeliveries.WithLabelValues("failed").Inc()
	return s.Store.AlertNotDelivered(ctx, alertID, reason)
}

// ClaimReminder counts a reminder that will not be sent (skipped,
// cancelled, or unknown: an earlier attempt never reported back) when the
// claim finds it so.
func (s Store) ClaimReminder(ctx context.Context, id string, now time.Time, lease time.Duration) (care.ReminderClaim, bool, error) {
	c, ok, err := s.Store.ClaimReminder(ctx, id, now, lease)
	if err == nil && !ok {
		switch st := c.Reminder.Status; st {
		case care.ReminderSkipped, care.ReminderCancelled, care.ReminderUnknown:
			s.M.Reminders.WithLabelValues(string(st)).Inc()
		}
	}
	return c, ok, err
}

// ReleaseReminder counts a failed reminder delivery.
func (s Store) ReleaseReminder(ctx context.Context, id, reason string, maybeSent bool) error {
	s.M.Reminders.WithLabelValues("failed").Inc()
	return s.Store.ReleaseReminder(ctx, id, reason, maybeSent)
}

// MarkSent counts a sent reminder.
func (s Store) MarkSent(ctx context.Context, id, channel string, at time.Time) error {
	err := s.Store.MarkSent(ctx, id, channel, at)
	if err == nil {
		s.M.Reminders.WithLabelValues("sent").Inc()
	}
	return err
}

// BookEarliest counts a booking the schedule refused.
func (s Store) BookEarliest(ctx context.Context, key care.BookingKey, serviceCode string, from, to time.Time) (care.Appointment, error) {
	ap, err := s.Store.BookEarliest(ctx, key, serviceCode, from, to)
	s.booking(err)
	return ap, err
}

// BookSlot counts a booking the schedule refused.
func (s Store) BookSlot(ctx context.Context, key care.BookingKey, serviceCode, slotID string) (care.Appointment, error) {
	ap, err := s.Store.BookSlot(ctx, key, serviceCode, slotID)
	s.booking(err)
	return ap, err
}

func (s Store) booking(err error) {
	switch {
	case errors.Is(err, care.ErrNoSlot):
		s.M.BookingConflicts.WithLabelValues("no-slot").Inc()
	case errors.Is(err, care.ErrOccurrenceBooked):
		s.M.BookingConflicts.WithLabelValues("occurrence-booked").Inc()
	case errors.Is(err, care.ErrAppointmentStatusConflict):
		s.M.BookingConflicts.WithLabelValues("status-conflict").Inc()
	}
}

// Payer times the calls to the payer and counts their errors by status.
type Payer struct {
	activities.Payer
	M *Metrics
}

// Submit sends a request, timed.
func (p Payer) Submit(ctx context.Context, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
	start := time.Now()
	d, err := p.Payer.Submit(ctx, r)
	p.observe("submit", start, d, err)
	return d, err
}

// Inquire asks for a decision, timed.
func (p Payer) Inquire(ctx context.Context, requestID string) (care.AuthorizationDecision, error) {
	start := time.Now()
	d, err := p.Payer.Inquire(ctx, requestID)
	p.observe("inquire", start, d, err)
	return d, err
}

func (p Payer) observe(op string, start time.Time, d care.AuthorizationDecision, err error) {
	status := string(d.Status)
	if err != nil {
		status = "error"
		var he *httperr.Error
		if errors.As(err, &he) && he.StatusCode != 0 {
			status = strconv.Itoa(he.StatusCode)
		} else if errors.As(err, &he) {
			status = "transport"
		}
		p.M.PayerErrors.WithLabelValues(op, status).Inc()
	}
	p.M.PayerRequests.WithLabelValues(op, status).Observe(time.Since(start).Seconds())
}

// Instrument wraps the activities' store and payer so that they count.
func (m *Metrics) Instrument(a *activities.Activities) {
	a.Store = Store{Store: a.Store, M: m}
	a.Payer = Payer{Payer: a.Payer, M: m}
}
