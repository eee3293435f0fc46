package care_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

// requireInvalid checks that err is a ValidationError naming field and, when
// given, that its message contains each of want.
func requireInvalid(t *testing.T, err error, field string, want ...string) {
	t.Helper()
	require.Error(t, err)
	var ve *care.ValidationError
	require.True(t, errors.As(err, &ve), "want a *care.ValidationError, got %T: %v", err, err)
	require.Equal(t, field, ve.Field, "error: %v", err)
	require.True(t, strings.HasPrefix(err.Error(), field+": "), "the message starts with the field: %q", err.Error())
	for _, w := range want {
		require.Contains(t, err.Error(), w)
	}
}

func TestScreeningValidate(t *testing.T) {
	require.NoError(t, care.Screening{Eligible: true}.Validate())
	require.NoError(t, care.Screening{Eligible: false, Reason: "no qualifying condition"}.Validate())
	requireInvalid(t, care.Screening{Eligible: false}.Validate(), "reason", "not eligible")
	requireInvalid(t, care.Screening{Eligible: false, Reason: "  \t"}.Validate(), "reason")
}

func validAssessment() care.Assessment {
	return care.Assessment{
		Admissions12m: 1, EDVisits6m: 2, InsurancePlan: "medicare-a", PriorServices: []string{"home-nursing"},
		Housing: care.HousingStable, HomeSafe: care.Known(true), SupportNetwork: care.SupportLimited,
		Readiness: care.ReadinessContemplation, Engagement: 3,
		Age: 72, ChronicConditions: 2, Medications: 6,
		Baseline: care.OutcomeScores{PhysicalFunction: 2, ClinicalResults: 3, Financial: 4, Satisfaction: 5, Knowledge: 1, Psychosocial: 3},
	}
}

func TestAssessmentValidate(t *testing.T) {
	require.NoError(t, validAssessment().Validate())

	edge := validAssessment()
	edge.Age, edge.Engagement, edge.Admissions12m, edge.EDVisits6m = 130, 5, 0, 0
	require.NoError(t, edge.Validate())
	edge.Age, edge.Engagement = 0, 1
	require.NoError(t, edge.Validate())
	// Answers left out are unknown, not invalid: the risk rules do not score them.
	unknown := validAssessment()
	unknown.Housing, unknown.SupportNetwork, unknown.Readiness, unknown.Engagement, unknown.HomeSafe = "", "", "", 0, nil
	require.NoError(t, unknown.Validate())

	for _, tc := range []struct {
		name   string
		mutate func(*care.Assessment)
		field  string
		want   string
	}{
		{"negative admissions", func(a *care.Assessment) { a.Admissions12m = -1 }, "admissions_12m", "0 or more"},
		{"negative ED visits", func(a *care.Assessment) { a.EDVisits6m = -1 }, "ed_visits_6m", "0 or more"},
		{"negative age", func(a *care.Assessment) { a.Age = -1 }, "age", "got -1"},
		{"age over 130", func(a *care.Assessment) { a.Age = 131 }, "age", "got 131"},
		{"negative chronic conditions", func(a *care.Assessment) { a.ChronicConditions = -2 }, "chronic_conditions", "0 or more"},
		{"negative medications", func(a *care.Assessment) { a.Medications = -1 }, "medications", "0 or more"},
		{"engagement 6", func(a *care.Assessment) { a.Engagement = 6 }, "engagement", "got 6"},
		{"bad housing", func(a *care.Assessment) { a.Housing = "castle" }, "housing", `"castle"`},
		{"bad support network", func(a *care.Assessment) { a.SupportNetwork = "some" }, "support_network", "none, limited, strong"},
		{"bad readiness", func(a *care.Assessment) { a.Readiness = "ready" }, "readiness", "precontemplation"},
		{"baseline physical function 0", func(a *care.Assessment) { a.Baseline.PhysicalFunction = 0 }, "baseline.physical_function", "got 0"},
		{"baseline clinical results 6", func(a *care.Assessment) { a.Baseline.ClinicalResults = 6 }, "baseline.clinical_results", "got 6"},
		{"baseline financial", func(a *care.Assessment) { a.Baseline.Financial = -1 }, "baseline.financial", ""},
		{"baseline satisfaction", func(a *care.Assessment) { a.Baseline.Satisfaction = 0 }, "baseline.satisfaction", ""},
		{"baseline knowledge", func(a *care.Assessment) { a.Baseline.Knowledge = 9 }, "baseline.knowledge", ""},
		{"baseline psychosocial", func(a *care.Assessment) { a.Baseline.Psychosocial = 0 }, "baseline.psychosocial", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAssessment()
			tc.mutate(&a)
			requireInvalid(t, a.Validate(), tc.field, tc.want)
		})
	}
}

