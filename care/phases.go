package care

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

//go:generate go run ../internal/cmd/phasedoc -o ../docs/phases.md

// Action names what moves a case: a staff action (an update of the case
// workflow; the names are the update names) or a step the workflow takes by
// itself.
type Action string

// The staff actions.
const (
	ActionScreen      Action = "screen"
	ActionAssess      Action = "assess"
	ActionStratify    Action = "stratify"
	ActionPlan        Action = "plan"
	ActionContact     Action = "contact"
	ActionCall        Action = "call"
	ActionComplete    Action = "complete"
	ActionTransition  Action = "transition"
	ActionPause       Action = "pause"
	ActionResume      Action = "resume"
	ActionAppointment Action = "appointment"
	ActionEvaluate    Action = "evaluate"
	ActionClose       Action = "close"
)

// ActionCoordinated is the workflow's own step: once the services of an
// approved plan are set up, the case moves on to follow-up.
const ActionCoordinated Action = "coordinated"

// StaffActions lists every staff action.
var StaffActions = []Action{ActionScreen, ActionAssess, ActionStratify, ActionPlan, ActionContact, ActionCall,
	ActionComplete, ActionTransition, ActionPause, ActionResume, ActionAppointment, ActionEvaluate, ActionClose}

// Branch is the variant of an action that decides the phase it leads to
// (a screening's eligibility, a transition's kind). BranchAny is the only
// branch of an action that always leads to the same phase.
type Branch string

// Branches.
const (
	BranchAny Branch = ""
	// screen
	BranchEligible    Branch = "eligible"
	BranchNotEligible Branch = "not eligible"
	// contact
	BranchBackToAssessment Branch = "back to assessment"
	BranchBackToPlanning   Branch = "back to planning"
	// call
	BranchDeteriorated Branch = "deteriorated"
	// transition: the transition kinds
	BranchDischarge   = Branch(TransitionDischarge)
	BranchTransfer    = Branch(TransitionTransfer)
	BranchLevelChange = Branch(TransitionLevelChange)
	BranchReadmission = Branch(TransitionReadmission)
)

// Branch is the branch of a screening decision: eligible or not.
func (s Screening) Branch() Branch {
	if s.Eligible {
		return BranchEligible
	}
	return BranchNotEligible
}

// Branch is the branch of a contact: back to the phase it names, or none.
func (c Contact) Branch() Branch {
	if c.BackTo == "" {
		return BranchAny
	}
	return Branch("back to " + string(c.BackTo))
}

// Branch is the branch of a call: deteriorated when the client's
// condition deteriorated, or nowhere.
func (c CallResult) Branch() Branch {
	if c.Deteriorated {
		return BranchDeteriorated
	}
	return BranchAny
}

// Branch is the branch of a transition: its kind.
func (t Transition) Branch() Branch { return Branch(t.Kind) }

// Move is an action allowed in a phase and, for one branch of it, the
// phase it leads to.
type Move struct {
	Action Action
	Branch Branch
	// To is the phase the action leads to; "" stays in the phase.
	To Phase
	// Automatic marks a step the workflow takes by itself; staff cannot ask
	// for it.
	Automatic bool
}

// Clocks says what entering a phase does to the follow-up calls and the
// periodic re-assessments.
type Clocks string

// Clock effects of entering a phase.
const (
	// ClocksStart starts the follow-up calls (and re-assessments) afresh.
	ClocksStart Clocks = "start calls"
	// ClocksStartIfNone starts them unless they are running already.
	ClocksStartIfNone Clocks = "start calls if none are running"
	// ClocksStop stops them and cancels the open call and re-assessment
	// tasks.
	ClocksStop Clocks = "stop calls and re-assessments"
)

// DueAfter names how long after a phase is entered its work item falls due:
// a step duration of the policy, or at once.
type DueAfter string

