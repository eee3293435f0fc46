package care

import "time"

// TaskKind is the kind of a work item or audited clock.
type TaskKind string

// Task kinds.
const (
	TaskCall             TaskKind = "call"               // follow-up call (step 6)
	TaskReassess         TaskKind = "reassess"           // periodic re-assessment
	TaskContact          TaskKind = "contact"            // post-transition contact (step 8)
	TaskTCMContact       TaskKind = "tcm-contact"        // interactive contact within 2 business days of discharge
	TaskTCMVisit         TaskKind = "tcm-visit"          // face-to-face visit within 7 or 14 days
	TaskMedRec           TaskKind = "med-reconciliation" // medication reconciliation by the visit
	TaskReadmissionWatch TaskKind = "readmission-watch"  // 30 days without readmission
	TaskLostToContact    TaskKind = "lost-to-contact"    // repeated no-answers: decide what to do
	TaskCoordination     TaskKind = "coordination"       // a service needs staff: denial, no slot, repeated no-shows
	TaskCCMMinutes       TaskKind = "ccm-minutes"        // the calendar month's care-management minutes (CPT 99490)
)

// PostDischargeKinds are the clocks a discharge starts besides the
// readmission watch.
var PostDischargeKinds = []TaskKind{TaskTCMContact, TaskTCMVisit, TaskMedRec, TaskContact}

// TaskStatus is where a task stands.
type TaskStatus string

// Task statuses.
const (
	TaskOpen      TaskStatus = "open"
	TaskDone      TaskStatus = "done"
	TaskMissed    TaskStatus = "missed"    // a clock that passed its due time unmet
	TaskCancelled TaskStatus = "cancelled" // no longer applies (readmission, case closed, phase left)
)

// Task is a work item or an audited clock of a case (FHIR Task): what is due,
// from when, by when, for whom, and whether it was met.
type Task struct {
	ID          string     `json:"id"`
	CaseID      string     `json:"case_id"`
	Kind        TaskKind   `json:"kind"`
	Description string     `json:"description"`
	Owner       string     `json:"owner"`
	StartedAt   time.Time  `json:"started_at"`
	Due         time.Time  `json:"due"`
	Status      TaskStatus `json:"status"`
	Outcome     string     `json:"outcome,omitempty"`
	CompletedAt time.Time  `json:"completed_at,omitzero"`
	EscalatedAt time.Time  `json:"escalated_at,omitzero"`
	// Clock marks the tasks a care-management team is audited on; Met says
	// whether they were done in time.
	Clock bool  `json:"clock,omitempty"`
	Met   *bool `json:"met,omitempty"`
	// CasePaused marks, on the worklist, a task of a case whose outreach is
	// paused (not stored with the task).
	CasePaused bool `json:"case_paused,omitempty"`
	// ServiceID is the planned service a coordination task is about; the
	// task closes by itself when its cause clears (the service is booked,
	// authorized or replaced).
	ServiceID string `json:"service_id,omitempty"`
}

// CallOutcome is the outcome of a follow-up call.
type CallOutcome string

// Call outcomes.
const (
	CallReached  CallOutcome = "reached"
	CallNoAnswer CallOutcome = "no-answer"
	CallDeclined CallOutcome = "declined"
)

// CallOutcomes lists every call outcome.
var CallOutcomes = []CallOutcome{CallReached, CallNoAnswer, CallDeclined}

// CallResult is what staff record about a follow-up call.
type CallResult struct {
	TaskID  string      `json:"task_id"`
	Outcome CallOutcome `json:"outcome"`
	// Deteriorated reports that the client's condition got worse: the case
	// goes back to assessment.
	Deteriorated bool   `json:"deteriorated,omitempty"`
	Notes        string `json:"notes,omitempty"`
	// Minutes is the care-management time the call took (CCM 99490).
	Minutes int `json:"minutes,omitempty"`
	// At is when the call was made, when staff record it later; zero means
	// when it is recorded (change contact-times).
	At time.Time `json:"at,omitzero"`
}

