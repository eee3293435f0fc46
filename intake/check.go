package intake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/caseflow/caseflow/care"
)

// Request is one case to open as staff typed it: the flags of "case open"
// or one row of "case import".
type Request struct {
	PatientRef, Name, BirthDate, Program, Model, Manager, Source, CaseID string
}

// ToOpen is a checked Request. Case.ID is empty when it is to be
// derived from the patient and program; Case.PatientID is set when the
// patient is registered.
type ToOpen struct {
	Case       care.Case
	PatientRef string
	Name       string
	BirthDate  *time.Time
}

// Check validates r for a case opened by actor. It returns every problem
// found, each a *care.ValidationError named after the field as "case open"
// spells it without the dashes: patient-ref, birth-date, program, model,
// manager, source, case-id. "case open" reports the first as a flag, "case
// import" reports them all as columns of the row. This is the only place a
// case to open is checked; care.Case.Validate has the last word.
func Check(r Request, actor string) (ToOpen, []error) {
	var problems []error
	o := ToOpen{PatientRef: r.PatientRef, Name: r.Name}
	if r.PatientRef == "" {
		problems = append(problems, care.Invalidf("patient-ref", "is required: the patient's reference in your records (e.g. an MRN)"))
	}
	if r.BirthDate != "" {
		d, err := time.Parse(time.DateOnly, r.BirthDate)
		if err != nil {
			problems = append(problems, care.Invalidf("birth-date", "must be a date YYYY-MM-DD, got %q", r.BirthDate))
		} else if err := care.CheckBirthDate(d, time.Now()); err != nil {
			problems = append(problems, err)
		} else {
			o.BirthDate = &d
		}
	}
	model, err := care.ParseEnum("model", r.Model, care.Models)
	if err != nil {
		problems, model = append(problems, err), care.ModelClinical
	}
	source, err := care.ParseEnum("source", r.Source, care.Sources)
	if err != nil {
		problems, source = append(problems, err), care.SourceReferral
	}
	c := care.Case{ID: r.CaseID, PatientID: "p-placeholder", Program: r.Program, Model: model,
		Manager: r.Manager, Source: source, OpenedBy: actor}
	if c.ID == "" {
		c.ID = "c-placeholder"
	}
	if c.Program == "" {
		problems, c.Program = append(problems, care.Invalidf("program", "is required: the care-management program, e.g. complex-case")), "placeholder"
	}
	if c.Manager == "" {
		problems, c.Manager = append(problems, care.Invalidf("manager", "is required: the opaque id of the case manager, e.g. cm-ana")), "placeholder"
	}
	// Ask the case's own rules until they pass, standing a placeholder in for
	// each field they refuse, so that every problem is reported at once.
	for range 8 {
		err := c.Validate()
		var v *care.ValidationError
		if err == nil || !errors.As(err, &v) {
			if err != nil {
				problems = append(problems, err)
			}
			break
		}
		problems = append(problems, v)
		switch v.Field {
		case "case-id":
			c.ID = "c-placeholder"
		case "program":
			c.Program = "placeholder"
		case "manager":
			c.Manager = "placeholder"
		case "model":
			c.Model = care.ModelClinical
		case "source":
			c.Source = care.SourceReferral
		default: // patient-id, actor or a rule this loop does not know
			return o, problems
		}
	}
	problems = append(problems, revealsPatient(r)...)
	if len(problems) > 0 {
		return o, problems
	}
	c.ID, c.PatientID = r.CaseID, ""
	o.Case = c
	return o, nil
}

// revealsPatient refuses a case id chosen by staff (Temporal shows it
// unencrypted, as the workflow id) that contains the patient's reference, a
// part of the name, or the birth date: an opaque id's shape cannot tell
// "zebulon-1931-07-14" from "c-1a2b", but the patient's own data can. Staff
// and program ids are not checked: they are chosen once, apart from any
// patient (a manager "cm-ana" may well manage a patient called Ana).
func revealsPatient(r Request) []error {
	var secrets []string
	for _, part := range strings.FieldsFunc(strings.ToLower(r.Name+" "+r.PatientRef), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c)
	}) {
		if len(part) >= 4 {
			secrets = append(secrets, part)
		}
	}
	if r.BirthDate != "" {
		secrets = append(secrets, r.BirthDate, strings.ReplaceAll(r.BirthDate, "-", ""))
	}
	var problems []error
	for _, f := range []struct{ field, value string }{{"case-id", r.CaseID}} {
		v := strings.ToLower(f.value)
		for _, secret := range secrets {
			if v != "" && strings.Contains(v, secret) {
				problems = append(problems, care.Invalidf(f.field, "must not contain the patient's name, reference or birth date: Temporal shows it unencrypted"))
				break
			}
		}
	}
	return problems
}

