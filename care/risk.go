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
	if !a.HomeSafe {
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