// When work items fall due.
const (
	DueNow            DueAfter = "now"
	DueScreening      DueAfter = "steps.screening"
	DueAssessment     DueAfter = "steps.assessment"
	DueStratification DueAfter = "steps.stratification"
	DuePlanning       DueAfter = "steps.planning"
)

// Of returns the time d names in policy p.
func (d DueAfter) Of(p Policy) time.Duration {
	switch d {
	case DueScreening:
		return p.Steps.Screening.D()
	case DueAssessment:
		return p.Steps.Assessment.D()
	case DueStratification:
		return p.Steps.Stratification.D()
	case DuePlanning:
		return p.Steps.Planning.D()
	}
	return 0
}

// ProposedRisk stands for the risk level the rules propose in a work item's
// description.
const ProposedRisk = "{proposed risk}"

// WorkItem is the step a phase waits for: it shows in the case's worklist
// while the case is in the phase.
type WorkItem struct {
	Kind        string
	Description string
	Due         DueAfter
}

// Describe returns the item's description with the proposed risk level
// filled in.
func (w WorkItem) Describe(proposed RiskLevel) string {
	return strings.ReplaceAll(w.Description, ProposedRisk, string(proposed))
}

// PhaseRule is one row of the phase machine.
type PhaseRule struct {
	Phase Phase
	// Hint tells staff what the case waits for; a refused action shows it.
	Hint string
	// Work is the work item the phase opens, if any.
	Work *WorkItem
	// Clocks is what entering the phase does to the calls.
	Clocks Clocks
	// Moves are the actions allowed in the phase and where they lead.
	Moves []Move
}

// The moves most phases share.
var (
	// onTasks: calls, tasks and appointments can be recorded in any open
	// case; a call that finds the client deteriorated sends the case back
	// to assessment.
	onTasks = []Move{
		{Action: ActionCall},
		{Action: ActionCall, Branch: BranchDeteriorated, To: PhaseAssessment},
		{Action: ActionComplete},
		{Action: ActionAppointment},
	}
	// pausable: the outreach clocks can be paused and resumed.
	pausable = []Move{{Action: ActionPause}, {Action: ActionResume}}
	// closable: staff can close the case.
	closable = []Move{{Action: ActionClose, To: PhaseClosed}}
	// contacts: a contact may send the case back to assessment or planning.
	contacts = []Move{
		{Action: ActionContact},
		{Action: ActionContact, Branch: BranchBackToAssessment, To: PhaseAssessment},
		{Action: ActionContact, Branch: BranchBackToPlanning, To: PhasePlanning},
	}
	// transitions: a discharge, a transfer or a change of level of care
	// starts the post-transition clocks.
	transitions = []Move{
		{Action: ActionTransition, Branch: BranchDischarge, To: PhasePostTransition},
		{Action: ActionTransition, Branch: BranchTransfer, To: PhasePostTransition},
		{Action: ActionTransition, Branch: BranchLevelChange, To: PhasePostTransition},
	}
	// readmission: the client is back in hospital. It is accepted in every
	// open phase after a discharge, so that the readmission watch never
	// misses one (the case workflow refuses it before any discharge outside
	// follow-up and post-transition).
	readmission = []Move{{Action: ActionTransition, Branch: BranchReadmission, To: PhaseTransition}}
	// dischargeInHospital: the discharge of a client readmitted while the
	// case was sent back to assessment or planning. It starts the
	// transitional-care clocks and the readmission watch as any discharge
	// does, and the case stays in its phase: it goes on being re-assessed
	// or re-planned, and reaches follow-up once planned. The case workflow
	// accepts it only when the last transition on record is a readmission
	// (the client is in hospital), so that a readmission's discharge is
	// never missed (change discharge-any-phase).
	dischargeInHospital = []Move{{Action: ActionTransition, Branch: BranchDischarge}}
	evaluate            = []Move{{Action: ActionEvaluate, To: PhaseEvaluation}}
)

