package workflows_test

// Coordination fixes found by a review pass: inquiry-refused,
// cancel-booking-in-flight, booking-in-period.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

func pendedThenInquiryFails(s *serviceEnv, inquiryErr error) {
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: "pa-1"}, nil
	}
	s.inquire = func(int, time.Time) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{}, inquiryErr
	}
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 30*day) // a new plan, eventually
	s.run()
}

var (
	inquiryRefused = temporal.NewNonRetryableApplicationError(
		"payer inquire: 404 Not Found", activities.ErrTypePayerRejected, nil, "no prior-authorization request")
	inquiryOutsideProtocol = temporal.NewNonRetryableApplicationError(
		"payer protocol error in decision: a denial without a reason", activities.ErrTypePayerProtocol, nil)
)

// The payer forgets a pended request and answers the inquiry 404 (a
// non-retryable PayerRejected): the authorization is rejected with a staff
// item, as for a refused submission, and the coordination ends without
// failing.
func TestAnInquiryThePayerRefusesBecomesAStaffItem(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	pendedThenInquiryFails(s, inquiryRefused)
	require.NoError(t, s.env.GetWorkflowError())
	u := s.last()
	require.Equal(t, care.AuthorizationRejected, u.State.Authorization.Status)
	require.Equal(t, care.ServiceNeedsStaff, u.State.Status)
	require.Equal(t, "pt: the payer refused the inquiry about authorization request pa-1", u.Summary)
	require.Equal(t, "Physiotherapy: the payer refused the inquiry about authorization request pa-1 (no prior-authorization request); check the plan and the client's coverage", u.NeedsStaff)
	require.Empty(t, s.bookings)
}

// A pended request later denied without a reason is a protocol error:
// rejected with a staff item, as when the submission's answer is.
func TestAnInquiryOutsideTheProtocolBecomesAStaffItem(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	pendedThenInquiryFails(s, inquiryOutsideProtocol)
	require.NoError(t, s.env.GetWorkflowError())
	u := s.last()
	require.Equal(t, care.AuthorizationRejected, u.State.Authorization.Status)
	require.Equal(t, care.ServiceNeedsStaff, u.State.Status)
	require.Contains(t, u.NeedsStaff, "the payer's answer was not a valid decision (payer protocol error in decision: a denial without a reason)")
}

// A refused submission still reads as it did (shared helper).
func TestASubmissionThePayerRefusesStillBecomesAStaffItem(t *testing.T) {
	s := newServiceEnv(t, physio, false)
	s.submit = func(int, care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{}, inquiryRefused
	}
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	u := s.last()
	require.Equal(t, care.AuthorizationRejected, u.State.Authorization.Status)
	require.Equal(t, "pt: the payer refused the authorization request", u.Summary)
	require.Equal(t, "Physiotherapy: the payer refused the authorization request (no prior-authorization request); check the plan and the client's coverage", u.NeedsStaff)
}

// Before inquiry-refused, such an inquiry failed the coordination.
func TestAnInquiryRefusedBeforeInquiryRefusedFailsTheCoordination(t *testing.T) {
	for _, err := range []error{inquiryRefused, inquiryOutsideProtocol} {
		s := newServiceEnv(t, physio, false)
		s.env.OnGetVersion("inquiry-refused", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		s.env.OnGetVersion("failure-reported", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion) // as old as it
		pendedThenInquiryFails(s, err)
		werr := s.env.GetWorkflowError()
		require.Error(t, werr)
		require.False(t, temporal.IsCanceledError(werr), "%v", werr)
		require.Equal(t, care.ServiceAuthorizationPended, s.last().State.Status)
	}
}

// bookingLostThenCancelled: the first BookAppointment attempt commits the
// appointment but its answer is lost; a plan change cancels the
// coordination during the retry's backoff.
func bookingLostThenCancelled(t *testing.T) (*serviceEnv, map[string]bool) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	booked := map[string]bool{} // what the store holds, by key
	s.book = func(r care.BookingRequest) error {
		if !booked["ap-ot-1-1"] {
			booked["ap-ot-1-1"] = true                  // committed ...
			return errors.New("driver: bad connection") // ... answer lost
		}
		return nil
	}
	s.env.OnActivity(acts.AppointmentByKey, mock.Anything, mock.Anything).Return(
		func(_ context.Context, k care.BookingKey) (care.Appointment, error) {
			id := fmt.Sprintf("ap-%s-%d-%d", k.ServiceID, k.Occurrence, k.Attempt)
			if !booked[id] {
				return care.Appointment{}, temporal.NewNonRetryableApplicationError("no appointment under "+k.String(), activities.ErrTypeNotFound, nil)
			}
			return care.Appointment{ID: id, CaseID: k.CaseID, ServiceID: k.ServiceID, Occurrence: k.Occurrence, Attempt: k.Attempt,
				ProviderID: "prov-1", StartsAt: serviceStart.Add(3 * day), Status: care.AppointmentBooked}, nil
		})
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 500*time.Millisecond) // during the retry's backoff
	s.run()
	require.True(t, temporal.IsCanceledError(s.env.GetWorkflowError()), "%v", s.env.GetWorkflowError())
	require.True(t, booked["ap-ot-1-1"])
	return s, booked
}

