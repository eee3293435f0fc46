// Package report computes the compliance reports a care-management team is
// audited on (TCM, prior authorizations, appointments, follow-up calls, CCM
// minutes, caseload) in SQL over the records caseflow keeps. Every figure is
// an aggregate: no report carries a patient's name, a case id or free text.
// The definitions are in docs/reports.md.
package report

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
)

// Names lists the reports, in the order they are documented.
var Names = []string{"tcm", "authorizations", "appointments", "calls", "ccm", "caseload"}

// Filter narrows a report: to one program, one case manager, and the
// records whose anchor date (a report's own: the discharge, the submission,
// the appointment's start ...) falls on From..To (inclusive dates, UTC).
// Now is the time the report is "as of" (overdue work, pended requests past
// their deadline); zero means the current time.
type Filter struct {
	Program string    `json:"program,omitempty"`
	Manager string    `json:"manager,omitempty"`
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Now     time.Time `json:"now"`
}

// Validate checks the filter; the error names the flag.
func (f Filter) Validate() error {
	if f.Program != "" {
		if err := care.ValidateOpaqueID("--program", f.Program); err != nil {
			return err
		}
	}
	if f.Manager != "" {
		if err := care.ValidateOpaqueID("--manager", f.Manager); err != nil {
			return err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return care.Invalidf("--to", "%s is before --from %s", f.To.Format(time.DateOnly), f.From.Format(time.DateOnly))
	}
	return nil
}

// Table is one section of a report: named columns and rows of values
// (int64, float64 or string; nil when there is nothing to compute, e.g. a
// rate with no denominator).
type Table struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Report is a computed report: its sections, with the filter it ran with.
type Report struct {
	Name   string  `json:"report"`
	Filter Filter  `json:"filter"`
	Tables []Table `json:"tables"`
}

// Table returns the section called name, or nil.
func (r Report) Table(name string) *Table {
	for i := range r.Tables {
		if r.Tables[i].Name == name {
			return &r.Tables[i]
		}
	}
	return nil
}

// Value returns the value of column in the first row whose leading columns
// equal key, and whether there is one.
func (t Table) Value(column string, key ...string) (any, bool) {
	c := slices.Index(t.Columns, column)
	if c < 0 {
		return nil, false
	}
rows:
	for _, r := range t.Rows {
		for i, k := range key {
			if fmt.Sprint(r[i]) != k {
				continue rows
			}
		}
		return r[c], true
	}
	return nil, false
}

// Querier is what a report needs of the database (*sql.DB, *sqlx.DB).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Run computes the report called name.
func Run(ctx context.Context, db Querier, name string, f Filter) (Report, error) {
	if err := f.Validate(); err != nil {
		return Report{}, err
	}
	secs, ok := reports[name]
	if !ok {
		return Report{}, care.Invalidf("report", "unknown report %q; use one of %s", name, strings.Join(Names, ", "))
	}
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	f.Now = f.Now.UTC()
	r := Report{Name: name, Filter: f, Tables: []Table{}}
	for _, s := range secs {
		t, err := s.run(ctx, db, f)
		if err != nil {
			return Report{}, fmt.Errorf("report %s, %s: %w", name, s.name, err)
		}
		r.Tables = append(r.Tables, t)
	}
	return r, nil
}

// section is one query of a report.
type section struct {
	name, title string
	query       string
}

func (s section) run(ctx context.Context, db Querier, f Filter) (Table, error) {
	var from, to any
	if !f.From.IsZero() {
		from = day(f.From)
	}
	if !f.To.IsZero() {
		to = day(f.To).AddDate(0, 0, 1)
	}
	rows, err := db.QueryContext(ctx, prelude+s.query, f.Program, f.Manager, from, to, f.Now)
	if err != nil {
		return Table{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: s.name, Title: s.title, Columns: cols, Rows: [][]any{}}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Table{}, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				vals[i] = string(x)
			case time.Time:
				vals[i] = x.UTC().Format(time.RFC3339)
			}
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

// day is the UTC midnight of t's date.
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
