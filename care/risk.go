package care

// RiskRules names the version of the scoring rules in ProposeRisk. Change it
// whenever the rules change; proposals record the version that made them.
const RiskRules = "risk-v1"

// ProposeRisk scores an assessment with the risk-v1 rules and proposes a risk
// level: 7 points or more is high, 4 to 6 moderate, less is low. It runs inside
// an activity, never in workflow code, so the rules can change without
// breaking the replay of running cases.
func ProposeRisk(a Assessment) RiskProposal {
	p := RiskProposal{Rules: RiskRules}
	add := func(points int, factor string) {
		p.Score += points
		p.Factors = append(p.Factors, factor)
	}
	switch {
	case a.Age >= 75:
		add(2, "age 75+")
	case a.Age >= 65:
		add(1, "age 65-74")
	}
	switch {
	case a.ChronicConditions >= 3:
		add(2, "3+ chronic conditions")
	case a.ChronicConditions >= 1:
		add(1, "chronic condition")
	}
	switch {
	case a.Medications >= 10:
		add(2, "10+ medications")
	case a.Medications >= 5:
		add(1, "5+ medications")
	}
	switch {
	case a.Admissions12m >= 2:
		add(2, "2+ admissions in 12 months")
	case a.Admissions12m == 1:
		add(1, "admission in 12 months")
	}
	if a.EDVisits6m >= 2 {
		add(1, "2+ ED visits in 6 months")
	}
	if a.BehaviouralConcern {
		add(1, "emotional or behavioural health")
	}
	if a.SubstanceUse {
		add(1, "substance, alcohol or tobacco use")
	}
	if a.NutritionConcern {
		add(1, "nutrition or exercise")
	}
	switch a.Housing {
	case HousingHomeless:
		add(2, "homeless")
	case HousingUnstable:
		add(1, "unstable housing")
	}
	if a.HomeSafe == nil || !*a.HomeSafe { // risk-v1 scored an omitted answer as unsafe
		add(1, "home not safe")
	}
	if a.SupportNetwork == SupportNone {
		add(1, "no support network")
	}
	switch {
	case p.Score >= 7:
		p.Level = RiskHigh
	case p.Score >= 4:
		p.Level = RiskModerate
	default:
		p.Level = RiskLow
	}
	return p
}

// RiskRuleSet is a version of the risk rules as data: the points each
// factor scores and the thresholds of the levels. It is part of the program
// policy (risk_rules), so a case is scored by the rules it opened with.
type RiskRuleSet struct {
	Version string `json:"version"`
	// High and Moderate are the lowest scores of those levels.
	High     int `json:"high"`
	Moderate int `json:"moderate"`
	// Points per factor id (see RiskFactors); a factor left out scores 0.
	Points map[string]int `json:"points"`
}

// RiskFactor is a factor the assessment collects and the rules can score.
type RiskFactor struct {
	ID          string
	Description string
	// Applies reports the factor; known is false when the assessment left
	// the answer out (it is then unknown, never scored).
	Applies func(Assessment) (applies, known bool)
}

func answered[T ~string](v T) bool { return v != "" }

