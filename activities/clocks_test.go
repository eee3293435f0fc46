package activities_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/tzdb"
)

func transitionalCare(t *testing.T) care.Policy {
	t.Helper()
	b, err := os.ReadFile("../policies/transitional-care.json")
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

// A discharge dated today and entered in the evening runs its clocks from
// its date on the program's calendar. The workflow's clock is in UTC, where
// 20:30 in New York is already the next day; the clocks used to come out a
// day late.
func TestAnEveningEntryKeepsTheDischargeDate(t *testing.T) {
	t.Parallel()
	p := transitionalCare(t)
	ny, err := tzdb.Load("America/New_York")
	require.NoError(t, err)
	eod := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 59, 0, ny) }
	// Thursday 3 December 2026, entered at 20:30 New York time.
	entered := time.Date(2026, 12, 4, 1, 30, 0, 0, time.UTC)
	for _, at := range []time.Time{entered, entered.In(ny)} {
		c, err := activities.DischargeClocks(care.DischargeRequest{Policy: p, Risk: care.RiskModerate, EnteredAt: at,
			Transition: care.Transition{Kind: care.TransitionDischarge, Date: "2026-12-03"}})
		require.NoError(t, err)
		require.True(t, c.DischargedAt.Equal(entered), "entered the day of its date: it happened by then")
		require.True(t, eod(2026, 12, 7).Equal(c.ContactDue), "2 business days after Thursday: Monday, got %s", c.ContactDue.In(ny))
		require.True(t, eod(2026, 12, 17).Equal(c.VisitDue), "14 days: got %s", c.VisitDue.In(ny))
		require.True(t, eod(2027, 1, 2).Equal(c.ReadmissionEnds), "day 30: got %s", c.ReadmissionEnds.In(ny))
	}
}