func TestEvaluationValidate(t *testing.T) {
	good := care.OutcomeScores{PhysicalFunction: 1, ClinicalResults: 2, Financial: 3, Satisfaction: 4, Knowledge: 5, Psychosocial: 5}
	require.NoError(t, care.Evaluation{Scores: good}.Validate())
	requireInvalid(t, care.Evaluation{}.Validate(), "scores.physical_function", "1 (poor) to 5 (good)")
	bad := good
	bad.Psychosocial = 6
	requireInvalid(t, care.Evaluation{Scores: bad}.Validate(), "scores.psychosocial", "got 6")
}

func TestOutcomeDomainsOrder(t *testing.T) {
	o := care.OutcomeScores{PhysicalFunction: 1, ClinicalResults: 2, Financial: 3, Satisfaction: 4, Knowledge: 5, Psychosocial: 6}
	require.Equal(t, []care.OutcomeDomain{
		{"physical_function", 1}, {"clinical_results", 2}, {"financial", 3},
		{"satisfaction", 4}, {"knowledge", 5}, {"psychosocial", 6},
	}, o.Domains())
}

func TestStratificationValidate(t *testing.T) {
	proposal := care.RiskProposal{Score: 5, Level: care.RiskModerate, Rules: care.RiskRules}
	for _, tc := range []struct {
		name  string
		s     care.Stratification
		field string // empty: valid
		want  string
	}{
		{"accept proposal", care.Stratification{Category: care.CategoryAcute}, "", ""},
		{"same as proposal, no reason", care.Stratification{Risk: care.RiskModerate, Category: care.CategoryLongTerm}, "", ""},
		{"override with reason", care.Stratification{Risk: care.RiskHigh, Category: care.CategoryIntermediate, OverrideReason: "lives alone"}, "", ""},
		{"override without reason", care.Stratification{Risk: care.RiskHigh, Category: care.CategoryAcute}, "override-reason", "risk high when the rules propose moderate (score 5)"},
		{"override with blank reason", care.Stratification{Risk: care.RiskLow, Category: care.CategoryAcute, OverrideReason: "   "}, "override-reason", "risk low"},
		{"unknown risk", care.Stratification{Risk: "extreme", Category: care.CategoryAcute, OverrideReason: "x"}, "risk", `unknown value "extreme"`},
		{"missing category", care.Stratification{}, "category", "is required"},
		{"unknown category", care.Stratification{Category: "chronic"}, "category", "acute, intermediate, long-term"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate(proposal)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.field, tc.want)
		})
	}
}

func validPlan() care.CarePlan {
	return care.CarePlan{
		Goals: []care.Goal{
			{ID: "g1", Description: "Walk to the shop", Target: "500 m", Due: "2025-06-30"},
			{ID: "g2", Description: "No readmission"},
		},
		Services: []care.Service{
			{ID: "s1", Code: "physiotherapy", Name: "Physio", Frequency: "weekly", Occurrences: 8, RequiresAuthorization: true},
			{ID: "g1", Code: "meals"}, // service ids are their own namespace
		},
	}
}

