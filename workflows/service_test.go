package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// serviceEnv runs one ServiceWorkflow with its activities stubbed by a small
// in-memory payer, slot book and reminder outbox, and collects what it
// reports to its case.
type serviceEnv struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  workflows.ServiceInput
	// payer behaviour
	submit  func(n int, r care.AuthorizationRequest) (care.AuthorizationDecision, error)
	inquire func(n int, now time.Time) (care.AuthorizationDecision, error)
	// book, if set, may refuse a booking request.
	book func(r care.BookingRequest) error
	// observations
	updates  []care.ServiceUpdate
	updateAt []time.Time
	submits  []care.AuthorizationRequest
	submitAt []time.Time
	bookings []care.BookingRequest
	sent     map[string]time.Time
	// notSent makes SendReminder skip or cancel a reminder id.
	notSent map[string]care.ReminderOutcome
	// prior makes BookAppointment answer an appointment id booked under its
	// key before, with that status now (a reset re-ran the booking).
	prior map[string]care.AppointmentStatus
	// signalFails fails that many reports before they land.
	signalFails int
	cancelled   []string
	attendances []string
	start       time.Time
}

var serviceStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newServiceEnv(t *testing.T, svc care.Service, expedited bool) *serviceEnv {
	s := &serviceEnv{t: t, sent: map[string]time.Time{}, notSent: map[string]care.ReminderOutcome{}, start: serviceStart}
	pol := loadPolicy(t, "complex-case")
	s.in = workflows.ServiceInput{CaseID: "c-river", PatientID: "p-river", CaseWorkflowID: "case-c-river", PlanVersion: 1,
		Service: svc, Policy: pol, Expedited: expedited}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(serviceStart)
	env.RegisterActivity(acts)
	s.env = env
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-1", ValidFrom: serviceStart, ValidTo: serviceStart.Add(90 * day)}, nil
	}
	env.OnActivity(acts.SubmitAuthorization, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
			s.submits = append(s.submits, r)
			s.submitAt = append(s.submitAt, env.Now().UTC())
			return s.submit(len(s.submits), r)
		})
	inquiries := 0
	env.OnActivity(acts.InquireAuthorization, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (care.AuthorizationDecision, error) {
			inquiries++
			return s.inquire(inquiries, env.Now())
		})
	env.OnActivity(acts.BookAppointment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r care.BookingRequest) (care.Appointment, error) {
			if s.book != nil {
				if err := s.book(r); err != nil {
					return care.Appointment{}, err
				}
			}
			s.bookings = append(s.bookings, r)
			starts := r.From.Add(3 * day)
			id := fmt.Sprintf("ap-%s-%d-%d", r.Key.ServiceID, r.Key.Occurrence, r.Key.Attempt)
			status := care.AppointmentBooked
			if st, ok := s.prior[id]; ok {
				status, starts = st, r.From.Add(-day)
			}
			return care.Appointment{ID: id, CaseID: r.Key.CaseID,
				ServiceID: r.Key.ServiceID, Occurrence: r.Key.Occurrence, Attempt: r.Key.Attempt, ProviderID: "prov-1",
				StartsAt: starts, EndsAt: starts.Add(45 * time.Minute), Status: status}, nil
		})
	env.OnActivity(acts.ScheduleReminders, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r care.ReminderRequest) ([]care.Reminder, error) {
			starts := s.bookings[len(s.bookings)-1].From.Add(3 * day)
			var out []care.Reminder
			for _, o := range r.Offsets {
				rem := care.Reminder{ID: fmt.Sprintf("%s.%dm", r.AppointmentID, int(o.Minutes())), AppointmentID: r.AppointmentID,
					OffsetMinutes: int(o.Minutes()), DueAt: starts.Add(-o), Status: care.ReminderPending}
				if !rem.DueAt.After(env.Now()) {
					rem.Status = care.ReminderSkipped
				}
				out = append(out, rem)
			}
			return out, nil
		})
	env.OnActivity(acts.SendReminder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (care.ReminderOutcome, error) {
			if o, ok := s.notSent[id]; ok {
				return o, nil
			}
			s.sent[id] = env.Now().UTC()
			return care.ReminderOutcome{ReminderID: id, Status: care.ReminderSent}, nil
		})
	env.OnActivity(acts.RecordAttendance, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string, st care.AppointmentStatus) (care.Appointment, error) {
			s.attendances = append(s.attendances, id+":"+string(st))
			return care.Appointment{ID: id, Status: st}, nil
		})
	env.OnActivity(acts.CancelAppointment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (care.Appointment, error) {
			s.cancelled = append(s.cancelled, id)
			return care.Appointment{ID: id, Status: care.AppointmentCancelled}, nil
		})
	env.OnSignalExternalWorkflow(mock.Anything, "case-c-river", "", workflows.SignalServiceUpdate, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			if s.signalFails > 0 {
				s.signalFails--
				return fmt.Errorf("unknown external workflow execution")
			}
			s.updates = append(s.updates, arg.(care.ServiceUpdate))
			s.updateAt = append(s.updateAt, env.Now().UTC())
			return nil
		})
	return s
}

