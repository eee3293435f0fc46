package care

import (
	"strings"
	"time"
)

// ActorSystem is the actor of events the workflow produces by itself.
const ActorSystem = "system"

// Event is one entry of a case's append-only audit trail: a phase change or a
// staff action. (CaseID, Seq) is its business key.
type Event struct {
	CaseID      string    `json:"case_id" db:"case_id"`
	Seq         int       `json:"seq" db:"seq"`
	At          time.Time `json:"at" db:"at"`
	Actor       string    `json:"actor" db:"actor"`
	Action      string    `json:"action" db:"action"`
	PhaseBefore Phase     `json:"phase_before" db:"phase_before"`
	PhaseAfter  Phase     `json:"phase_after" db:"phase_after"`
	Summary     string    `json:"summary" db:"summary"`
	// Detail is the record the action carried. The workflow sets it to the
	// typed record; the store encodes it as JSON (never in workflow code,
	// where encoding/json's caches are not deterministic) and reads it back
	// as json.RawMessage.
	Detail any `json:"detail,omitempty" db:"-"`
}

// Snapshot is the current state of a case as the store keeps it.
type Snapshot struct {
	CaseID        string        `json:"case_id" db:"case_id"`
	PatientID     string        `json:"patient_id" db:"patient_id"`
	Program       string        `json:"program" db:"program"`
	Model         Model         `json:"model" db:"model"`
	Manager       string        `json:"manager" db:"manager"`
	Source        Source        `json:"source" db:"source"`
	Phase         Phase         `json:"phase" db:"phase"`
	Risk          RiskLevel     `json:"risk,omitempty" db:"risk"`
	RiskScore     *int          `json:"risk_score,omitempty" db:"risk_score"`
	Category      CareCategory  `json:"care_category,omitempty" db:"care_category"`
	ClosureReason ClosureReason `json:"closure_reason,omitempty" db:"closure_reason"`
	OpenedAt      time.Time     `json:"opened_at" db:"opened_at"`
	ClosedAt      *time.Time    `json:"closed_at,omitempty" db:"closed_at"`
	NextDueAt     *time.Time    `json:"next_due_at,omitempty" db:"next_due_at"`
	LastEventSeq  int           `json:"last_event_seq" db:"last_event_seq"`
	// Paused: the case's outreach is paused.
	Paused bool `json:"paused,omitempty" db:"paused"`
}

// ServiceStatus is where a planned service stands in care coordination.
type ServiceStatus string

// Service statuses.
const (
	ServicePendingAuthorization ServiceStatus = "pending-authorization"
	ServiceAuthorizationPended  ServiceStatus = "authorization-pended"
	ServiceAuthorizationDenied  ServiceStatus = "authorization-denied"
	ServiceReadyToBook          ServiceStatus = "ready-to-book"
	ServiceNoSlot               ServiceStatus = "no-slot"
	ServiceBooked               ServiceStatus = "booked"
	ServiceNeedsStaff           ServiceStatus = "needs-staff"
	ServiceCompleted            ServiceStatus = "completed"
	ServiceCancelled            ServiceStatus = "cancelled"
)

// ServiceState is a planned service and where its coordination stands.
type ServiceState struct {
	Service
	Status        ServiceStatus       `json:"status"`
	Authorization *AuthorizationState `json:"authorization,omitempty"`
	Appointment   *AppointmentRef     `json:"appointment,omitempty"`
	// Attended counts the occurrences attended so far.
	Attended int `json:"attended,omitempty"`
	// RemindersSent counts the reminders sent for the service.
	RemindersSent int `json:"reminders_sent,omitempty"`
	// PlanVersion is the plan whose approval started the service's
	// coordination; it stays the same while later plans keep or amend the
	// service. Zero for services started before plans were versioned (they
	// belong to the case's current plan).
	PlanVersion int `json:"plan_version,omitempty"`
}

// AuthorizationState is a service's prior authorization (FHIR
// ClaimResponse): pended, approved with a number and a valid period, or
// denied with a reason.
type AuthorizationState struct {
	RequestID string              `json:"request_id"`
	Status    AuthorizationStatus `json:"status"`
	Number    string              `json:"number,omitempty"`
	ValidFrom time.Time           `json:"valid_from,omitzero"`
	ValidTo   time.Time           `json:"valid_to,omitzero"`
	Reason    string              `json:"reason,omitempty"`
	// SubmittedAt is when the payer accepted the request; the deadline and
	// its escalation run from it.
	SubmittedAt time.Time `json:"submitted_at"`
	// DeadlineAt is when the payer must decide (72 h expedited, 7 days
	// standard); zero for a payer type exempt from the decision deadlines.
	DeadlineAt time.Time `json:"deadline_at"`
	Expedited  bool      `json:"expedited,omitempty"`
	Escalated  bool      `json:"escalated,omitempty"`
	// DecidedAt is when the payer decided, as the payer says.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	// Related is the denied request this one appeals (FHIR Claim.related).
	Related string `json:"related,omitempty"`
	// Exempt marks a payer type exempt from the decision deadlines
	// (CMS-0057-F does not bind exchange plans): no deadline, no escalation.
	Exempt bool `json:"exempt,omitempty"`
}

