package care_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

func TestTheMachineIsWellFormed(t *testing.T) {
	require.NoError(t, care.Machine.Validate())
	for _, a := range care.StaffActions {
		allowed := false
		for _, p := range care.Phases {
			allowed = allowed || care.Machine.Allows(p, a)
		}
		require.True(t, allowed, "%s is allowed in no phase", a)
	}
	require.Empty(t, care.Machine.Rule(care.PhaseClosed).Moves, "a closed case allows nothing")
}

// The hints staff see when an action is refused; the CLI's tests and the
// docs quote them.
func TestHintsSayWhatEachPhaseWaitsFor(t *testing.T) {
	followUp := "record a contact, a call, a transition or the evaluation (caseflow case contact|call|transition|evaluate)"
	want := map[care.Phase]string{
		care.PhaseScreening:      "screen the client first (caseflow case screen)",
		care.PhaseAssessment:     "assess the client first (caseflow case assess)",
		care.PhaseStratification: "confirm the risk level first (caseflow case stratify)",
		care.PhasePlanning:       "approve a care plan first (caseflow case plan)",
		care.PhaseImplementation: "the plan's services are being coordinated; try again in a moment",
		care.PhaseFollowUp:       followUp,
		care.PhaseTransition:     "the client is in hospital: record the discharge (caseflow case transition --kind discharge)",
		care.PhasePostTransition: followUp,
		care.PhaseEvaluation:     "close the case (caseflow case close --reason)",
		care.PhaseClosed:         "the case is closed",
	}
	for _, p := range care.Phases {
		require.Equal(t, want[p], care.Machine.Rule(p).Hint, p)
	}
	require.Equal(t, "unknown phase", care.Machine.Rule("limbo").Hint)
	err := care.Machine.Refusal(care.PhaseScreening, care.ActionAssess)
	require.EqualError(t, err, "assess is not allowed while the case is in screening: screen the client first (caseflow case screen)")
	require.Equal(t, care.KindNotAllowed, care.KindOf(err))
}

// phasesLeading returns the phases where branch b of action a leads to
// phase to ("" stays).
func phasesLeading(a care.Action, b care.Branch, to care.Phase) []care.Phase {
	var out []care.Phase
	for _, p := range care.Phases {
		if next, ok := care.Machine.Next(p, a, b); ok && next == to {
			out = append(out, p)
		}
	}
	return out
}

