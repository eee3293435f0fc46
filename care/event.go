package care

import "time"

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
}

// ServiceStatus is where a planned service stands in care coordination.
type ServiceStatus string

// Service statuses.
const (
	ServicePendingAuthorization ServiceStatus = "pending-authorization"
	ServiceReadyToBook          ServiceStatus = "ready-to-book"
)

// ServiceState is a planned service and its coordination status.
type ServiceState struct {
	Service
	Status ServiceStatus `json:"status"`
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
}

// Outcomes are the outcome-domain scores at assessment and at evaluation.
type Outcomes struct {
	Baseline   OutcomeScores `json:"baseline"`
	Evaluation OutcomeScores `json:"evaluation"`
	At         time.Time     `json:"at"`
}

// PauseRecord is one pause of a case's outreach clocks.
type PauseRecord struct {
	PausedAt  time.Time `json:"paused_at"`
	ResumedAt time.Time `json:"resumed_at,omitzero"`
	Reason    string    `json:"reason"`
}
