package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/intake"
	"github.com/caseflow/caseflow/postgres"
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
	cmd.AddCommand(a.appealCommand(), a.bookCommand(), a.serviceCommand(), a.caseExportCommand())
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
		updatePatient                                                        bool
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
			o, problems := intake.Check(intake.Request{PatientRef: f.patientRef, Name: f.name, BirthDate: f.birthDate,
				Program: f.program, Model: f.model, Manager: f.manager, Source: f.source, CaseID: f.caseID}, a.actor)
			if len(problems) > 0 {
				return flagError(problems[0])
			}
			// Reach both systems before writing to either.
			op, err := a.opener(ctx)
			if err != nil {
				return err
			}
			op.updatePatient = f.updatePatient
			opened, err := op.Open(ctx, o)
			if err != nil {
				return err
			}
			res := OpenResult{CaseID: opened.CaseID, WorkflowID: care.WorkflowID(opened.CaseID), Status: intake.StatusOpened, Phase: care.PhaseScreening}
			if opened.Existed {
				res.Status, res.Phase = intake.StatusAlreadyExists, ""
				if st, qerr := op.cases.Status(ctx, res.CaseID); qerr == nil {
					res.Phase = st.Phase
				}
			}
			if a.json() {
				return a.printJSON(res)
			}
			if res.Status == intake.StatusOpened {
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
	fl.BoolVar(&f.updatePatient, "update-patient", false, "the patient is known with other demographics: update them (audited)")
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

// opener opens the cases of "case open" and "case import": it registers the
// patient in PostgreSQL and starts the case workflow under the program's
// policy in force, pinned in its input for the case's whole life. Opening is
// idempotent: the patient is found by reference and the case id is derived
// from patient and program, so a case that already exists is reported and
// nothing new is started.
type opener struct {
	a     *app
	cases *caseclient.Client
	store *postgres.Store
	// updatePatient lets a known patient's demographics be changed (audited);
	// without it, different demographics are refused.
	updatePatient bool
	// registered are the staff ids found registered by this command: an
	// import checks its manager and actor once, not on every row (staff are
	// never unregistered), as it looks up each program's policy once.
	registered *sync.Map
}

// opener reaches Temporal and PostgreSQL, before anything is written to
// either.
func (a *app) opener(ctx context.Context) (opener, error) {
	cases, err := a.cases(ctx)
	if err != nil {
		return opener{}, err
	}
	store, err := a.db(ctx)
	if err != nil {
		return opener{}, err
	}
	return opener{a: a, cases: cases, store: store, registered: &sync.Map{}}, nil
}

// CheckProgram says how to load a policy for a program without one.
func (o opener) CheckProgram(ctx context.Context, program string) error {
	_, err := o.a.policy(ctx, o.store, program)
	return err
}

// checkStaff is Store.CheckStaff, asked once per staff id found registered.
func (o opener) checkStaff(ctx context.Context, field, id string) error {
	if o.registered != nil {
		if _, ok := o.registered.Load(id); ok {
			return nil
		}
	}
	if err := o.store.CheckStaff(ctx, field, id); err != nil {
		return err
	}
	if o.registered != nil {
		o.registered.Store(id, true)
	}
	return nil
}

// Open opens one checked case: Register, then Start.
func (o opener) Open(ctx context.Context, t intake.ToOpen) (intake.Opened, error) {
	t, err := o.Register(ctx, t)
	if err != nil {
		return intake.Opened{}, err
	}
	return o.Start(ctx, t)
}

// Register checks a case's manager, actor and program, and registers its
// patient in PostgreSQL (found by reference; different demographics are
// refused unless --update-patient). It returns the case with its patient
// id, and its id when none was given.
func (o opener) Register(ctx context.Context, t intake.ToOpen) (intake.ToOpen, error) {
	if err := o.checkStaff(ctx, "manager", t.Case.Manager); err != nil {
		return t, err
	}
	if err := o.checkStaff(ctx, "--actor", t.Case.OpenedBy); err != nil {
		return t, err
	}
	if _, err := o.a.policy(ctx, o.store, t.Case.Program); err != nil {
		return t, err
	}
	known, err := o.store.PatientByRef(ctx, t.PatientRef)
	switch {
	case err == nil:
		// A known patient: the same demographics (or none given) change
		// nothing; others are refused, or changed with --update-patient;
		// ones the record lacks are filled in.
		differ := known.DemographicsDiffer(t.Name, t.BirthDate)
		if len(differ) > 0 && !o.updatePatient {
			return t, care.Invalidf("patient-ref", "%s is a known patient with another %s; check the reference, or change the record with \"caseflow case open --update-patient\" (audited)",
				t.PatientRef, strings.Join(differ, " and "))
		}
		// What the record lacks (an earlier row or case gave none) is
		// filled in too, and audited with what changed.
		if fields := append(differ, known.DemographicsMissing(t.Name, t.BirthDate)...); len(fields) > 0 {
			if err := o.store.UpdatePatient(ctx, known.ID, o.a.actor, t.Name, t.BirthDate, fields); err != nil {
				return t, fmt.Errorf("update patient: %w", err)
			}
		}
		t.Case.PatientID = known.ID
	case errors.Is(err, care.ErrNotFound):
		// A new patient; UpsertPatient also finds one registered since.
		if t.Case.PatientID, err = o.store.UpsertPatient(ctx, t.PatientRef, t.Name, t.BirthDate); err != nil {
			return t, fmt.Errorf("register patient: %w", err)
		}
	default:
		return t, fmt.Errorf("look up patient: %w", err)
	}
	if t.Case.ID == "" {
		t.Case.ID = care.CaseID(t.Case.PatientID, t.Case.Program)
	}
	return t, nil
}

// Start starts the workflow of a registered case under its program's
// policy in force, pinned for the case's whole life. A case PostgreSQL
// has recorded exists already, open or closed: its id is never started
// again, also once Temporal's retention has removed a closed case's
// workflow (and with it the duplicate its start would be refused as).
func (o opener) Start(ctx context.Context, t intake.ToOpen) (intake.Opened, error) {
	policy, err := o.a.policy(ctx, o.store, t.Case.Program)
	if err != nil {
		return intake.Opened{}, err
	}
	switch _, err := o.store.Case(ctx, t.Case.ID); {
	case err == nil:
		return intake.Opened{CaseID: t.Case.ID, Existed: true}, nil
	case !errors.Is(err, care.ErrNotFound):
		return intake.Opened{}, fmt.Errorf("look up case %s: %w", t.Case.ID, err)
	}
	opened, err := o.cases.Open(ctx, t.Case, policy)
	return intake.Opened{CaseID: t.Case.ID, Existed: err == nil && !opened}, err
}
