package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/workflows"
)

func (a *app) caseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "case",
		Short: "Open, drive and inspect patient cases",
		Long: `A case moves through the nine steps of care management:
  screening → assessment → risk-stratification → planning → implementation →
  follow-up → transition → post-transition → evaluation → closed
Follow-up may send it back to assessment or planning; an ineligible screening
closes it; "case close" closes it from any phase.`,
	}
	cmd.AddCommand(a.openCommand(), a.screenCommand(), a.assessCommand(), a.stratifyCommand(),
		a.planCommand(), a.contactCommand(), a.transitionCommand(), a.evaluateCommand(), a.closeCommand(),
		a.showCommand(), a.listCommand(), a.historyCommand(), a.importCommand(), a.callCommand(), a.doneCommand(), a.appointmentCommand())
	cmd.AddCommand(a.pauseCommands()...)
	return cmd
}

// OpenResult is what "case open" reports.
type OpenResult struct {
	CaseID     string     `json:"case_id"`
	WorkflowID string     `json:"workflow_id"`
	Status     string     `json:"status"` // opened or already-exists
	Phase      care.Phase `json:"phase,omitempty"`
}

func (a *app) openCommand() *cobra.Command {
	var f struct {
		patientRef, name, birthDate, program, model, manager, source, caseID string
	}
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Open a case for a patient (step 1: detection)",
		Long: `Open a case for a patient in a program. The patient's reference, name and
birth date are stored in PostgreSQL only; Temporal sees an opaque patient id.

The case id is derived from the patient and program, so opening the same case
twice reports the existing case instead of creating a second one. Pass
--case-id to choose the id (e.g. a new episode for a patient whose earlier
case in the program is closed).`,
		Example: `  caseflow case open --patient-ref MRN-0042 --name "River Quinn" --birth-date 1991-04-02 \
      --program complex-case --model clinical --manager cm-ana --source referral`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			o, problems := checkCase(caseRequest{PatientRef: f.patientRef, Name: f.name, BirthDate: f.birthDate,
				Program: f.program, Model: f.model, Manager: f.manager, Source: f.source, CaseID: f.caseID}, a.actor)
			if len(problems) > 0 {
				return flagError(problems[0])
			}
			// Reach both systems before writing to either.
			cases, err := a.cases(ctx)
			if err != nil {
				return err
			}
			store, err := a.db(ctx)
			if err != nil {
				return err
			}
			res, err := a.openCase(ctx, cases, store, o)
			if err != nil {
				return err
			}
			if res.Status == "already-exists" {
				if st, qerr := cases.Status(ctx, res.CaseID); qerr == nil {
					res.Phase = st.Phase
				}
			}
			if a.json() {
				return a.printJSON(res)
			}
			if res.Status == "opened" {
				fmt.Fprintf(a.out, "opened case %s (workflow %s), phase screening\nnext: caseflow case screen %s --eligible\n", res.CaseID, res.WorkflowID, res.CaseID)
			} else {
				fmt.Fprintf(a.out, "case %s already exists (phase %s); nothing new was opened\n", res.CaseID, res.Phase)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.patientRef, "patient-ref", "", "the patient's reference in your records, e.g. an MRN or member number (required; stored in PostgreSQL only)")
	fl.StringVar(&f.name, "name", "", "the patient's name (stored in PostgreSQL only)")
	fl.StringVar(&f.birthDate, "birth-date", "", "the patient's birth date, YYYY-MM-DD (stored in PostgreSQL only)")
	fl.StringVar(&f.program, "program", "", "care-management program, e.g. complex-case, transitional-care (required)")
	fl.StringVar(&f.model, "model", "", "case-management model: brokerage, clinical, strengths-based, intensive (required)")
	fl.StringVar(&f.manager, "manager", "", "opaque id of the case manager, e.g. cm-ana (required)")
	fl.StringVar(&f.source, "source", "referral", "where the case came from: referral, adt, claims")
	fl.StringVar(&f.caseID, "case-id", "", "opaque case id (default: derived from patient and program)")
	return cmd
}

// flagError renames the fields of a case validation to the flags of "case open".
func flagError(err error) error {
	var v *care.ValidationError
	if errors.As(err, &v) && v.Field[0] != '-' {
		return care.Invalidf("--"+v.Field, "%s", v.Problem)
	}
	return err
}

// caseRequest is one case to open as staff typed it: the flags of "case open"
// or one row of "case import".
type caseRequest struct {
	PatientRef, Name, BirthDate, Program, Model, Manager, Source, CaseID string
}

// caseToOpen is a checked caseRequest. Case.ID is empty when it is to be
// derived from the patient and program; Case.PatientID is set when the
// patient is registered.
type caseToOpen struct {
	Case       care.Case
	PatientRef string
	Name       string
	BirthDate  *time.Time
}

// checkCase validates r for a case opened by actor. It returns every problem
// found, each a *care.ValidationError named after the field as "case open"
// spells it without the dashes: patient-ref, birth-date, program, model,
// manager, source, case-id. "case open" reports the first as a flag, "case
// import" reports them all as columns of the row. This is the only place a
// case to open is checked; care.Case.Validate has the last word.
func checkCase(r caseRequest, actor string) (caseToOpen, []error) {
	var problems []error
	o := caseToOpen{PatientRef: r.PatientRef, Name: r.Name}
	if r.PatientRef == "" {
		problems = append(problems, care.Invalidf("patient-ref", "is required: the patient's reference in your records (e.g. an MRN)"))
	}
	if r.BirthDate != "" {
		d, err := time.Parse(time.DateOnly, r.BirthDate)
		if err != nil {
			problems = append(problems, care.Invalidf("birth-date", "must be a date YYYY-MM-DD, got %q", r.BirthDate))
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
func revealsPatient(r caseRequest) []error {
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

// openCase registers the patient in PostgreSQL and starts the case workflow:
// the one path by which "case open" and "case import" open a case. Both are
// idempotent: the patient is found by reference and the case id is derived
// from patient and program, so a case that already exists is reported with
// Status "already-exists" (and Phase unknown: the caller may query it) and
// nothing new is started. The case runs under the program's policy in force,
// pinned in its input for its whole life.
func (a *app) openCase(ctx context.Context, cases *caseclient.Client, store *postgres.Store, o caseToOpen) (OpenResult, error) {
	c := o.Case
	policy, err := a.policy(ctx, store, c.Program)
	if err != nil {
		return OpenResult{}, err
	}
	c.PatientID, err = store.UpsertPatient(ctx, o.PatientRef, o.Name, o.BirthDate)
	if err != nil {
		return OpenResult{}, fmt.Errorf("register patient: %w", err)
	}
	if c.ID == "" {
		c.ID = care.CaseID(c.PatientID, c.Program)
	}
	res := OpenResult{CaseID: c.ID, WorkflowID: care.WorkflowID(c.ID), Status: "opened", Phase: care.PhaseScreening}
	opened, err := cases.Open(ctx, workflows.CaseInput{Case: c, Policy: policy})
	if err != nil {
		return res, err
	}
	if !opened {
		res.Status, res.Phase = "already-exists", ""
	}
	return res, nil
}