// Machine is the phase machine of a case: for each phase, in process order,
// what it waits for, what entering it does and which actions it allows.
// Everything the case workflow decides about phases comes from here.
var Machine = Rules{
	{
		Phase: PhaseScreening, Hint: "screen the client first (caseflow case screen)",
		Work:   &WorkItem{Kind: "screen", Description: "screen the client for eligibility", Due: DueScreening},
		Clocks: ClocksStop,
		Moves: slices.Concat([]Move{
			{Action: ActionScreen, Branch: BranchEligible, To: PhaseAssessment},
			{Action: ActionScreen, Branch: BranchNotEligible, To: PhaseClosed},
		}, onTasks, closable),
	},
	{
		Phase: PhaseAssessment, Hint: "assess the client first (caseflow case assess)",
		Work:   &WorkItem{Kind: "assess", Description: "assess the client and record the outcome baseline", Due: DueAssessment},
		Clocks: ClocksStop,
		Moves:  slices.Concat([]Move{{Action: ActionAssess, To: PhaseStratification}}, readmission, dischargeInHospital, onTasks, pausable, closable),
	},
	{
		Phase: PhaseStratification, Hint: "confirm the risk level first (caseflow case stratify)",
		Work: &WorkItem{Kind: "stratify", Description: "confirm risk level (rules propose " + ProposedRisk + ") and care category",
			Due: DueStratification},
		Clocks: ClocksStop,
		Moves:  slices.Concat([]Move{{Action: ActionStratify, To: PhasePlanning}}, readmission, dischargeInHospital, onTasks, pausable, closable),
	},
	{
		Phase: PhasePlanning, Hint: "approve a care plan first (caseflow case plan)",
		Work:   &WorkItem{Kind: "plan", Description: "agree the care plan with the physician", Due: DuePlanning},
		Clocks: ClocksStop,
		Moves:  slices.Concat([]Move{{Action: ActionPlan, To: PhaseImplementation}}, readmission, dischargeInHospital, onTasks, pausable, closable),
	},
	{
		Phase: PhaseImplementation, Hint: "the plan's services are being coordinated; try again in a moment",
		Work:   &WorkItem{Kind: "coordinate", Description: "coordinate the planned services", Due: DueNow},
		Clocks: ClocksStop,
		Moves: slices.Concat([]Move{{Action: ActionCoordinated, To: PhaseFollowUp, Automatic: true}},
			readmission, dischargeInHospital, onTasks, pausable, closable),
	},
	{
		Phase:  PhaseFollowUp,
		Hint:   "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)",
		Clocks: ClocksStart,
		Moves:  slices.Concat(contacts, transitions, readmission, evaluate, onTasks, pausable, closable),
	},
	{
		Phase: PhaseTransition, Hint: "the client is in hospital: record the discharge (caseflow case transition --kind discharge)",
		Clocks: ClocksStop,
		Moves:  slices.Concat(contacts, transitions, onTasks, pausable, closable),
	},
	{
		Phase:  PhasePostTransition,
		Hint:   "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)",
		Clocks: ClocksStartIfNone,
		Moves:  slices.Concat(contacts, transitions, readmission, evaluate, onTasks, pausable, closable),
	},
	{
		Phase: PhaseEvaluation, Hint: "close the case (caseflow case close --reason)",
		Work:   &WorkItem{Kind: "close", Description: "close the case with a closure reason", Due: DueNow},
		Clocks: ClocksStop,
		Moves:  slices.Concat(readmission, onTasks, pausable, closable),
	},
	{
		Phase: PhaseClosed, Hint: "the case is closed",
		Clocks: ClocksStop,
	},
}

// Rules is a phase machine: one rule per phase.
type Rules []PhaseRule

// Rule returns the rule of phase p; an unknown phase has an empty rule
// whose hint says so.
func (r Rules) Rule(p Phase) PhaseRule {
	for _, pr := range r {
		if pr.Phase == p {
			return pr
		}
	}
	return PhaseRule{Phase: p, Hint: "unknown phase", Clocks: ClocksStop}
}

