package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// startServices starts one ServiceWorkflow per planned service of the
// current plan. They outlive this run of the case (continue-as-new
// abandons, not terminates, them) and are cancelled explicitly when a new
// plan replaces them or the case closes.
func (w *caseWorkflow) startServices(ctx workflow.Context) error {
	for _, sv := range w.state.Services {
		if err := w.startService(ctx, sv.Service, w.state.Policy); err != nil {
			return err
		}
	}
	w.state.ServicesStarted = true
	return nil
}

// startService starts the coordination of one service under policy.
func (w *caseWorkflow) startService(ctx workflow.Context, svc care.Service, policy care.Policy) error {
	s := &w.state
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        ServiceWorkflowID(s.Case.ID, svc.ID, s.PlanVersion),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     fmt.Sprintf("Coordinate %s (service %s) of case %s", svc.Code, svc.ID, s.Case.ID),
	})
	w.steps++
	in := ServiceInput{
		CaseID: s.Case.ID, PatientID: s.Case.PatientID, CaseWorkflowID: care.WorkflowID(s.Case.ID),
		PlanVersion: s.PlanVersion, Service: svc, Policy: policy,
		Expedited: policy.Authorization.IsExpedited(s.Risk, s.Category, svc.Code),
	}
	if s.Plan != nil {
		in.Exempt = policy.Authorization.IsExempt(s.Plan.PayerType)
	}
	f := workflow.ExecuteChildWorkflow(cctx, ServiceWorkflow, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return fmt.Errorf("start coordination of service %s: %w", svc.ID, err)
	}
	return nil
}

// bookVisit books the post-discharge face-to-face visit of task visit
// through a ServiceWorkflow whose booking window ends at the visit's due
// time; attending it meets the visit clock.
func (w *caseWorkflow) bookVisit(ctx workflow.Context, visit care.Task) error {
	s := &w.state
	svc := care.Service{ID: visit.ID, Code: s.Policy.PostDischarge.VisitServiceCode(), Name: "Post-discharge face-to-face visit", Occurrences: 1}
	policy := s.Policy
	policy.Appointments.BookingWindow = care.Duration(visit.Due.Sub(workflow.Now(ctx)))
	if err := w.startService(ctx, svc, policy); err != nil {
		return err
	}
	state := care.ServiceState{Service: svc, Status: care.ServiceReadyToBook}
	if s.Diffed {
		state.PlanVersion = s.PlanVersion
	}
	s.Services = append(s.Services, state)
	w.services = append(w.services, state)
	s.ServicesStarted = true
	return nil
}

// cancelVisits cancels the booking of post-discharge visits (a readmission).
func (w *caseWorkflow) cancelVisits(ctx workflow.Context) {
	s := &w.state
	for i, sv := range s.Services {
		if !isVisit(sv) || isFinal(sv.Status) {
			continue
		}
		w.steps++
		_ = workflow.RequestCancelExternalWorkflow(ctx, w.serviceWorkflowID(sv), "").Get(ctx, nil)
		s.Services[i].Status = care.ServiceCancelled
	}
}

func isFinal(st care.ServiceStatus) bool {
	switch st {
	case care.ServiceCompleted, care.ServiceCancelled, care.ServiceAuthorizationDenied, care.ServiceNeedsStaff:
		return true
	}
	return false
}

// cancelServices asks the coordination of the current plan's unfinished
// services to stop, and waits until each request is delivered; each service
// then cancels its booked appointment and reminders.
func (w *caseWorkflow) cancelServices(ctx workflow.Context) {
	s := &w.state
	if !s.ServicesStarted {
		return
	}
	w.state.ServicesStarted = false
	var requests []workflow.Future
	for i, sv := range s.Services {
		if finished(sv) {
			continue
		}
		w.steps++
		requests = append(requests, workflow.RequestCancelExternalWorkflow(ctx, w.serviceWorkflowID(sv), ""))
		// What the case shows from now on: cancelled, with its appointment.
		w.state.Services[i] = cancelledState(sv)
		w.services = append(w.services, w.state.Services[i])
	}
	for _, r := range requests {
		// A service that finished meanwhile has nothing to cancel: its
		// request fails, and that is fine.
		_ = r.Get(ctx, nil)
	}
}

