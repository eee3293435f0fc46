package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// hints are the texts staff see when an action is refused in a phase.
var hints = map[care.Phase]string{
	care.PhaseScreening:      "screen the client first (caseflow case screen)",
	care.PhaseAssessment:     "assess the client first (caseflow case assess)",
	care.PhaseStratification: "confirm the risk level first (caseflow case stratify)",
	care.PhasePlanning:       "approve a care plan first (caseflow case plan)",
	care.PhaseImplementation: "the plan's services are being coordinated; try again in a moment",
	care.PhaseFollowUp:       "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)",
	care.PhaseTransition:     "the client is in hospital: record the discharge (caseflow case transition --kind discharge)",
	care.PhasePostTransition: "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)",
	care.PhaseEvaluation:     "close the case (caseflow case close --reason)",
	care.PhaseClosed:         "the case is closed",
}

// walkCase is a case in phase p whose state lets every action's other
// checks pass: a proposal to stratify against, an open call and visit, a
// booked appointment, its clocks paused when paused is set.
func walkCase(p care.Phase, paused bool) *caseWorkflow {
	w := &caseWorkflow{state: CaseState{
		Case:     care.Case{ID: "c-walk", PatientID: "p-walk", Manager: "cm-ana", Model: care.ModelClinical},
		Phase:    p,
		Proposal: &care.RiskProposal{Level: care.RiskModerate, Score: 4, Rules: "risk-v1"},
		Tasks: []care.Task{
			{ID: "call-1", Kind: care.TaskCall, Status: care.TaskOpen},
			{ID: "tcm-visit-2", Kind: care.TaskTCMVisit, Status: care.TaskOpen},
		},
		Services: []care.ServiceState{{
			Service:     care.Service{ID: "pt", Code: "physiotherapy"},
			Appointment: &care.AppointmentRef{ID: "appt-1", Status: "booked"},
		}},
	}}
	if paused {
		w.state.Paused, w.state.PausedAt, w.state.PauseReason = true, time.Unix(0, 0), "walk"
	}
	if p == care.PhaseClosed {
		w.state.Closure = &care.Closure{Reason: care.ClosureGoalsMet}
	}
	return w
}

var scores = care.OutcomeScores{PhysicalFunction: 3, ClinicalResults: 3, Financial: 3, Satisfaction: 3, Knowledge: 3, Psychosocial: 3}

// validate runs the validator of branch b of action a, as the case's update
// validator does, with a record that is valid and has that branch.
var validate = map[care.Action]func(w *caseWorkflow, b care.Branch) error{
	care.ActionScreen: func(w *caseWorkflow, b care.Branch) error {
		s := care.Screening{Eligible: b == care.BranchEligible}
		if !s.Eligible {
			s.Reason = "enrolled elsewhere"
		}
		return w.canScreen("cm-ana", s)
	},
	care.ActionAssess: func(w *caseWorkflow, _ care.Branch) error {
		return w.canAssess("cm-ana", care.Assessment{Housing: care.HousingStable, SupportNetwork: care.SupportStrong,
			Readiness: care.ReadinessAction, Engagement: 3, Age: 50, Baseline: scores})
	},
	care.ActionStratify: func(w *caseWorkflow, _ care.Branch) error {
		return w.canStratify("cm-ana", care.Stratification{Category: care.CategoryAcute})
	},
	care.ActionPlan: func(w *caseWorkflow, _ care.Branch) error {
		return w.canPlan("cm-ana", care.CarePlan{Goals: []care.Goal{{ID: "walk", Description: "walk unaided"}}})
	},
	care.ActionContact: func(w *caseWorkflow, b care.Branch) error {
		c := care.Contact{With: care.PartyClient}
		for _, p := range care.Phases {
			if (care.Contact{BackTo: p}).Branch() == b {
				c.BackTo = p
			}
		}
		return w.canContact(time.Time{}, "cm-ana", c)
	},
	care.ActionCall: func(w *caseWorkflow, b care.Branch) error {
		return w.canCall(time.Time{}, "cm-ana", care.CallResult{TaskID: "call-1", Outcome: care.CallReached, Deteriorated: b == care.BranchDeteriorated})
	},
	care.ActionComplete: func(w *caseWorkflow, _ care.Branch) error {
		return w.canComplete("cm-ana", care.TaskCompletion{TaskID: "tcm-visit-2"})
	},
	care.ActionTransition: func(w *caseWorkflow, b care.Branch) error {
		return w.canTransitionRecord("cm-ana", care.Transition{Kind: care.TransitionKind(b), From: "hospital", To: "home", Date: "2026-12-01"})
	},
	care.ActionPause: func(w *caseWorkflow, _ care.Branch) error {
		return w.canPause("cm-ana", care.Pause{Reason: "re-admitted"})
	},
	care.ActionResume: func(w *caseWorkflow, _ care.Branch) error {
		return w.canResume("cm-ana", care.Pause{Reason: "discharged"})
	},
	care.ActionAppointment: func(w *caseWorkflow, _ care.Branch) error {
		return w.canAppointment("cm-ana", care.Attendance{AppointmentID: "appt-1", Status: "attended"})
	},
	care.ActionEvaluate: func(w *caseWorkflow, _ care.Branch) error {
		return w.canEvaluate("cm-ana", care.Evaluation{Scores: scores, WithoutTransition: true, Reason: "test"})
	},
	care.ActionClose: func(w *caseWorkflow, _ care.Branch) error {
		return w.canClose("cm-ana", care.Closure{Reason: care.ClosureTransferred})
	},
}

