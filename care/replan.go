package care

import (
	"slices"
	"strconv"
	"strings"
)

// ServiceChangeKind is what approving a new care plan does to one service
// of the current plan, compared by service id.
type ServiceChangeKind string

// Service change kinds.
const (
	// ServiceUnchanged: the service keeps its coordination, authorization,
	// booked appointment and reminders untouched.
	ServiceUnchanged ServiceChangeKind = "unchanged"
	// ServiceAmended: frequency, occurrences or name changed; the running
	// coordination is amended in place and re-authorizes only when its
	// authorization no longer covers the amended service.
	ServiceAmended ServiceChangeKind = "amended"
	// ServiceReplaced: the code or the need for authorization changed; the
	// old coordination is cancelled and a new one starts.
	ServiceReplaced ServiceChangeKind = "replaced"
	// ServiceRemoved: not in the new plan; its coordination is cancelled
	// with its appointments and pending reminders.
	ServiceRemoved ServiceChangeKind = "removed"
	// ServiceAdded: new in the plan; its coordination starts.
	ServiceAdded ServiceChangeKind = "added"
)

// ServiceChange is what a new plan does to one service.
type ServiceChange struct {
	ServiceID string            `json:"service_id"`
	Kind      ServiceChangeKind `json:"kind"`
	// Before is the service in the current plan (nil when added), After in
	// the new one (nil when removed).
	Before *Service `json:"before,omitempty"`
	After  *Service `json:"after,omitempty"`
}

// PlanChange is the diff of a newly approved plan against the current one:
// one change per service, the new plan's services in order first, then the
// removed ones.
type PlanChange struct {
	// Version is the new plan's version (1 for the first plan).
	Version  int             `json:"version"`
	Services []ServiceChange `json:"services"`
}

// DiffPlans compares the services of the current plan with those of a new
// one, by service id.
func DiffPlans(version int, current, next []Service) PlanChange {
	pc := PlanChange{Version: version}
	byID := make(map[string]int, len(current))
	for i, s := range current {
		byID[s.ID] = i
	}
	seen := make(map[string]bool, len(next))
	for _, n := range next {
		after := n
		seen[n.ID] = true
		i, ok := byID[n.ID]
		if !ok {
			pc.Services = append(pc.Services, ServiceChange{ServiceID: n.ID, Kind: ServiceAdded, After: &after})
			continue
		}
		before := current[i]
		kind := ServiceUnchanged
		switch {
		case before.Code != n.Code || before.RequiresAuthorization != n.RequiresAuthorization:
			kind = ServiceReplaced
		case before != n:
			kind = ServiceAmended
		}
		pc.Services = append(pc.Services, ServiceChange{ServiceID: n.ID, Kind: kind, Before: &before, After: &after})
	}
	for _, c := range current {
		if !seen[c.ID] {
			before := c
			pc.Services = append(pc.Services, ServiceChange{ServiceID: c.ID, Kind: ServiceRemoved, Before: &before})
		}
	}
	return pc
}