// RiskFactors lists every factor the rules can score, in scoring order.
// Within a group (age, conditions, ...) only the first that applies scores.
var RiskFactors = []RiskFactor{
	{"age_75", "age 75+", func(a Assessment) (bool, bool) { return a.Age >= 75, true }},
	{"age_65", "age 65-74", func(a Assessment) (bool, bool) { return a.Age >= 65 && a.Age < 75, true }},
	{"conditions_3", "3+ chronic conditions", func(a Assessment) (bool, bool) { return a.ChronicConditions >= 3, true }},
	{"conditions_1", "chronic condition", func(a Assessment) (bool, bool) {
		return a.ChronicConditions >= 1 && a.ChronicConditions < 3, true
	}},
	{"medications_10", "10+ medications", func(a Assessment) (bool, bool) { return a.Medications >= 10, true }},
	{"medications_5", "5+ medications", func(a Assessment) (bool, bool) { return a.Medications >= 5 && a.Medications < 10, true }},
	{"admissions_2", "2+ admissions in 12 months", func(a Assessment) (bool, bool) { return a.Admissions12m >= 2, true }},
	{"admissions_1", "admission in 12 months", func(a Assessment) (bool, bool) { return a.Admissions12m == 1, true }},
	{"ed_visits_2", "2+ ED visits in 6 months", func(a Assessment) (bool, bool) { return a.EDVisits6m >= 2, true }},
	{"behavioural", "emotional or behavioural health", func(a Assessment) (bool, bool) { return a.BehaviouralConcern, true }},
	{"substance_use", "substance, alcohol or tobacco use", func(a Assessment) (bool, bool) { return a.SubstanceUse, true }},
	{"nutrition", "nutrition or exercise", func(a Assessment) (bool, bool) { return a.NutritionConcern, true }},
	{"homeless", "homeless", func(a Assessment) (bool, bool) { return a.Housing == HousingHomeless, answered(a.Housing) }},
	{"unstable_housing", "unstable housing", func(a Assessment) (bool, bool) { return a.Housing == HousingUnstable, answered(a.Housing) }},
	{"home_unsafe", "home not safe", func(a Assessment) (bool, bool) { return a.HomeSafe != nil && !*a.HomeSafe, a.HomeSafe != nil }},
	{"no_support", "no support network", func(a Assessment) (bool, bool) {
		return a.SupportNetwork == SupportNone, answered(a.SupportNetwork)
	}},
	{"financial_hardship", "financial hardship", func(a Assessment) (bool, bool) { return a.FinancialHardship, true }},
	{"low_readiness", "not yet ready to change", func(a Assessment) (bool, bool) {
		return a.Readiness == ReadinessPrecontemplation || a.Readiness == ReadinessContemplation, answered(a.Readiness)
	}},
	{"low_engagement", "low engagement with own health", func(a Assessment) (bool, bool) {
		return a.Engagement >= 1 && a.Engagement <= 2, a.Engagement != 0
	}},
}

// Validate checks a rule set.
func (r RiskRuleSet) Validate() error {
	if err := ValidateOpaqueID("risk_rules.version", r.Version); err != nil {
		return err
	}
	if r.Moderate < 1 || r.High <= r.Moderate {
		return Invalidf("risk_rules.high", "thresholds must be 1 <= moderate < high, got moderate %d, high %d", r.Moderate, r.High)
	}
	for id, pts := range r.Points {
		known := false
		for _, f := range RiskFactors {
			known = known || f.ID == id
		}
		if !known || pts < 0 {
			return Invalidf("risk_rules.points."+id, "must be a known factor (see docs/policies.md) with 0 or more points")
		}
	}
	return nil
}

// Propose scores an assessment with the rule set. Answers the assessment
// left out are listed as unknown and score nothing.
func (r RiskRuleSet) Propose(a Assessment) RiskProposal {
	p := RiskProposal{Rules: r.Version}
	for _, f := range RiskFactors {
		applies, known := f.Applies(a)
		switch {
		case !known:
			if !slicesContains(p.Unknown, f.answer()) {
				p.Unknown = append(p.Unknown, f.answer())
			}
		case applies && r.Points[f.ID] > 0:
			p.Score += r.Points[f.ID]
			p.Factors = append(p.Factors, f.Description)
		}
	}
	switch {
	case p.Score >= r.High:
		p.Level = RiskHigh
	case p.Score >= r.Moderate:
		p.Level = RiskModerate
	default:
		p.Level = RiskLow
	}
	return p
}

// answer names the assessment answer a factor reads.
func (f RiskFactor) answer() string {
	switch f.ID {
	case "homeless", "unstable_housing":
		return "housing"
	case "home_unsafe":
		return "home_safe"
	case "no_support":
		return "support_network"
	case "low_readiness":
		return "readiness"
	case "low_engagement":
		return "engagement"
	}
	return f.ID
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
