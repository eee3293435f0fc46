// Package cli is the caseflow command line for operations staff: open cases,
// record each step of the care-management process, inspect and list cases,
// and run the set-up chores (migrations, keys).
package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/connect"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/workflows"
)

// app holds what every command shares: global flags and lazily opened
// connections.
type app struct {
	out       io.Writer
	errOut    io.Writer
	output    string
	actor     string
	taskQueue string
	timeout   time.Duration

	temporal client.Client
	store    *postgres.Store

	// policies caches the policy in force per program for this command.
	policies map[string]care.Policy
	policyMu sync.Mutex
}

// Execute runs the caseflow command line with args and returns the process
// exit status, by the kind of the error (see exitHelp). Errors are printed as
// one line on stderr, never a stack trace; with --output json also as a JSON
// object on stdout.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{out: stdout, errOut: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.close()
	if err != nil {
		if out := outputIn(args); out != "" {
			a.output = out // cobra may have stopped before it parsed --output
		}
		return a.report(a.shortTimeout(err), stderr)
	}
	return exitOK
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "caseflow",
		Short: "Run care cases as durable workflows",
		Long: `caseflow carries each patient case from screening through assessment, risk
stratification, care planning, care coordination, follow-up, transition of
care and post-transition follow-up to outcome evaluation, as one long-running
Temporal workflow per case.

Temporal is reached through the standard Temporal environment configuration
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE and the config file);
PostgreSQL through DATABASE_URL (default ` + postgres.DefaultURL + `).
Payloads are encrypted with the keys in CASEFLOW_CODEC_KEYS or
CASEFLOW_CODEC_KEY_FILE (default .caseflow/codec.keys).

` + exitHelp,
		Example: `  caseflow case open --patient-ref MRN-0042 --program complex-case --model clinical --manager cm-ana --source referral
  caseflow case list --phase assessment
  caseflow case show c-1a2b3c4d5e6f7a8b --output json`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.checkGlobalFlags() },
	}
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format: table or json (json prints only JSON on stdout)")
	root.PersistentFlags().StringVar(&a.actor, "actor", defaultActor(), "opaque id of the staff member acting (env CASEFLOW_ACTOR)")
	root.PersistentFlags().StringVar(&a.taskQueue, "task-queue", envOr("CASEFLOW_TASK_QUEUE", workflows.TaskQueue), "Temporal task queue of the caseflow worker (env CASEFLOW_TASK_QUEUE)")
	root.PersistentFlags().DurationVar(&a.timeout, "timeout", 30*time.Second, "how long to wait for Temporal and the database")
	root.AddCommand(a.caseCommand(), a.migrateCommand(), a.keysCommand(), a.policyCommand(), a.worklistCommand())
	root.AddCommand(a.providersCommand(), a.staffCommand())
	root.AddCommand(a.payerSimCommand())
	root.AddCommand(a.codecServerCommand())
	root.AddCommand(a.adtCommand())
	root.AddCommand(a.exportCommand())
	root.AddCommand(a.reportCommand())
	root.SetFlagErrorFunc(badFlag)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	documentCompletion(root)
	a.registerCompletions(root)
	plainBoolFlags(root)
	strictCommands(root)
	return root
}

func (a *app) close() {
	if a.temporal != nil {
		a.temporal.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}

// client dials Temporal once, with payload encryption on.
func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.temporal != nil {
		return a.temporal, nil
	}
	c, err := connect.Temporal(ctx, slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return nil, err
	}
	a.temporal = c
	return c, nil
}

// cases is the case client, over the Temporal client.
func (a *app) cases(ctx context.Context) (*caseclient.Client, error) {
	tc, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	return caseclient.New(tc, a.taskQueue), nil
}

// db opens the store once.
func (a *app) db(ctx context.Context) (*postgres.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	s, err := postgres.Open(ctx, postgres.URLFromEnv())
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) json() bool { return a.output == "json" }

func defaultActor() string {
	if v := os.Getenv("CASEFLOW_ACTOR"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil && care.ValidateOpaqueID("actor", strings.ToLower(u.Username)) == nil {
		return strings.ToLower(u.Username)
	}
	return "staff"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// oneLine keeps an error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

func rootCause(err error) error { return connect.RootCause(err) }

// withStore runs fn with the store and a context bounded by --timeout.
func (a *app) withStore(cmd *cobra.Command, fn func(ctx context.Context, store *postgres.Store) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
	defer cancel()
	store, err := a.db(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, store)
}

// printRows prints rows as JSON (an empty array, never null) with --output
// json, else with table.
func printRows[T any](a *app, rows []T, table func() error) error {
	if a.json() {
		if rows == nil {
			rows = []T{}
		}
		return a.printJSON(rows)
	}
	return table()
}

// checkGlobalFlags checks the flags every command takes.
func (a *app) checkGlobalFlags() error {
	if a.output != "table" && a.output != "json" {
		return care.Invalidf("--output", "unknown value %q; use table or json", a.output)
	}
	if a.timeout <= 0 {
		return care.Invalidf("--timeout", "must be more than 0, e.g. 30s or 2m")
	}
	return care.ValidateOpaqueID("--actor", a.actor)
}