// attend records the attendance of an appointment after d.
func (s *serviceEnv) attend(d time.Duration, appointmentID string, status care.AppointmentStatus) {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalAttendance, care.Attendance{AppointmentID: appointmentID, Status: status})
	}, d)
}

func (s *serviceEnv) run() {
	s.env.ExecuteWorkflow(workflows.ServiceWorkflow, s.in)
}

func (s *serviceEnv) last() care.ServiceUpdate { return s.updates[len(s.updates)-1] }

func (s *serviceEnv) summaries() []string {
	var out []string
	for _, u := range s.updates {
		out = append(out, u.Summary)
	}
	return out
}

var physio = care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy", RequiresAuthorization: true}

func TestServiceApprovedBookedRemindedAttended(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())

	require.Len(t, s.submits, 1)
	require.Equal(t, care.UrgencyExpedited, s.submits[0].Urgency)
	require.Equal(t, "c-river:pt:p1:1:20261201T090000Z", s.submits[0].RequestKey)
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	require.Equal(t, 1, s.last().State.Attended)
	starts := serviceStart.Add(3 * day)
	require.Equal(t, starts.Add(-48*time.Hour), s.sent["ap-pt-1-1.2880m"], "48 h reminder on time")
	require.Equal(t, starts.Add(-2*time.Hour), s.sent["ap-pt-1-1.120m"], "2 h reminder on time")
	require.Equal(t, 2, s.last().State.RemindersSent)
	require.Equal(t, []string{"ap-pt-1-1:attended"}, s.attendances)
	require.Contains(t, s.summaries()[0], "authorized (AUTH-1")
}

func TestServiceDeniedBecomesAStaffWorkItem(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationDenied, RequestID: "r1", DenialReason: "not medically necessary"}, nil
	}
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 30*day) // no appeal: a new plan cancels it
	s.run()
	require.True(t, temporal.IsCanceledError(s.env.GetWorkflowError()))
	require.Empty(t, s.bookings, "nothing is booked without authorization")
	u := s.updates[0]
	require.Equal(t, care.ServiceAuthorizationDenied, u.State.Status)
	require.Equal(t, "not medically necessary", u.State.Authorization.Reason)
	require.Contains(t, u.NeedsStaff, "authorization denied (not medically necessary): appeal with")
}

func TestServicePendedThenApproved(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
	}
	s.inquire = func(n int, now time.Time) (care.AuthorizationDecision, error) {
		if now.Before(serviceStart.Add(36 * time.Hour)) {
			return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
		}
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-9", ValidTo: serviceStart.Add(90 * day)}, nil
	}
	s.attend(10*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Contains(t, s.summaries()[0], "authorization pended (request r1")
	require.Contains(t, s.summaries()[1], "authorized (AUTH-9")
	require.Less(t, s.updateAt[1].Sub(serviceStart), 7*day, "decided well before the deadline: no escalation")
	for _, u := range s.updates {
		require.Empty(t, u.Escalate)
	}
	require.Len(t, s.bookings, 1)
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestPendedAuthorizationEscalatesAtItsDeadline(t *testing.T) {
	for _, tc := range []struct {
		expedited bool
		deadline  time.Duration
	}{{true, 72 * time.Hour}, {false, 7 * day}} {
		t.Run(care.FormatDuration(tc.deadline), func(t *testing.T) {
			s := newServiceEnv(t, physio, tc.expedited)
			s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
				return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
			}
			s.inquire = func(n int, now time.Time) (care.AuthorizationDecision, error) {
				if now.Before(serviceStart.Add(tc.deadline + 2*day)) {
					return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
				}
				return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-2", ValidTo: serviceStart.Add(90 * day)}, nil
			}
			s.attend(30*day, "ap-pt-1-1", "attended")
			s.run()
			require.NoError(t, s.env.GetWorkflowError())
			var escalatedAt time.Time
			escalations := 0
			for i, u := range s.updates {
				if u.Escalate != "" {
					escalations++
					escalatedAt = s.updateAt[i]
				}
			}
			require.Equal(t, 1, escalations, "escalated once")
			require.Equal(t, serviceStart.Add(tc.deadline), escalatedAt, "escalated exactly at the deadline")
			require.Equal(t, serviceStart.Add(tc.deadline), s.last().State.Authorization.DeadlineAt)
			require.True(t, s.last().State.Authorization.Escalated)
			require.Equal(t, care.ServiceCompleted, s.last().State.Status, "kept waiting, then went on once approved")
		})
	}
}

