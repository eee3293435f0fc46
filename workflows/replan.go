package workflows

// Plan changes: versioned care plans approved as diffs of the current one,
// amendments of one service's cadence, appeals of denied authorizations and
// manual bookings. See docs/coordination.md.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// Change ids of plan versions (see docs/workflow-changes.md).
const (
	// versionPlanDiff: approving a plan compares it with the current one,
	// service by service; unchanged services keep their coordination,
	// changed ones are amended in place, removed ones cancelled, new ones
	// started under the new plan version.
	versionPlanDiff = "plan-diff"
	// versionServiceAmend: a service's coordination keys its payer requests
	// and bookings by plan version, takes amendments, appeals and manual
	// bookings, runs the authorization deadline from the payer's
	// acceptance, and asks staff to record a past appointment's attendance.
	versionServiceAmend = "service-amend"
	// versionReplanRestartsEnded: approving a plan again replaces a service
	// kept unchanged whose coordination ended without completing (needs
	// staff, cancelled), so it starts again under the new plan version.
	// Asked only when such a service is found.
	versionReplanRestartsEnded = "replan-restarts-ended"
)

// Signals from a case to the coordination of one of its services.
const (
	// SignalAmend carries the amended care.Service.
	SignalAmend = "amend"
	// SignalAppeal carries a care.Appeal of the denied authorization.
	SignalAppeal = "appeal"
	// SignalBook carries a care.ManualBooking.
	SignalBook = "book"
)

// Names of the staff actions on one planned service.
const (
	UpdateAmendService = "amend-service"
	UpdateAppeal       = "appeal"
	UpdateBook         = "book"
)

// The staff actions on one planned service.
var (
	AmendService = Action[care.ServiceAmendment]{UpdateAmendService}
	Appeal       = Action[care.Appeal]{UpdateAppeal}
	Book         = Action[care.ManualBooking]{UpdateBook}
)

// registerServiceActions returns the registrations of the staff actions on
// one planned service.
func (w *caseWorkflow) registerServiceActions(ctx workflow.Context) []func() error {
	return []func() error{
		register(ctx, w, AmendService, "Change one service's cadence (a change of level: weekly to monthly physiotherapy)", w.amendService, w.canAmendService),
		register(ctx, w, Appeal, "Appeal a denied authorization: a new request referencing the denied one", w.appealDenial, w.canAppeal),
		register(ctx, w, Book, "Book a service's next occurrence on a slot staff chose, when no slot was free", w.bookByHand, w.canBook),
	}
}

// generation is the plan version whose approval started a service's
// coordination (the case's current version for services started before
// plans were versioned).
func (w *caseWorkflow) generation(sv care.ServiceState) int {
	if sv.PlanVersion > 0 {
		return sv.PlanVersion
	}
	return w.state.PlanVersion
}

// serviceWorkflowID is the workflow id of the coordination of sv.
func (w *caseWorkflow) serviceWorkflowID(sv care.ServiceState) string {
	return ServiceWorkflowID(w.state.Case.ID, sv.ID, w.generation(sv))
}

// finished reports whether the coordination of sv has ended. A versioned
// coordination whose authorization was denied waits for an appeal.
func finished(sv care.ServiceState) bool {
	if sv.PlanVersion > 0 && sv.Status == care.ServiceAuthorizationDenied {
		return false
	}
	return isFinal(sv.Status)
}

func isVisit(sv care.ServiceState) bool {
	return strings.HasPrefix(sv.ID, string(care.TaskTCMVisit)+"-")
}