func TestCarePlanValidate(t *testing.T) {
	require.NoError(t, validPlan().Validate())
	noServices := validPlan()
	noServices.Services = nil
	require.NoError(t, noServices.Validate(), "a plan may have goals only")

	for _, tc := range []struct {
		name   string
		mutate func(*care.CarePlan)
		field  string
		want   string
	}{
		{"no goals", func(p *care.CarePlan) { p.Goals = nil }, "goals", "at least one goal"},
		{"goal without id", func(p *care.CarePlan) { p.Goals[1].ID = " " }, "goals[1].id", "is required"},
		{"duplicate goal id", func(p *care.CarePlan) { p.Goals[1].ID = "g1" }, "goals[1].id", `duplicate goal id "g1"`},
		{"goal without description", func(p *care.CarePlan) { p.Goals[0].Description = "" }, "goals[0].description", "is required"},
		{"due not a date", func(p *care.CarePlan) { p.Goals[0].Due = "next month" }, "goals[0].due", `got "next month"`},
		{"due in another format", func(p *care.CarePlan) { p.Goals[0].Due = "30/06/2025" }, "goals[0].due", "YYYY-MM-DD"},
		{"due impossible date", func(p *care.CarePlan) { p.Goals[1].Due = "2025-02-30" }, "goals[1].due", `"2025-02-30"`},
		{"service without id", func(p *care.CarePlan) { p.Services[0].ID = "" }, "services[0].id", "is required"},
		{"duplicate service id", func(p *care.CarePlan) { p.Services[1].ID = "s1" }, "services[1].id", `duplicate service id "s1"`},
		{"service without code", func(p *care.CarePlan) { p.Services[1].Code = "" }, "services[1].code", "is required"},
		{"service with blank code", func(p *care.CarePlan) { p.Services[0].Code = "  " }, "services[0].code", "physiotherapy"},
		{"negative occurrences", func(p *care.CarePlan) { p.Services[0].Occurrences = -1 }, "services[0].occurrences", "0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlan()
			tc.mutate(&p)
			requireInvalid(t, p.Validate(), tc.field, tc.want)
		})
	}
}

