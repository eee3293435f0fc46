package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

// ServiceWorkflow coordinates one planned service of a case, occurrence by
// occurrence: prior authorization when the insurer requires it (waiting out
// a pended decision without holding a worker, escalating past the
// regulatory deadline, re-authorizing before an approval lapses), booking
// the earliest free slot, reminders at the policy offsets, and the
// attendance staff record (a no-show or cancellation is rebooked up to the
// policy limit). It reports every step to its case with a signal.
func ServiceWorkflow(ctx workflow.Context, in ServiceInput) error {
	s := &serviceRun{in: in, attendance: workflow.GetSignalChannelWithOptions(ctx, SignalAttendance,
		workflow.SignalChannelOptions{Description: "Attendance of an appointment, recorded by staff through the case"})}
	if p := in.Progress; p != nil {
		s.progress = *p
	} else {
		// Version 1 keys every payer request and booking by plan version,
		// takes amendments, appeals and manual bookings from its case, and
		// runs the authorization deadline from the payer's acceptance.
		s.progress.Version = workflow.GetVersion(ctx, versionServiceAmend, workflow.DefaultVersion, 1)
		s.progress = ServiceProgress{
			State:      care.ServiceState{Service: in.Service, Status: care.ServiceReadyToBook},
			Occurrence: 1, Attempt: 1, From: workflow.Now(ctx), Version: s.progress.Version,
		}
		if s.progress.Version >= 1 {
			s.progress.State.PlanVersion = in.PlanVersion
		}
		if in.Service.RequiresAuthorization {
			s.progress.State.Status = care.ServicePendingAuthorization
		}
	}
	if err := s.registerQuery(ctx); err != nil {
		return err
	}
	if s.versioned() {
		s.amend = workflow.GetSignalChannelWithOptions(ctx, SignalAmend,
			workflow.SignalChannelOptions{Description: "A change of the service's cadence (a new plan or a change of level)"})
		s.appeal = workflow.GetSignalChannelWithOptions(ctx, SignalAppeal,
			workflow.SignalChannelOptions{Description: "An appeal of the denied authorization, from staff through the case"})
		s.manual = workflow.GetSignalChannelWithOptions(ctx, SignalBook,
			workflow.SignalChannelOptions{Description: "A slot staff chose when no free slot was found"})
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	err := s.run(ctx)
	if temporal.IsCanceledError(err) {
		return s.cancelled(ctx)
	}
	if err != nil && !workflow.IsContinueAsNewError(err) &&
		workflow.GetVersion(ctx, versionFailureReported, workflow.DefaultVersion, 1) == 1 {
		s.failed(ctx, err)
	}
	return err
}

// versionFailureReported: a coordination that fails on an error it does
// not handle (a booking the store refuses, a reminder it cannot schedule)
// reports it to its case as needing staff before it fails. Before, it
// failed without a word, and the case, which does not wait for it, kept
// its last status ("booked", "pended") with no work item. Asked only when
// the coordination fails.
const versionFailureReported = "failure-reported"

// failed tells the case that its coordination stopped on err, by the
// error's kind only (its text can quote a payer or the database).
func (s *serviceRun) failed(ctx workflow.Context, err error) {
	p, svc := &s.progress, s.in.Service
	kind := "an unexpected error"
	var appErr *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr) && appErr.Type() != "":
		kind = appErr.Type()
	case errors.As(err, &timeout):
		kind = "a timeout (" + timeout.TimeoutType().String() + ")"
	}
	p.State.Status = care.ServiceNeedsStaff
	s.report(ctx, fmt.Sprintf("%s: coordination failed on %s", svc.ID, kind),
		fmt.Sprintf("%s: the coordination stopped on %s (the service's workflow %s has the details): fix the cause, then approve the plan again to start it again",
			svc.Name, kind, workflow.GetInfo(ctx).WorkflowExecution.ID), "")
}

type serviceRun struct {
	in         ServiceInput
	progress   ServiceProgress
	attendance workflow.ReceiveChannel
	// Version 1 only: amendments, appeals and manual bookings.
	amend, appeal, manual workflow.ReceiveChannel
	// booking is the key of a BookAppointment this run scheduled that has
	// not answered: cancelled while it was running or being retried, it
	// may have booked (change cancel-booking-in-flight).
	booking *care.BookingKey
}

// versioned reports whether this coordination runs version 1 of
// versionServiceAmend.
func (s *serviceRun) versioned() bool { return s.progress.Version >= 1 }

func (s *serviceRun) state() *care.ServiceState { return &s.progress.State }