// Count returns how many services change by kind k.
func (pc PlanChange) Count(k ServiceChangeKind) int {
	n := 0
	for _, c := range pc.Services {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// Summary says what the plan change did, for the audit trail: e.g.
// "plan v2: pt amended (weekly → monthly), np unchanged, ot removed, fin
// added".
func (pc PlanChange) Summary() string {
	parts := make([]string, 0, len(pc.Services))
	for _, c := range pc.Services {
		p := c.ServiceID + " " + string(c.Kind)
		if c.Kind == ServiceAmended {
			p += " (" + c.Before.Differences(*c.After) + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "plan v" + strconv.Itoa(pc.Version) + ": no services"
	}
	return "plan v" + strconv.Itoa(pc.Version) + ": " + strings.Join(parts, ", ")
}

// Differences names what changed from s to o: "frequency weekly → monthly,
// occurrences 8 → 4".
func (s Service) Differences(o Service) string {
	var d []string
	if s.Frequency != o.Frequency {
		d = append(d, "frequency "+orDefault(s.Frequency, "weekly")+" → "+orDefault(o.Frequency, "weekly"))
	}
	if s.Occurrences != o.Occurrences {
		d = append(d, "occurrences "+strconv.Itoa(s.Total())+" → "+strconv.Itoa(o.Total()))
	}
	if s.Name != o.Name {
		d = append(d, "name")
	}
	if s.Code != o.Code {
		d = append(d, "code "+s.Code+" → "+o.Code)
	}
	return strings.Join(d, ", ")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Frequencies lists the frequencies a service may have.
var Frequencies = []string{"daily", "weekly", "every two weeks", "biweekly", "fortnightly", "monthly"}

// ServiceAmendment changes the cadence of one service of the current plan
// (a change of level: weekly → monthly physiotherapy) without touching the
// others. Empty fields keep their value.
type ServiceAmendment struct {
	ServiceID   string `json:"service_id"`
	Frequency   string `json:"frequency,omitempty"`
	Occurrences int    `json:"occurrences,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// Validate checks an amendment; errors name the flag.
func (a ServiceAmendment) Validate() error {
	if err := ValidateOpaqueID("service", a.ServiceID); err != nil {
		return err
	}
	if a.Frequency == "" && a.Occurrences == 0 {
		return Invalidf("frequency", "give --frequency (%s) or --occurrences", strings.Join(Frequencies, ", "))
	}
	if a.Frequency != "" && !slices.Contains(Frequencies, strings.ToLower(strings.TrimSpace(a.Frequency))) {
		return Invalidf("frequency", "unknown value %q; use one of %s", a.Frequency, strings.Join(Frequencies, ", "))
	}
	if a.Occurrences < 0 {
		return Invalidf("occurrences", "must be 1 or more, got %d", a.Occurrences)
	}
	return nil
}

// Apply returns s amended.
func (a ServiceAmendment) Apply(s Service) Service {
	if a.Frequency != "" {
		s.Frequency = strings.ToLower(strings.TrimSpace(a.Frequency))
	}
	if a.Occurrences > 0 {
		s.Occurrences = a.Occurrences
	}
	return s
}

// Appeal asks the payer to reconsider a denied authorization: a new request
// that references the denied one (FHIR Claim.related), with its own
// deadline and escalation.
type Appeal struct {
	ServiceID string `json:"service_id"`
	// Notes are the grounds of the appeal; they go to the payer.
	Notes string `json:"notes"`
}

// Validate checks an appeal; errors name the flag.
func (a Appeal) Validate() error {
	if err := ValidateOpaqueID("service", a.ServiceID); err != nil {
		return err
	}
	if strings.TrimSpace(a.Notes) == "" {
		return Invalidf("notes", "is required: the grounds of the appeal (e.g. \"conservative treatment tried for 6 weeks\")")
	}
	return nil
}

// ManualBooking books a service's next occurrence on a slot staff chose,
// when no free slot was found in the booking window.
type ManualBooking struct {
	ServiceID string `json:"service_id"`
	SlotID    string `json:"slot_id"`
}

// Validate checks a manual booking; errors name the flag.
func (b ManualBooking) Validate() error {
	if err := ValidateOpaqueID("service", b.ServiceID); err != nil {
		return err
	}
	if strings.TrimSpace(b.SlotID) == "" {
		return Invalidf("slot", "is required: a slot id (see caseflow providers slots)")
	}
	return nil
}

// PayerTypes are the kinds of payer a case's coverage may be with. The
// CMS-0057-F decision deadlines bind Medicare Advantage, Medicaid and CHIP;
// programs list the exempt ones in authorization.exempt_payer_types.
var PayerTypes = []string{"medicare-advantage", "medicaid", "chip", "exchange", "commercial"}

// CheckCatalog checks that every service of the plan has a known code:
// one that providers offer or that the policy allows without providers.
// The error lists the known codes.
func (p CarePlan) CheckCatalog(known []string) error {
	for i, s := range p.Services {
		if !slices.Contains(known, s.Code) {
			sorted := slices.Clone(known)
			slices.Sort(sorted)
			sorted = slices.Compact(sorted)
			return Invalidf("services["+strconv.Itoa(i)+"].code", "unknown service code %q; known codes: %s (load providers with caseflow providers load)",
				s.Code, strings.Join(sorted, ", "))
		}
	}
	return nil
}
