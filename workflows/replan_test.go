package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// replanEnv is a case whose service coordinations are stubbed: it records
// the coordinations started (by workflow id) and the signals sent to them.
type replanEnv struct {
	*caseEnv
	mu      sync.Mutex
	started []string
	inputs  map[string]workflows.ServiceInput
	signals []string // workflow id / signal name / service frequency
	amended []care.Service
}

func newReplanEnv(t *testing.T) *replanEnv {
	r := &replanEnv{caseEnv: &caseEnv{t: t, policy: loadPolicy(t, "complex-case"), model: care.ModelClinical}, inputs: map[string]workflows.ServiceInput{}}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(acts)
	// A stand-in coordination that records what the case sends it.
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ServiceInput) error {
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		r.mu.Lock()
		r.started = append(r.started, id)
		r.inputs[id] = in
		r.mu.Unlock()
		for {
			sel := workflow.NewSelector(ctx)
			for _, name := range []string{workflows.SignalAmend, workflows.SignalAppeal, workflows.SignalBook} {
				sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
					var svc care.Service
					c.Receive(ctx, &svc)
					r.mu.Lock()
					defer r.mu.Unlock()
					r.signals = append(r.signals, id+"/"+name)
					if name == workflows.SignalAmend {
						r.amended = append(r.amended, svc)
					}
				})
			}
			sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
			sel.Select(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}, workflow.RegisterOptions{Name: "ServiceWorkflow"})
	r.servePolicy(env)
	// A continued run re-reads its services; none has news here.
	env.OnActivity(acts.ServiceStates, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []string) ([]activities.ReportedService, error) {
			out := make([]activities.ReportedService, len(ids))
			for i, id := range ids {
				out[i] = activities.ReportedService{WorkflowID: id}
			}
			return out, nil
		})
	env.OnActivity(acts.RecordStep, mock.Anything, mock.Anything).Return(
		func(_ context.Context, st care.Step) error {
			r.steps = append(r.steps, st)
			r.events = append(r.events, st.Event)
			return nil
		})
	env.OnActivity(acts.CoordinateServices, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ string, services []care.Service) ([]care.ServiceState, error) {
			out := make([]care.ServiceState, len(services))
			for i, s := range services {
				out[i] = care.ServiceState{Service: s, Status: care.ServiceReadyToBook}
			}
			return out, nil
		})
	// Cancelling a coordination this test did not start (a recorded one).
	env.OnRequestCancelExternalWorkflow(mock.Anything, mock.Anything, mock.Anything).Return(nil)
	r.env = env
	return r
}

// replan sends the case back to planning and approves plan p.
func (r *replanEnv) replan(p care.CarePlan) *result {
	r.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhasePlanning})
	return r.update(workflows.UpdatePlan, "cm-ana", p)
}

func serviceByID(st workflows.Status, id string) *care.ServiceState {
	for i := range st.Services {
		if st.Services[i].ID == id {
			return &st.Services[i]
		}
	}
	return nil
}

func TestReplanWithTheSamePlanChangesNothing(t *testing.T) {
	r := newReplanEnv(t)
	r.toFollowUp(care.RiskModerate)
	again := r.replan(riverPlan())
	r.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.run()
	require.NoError(t, r.env.GetWorkflowError())
	require.NoError(t, again.err)

	require.ElementsMatch(t, []string{"case-c-river-svc-pt-p1", "case-c-river-svc-np-p1"}, r.started, "no new coordination, so no new payer request or booking")
	require.Empty(t, r.cancelledIn("plan"), "nothing cancelled")
	require.ElementsMatch(t, []string{"pt", "np"}, r.cancelledIn("close"), "until the case closed")
	require.Empty(t, r.signals, "nothing amended")
	require.Equal(t, 2, again.status.PlanVersion)
	require.Equal(t, 1, serviceByID(again.status, "pt").PlanVersion, "pt is still coordinated by plan 1's workflow")
	require.Contains(t, r.eventSummary("plan", 2), "plan v2: pt unchanged, np unchanged")
}

