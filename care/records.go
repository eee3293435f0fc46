package care

import (
	"strconv"
	"strings"
	"time"
)

// OutcomeScores rates the six outcome domains of step 9 on a 1 (poor) to 5
// (good) scale. The assessment records a baseline; evaluation records the
// final scores and compares them to it.
type OutcomeScores struct {
	PhysicalFunction int `json:"physical_function"`
	ClinicalResults  int `json:"clinical_results"`
	Financial        int `json:"financial"`
	Satisfaction     int `json:"satisfaction"`
	Knowledge        int `json:"knowledge"`
	Psychosocial     int `json:"psychosocial"`
}

// OutcomeDomain is one named outcome score.
type OutcomeDomain struct {
	Name  string
	Score int
}

// Domains returns the six scores in a fixed order with their JSON names.
func (o OutcomeScores) Domains() []OutcomeDomain {
	return []OutcomeDomain{
		{"physical_function", o.PhysicalFunction},
		{"clinical_results", o.ClinicalResults},
		{"financial", o.Financial},
		{"satisfaction", o.Satisfaction},
		{"knowledge", o.Knowledge},
		{"psychosocial", o.Psychosocial},
	}
}

// Validate checks that every domain is scored 1..5. prefix names the record
// the scores belong to ("baseline", "scores").
func (o OutcomeScores) Validate(prefix string) error {
	for _, d := range o.Domains() {
		if d.Score < 1 || d.Score > 5 {
			return Invalidf(prefix+"."+d.Name, "must be a score from 1 (poor) to 5 (good), got %d", d.Score)
		}
	}
	return nil
}

// Screening is the step-1 eligibility decision.
type Screening struct {
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason,omitempty"`
	Notes    string `json:"notes,omitempty"`
}

// Validate checks a screening decision.
func (s Screening) Validate() error {
	if !s.Eligible && strings.TrimSpace(s.Reason) == "" {
		return Invalidf("reason", "is required when the client is not eligible; say why (e.g. --reason \"no qualifying condition\")")
	}
	return nil
}

// Assessment is the step-2 picture of the client plus the step-3 risk factors
// and the baseline of the outcome domains.
type Assessment struct {
	// Service utilisation.
	Admissions12m int `json:"admissions_12m"`
	EDVisits6m    int `json:"ed_visits_6m"`
	// Insurance plan coverage and services received before.
	InsurancePlan string   `json:"insurance_plan,omitempty"`
	PriorServices []string `json:"prior_services,omitempty"`
	// Home, safety, support and engagement.
	Housing        Housing        `json:"housing"`
	HomeSafe       *bool          `json:"home_safe,omitempty"` // nil: not asked (unknown)
	SupportNetwork SupportNetwork `json:"support_network"`
	Readiness      Readiness      `json:"readiness"`
	Engagement     int            `json:"engagement"`
	// Risk factors (step 3).
	Age                int           `json:"age"`
	ChronicConditions  int           `json:"chronic_conditions"`
	Medications        int           `json:"medications"`
	NutritionConcern   bool          `json:"nutrition_concern"`
	BehaviouralConcern bool          `json:"behavioural_concern"`
	SubstanceUse       bool          `json:"substance_use"`
	FinancialHardship  bool          `json:"financial_hardship"`
	Baseline           OutcomeScores `json:"baseline"`
	Notes              string        `json:"notes,omitempty"`
}

// Validate checks an assessment.
func (a Assessment) Validate() error {
	switch {
	case a.Admissions12m < 0:
		return Invalidf("admissions_12m", "must be 0 or more")
	case a.EDVisits6m < 0:
		return Invalidf("ed_visits_6m", "must be 0 or more")
	case a.Age < 0 || a.Age > 130:
		return Invalidf("age", "must be between 0 and 130, got %d", a.Age)
	case a.ChronicConditions < 0:
		return Invalidf("chronic_conditions", "must be 0 or more")
	case a.Medications < 0:
		return Invalidf("medications", "must be 0 or more")
	case a.Engagement < 0 || a.Engagement > 5:
		return Invalidf("engagement", "must be a score from 1 (disengaged) to 5 (fully engaged), or 0 when not asked; got %d", a.Engagement)
	}
	// An answer left out is unknown: the risk rules do not score it.
	if err := validOptional("housing", a.Housing, HousingStatuses); err != nil {
		return err
	}
	if err := validOptional("support_network", a.SupportNetwork, SupportNetworks); err != nil {
		return err
	}
	if err := validOptional("readiness", a.Readiness, ReadinessStages); err != nil {
		return err
	}
	return a.Baseline.Validate("baseline")
}

