package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
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
		a.showCommand(), a.listCommand(), a.historyCommand())
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
			if f.patientRef == "" {
				return care.Invalidf("--patient-ref", "is required: the patient's reference in your records (e.g. an MRN)")
			}
			var birth *time.Time
			if f.birthDate != "" {
				d, err := time.Parse(time.DateOnly, f.birthDate)
				if err != nil {
					return care.Invalidf("--birth-date", "must be a date YYYY-MM-DD, got %q", f.birthDate)
				}
				birth = &d
			}
			model, err := care.ParseEnum("--model", f.model, care.Models)
			if err != nil {
				return err
			}
			source, err := care.ParseEnum("--source", f.source, care.Sources)
			if err != nil {
				return err
			}
			c := care.Case{ID: f.caseID, PatientID: "p-placeholder", Program: f.program, Model: model,
				Manager: f.manager, Source: source, OpenedBy: a.actor}
			if c.ID == "" {
				c.ID = "c-placeholder"
			}
			if err := c.Validate(); err != nil {
				return flagError(err)
			}
			// Reach both systems before writing to either.
			tc, err := a.client(ctx)
			if err != nil {
				return err
			}
			store, err := a.db(ctx)
			if err != nil {
				return err
			}
			c.PatientID, err = store.UpsertPatient(ctx, f.patientRef, f.name, birth)
			if err != nil {
				return fmt.Errorf("register patient: %w", err)
			}
			if f.caseID == "" {
				c.ID = care.CaseID(c.PatientID, c.Program)
			}
			res, err := a.startCase(ctx, tc, c)
			if err != nil {
				return err
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

// startCase starts the case workflow, or reports the case that already has
// the id.
func (a *app) startCase(ctx context.Context, tc client.Client, c care.Case) (OpenResult, error) {
	c.OpenedAt = time.Now().UTC().Truncate(time.Second)
	policy := care.DefaultPolicy(c.Program)
	id := care.WorkflowID(c.ID)
	res := OpenResult{CaseID: c.ID, WorkflowID: id, Status: "opened", Phase: care.PhaseScreening}
	_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                a.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPhase.ValueSet(string(care.PhaseScreening)),
			workflows.AttrProgram.ValueSet(c.Program),
			workflows.AttrManager.ValueSet(c.Manager),
			workflows.AttrNextDue.ValueSet(c.OpenedAt.Add(policy.ScreeningWithin)),
		),
		StaticSummary: fmt.Sprintf("Care case %s · program %s · %s model", c.ID, c.Program, c.Model),
		StaticDetails: fmt.Sprintf("Care-management case %s in program %s (%s model, source %s), managed by %s. "+
			"Patient data is encrypted; decode it through the caseflow codec server.", c.ID, c.Program, c.Model, c.Source, c.Manager),
	}, workflows.CaseWorkflow, workflows.CaseInput{Case: c, Policy: policy})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		res.Status = "already-exists"
		res.Phase = ""
		if st, qerr := a.queryStatus(ctx, tc, c.ID); qerr == nil {
			res.Phase = st.Phase
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("open case %s: %v", c.ID, rootCause(err))
	}
	return res, nil
}