func TestReplanAmendsRemovesAndAddsServices(t *testing.T) {
	r := newReplanEnv(t)
	r.toFollowUp(care.RiskModerate)
	p := riverPlan()
	p.Services[0].Frequency = "monthly"                                                  // pt changed
	p.Services = []care.Service{p.Services[0], {ID: "ot", Code: "occupational-therapy"}} // np removed, ot added
	changed := r.replan(p)
	// np's coordination reports its cancellation: from plan 1, ignored.
	r.env.RegisterDelayedCallback(func() {
		r.env.SignalWorkflow(workflows.SignalServiceUpdate, care.ServiceUpdate{PlanVersion: 1, Summary: "np: coordination cancelled",
			State: care.ServiceState{Service: riverPlan().Services[1], Status: care.ServiceCancelled}})
	}, r.at+10*time.Minute)
	follow := r.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	closed := r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.run()
	require.NoError(t, r.env.GetWorkflowError())
	require.NoError(t, changed.err)

	require.Equal(t, []string{"case-c-river-svc-pt-p1/amend"}, r.signals, "pt amended in place")
	require.Equal(t, "monthly", r.amended[0].Frequency)
	require.Equal(t, []string{"np"}, r.cancelledIn("plan"), "np cancelled")
	require.Contains(t, r.started, "case-c-river-svc-ot-p2", "ot started under plan 2")
	require.NotContains(t, r.started, "case-c-river-svc-pt-p2")
	require.Contains(t, r.eventSummary("plan", 2), "pt amended (frequency weekly → monthly), ot added, np removed")

	st := follow.status
	require.Len(t, st.Services, 2)
	require.Equal(t, "monthly", serviceByID(st, "pt").Frequency)
	require.Equal(t, 1, serviceByID(st, "pt").PlanVersion)
	require.Equal(t, 2, serviceByID(st, "ot").PlanVersion)
	require.Nil(t, serviceByID(st, "np"))
	// Closing stops pt (plan 1's workflow) and ot (plan 2's), and shows them cancelled.
	require.ElementsMatch(t, []string{"pt", "ot"}, r.cancelledIn("close"))
	for _, sv := range closed.status.Services {
		require.Equal(t, care.ServiceCancelled, sv.Status, sv.ID)
	}
}

func TestLevelChangeAmendsOneServiceCadence(t *testing.T) {
	r := newReplanEnv(t)
	r.toFollowUp(care.RiskModerate)
	amend := r.update(workflows.UpdateAmendService, "cm-ana", care.ServiceAmendment{ServiceID: "pt", Frequency: "monthly"})
	same := r.update(workflows.UpdateAmendService, "cm-ana", care.ServiceAmendment{ServiceID: "pt", Frequency: "monthly"})
	unknown := r.update(workflows.UpdateAmendService, "cm-ana", care.ServiceAmendment{ServiceID: "xx", Frequency: "monthly"})
	r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.run()
	require.NoError(t, amend.err)
	require.Equal(t, []string{"case-c-river-svc-pt-p1/amend"}, r.signals)
	require.Equal(t, "monthly", serviceByID(amend.status, "pt").Frequency)
	require.Equal(t, "", serviceByID(amend.status, "np").Frequency, "the other services are untouched")
	require.Equal(t, "monthly", amend.status.Plan.Services[0].Frequency)
	require.True(t, same.rejected)
	require.Equal(t, string(care.KindInvalid), appErrType(same.err))
	require.True(t, unknown.rejected)
	require.Equal(t, string(care.KindNotFound), appErrType(unknown.err))
}

func TestExpeditedAndExemptArePolicyData(t *testing.T) {
	r := newReplanEnv(t)
	r.policy.Authorization.ExpeditedWhen = &care.ExpeditedRule{Services: []string{"physiotherapy"}}
	r.policy.Authorization.ExemptPayerTypes = []string{"exchange"}
	p := riverPlan()
	p.PayerType = "exchange"
	r.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	r.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	r.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Category: care.CategoryAcute}) // acute no longer expedites by itself
	r.update(workflows.UpdatePlan, "cm-ana", p)
	r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.run()
	pt, np := r.inputs["case-c-river-svc-pt-p1"], r.inputs["case-c-river-svc-np-p1"]
	require.True(t, pt.Expedited, "physiotherapy is expedited by the policy")
	require.False(t, np.Expedited, "an acute case's other services are not")
	require.True(t, pt.Exempt && np.Exempt, "exchange plans are exempt from the decision deadlines")
}

// cancelledIn lists the services the steps of action wrote as cancelled.
func (r *replanEnv) cancelledIn(action string) []string {
	var out []string
	for _, st := range r.steps {
		if st.Event.Action != action {
			continue
		}
		for _, sv := range st.Services {
			if sv.Status == care.ServiceCancelled {
				out = append(out, sv.ID)
			}
		}
	}
	return out
}

func (r *replanEnv) eventSummary(action string, n int) string {
	seen := 0
	for _, e := range r.events {
		if e.Action == action {
			seen++
			if seen == n {
				return e.Summary
			}
		}
	}
	r.t.Fatalf("no %s event #%d", action, n)
	return ""
}

