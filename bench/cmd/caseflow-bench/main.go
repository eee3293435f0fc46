// Command caseflow-bench runs caseflow's benchmark suite (issue 6): it starts
// its own Temporal dev server, PostgreSQL database, payer simulator and
// workers, measures each scenario side by side with a baseline of trivial
// workflows on the same server, and prints a table. With -doc it writes the
// results into docs/BENCHMARKS.md. "make bench" runs it at full size; see
// docs/BENCHMARKS.md.
//
//	caseflow-bench [flags]
//	caseflow-bench baseline-worker -task-queue Q   (run by the benchmark itself)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/caseflow/caseflow/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline-worker" {
		os.Exit(baselineWorker(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("caseflow-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `caseflow-bench runs caseflow's benchmarks against the raw Temporal engine on
its own dev server and database, and prints a table (progress on stderr).

  caseflow-bench                               # the full run of "make bench" (about 20 minutes on 2 cores)
  caseflow-bench -doc docs/BENCHMARKS.md       # and write the results into the doc
  caseflow-bench -server full -doc docs/BENCHMARKS.md
                                               # the same on the full Temporal server (make bench-cluster)
  caseflow-bench -cases 30 -open 10 -updates 10 -rate 5 -cadence 1s -duration 2s -wave 30 -days 14
                                               # a tiny run of every scenario (see make bench-smoke)

Flags:
`)
		fs.PrintDefaults()
	}
	var doc, only, jsonOut, pragmas, dynamic string
	fs.StringVar(&cfg.Root, "root", cfg.Root, "repository root (policies/, demo/, workflows/testdata)")
	fs.StringVar(&cfg.BinDir, "bin", cfg.BinDir, "directory of the caseflow and caseflow-worker binaries")
	fs.StringVar(&cfg.TemporalBin, "temporal", cfg.TemporalBin, "Temporal CLI that runs the dev server (never downloaded)")
	fs.StringVar(&cfg.Server, "server", cfg.Server, "Temporal server to run on: dev (bin/temporal's dev server, as make run) or full (bin/temporal-server on PostgreSQL, as docker-compose.yml; make bench-cluster)")
	fs.StringVar(&cfg.ServerBin, "temporal-server", cfg.ServerBin, "with -server full: the Temporal server binary (make tools builds it)")
	fs.StringVar(&cfg.SQLToolBin, "temporal-sql-tool", cfg.SQLToolBin, "with -server full: temporal-sql-tool of the same version, to set up the schemas")
	fs.StringVar(&cfg.PostgresURL, "postgres", cfg.PostgresURL, "PostgreSQL server to create the run's database on (env CASEFLOW_TEST_POSTGRES)")
	fs.StringVar(&cfg.Persistence, "persistence", cfg.Persistence, "dev server history: file (SQLite file, as make run) or memory")
	fs.StringVar(&pragmas, "sqlite-pragma", strings.Join(cfg.SQLitePragmas, ","), "comma-separated SQLite pragmas for the dev server's file (\"\" for SQLite's defaults, as make run)")
	fs.StringVar(&dynamic, "dynamic-config", "", "comma-separated KEY=VALUE dynamic config for the dev server, for experiments (default none)")
	fs.BoolVar(&cfg.KeepDB, "keep", false, "keep the run's database and working directory (logs, histories)")
	fs.IntVar(&cfg.Cases, "cases", cfg.Cases, "1: rows imported, and no-op workflows started as the baseline")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "1: cases started at the same time by import and by the baseline (and by the setup of 2 and 3)")
	fs.BoolVar(&cfg.IntakeNoWorkers, "intake-no-workers", false, "1: diagnostic: no worker polls while cases are started (the start path alone; no memory row)")
	fs.IntVar(&cfg.Open, "open", cfg.Open, "2: cases open during the round trip")
	fs.IntVar(&cfg.RTCases, "rt-cases", cfg.RTCases, "2: cases (and baseline workflows) the measured updates go to")
	fs.IntVar(&cfg.Updates, "updates", cfg.Updates, "2: measured updates of each kind")
	fs.Float64Var(&cfg.SteadyRate, "rate", cfg.SteadyRate, "3a: follow-up calls due a second")
	fs.DurationVar(&cfg.Cadence, "cadence", cfg.Cadence, "3a: call interval of each case (rate × cadence cases take part)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "3a: how long calls fall due at -rate")
	fs.IntVar(&cfg.Wave, "wave", cfg.Wave, "3b and 5: follow-up calls due in the same second (and cases cached by the measured worker)")
	fs.DurationVar(&cfg.WaveLead, "wave-lead", 0, "3b: start the wave's workflows this long before it falls due (default: from the start rate measured in 1)")
	fs.IntVar(&cfg.YearDays, "days", cfg.YearDays, "4: days of follow-up of the long high-risk case")
	fs.DurationVar(&cfg.Day, "day", cfg.Day, "4: real time a day of the long case takes (the policy is compressed to match; at least 100ms)")
	fs.IntVar(&cfg.Replays, "replays", cfg.Replays, "6: replays of each history")
	fs.IntVar(&cfg.ADTMessages, "adt-messages", cfg.ADTMessages, "7: A03 discharges sent over MLLP to caseflow adt listen and to the echo server")
	fs.IntVar(&cfg.ImportRows, "import-rows", cfg.ImportRows, "8: rows of the file checked by case import --dry-run for flat memory (against a tenth of it)")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "5: how long a worker rests before its memory is read")
	fs.StringVar(&only, "only", "", "comma-separated scenarios to run (1,2,3a,3b,4,5,6,7,8); default all")
	fs.StringVar(&doc, "doc", "", "write the results into this markdown file, between its bench:results markers (bench:cluster with -server full)")
	fs.StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "caseflow-bench: unexpected argument %q; see -h\n", fs.Arg(0))
		return 2
	}
	cfg.SQLitePragmas = nil
	if pragmas != "" {
		cfg.SQLitePragmas = strings.Split(pragmas, ",")
	}
	if dynamic != "" {
		cfg.DynamicConfig = strings.Split(dynamic, ",")
	}
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "caseflow-bench:", err)
		return 1
	}
	cfg.BenchBin = self
	cfg.Progress = os.Stderr
	cfg.Command = commandLine()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "caseflow-bench:", err)
		return 1
	}
	rep.WriteText(os.Stdout)
	if doc != "" {
		if err := rep.WriteDoc(doc); err != nil {
			fmt.Fprintln(os.Stderr, "caseflow-bench:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "results written to %s\n", doc)
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "caseflow-bench:", err)
			return 1
		}
	}
	if rep.Failed() {
		fmt.Fprintln(os.Stderr, "caseflow-bench: a scenario failed (ERROR in the table)")
		return 1
	}
	return 0
}

// commandLine is how this run was started, as reported with the results:
// "make bench" passes it in CASEFLOW_BENCH_COMMAND.
func commandLine() string {
	args := strings.Join(append([]string{"bin/" + filepath.Base(os.Args[0])}, os.Args[1:]...), " ")
	if wd, err := os.Getwd(); err == nil {
		args = strings.ReplaceAll(args, wd+string(filepath.Separator), "")
	}
	if c := os.Getenv("CASEFLOW_BENCH_COMMAND"); c != "" {
		return c + "\n# which runs:\n" + args
	}
	return args
}

func baselineWorker(args []string) int {
	fs := flag.NewFlagSet("caseflow-bench baseline-worker", flag.ContinueOnError)
	queue := fs.String("task-queue", "", "task queue of the baseline workflows")
	if err := fs.Parse(args); err != nil || *queue == "" {
		fmt.Fprintln(os.Stderr, "usage: caseflow-bench baseline-worker -task-queue Q")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.RunBaselineWorker(ctx, *queue, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-worker:", err)
		return 1
	}
	return 0
}
