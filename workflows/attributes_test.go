package workflows_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// upsert is one search-attribute upsert of a case: the attributes it set or
// unset, and how many steps the case had recorded when it was made.
type upsert struct {
	names []string
	steps int
}

// A step upserts only the search attributes whose value it changed (version
// 2 of change record-step-local): a second contact in follow-up changes none
// of them and upserts nothing, and no upsert unsets a risk that was never
// set.
func TestAStepUpsertsOnlyTheSearchAttributesItChanged(t *testing.T) {
	c := newCaseEnv(t)
	var upserts []upsert
	c.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		var names []string
		for k := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
			names = append(names, k.GetName())
		}
		slices.Sort(names)
		upserts = append(upserts, upsert{names: names, steps: len(c.steps)})
	}).Return(nil)
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Category: care.CategoryAcute})
	c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	first := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	second := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily})
	closeR := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, first.err)
	require.NoError(t, second.err)
	require.NoError(t, closeR.err)
	require.Equal(t, care.PhaseFollowUp, second.status.Phase)

	contacts := 0
	for i, e := range c.events {
		if e.Action == string(care.ActionContact) {
			contacts++
			if contacts == 2 {
				for _, u := range upserts {
					require.NotEqual(t, i, u.steps, "the second contact upserted %v", u.names)
				}
			}
		}
	}
	require.Equal(t, 2, contacts)
	require.Less(t, len(upserts), len(c.events), "fewer upserts than steps")
	require.NotEmpty(t, upserts)
	require.Equal(t, []string{"CaseNextDue", "CasePhase"}, upserts[0].names, "the first step sets phase and next due, and leaves the unknown risk alone")
	for _, u := range upserts {
		require.NotEmpty(t, u.names)
	}
	// The stratified risk is set once: no later upsert repeats it.
	risk := 0
	for _, u := range upserts {
		if slices.Contains(u.names, "CaseRisk") {
			risk++
		}
	}
	require.Equal(t, 1, risk)
}