// replan approves plan p as a diff of the current one (version 1 of
// versionPlanDiff) and returns what it did. New and replaced services start
// when the main loop coordinates the plan.
func (w *caseWorkflow) replan(ctx workflow.Context, p care.CarePlan) care.PlanChange {
	s := &w.state
	now := workflow.Now(ctx)
	var current []care.Service
	for _, sv := range s.Services {
		if !isVisit(sv) {
			current = append(current, sv.Service)
		}
	}
	change := care.DiffPlans(s.PlanVersion+1, current, p.Services)
	old := map[string]care.ServiceState{}
	for _, sv := range s.Services {
		old[sv.ID] = sv
	}
	var next []care.ServiceState
	var cancels []workflow.Future
	stop := func(sv care.ServiceState) {
		if s.ServicesStarted && !finished(sv) {
			w.steps++
			cancels = append(cancels, workflow.RequestCancelExternalWorkflow(ctx, w.serviceWorkflowID(sv), ""))
		}
	}
	s.StartPending = nil
	for i, c := range change.Services {
		sv, had := old[c.ServiceID]
		// Services coordinated before plans were versioned, or whose
		// coordination has ended, cannot be amended in place.
		if had && c.Kind == care.ServiceAmended && (sv.PlanVersion == 0 || finished(sv) && sv.Status != care.ServiceCompleted) {
			change.Services[i].Kind, c.Kind = care.ServiceReplaced, care.ServiceReplaced
		}
		if had && c.Kind == care.ServiceUnchanged && sv.PlanVersion == 0 && !finished(sv) {
			change.Services[i].Kind, c.Kind = care.ServiceReplaced, care.ServiceReplaced
		}
		// A coordination that ended without completing told staff to
		// change the plan to start it again: approving the plan with the
		// service as it was starts it again too.
		if had && c.Kind == care.ServiceUnchanged && finished(sv) && sv.Status != care.ServiceCompleted &&
			workflow.GetVersion(ctx, versionReplanRestartsEnded, workflow.DefaultVersion, 1) == 1 {
			change.Services[i].Kind, c.Kind = care.ServiceReplaced, care.ServiceReplaced
		}
		switch c.Kind {
		case care.ServiceUnchanged:
			next = append(next, sv)
		case care.ServiceAmended:
			if sv.Status == care.ServiceCompleted {
				// All its occurrences were attended; more of them need a
				// new coordination.
				change.Services[i].Kind = care.ServiceReplaced
				next = append(next, care.ServiceState{Service: *c.After})
				s.StartPending = append(s.StartPending, c.ServiceID)
				continue
			}
			w.steps++
			_ = workflow.SignalExternalWorkflow(ctx, w.serviceWorkflowID(sv), "", SignalAmend, *c.After).Get(ctx, nil)
			sv.Service = *c.After
			next = append(next, sv)
			w.services = append(w.services, sv)
		case care.ServiceReplaced, care.ServiceRemoved:
			stop(sv)
			w.services = append(w.services, cancelledState(sv))
			w.resolveServiceTasks(now, sv.ID, "plan v"+fmt.Sprint(change.Version)+": service "+string(c.Kind))
			if c.Kind == care.ServiceReplaced {
				next = append(next, care.ServiceState{Service: *c.After})
				s.StartPending = append(s.StartPending, c.ServiceID)
			}
		case care.ServiceAdded:
			next = append(next, care.ServiceState{Service: *c.After})
			s.StartPending = append(s.StartPending, c.ServiceID)
		}
	}
	for _, r := range cancels {
		_ = r.Get(ctx, nil) // a coordination that ended meanwhile has nothing to cancel
	}
	for _, sv := range s.Services {
		if isVisit(sv) {
			next = append(next, sv)
		}
	}
	s.Services = next
	s.PlanVersion = change.Version
	s.PlanChanges = append(s.PlanChanges, change)
	if n := len(s.PlanChanges); n > planChangesKept {
		s.PlanChanges = slices.Clone(s.PlanChanges[n-planChangesKept:])
	}
	s.Diffed = true
	w.planChange = &change
	return change
}

// planChangesKept bounds the plan changes kept in workflow state (all of
// them are in PostgreSQL).
const planChangesKept = 5

// cancelledState is sv as its cancellation leaves it.
func cancelledState(sv care.ServiceState) care.ServiceState {
	if sv.Status != care.ServiceCompleted {
		sv.Status = care.ServiceCancelled
	}
	if a := sv.Appointment; a != nil && a.Status == care.AppointmentBooked {
		ref := *a
		ref.Status = care.AppointmentCancelled
		sv.Appointment = &ref
	}
	return sv
}

// coordinateChanges starts the coordination of the services the last plan
// change added or replaced; the others carry on as they were.
func (w *caseWorkflow) coordinateChanges(ctx workflow.Context) ([]care.ServiceState, error) {
	s := &w.state
	var start []care.Service
	for _, sv := range s.Services {
		if slices.Contains(s.StartPending, sv.ID) {
			start = append(start, sv.Service)
		}
	}
	var started []care.ServiceState
	if len(start) > 0 {
		if err := w.execute(ctx, "coordinate planned services", a.CoordinateServices, &started, s.Case.ID, start); err != nil {
			return nil, err
		}
	}
	for _, st := range started {
		st.PlanVersion = s.PlanVersion
		if i := w.serviceIndex(st.ID); i >= 0 {
			s.Services[i] = st
		}
		if err := w.startService(ctx, st.Service, s.Policy); err != nil {
			return nil, err
		}
	}
	s.StartPending = nil
	s.ServicesStarted = true
	return s.Services, nil
}

// resolveServiceTasks closes the open coordination tasks about service id:
// their cause has cleared.
func (w *caseWorkflow) resolveServiceTasks(now time.Time, id, outcome string) {
	for i := range w.state.Tasks {
		t := &w.state.Tasks[i]
		if t.Status == care.TaskOpen && t.Kind == care.TaskCoordination && t.ServiceID == id {
			w.finishTask(t, now, care.TaskDone, outcome)
		}
	}
}

// planService returns the index of the service id of the current plan, or
// a not-found error listing the plan's services.
func (w *caseWorkflow) planService(id string) (int, error) {
	var ids []string
	for i, sv := range w.state.Services {
		if isVisit(sv) {
			continue
		}
		if sv.ID == id {
			return i, nil
		}
		ids = append(ids, sv.ID)
	}
	if len(ids) == 0 {
		return -1, care.NotFoundf("service: %q is not a service of this case's plan; it has none coordinated", id)
	}
	return -1, care.NotFoundf("service: %q is not a service of this case's plan; services: %s", id, strings.Join(ids, ", "))
}

