package care_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

func TestDiffPlansByServiceID(t *testing.T) {
	pt := care.Service{ID: "pt", Code: "physiotherapy", Frequency: "weekly", RequiresAuthorization: true}
	np := care.Service{ID: "np", Code: "neuropsychology"}
	ot := care.Service{ID: "ot", Code: "occupational-therapy"}
	monthly := pt
	monthly.Frequency = "monthly"
	recoded := np
	recoded.Code = "neurology"

	same := care.DiffPlans(2, []care.Service{pt, np}, []care.Service{pt, np})
	require.Equal(t, 2, same.Count(care.ServiceUnchanged))
	require.Equal(t, "plan v2: pt unchanged, np unchanged", same.Summary())

	pc := care.DiffPlans(3, []care.Service{pt, np, ot}, []care.Service{monthly, recoded, {ID: "fin", Code: "financial-counselling"}})
	kinds := map[string]care.ServiceChangeKind{}
	for _, c := range pc.Services {
		kinds[c.ServiceID] = c.Kind
	}
	require.Equal(t, map[string]care.ServiceChangeKind{"pt": care.ServiceAmended, "np": care.ServiceReplaced,
		"fin": care.ServiceAdded, "ot": care.ServiceRemoved}, kinds)
	require.Equal(t, "plan v3: pt amended (frequency weekly → monthly), np replaced, fin added, ot removed", pc.Summary())
}

func TestExpeditedAndExemptArePolicy(t *testing.T) {
	legacy := care.AuthorizationPolicy{}
	require.True(t, legacy.IsExpedited(care.RiskHigh, care.CategoryIntermediate, "physiotherapy"), "policies without the rule: high risk")
	require.True(t, legacy.IsExpedited(care.RiskLow, care.CategoryAcute, "physiotherapy"), "or acute")
	require.False(t, legacy.IsExpedited(care.RiskLow, care.CategoryLongTerm, "physiotherapy"))

	p := care.AuthorizationPolicy{ExpeditedWhen: &care.ExpeditedRule{Services: []string{"neuropsychology"}}, ExemptPayerTypes: []string{"exchange"}}
	require.False(t, p.IsExpedited(care.RiskHigh, care.CategoryAcute, "physiotherapy"))
	require.True(t, p.IsExpedited(care.RiskLow, care.CategoryLongTerm, "neuropsychology"))
	require.True(t, p.IsExempt("exchange"))
	require.False(t, p.IsExempt("medicaid"))
	require.False(t, p.IsExempt(""))
}

func TestPlanCodesMustBeInTheCatalog(t *testing.T) {
	p := care.CarePlan{Goals: []care.Goal{{ID: "g", Description: "walk"}}, Services: []care.Service{{ID: "pt", Code: "physiotherapy"}, {ID: "yg", Code: "yoga"}}}
	err := p.CheckCatalog([]string{"physiotherapy", "neuropsychology", "physiotherapy"})
	require.Equal(t, care.KindInvalid, care.KindOf(err))
	require.ErrorContains(t, err, `services[1].code: unknown service code "yoga"; known codes: neuropsychology, physiotherapy`)
	require.NoError(t, p.CheckCatalog([]string{"physiotherapy", "yoga"}))

	p.PayerType = "gold-plan"
	require.ErrorContains(t, p.Validate(), "payer_type")
}

func TestAmendmentsAppealsBookingsAreChecked(t *testing.T) {
	require.Error(t, care.ServiceAmendment{ServiceID: "pt"}.Validate(), "nothing to change")
	require.Error(t, care.ServiceAmendment{ServiceID: "pt", Frequency: "hourly"}.Validate())
	am := care.ServiceAmendment{ServiceID: "pt", Frequency: "Monthly"}
	require.NoError(t, am.Validate())
	require.Equal(t, "monthly", am.Apply(care.Service{ID: "pt", Frequency: "weekly"}).Frequency)
	require.Error(t, care.Appeal{ServiceID: "pt"}.Validate(), "an appeal needs its grounds")
	require.Error(t, care.ManualBooking{ServiceID: "pt"}.Validate(), "a slot is required")
}
