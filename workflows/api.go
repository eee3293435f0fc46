// Package workflows holds the case workflow: one long-running, deterministic
// Temporal workflow per patient case that carries it from screening to
// closing, and the ServiceWorkflow children that coordinate its planned
// services. It does no I/O; every side effect is an activity. This file is
// their contract: names, inputs and results.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// TaskQueue is the default task queue of the case workflow and its activities.
const TaskQueue = "caseflow"

// Names of the case workflow's updates, signals and queries. Staff actions are
// updates with validators: a client learns at once when an action is not
// allowed, and nothing is written for a rejected one.
const (
	UpdateScreen      = "screen"
	UpdateAssess      = "assess"
	UpdateStratify    = "stratify"
	UpdatePlan        = "plan"
	UpdateContact     = "contact"
	UpdateTransition  = "transition"
	UpdateEvaluate    = "evaluate"
	UpdateClose       = "close"
	UpdateCall        = "call"
	UpdateComplete    = "complete"
	UpdatePause       = "pause"
	UpdateResume      = "resume"
	UpdateAppointment = "appointment"

	// SignalTransition carries a transition reported by an external system
	// (a hospital ADT feed: discharge, transfer, readmission). Signals cannot
	// be refused, so one that arrives in a phase where it cannot apply is
	// recorded and ignored.
	SignalTransition = "adt-transition"

	// QueryStatus returns the case's Status.
	QueryStatus = "status"
)

// Action ties the name of a staff action (an update of the case workflow)
// to the type of its argument, so that a client cannot send one with the
// other's record. Every action's handler takes the acting staff id and the
// argument, and answers with the case's Status after the action, without
// what the status query also gives (see Status).
//
// A refused or failed action comes back as a Temporal application error
// whose Type is the care.ErrorKind of the failure (invalid, not-found,
// not-allowed, conflict, unavailable, internal).
type Action[T any] struct{ Name string }

// The staff actions of the case workflow.
var (
	Screen      = Action[care.Screening]{UpdateScreen}
	Assess      = Action[care.Assessment]{UpdateAssess}
	Stratify    = Action[care.Stratification]{UpdateStratify}
	Plan        = Action[care.CarePlan]{UpdatePlan}
	Contact     = Action[care.Contact]{UpdateContact}
	Transition  = Action[care.Transition]{UpdateTransition}
	Evaluate    = Action[care.Evaluation]{UpdateEvaluate}
	Close       = Action[care.Closure]{UpdateClose}
	Call        = Action[care.CallResult]{UpdateCall}
	Complete    = Action[care.TaskCompletion]{UpdateComplete}
	Pause       = Action[care.Pause]{UpdatePause}
	Resume      = Action[care.Pause]{UpdateResume}
	Appointment = Action[care.Attendance]{UpdateAppointment}
)

// Search attributes of a case. They hold opaque ids and enums only: Temporal
// does not encrypt them.
var (
	AttrPhase   = temporal.NewSearchAttributeKeyKeyword("CasePhase")
	AttrRisk    = temporal.NewSearchAttributeKeyKeyword("CaseRisk")
	AttrProgram = temporal.NewSearchAttributeKeyKeyword("CaseProgram")
	AttrManager = temporal.NewSearchAttributeKeyKeyword("CaseManager")
	AttrNextDue = temporal.NewSearchAttributeKeyTime("CaseNextDue")
)

// SearchAttributeTypes lists the custom search attributes to register on a
// namespace, as name=type pairs the Temporal CLI understands.
var SearchAttributeTypes = []string{
	"CasePhase=Keyword", "CaseRisk=Keyword", "CaseProgram=Keyword", "CaseManager=Keyword", "CaseNextDue=Datetime",
	"CasePaused=Bool",
}

// CaseInput starts (or continues) a case workflow.
//
// A case pins the policy version it opened with for its whole life. Its
// input names that version (PolicyVersion, the program being the case's)
// and each run reads the policy with the LoadPolicy local activity (change
// policy-by-reference), so the input stays small and a worker keeps one
// decoded copy of each version for all its cases. Cases opened before that
// change carry the whole policy in Policy instead, and keep it.
type CaseInput struct {
	// Case is the case to open; a continued run's case is State.Case.
	Case care.Case `json:"case,omitzero"`
	// PolicyVersion is the version of the program's policy the case runs
	// under.
	PolicyVersion int `json:"policy_version,omitempty"`
	// Policy is the policy itself, in the input of cases opened (or runs
	// continued) before change policy-by-reference.
	Policy care.Policy `json:"policy,omitzero"`
	// State is set when the workflow continues as new: the whole case so
	// far (without its policy under change policy-by-reference).
	State *CaseState `json:"state,omitempty"`
	// MaxStepsPerRun bounds the steps (activities and timers) of one run
	// before it continues as new; zero means DefaultMaxStepsPerRun.
	MaxStepsPerRun int `json:"max_steps_per_run,omitempty"`
}

