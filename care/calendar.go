package care

import (
	"fmt"
	"slices"
	"time"
)

// Calendar is the program's non-working days besides weekends: holiday
// rules (a fixed date, shifted to the nearest weekday when observed, or
// the nth weekday of a month) that answer for any year, plus explicit
// dates (one-off closures, or a whole calendar written out by hand).
type Calendar struct {
	Rules    []HolidayRule `json:"rules,omitempty"`
	Holidays []string      `json:"holidays"` // YYYY-MM-DD
}

// HolidayRule is a holiday that recurs every year: on Month/Day (Observed
// moves a Saturday to the Friday before and a Sunday to the Monday after),
// or on the Nth Weekday of Month (Nth -1: the last one).
type HolidayRule struct {
	Name     string `json:"name"`
	Month    int    `json:"month"`
	Day      int    `json:"day,omitempty"`
	Observed bool   `json:"observed,omitempty"`
	Weekday  string `json:"weekday,omitempty"` // monday ... sunday
	Nth      int    `json:"nth,omitempty"`
	// From and Until bound the years the rule applies (0: no bound).
	From  int `json:"from,omitempty"`
	Until int `json:"until,omitempty"`
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// Date is the day the rule falls on in year y (ok false when the rule does
// not apply that year).
func (r HolidayRule) Date(y int) (time.Time, bool) {
	if (r.From != 0 && y < r.From) || (r.Until != 0 && y > r.Until) {
		return time.Time{}, false
	}
	if r.Weekday == "" {
		d := time.Date(y, time.Month(r.Month), r.Day, 0, 0, 0, 0, time.UTC)
		if r.Observed {
			switch d.Weekday() {
			case time.Saturday:
				d = d.AddDate(0, 0, -1)
			case time.Sunday:
				d = d.AddDate(0, 0, 1)
			}
		}
		return d, true
	}
	wd := time.Weekday(slices.Index(weekdays, r.Weekday))
	if r.Nth < 0 {
		d := time.Date(y, time.Month(r.Month)+1, 0, 0, 0, 0, 0, time.UTC) // last day of the month
		for d.Weekday() != wd {
			d = d.AddDate(0, 0, -1)
		}
		return d, true
	}
	d := time.Date(y, time.Month(r.Month), 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	d = d.AddDate(0, 0, 7*(r.Nth-1))
	if int(d.Month()) != r.Month {
		return time.Time{}, false // no 5th such weekday in the month that year
	}
	return d, true
}

// IsHoliday reports whether the date of d (its year, month and day as
// written) is a holiday.
func (c Calendar) IsHoliday(d time.Time) bool {
	date := d.Format(time.DateOnly)
	if slices.Contains(c.Holidays, date) {
		return true
	}
	// An observed New Year's Day can fall in the year before: look at both.
	for _, y := range []int{d.Year(), d.Year() + 1} {
		for _, r := range c.Rules {
			if h, ok := r.Date(y); ok && h.Format(time.DateOnly) == date {
				return true
			}
		}
	}
	return false
}

// AddBusinessDays returns the date n business days after date: weekends and
// the calendar's holidays do not count. A Friday discharge with n=2 is due on
// Tuesday.
func (c Calendar) AddBusinessDays(date time.Time, n int) time.Time {
	d := date
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || c.IsHoliday(d) {
			continue
		}
		n--
	}
	return d
}

// Answers reports whether the calendar knows the holidays of every year
// from the year of from through years later: it has rules, or its explicit
// dates reach into the last of those years.
func (c Calendar) Answers(from time.Time, years int) bool {
	if len(c.Rules) > 0 {
		return true
	}
	last := ""
	for _, h := range c.Holidays {
		last = max(last, h)
	}
	return last != "" && last[:4] >= fmt.Sprint(from.Year()+years)
}

// CalendarYears is how many years ahead a loaded calendar must answer for.
const CalendarYears = 5

// Validate checks the calendar's rules and dates.
func (c Calendar) Validate() error {
	for i, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return Invalidf(fmt.Sprintf("calendar.holidays[%d]", i), "must be a date YYYY-MM-DD, got %q", h)
		}
	}
	for i, r := range c.Rules {
		field := fmt.Sprintf("calendar.rules[%d]", i)
		switch {
		case r.Name == "":
			return Invalidf(field+".name", "is required (e.g. \"Independence Day\")")
		case r.Month < 1 || r.Month > 12:
			return Invalidf(field+".month", "must be 1 to 12, got %d", r.Month)
		case r.Weekday == "" && (r.Day < 1 || r.Day > 31):
			return Invalidf(field+".day", "must be 1 to 31 (or set weekday and nth), got %d", r.Day)
		case r.Weekday != "" && !slices.Contains(weekdays, r.Weekday):
			return Invalidf(field+".weekday", "must be monday ... sunday, got %q", r.Weekday)
		case r.Weekday != "" && (r.Nth == 0 || r.Nth < -1 || r.Nth > 5):
			return Invalidf(field+".nth", "must be 1 to 5, or -1 for the last %s of the month", r.Weekday)
		case r.Weekday != "" && r.Day != 0:
			return Invalidf(field+".day", "set either day (a fixed date) or weekday and nth, not both")
		}
	}
	return nil
}
