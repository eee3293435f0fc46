package care_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

// noRisk is an assessment that scores 0.
func noRisk() care.Assessment {
	return care.Assessment{
		Age: 40, Housing: care.HousingStable, HomeSafe: care.Known(true),
		SupportNetwork: care.SupportStrong, Readiness: care.ReadinessAction, Engagement: 4,
	}
}

func TestProposeRiskNone(t *testing.T) {
	p := care.ProposeRisk(noRisk())
	require.Equal(t, care.RiskProposal{Score: 0, Level: care.RiskLow, Rules: "risk-v1"}, p)
	require.Empty(t, p.Factors)
}

func TestProposeRiskBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*care.Assessment)
		score   int
		level   care.RiskLevel
		factors []string
	}{
		{"3 is low", func(a *care.Assessment) {
			a.Age, a.ChronicConditions = 75, 1
		}, 3, care.RiskLow, []string{"age 75+", "chronic condition"}},
		{"exactly 4 is moderate", func(a *care.Assessment) {
			a.Age, a.ChronicConditions = 75, 3
		}, 4, care.RiskModerate, []string{"age 75+", "3+ chronic conditions"}},
		{"6 is moderate", func(a *care.Assessment) {
			a.Age, a.ChronicConditions, a.Medications = 75, 3, 10
		}, 6, care.RiskModerate, []string{"age 75+", "3+ chronic conditions", "10+ medications"}},
		{"exactly 7 is high", func(a *care.Assessment) {
			a.Age, a.ChronicConditions, a.Medications, a.EDVisits6m = 75, 3, 10, 2
		}, 7, care.RiskHigh, []string{"age 75+", "3+ chronic conditions", "10+ medications", "2+ ED visits in 6 months"}},
		{"exactly 7 from social factors", func(a *care.Assessment) {
			a.Housing, a.HomeSafe, a.SupportNetwork = care.HousingHomeless, care.Known(false), care.SupportNone
			a.BehaviouralConcern, a.SubstanceUse, a.NutritionConcern = true, true, true
		}, 7, care.RiskHigh, []string{"emotional or behavioural health", "substance, alcohol or tobacco use",
			"nutrition or exercise", "homeless", "home not safe", "no support network"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := noRisk()
			tc.set(&a)
			p := care.ProposeRisk(a)
			require.Equal(t, tc.score, p.Score)
			require.Equal(t, tc.level, p.Level)
			require.Equal(t, tc.factors, p.Factors)
			require.Equal(t, care.RiskRules, p.Rules)
		})
	}
}