// answer is what a client sees of a refusal: the Type (the kind) and the
// message of the application error the update validator answers with.
func answer(t *testing.T, err error) (care.ErrorKind, string) {
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%T is not an application error", err)
	return care.ErrorKind(ae.Type()), ae.Message()
}

// TestEveryActionInEveryPhaseIsAllowedOrRefusedWithTheHint walks the phase
// machine: every branch of every staff action in every phase is either
// accepted by the update validator, or refused as not allowed with the
// table's hint.
func TestEveryActionInEveryPhaseIsAllowedOrRefusedWithTheHint(t *testing.T) {
	require.ElementsMatch(t, care.StaffActions, slices.Collect(maps.Keys(validate)), "the walk covers every staff action")
	walked := 0
	for _, p := range care.Phases {
		for _, a := range care.StaffActions {
			for _, b := range care.Machine.Branches(a) {
				name := fmt.Sprintf("%s (%s) in %s", a, b, p)
				// The clocks are paused for resume, so that the phase
				// decides.
				err := appError(validate[a](walkCase(p, a == care.ActionResume), b))
				walked++
				if _, ok := care.Machine.Next(p, a, b); ok {
					require.NoError(t, err, name)
					continue
				}
				require.Error(t, err, name)
				kind, msg := answer(t, err)
				require.Equal(t, care.KindNotAllowed, kind, name)
				if a == care.ActionClose && p == care.PhaseClosed {
					require.Equal(t, "the case is already closed (goals-met)", msg, name)
					continue
				}
				require.Equal(t, fmt.Sprintf("%s is not allowed while the case is in %s: %s", a, p, hints[p]), msg, name)
			}
		}
	}
	require.Greater(t, walked, len(care.Phases)*len(care.StaffActions))
}

func TestRefusalsBeyondThePhaseHaveTheirKind(t *testing.T) {
	followUp := func() *caseWorkflow { return walkCase(care.PhaseFollowUp, false) }
	for _, tc := range []struct {
		name string
		err  error
		kind care.ErrorKind
		msg  string
	}{
		{"pause twice", walkCase(care.PhaseFollowUp, true).canPause("cm-ana", care.Pause{Reason: "again"}),
			care.KindNotAllowed, "the case's clocks are already paused since 1970-01-01T00:00:00Z (walk)"},
		{"resume unpaused", followUp().canResume("cm-ana", care.Pause{Reason: "again"}),
			care.KindNotAllowed, "resume is not allowed: the case's clocks are not paused"},
		{"resume in screening", walkCase(care.PhaseScreening, false).canResume("cm-ana", care.Pause{Reason: "again"}),
			care.KindNotAllowed, "resume is not allowed: the case's clocks are not paused"},
		{"unknown task", followUp().canCall(time.Time{}, "cm-ana", care.CallResult{TaskID: "call-9", Outcome: care.CallReached}),
			care.KindNotFound, `task: "call-9" is not an open task of this case; open tasks: call-1, tcm-visit-2`},
		{"no open task", func() error {
			w := followUp()
			w.state.Tasks = nil
			return w.canComplete("cm-ana", care.TaskCompletion{TaskID: "call-1"})
		}(), care.KindNotFound, `task: "call-1" is not an open task of this case; it has none open`},
		{"not a call", followUp().canCall(time.Time{}, "cm-ana", care.CallResult{TaskID: "tcm-visit-2", Outcome: care.CallReached}),
			care.KindInvalid, `call: tcm-visit-2 is a tcm-visit task, not a call; mark it done with "caseflow case done"`},
		{"unknown appointment", followUp().canAppointment("cm-ana", care.Attendance{AppointmentID: "appt-9", Status: "attended"}),
			care.KindNotFound, `appointment: "appt-9" is not a booked appointment of this case; booked: appt-1 (pt)`},
		{"bad actor", followUp().canEvaluate("Ana Lopez", care.Evaluation{Scores: scores}), care.KindInvalid, ""},
		{"unknown transition kind", followUp().canTransitionRecord("cm-ana", care.Transition{Kind: "elopement", From: "a", To: "b", Date: "2026-12-01"}),
			care.KindInvalid, `kind: unknown value "elopement"; use one of discharge, transfer, level-change, readmission`},
		{"back to a phase a contact cannot lead to", followUp().canContact(time.Time{}, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhaseClosed}),
			care.KindInvalid, `back-to: unknown value "closed"; use assessment or planning`},
		{"a readmission in hospital", walkCase(care.PhaseTransition, false).canTransitionRecord("cm-ana",
			care.Transition{Kind: care.TransitionReadmission, From: "home", To: "hospital", Date: "not a date"}),
			care.KindNotAllowed, "transition is not allowed while the case is in transition: " + hints[care.PhaseTransition]},
	} {
		err := appError(tc.err)
		require.Error(t, err, tc.name)
		kind, msg := answer(t, err)
		require.Equal(t, tc.kind, kind, tc.name)
		if tc.msg != "" {
			require.Equal(t, tc.msg, msg, tc.name)
		}
	}
}