func (s *serviceRun) run(ctx workflow.Context) error {
	p := &s.progress
	svc := s.in.Service
	for p.Occurrence <= svc.Total() {
		if s.versioned() {
			s.takeAmendments(ctx)
			svc = s.in.Service
			if p.Occurrence > svc.Total() {
				break
			}
		}
		info := workflow.GetInfo(ctx)
		if info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= ContinueAsNewAfterEvents {
			in := s.in
			progress := s.progress
			in.Progress = &progress
			return workflow.NewContinueAsNewError(ctx, ServiceWorkflow, in)
		}
		if svc.RequiresAuthorization && (s.needsAuthorization(workflow.Now(ctx)) || p.Reauthorize) {
			p.Reauthorize = false
			ok, err := s.authorize(ctx, "", "")
			for err == nil && !ok && s.versioned() && p.State.Status == care.ServiceAuthorizationDenied {
				// Wait for an appeal (or a new plan, which cancels this).
				var ap care.Appeal
				if ap, err = s.awaitAppeal(ctx); err == nil {
					ok, err = s.authorize(ctx, p.State.Authorization.RequestID, ap.Notes)
				}
			}
			if err != nil || !ok {
				return err
			}
			svc = s.in.Service
		}
		appt, before, err := s.book(ctx)
		if errors.Is(err, errNoAuthorizedTime) {
			return nil // reported, with a staff item
		}
		if err != nil {
			return err
		}
		outcome := appt.Status // booked before: what became of it
		if !before {
			if outcome, err = s.remindAndAttend(ctx, appt); err != nil {
				return err
			}
		}
		if outcome == care.AppointmentAttended {
			p.State.Attended++
			p.Occurrence++
			p.Attempt = 1
			if s.versioned() {
				// The next occurrence follows the cadence as amended by now.
				s.takeAmendments(ctx)
				svc = s.in.Service
			}
			interval := svc.Interval()
			p.From = appt.StartsAt.Add(interval - interval/7)
			continue
		}
		p.Attempt++
		p.From = workflow.Now(ctx)
		if p.Attempt > s.in.Policy.Appointments.MaxRebookings+1 {
			p.State.Status = care.ServiceNeedsStaff
			s.report(ctx, fmt.Sprintf("%s: %s after %d bookings of occurrence %d; not rebooked again", svc.ID, outcome, p.Attempt-1, p.Occurrence),
				fmt.Sprintf("%s: repeated %s of occurrence %d: talk to the client and rebook or change the plan", svc.Name, outcome, p.Occurrence), "")
			return nil
		}
	}
	p.State.Status = care.ServiceCompleted
	p.State.Appointment = nil
	s.report(ctx, fmt.Sprintf("%s: all %d occurrences attended", svc.ID, svc.Total()), "", "")
	return nil
}

// needsAuthorization reports whether the service needs a (new)
// authorization before its next booking: none yet, or the approval ends
// before the next booking window does (re-authorize before it lapses).
func (s *serviceRun) needsAuthorization(now time.Time) bool {
	a := s.state().Authorization
	if a == nil || a.Status != care.AuthorizationApproved {
		return true
	}
	windowEnd := maxTime(now, s.progress.From).Add(s.bookingWindow())
	return !a.ValidTo.After(windowEnd) || !now.Before(a.ValidTo.Add(-s.in.Policy.Authorization.ReauthorizeBefore.D()))
}

