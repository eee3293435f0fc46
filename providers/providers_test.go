package providers_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/providers"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 10, 17, 0, 0, time.UTC)
	doc := `{"providers": [
		{"id": "prv-north", "name": "North Physiotherapy", "services": ["physiotherapy"],
		 "slots": [{"start_offset": "1h", "every": "1d", "count": 3, "duration": "45m"}]},
		{"id": "prv-mind", "name": "Mind Clinic", "services": ["neuropsychology", "occupational-therapy"],
		 "slots": [{"service": "neuropsychology", "starts_at": "2030-01-02T14:00:00+01:00", "duration": 3600000000000},
		           {"service": "occupational-therapy", "starts_at": "2030-01-03T09:00:00Z", "every": "1h", "count": 2, "duration": "30m"}]}]}`
	var f providers.File
	require.NoError(t, json.Unmarshal([]byte(doc), &f))
	ps, slots, err := f.Expand(now)
	require.NoError(t, err)
	require.Equal(t, []care.Provider{
		{ID: "prv-north", Name: "North Physiotherapy", Services: []string{"physiotherapy"}},
		{ID: "prv-mind", Name: "Mind Clinic", Services: []string{"neuropsychology", "occupational-therapy"}},
	}, ps)
	require.Len(t, slots, 6)
	// A relative series lies on its period's grid (here: 01:00 each day),
	// from the first grid point at least start_offset after the load hour;
	// "1d" and nanosecond numbers are durations as in policy files.
	first := time.Date(2030, 1, 2, 1, 0, 0, 0, time.UTC)
	require.Equal(t, care.Slot{ID: providers.SlotID("prv-north", "physiotherapy", first), ProviderID: "prv-north",
		ServiceCode: "physiotherapy", StartsAt: first, EndsAt: first.Add(45 * time.Minute)}, slots[0])
	require.Equal(t, first.Add(48*time.Hour), slots[2].StartsAt)
	require.Equal(t, time.Date(2030, 1, 2, 13, 0, 0, 0, time.UTC), slots[3].StartsAt, "times are instants")
	require.Equal(t, time.Hour, slots[3].EndsAt.Sub(slots[3].StartsAt))
	require.Equal(t, "occupational-therapy", slots[5].ServiceCode)
}

func TestTheDemoFileExpands(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../demo/providers.json")
	require.NoError(t, err)
	var f providers.File
	require.NoError(t, json.Unmarshal(data, &f))
	ps, slots, err := f.Expand(time.Now())
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	require.NotEmpty(t, slots)
}

func TestExpandRejectsBadFiles(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	bad := map[string]string{
		`{"providers": []}`: "providers: the file lists no providers",
		`{"providers": [{"id": "North Physio", "name": "x", "services": ["pt"]}]}`:                                                                                    "providers[0].id",
		`{"providers": [{"id": "prv-a", "name": "", "services": ["pt"]}]}`:                                                                                            "providers[0].name",
		`{"providers": [{"id": "prv-a", "name": "A", "services": []}]}`:                                                                                               "providers[0].services",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"]}, {"id": "prv-a", "name": "B", "services": ["pt"]}]}`:                                         "listed twice",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt", "ot"], "slots": [{"start_offset": "1h", "duration": "1h"}]}]}`:                                "providers[0].slots[0].service: is required",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"service": "ot", "start_offset": "1h", "duration": "1h"}]}]}`:                     "not among the provider's services",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"duration": "1h"}]}]}`:                                                            "needs starts_at",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"start_offset": "1h", "starts_at": "2030-01-01T00:00:00Z", "duration": "1h"}]}]}`: "not both",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"start_offset": "1h"}]}]}`:                                                        "providers[0].slots[0].duration",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"start_offset": "1h", "duration": "1h", "count": 5}]}]}`:                          "providers[0].slots[0].every",
		`{"providers": [{"id": "prv-a", "name": "A", "services": ["pt"], "slots": [{"start_offset": "1h", "duration": "1h", "every": "1h", "count": 5000}]}]}`:        "providers[0].slots[0].count",
	}
	for doc, want := range bad {
		var f providers.File
		require.NoError(t, json.Unmarshal([]byte(doc), &f), doc)
		_, _, err := f.Expand(now)
		require.ErrorContains(t, err, want, doc)
		require.Equal(t, care.KindInvalid, care.KindOf(err), doc)
	}
	var f providers.File
	require.ErrorContains(t, json.Unmarshal([]byte(`{"providers": [{"slots": [{"duration": "soon"}]}]}`), &f), `bad duration "soon"`)
}

// Loading the demo file again (make run restarted) in another hour or on
// another day adds no second copy of any series: every relative slot lies on
// its series' grid, so a later load only reaches slots beyond the first
// load's.
func TestRelativeSlotsLandOnTheSameGridAtEveryLoad(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../demo/providers.json")
	require.NoError(t, err)
	var f providers.File
	require.NoError(t, json.Unmarshal(data, &f))
	load := func(at time.Time) map[string]care.Slot {
		_, slots, err := f.Expand(at)
		require.NoError(t, err)
		byID := map[string]care.Slot{}
		for _, s := range slots {
			byID[s.ID] = s
		}
		require.Len(t, byID, len(slots), "a load has no slot twice")
		return byID
	}
	first := time.Date(2030, 1, 7, 10, 17, 0, 0, time.UTC)
	base := load(first)
	same := load(first.Add(5 * time.Hour)) // make run restarted the same day
	require.Equal(t, base, same, "a reload the same day adds nothing")

	// Any later load: per (provider, service) the starts fall on the first
	// load's grid (no slot between two of the first load's, no duplicate
	// series).
	grid := map[string][]time.Time{}
	for _, s := range base {
		grid[s.ProviderID+"/"+s.ServiceCode] = append(grid[s.ProviderID+"/"+s.ServiceCode], s.StartsAt)
	}
	for _, later := range []time.Duration{time.Hour, 13 * time.Hour, 26 * time.Hour, 50 * time.Hour, 7 * 24 * time.Hour} {
		added := 0
		for id, s := range load(first.Add(later)) {
			if _, ok := base[id]; ok {
				continue
			}
			added++
			var starts []time.Time
			starts = append(starts, grid[s.ProviderID+"/"+s.ServiceCode]...)
			onGrid := false
			for _, b := range starts {
				step := s.StartsAt.Sub(b)
				for _, sp := range []time.Duration{24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 168 * time.Hour} {
					if step%sp == 0 {
						onGrid = true
					}
				}
			}
			require.True(t, onGrid, "slot %s at %s is off the first load's grid", id, s.StartsAt)
		}
		require.Less(t, added, len(base)/4, "a load %s later adds only the slots beyond the first load's, not a second series", later)
	}
}