// Validate checks a call result.
func (c CallResult) Validate() error {
	if c.TaskID == "" {
		return Invalidf("call", "is required: the id of the call task (see caseflow case show)")
	}
	if err := validEnum("outcome", c.Outcome, CallOutcomes); err != nil {
		return err
	}
	if err := validMinutes(c.Minutes); err != nil {
		return err
	}
	if c.Deteriorated && c.Outcome != CallReached {
		return Invalidf("deteriorated", "needs --outcome reached: only a call that reached the client can report deterioration")
	}
	return nil
}

// TaskCompletion marks a task (a visit, a medication reconciliation) done.
type TaskCompletion struct {
	TaskID string `json:"task_id"`
	Notes  string `json:"notes,omitempty"`
}

// Pause suspends or resumes a case's outreach clocks.
type Pause struct {
	Reason string `json:"reason"`
}

// Validate checks a pause or resume.
func (p Pause) Validate() error {
	if p.Reason == "" {
		return Invalidf("reason", "is required: say why (e.g. \"re-admitted to hospital\")")
	}
	return nil
}

// Alert is a message to staff: a call is due, a call is overdue, a clock was
// missed, a client does not answer. AlertID makes it idempotent.
type Alert struct {
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	TaskID    string    `json:"task_id,omitempty"`
	Kind      string    `json:"kind"`
	Recipient string    `json:"recipient"`
	Message   string    `json:"message"`
	At        time.Time `json:"at"`
}

// DischargeClocks are the due times of the transitional-care clocks after a
// discharge, computed by an activity from the program calendar.
type DischargeClocks struct {
	DischargedAt    time.Time `json:"discharged_at"`
	ContactDue      time.Time `json:"contact_due"`
	VisitDue        time.Time `json:"visit_due"`
	VisitDays       int       `json:"visit_days"`
	ReadmissionEnds time.Time `json:"readmission_ends"`
	// Set by discharges recorded from the event's own date (change
	// event-dates): the date, the complexity, the policy labels of the
	// contact and visit clocks, the end of the 30-day TCM period, when the
	// discharge was entered and the tasks it opened.
	Date         string     `json:"date,omitempty"`
	Complexity   Complexity `json:"complexity,omitempty"`
	ContactRule  string     `json:"contact_rule,omitempty"`
	VisitWithin  string     `json:"visit_within,omitempty"`
	TCMPeriodEnd time.Time  `json:"tcm_period_end,omitzero"`
	EnteredAt    time.Time  `json:"entered_at,omitzero"`
	Tasks        []string   `json:"tasks,omitempty"`
	// Attempts counts the documented interactive-contact attempts made
	// within the contact window.
	Attempts int `json:"attempts,omitempty"`
	// LastAttemptAt is when the latest counted attempt was made.
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	// Readmitted is set once a readmission followed this discharge.
	Readmitted bool `json:"readmitted,omitempty"`
}

// DischargeRequest is what the discharge-clocks activity computes from.
type DischargeRequest struct {
	Policy     Policy     `json:"policy"`
	Risk       RiskLevel  `json:"risk"`
	Transition Transition `json:"transition"`
	// EnteredAt is when staff or the feed recorded the discharge.
	EnteredAt time.Time `json:"entered_at"`
}

// Month is a calendar month in the program's time zone.
type Month struct {
	Name  string    `json:"name"` // YYYY-MM
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // its last second
}

// MonthMinutes is a case's CCM 99490 accumulator: the care-management
// minutes recorded in one calendar month, against the policy target.
type MonthMinutes struct {
	Month   Month  `json:"month"`
	Minutes int    `json:"minutes"`
	Target  int    `json:"target"`
	TaskID  string `json:"task_id,omitempty"`
	// Since is the start of the case's first CCM month (zero in states
	// written before it was kept): every month from it on has had a clock.
	Since time.Time `json:"since,omitzero"`
	// Last is when the latest of the month's counted minutes were made.
	Last time.Time `json:"last,omitzero"`
}