// RiskProposal is the risk level that the scoring rules propose from an
// assessment. Rules is the version of the rules that produced it.
type RiskProposal struct {
	Score   int       `json:"score"`
	Level   RiskLevel `json:"level"`
	Rules   string    `json:"rules"`
	Factors []string  `json:"factors,omitempty"`
	// Unknown lists the answers the assessment left out: not scored.
	Unknown []string `json:"unknown,omitempty"`
}

// Stratification is the staff decision of step 3.
type Stratification struct {
	// Risk is the level staff chose; empty accepts the proposal.
	Risk     RiskLevel    `json:"risk,omitempty"`
	Category CareCategory `json:"category"`
	// OverrideReason is required when Risk differs from the proposal.
	OverrideReason string `json:"override_reason,omitempty"`
}

// Validate checks a stratification decision against the proposal.
func (s Stratification) Validate(proposed RiskProposal) error {
	if s.Risk != RiskUnknown {
		if err := validEnum("risk", s.Risk, RiskLevels); err != nil {
			return err
		}
	}
	if err := validEnum("category", s.Category, CareCategories); err != nil {
		return err
	}
	if s.Risk != RiskUnknown && s.Risk != proposed.Level && strings.TrimSpace(s.OverrideReason) == "" {
		return Invalidf("override-reason", "is required to set risk %s when the rules propose %s (score %d)", s.Risk, proposed.Level, proposed.Score)
	}
	return nil
}

// Goal is a goal of the care plan (FHIR Goal).
type Goal struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Target      string `json:"target,omitempty"`
	Due         string `json:"due,omitempty"` // YYYY-MM-DD
}

// Service is a service in the care plan (FHIR ServiceRequest).
type Service struct {
	ID                    string `json:"id"`
	Code                  string `json:"code"`
	Name                  string `json:"name"`
	Frequency             string `json:"frequency,omitempty"` // e.g. "weekly"
	Occurrences           int    `json:"occurrences,omitempty"`
	RequiresAuthorization bool   `json:"requires_authorization,omitempty"`
}

// CarePlan is the step-4 plan (FHIR CarePlan).
type CarePlan struct {
	Goals    []Goal    `json:"goals"`
	Services []Service `json:"services"`
	Notes    string    `json:"notes,omitempty"`
	// PayerType is the kind of payer the client's coverage is with (one of
	// PayerTypes); it decides whether the decision deadlines apply.
	PayerType string `json:"payer_type,omitempty"`
}

// Validate checks a care plan.
func (p CarePlan) Validate() error {
	if len(p.Goals) == 0 {
		return Invalidf("goals", "the plan needs at least one goal")
	}
	seen := map[string]bool{}
	for i, g := range p.Goals {
		field := "goals[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(g.ID) == "" {
			return Invalidf(field+".id", "is required")
		}
		if seen["g:"+g.ID] {
			return Invalidf(field+".id", "duplicate goal id %q", g.ID)
		}
		seen["g:"+g.ID] = true
		if strings.TrimSpace(g.Description) == "" {
			return Invalidf(field+".description", "is required")
		}
		if g.Due != "" {
			if _, err := time.Parse(time.DateOnly, g.Due); err != nil {
				return Invalidf(field+".due", "must be a date YYYY-MM-DD, got %q", g.Due)
			}
		}
	}
	for i, s := range p.Services {
		field := "services[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(s.ID) == "" {
			return Invalidf(field+".id", "is required")
		}
		if seen["s:"+s.ID] {
			return Invalidf(field+".id", "duplicate service id %q", s.ID)
		}
		seen["s:"+s.ID] = true
		if strings.TrimSpace(s.Code) == "" {
			return Invalidf(field+".code", "is required (e.g. \"physiotherapy\")")
		}
		// Service ids and codes name workflows and summaries, which Temporal
		// does not encrypt: they must be opaque ids, never free text.
		if err := ValidateOpaqueID(field+".id", s.ID); err != nil {
			return err
		}
		if err := ValidateOpaqueID(field+".code", s.Code); err != nil {
			return err
		}
		if s.Occurrences < 0 {
			return Invalidf(field+".occurrences", "must be 0 or more")
		}
	}
	if p.PayerType != "" {
		return validEnum("payer_type", p.PayerType, PayerTypes)
	}
	return nil
}

