package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
)

// policy returns the policy in force today for program, or says how to load
// one. A command looks each program up once (an import opens thousands of
// cases of a few programs).
func (a *app) policy(ctx context.Context, store *postgres.Store, program string) (care.Policy, error) {
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	if p, ok := a.policies[program]; ok {
		return p, nil
	}
	p, err := store.PolicyFor(ctx, program, time.Now())
	if err == nil {
		if a.policies == nil {
			a.policies = map[string]care.Policy{}
		}
		a.policies[program] = p
	}
	if errors.Is(err, care.ErrNotFound) {
		var known []string
		if list, lerr := store.Policies(ctx); lerr == nil {
			for _, l := range list {
				known = append(known, l.Program)
			}
		}
		hint := "load the program's policy with \"caseflow policy load policies/\""
		if len(known) > 0 {
			hint = "known programs: " + strings.Join(dedupe(known), ", ") + "; or " + hint
		}
		return p, care.Invalidf("--program", "%q has no policy in force; %s", program, hint)
	}
	return p, err
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Load and list program policies (the clocks of each program)",
		Long: `A program policy is a versioned JSON file (see policies/ and docs/policies.md):
follow-up cadence by risk and model, call windows and escalations, appointment
reminders, prior-authorization deadlines, post-discharge clocks, the business-day
calendar. New cases pin the version in force when they open; running cases keep
theirs.`,
	}
	cmd.AddCommand(a.policyLoadCommand(), a.policyListCommand())
	return cmd
}

func (a *app) policyLoadCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "load <file or directory>...",
		Short: "Load policy files into the database",
		Long: `Validate and load policy files. Loading a version that is already loaded with
the same content changes nothing; a changed file must get a new version (and
an effective date), so that no running case's rules change under it.
Nothing is loaded if any file is invalid.`,
		Example: `  caseflow policy load policies/
  caseflow policy load policies/transitional-care.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			policies, err := readPolicies(args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			store, err := a.db(ctx)
			if err != nil {
				return err
			}
			type loaded struct {
				Program string `json:"program"`
				Version int    `json:"version"`
				New     bool   `json:"new"`
			}
			var res []loaded
			for _, p := range policies {
				isNew, err := store.SavePolicy(ctx, p)
				if errors.Is(err, postgres.ErrPolicyConflict) {
					return care.Conflictf("%v: give the changed policy a new version and effective_from", err)
				}
				if err != nil {
					return err
				}
				res = append(res, loaded{p.Program, p.Version, isNew})
			}
			if a.json() {
				return a.printJSON(res)
			}
			for _, r := range res {
				state := "already loaded"
				if r.New {
					state = "loaded"
				}
				fmt.Fprintf(a.out, "%s v%d: %s\n", r.Program, r.Version, state)
			}
			return nil
		},
	}
}

func (a *app) policyListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List loaded policy versions",
		Example: `  caseflow policy list --output json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				list, err := store.Policies(ctx)
				if err != nil {
					return err
				}
				return printRows(a, list, func() error {
					w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "PROGRAM\tVERSION\tEFFECTIVE FROM\tLOADED")
					for _, p := range list {
						fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", p.Program, p.Version, p.EffectiveFrom.Format(time.DateOnly), formatTime(p.LoadedAt))
					}
					return w.Flush()
				})
			})
		},
	}
}

// readPolicies reads and validates every policy file named (directories:
// their *.json files). Any error stops everything.
func readPolicies(paths []string) ([]care.Policy, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, care.Errorf(care.KindInvalid, "%s: %w", p, rootCause(err))
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(p, "*.json"))
		if len(matches) == 0 {
			return nil, care.Errorf(care.KindInvalid, "%s: no *.json policy files", p)
		}
		files = append(files, matches...)
	}
	var out []care.Policy
	seen := map[string]string{}
	for _, f := range files {
		var p care.Policy
		if err := readJSONFile(f, &p); err != nil {
			return nil, err
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := p.CheckHorizon(time.Now()); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		key := fmt.Sprintf("%s v%d", p.Program, p.Version)
		if prev, dup := seen[key]; dup {
			return nil, care.Errorf(care.KindInvalid, "%s: %s is also in %s", f, key, prev)
		}
		seen[key] = f
		out = append(out, p)
	}
	return out, nil
}