// onServiceUpdate records where a service stands, opening a task when staff
// must act and alerting the supervisor on an escalation.
func (w *caseWorkflow) onServiceUpdate(ctx workflow.Context, u care.ServiceUpdate) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	s := &w.state
	i := w.serviceIndex(u.State.ID)
	if i < 0 || u.PlanVersion != w.generation(s.Services[i]) || s.Phase == care.PhaseClosed {
		return nil // from a replaced plan, or the case is closed
	}
	now := workflow.Now(ctx)
	versioned := s.Services[i].PlanVersion > 0
	u.State.PlanVersion = s.Services[i].PlanVersion
	if versioned {
		// The case owns the plan: an amendment the coordination has not
		// taken yet is not undone by its report.
		u.State.Service = s.Services[i].Service
	}
	s.Services[i] = u.State
	w.services = append(w.services, u.State)
	if a := u.State.Appointment; a != nil && a.Status == care.AppointmentAttended && w.task(u.State.ID) != nil {
		// The post-discharge visit booked for this clock was attended.
		w.visitAttended(ctx, now, a)
	}
	if versioned {
		// The cause of earlier work items about the service has cleared
		// (booked, authorized, attended) or been replaced by a new one.
		w.resolveServiceTasks(now, u.State.ID, u.Summary)
	}
	if u.NeedsStaff != "" {
		t := w.newTask(now, care.TaskCoordination, u.NeedsStaff, s.Case.Manager, now.Add(s.Policy.Steps.Stratification.D()), false)
		if versioned {
			w.task(t.ID).ServiceID = u.State.ID
		}
	}
	if u.Escalate != "" {
		w.alert(now, care.Task{ID: "service-" + u.State.ID}, "authorization-overdue", s.Policy.Supervisor, u.Escalate)
	}
	return w.record(ctx, care.ActorSystem, "service", s.Phase, u.Summary, u.State)
}

// visitAttended records the post-discharge visit a attended, reported at
// now. Under change event-times it counts at the time it happened (the
// appointment's start, when that is not later than now): the visit clock
// is met when that is by its due time, even if the clock fired missed
// before the attendance was reported (it is corrected, and says so), and
// done late when after it; the medication reconciliation falls due by the
// visit's date. Before, it counted when it was reported.
func (w *caseWorkflow) visitAttended(ctx workflow.Context, now time.Time, a *care.AppointmentRef) {
	outcome := "visit attended (" + a.ID + ")"
	at := now
	if workflow.GetVersion(ctx, versionEventTimes, workflow.DefaultVersion, 1) == 1 {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(now) {
			at = a.StartsAt
		}
		for i := range w.state.Tasks {
			t := &w.state.Tasks[i]
			if t.Kind != care.TaskTCMVisit || !w.lateDoable(*t) {
				continue
			}
			if at.After(t.Due) {
				w.doneLate(t, at, outcome)
				continue
			}
			// The clock fired missed while the attendance was on its
			// way: the visit happened in time.
			w.finishTask(t, at, care.TaskDone, fmt.Sprintf("%s at %s, reported after its clock fired (it had been recorded missed)",
				outcome, at.UTC().Format(time.RFC3339)))
		}
	}
	w.completeTasks(at, outcome, care.TaskTCMVisit)
	w.visitDone(ctx, at)
	if at.After(w.state.LastContactAt) {
		w.state.LastContactAt = at
	}
}

func (w *caseWorkflow) serviceIndex(id string) int {
	for i, sv := range w.state.Services {
		if sv.ID == id {
			return i
		}
	}
	return -1
}

// bookedService returns the index of the service whose current appointment
// is appointmentID and still booked, or -1.
func (w *caseWorkflow) bookedService(appointmentID string) int {
	for i, sv := range w.state.Services {
		if a := sv.Appointment; a != nil && a.ID == appointmentID && a.Status == care.AppointmentBooked {
			return i
		}
	}
	return -1
}

func (w *caseWorkflow) appointment(ctx workflow.Context, actor string, at care.Attendance) (Status, error) {
	return w.act(ctx, actor, UpdateAppointment, func() error { return w.canAppointment(actor, at) }, func() (string, any, error) {
		s := &w.state
		i := w.bookedService(at.AppointmentID)
		sv := &s.Services[i]
		w.steps++
		err := workflow.SignalExternalWorkflow(ctx, w.serviceWorkflowID(*sv), "", SignalAttendance, at).Get(ctx, nil)
		if err != nil {
			return "", nil, fmt.Errorf("the coordination of service %s did not take the attendance: %w", sv.ID, err)
		}
		sv.Appointment.Status = at.Status
		if at.Status == care.AppointmentAttended {
			s.LastContactAt = workflow.Now(ctx)
		}
		return fmt.Sprintf("%s appointment %s: %s", sv.ID, at.AppointmentID, at.Status), at, nil
	})
}