// Contact is a contact made with the client, family or a provider during
// follow-up or after a transition (FHIR Communication). BackTo sends the case
// back to assessment or planning (the phases Machine lets a contact lead to)
// when the contact shows the plan no longer fits.
type Contact struct {
	With ContactParty `json:"with"`
	// FaceToFace marks an in-person visit (it meets the post-discharge
	// visit clock); otherwise the contact was by phone or video.
	FaceToFace bool   `json:"face_to_face,omitempty"`
	Notes      string `json:"notes,omitempty"`
	BackTo     Phase  `json:"back_to,omitempty"`
	// Attempt records an interactive-contact attempt that did not reach the
	// client (Outcome says how it went). Two documented attempts within the
	// TCM contact window meet that clock ("met by attempts").
	Attempt bool        `json:"attempt,omitempty"`
	Outcome CallOutcome `json:"outcome,omitempty"`
	// Minutes is the care-management time the contact took (CCM 99490).
	Minutes int `json:"minutes,omitempty"`
	// At is when the contact was made, when staff record it later; zero
	// means when it is recorded. The clocks and the CCM month count it then
	// (change contact-times).
	At time.Time `json:"at,omitzero"`
}

// CheckHappenedAt checks the time a contact or call was made (at, zero for
// "when recorded"): not later than now plus tolerance (clocks differ), and
// not more than maxBefore before the case opened (as a transition's date:
// a discharge entered late may have been followed by contacts before the
// case was opened in caseflow).
func CheckHappenedAt(at, now, opened time.Time, tolerance, maxBefore time.Duration) error {
	switch {
	case at.IsZero():
		return nil
	case at.After(now.Add(tolerance)):
		return Invalidf("at", "%s is in the future: record a contact once it has happened", at.UTC().Format(time.RFC3339))
	case !opened.IsZero() && at.Before(opened.Add(-maxBefore)):
		return Invalidf("at", "%s is more than %s before the case opened (%s): check the time",
			at.UTC().Format(time.RFC3339), FormatDuration(maxBefore), opened.UTC().Format(time.RFC3339))
	}
	return nil
}

// Validate checks a contact.
func (c Contact) Validate() error {
	if err := validEnum("with", c.With, ContactParties); err != nil {
		return err
	}
	if err := validMinutes(c.Minutes); err != nil {
		return err
	}
	switch {
	case c.Attempt && (c.Outcome == "" || c.Outcome == CallReached):
		return Invalidf("outcome", "an attempt did not reach the client: use --outcome no-answer or declined (a contact that reached them is not an attempt)")
	case c.Attempt && c.FaceToFace:
		return Invalidf("attempt", "a face-to-face visit is a contact, not an attempt; drop --attempt")
	case !c.Attempt && c.Outcome != "":
		return Invalidf("outcome", "is only for an attempt (--attempt)")
	}
	if c.Outcome != "" {
		if err := validEnum("outcome", c.Outcome, CallOutcomes); err != nil {
			return err
		}
	}
	if c.BackTo != "" {
		return validBackTo(c.BackTo)
	}
	return nil
}

// Transition is a move between levels of care (step 7). Date (and Time,
// when known) are when it happened, in the program's time zone: every
// clock runs from them, not from when the transition was recorded.
type Transition struct {
	Kind TransitionKind `json:"kind"`
	From string         `json:"from"`
	To   string         `json:"to"`
	Date string         `json:"date"`           // YYYY-MM-DD
	Time string         `json:"time,omitempty"` // HH:MM, program time zone
	// Complexity of the medical decision-making at a discharge (moderate:
	// CPT 99495, high: 99496) is the clinician's call; empty takes it from
	// the risk level.
	Complexity Complexity `json:"complexity,omitempty"`
	// Message is the key of the external message that reported it (the ADT
	// feed's sending facility and MSH-10, "FACILITY/CONTROL-ID"; no PHI), so
	// that a message delivered twice changes the case once. Staff's
	// transitions have none.
	Message string `json:"message,omitempty"`
}

// Complexity is the TCM medical decision-making complexity of a discharge.
type Complexity string

// Complexities.
const (
	ComplexityModerate Complexity = "moderate"
	ComplexityHigh     Complexity = "high"
)

// Complexities lists every complexity.
var Complexities = []Complexity{ComplexityModerate, ComplexityHigh}

// At is when the transition happened in loc: its date and time, or the
// start of its date when no time was given. ok is false when the date or
// time does not parse.
func (t Transition) At(loc *time.Location) (at time.Time, timed, ok bool) {
	if t.Time == "" {
		d, err := time.ParseInLocation(time.DateOnly, t.Date, loc)
		return d, false, err == nil
	}
	d, err := time.ParseInLocation(time.DateOnly+" 15:04", t.Date+" "+t.Time, loc)
	return d, true, err == nil
}