// authorize asks the payer for a prior authorization and waits for its
// decision, racing the regulatory deadline. It reports false when denied.
// An appeal sets related (the denied request's id) and its notes.
func (s *serviceRun) authorize(ctx workflow.Context, related, notes string) (bool, error) {
	p, pol, svc := &s.progress, s.in.Policy.Authorization, s.in.Service
	now := workflow.Now(ctx)
	p.AuthRound++
	urgency, within := care.UrgencyStandard, pol.Standard.D()
	if s.in.Expedited {
		urgency, within = care.UrgencyExpedited, pol.Expedited.D()
	}
	remaining := time.Duration(svc.Total()-p.Occurrence+1) * svc.Interval()
	req := care.AuthorizationRequest{
		RequestKey: care.AuthorizationRequestKey(s.in.CaseID, svc.ID, p.AuthRound), CaseID: s.in.CaseID, PatientID: s.in.PatientID,
		ServiceCode: svc.Code, Urgency: urgency, PeriodStart: now, PeriodEnd: now.Add(remaining + s.bookingWindow()),
	}
	if s.versioned() {
		req.RequestKey = care.AuthorizationRequestKeyFor(s.in.CaseID, svc.ID, s.in.PlanVersion, p.AuthRound)
		req.Related, req.Notes = related, notes
		// Version 1: the key names the period's start too, so that a
		// request a reset sends again later is not refused as a used key.
		if workflow.GetVersion(ctx, versionRequestKeyPeriod, workflow.DefaultVersion, 1) == 1 {
			req.RequestKey = care.AuthorizationRequestKeyAt(s.in.CaseID, svc.ID, s.in.PlanVersion, p.AuthRound, req.PeriodStart)
		}
	}
	auth := &care.AuthorizationState{Status: care.AuthorizationPended, SubmittedAt: now, DeadlineAt: now.Add(within), Expedited: s.in.Expedited}
	p.State.Authorization = auth
	what := "submit " + string(urgency) + " authorization for " + svc.Code
	if related != "" {
		what = "submit " + string(urgency) + " appeal for " + svc.Code
	}
	var d care.AuthorizationDecision
	if err := s.executePayer(ctx, what, a.SubmitAuthorization, &d, req); err != nil {
		if (s.versioned() && isApplicationError(err, activities.ErrTypePayerProtocol)) || isApplicationError(err, activities.ErrTypePayerRejected) {
			s.payerRefused(ctx, auth, "the authorization request", err)
			return false, nil
		}
		return false, err
	}
	if s.versioned() {
		// The deadline and its escalation run from the submission the payer
		// accepted, not from the first attempt to send it.
		accepted := workflow.Now(ctx)
		auth.SubmittedAt, auth.DeadlineAt, auth.Related = accepted, accepted.Add(within), related
		if s.in.Exempt {
			auth.DeadlineAt, auth.Exempt = time.Time{}, true
		}
	}
	var deadline workflow.Future
	if !auth.Exempt {
		deadline = workflow.NewTimerWithOptions(ctx, within, workflow.TimerOptions{Summary: care.FormatDuration(within) + " authorization deadline for " + svc.Code})
	}
	poll := pollInterval(within)
	// Version 1 backs off from a short first inquiry (most pended requests
	// are decided within minutes) up to the cap, instead of starting at it.
	if workflow.GetVersion(ctx, versionAuthorizationBackoff, workflow.DefaultVersion, 1) == 1 {
		poll = min(firstInquiry, poll)
	}
	maxPoll := pollInterval(within)
	for d.Status == care.AuthorizationPended {
		auth.RequestID = d.RequestID
		if p.State.Status != care.ServiceAuthorizationPended {
			p.State.Status = care.ServiceAuthorizationPended
			s.report(ctx, fmt.Sprintf("%s: authorization pended (request %s, decision due by %s)", svc.ID, d.RequestID, auth.DeadlineAt.UTC().Format(time.RFC3339)), "", "")
		}
		inquire := false
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimerWithOptions(timerCtx, poll, workflow.TimerOptions{Summary: "inquire about the pended " + svc.Code + " authorization " + d.RequestID}), func(workflow.Future) { inquire = true })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {}) // cancelled by the case
		if !auth.Escalated && deadline != nil {
			sel.AddFuture(deadline, func(workflow.Future) {
				auth.Escalated = true
				s.report(ctx, fmt.Sprintf("%s: authorization still pended at its %s deadline; escalated", svc.ID, care.FormatDuration(within)), "",
					fmt.Sprintf("the payer has not decided the %s authorization of %s within %s", urgency, svc.Name, care.FormatDuration(within)))
			})
		}
		sel.Select(ctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if !inquire {
			continue
		}
		poll = min(poll*2, maxPoll)
		if err := s.executePayer(ctx, "inquire about the authorization of "+svc.Code, a.InquireAuthorization, &d, d.RequestID); err != nil {
			// Version 1: a refused inquiry (the payer no longer knows the
			// request) or one answered outside the protocol (a denial
			// without a reason) is handled as the submission's is. Before,
			// it failed the coordination, and the case, which abandons it,
			// kept showing "pended" with no work item.
			if (isApplicationError(err, activities.ErrTypePayerProtocol) || isApplicationError(err, activities.ErrTypePayerRejected)) &&
				workflow.GetVersion(ctx, versionInquiryRefused, workflow.DefaultVersion, 1) == 1 {
				s.payerRefused(ctx, auth, "the inquiry about authorization request "+auth.RequestID, err)
				return false, nil
			}
			return false, err
		}
	}
	auth.RequestID, auth.Status = d.RequestID, d.Status
	if s.versioned() {
		auth.DecidedAt = d.DecidedAt
	}
	if d.Status == care.AuthorizationDenied {
		auth.Reason = d.DenialReason
		p.State.Status = care.ServiceAuthorizationDenied
		if s.versioned() {
			s.report(ctx, fmt.Sprintf("%s: authorization denied (request %s): %s", svc.ID, d.RequestID, d.DenialReason),
				fmt.Sprintf("%s: authorization denied (%s): appeal with \"caseflow case appeal %s %s --notes ...\" or change the plan", svc.Name, d.DenialReason, s.in.CaseID, svc.ID), "")
			return false, nil
		}
		s.report(ctx, fmt.Sprintf("%s: authorization denied: %s", svc.ID, d.DenialReason),
			fmt.Sprintf("%s: authorization denied (%s): appeal or change the plan", svc.Name, d.DenialReason), "")
		return false, nil
	}
	auth.Number, auth.ValidFrom, auth.ValidTo = d.AuthorizationNumber, d.ValidFrom, d.ValidTo
	p.State.Status = care.ServiceReadyToBook
	s.report(ctx, fmt.Sprintf("%s: authorized (%s, valid until %s)", svc.ID, d.AuthorizationNumber, d.ValidTo.UTC().Format(time.DateOnly)), "", "")
	return true, nil
}