// Allows reports whether phase p allows action a at all.
func (r Rules) Allows(p Phase, a Action) bool {
	return slices.ContainsFunc(r.Rule(p).Moves, func(m Move) bool { return m.Action == a })
}

// Next returns the phase that branch b of action a leads to from phase p
// ("" when it stays there), and whether p allows it.
func (r Rules) Next(p Phase, a Action, b Branch) (Phase, bool) {
	for _, m := range r.Rule(p).Moves {
		if m.Action == a && m.Branch == b {
			return m.To, true
		}
	}
	return "", false
}

// Branches lists the branches action a has in any phase, in table order.
func (r Rules) Branches(a Action) []Branch {
	var out []Branch
	for _, pr := range r {
		for _, m := range pr.Moves {
			if m.Action == a && !slices.Contains(out, m.Branch) {
				out = append(out, m.Branch)
			}
		}
	}
	return out
}

// Check refuses branch b of action a in phase p when the phase does not
// allow it: a not-allowed error with the phase's hint. A branch the action
// has in no phase (an unknown transition kind) is left to the record's own
// validation, which names the field.
func (r Rules) Check(p Phase, a Action, b Branch) error {
	if !r.Allows(p, a) {
		return r.Refusal(p, a)
	}
	if _, ok := r.Next(p, a, b); !ok && slices.Contains(r.Branches(a), b) {
		return r.Refusal(p, a)
	}
	return nil
}

// Refusal is the error that refuses action a in phase p.
func (r Rules) Refusal(p Phase, a Action) error {
	return NotAllowedf("%s is not allowed while the case is in %s: %s", a, p, r.Rule(p).Hint)
}

// Targets lists the phases action a can lead to from any phase, in
// process order.
func (r Rules) Targets(a Action) []Phase {
	var out []Phase
	for _, p := range Phases {
		for _, pr := range r {
			if slices.ContainsFunc(pr.Moves, func(m Move) bool { return m.Action == a && m.To == p }) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// validBackTo checks the phase a contact sends the case back to: one of
// those a contact can lead to.
func validBackTo(p Phase) error {
	targets := Machine.Targets(ActionContact)
	if slices.Contains(targets, p) {
		return nil
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = string(t)
	}
	return Invalidf("back-to", "unknown value %q; use %s", p, strings.Join(names, " or "))
}

// Validate checks the machine itself: one rule per phase in process order,
// hints, known targets, one move per action and branch.
func (r Rules) Validate() error {
	if len(r) != len(Phases) {
		return fmt.Errorf("the machine has %d phases, want %d", len(r), len(Phases))
	}
	for i, pr := range r {
		if pr.Phase != Phases[i] {
			return fmt.Errorf("rule %d is for %s, want %s", i, pr.Phase, Phases[i])
		}
		if pr.Hint == "" {
			return fmt.Errorf("%s has no hint", pr.Phase)
		}
		switch pr.Clocks {
		case ClocksStart, ClocksStartIfNone, ClocksStop:
		default:
			return fmt.Errorf("%s: unknown clock effect %q", pr.Phase, pr.Clocks)
		}
		for j, m := range pr.Moves {
			if m.To != "" && !slices.Contains(Phases, m.To) {
				return fmt.Errorf("%s: %s leads to unknown phase %q", pr.Phase, m.Action, m.To)
			}
			if !m.Automatic && !slices.Contains(StaffActions, m.Action) {
				return fmt.Errorf("%s: unknown staff action %q", pr.Phase, m.Action)
			}
			for _, o := range pr.Moves[:j] {
				if o.Action == m.Action && o.Branch == m.Branch {
					return fmt.Errorf("%s: %s (%s) is listed twice", pr.Phase, m.Action, m.Branch)
				}
			}
		}
	}
	return nil
}