func TestPayerOutageIsRetriedNeverADenial(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.submit = func(n int, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		if n <= 3 {
			return care.AuthorizationDecision{}, temporal.NewApplicationError("payer unavailable: 503", "PayerUnavailable")
		}
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-3", ValidTo: serviceStart.Add(90 * day)}, nil
	}
	s.attend(10*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Len(t, s.submits, 4, "three failed attempts, then the decision")
	for _, r := range s.submits {
		require.Equal(t, "c-river:pt:p1:1:20261201T090000Z", r.RequestKey, "every retry is the same request")
	}
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	for _, u := range s.updates {
		require.NotEqual(t, care.ServiceAuthorizationDenied, u.State.Status)
	}
}

func TestReauthorizationBeforeTheApprovalLapses(t *testing.T) {
	weekly := physio
	weekly.Frequency, weekly.Occurrences = "weekly", 4
	s := newServiceEnv(t, weekly, true)
	s.submit = func(n int, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: fmt.Sprintf("r%d", n), AuthorizationNumber: fmt.Sprintf("AUTH-%d", n),
			ValidFrom: r.PeriodStart, ValidTo: r.PeriodStart.Add(20 * day)}, nil
	}
	// Each occurrence is booked 3 days after its window opens; attend each a day later.
	s.attend(4*day, "ap-pt-1-1", "attended")
	for occ := 2; occ <= 4; occ++ {
		s.attend(time.Duration(occ-1)*(6*day+3*day)+4*day, fmt.Sprintf("ap-pt-%d-1", occ), "attended")
	}
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.GreaterOrEqual(t, len(s.submits), 2, "re-authorized")
	first := s.submits[0]
	second := s.submits[1]
	require.Equal(t, "c-river:pt:p1:2:20261205T090000Z", second.RequestKey, "a new request, not a retry of the first")
	require.True(t, s.submitAt[1].Before(first.PeriodStart.Add(20*day)), "re-authorized before the first approval lapsed")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	require.Equal(t, 4, s.last().State.Attended)
}

func TestNoShowIsRebookedUpToThePolicyLimit(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.attend(4*day, "ap-pt-1-1", "no-show")
	s.attend(8*day, "ap-pt-1-2", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Len(t, s.bookings, 2)
	require.Equal(t, 2, s.bookings[1].Key.Attempt, "the rebooking is the next attempt of the same occurrence")
	require.Equal(t, 1, s.bookings[1].Key.Occurrence)
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)

	limit := newServiceEnv(t, physio, true)
	limit.attend(4*day, "ap-pt-1-1", "no-show")
	limit.attend(8*day, "ap-pt-1-2", "no-show")
	limit.attend(12*day, "ap-pt-1-3", "no-show") // complex-case: at most 2 rebookings
	limit.run()
	require.NoError(t, limit.env.GetWorkflowError())
	require.Len(t, limit.bookings, 3)
	require.Equal(t, care.ServiceNeedsStaff, limit.last().State.Status)
	require.Contains(t, limit.last().NeedsStaff, "repeated no-show")
}

func TestCancellationCancelsPendingReminders(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.attend(12*time.Hour, "ap-pt-1-1", "cancelled") // before the 48 h reminder is due
	s.attend(4*day+time.Hour, "ap-pt-1-2", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, []string{"ap-pt-1-1"}, s.cancelled)
	_, sent48 := s.sent["ap-pt-1-1.2880m"]
	_, sent2 := s.sent["ap-pt-1-1.120m"]
	require.False(t, sent48 || sent2, "no reminder for the cancelled appointment")
	require.Contains(t, s.sent, "ap-pt-1-2.120m", "the rebooked appointment is reminded")
	require.Equal(t, 2, s.bookings[1].Key.Attempt)
}

func TestServiceWithoutAuthorizationGoesStraightToBooking(t *testing.T) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	s.attend(4*day, "ap-ot-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Empty(t, s.submits)
	require.Len(t, s.bookings, 1)
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestAPendedRequestDecidedQuicklyIsSeenWithinMinutes(t *testing.T) {
	s := newServiceEnv(t, physio, true) // 72 h deadline: the longest wait between inquiries is 3.6 h
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
	}
	var inquiredAt []time.Time
	s.inquire = func(n int, now time.Time) (care.AuthorizationDecision, error) {
		inquiredAt = append(inquiredAt, now.UTC())
		if now.Before(serviceStart.Add(time.Minute)) {
			return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
		}
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-Q", ValidTo: serviceStart.Add(90 * day)}, nil
	}
	s.attend(10*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, []time.Time{serviceStart.Add(30 * time.Second), serviceStart.Add(90 * time.Second)}, inquiredAt,
		"first inquiry after 30 s, then backing off")
	require.Contains(t, s.summaries()[1], "authorized (AUTH-Q")
}

// Before change request-key-period an authorization request's key had no
// period start.
func TestARequestKeyBeforeRequestKeyPeriodHasNoPeriod(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.env.OnGetVersion("request-key-period", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Len(t, s.submits, 1)
	require.Equal(t, "c-river:pt:p1:1", s.submits[0].RequestKey)
}