// CheckDate checks the transition's date against the time it is recorded
// (now) and the time the case opened: not in the future beyond tolerance
// (a planned discharge is not recorded until it happens), not more than
// maxBefore before the case opened.
func (t Transition) CheckDate(now, opened time.Time, loc *time.Location, tolerance, maxBefore time.Duration) error {
	at, timed, ok := t.At(loc)
	if !ok {
		return Invalidf("time", "must be a time HH:MM (24-hour, program time zone), got %q", t.Time)
	}
	latest := now.Add(tolerance)
	if !timed {
		// A date alone is in the future only once it is so everywhere
		// (the client's or feed's zone may be ahead of the program's).
		latest = EndOfDay(latest, time.FixedZone("UTC+14", 14*3600))
	}
	field := "date"
	if timed {
		field = "time"
	}
	if at.After(latest) {
		return Invalidf(field, "%s %s is in the future: record a %s once it has happened (a planned one is not a transition yet)",
			t.Date, t.Time, t.Kind)
	}
	if !opened.IsZero() && maxBefore > 0 && at.Before(opened.Add(-maxBefore)) {
		return Invalidf("date", "%s is more than %s before the case opened (%s): check the date",
			t.Date, FormatDuration(maxBefore), opened.In(loc).Format(time.DateOnly))
	}
	return nil
}

// Validate checks a transition.
func (t Transition) Validate() error {
	if err := validEnum("kind", t.Kind, TransitionKinds); err != nil {
		return err
	}
	if strings.TrimSpace(t.From) == "" {
		return Invalidf("from", "is required (e.g. \"hospital\")")
	}
	if strings.TrimSpace(t.To) == "" {
		return Invalidf("to", "is required (e.g. \"home\")")
	}
	if _, err := time.Parse(time.DateOnly, t.Date); err != nil {
		return Invalidf("date", "must be a date YYYY-MM-DD, got %q", t.Date)
	}
	if t.Time != "" {
		if _, err := time.Parse("15:04", t.Time); err != nil {
			return Invalidf("time", "must be a time HH:MM (24-hour, program time zone), got %q", t.Time)
		}
	}
	if t.Complexity != "" {
		if t.Kind != TransitionDischarge {
			return Invalidf("complexity", "is set at a discharge only")
		}
		if err := validEnum("complexity", t.Complexity, Complexities); err != nil {
			return err
		}
	}
	return nil
}

// validMinutes checks the minutes a contact or call took.
func validMinutes(m int) error {
	if m < 0 || m > 24*60 {
		return Invalidf("minutes", "must be the minutes the contact took, 0 to 1440, got %d", m)
	}
	return nil
}

// Evaluation is the step-9 review: final outcome scores, compared with the
// assessment baseline.
type Evaluation struct {
	Scores OutcomeScores `json:"scores"`
	Notes  string        `json:"notes,omitempty"`
	// WithoutTransition evaluates a case from follow-up that never had a
	// transition of care; Reason says why.
	WithoutTransition bool   `json:"without_transition,omitempty"`
	Reason            string `json:"reason,omitempty"`
}

// Validate checks an evaluation.
func (e Evaluation) Validate() error {
	if e.WithoutTransition && strings.TrimSpace(e.Reason) == "" {
		return Invalidf("reason", "is required with --without-transition: say why the case is evaluated without a transition of care")
	}
	return e.Scores.Validate("scores")
}

// Closure closes a case.
type Closure struct {
	Reason ClosureReason `json:"reason"`
	Notes  string        `json:"notes,omitempty"`
}

// Validate checks a closure.
func (c Closure) Validate() error { return validEnum("reason", c.Reason, ClosureReasons) }

// EarliestBirthYear is the first year a birth date may fall in.
const EarliestBirthYear = 1900

// CheckBirthDate refuses a birth date in the future or before 1900.
func CheckBirthDate(d, now time.Time) error {
	switch {
	case d.After(now):
		return Invalidf("birth-date", "%s is in the future: check the date", d.Format(time.DateOnly))
	case d.Year() < EarliestBirthYear:
		return Invalidf("birth-date", "%s is before %d: check the date", d.Format(time.DateOnly), EarliestBirthYear)
	}
	return nil
}

// validOptional checks an enum answer that may be left out ("").
func validOptional[T ~string](field string, value T, allowed []T) error {
	if value == "" {
		return nil
	}
	return validEnum(field, value, allowed)
}

// Known returns a pointer to an answer given (a yes/no question asked).
func Known(v bool) *bool { return &v }