func TestProposeRiskFactors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(*care.Assessment)
		points int
		factor string // empty: no factor
	}{
		{"age 64", func(a *care.Assessment) { a.Age = 64 }, 0, ""},
		{"age 65", func(a *care.Assessment) { a.Age = 65 }, 1, "age 65-74"},
		{"age 74", func(a *care.Assessment) { a.Age = 74 }, 1, "age 65-74"},
		{"age 75", func(a *care.Assessment) { a.Age = 75 }, 2, "age 75+"},
		{"1 chronic condition", func(a *care.Assessment) { a.ChronicConditions = 1 }, 1, "chronic condition"},
		{"2 chronic conditions", func(a *care.Assessment) { a.ChronicConditions = 2 }, 1, "chronic condition"},
		{"3 chronic conditions", func(a *care.Assessment) { a.ChronicConditions = 3 }, 2, "3+ chronic conditions"},
		{"4 medications", func(a *care.Assessment) { a.Medications = 4 }, 0, ""},
		{"5 medications", func(a *care.Assessment) { a.Medications = 5 }, 1, "5+ medications"},
		{"9 medications", func(a *care.Assessment) { a.Medications = 9 }, 1, "5+ medications"},
		{"10 medications", func(a *care.Assessment) { a.Medications = 10 }, 2, "10+ medications"},
		{"1 admission", func(a *care.Assessment) { a.Admissions12m = 1 }, 1, "admission in 12 months"},
		{"2 admissions", func(a *care.Assessment) { a.Admissions12m = 2 }, 2, "2+ admissions in 12 months"},
		{"1 ED visit", func(a *care.Assessment) { a.EDVisits6m = 1 }, 0, ""},
		{"2 ED visits", func(a *care.Assessment) { a.EDVisits6m = 2 }, 1, "2+ ED visits in 6 months"},
		{"behavioural", func(a *care.Assessment) { a.BehaviouralConcern = true }, 1, "emotional or behavioural health"},
		{"substance use", func(a *care.Assessment) { a.SubstanceUse = true }, 1, "substance, alcohol or tobacco use"},
		{"nutrition", func(a *care.Assessment) { a.NutritionConcern = true }, 1, "nutrition or exercise"},
		{"unstable housing", func(a *care.Assessment) { a.Housing = care.HousingUnstable }, 1, "unstable housing"},
		{"homeless", func(a *care.Assessment) { a.Housing = care.HousingHomeless }, 2, "homeless"},
		{"home not safe", func(a *care.Assessment) { a.HomeSafe = care.Known(false) }, 1, "home not safe"},
		{"no support", func(a *care.Assessment) { a.SupportNetwork = care.SupportNone }, 1, "no support network"},
		{"limited support", func(a *care.Assessment) { a.SupportNetwork = care.SupportLimited }, 0, ""},
		{"financial hardship is not scored", func(a *care.Assessment) { a.FinancialHardship = true }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := noRisk()
			tc.set(&a)
			p := care.ProposeRisk(a)
			require.Equal(t, tc.points, p.Score)
			if tc.factor == "" {
				require.Empty(t, p.Factors)
			} else {
				require.Equal(t, []string{tc.factor}, p.Factors)
			}
			require.Equal(t, care.RiskLow, p.Level)
		})
	}
}

func TestProposeRiskMaximum(t *testing.T) {
	a := care.Assessment{
		Age: 90, ChronicConditions: 5, Medications: 12, Admissions12m: 3, EDVisits6m: 4,
		BehaviouralConcern: true, SubstanceUse: true, NutritionConcern: true,
		Housing: care.HousingHomeless, HomeSafe: care.Known(false), SupportNetwork: care.SupportNone,
	}
	p := care.ProposeRisk(a)
	require.Equal(t, 16, p.Score)
	require.Equal(t, care.RiskHigh, p.Level)
	require.Len(t, p.Factors, 11)
}

func riskV2(t *testing.T) care.RiskRuleSet {
	t.Helper()
	p := programCalendar(t)
	require.NotNil(t, p.RiskRules, "the policy pins its risk rules")
	return *p.RiskRules
}

func TestRiskRulesScoreEveryFactorTheAssessmentCollects(t *testing.T) {
	rules := riskV2(t)
	a := noRisk()
	a.FinancialHardship, a.Readiness, a.Engagement = true, care.ReadinessPrecontemplation, 2
	p := rules.Propose(a)
	require.Equal(t, []string{"financial hardship", "not yet ready to change", "low engagement with own health"}, p.Factors)
	require.Equal(t, 3, p.Score)
	require.Equal(t, "risk-v2", p.Rules)
	require.Empty(t, p.Unknown)
}

func TestAnOmittedAnswerIsUnknownNotUnsafe(t *testing.T) {
	rules := riskV2(t)
	a := noRisk()
	a.HomeSafe, a.Housing, a.Readiness, a.Engagement = nil, "", "", 0
	p := rules.Propose(a)
	require.Zero(t, p.Score, "nothing scored for answers not given")
	require.Equal(t, []string{"housing", "home_safe", "readiness", "engagement"}, p.Unknown)
	require.Contains(t, care.ProposeRisk(a).Factors, "home not safe", "risk-v1, pinned by older cases, is unchanged")
}

func TestRiskRulesAreValidatedAsPolicyData(t *testing.T) {
	rules := riskV2(t)
	rules.Points = map[string]int{"star_sign": 1}
	require.ErrorContains(t, rules.Validate(), "risk_rules.points.star_sign")
	rules = riskV2(t)
	rules.High = rules.Moderate
	require.ErrorContains(t, rules.Validate(), "moderate < high")
}