// AppointmentRef is the current appointment of a service (FHIR Appointment).
type AppointmentRef struct {
	ID         string            `json:"id"`
	Occurrence int               `json:"occurrence"`
	Attempt    int               `json:"attempt"`
	ProviderID string            `json:"provider_id"`
	StartsAt   time.Time         `json:"starts_at"`
	Status     AppointmentStatus `json:"status"`
}

// ServiceUpdate is what a service's coordination reports to its case: its new
// state, a line for the audit trail and, when staff must act, a work item.
type ServiceUpdate struct {
	State   ServiceState `json:"state"`
	Summary string       `json:"summary"`
	// NeedsStaff opens a task for the case manager (e.g. appeal a denial,
	// find a slot, rebook after repeated no-shows).
	NeedsStaff string `json:"needs_staff,omitempty"`
	// Escalate alerts the supervisor (e.g. a pended authorization past its
	// regulatory deadline).
	Escalate string `json:"escalate,omitempty"`
	// PlanVersion is the care plan the service belongs to: updates from a
	// replaced plan's services are ignored.
	PlanVersion int `json:"plan_version"`
}

// Attendance is what staff record about an appointment.
type Attendance struct {
	AppointmentID string `json:"appointment_id"`
	// Status is one of AttendanceStatuses: attended, no-show, cancelled.
	Status AppointmentStatus `json:"status"`
	Notes  string            `json:"notes,omitempty"`
}

// Validate checks an attendance record.
func (a Attendance) Validate() error {
	if a.AppointmentID == "" {
		return Invalidf("appointment", "is required: the appointment id (see caseflow case show)")
	}
	_, err := ParseEnum("status", string(a.Status), AttendanceStatuses)
	return err
}

// Interval is the time between occurrences of a recurring service, from its
// frequency: daily, weekly, every two weeks (biweekly, fortnightly),
// monthly. Unknown or empty frequencies repeat weekly.
func (s Service) Interval() time.Duration {
	switch strings.ToLower(strings.TrimSpace(s.Frequency)) {
	case "daily":
		return 24 * time.Hour
	case "every two weeks", "biweekly", "fortnightly", "every 2 weeks":
		return 14 * 24 * time.Hour
	case "monthly":
		return 30 * 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

// Total is how many occurrences the service has (at least one).
func (s Service) Total() int {
	if s.Occurrences < 1 {
		return 1
	}
	return s.Occurrences
}

// Step is everything one step of a case writes to the store, in one
// transaction: the audit event, the new snapshot, the tasks it created or
// changed, the alerts it raised, and the outcomes or pause it recorded.
type Step struct {
	Event    Event        `json:"event"`
	Snapshot Snapshot     `json:"snapshot"`
	Tasks    []Task       `json:"tasks,omitempty"`
	Alerts   []Alert      `json:"alerts,omitempty"`
	Outcomes *Outcomes    `json:"outcomes,omitempty"`
	Pause    *PauseRecord `json:"pause,omitempty"`
	// Services are planned services whose coordination status changed.
	Services []ServiceState `json:"services,omitempty"`
	// PlanChange is what approving a new plan did to each service.
	PlanChange *PlanChange `json:"plan_change,omitempty"`
}

// Outcomes are the outcome-domain scores at assessment and at evaluation.
type Outcomes struct {
	// Baseline is the intake assessment's (the first one).
	Baseline   OutcomeScores `json:"baseline"`
	Evaluation OutcomeScores `json:"evaluation"`
	At         time.Time     `json:"at"`
	// Reassessed is the latest re-assessment's baseline, when there was
	// one: the evaluation also shows the change since then.
	Reassessed *OutcomeScores `json:"reassessed,omitempty"`
}

// PauseRecord is one pause of a case's outreach clocks.
type PauseRecord struct {
	PausedAt  time.Time `json:"paused_at"`
	ResumedAt time.Time `json:"resumed_at,omitzero"`
	Reason    string    `json:"reason"`
}
