// Package cli is the caseflow command line for operations staff: open cases,
// record each step of the care-management process, inspect and list cases,
// and run the set-up chores (migrations, keys).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/codec"
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
}

// Execute runs the caseflow command line with args and returns the process
// exit code. Errors are printed as one line on stderr, never a stack trace.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{out: stdout, errOut: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.close()
	if err != nil {
		fmt.Fprintln(stderr, "caseflow: "+oneLine(err))
		return 1
	}
	return 0
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
CASEFLOW_CODEC_KEY_FILE (default .caseflow/codec.keys).`,
		Example: `  caseflow case open --patient-ref MRN-0042 --program complex-case --model clinical --manager cm-ana --source referral
  caseflow case list --phase assessment
  caseflow case show c-1a2b3c4d5e6f7a8b --output json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "table" && a.output != "json" {
				return care.Invalidf("--output", "unknown value %q; use table or json", a.output)
			}
			return care.ValidateOpaqueID("--actor", a.actor)
		},
	}
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format: table or json (json prints only JSON on stdout)")
	root.PersistentFlags().StringVar(&a.actor, "actor", defaultActor(), "opaque id of the staff member acting (env CASEFLOW_ACTOR)")
	root.PersistentFlags().StringVar(&a.taskQueue, "task-queue", envOr("CASEFLOW_TASK_QUEUE", workflows.TaskQueue), "Temporal task queue of the caseflow worker (env CASEFLOW_TASK_QUEUE)")
	root.PersistentFlags().DurationVar(&a.timeout, "timeout", 30*time.Second, "how long to wait for Temporal and the database")
	root.AddCommand(a.caseCommand(), a.migrateCommand(), a.keysCommand())
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
	c, err := Dial(ctx, slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return nil, err
	}
	a.temporal = c
	return c, nil
}

// Dial connects to Temporal from the standard environment configuration, with
// caseflow's payload encryption. It fails within a few seconds when Temporal
// cannot be reached, with a message saying how to fix it.
func Dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal configuration: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	kr, err := codec.LoadKeyring()
	if err != nil {
		return nil, err
	}
	codec.Apply(&opts, kr)
	opts.Logger = sdklog.NewStructuredLogger(logger)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		ns := opts.Namespace
		if ns == "" {
			ns = client.DefaultNamespace
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %v; start it with \"make run\" or set TEMPORAL_ADDRESS", opts.HostPort, ns, rootCause(err))
	}
	return c, nil
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

// rootCause strips the wrapping of gRPC and SDK errors down to the message
// that says what went wrong.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// oneLine keeps an error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}
