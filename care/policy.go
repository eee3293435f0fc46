package care

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caseflow/caseflow/internal/tzdb"
)

// Policy is the program policy a case runs under: the clocks that public rules
// and the organisation set. Policies are files (policies/*.json) loaded into
// PostgreSQL with a version and an effective date. A case pins the version it
// opened with, carried in its workflow input, so a policy change applies to
// new cases without changing the behaviour, or the replay, of running ones.
type Policy struct {
	Program       string `json:"program"`
	Version       int    `json:"version"`
	EffectiveFrom string `json:"effective_from"` // YYYY-MM-DD
	Description   string `json:"description,omitempty"`
	// Supervisor is the opaque id alerted when a clock is missed.
	Supervisor string `json:"supervisor"`
	// Timezone is the IANA zone of the program's calendar (business days,
	// end-of-day deadlines).
	Timezone      string              `json:"timezone"`
	Steps         StepPolicy          `json:"steps"`
	FollowUp      FollowUpPolicy      `json:"follow_up"`
	Appointments  AppointmentPolicy   `json:"appointments"`
	Authorization AuthorizationPolicy `json:"authorization"`
	PostDischarge PostDischargePolicy `json:"post_discharge"`
	Calendar      Calendar            `json:"calendar"`
	// CCM is the chronic-care-management time target (CPT 99490); zero
	// minutes: the program does not track it.
	CCM CCMPolicy `json:"ccm,omitzero"`
	// RiskRules are the risk rules of the program's cases (without them,
	// the built-in risk-v1).
	RiskRules *RiskRuleSet `json:"risk_rules,omitempty"`
	// ADT says what the program does with a hospital's ADT feed.
	ADT ADTPolicy `json:"adt,omitzero"`
}

// CCMPolicy sets the monthly care-management time of CPT 99490.
type CCMPolicy struct {
	// MonthlyMinutes is the target per calendar month (20).
	MonthlyMinutes int `json:"monthly_minutes"`
	// FlagLastDays: in the month's last days a case still under target
	// shows on the worklist (its ccm-minutes task falls due at month end
	// and is listed as due from this many days before).
	FlagLastDays int `json:"flag_last_days,omitempty"`
}

