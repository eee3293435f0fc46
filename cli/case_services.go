package cli

// Staff actions on one planned service of a case (appeal a denial, book by
// hand, amend its cadence), the check of a plan's service codes against the
// catalog, and who a case is about (from PostgreSQL, never Temporal).

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/workflows"
)

// exactlyCaseAndService accepts <case> <service>.
func exactlyCaseAndService(_ *cobra.Command, args []string) error {
	if len(args) != 2 {
		return care.Invalidf("arguments", "give the case id and the service id, e.g. c-1a2b3c4d5e6f7a8b pt (see caseflow case show)")
	}
	return nil
}

func (a *app) appealCommand() *cobra.Command {
	var ap care.Appeal
	cmd := &cobra.Command{
		Use:   "appeal <case> <service>",
		Short: "Appeal a denied authorization of a service",
		Long: `Submit an appeal of the payer's denial of a service's prior authorization: a
new request that references the denied one (FHIR Claim.related), with its own
decision deadline and escalation. The notes are the grounds of the appeal and
go to the payer.`,
		Example: `  caseflow case appeal c-1a2b3c4d5e6f7a8b pt --notes "six weeks of home exercise tried without progress"`,
		Args:    exactlyCaseAndService,
		RunE: func(cmd *cobra.Command, args []string) error {
			ap.ServiceID = args[1]
			if err := ap.Validate(); err != nil {
				return flagError(err)
			}
			return act(a, cmd, args[0], workflows.Appeal, ap)
		},
	}
	cmd.Flags().StringVar(&ap.Notes, "notes", "", "the grounds of the appeal (required; sent to the payer)")
	return cmd
}

func (a *app) bookCommand() *cobra.Command {
	var b care.ManualBooking
	cmd := &cobra.Command{
		Use:   "book <case> <service>",
		Short: "Book a service's next occurrence on a slot you choose",
		Long: `When no free slot was found in the booking window (the open item says so),
book the service's next occurrence on a slot of your choice. The slot must be
a free, future slot of the service's code: list them with
"caseflow providers slots --service <code>".`,
		Example: `  caseflow case book c-1a2b3c4d5e6f7a8b ot --slot sl-3f2a1b0c9d8e7f6a`,
		Args:    exactlyCaseAndService,
		RunE: func(cmd *cobra.Command, args []string) error {
			b.ServiceID = args[1]
			if err := b.Validate(); err != nil {
				return flagError(err)
			}
			return act(a, cmd, args[0], workflows.Book, b)
		},
	}
	cmd.Flags().StringVar(&b.SlotID, "slot", "", "the slot id (required)")
	return cmd
}

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Change one planned service of a case",
	}
	var am care.ServiceAmendment
	amend := &cobra.Command{
		Use:   "amend <case> <service>",
		Short: "Change one service's cadence (a change of level)",
		Long: `Change the frequency or the number of occurrences of one service without
touching the others (weekly → monthly physiotherapy). The booked appointment
stays; the next occurrence is booked on the new cadence, and the service is
re-authorized only when its authorization no longer covers what remains.`,
		Example: `  caseflow case service amend c-1a2b3c4d5e6f7a8b pt --frequency monthly`,
		Args:    exactlyCaseAndService,
		RunE: func(cmd *cobra.Command, args []string) error {
			am.ServiceID = args[1]
			if err := am.Validate(); err != nil {
				return flagError(err)
			}
			return act(a, cmd, args[0], workflows.AmendService, am)
		},
	}
	amend.Flags().StringVar(&am.Frequency, "frequency", "", "the new frequency: daily, weekly, every two weeks, monthly")
	amend.Flags().IntVar(&am.Occurrences, "occurrences", 0, "the new number of occurrences")
	amend.Flags().StringVar(&am.Notes, "notes", "", "why the cadence changes")
	cmd.AddCommand(amend)
	return cmd
}

// checkCatalog refuses a plan with a service code that no provider offers
// and the case's policy does not allow without providers. Until providers
// are loaded at all there is no catalog to check against.
func (a *app) checkCatalog(ctx context.Context, caseID string, p care.CarePlan) error {
	cases, err := a.cases(ctx)
	if err != nil {
		return err
	}
	st, err := cases.Status(ctx, caseID)
	if err != nil {
		return a.caseError(caseID, err)
	}
	store, err := a.db(ctx)
	if err != nil {
		return err
	}
	offered, err := store.ServiceCatalog(ctx, nil)
	if err != nil {
		return err
	}
	if len(offered) == 0 {
		fmt.Fprintln(a.errOut, "warning: no providers are loaded (caseflow providers load), so the plan's service codes are not checked")
		return nil
	}
	return p.CheckCatalog(append(offered, st.Policy.Authorization.ServicesWithoutProviders...))
}

// subject returns who the case is about, from PostgreSQL; nil when the
// database cannot say (the case is shown without it).
func (a *app) subject(ctx context.Context, caseID string) *postgres.CaseSubject {
	subjects := a.subjects(ctx, []string{caseID})
	if s, ok := subjects[caseID]; ok {
		return &s
	}
	return nil
}

func (a *app) subjects(ctx context.Context, caseIDs []string) map[string]postgres.CaseSubject {
	store, err := a.db(ctx)
	if err != nil {
		return nil
	}
	out, err := store.CaseSubjects(ctx, caseIDs)
	if err != nil {
		return nil
	}
	return out
}

// describe says who a case is about: "River Quinn (MRN-0042)".
func describe(s *postgres.CaseSubject) string {
	if s == nil {
		return "-"
	}
	if s.Name == nil || *s.Name == "" {
		return s.ExternalRef
	}
	return *s.Name + " (" + s.ExternalRef + ")"
}

// renderPlanChanges prints what each recent plan change did.
func renderPlanChanges(out io.Writer, changes []care.PlanChange) {
	if len(changes) == 0 {
		return
	}
	fmt.Fprintln(out, "\nPlan changes")
	for _, pc := range changes {
		fmt.Fprintf(out, "  %s\n", pc.Summary())
	}
}