// payerRefused records a payer's answer that is no decision: a refusal
// (PayerRejected, 4xx) or an answer outside the protocol
// (PayerProtocolError, e.g. a denial without a reason). The authorization
// is rejected, never left pended, and staff get an item. what names the
// call the payer answered so: the authorization request, or an inquiry.
func (s *serviceRun) payerRefused(ctx workflow.Context, auth *care.AuthorizationState, what string, err error) {
	p, svc := &s.progress, s.in.Service
	auth.Status = care.AuthorizationRejected
	p.State.Status = care.ServiceNeedsStaff
	if isApplicationError(err, activities.ErrTypePayerProtocol) {
		s.report(ctx, fmt.Sprintf("%s: the payer answered outside the protocol (%s); no decision", svc.ID, applicationMessage(err)),
			fmt.Sprintf("%s: the payer's answer was not a valid decision (%s): ask the payer for a decision with its reason", svc.Name, applicationMessage(err)), "")
		return
	}
	why := ""
	var appErr *temporal.ApplicationError
	var diagnostics string
	if errors.As(err, &appErr) && appErr.Details(&diagnostics) == nil && diagnostics != "" {
		why = " (" + diagnostics + ")" // the payer's words: in encrypted payloads only
	}
	s.report(ctx, fmt.Sprintf("%s: the payer refused %s", svc.ID, what),
		fmt.Sprintf("%s: the payer refused %s%s; check the plan and the client's coverage", svc.Name, what, why), "")
}

// versionPayerTaskQueue: the payer's activities (SubmitAuthorization,
// InquireAuthorization) run on the payer's own task queue
// (PayerTaskQueue), whose workers the Temporal server holds to the
// insurer's rate; before, they ran on the case's task queue.
const versionPayerTaskQueue = "payer-task-queue"

// PayerTaskQueue is the task queue of the payer's activities of cases on
// taskQueue: caseflow-worker runs a second worker on it with only those
// activities and TaskQueueActivitiesPerSecond set to the insurer's quota.
func PayerTaskQueue(taskQueue string) string { return taskQueue + "-payer" }

// executePayer runs an activity that calls the insurer, as execute does:
// from version 1 of versionPayerTaskQueue on, on the payer's task queue,
// derived from the one this workflow runs on. A history recorded before
// keeps the case's task queue, where caseflow-worker still registers the
// activities. The version is recorded once, at the first payer call of a
// run.
func (s *serviceRun) executePayer(ctx workflow.Context, summary string, activity, result any, args ...any) error {
	opts := activityOptions
	opts.Summary = summary
	if workflow.GetVersion(ctx, versionPayerTaskQueue, workflow.DefaultVersion, 1) == 1 {
		opts.TaskQueue = PayerTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, args...).Get(ctx, result)
}

// firstInquiry is the first wait before inquiring about a pended
// authorization; the waits then double up to pollInterval.
const firstInquiry = 30 * time.Second

// pollInterval is the longest wait between inquiries about a pended
// authorization: a twentieth of the deadline, between 5 seconds and 6
// hours.
func pollInterval(deadline time.Duration) time.Duration {
	return min(max(deadline/20, 5*time.Second), 6*time.Hour)
}

func (s *serviceRun) bookingWindow() time.Duration {
	if w := s.in.Policy.Appointments.BookingWindow.D(); w > 0 {
		return w
	}
	return 14 * 24 * time.Hour
}