func appErrType(err error) string {
	var ae *temporal.ApplicationError
	for err != nil {
		if e, ok := err.(*temporal.ApplicationError); ok {
			ae = e
			break
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	if ae == nil {
		return ""
	}
	return ae.Type()
}

// Service side.

func TestDenialAppealApproval(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(n int, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		if n == 1 {
			return care.AuthorizationDecision{Status: care.AuthorizationDenied, RequestID: "pa-1", DenialReason: "conservative treatment not tried", DecidedAt: serviceStart}, nil
		}
		if n == 2 {
			return care.AuthorizationDecision{}, temporal.NewApplicationError("payer unavailable", activities.ErrTypePayerUnavailable)
		}
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "pa-2"}, nil
	}
	s.inquire = func(_ int, now time.Time) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "pa-2", AuthorizationNumber: "AUTH-A",
			ValidFrom: serviceStart, ValidTo: serviceStart.Add(90 * day), DecidedAt: now.Add(-time.Second)}, nil
	}
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalAppeal, care.Appeal{ServiceID: "pt", Notes: "six weeks of home exercise tried"})
	}, day)
	s.attend(6*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())

	require.Len(t, s.submits, 3)
	appeal := s.submits[2]
	require.Equal(t, "c-river:pt:p1:2:20261202T090000Z", appeal.RequestKey, "the appeal is a new request")
	require.Equal(t, "pa-1", appeal.Related, "referencing the denied one")
	require.Equal(t, "six weeks of home exercise tried", appeal.Notes)
	require.Contains(t, s.updates[0].NeedsStaff, "conservative treatment not tried")
	var pended care.ServiceUpdate
	for _, u := range s.updates {
		if u.State.Status == care.ServiceAuthorizationPended {
			pended = u
		}
	}
	auth := pended.State.Authorization
	require.Equal(t, "pa-1", auth.Related)
	require.Equal(t, s.submitAt[2], auth.SubmittedAt.UTC(), "the deadline runs from the submission the payer accepted")
	require.Equal(t, auth.SubmittedAt.Add(7*day), auth.DeadlineAt, "with its own standard deadline")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
	var approved *care.AuthorizationState
	for _, u := range s.updates {
		if a := u.State.Authorization; a != nil && a.Status == care.AuthorizationApproved {
			approved = a
		}
	}
	require.NotNil(t, approved)
	require.False(t, approved.DecidedAt.IsZero(), "the payer's decision time is stored")
}

func TestDenialWithoutReasonIsAProtocolError(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{}, temporal.NewNonRetryableApplicationError("payer protocol error in decision: a denial without a reason",
			activities.ErrTypePayerProtocol, nil)
	}
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	u := s.last()
	require.Equal(t, care.ServiceNeedsStaff, u.State.Status, "not a denial")
	require.Equal(t, care.AuthorizationRejected, u.State.Authorization.Status, "and not shown as pended")
	require.Contains(t, u.NeedsStaff, "not a valid decision")
	require.Empty(t, s.bookings)
}

func TestExemptPayerTypeHasNoDeadline(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.in.Exempt = true
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
	}
	s.inquire = func(_ int, now time.Time) (care.AuthorizationDecision, error) {
		if now.Before(serviceStart.Add(12 * day)) {
			return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "r1"}, nil
		}
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: "r1", AuthorizationNumber: "AUTH-X", ValidTo: serviceStart.Add(90 * day)}, nil
	}
	s.attend(16*day, "ap-pt-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	for _, u := range s.updates {
		require.Empty(t, u.Escalate, "an exempt payer type is never escalated: %s", u.Summary)
	}
	require.True(t, s.updates[0].State.Authorization.Exempt)
	require.True(t, s.updates[0].State.Authorization.DeadlineAt.IsZero())
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestAmendedCadenceBooksTheNextOccurrenceMonthly(t *testing.T) {
	svc := physio
	svc.Frequency, svc.Occurrences = "weekly", 4
	s := newServiceEnv(t, svc, false)
	s.env.RegisterDelayedCallback(func() {
		amended := svc
		amended.Frequency = "monthly"
		s.env.SignalWorkflow(workflows.SignalAmend, amended)
	}, day)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 40*day)
	s.run()
	require.Len(t, s.bookings, 2)
	firstStart := serviceStart.Add(3 * day)
	month := 30 * day
	require.Equal(t, firstStart.Add(month-month/7), s.bookings[1].From, "the next occurrence follows the monthly cadence")
	require.Len(t, s.submits, 2, "the 3 monthly sessions left outgrow the 90-day approval: re-authorized")
	require.Equal(t, "c-river:pt:p1:2:20261205T090000Z", s.submits[1].RequestKey)
	var amended bool
	for _, u := range s.updates {
		amended = amended || strings.Contains(u.Summary, "pt: amended (frequency weekly → monthly); its authorization no longer covers it")
	}
	require.True(t, amended, "%v", s.summaries())
}

