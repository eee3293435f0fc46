package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// startServices starts one ServiceWorkflow per planned service of the
// current plan. They outlive this run of the case (continue-as-new
// abandons, not terminates, them) and are cancelled explicitly when a new
// plan replaces them or the case closes.
func (w *caseWorkflow) startServices(ctx workflow.Context) error {
	s := w.state
	expedited := s.Risk == care.RiskHigh || s.Category == care.CategoryAcute
	for _, sv := range s.Services {
		id := ServiceWorkflowID(s.Case.ID, sv.ID, s.PlanVersion)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			StaticSummary:     fmt.Sprintf("Coordinate %s (service %s) of case %s", sv.Code, sv.ID, s.Case.ID),
		})
		w.steps++
		f := workflow.ExecuteChildWorkflow(cctx, ServiceWorkflow, ServiceInput{
			CaseID: s.Case.ID, PatientID: s.Case.PatientID, CaseWorkflowID: care.WorkflowID(s.Case.ID),
			PlanVersion: s.PlanVersion, Service: sv.Service, Policy: s.Policy, Expedited: expedited,
		})
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return fmt.Errorf("start coordination of service %s: %w", sv.ID, err)
		}
	}
	w.state.ServicesStarted = true
	return nil
}

// cancelServices asks the coordination of the current plan's unfinished
// services to stop, and waits until each request is delivered; each service
// then cancels its booked appointment and reminders.
func (w *caseWorkflow) cancelServices(ctx workflow.Context) {
	s := w.state
	if !s.ServicesStarted {
		return
	}
	w.state.ServicesStarted = false
	var requests []workflow.Future
	for _, sv := range s.Services {
		switch sv.Status {
		case care.ServiceCompleted, care.ServiceCancelled, care.ServiceAuthorizationDenied, care.ServiceNeedsStaff:
			continue
		}
		w.steps++
		requests = append(requests, workflow.RequestCancelExternalWorkflow(ctx, ServiceWorkflowID(s.Case.ID, sv.ID, s.PlanVersion), ""))
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
	if u.PlanVersion != s.PlanVersion || i < 0 || s.Phase == care.PhaseClosed {
		return nil // from a replaced plan, or the case is closed
	}
	now := workflow.Now(ctx)
	s.Services[i] = u.State
	w.services = append(w.services, u.State)
	if u.NeedsStaff != "" {
		w.newTask(now, care.TaskCoordination, u.NeedsStaff, s.Case.Manager, now.Add(s.Policy.Steps.Stratification.D()), false)
	}
	if u.Escalate != "" {
		w.alert(now, care.Task{ID: "service-" + u.State.ID}, "authorization-overdue", s.Policy.Supervisor, u.Escalate)
	}
	return w.record(ctx, care.ActorSystem, "service", s.Phase, u.Summary, u.State)
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
		if a := sv.Appointment; a != nil && a.ID == appointmentID && a.Status == "booked" {
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
		err := workflow.SignalExternalWorkflow(ctx, ServiceWorkflowID(s.Case.ID, sv.ID, s.PlanVersion), "", SignalAttendance, at).Get(ctx, nil)
		if err != nil {
			return "", nil, fmt.Errorf("the coordination of service %s did not take the attendance: %w", sv.ID, err)
		}
		sv.Appointment.Status = at.Status
		if at.Status == "attended" {
			s.LastContactAt = workflow.Now(ctx)
		}
		return fmt.Sprintf("%s appointment %s: %s", sv.ID, at.AppointmentID, at.Status), at, nil
	})
}
