// Package providers reads the providers file: the care providers (clinics,
// practitioners), the service codes they offer and their bookable slots,
// given one by one or as series. Expand checks a file and turns it into
// care.Provider and care.Slot values for the store to write.
package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
)

// File is the providers file "caseflow providers load" reads
// (docs/coordination.md describes it; demo/providers.json is an example).
type File struct {
	Providers []Provider `json:"providers"`
}

// Provider is one provider, the service codes it offers and its slots.
type Provider struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Services []string   `json:"services"`
	Slots    []SlotSpec `json:"slots,omitempty"`
}

// SlotSpec describes Count slots of Duration, Every apart, from a first
// start that is either fixed (StartsAt) or relative to the load time
// (StartOffset): a relative series lies on a fixed grid, StartOffset past
// each multiple of its period (Every, or a day for a single slot) counted
// from the zero time in UTC, and starts at the first grid point at least
// StartOffset after the load hour. Loading the same file again, in any
// hour, puts its slots on the same grid, so it adds no second copy: only
// the slots a later load reaches beyond the first.
type SlotSpec struct {
	// Service is the service code; it may be left out when the provider
	// offers exactly one.
	Service     string         `json:"service,omitempty"`
	StartsAt    *time.Time     `json:"starts_at,omitempty"`
	StartOffset *care.Duration `json:"start_offset,omitempty"`
	Duration    care.Duration  `json:"duration"`
	Every       care.Duration  `json:"every,omitempty"`
	// Count defaults to 1.
	Count int `json:"count,omitempty"`
}

// maxSlotsPerSpec bounds a series, to catch a typo before it writes a
// million rows.
const maxSlotsPerSpec = 1000

// SlotID derives a slot's id from its provider, service and start.
func SlotID(providerID, serviceCode string, startsAt time.Time) string {
	sum := sha256.Sum256([]byte("caseflow/slot\x00" + providerID + "\x00" + serviceCode + "\x00" + strconv.FormatInt(startsAt.UTC().UnixMicro(), 10)))
	return "sl-" + hex.EncodeToString(sum[:8])
}

// Expand validates the file and returns its providers and their slots,
// with relative starts resolved against now. Errors name the JSON field,
// e.g. providers[1].slots[0].duration.
func (f File) Expand(now time.Time) ([]care.Provider, []care.Slot, error) {
	if len(f.Providers) == 0 {
		return nil, nil, care.Invalidf("providers", "the file lists no providers")
	}
	loadHour := now.UTC().Truncate(time.Hour)
	seenProvider := map[string]bool{}
	var providers []care.Provider
	var slots []care.Slot
	for i, p := range f.Providers {
		field := fmt.Sprintf("providers[%d]", i)
		if err := care.ValidateOpaqueID(field+".id", p.ID); err != nil {
			return nil, nil, err
		}
		if seenProvider[p.ID] {
			return nil, nil, care.Invalidf(field+".id", "provider %s is listed twice", p.ID)
		}
		seenProvider[p.ID] = true
		if strings.TrimSpace(p.Name) == "" {
			return nil, nil, care.Invalidf(field+".name", "is required: the clinic's or practitioner's name")
		}
		if len(p.Services) == 0 {
			return nil, nil, care.Invalidf(field+".services", "list at least one service code, e.g. [\"physiotherapy\"]")
		}
		offered := map[string]bool{}
		for j, code := range p.Services {
			if err := care.ValidateOpaqueID(fmt.Sprintf("%s.services[%d]", field, j), code); err != nil {
				return nil, nil, err
			}
			offered[code] = true
		}
		for j, sp := range p.Slots {
			sf := fmt.Sprintf("%s.slots[%d]", field, j)
			code := sp.Service
			if code == "" {
				if len(p.Services) != 1 {
					return nil, nil, care.Invalidf(sf+".service", "is required: the provider offers %d services", len(p.Services))
				}
				code = p.Services[0]
			}
			if !offered[code] {
				return nil, nil, care.Invalidf(sf+".service", "%q is not among the provider's services (%s)", code, strings.Join(p.Services, ", "))
			}
			var first time.Time
			switch {
			case sp.StartsAt != nil && sp.StartOffset != nil:
				return nil, nil, care.Invalidf(sf, "give either starts_at (a fixed time) or start_offset (relative to the load time), not both")
			case sp.StartsAt != nil:
				first = sp.StartsAt.UTC()
			case sp.StartOffset != nil:
				first = gridStart(loadHour, sp.Every.D(), count(sp)).Add(sp.StartOffset.D())
			default:
				return nil, nil, care.Invalidf(sf, "needs starts_at (e.g. \"2026-12-01T09:00:00Z\") or start_offset (e.g. \"2h\")")
			}
			if sp.Duration <= 0 {
				return nil, nil, care.Invalidf(sf+".duration", "is required: how long a slot lasts, e.g. \"45m\"")
			}
			count := sp.Count
			switch {
			case count == 0:
				count = 1
			case count < 0 || count > maxSlotsPerSpec:
				return nil, nil, care.Invalidf(sf+".count", "must be from 1 to %d, got %d", maxSlotsPerSpec, count)
			}
			if count > 1 && sp.Every < sp.Duration {
				return nil, nil, care.Invalidf(sf+".every", "is required with a count above 1: the time from one slot's start to the next, at least the slot duration (%s) so slots do not overlap", sp.Duration.D())
			}
			for k := range count {
				start := first.Add(time.Duration(k) * sp.Every.D())
				slots = append(slots, care.Slot{ID: SlotID(p.ID, code, start), ProviderID: p.ID, ServiceCode: code,
					StartsAt: start, EndsAt: start.Add(sp.Duration.D())})
			}
		}
		providers = append(providers, care.Provider{ID: p.ID, Name: p.Name, Services: p.Services})
	}
	return providers, slots, nil
}

// count is the number of slots of a series: Count, or 1.
func count(sp SlotSpec) int {
	if sp.Count == 0 {
		return 1
	}
	return sp.Count
}

// gridStart is the first multiple of a relative series' period at or
// after the load hour: the period is the series' every (a day for a single
// slot, or an every under an hour), counted from the zero time, so every
// load of the series lands on the same grid.
func gridStart(loadHour time.Time, every time.Duration, n int) time.Time {
	period := every
	if n <= 1 || period < time.Hour {
		period = 24 * time.Hour
	}
	start := loadHour.Truncate(period)
	if start.Before(loadHour) {
		start = start.Add(period)
	}
	return start
}