// phasesAllowing returns the phases that allow branch b of action a.
func phasesAllowing(a care.Action, b care.Branch) []care.Phase {
	var out []care.Phase
	for _, p := range care.Phases {
		if _, ok := care.Machine.Next(p, a, b); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestWhereEachActionIsAllowedAndWhereItLeads(t *testing.T) {
	open := slices.DeleteFunc(slices.Clone(care.Phases), func(p care.Phase) bool { return p == care.PhaseClosed })
	started := open[1:] // every open phase but screening
	inCare := []care.Phase{care.PhaseFollowUp, care.PhaseTransition, care.PhasePostTransition}
	rows := map[string][]care.Phase{}
	for _, tc := range []struct {
		action care.Action
		branch care.Branch
		in     []care.Phase
		to     care.Phase
	}{
		{care.ActionScreen, care.BranchEligible, []care.Phase{care.PhaseScreening}, care.PhaseAssessment},
		{care.ActionScreen, care.BranchNotEligible, []care.Phase{care.PhaseScreening}, care.PhaseClosed},
		{care.ActionAssess, care.BranchAny, []care.Phase{care.PhaseAssessment}, care.PhaseStratification},
		{care.ActionStratify, care.BranchAny, []care.Phase{care.PhaseStratification}, care.PhasePlanning},
		{care.ActionPlan, care.BranchAny, []care.Phase{care.PhasePlanning}, care.PhaseImplementation},
		{care.ActionCoordinated, care.BranchAny, []care.Phase{care.PhaseImplementation}, care.PhaseFollowUp},
		{care.ActionContact, care.BranchAny, inCare, ""},
		{care.ActionContact, care.BranchBackToAssessment, inCare, care.PhaseAssessment},
		{care.ActionContact, care.BranchBackToPlanning, inCare, care.PhasePlanning},
		{care.ActionTransition, care.BranchDischarge, inCare, care.PhasePostTransition},
		// A discharge of a client readmitted while the case is re-assessed or
		// re-planned keeps the phase (the workflow takes it only after a readmission).
		{care.ActionTransition, care.BranchDischarge, []care.Phase{care.PhaseAssessment, care.PhaseStratification, care.PhasePlanning,
			care.PhaseImplementation}, ""},
		{care.ActionTransition, care.BranchTransfer, inCare, care.PhasePostTransition},
		{care.ActionTransition, care.BranchLevelChange, inCare, care.PhasePostTransition},
		// A readmission needs a client out of hospital; it is accepted in every open phase after a discharge.
		{care.ActionTransition, care.BranchReadmission, []care.Phase{care.PhaseAssessment, care.PhaseStratification, care.PhasePlanning,
			care.PhaseImplementation, care.PhaseFollowUp, care.PhasePostTransition, care.PhaseEvaluation}, care.PhaseTransition},
		{care.ActionEvaluate, care.BranchAny, []care.Phase{care.PhaseFollowUp, care.PhasePostTransition}, care.PhaseEvaluation},
		// Tasks and appointments are recorded in any open case.
		{care.ActionCall, care.BranchAny, open, ""},
		{care.ActionCall, care.BranchDeteriorated, open, care.PhaseAssessment},
		{care.ActionComplete, care.BranchAny, open, ""},
		{care.ActionAppointment, care.BranchAny, open, ""},
		{care.ActionPause, care.BranchAny, started, ""},
		{care.ActionResume, care.BranchAny, started, ""},
		{care.ActionClose, care.BranchAny, open, care.PhaseClosed},
	} {
		// A branch that leads to different places has a row for each.
		require.Equal(t, tc.in, phasesLeading(tc.action, tc.branch, tc.to), "%s (%s) to %q", tc.action, tc.branch, tc.to)
		for _, p := range tc.in {
			to, _ := care.Machine.Next(p, tc.action, tc.branch)
			require.Equal(t, tc.to, to, "%s (%s) in %s", tc.action, tc.branch, p)
		}
		key := string(tc.action) + " " + string(tc.branch)
		rows[key] = append(rows[key], tc.in...)
	}
	// Every phase that allows a branch has a row.
	for _, a := range append(slices.Clone(care.StaffActions), care.ActionCoordinated) {
		for _, b := range append(care.Machine.Branches(a), care.BranchAny) {
			require.ElementsMatch(t, phasesAllowing(a, b), rows[string(a)+" "+string(b)], "%s (%s)", a, b)
		}
	}
}

func TestCheckLeavesUnknownBranchesToTheRecord(t *testing.T) {
	// A readmission is a known branch that the transition phase does not
	// allow: refused with the hint.
	err := care.Machine.Check(care.PhaseTransition, care.ActionTransition, care.BranchReadmission)
	require.Equal(t, care.KindNotAllowed, care.KindOf(err))
	require.ErrorContains(t, err, "record the discharge")
	// An unknown kind is for Transition.Validate to name.
	require.NoError(t, care.Machine.Check(care.PhaseFollowUp, care.ActionTransition, "elopement"))
	require.NoError(t, care.Machine.Check(care.PhaseFollowUp, care.ActionContact, care.Contact{BackTo: care.PhaseClosed}.Branch()))
	require.Error(t, care.Machine.Check(care.PhaseScreening, care.ActionTransition, "elopement"), "the phase comes first")
}

func TestWorkItemsAndClocksOnEntry(t *testing.T) {
	items := map[care.Phase]string{}
	for _, pr := range care.Machine {
		if pr.Work != nil {
			items[pr.Phase] = pr.Work.Kind + " " + string(pr.Work.Due)
		}
	}
	require.Equal(t, map[care.Phase]string{
		care.PhaseScreening: "screen steps.screening", care.PhaseAssessment: "assess steps.assessment",
		care.PhaseStratification: "stratify steps.stratification", care.PhasePlanning: "plan steps.planning",
		care.PhaseImplementation: "coordinate now", care.PhaseEvaluation: "close now",
	}, items)
	require.Equal(t, "confirm risk level (rules propose high) and care category",
		care.Machine.Rule(care.PhaseStratification).Work.Describe(care.RiskHigh))
	p := care.Policy{Steps: care.StepPolicy{Screening: 1, Assessment: 2, Stratification: 3, Planning: 4}}
	for d, want := range map[care.DueAfter]int{care.DueNow: 0, care.DueScreening: 1, care.DueAssessment: 2, care.DueStratification: 3, care.DuePlanning: 4} {
		require.EqualValues(t, want, d.Of(p), d)
	}
	for _, ph := range care.Phases {
		want := care.ClocksStop
		switch ph {
		case care.PhaseFollowUp:
			want = care.ClocksStart
		case care.PhasePostTransition:
			want = care.ClocksStartIfNone
		}
		require.Equal(t, want, care.Machine.Rule(ph).Clocks, ph)
	}
}

func TestBranchesOfTheRecords(t *testing.T) {
	require.Equal(t, care.BranchEligible, care.Screening{Eligible: true}.Branch())
	require.Equal(t, care.BranchNotEligible, care.Screening{}.Branch())
	require.Equal(t, care.BranchAny, care.Contact{}.Branch())
	require.Equal(t, care.BranchBackToAssessment, care.Contact{BackTo: care.PhaseAssessment}.Branch())
	require.Equal(t, care.BranchBackToPlanning, care.Contact{BackTo: care.PhasePlanning}.Branch())
	require.Equal(t, care.BranchDeteriorated, care.CallResult{Deteriorated: true}.Branch())
	require.Equal(t, care.BranchAny, care.CallResult{}.Branch())
	for _, k := range care.TransitionKinds {
		require.Equal(t, care.Branch(k), care.Transition{Kind: k}.Branch())
	}
	require.Equal(t, []care.Phase{care.PhaseAssessment, care.PhasePlanning}, care.Machine.Targets(care.ActionContact),
		"a contact sends a case back to assessment or planning, nowhere else")
}