// Change ids for workflow.GetVersion: every change to the logic of running
// cases gets one (see docs/workflow-changes.md).
const (
	// versionServiceWorkflows: services are coordinated by ServiceWorkflow
	// children (authorization, booking, reminders, attendance).
	versionServiceWorkflows = "service-workflows"
	// versionAuthorizationBackoff: inquiries about a pended authorization
	// start 30 s after submission and back off, instead of starting at the
	// longest interval.
	versionAuthorizationBackoff = "authorization-backoff"
	// versionVisitBooking: a discharge books the face-to-face visit through
	// a ServiceWorkflow, in a window ending at the visit's due time.
	versionVisitBooking = "tcm-visit-booking"
	// versionRecordStepLocal: RecordStep, and the activities that only
	// compute on a staff action's path (risk rules, discharge clocks,
	// calendar months), run as local activities in the workflow task, not
	// through the task queue (a staff action answers sooner, a step costs
	// fewer events). Version 2: a step upserts only the search attributes
	// whose value changed, and none when none did.
	versionRecordStepLocal = "record-step-local"
	// versionPolicyByReference: a run continues as new with its policy
	// named by version (CaseInput.PolicyVersion), not copied into the next
	// run's input twice (CaseInput.Policy and CaseState.Policy), and with
	// the case only in its state.
	versionPolicyByReference = "policy-by-reference"
)

// DefaultMaxStepsPerRun keeps a run's history well under Temporal's
// 4,096-event budget that caseflow sets itself: a step (a follow-up call, a
// staff action) costs up to about 20 events.
const DefaultMaxStepsPerRun = 150

// ContinueAsNewAfterEvents continues a run whose history passed this length,
// whatever the step count says.
const ContinueAsNewAfterEvents = 3000

// CaseState is everything the workflow knows about a case. It is carried
// across continue-as-new, so it must stay small: ids and staff records, with
// the timeline bounded (the full audit trail is in PostgreSQL).
type CaseState struct {
	Case care.Case `json:"case"`
	// Policy is the case's pinned policy. A run continued under change
	// policy-by-reference leaves it out of its input and reads it again.
	Policy        care.Policy         `json:"policy,omitzero"`
	Phase         care.Phase          `json:"phase"`
	PhaseSince    time.Time           `json:"phase_since"`
	Risk          care.RiskLevel      `json:"risk,omitempty"`
	Category      care.CareCategory   `json:"care_category,omitempty"`
	Proposal      *care.RiskProposal  `json:"risk_proposal,omitempty"`
	Screening     *care.Screening     `json:"screening,omitempty"`
	Assessment    *care.Assessment    `json:"assessment,omitempty"`
	Plan          *care.CarePlan      `json:"plan,omitempty"`
	Services      []care.ServiceState `json:"services,omitempty"`
	Transition    *care.Transition    `json:"transition,omitempty"`
	TransitionAt  time.Time           `json:"transition_at,omitzero"`
	LastContactAt time.Time           `json:"last_contact_at,omitzero"`
	Evaluation    *care.Evaluation    `json:"evaluation,omitempty"`
	Closure       *care.Closure       `json:"closure,omitempty"`
	ClosedAt      time.Time           `json:"closed_at,omitzero"`
	// Seq numbers the case's audit events; (case id, Seq) is their key.
	Seq      int             `json:"seq"`
	Timeline []TimelineEntry `json:"timeline"`
	// Coordinate is set when an approved plan waits for coordination.
	Coordinate bool `json:"coordinate,omitempty"`

	// Tasks are the open work items and clocks (closed ones live in
	// PostgreSQL). TaskSeq numbers them: task ids are kind-n.
	Tasks   []care.Task `json:"tasks,omitempty"`
	TaskSeq int         `json:"task_seq"`
	// NextCallAt is when the next follow-up call falls due (zero: none).
	NextCallAt time.Time `json:"next_call_at,omitzero"`
	// NextReassessAt is when the next periodic re-assessment falls due.
	NextReassessAt time.Time `json:"next_reassess_at,omitzero"`
	// NoAnswers counts consecutive unanswered calls.
	NoAnswers int `json:"no_answers,omitempty"`
	// Messages are the keys of the latest external messages whose
	// transitions the case took (care.Transition.Message, change
	// adt-message-once), at most MessagesKept.
	Messages []string `json:"messages,omitempty"`
	// Discharge holds the clocks of the latest discharge.
	Discharge *care.DischargeClocks `json:"discharge,omitempty"`
	// Paused suspends the outreach clocks since PausedAt.
	Paused      bool      `json:"paused,omitempty"`
	PausedAt    time.Time `json:"paused_at,omitzero"`
	PauseReason string    `json:"pause_reason,omitempty"`
	// Runs counts the workflow runs of the case (continue-as-new).
	Runs int `json:"runs"`
	// PlanVersion counts the care plans approved; the services of the
	// current one are coordinated by ServiceWorkflow children when
	// ServicesStarted.
	PlanVersion     int  `json:"plan_version,omitempty"`
	ServicesStarted bool `json:"services_started,omitempty"`
	// Clocks holds the state of the audited clocks (clockstate.go).
	Clocks ClockState `json:"clocks,omitzero"`
	// Diffed is set once a plan was approved as a diff of the current one
	// (versionPlanDiff): services carry the plan version that started
	// their coordination.
	Diffed bool `json:"diffed,omitempty"`
	// StartPending lists the services the last plan change added or
	// replaced, to start when the plan is coordinated.
	StartPending []string `json:"start_pending,omitempty"`
	// PlanChanges are the latest plan changes: what each approval did to
	// each service.
	PlanChanges []care.PlanChange `json:"plan_changes,omitempty"`
}