// checkRow validates one row, with the defaults of opts: it returns the
// row's values as rows are compared with each other, the case to open, whether
// the row is urgent, and its problems (none: the row is valid on its own).
func checkRow(r fileRow, opts Options) (map[string]string, ToOpen, bool, []RowProblem) {
	values := maps.Clone(r.values)
	if values["model"] == "" {
		values["model"] = opts.Model
	}
	if values["manager"] == "" {
		values["manager"] = opts.Manager
	}
	req := Request{PatientRef: values["patient_ref"], Name: values["name"], BirthDate: values["birth_date"],
		Program: values["program"], Model: values["model"], Manager: values["manager"], Source: values["source"]}
	o, problems := Check(req, opts.Actor)
	bad := r.problems
	for _, p := range problems {
		var ve *care.ValidationError
		if errors.As(p, &ve) {
			field := strings.ReplaceAll(ve.Field, "-", "_")
			if slices.ContainsFunc(r.problems, func(q RowProblem) bool { return q.Field == field }) {
				continue // already reported: the value was not text
			}
			bad = append(bad, RowProblem{Line: r.line, Field: field, Problem: ve.Problem})
		} else {
			bad = append(bad, RowProblem{Line: r.line, Field: "row", Problem: p.Error()})
		}
	}
	urgent := false
	if p := values["priority"]; p != "" {
		if _, err := care.ParseEnum("priority", p, priorities); err != nil {
			bad = append(bad, RowProblem{Line: r.line, Field: "priority", Problem: err.(*care.ValidationError).Problem})
		}
		urgent = p == "urgent"
	}
	return values, o, urgent, bad
}

// checked is a valid row as groupRows compares it with the others.
type checked struct {
	row    fileRow
	c      candidate
	values map[string]string // with defaults applied, for comparing duplicates
}

// groupRows compares the valid rows that share a case (patient_ref and
// program) or a patient with each other: it reports the duplicate and
// conflicting ones in sum and returns the cases to open, one per case.
// Rows that share neither with another row need not be passed: they are
// cases of their own.
func groupRows(valid []*checked, sum *Summary) []candidate {
	// Rows for the same case must agree; rows for the same patient must
	// agree on the patient. Otherwise the outcome would depend on which row
	// ran last, so none of them is started.
	bad := map[int][]RowProblem{}
	byCase := map[[2]string][]*checked{}
	var caseKeys [][2]string
	byPatient := map[string][]*checked{}
	var patients []string
	for _, c := range valid {
		k := [2]string{c.values["patient_ref"], c.values["program"]}
		if byCase[k] == nil {
			caseKeys = append(caseKeys, k)
		}
		byCase[k] = append(byCase[k], c)
		if byPatient[k[0]] == nil {
			patients = append(patients, k[0])
		}
		byPatient[k[0]] = append(byPatient[k[0]], c)
	}
	conflict := func(group []*checked, field, what string) {
		var with []*checked
		for _, c := range group {
			if c.values[field] != "" {
				with = append(with, c)
			}
		}
		for _, c := range with {
			if c.values[field] == with[0].values[field] {
				continue
			}
			for _, x := range with {
				var others []string
				for _, y := range with {
					if y != x {
						others = append(others, fmt.Sprint(y.row.line))
					}
				}
				bad[x.row.line] = append(bad[x.row.line], RowProblem{Line: x.row.line, Field: field,
					Problem: fmt.Sprintf("differs from line %s for the same %s; none of these rows was started", strings.Join(others, ", "), what)})
			}
			return
		}
	}
	for _, k := range caseKeys {
		for _, field := range []string{"source", "model", "manager"} {
			conflict(byCase[k], field, "patient_ref and program")
		}
	}
	for _, p := range patients {
		conflict(byPatient[p], "name", "patient_ref")
		conflict(byPatient[p], "birth_date", "patient_ref")
	}
	var todo []candidate
	for _, k := range caseKeys {
		group := byCase[k]
		firstBad := 0
		for _, c := range group {
			if len(bad[c.row.line]) > 0 {
				firstBad = c.row.line
				break
			}
		}
		if firstBad != 0 {
			for _, c := range group {
				p := bad[c.row.line]
				if len(p) == 0 {
					p = []RowProblem{{Line: c.row.line, Field: "patient_ref", Problem: fmt.Sprintf("same patient_ref and program as line %d, which is invalid; not started", firstBad)}}
				}
				sum.Invalid = append(sum.Invalid, p...)
				sum.InvalidRows++
			}
			continue
		}
		// The row that gives the most of the patient's demographics opens
		// the case (the first of those): a duplicate that names the
		// patient where the first row did not keeps the name.
		first := group[0]
		for _, c := range group[1:] {
			if demographics(c) > demographics(first) {
				first = c
			}
		}
		for _, c := range group {
			if c == first {
				continue
			}
			sum.Duplicates = append(sum.Duplicates, DuplicateRow{Line: c.row.line, SameAs: first.row.line})
			first.c.urgent = first.c.urgent || c.c.urgent
		}
		sum.DuplicateRows += len(group) - 1
		todo = append(todo, first.c)
	}
	return todo
}

// demographics is how many of the patient's name and birth date row c gives.
func demographics(c *checked) int {
	n := 0
	for _, field := range []string{"name", "birth_date"} {
		if c.values[field] != "" {
			n++
		}
	}
	return n
}
