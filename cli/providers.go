package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/providers"
)

func (a *app) providersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "Load care providers and their bookable slots; list them",
		Long: `Providers (clinics, practitioners), the service codes they offer and their
bookable slots live in PostgreSQL. Appointments are booked on these slots,
the earliest free one in the window a care plan asks for; no slot is ever
booked twice.

The providers file format is in docs/coordination.md; demo/providers.json is
an example whose slots start relative to the day you load it.`,
	}
	cmd.AddCommand(a.providersLoadCommand(), a.providersListCommand(), a.providersSlotsCommand())
	return cmd
}

func (a *app) providersLoadCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "load <file.json>",
		Short: "Load providers, their services and their slots from a JSON file",
		Long: `Load a providers file. Loading adds providers, services and slots and
renames providers; it never removes anything. A slot that already exists
(same provider, service and start) is left as it is. A series given with
"start_offset" lies on a fixed grid (start_offset past each multiple of its
"every" in UTC; past each midnight for a single slot) and starts at the first
grid point at least start_offset after the load hour, so loading the same file
again (a restarted "make run") adds no second copy: the same day it adds
nothing, later only the slots beyond the first load's.
Nothing is loaded if the file is invalid.

The file (docs/coordination.md has the details):
  {"providers": [
    {"id": "prv-north-physio", "name": "North Physiotherapy Clinic",
     "services": ["physiotherapy"],
     "slots": [
       {"start_offset": "3h", "every": "24h", "count": 30, "duration": "45m"},
       {"starts_at": "2026-12-01T09:00:00Z", "duration": "45m"}]}]}
A slot series names its "service" when the provider offers more than one.`,
		Example: `  caseflow providers load demo/providers.json
  caseflow providers load providers.json --output json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one providers file, e.g. caseflow providers load demo/providers.json")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return care.Errorf(care.KindInvalid, "providers file %s does not exist; pass the path of a providers JSON file, e.g. demo/providers.json", path)
			}
			var f providers.File
			if err := readJSONFile(path, &f); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			// Check the file before reaching for the database.
			ps, slots, err := f.Expand(time.Now())
			if err != nil {
				return care.Errorf(care.KindInvalid, "%s: %w", path, err)
			}
			store, err := a.db(ctx)
			if err != nil {
				return err
			}
			res, err := store.LoadProviders(ctx, ps, slots)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if a.json() {
				return a.printJSON(res)
			}
			fmt.Fprintf(a.out, "loaded %d provider(s) offering %d service(s): %d slot(s) added, %d already there\n",
				res.Providers, res.Services, res.SlotsAdded, res.SlotsExisting)
			if len(f.Providers) > 0 && len(f.Providers[0].Services) > 0 {
				fmt.Fprintf(a.out, "next: caseflow providers slots --service %s\n", f.Providers[0].Services[0])
			}
			return nil
		},
	}
}

func (a *app) providersListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List providers, their services and their free future slots",
		Example: `  caseflow providers list --output json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				list, err := store.Providers(ctx)
				if err != nil {
					return err
				}
				return printRows(a, list, func() error {
					if len(list) == 0 {
						fmt.Fprintln(a.out, "no providers; load some with: caseflow providers load demo/providers.json")
						return nil
					}
					w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "PROVIDER\tNAME\tSERVICES\tFREE SLOTS")
					for _, p := range list {
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", p.ID, p.Name, strings.Join(p.Services, ", "), p.FreeSlots)
					}
					return w.Flush()
				})
			})
		},
	}
}

func (a *app) providersSlotsCommand() *cobra.Command {
	var service, from, to string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "slots",
		Short: "List the slots of a service, earliest first",
		Long: `List the free slots of a service between --from and --to (default: the next
14 days), earliest first: the order booking takes them in. --all lists
booked slots too.`,
		Example: `  caseflow providers slots --service physiotherapy
  caseflow providers slots --service neuropsychology --from 2026-12-01 --to 2026-12-15 --all
  caseflow providers slots --service physiotherapy --output json | jq '.[0]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := slotQuery(service, from, to, all, limit)
			if err != nil {
				return err
			}
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				slots, err := store.Slots(ctx, q)
				if err != nil {
					return err
				}
				return printRows(a, slots, func() error { return a.printSlots(slots, q) })
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&service, "service", "", "service code, e.g. physiotherapy (required)")
	fl.StringVar(&from, "from", "", "list slots starting at or after this time: YYYY-MM-DD (local midnight) or RFC 3339 (default: now)")
	fl.StringVar(&to, "to", "", "list slots starting before this time: YYYY-MM-DD or RFC 3339 (default: 14 days after --from)")
	fl.BoolVar(&all, "all", false, "list booked slots too")
	fl.IntVar(&limit, "limit", 100, "at most this many slots")
	return cmd
}

// slotQuery checks the flags of "providers slots".
func slotQuery(service, from, to string, all bool, limit int) (postgres.SlotQuery, error) {
	if service == "" {
		return postgres.SlotQuery{}, care.Invalidf("--service", "is required: the service code, e.g. --service physiotherapy (see caseflow providers list)")
	}
	if err := care.ValidateOpaqueID("--service", service); err != nil {
		return postgres.SlotQuery{}, err
	}
	start, err := parseWhen("--from", from, time.Now())
	if err != nil {
		return postgres.SlotQuery{}, err
	}
	end, err := parseWhen("--to", to, start.AddDate(0, 0, 14))
	if err != nil {
		return postgres.SlotQuery{}, err
	}
	if !end.After(start) {
		return postgres.SlotQuery{}, care.Invalidf("--to", "must be after --from (%s)", start.Format(time.RFC3339))
	}
	if limit < 1 || limit > 10000 {
		return postgres.SlotQuery{}, care.Invalidf("--limit", "must be from 1 to 10000, got %d", limit)
	}
	return postgres.SlotQuery{ServiceCode: service, From: start, To: end, IncludeBooked: all, Limit: limit}, nil
}

// printSlots prints the slots q found as a table.
func (a *app) printSlots(slots []postgres.SlotListing, q postgres.SlotQuery) error {
	if len(slots) == 0 {
		fmt.Fprintf(a.out, "no %sslots for %s from %s; see caseflow providers list, or load more with caseflow providers load\n",
			map[bool]string{false: "free ", true: ""}[q.IncludeBooked], q.ServiceCode, formatRange(q.From, q.To))
		return nil
	}
	w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STARTS\tENDS\tPROVIDER\tNAME\tSLOT\tSTATUS")
	for _, s := range slots {
		status := "free"
		if !s.Free {
			status = "booked"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", formatTime(s.StartsAt), s.EndsAt.Local().Format("15:04"), s.ProviderID, s.ProviderName, s.ID, status)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(slots) == q.Limit {
		fmt.Fprintf(a.out, "(first %d; use --limit or --to for more)\n", q.Limit)
	}
	return nil
}

// parseWhen reads a time flag given as a date (local midnight) or RFC 3339,
// or returns def when it is empty.
func parseWhen(flag, value string, def time.Time) (time.Time, error) {
	if value == "" {
		return def, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, value, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	return time.Time{}, care.Invalidf(flag, "must be a date YYYY-MM-DD or a time like 2026-12-01T09:00:00Z, got %q", value)
}
