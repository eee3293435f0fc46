package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/postgres"
)

func (a *app) staffCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "staff",
		Short: "Register and list the staff ids that may manage cases and act on them",
		Long: `Staff are known by opaque ids (e.g. cm-ana), never by name. A case's manager
(--manager of case open and case import), the actor of every staff action
(--actor, CASEFLOW_ACTOR) and the supervisor of every policy must be a
registered staff id, so that a patient's name given by mistake never becomes
a search attribute or an audit actor.`,
		Example: `  caseflow staff add cm-ana cm-bo sup-care-team
  caseflow staff list --output json`,
	}
	c.AddCommand(a.staffAddCommand(), a.staffListCommand())
	return c
}

func (a *app) staffAddCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "add STAFF-ID...",
		Short:   "Register staff ids (adding one again changes nothing)",
		Example: `  caseflow staff add cm-ana sup-care-team`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				n, err := store.AddStaff(ctx, ids...)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(map[string]int{"added": n, "given": len(ids)})
				}
				fmt.Fprintf(a.out, "%d staff ids added (%d already registered)\n", n, len(ids)-n)
				return nil
			})
		},
	}
}

func (a *app) staffListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the registered staff ids",
		Example: `  caseflow staff list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				list, err := store.Staff(ctx)
				if err != nil {
					return err
				}
				return printRows(a, list, func() error {
					w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "STAFF ID\tADDED")
					for _, s := range list {
						fmt.Fprintf(w, "%s\t%s\n", s.ID, formatTime(s.AddedAt))
					}
					return w.Flush()
				})
			})
		},
	}
}

// checkActor requires --actor to be a registered staff id before a staff
// action is sent.
func (a *app) checkActor(ctx context.Context) error {
	store, err := a.db(ctx)
	if err != nil {
		return err
	}
	return store.CheckStaff(ctx, "--actor", a.actor)
}