// Location is the program's time zone, from the zone database built into
// caseflow (tzdb), so that every worker and every replay reads the same
// one (UTC when it cannot be loaded: a loaded policy was validated).
func (p Policy) Location() *time.Location {
	loc, err := tzdb.Load(p.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ADTPolicy is what a program does with the HL7 v2 ADT feed (caseflow adt
// listen). Discharges, transfers and readmissions of patients with an open
// case always reach the case; OpenCases also opens cases from it.
type ADTPolicy struct {
	// OpenCases: an admission or registration (A01/A04) of a patient with no
	// open case in the program opens one in screening, with source adt
	// (ADT-sourced detection, step 1).
	OpenCases bool `json:"open_cases"`
	// Model and Manager are the model and the case manager of the cases
	// opened from the feed.
	Model   Model  `json:"model,omitempty"`
	Manager string `json:"manager,omitempty"`
}

// Validate checks the ADT section: opening cases needs their model and
// manager.
func (a ADTPolicy) Validate() error {
	if !a.OpenCases {
		return nil
	}
	if err := validEnum("adt.model", a.Model, Models); err != nil {
		return err
	}
	return ValidateOpaqueID("adt.manager", a.Manager)
}

// StepPolicy says how long each staff step may take before it is due.
type StepPolicy struct {
	Screening      Duration `json:"screening"`
	Assessment     Duration `json:"assessment"`
	Stratification Duration `json:"stratification"`
	Planning       Duration `json:"planning"`
}

// FollowUpPolicy sets the follow-up calls of step 6.
type FollowUpPolicy struct {
	Cadence CadenceByRisk `json:"cadence"`
	// ModelFactor multiplies the cadence: intensive more often, brokerage less.
	ModelFactor FactorByModel `json:"model_factor"`
	// CallWindow is how long a call stays due after its due time.
	CallWindow Duration `json:"call_window"`
	// EscalateAfter is how long after the window an open call alerts the supervisor.
	EscalateAfter Duration `json:"escalate_after"`
	// NoAnswerEscalation is the number of consecutive no-answers that alerts
	// the supervisor.
	NoAnswerEscalation int `json:"no_answer_escalation"`
	// CalendarMonths makes a cadence of 28 days or more a calendar-month
	// cadence: a call falls due on the same day of every month (the last
	// day in shorter months), so that no calendar month goes without one.
	CalendarMonths bool `json:"calendar_months,omitempty"`
	// AutomatedCalls places an automated call through the telephony channel
	// when a call falls due.
	AutomatedCalls bool `json:"automated_calls"`
	// ReassessEvery is the re-assessment interval while in follow-up (0: none).
	ReassessEvery Duration `json:"reassess_every"`
}

// CadenceByRisk is the follow-up call interval per risk level.
type CadenceByRisk struct {
	High     Duration `json:"high"`
	Moderate Duration `json:"moderate"`
	Low      Duration `json:"low"`
}

// FactorByModel scales the cadence per case-management model.
type FactorByModel struct {
	Brokerage      float64 `json:"brokerage"`
	Clinical       float64 `json:"clinical"`
	StrengthsBased float64 `json:"strengths-based"`
	Intensive      float64 `json:"intensive"`
}

// AppointmentPolicy sets reminders and rebooking of appointments.
type AppointmentPolicy struct {
	ReminderOffsets []Duration `json:"reminder_offsets"`
	MaxRebookings   int        `json:"max_rebookings"`
	// BookingWindow is how far ahead a slot may be booked (default 14 days).
	BookingWindow Duration `json:"booking_window,omitempty"`
	// NoSlotRetry is how long to wait before trying again when no slot is
	// free (default 1 day).
	NoSlotRetry Duration `json:"no_slot_retry,omitempty"`
	// AttendanceGrace is how long after an appointment's start its
	// attendance may stay unrecorded before staff get a "record
	// attendance" item (default 1 day).
	AttendanceGrace Duration `json:"attendance_grace,omitempty"`
}

// AuthorizationPolicy holds the prior-authorization clocks (CMS-0057-F).
type AuthorizationPolicy struct {
	Expedited         Duration `json:"expedited"`
	Standard          Duration `json:"standard"`
	ReauthorizeBefore Duration `json:"reauthorize_before"`
	// ExpeditedWhen says which requests ask for an expedited decision.
	// Without it, requests of high-risk or acute cases are expedited (the
	// rule of policies written before it existed).
	ExpeditedWhen *ExpeditedRule `json:"expedited_when,omitempty"`
	// ExemptPayerTypes are the payer types the decision deadlines do not
	// bind (CMS-0057-F applies to Medicare Advantage, Medicaid and CHIP;
	// exchange plans are exempt): no deadline timer, no escalation.
	ExemptPayerTypes []string `json:"exempt_payer_types,omitempty"`
	// ServicesWithoutProviders are service codes a plan may hold though no
	// provider offers them (e.g. financial counselling done by the team).
	ServicesWithoutProviders []string `json:"services_without_providers,omitempty"`
}

// ExpeditedRule selects the authorization requests that ask for an
// expedited (72 h) decision: any listed risk level, care category or
// service code makes a request expedited. Urgency is the requester's
// attestation, so the program decides it, not a hard-coded risk level.
type ExpeditedRule struct {
	Risks      []RiskLevel    `json:"risks,omitempty"`
	Categories []CareCategory `json:"categories,omitempty"`
	Services   []string       `json:"services,omitempty"`
}

// IsExpedited reports whether a request for serviceCode of a case with
// risk r and category c asks for an expedited decision.
func (p AuthorizationPolicy) IsExpedited(r RiskLevel, c CareCategory, serviceCode string) bool {
	if p.ExpeditedWhen == nil {
		return r == RiskHigh || c == CategoryAcute
	}
	e := p.ExpeditedWhen
	return slices.Contains(e.Risks, r) || slices.Contains(e.Categories, c) || slices.Contains(e.Services, serviceCode)
}

// IsExempt reports whether payerType is exempt from the decision
// deadlines.
func (p AuthorizationPolicy) IsExempt(payerType string) bool {
	return payerType != "" && slices.Contains(p.ExemptPayerTypes, payerType)
}

// PostDischargePolicy holds the transitional-care clocks (CPT 99495/99496)
// and the readmission watch.
type PostDischargePolicy struct {
	// ContactBusinessDays: interactive contact within this many business
	// days of discharge. ContactWithin, when set, replaces it with a plain
	// duration (used by the compressed demo program).
	ContactBusinessDays int      `json:"contact_business_days"`
	ContactWithin       Duration `json:"contact_within,omitempty"`
	// Face-to-face visit within VisitHigh (high complexity, 99496) or
	// VisitModerate (moderate complexity, 99495) of discharge.
	VisitHigh     Duration `json:"visit_high"`
	VisitModerate Duration `json:"visit_moderate"`
	// ReadmissionWindow is the readmission watch after discharge.
	ReadmissionWindow Duration `json:"readmission_window"`
	// VisitService is the service code the face-to-face visit is booked as
	// (default primary-care).
	VisitService string `json:"visit_service,omitempty"`
	// TCMPeriod is the transitional-care period after discharge (default
	// 30 days).
	TCMPeriod Duration `json:"tcm_period,omitempty"`
	// FutureTolerance is how far in the future a transition's date and time
	// may lie (clock skew, a feed a little ahead); default 15 minutes.
	FutureTolerance Duration `json:"future_tolerance,omitempty"`
	// MaxBeforeOpened is how long before the case opened a transition may
	// have happened (default 90 days).
	MaxBeforeOpened Duration `json:"max_before_opened,omitempty"`
}

// TCMPeriodOrDefault is the TCM period (30 days unless set).
func (p PostDischargePolicy) TCMPeriodOrDefault() time.Duration {
	if p.TCMPeriod > 0 {
		return p.TCMPeriod.D()
	}
	return 30 * day
}

// FutureToleranceOrDefault is how far ahead a transition may be dated.
func (p PostDischargePolicy) FutureToleranceOrDefault() time.Duration {
	if p.FutureTolerance > 0 {
		return p.FutureTolerance.D()
	}
	return 15 * time.Minute
}

// MaxBeforeOpenedOrDefault is how long before the case opened a
// transition may be dated.
func (p PostDischargePolicy) MaxBeforeOpenedOrDefault() time.Duration {
	if p.MaxBeforeOpened > 0 {
		return p.MaxBeforeOpened.D()
	}
	return 90 * day
}

// VisitServiceCode is the service code of the post-discharge visit.
func (p PostDischargePolicy) VisitServiceCode() string {
	if p.VisitService == "" {
		return "primary-care"
	}
	return p.VisitService
}

// Validate checks a policy as loaded from its file.
func (p Policy) Validate() error {
	if err := ValidateOpaqueID("program", p.Program); err != nil {
		return err
	}
	if p.Version < 1 {
		return Invalidf("version", "must be 1 or more")
	}
	if _, err := time.Parse(time.DateOnly, p.EffectiveFrom); err != nil {
		return Invalidf("effective_from", "must be a date YYYY-MM-DD, got %q", p.EffectiveFrom)
	}
	if err := ValidateOpaqueID("supervisor", p.Supervisor); err != nil {
		return err
	}
	if _, err := tzdb.Load(p.Timezone); err != nil {
		return Invalidf("timezone", "must be an IANA time zone such as America/New_York, got %q", p.Timezone)
	}
	positive := []struct {
		field string
		d     Duration
	}{
		{"steps.screening", p.Steps.Screening}, {"steps.assessment", p.Steps.Assessment},
		{"steps.stratification", p.Steps.Stratification}, {"steps.planning", p.Steps.Planning},
		{"follow_up.cadence.high", p.FollowUp.Cadence.High}, {"follow_up.cadence.moderate", p.FollowUp.Cadence.Moderate},
		{"follow_up.cadence.low", p.FollowUp.Cadence.Low}, {"follow_up.call_window", p.FollowUp.CallWindow},
		{"follow_up.escalate_after", p.FollowUp.EscalateAfter},
		{"authorization.expedited", p.Authorization.Expedited}, {"authorization.standard", p.Authorization.Standard},
		{"post_discharge.visit_high", p.PostDischarge.VisitHigh}, {"post_discharge.visit_moderate", p.PostDischarge.VisitModerate},
		{"post_discharge.readmission_window", p.PostDischarge.ReadmissionWindow},
	}
	for _, f := range positive {
		if f.d <= 0 {
			return Invalidf(f.field, "must be a positive duration such as \"7d\", \"72h\" or \"90m\"")
		}
	}
	f := p.FollowUp.ModelFactor
	for _, m := range []struct {
		field string
		v     float64
	}{{"brokerage", f.Brokerage}, {"clinical", f.Clinical}, {"strengths-based", f.StrengthsBased}, {"intensive", f.Intensive}} {
		if m.v <= 0 {
			return Invalidf("follow_up.model_factor."+m.field, "must be a positive factor (1 = the cadence as is)")
		}
	}
	if p.FollowUp.NoAnswerEscalation < 1 {
		return Invalidf("follow_up.no_answer_escalation", "must be 1 or more")
	}
	if p.PostDischarge.ContactBusinessDays < 1 && p.PostDischarge.ContactWithin <= 0 {
		return Invalidf("post_discharge.contact_business_days", "must be 1 or more (or set contact_within)")
	}
	if err := p.Calendar.Validate(); err != nil {
		return err
	}
	if p.RiskRules != nil {
		if err := p.RiskRules.Validate(); err != nil {
			return err
		}
	}
	if p.CCM.MonthlyMinutes < 0 || p.CCM.FlagLastDays < 0 {
		return Invalidf("ccm.monthly_minutes", "must be 0 (not tracked) or more, and flag_last_days 0 or more")
	}
	if e := p.Authorization.ExpeditedWhen; e != nil {
		for i, r := range e.Risks {
			if err := validEnum(fmt.Sprintf("authorization.expedited_when.risks[%d]", i), r, RiskLevels); err != nil {
				return err
			}
		}
		for i, c := range e.Categories {
			if err := validEnum(fmt.Sprintf("authorization.expedited_when.categories[%d]", i), c, CareCategories); err != nil {
				return err
			}
		}
	}
	for i, t := range p.Authorization.ExemptPayerTypes {
		if err := validEnum(fmt.Sprintf("authorization.exempt_payer_types[%d]", i), t, PayerTypes); err != nil {
			return err
		}
	}
	for i, o := range p.Appointments.ReminderOffsets {
		if o <= 0 || o.D()%time.Minute != 0 {
			return Invalidf(fmt.Sprintf("appointments.reminder_offsets[%d]", i), "must be a positive whole number of minutes (e.g. \"48h\", \"2h\", \"30m\")")
		}
	}
	return p.ADT.Validate()
}

// CallInterval is the follow-up call interval for a risk level under a
// case-management model.
func (p Policy) CallInterval(r RiskLevel, m Model) time.Duration {
	base := p.FollowUp.Cadence.Low
	switch r {
	case RiskHigh:
		base = p.FollowUp.Cadence.High
	case RiskModerate:
		base = p.FollowUp.Cadence.Moderate
	}
	f := p.FollowUp.ModelFactor
	factor := f.Clinical
	switch m {
	case ModelBrokerage:
		factor = f.Brokerage
	case ModelStrengthsBased:
		factor = f.StrengthsBased
	case ModelIntensive:
		factor = f.Intensive
	}
	if factor <= 0 {
		factor = 1
	}
	return time.Duration(float64(base) * factor).Round(time.Second)
}

// Duration is a policy duration written as "7d", "72h", "90m" or "30s" (or
// any Go duration). It also reads a number of nanoseconds.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration as staff say it.
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalJSON writes the duration as a string such as "7d".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// UnmarshalJSON reads "7d", "72h", "1h30m" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = Duration(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"7d\" or \"72h\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads "7d" (days) or any Go duration ("72h", "90m", "1h30m").
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q: use e.g. \"7d\", \"72h\" or \"90m\"", s)
		}
		return time.Duration(n) * day, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: use e.g. \"7d\", \"72h\" or \"90m\"", s)
	}
	return v, nil
}

const day = 24 * time.Hour

// SpellDuration writes a policy duration for a label: "7 days", "1 day",
// else as FormatDuration does ("90s").
func SpellDuration(d time.Duration) string {
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return strconv.Itoa(int(d/day)) + " days"
	}
	return FormatDuration(d)
}

// FormatDuration writes a duration the way staff say it: "7d", "36h", "90m".
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%day == 0:
		return strconv.Itoa(int(d/day)) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// EndOfDay is the last second of the date of t in loc.
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 23, 59, 59, 0, loc)
}

// CheckHorizon refuses a policy whose business-day calendar cannot answer
// for the CalendarYears years from now (policy load runs it; a calendar of
// explicit dates silently ends). A program whose contact clock is a plain
// duration does not count business days and needs no calendar.
func (p Policy) CheckHorizon(now time.Time) error {
	if p.PostDischarge.ContactWithin > 0 || p.Calendar.Answers(now, CalendarYears) {
		return nil
	}
	return Invalidf("calendar", "holidays end before %d: add holiday rules (fixed dates with observed days, nth weekday of a month) so that business days are known for the next %d years",
		now.Year()+CalendarYears, CalendarYears)
}