func TestManualBookingWhenNoSlotIsFree(t *testing.T) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	s.book = func(r care.BookingRequest) error {
		if r.SlotID == "" {
			return temporal.NewNonRetryableApplicationError("no free slot", activities.ErrTypeNoSlot, nil)
		}
		return nil
	}
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalBook, care.ManualBooking{ServiceID: "ot", SlotID: "sl-9"})
	}, 2*time.Hour)
	s.attend(4*day, "ap-ot-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Equal(t, care.ServiceNoSlot, s.updates[0].State.Status)
	require.Contains(t, s.updates[0].NeedsStaff, "caseflow case book c-river ot --slot <id>", "the open item says how to book by hand")
	require.Len(t, s.bookings, 1)
	require.Equal(t, "sl-9", s.bookings[0].SlotID)
	require.Contains(t, s.updates[1].Summary, "booked by hand on slot sl-9")
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestPastAppointmentWithoutAttendanceAsksStaff(t *testing.T) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	s.attend(6*day, "ap-ot-1-1", "attended")
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	var asked *care.ServiceUpdate
	for i, u := range s.updates {
		if strings.Contains(u.NeedsStaff, "record attendance of appointment ap-ot-1-1") {
			asked = &s.updates[i]
			require.Equal(t, serviceStart.Add(4*day), s.updateAt[i], "a day after its start")
		}
	}
	require.NotNil(t, asked)
	require.Equal(t, care.ServiceCompleted, s.last().State.Status)
}

func TestServicesFromBeforePlanVersionsAreReplacedByTheFirstReplan(t *testing.T) {
	r := newReplanEnv(t)
	plan := riverPlan()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r.env.SetStartTime(start)
	c := riverCase()
	c.OpenedAt = start
	// A case recorded before plan versions: plan 1's services coordinated
	// without a plan version of their own.
	state := workflows.CaseState{Case: c, Policy: r.policy, Phase: care.PhasePlanning, PhaseSince: start,
		Risk: care.RiskModerate, Category: care.CategoryAcute, Plan: &plan, PlanVersion: 1, ServicesStarted: true, Seq: 10,
		Proposal: &care.RiskProposal{Level: care.RiskModerate}, Assessment: func() *care.Assessment { a := riverAssessment(); return &a }(),
		Services: []care.ServiceState{{Service: plan.Services[0], Status: care.ServiceBooked,
			Appointment: &care.AppointmentRef{ID: "ap-old", Status: care.AppointmentBooked}}, {Service: plan.Services[1], Status: care.ServiceCompleted}}}
	again := r.update(workflows.UpdatePlan, "cm-ana", plan)
	r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: c, Policy: r.policy, State: &state})
	require.NoError(t, r.env.GetWorkflowError())
	require.NoError(t, again.err)
	require.Contains(t, r.eventSummary("plan", 1), "plan v2: pt replaced, np unchanged", "a running legacy coordination cannot be amended in place")
	require.Equal(t, []string{"case-c-river-svc-pt-p2"}, r.started, "pt restarts under plan 2 with its new keys; completed np stays")
	require.Equal(t, []string{"pt"}, r.cancelledIn("plan"))
	pt := serviceByID(again.status, "pt")
	require.Equal(t, 2, pt.PlanVersion)
}

// Re-planning after a discharge keeps the post-discharge visit booking: the
// visit is a clock of the discharge, not a service of the care plan.
func TestReplanAfterADischargeKeepsThePostDischargeVisit(t *testing.T) {
	r := newReplanEnv(t)
	start := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	r.env.SetStartTime(start)
	r.toFollowUp(care.RiskModerate)
	discharged := r.update(workflows.UpdateTransition, "cm-ana", discharge("2026-12-01"))
	p := riverPlan()
	p.Services[0].Frequency = "monthly"
	replanned := r.replan(p)
	r.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	r.run()
	require.NoError(t, r.env.GetWorkflowError())
	require.NoError(t, discharged.err)
	require.NoError(t, replanned.err)

	// The answers share the workflow's state in the test environment, so
	// read what each step recorded instead.
	visit, cancelledBy := "", ""
	for _, st := range r.steps {
		for _, sv := range st.Services {
			if strings.HasPrefix(sv.ID, string(care.TaskTCMVisit)+"-") {
				visit = sv.ID
				if sv.Status == care.ServiceCancelled && cancelledBy == "" {
					cancelledBy = st.Event.Action
				}
			}
		}
	}
	require.NotEmpty(t, visit, "the discharge booked a post-discharge visit")
	require.Equal(t, "close", cancelledBy, "only closing the case cancelled the visit, not the re-plan")
	require.Contains(t, r.eventSummary("plan", 2), "plan v2")
}