// book books the earliest free slot in the booking window, waiting and
// trying again while none is free. before is true when the booking's key
// already held an appointment that is no longer booked (change
// booked-before): the booking was made, and ended, before a reset re-ran
// it.
func (s *serviceRun) book(ctx workflow.Context) (appt care.Appointment, before bool, err error) {
	p, svc := &s.progress, s.in.Service
	reported := false
	for {
		now := workflow.Now(ctx)
		from := maxTime(now, p.From)
		req := care.BookingRequest{
			Key:         care.BookingKey{CaseID: s.in.CaseID, ServiceID: svc.ID, Occurrence: p.Occurrence, Attempt: p.Attempt},
			ServiceCode: svc.Code, From: from, To: from.Add(s.bookingWindow()),
		}
		if s.versioned() {
			req.Key.PlanVersion = s.in.PlanVersion
		}
		window := "the next " + care.FormatDuration(s.bookingWindow())
		if inFrom, inTo, ok := s.inApprovedPeriod(ctx, req.From, req.To); ok {
			// Version 1 (booking-in-period): within the approval's period
			// only; before, the whole window, past the approval's end.
			req.From, req.To = inFrom, inTo
			window = "the authorized period (until " + inTo.UTC().Format(time.DateOnly) + ")"
			if !req.To.After(req.From) {
				p.State.Status = care.ServiceNeedsStaff
				auth := s.state().Authorization
				period := auth.ValidFrom.UTC().Format(time.DateOnly) + " to " + auth.ValidTo.UTC().Format(time.DateOnly)
				s.report(ctx, fmt.Sprintf("%s: authorization %s (valid %s) leaves no time to book occurrence %d; not booked", svc.ID, auth.Number, period, p.Occurrence),
					fmt.Sprintf("%s: the authorization period (%s) has no bookable time left for occurrence %d: ask the payer to extend it or change the plan", svc.Name, period, p.Occurrence), "")
				return appt, false, errNoAuthorizedTime
			}
		}
		err := s.executeBooking(ctx, fmt.Sprintf("book %s, occurrence %d%s", svc.Code, p.Occurrence, attemptNote(p.Attempt)), &appt, req)
		if err == nil && s.bookedBefore(ctx, appt) {
			return appt, true, nil
		}
		if err == nil {
			p.State.Status = care.ServiceBooked
			p.State.Appointment = &care.AppointmentRef{ID: appt.ID, Occurrence: appt.Occurrence, Attempt: appt.Attempt,
				ProviderID: appt.ProviderID, StartsAt: appt.StartsAt, Status: appt.Status}
			s.report(ctx, fmt.Sprintf("%s: occurrence %d booked with %s for %s (%s)", svc.ID, p.Occurrence, appt.ProviderID,
				appt.StartsAt.UTC().Format(time.RFC3339), appt.ID), "", "")
			return appt, false, nil
		}
		if !isApplicationError(err, activities.ErrTypeNoSlot) {
			return appt, false, err
		}
		if !reported {
			reported = true
			p.State.Status = care.ServiceNoSlot
			byHand := "book by hand"
			if s.versioned() {
				byHand = fmt.Sprintf("book by hand with \"caseflow case book %s %s --slot <id>\"", s.in.CaseID, svc.ID)
			}
			s.report(ctx, fmt.Sprintf("%s: no free slot between %s and %s", svc.ID, req.From.UTC().Format(time.DateOnly), req.To.UTC().Format(time.DateOnly)),
				fmt.Sprintf("%s: no free slot in %s; add provider slots (caseflow providers load) or %s", svc.Name, window, byHand), "")
		}
		retry := s.in.Policy.Appointments.NoSlotRetry.D()
		if retry <= 0 {
			retry = 24 * time.Hour
		}
		timer := workflow.NewTimerWithOptions
		if !s.versioned() {
			if err := timer(ctx, retry, workflow.TimerOptions{Summary: "look for a free " + svc.Code + " slot again"}).Get(ctx, nil); err != nil {
				return appt, false, err
			}
			continue
		}
		var chosen *care.ManualBooking
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer(timerCtx, retry, workflow.TimerOptions{Summary: "look for a free " + svc.Code + " slot again"}), func(workflow.Future) {})
		sel.AddReceive(s.manual, func(c workflow.ReceiveChannel, _ bool) {
			var b care.ManualBooking
			c.Receive(ctx, &b)
			chosen = &b
		})
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return appt, false, err
		}
		if chosen == nil {
			continue
		}
		req.SlotID = chosen.SlotID
		err = s.executeBooking(ctx, "book "+svc.Code+" slot chosen by staff", &appt, req)
		if err == nil && s.bookedBefore(ctx, appt) {
			return appt, true, nil
		}
		if err == nil {
			p.State.Status = care.ServiceBooked
			p.State.Appointment = &care.AppointmentRef{ID: appt.ID, Occurrence: appt.Occurrence, Attempt: appt.Attempt,
				ProviderID: appt.ProviderID, StartsAt: appt.StartsAt, Status: appt.Status}
			s.report(ctx, fmt.Sprintf("%s: occurrence %d booked by hand on slot %s with %s for %s (%s)", svc.ID, p.Occurrence, chosen.SlotID, appt.ProviderID,
				appt.StartsAt.UTC().Format(time.RFC3339), appt.ID), "", "")
			return appt, false, nil
		}
		if !isApplicationError(err, activities.ErrTypeNoSlot) && !isApplicationError(err, activities.ErrTypeNotFound) && !isApplicationError(err, activities.ErrTypeInvalid) {
			return appt, false, err
		}
		s.report(ctx, fmt.Sprintf("%s: slot %s could not be booked (%s)", svc.ID, chosen.SlotID, applicationMessage(err)),
			fmt.Sprintf("%s: slot %s could not be booked (%s); choose another free slot (caseflow providers slots)", svc.Name, chosen.SlotID, applicationMessage(err)), "")
	}
}

