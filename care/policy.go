package care

import (
	"strconv"
	"time"
)

// Policy is the program policy a case runs under: the clocks that public rules
// and the organisation set. It is data, pinned in the workflow input when the
// case opens, so that a policy change applies to new cases without changing
// the behaviour, or the replay, of running ones.
type Policy struct {
	Program string `json:"program"`
	Version int    `json:"version"`
	// How long each staff step may take before it is due.
	ScreeningWithin  time.Duration `json:"screening_within"`
	AssessmentWithin time.Duration `json:"assessment_within"`
	PlanningWithin   time.Duration `json:"planning_within"`
	// Follow-up contact cadence by risk level.
	CadenceHigh     time.Duration `json:"cadence_high"`
	CadenceModerate time.Duration `json:"cadence_moderate"`
	CadenceLow      time.Duration `json:"cadence_low"`
	// Post-transition contact deadline.
	PostTransitionContactWithin time.Duration `json:"post_transition_contact_within"`
}

const day = 24 * time.Hour

// DefaultPolicy is the policy of programs that define none of their own:
// steps due within a few days, high risk contacted weekly, moderate every two
// weeks, low monthly, a post-discharge contact within two days.
func DefaultPolicy(program string) Policy {
	return Policy{
		Program:                     program,
		Version:                     1,
		ScreeningWithin:             2 * day,
		AssessmentWithin:            7 * day,
		PlanningWithin:              7 * day,
		CadenceHigh:                 7 * day,
		CadenceModerate:             14 * day,
		CadenceLow:                  30 * day,
		PostTransitionContactWithin: 2 * day,
	}
}

// Cadence is the follow-up contact interval for a risk level.
func (p Policy) Cadence(r RiskLevel) time.Duration {
	switch r {
	case RiskHigh:
		return p.CadenceHigh
	case RiskModerate:
		return p.CadenceModerate
	default:
		return p.CadenceLow
	}
}

// FormatDuration writes a policy duration the way staff say it: "7 days",
// "36h", "90m".
func FormatDuration(d time.Duration) string {
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return strconv.Itoa(int(d/day)) + " days"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}
