package care

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	// ADT says what the program does with a hospital's ADT feed.
	ADT ADTPolicy `json:"adt,omitzero"`
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
}

// AuthorizationPolicy holds the prior-authorization clocks (CMS-0057-F).
type AuthorizationPolicy struct {
	Expedited         Duration `json:"expedited"`
	Standard          Duration `json:"standard"`
	ReauthorizeBefore Duration `json:"reauthorize_before"`
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
}

// VisitServiceCode is the service code of the post-discharge visit.
func (p PostDischargePolicy) VisitServiceCode() string {
	if p.VisitService == "" {
		return "primary-care"
	}
	return p.VisitService
}

// Calendar lists the program's non-working days besides weekends.
type Calendar struct {
	Holidays []string `json:"holidays"` // YYYY-MM-DD
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
	if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "" {
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
	for i, h := range p.Calendar.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return Invalidf(fmt.Sprintf("calendar.holidays[%d]", i), "must be a date YYYY-MM-DD, got %q", h)
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

// AddBusinessDays returns the date n business days after date: weekends and
// the calendar's holidays do not count. A Friday discharge with n=2 is due on
// Tuesday.
func (c Calendar) AddBusinessDays(date time.Time, n int) time.Time {
	holiday := make(map[string]bool, len(c.Holidays))
	for _, h := range c.Holidays {
		holiday[h] = true
	}
	d := date
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || holiday[d.Format(time.DateOnly)] {
			continue
		}
		n--
	}
	return d
}

// EndOfDay is the last second of the date of t in loc.
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 23, 59, 59, 0, loc)
}