// errNoAuthorizedTime ends a coordination whose approval's period leaves
// no time to book in (change booking-in-period); staff have an item.
var errNoAuthorizedTime = errors.New("the authorization period has no bookable time")

// inApprovedPeriod clips a booking window [from, to) to the period of the
// service's approval, for a service that needs authorization. ok is false
// (book the window as it is) when the service needs none, the period
// covers the window, or the coordination runs from before change
// booking-in-period, which is asked only when the period cuts the window.
func (s *serviceRun) inApprovedPeriod(ctx workflow.Context, from, to time.Time) (inFrom, inTo time.Time, ok bool) {
	auth := s.state().Authorization
	if !s.in.Service.RequiresAuthorization || auth == nil || auth.Status != care.AuthorizationApproved || auth.ValidTo.IsZero() ||
		(!auth.ValidFrom.After(from) && !auth.ValidTo.Before(to)) ||
		workflow.GetVersion(ctx, versionBookingInPeriod, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return from, to, false
	}
	return maxTime(from, auth.ValidFrom), minTime(to, auth.ValidTo), true
}

// executeBooking runs BookAppointment and keeps its key in s.booking
// until it answers: a cancellation of the coordination meanwhile (a new
// plan, the case closed) leaves it set, since an attempt may have
// committed the appointment without its answer reaching the workflow.
// Keeping it emits no command.
func (s *serviceRun) executeBooking(ctx workflow.Context, summary string, appt *care.Appointment, req care.BookingRequest) error {
	key := req.Key
	s.booking = &key
	err := s.execute(ctx, summary, a.BookAppointment, appt, req)
	if !temporal.IsCanceledError(err) {
		s.booking = nil
	}
	return err
}