func loadPolicy(t *testing.T) care.Policy {
	t.Helper()
	b, err := os.ReadFile("../policies/complex-case.json")
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

// TestHandlersMoveCasesOnlyWhereTheTableSays follows every move of the
// table in a workflow, checks the phase and clocks it leaves, and that a
// move the table does not list panics.
func TestHandlersMoveCasesOnlyWhereTheTableSays(t *testing.T) {
	policy := loadPolicy(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	walk := func(ctx workflow.Context) (n int, err error) {
		for _, pr := range care.Machine {
			for _, m := range pr.Moves {
				w := walkCase(pr.Phase, false)
				w.state.Policy = policy
				w.state.NextCallAt = workflow.Now(ctx).Add(time.Hour)
				to := w.follow(ctx, m.Action, m.Branch)
				want := m.To
				if want == "" {
					want = pr.Phase
				}
				if to != m.To || w.state.Phase != want {
					return n, fmt.Errorf("%s (%s) in %s: moved to %q, phase %s; the table says %q", m.Action, m.Branch, pr.Phase, to, w.state.Phase, m.To)
				}
				calls := !w.state.NextCallAt.IsZero()
				if want != pr.Phase && calls != (care.Machine.Rule(want).Clocks != care.ClocksStop) {
					return n, fmt.Errorf("%s (%s) in %s: entering %s left calls running: %v", m.Action, m.Branch, pr.Phase, want, calls)
				}
				n++
			}
		}
		defer func() {
			if r := recover(); r == nil {
				err = errors.New("following a move the table does not list did not panic")
			}
		}()
		walkCase(care.PhaseScreening, false).follow(ctx, care.ActionEvaluate, care.BranchAny)
		return n, nil
	}
	env.RegisterWorkflowWithOptions(walk, workflow.RegisterOptions{Name: "walk"})
	env.ExecuteWorkflow("walk")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var n int
	require.NoError(t, env.GetWorkflowResult(&n))
	require.Greater(t, n, 50)
}

func TestUpdateNamesAreTheTablesActions(t *testing.T) {
	for update, action := range map[string]care.Action{
		UpdateScreen: care.ActionScreen, UpdateAssess: care.ActionAssess, UpdateStratify: care.ActionStratify,
		UpdatePlan: care.ActionPlan, UpdateContact: care.ActionContact, UpdateCall: care.ActionCall,
		UpdateComplete: care.ActionComplete, UpdateTransition: care.ActionTransition, UpdatePause: care.ActionPause,
		UpdateResume: care.ActionResume, UpdateAppointment: care.ActionAppointment, UpdateEvaluate: care.ActionEvaluate,
		UpdateClose: care.ActionClose,
	} {
		require.Equal(t, update, string(action))
	}
}

// TestTheWaitConditionBuildsNoString: the main loop's wait condition asks
// for the next wake at every turn of the workflow's event loop; it gets
// the same time as the clock timer does, without building its summary.
func TestTheWaitConditionBuildsNoString(t *testing.T) {
	w := walkCase(care.PhaseFollowUp, false)
	w.state.Policy.FollowUp.EscalateAfter = care.Duration(time.Hour)
	w.state.Tasks[0].Due = time.Unix(900, 0) // call-1: escalated at 4,500
	w.state.NextCallAt = time.Unix(5000, 0)
	at, why := w.nextWake()
	require.Equal(t, time.Unix(4500, 0), at)
	require.Equal(t, "escalate call-1 if still open", why)
	require.Equal(t, at, w.nextWakeAt())
	require.Zero(t, testing.AllocsPerRun(100, func() { w.nextWakeAt() }), "allocations per wait condition")

	w.state.NextCallAt = time.Unix(1000, 0)
	at, why = w.nextWake()
	require.Equal(t, time.Unix(1000, 0), at)
	require.Contains(t, why, "follow-up call due (every ")
	require.Equal(t, at, w.nextWakeAt())
}