// TimelineEntry is one step of a case as the status query shows it.
type TimelineEntry struct {
	Seq     int        `json:"seq"`
	At      time.Time  `json:"at"`
	Actor   string     `json:"actor"`
	Action  string     `json:"action"`
	Phase   care.Phase `json:"phase"`
	Summary string     `json:"summary"`
}

// TimelineLimit bounds the timeline kept in workflow state.
const TimelineLimit = 50

// Item is an open work item of a case (a FHIR Task): what is due, by when,
// and who owns it.
type Item struct {
	TaskID      string    `json:"task_id,omitempty"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Owner       string    `json:"owner"`
	Due         time.Time `json:"due"`
}

// Status is the answer to the status query and to every staff action.
//
// A staff action's answer leaves out what does not change with an action:
// its Policy is empty and its Timeline holds only the steps the action
// recorded (Seq is still the case's last). The answer is stored in the
// case's history with every action, so the whole state would make each
// action's history grow with the case. The status query gives the whole.
type Status struct {
	CaseState
	OpenItems []Item     `json:"open_items"`
	NextDue   *time.Time `json:"next_due,omitempty"`
}

// CaseResult is the result of a closed case.
type CaseResult struct {
	CaseID string             `json:"case_id"`
	Reason care.ClosureReason `json:"reason"`
}

// The service workflow's contract: ServiceWorkflow coordinates one planned
// service of a case as a child of the case workflow, and the two talk by
// signals.

// Signals between a case and the coordination of its services.
const (
	// SignalServiceUpdate carries a care.ServiceUpdate from a service's
	// coordination to its case.
	SignalServiceUpdate = "service-update"
	// SignalAttendance carries a care.Attendance from the case to the
	// service's coordination.
	SignalAttendance = "attendance"
)

// ServiceInput starts (or continues) the coordination of one planned service.
type ServiceInput struct {
	CaseID         string       `json:"case_id"`
	PatientID      string       `json:"patient_id"`
	CaseWorkflowID string       `json:"case_workflow_id"`
	PlanVersion    int          `json:"plan_version"`
	Service        care.Service `json:"service"`
	Policy         care.Policy  `json:"policy"`
	// Expedited asks the payer for an expedited (72 h) decision.
	Expedited bool `json:"expedited,omitempty"`
	// Exempt: the case's payer type is exempt from the decision deadlines
	// (no deadline timer, no escalation).
	Exempt bool `json:"exempt,omitempty"`
	// Progress is set when the workflow continues as new.
	Progress *ServiceProgress `json:"progress,omitempty"`
}

// ServiceProgress is where a service's coordination stands between runs.
type ServiceProgress struct {
	State      care.ServiceState `json:"state"`
	Occurrence int               `json:"occurrence"`
	Attempt    int               `json:"attempt"`
	From       time.Time         `json:"from"`
	AuthRound  int               `json:"auth_round"`
	// Version is the versionServiceAmend version the coordination runs,
	// decided when it started and kept across continue-as-new.
	Version workflow.Version `json:"version,omitempty"`
	// Reauthorize asks for a new authorization before the next booking:
	// an amendment outgrew the current one.
	Reauthorize bool `json:"reauthorize,omitempty"`
}

// ServiceWorkflowID is the workflow id of a service's coordination.
func ServiceWorkflowID(caseID, serviceID string, planVersion int) string {
	return fmt.Sprintf("%s-svc-%s-p%d", care.WorkflowID(caseID), serviceID, planVersion)
}