// bookedBefore reports whether appt, what BookAppointment answered, is an
// appointment booked under the same key before and no longer booked: a
// reset of this workflow replayed the occurrence and attempt counters and
// re-ran a booking whose appointment has since been attended, missed or
// cancelled. Under change booked-before the service reports it and takes
// its outcome; before it, the appointment was reported booked.
func (s *serviceRun) bookedBefore(ctx workflow.Context, appt care.Appointment) bool {
	if appt.Status == care.AppointmentBooked || appt.Status == "" ||
		workflow.GetVersion(ctx, versionBookedBefore, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	p, svc := &s.progress, s.in.Service
	p.State.Appointment = &care.AppointmentRef{ID: appt.ID, Occurrence: appt.Occurrence, Attempt: appt.Attempt,
		ProviderID: appt.ProviderID, StartsAt: appt.StartsAt, Status: appt.Status}
	summary := fmt.Sprintf("%s: occurrence %d%s was booked before (%s, %s): a reset re-ran its booking, which keeps that outcome",
		svc.ID, p.Occurrence, attemptNote(p.Attempt), appt.ID, appt.Status)
	if appt.Status != care.AppointmentAttended && p.Attempt <= s.in.Policy.Appointments.MaxRebookings {
		summary += "; rebooking"
	}
	s.report(ctx, summary, "", "")
	return true
}

// remindAndAttend sends the appointment's reminders at their due times until
// staff record its attendance, and returns it: attended, no-show or
// cancelled.
func (s *serviceRun) remindAndAttend(ctx workflow.Context, appt care.Appointment) (care.AppointmentStatus, error) {
	p, svc := &s.progress, s.in.Service
	var reminders []care.Reminder
	if err := s.execute(ctx, "schedule "+svc.Code+" reminders for "+appt.ID, a.ScheduleReminders, &reminders,
		care.ReminderRequest{AppointmentID: appt.ID, Offsets: durations(s.in.Policy.Appointments.ReminderOffsets)}); err != nil {
		return "", err
	}
	var pending []care.Reminder
	for _, r := range reminders {
		if r.Status == care.ReminderPending {
			pending = append(pending, r)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].DueAt.Before(pending[j].DueAt) })
	// Version 1: an appointment whose start passed a grace period ago with
	// no attendance recorded gives staff a "record attendance" item.
	askedForAttendance := !s.versioned()
	for {
		var att *care.Attendance
		var due *care.Reminder
		overdue := false
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		if !askedForAttendance {
			wait := max(appt.StartsAt.Add(s.attendanceGrace()).Sub(workflow.Now(ctx)), 0)
			sel.AddFuture(workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: "ask staff to record the attendance of " + appt.ID}),
				func(workflow.Future) { overdue = true })
		}
		if len(pending) > 0 {
			r := pending[0]
			wait := max(r.DueAt.Sub(workflow.Now(ctx)), 0)
			sel.AddFuture(workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: fmt.Sprintf("%s reminder for %s", care.FormatDuration(time.Duration(r.OffsetMinutes)*time.Minute), appt.ID)}),
				func(workflow.Future) { due = &r })
		}
		sel.AddReceive(s.attendance, func(c workflow.ReceiveChannel, _ bool) {
			var a care.Attendance
			c.Receive(ctx, &a)
			att = &a
		})
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {}) // cancelled by the case
		amended := false
		if s.versioned() {
			sel.AddReceive(s.amend, func(workflow.ReceiveChannel, bool) { amended = true })
		}
		sel.Select(ctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if amended {
			s.takeAmendments(ctx) // the booked appointment stays; the next one follows the new cadence
			continue
		}
		if overdue {
			askedForAttendance = true
			s.report(ctx, fmt.Sprintf("%s: no attendance recorded for %s %s after its start", svc.ID, appt.ID, care.FormatDuration(s.attendanceGrace())),
				fmt.Sprintf("%s: record attendance of appointment %s (%s): caseflow case appointment %s %s --attended (or --no-show)",
					svc.Name, appt.ID, appt.StartsAt.UTC().Format(time.RFC3339), s.in.CaseID, appt.ID), "")
			continue
		}
		if due != nil {
			pending = pending[1:]
			// Version 1 counts and records only what was sent; skipped and
			// cancelled reminders are recorded with their reason.
			if workflow.GetVersion(ctx, versionReminderOutcomes, workflow.DefaultVersion, 1) == 1 {
				if err := s.sendReminder(ctx, appt, *due); err != nil {
					return "", err
				}
				continue
			}
			offset := care.FormatDuration(time.Duration(due.OffsetMinutes) * time.Minute)
			err := s.execute(ctx, "send the "+offset+" reminder for "+appt.ID, a.SendReminder, nil, due.ID)
			switch {
			case err == nil:
				p.State.RemindersSent++
				s.report(ctx, fmt.Sprintf("%s: %s reminder sent for %s", svc.ID, offset, appt.ID), "", "")
			case isApplicationError(err, activities.ErrTypeNotifyRejected):
				s.report(ctx, fmt.Sprintf("%s: the notification gateway refused the %s reminder for %s", svc.ID, offset, appt.ID), "", "")
			default:
				return "", err
			}
			continue
		}
		if att.AppointmentID != appt.ID {
			continue // about an appointment this run no longer holds
		}
		var after care.Appointment
		var err error
		if att.Status == care.AppointmentCancelled {
			err = s.execute(ctx, fmt.Sprintf("cancel %s appointment %s, occurrence %d", svc.Code, appt.ID, p.Occurrence), a.CancelAppointment, &after, appt.ID)
		} else {
			err = s.execute(ctx, fmt.Sprintf("record %s %s, occurrence %d: %s", svc.Code, appt.ID, p.Occurrence, att.Status), a.RecordAttendance, &after, appt.ID, att.Status)
		}
		if err != nil {
			return "", err
		}
		p.State.Appointment.Status = att.Status
		summary := fmt.Sprintf("%s: occurrence %d %s (%s)", svc.ID, p.Occurrence, att.Status, appt.ID)
		if att.Status != care.AppointmentAttended && p.Attempt <= s.in.Policy.Appointments.MaxRebookings {
			summary += "; rebooking"
		}
		s.report(ctx, summary, "", "")
		return att.Status, nil
	}
}