func TestTransitionValidate(t *testing.T) {
	good := care.Transition{Kind: care.TransitionDischarge, From: "hospital", To: "home", Date: "2025-04-01"}
	require.NoError(t, good.Validate())
	for _, tc := range []struct {
		name   string
		mutate func(*care.Transition)
		field  string
		want   string
	}{
		{"missing kind", func(tr *care.Transition) { tr.Kind = "" }, "kind", "is required"},
		{"bad kind", func(tr *care.Transition) { tr.Kind = "escape" }, "kind", "discharge, transfer, level-change"},
		{"missing from", func(tr *care.Transition) { tr.From = " " }, "from", "is required"},
		{"missing to", func(tr *care.Transition) { tr.To = "" }, "to", "is required"},
		{"missing date", func(tr *care.Transition) { tr.Date = "" }, "date", "YYYY-MM-DD"},
		{"bad date", func(tr *care.Transition) { tr.Date = "2025-4-1" }, "date", `got "2025-4-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := good
			tc.mutate(&tr)
			requireInvalid(t, tr.Validate(), tc.field, tc.want)
		})
	}
}

func TestContactValidate(t *testing.T) {
	for _, party := range care.ContactParties {
		require.NoError(t, care.Contact{With: party}.Validate())
	}
	require.NoError(t, care.Contact{With: care.PartyClient, BackTo: care.PhaseAssessment}.Validate())
	require.NoError(t, care.Contact{With: care.PartyFamily, BackTo: care.PhasePlanning}.Validate())
	requireInvalid(t, care.Contact{}.Validate(), "with", "is required")
	requireInvalid(t, care.Contact{With: "neighbour"}.Validate(), "with", `unknown value "neighbour"`)
	requireInvalid(t, care.Contact{With: care.PartyClient, BackTo: care.PhaseClosed}.Validate(), "back-to", "assessment or planning")
	requireInvalid(t, care.Contact{With: care.PartyClient, BackTo: care.PhaseScreening}.Validate(), "back-to", `"screening"`)
}

func TestClosureValidate(t *testing.T) {
	for _, r := range care.ClosureReasons {
		require.NoError(t, care.Closure{Reason: r}.Validate(), "reason %s", r)
	}
	requireInvalid(t, care.Closure{}.Validate(), "reason", "is required", "goals-met")
	requireInvalid(t, care.Closure{Reason: "done"}.Validate(), "reason", `unknown value "done"`)
}

func validCase() care.Case {
	return care.Case{
		ID: "c-1a2b", PatientID: "p-0123456789abcdef", Program: "chf", Model: care.ModelClinical,
		Manager: "cm-ana", Source: care.SourceADT, OpenedBy: "cm-ana", OpenedAt: time.Now(),
	}
}

func TestCaseValidate(t *testing.T) {
	require.NoError(t, validCase().Validate())
	for _, tc := range []struct {
		name   string
		mutate func(*care.Case)
		field  string
	}{
		{"name as case id", func(c *care.Case) { c.ID = "River Quinn" }, "case-id"},
		{"birth date as patient id", func(c *care.Case) { c.PatientID = "1991-04-02/x" }, "patient-id"},
		{"upper-case program", func(c *care.Case) { c.Program = "CHF" }, "program"},
		{"missing model", func(c *care.Case) { c.Model = "" }, "model"},
		{"bad model", func(c *care.Case) { c.Model = "hands-off" }, "model"},
		{"bad manager", func(c *care.Case) { c.Manager = "Ana" }, "manager"},
		{"bad source", func(c *care.Case) { c.Source = "email" }, "source"},
		{"missing opened by", func(c *care.Case) { c.OpenedBy = "" }, "actor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validCase()
			tc.mutate(&c)
			requireInvalid(t, c.Validate(), tc.field)
		})
	}
}

func TestValidateOpaqueID(t *testing.T) {
	for _, id := range []string{"c-1a2b", "cm-ana", "p-0123456789abcdef", "ab", "a.b_c-d", "0x", strings.Repeat("a", 63)} {
		require.NoError(t, care.ValidateOpaqueID("id", id), "%q", id)
	}
	for _, id := range []string{
		"River Quinn", "river quinn", "1991-04-02/x", "C-1A2B", "Cm-ana", "", "a", "-ab", ".ab", "_ab",
		strings.Repeat("a", 64), "mrn#123", "ana@example.org", "é-ab",
	} {
		err := care.ValidateOpaqueID("patient-id", id)
		requireInvalid(t, err, "patient-id", "is not an opaque id", "never a name")
	}
}

func TestParseEnum(t *testing.T) {
	got, err := care.ParseEnum("risk", "high", care.RiskLevels)
	require.NoError(t, err)
	require.Equal(t, care.RiskHigh, got)

	m, err := care.ParseEnum("model", "strengths-based", care.Models)
	require.NoError(t, err)
	require.Equal(t, care.ModelStrengthsBased, m)

	_, err = care.ParseEnum("risk", "", care.RiskLevels)
	require.EqualError(t, err, "risk: is required; use one of low, moderate, high")
	requireInvalid(t, err, "risk")

	got, err = care.ParseEnum("risk", "extreme", care.RiskLevels)
	require.EqualError(t, err, `risk: unknown value "extreme"; use one of low, moderate, high`)
	require.Equal(t, care.RiskUnknown, got)

	_, err = care.ParseEnum("risk", "High", care.RiskLevels)
	require.Error(t, err, "values are case-sensitive")

	_, err = care.ParseEnum("source", "fax", care.Sources)
	require.EqualError(t, err, `source: unknown value "fax"; use one of referral, adt, claims`)
}

func TestCaseID(t *testing.T) {
	id := care.CaseID("p-0123456789abcdef", "chf")
	require.Equal(t, id, care.CaseID("p-0123456789abcdef", "chf"), "deterministic")
	require.True(t, strings.HasPrefix(id, "c-"))
	require.Regexp(t, `^c-[0-9a-f]{16}$`, id)
	require.NoError(t, care.ValidateOpaqueID("case-id", id))
	require.NotContains(t, id, "0123456789abcdef", "the case id does not embed the patient id")

	require.NotEqual(t, id, care.CaseID("p-0123456789abcdef", "copd"), "differs by program")
	require.NotEqual(t, id, care.CaseID("p-fedcba9876543210", "chf"), "differs by patient")
	// The separator keeps the patient/program boundary unambiguous.
	require.NotEqual(t, care.CaseID("p-1", "2x"), care.CaseID("p-12", "x"))

	require.Equal(t, "case-"+id, care.WorkflowID(id))
}

func TestCheckHappenedAt(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	opened := now.Add(-10 * 24 * time.Hour)
	check := func(at time.Time) error {
		return care.CheckHappenedAt(at, now, opened, 15*time.Minute, 90*24*time.Hour)
	}
	require.NoError(t, check(time.Time{}), "no time: when recorded")
	require.NoError(t, check(now.Add(-3*24*time.Hour)))
	require.NoError(t, check(now.Add(10*time.Minute)), "clocks differ")
	require.NoError(t, check(opened.Add(-24*time.Hour)), "after a discharge entered late, before the case opened")
	var v *care.ValidationError
	err := check(now.Add(time.Hour))
	require.ErrorAs(t, err, &v)
	require.Equal(t, "at", v.Field)
	require.ErrorContains(t, err, "is in the future")
	err = check(opened.Add(-91 * 24 * time.Hour))
	require.ErrorAs(t, err, &v)
	require.ErrorContains(t, err, "is more than 90d before the case opened (2026-11-27T15:00:00Z)")
}
