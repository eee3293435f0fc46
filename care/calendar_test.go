package care_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/tzdb"
)

func programCalendar(t *testing.T) care.Policy {
	t.Helper()
	b, err := os.ReadFile("../policies/transitional-care.json")
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	require.NoError(t, p.Validate())
	return p
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestCalendarFor2028To2031AnswersFromItsRules(t *testing.T) {
	cal := programCalendar(t).Calendar
	for _, h := range []string{
		"2027-12-31", // New Year's Day 2028 is a Saturday: observed on Friday
		"2028-01-17", // Martin Luther King Jr. Day: third Monday of January
		"2028-05-29", // Memorial Day: last Monday of May
		"2028-06-19", "2028-07-04", "2028-11-23", "2028-12-25",
		"2029-02-19", "2029-11-12", // Veterans Day on a Sunday: observed Monday
		"2030-09-02", "2030-10-14",
		"2031-07-04", "2031-11-27", "2031-12-25",
	} {
		require.True(t, cal.IsHoliday(date(h)), h)
	}
	for _, d := range []string{"2028-01-03", "2028-01-10", "2029-11-11", "2031-07-03"} {
		require.False(t, cal.IsHoliday(date(d)), d)
	}
	// Friday 14 January 2028 + 2 business days skips MLK Day: Wednesday the 19th.
	require.Equal(t, "2028-01-19", cal.AddBusinessDays(date("2028-01-14"), 2).Format(time.DateOnly))
}

func TestPolicyLoadRejectsACalendarThatCannotAnswerForFiveYears(t *testing.T) {
	p := programCalendar(t)
	now := date("2026-12-01")
	require.NoError(t, p.CheckHorizon(now))
	p.Calendar = care.Calendar{Holidays: []string{"2026-12-25", "2027-12-31"}}
	err := p.CheckHorizon(now)
	require.Equal(t, care.KindInvalid, care.KindOf(err))
	require.ErrorContains(t, err, "holidays end before 2031")
	p.Calendar.Holidays = append(p.Calendar.Holidays, "2031-12-25")
	require.NoError(t, p.CheckHorizon(now), "explicit dates through the fifth year")
	p.Calendar = care.Calendar{Rules: []care.HolidayRule{{Name: "x", Month: 13, Day: 1}}}
	require.ErrorContains(t, p.Validate(), "calendar.rules[0].month")
}

func TestTransitionDatesAreCheckedAgainstNowAndTheCaseOpening(t *testing.T) {
	loc, err := tzdb.Load("America/New_York")
	require.NoError(t, err)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, loc)
	opened := time.Date(2026, 11, 1, 9, 0, 0, 0, loc)
	check := func(d, tm string) error {
		tr := care.Transition{Kind: care.TransitionDischarge, From: "h", To: "home", Date: d, Time: tm}
		return tr.CheckDate(now, opened, loc, 15*time.Minute, 90*24*time.Hour)
	}
	require.NoError(t, check("2026-12-02", ""))
	require.NoError(t, check("2026-12-02", "10:10"), "within the tolerance")
	require.ErrorContains(t, check("2026-12-02", "11:00"), "in the future")
	require.ErrorContains(t, check("2026-12-04", ""), "in the future")
	require.NoError(t, check("2026-08-10", ""))
	require.ErrorContains(t, check("2026-07-01", ""), "before the case opened")
}

func TestBirthDatesAreNotInTheFutureNorBefore1900(t *testing.T) {
	now := date("2026-12-01")
	require.NoError(t, care.CheckBirthDate(date("1931-04-02"), now))
	require.ErrorContains(t, care.CheckBirthDate(date("2027-01-01"), now), "in the future")
	require.ErrorContains(t, care.CheckBirthDate(date("1899-12-31"), now), "before 1900")
}

// A "5th weekday" rule names no day in a year whose month has only four:
// it must not spill into the next month.
func TestAFifthWeekdayRuleDoesNotSpillIntoTheNextMonth(t *testing.T) {
	r := care.HolidayRule{Name: "fifth Monday of February", Month: 2, Weekday: "monday", Nth: 5}
	_, ok := r.Date(2027) // February 2027 has four Mondays
	require.False(t, ok)
	d, ok := r.Date(2044) // February 2044 (a leap year) starts on a Monday: 5 Mondays
	require.True(t, ok)
	require.Equal(t, "2044-02-29", d.Format(time.DateOnly))
	c := care.Calendar{Rules: []care.HolidayRule{r}}
	require.False(t, c.IsHoliday(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)), "1 March 2027 is no holiday")
}