// cancelled cleans up when the case cancels the service (a new plan, or the
// case closed): the booked appointment is cancelled, which cancels its
// pending reminders.
func (s *serviceRun) cancelled(ctx workflow.Context) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	p := &s.progress
	if appt := p.State.Appointment; appt != nil && appt.Status == care.AppointmentBooked {
		var after care.Appointment
		if err := s.execute(ctx, "cancel "+s.in.Service.Code+" appointment "+appt.ID+": coordination cancelled", a.CancelAppointment, &after, appt.ID); err != nil {
			return err
		}
		appt.Status = care.AppointmentCancelled
	} else if key := s.booking; key != nil && workflow.GetVersion(ctx, versionCancelBookingInFlight, workflow.DefaultVersion, 1) == 1 {
		// Version 1: a booking cancelled before it answered may have
		// committed; what its key holds is cancelled too, so it does not
		// keep the provider's slot for a cancelled service. Before, it
		// stayed booked.
		var found care.Appointment
		err := s.execute(ctx, fmt.Sprintf("look up the %s booking of occurrence %d%s: coordination cancelled", s.in.Service.Code, key.Occurrence, attemptNote(key.Attempt)),
			a.AppointmentByKey, &found, *key)
		switch {
		case isApplicationError(err, activities.ErrTypeNotFound):
			// nothing was booked
		case err != nil:
			return err
		case found.Status == care.AppointmentBooked:
			var after care.Appointment
			if err := s.execute(ctx, "cancel "+s.in.Service.Code+" appointment "+found.ID+": coordination cancelled", a.CancelAppointment, &after, found.ID); err != nil {
				return err
			}
			p.State.Appointment = &care.AppointmentRef{ID: found.ID, Occurrence: found.Occurrence, Attempt: found.Attempt,
				ProviderID: found.ProviderID, StartsAt: found.StartsAt, Status: care.AppointmentCancelled}
		}
	}
	p.State.Status = care.ServiceCancelled
	s.report(ctx, s.in.Service.ID+": coordination cancelled", "", "")
	return temporal.NewCanceledError()
}

// report tells the case where the service stands. A case that has closed
// meanwhile no longer listens; that is not an error. Version 1 retries a
// report that failed while the case runs (deliver).
func (s *serviceRun) report(ctx workflow.Context, summary, needsStaff, escalate string) {
	u := care.ServiceUpdate{State: s.progress.State, Summary: summary, NeedsStaff: needsStaff, Escalate: escalate, PlanVersion: s.in.PlanVersion}
	if workflow.GetVersion(ctx, versionReportRetry, workflow.DefaultVersion, 1) == 1 {
		s.deliver(ctx, u)
		return
	}
	err := workflow.SignalExternalWorkflow(ctx, s.in.CaseWorkflowID, "", SignalServiceUpdate, u).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("case did not take the service update", "case_id", s.in.CaseID, "service_id", s.in.Service.ID, "error", err)
	}
}

func (s *serviceRun) execute(ctx workflow.Context, summary string, activity, result any, args ...any) error {
	return workflow.ExecuteActivity(withSummary(ctx, summary), activity, args...).Get(ctx, result)
}

func isApplicationError(err error, kind string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == kind
}

func durations(ds []care.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.D()
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// attendanceGrace is how long after an appointment's start staff have to
// record its attendance before a work item asks for it.
func (s *serviceRun) attendanceGrace() time.Duration {
	if g := s.in.Policy.Appointments.AttendanceGrace.D(); g > 0 {
		return g
	}
	return 24 * time.Hour
}

// takeAmendments applies the amendments the case sent (a new plan changed
// the service, or a change of level): the next occurrence follows the new
// cadence, and the service re-authorizes when its authorization no longer
// covers what remains of it.
func (s *serviceRun) takeAmendments(ctx workflow.Context) {
	p := &s.progress
	for {
		var svc care.Service
		if !s.amend.ReceiveAsync(&svc) {
			return
		}
		before := s.in.Service
		s.in.Service, p.State.Service = svc, svc
		summary := fmt.Sprintf("%s: amended (%s)", svc.ID, before.Differences(svc))
		if svc.RequiresAuthorization && !s.covered(workflow.Now(ctx)) {
			p.Reauthorize = true
			summary += "; its authorization no longer covers it: re-authorizing"
		}
		s.report(ctx, summary, "", "")
	}
}

// covered reports whether the current approval covers the occurrences that
// remain of the (amended) service.
func (s *serviceRun) covered(now time.Time) bool {
	a := s.state().Authorization
	if a == nil || a.Status != care.AuthorizationApproved {
		return true // not authorized yet: the next request asks for it as amended
	}
	svc := s.in.Service
	remaining := time.Duration(max(svc.Total()-s.progress.Occurrence+1, 0)) * svc.Interval()
	return !a.ValidTo.Before(maxTime(now, s.progress.From).Add(remaining))
}

// awaitAppeal waits, after a denial, for staff to appeal it (or for a new
// plan to cancel the service). Amendments meanwhile change the service the
// appeal asks for.
func (s *serviceRun) awaitAppeal(ctx workflow.Context) (care.Appeal, error) {
	for {
		var ap *care.Appeal
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(s.appeal, func(c workflow.ReceiveChannel, _ bool) {
			var v care.Appeal
			c.Receive(ctx, &v)
			ap = &v
		})
		sel.AddReceive(s.amend, func(workflow.ReceiveChannel, bool) { s.takeAmendments(ctx) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return care.Appeal{}, err
		}
		if ap != nil {
			s.progress.Reauthorize = false
			return *ap, nil
		}
	}
}

// applicationMessage is the message of an activity's application error.
func applicationMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