// Cancelled while its booking is being retried, the coordination looks the
// booking up by its key and cancels the appointment the lost attempt made.
func TestACancelledCoordinationCancelsTheBookingInFlight(t *testing.T) {
	s, _ := bookingLostThenCancelled(t)
	require.Equal(t, []string{"ap-ot-1-1"}, s.cancelled)
	u := s.last()
	require.Equal(t, care.ServiceCancelled, u.State.Status)
	require.Equal(t, care.AppointmentCancelled, u.State.Appointment.Status)
}

// Cancelled while a booking that made nothing is retried: nothing to cancel.
func TestACancelledCoordinationWithNothingBookedCancelsNothing(t *testing.T) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	s.book = func(care.BookingRequest) error { return errors.New("driver: bad connection") }
	s.env.OnActivity(acts.AppointmentByKey, mock.Anything, mock.Anything).Return(care.Appointment{},
		temporal.NewNonRetryableApplicationError("no appointment", activities.ErrTypeNotFound, nil))
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 500*time.Millisecond)
	s.run()
	require.True(t, temporal.IsCanceledError(s.env.GetWorkflowError()), "%v", s.env.GetWorkflowError())
	require.Empty(t, s.cancelled)
	require.Equal(t, care.ServiceCancelled, s.last().State.Status)
	require.Nil(t, s.last().State.Appointment)
}

// Before cancel-booking-in-flight, that appointment stayed booked.
func TestABookingInFlightBeforeCancelBookingInFlightStaysBooked(t *testing.T) {
	s := newServiceEnv(t, care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy"}, false)
	s.env.OnGetVersion("cancel-booking-in-flight", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.book = func(care.BookingRequest) error { return errors.New("driver: bad connection") }
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 500*time.Millisecond)
	s.run()
	require.True(t, temporal.IsCanceledError(s.env.GetWorkflowError()), "%v", s.env.GetWorkflowError())
	require.Empty(t, s.cancelled)
	require.Equal(t, care.ServiceCancelled, s.last().State.Status)
}

// approvedFor approves the request for a period ending at validTo, and
// books like the store: the stub's slot (3 days into the window) only
// when it starts inside the window asked for.
func approvedFor(s *serviceEnv, validTo time.Time) {
	s.submit = func(n int, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
		return care.AuthorizationDecision{Status: care.AuthorizationApproved, RequestID: fmt.Sprintf("r%d", n), AuthorizationNumber: fmt.Sprintf("AUTH-%d", n),
			ValidFrom: r.PeriodStart, ValidTo: validTo}, nil
	}
	s.book = func(r care.BookingRequest) error {
		if !r.From.Add(3 * day).Before(r.To) {
			return temporal.NewNonRetryableApplicationError("no free slot", activities.ErrTypeNoSlot, nil)
		}
		return nil
	}
}

// An approval covers a period: the booking that follows it stays in it,
// never past the approval's end.
func TestABookingStaysWithinTheApprovedPeriod(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	validTo := serviceStart.Add(5 * day)
	approvedFor(s, validTo)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 30*day)
	s.run()
	require.NotEmpty(t, s.bookings)
	require.Equal(t, validTo, s.bookings[0].To, "the window ends with the approval")
	var booked int
	for _, u := range s.updates {
		a, ap := u.State.Authorization, u.State.Appointment
		if u.State.Status != care.ServiceBooked || a == nil || ap == nil {
			continue
		}
		booked++
		require.False(t, ap.StartsAt.After(a.ValidTo), "%s: appointment at %s, authorization %s valid to %s",
			u.Summary, ap.StartsAt.UTC().Format(time.RFC3339), a.Number, a.ValidTo.UTC().Format(time.RFC3339))
	}
	require.NotZero(t, booked)
}

// An approval too short to book in (the slot is 3 days away, the approval
// ends in 2): no booking outside it; once no time of it is left, staff get
// an item.
func TestAnApprovedPeriodWithNoBookableTimeBecomesAStaffItem(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	validTo := serviceStart.Add(2 * day)
	approvedFor(s, validTo)
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 30*day)
	s.run()
	require.NoError(t, s.env.GetWorkflowError())
	require.Empty(t, s.bookings)
	u := s.last()
	require.Equal(t, care.ServiceNeedsStaff, u.State.Status)
	require.Contains(t, u.NeedsStaff, "the authorization period (2026-12-01 to 2026-12-03) has no bookable time left for occurrence 1")
	var noSlot string
	for _, u := range s.updates {
		if u.State.Status == care.ServiceNoSlot {
			noSlot = u.NeedsStaff
		}
	}
	require.Contains(t, noSlot, "no free slot in the authorized period (until 2026-12-03)")
}

// Before booking-in-period, the booking took the whole window, past the
// approval's end.
func TestABookingBeforeBookingInPeriodTakesTheWholeWindow(t *testing.T) {
	s := newServiceEnv(t, physio, true)
	s.env.OnGetVersion("booking-in-period", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	validTo := serviceStart.Add(2 * day)
	approvedFor(s, validTo)
	s.attend(4*day, "ap-pt-1-1", "attended")
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 30*day)
	s.run()
	require.NotEmpty(t, s.bookings)
	require.Equal(t, serviceStart.Add(14*day), s.bookings[0].To)
	require.True(t, s.updates[1].State.Appointment.StartsAt.After(validTo))
}