// serviceAction checks a staff action on one versioned, running service's
// coordination. Coordination actions are allowed where recording an
// appointment's attendance is.
func (w *caseWorkflow) serviceAction(actor, id string, validate func() error, fits func(care.ServiceState) error) error {
	if err := w.allowed(care.ActionAppointment, care.BranchAny, actor, validate); err != nil {
		return err
	}
	i, err := w.planService(id)
	if err != nil {
		return err
	}
	sv := w.state.Services[i]
	if sv.PlanVersion == 0 {
		return care.NotAllowedf("service %s is coordinated as planned before plan versions; approve the plan again (caseflow case plan) to manage it", id)
	}
	if finished(sv) {
		return care.NotAllowedf("the coordination of service %s has ended (%s); change the plan to start it again", id, sv.Status)
	}
	return fits(sv)
}

func (w *caseWorkflow) canAmendService(actor string, am care.ServiceAmendment) error {
	return w.serviceAction(actor, am.ServiceID, am.Validate, func(sv care.ServiceState) error {
		if am.Apply(sv.Service) == sv.Service {
			return care.Invalidf("frequency", "service %s is already %s with %d occurrences: nothing to change", sv.ID, frequencyOf(sv.Service), sv.Total())
		}
		return nil
	})
}

func (w *caseWorkflow) canAppeal(actor string, ap care.Appeal) error {
	return w.serviceAction(actor, ap.ServiceID, ap.Validate, func(sv care.ServiceState) error {
		if sv.Status != care.ServiceAuthorizationDenied {
			return care.NotAllowedf("service %s is %s: only a denied authorization can be appealed", sv.ID, sv.Status)
		}
		return nil
	})
}

func (w *caseWorkflow) canBook(actor string, b care.ManualBooking) error {
	return w.serviceAction(actor, b.ServiceID, b.Validate, func(sv care.ServiceState) error {
		if sv.Status != care.ServiceNoSlot {
			return care.NotAllowedf("service %s is %s: book by hand only when no free slot was found", sv.ID, sv.Status)
		}
		return nil
	})
}

// signalService sends a signal to the coordination of service i.
func (w *caseWorkflow) signalService(ctx workflow.Context, i int, name string, arg any) error {
	sv := w.state.Services[i]
	w.steps++
	if err := workflow.SignalExternalWorkflow(ctx, w.serviceWorkflowID(sv), "", name, arg).Get(ctx, nil); err != nil {
		return care.Unavailablef("the coordination of service %s did not take the %s: %v", sv.ID, name, err)
	}
	return nil
}

func (w *caseWorkflow) amendService(ctx workflow.Context, actor string, am care.ServiceAmendment) (Status, error) {
	return w.act(ctx, actor, UpdateAmendService, func() error { return w.canAmendService(actor, am) }, func() (string, any, error) {
		i, _ := w.planService(am.ServiceID)
		sv := &w.state.Services[i]
		after := am.Apply(sv.Service)
		if err := w.signalService(ctx, i, SignalAmend, after); err != nil {
			return "", nil, err
		}
		summary := fmt.Sprintf("%s amended (%s)", sv.ID, sv.Differences(after))
		sv.Service = after
		if p := w.state.Plan; p != nil {
			plan := *p
			plan.Services = slices.Clone(p.Services)
			for j := range plan.Services {
				if plan.Services[j].ID == am.ServiceID {
					plan.Services[j] = after
				}
			}
			w.state.Plan = &plan
		}
		w.services = append(w.services, *sv)
		return summary, am, nil
	})
}

func (w *caseWorkflow) appealDenial(ctx workflow.Context, actor string, ap care.Appeal) (Status, error) {
	return w.act(ctx, actor, UpdateAppeal, func() error { return w.canAppeal(actor, ap) }, func() (string, any, error) {
		i, _ := w.planService(ap.ServiceID)
		if err := w.signalService(ctx, i, SignalAppeal, ap); err != nil {
			return "", nil, err
		}
		sv := &w.state.Services[i]
		denied := ""
		if a := sv.Authorization; a != nil {
			denied = a.RequestID
		}
		sv.Status = care.ServicePendingAuthorization
		w.resolveServiceTasks(workflow.Now(ctx), sv.ID, "appealed")
		w.services = append(w.services, *sv)
		return fmt.Sprintf("%s: denial %s appealed", sv.ID, denied), ap, nil
	})
}

func (w *caseWorkflow) bookByHand(ctx workflow.Context, actor string, b care.ManualBooking) (Status, error) {
	return w.act(ctx, actor, UpdateBook, func() error { return w.canBook(actor, b) }, func() (string, any, error) {
		i, _ := w.planService(b.ServiceID)
		if err := w.signalService(ctx, i, SignalBook, b); err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("%s: booking on slot %s asked", b.ServiceID, b.SlotID), b, nil
	})
}

func frequencyOf(s care.Service) string {
	if s.Frequency == "" {
		return "weekly"
	}
	return s.Frequency
}
