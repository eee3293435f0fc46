// Command caseflow-worker runs caseflow's case workflows and activities. It
// connects to Temporal from the standard environment configuration, to
// PostgreSQL from DATABASE_URL, to the insurer from CASEFLOW_PAYER_URL and to
// the reminder gateway from CASEFLOW_NOTIFY_WEBHOOK_URL (unset: reminders are
// logged). It refuses to start when its payload keys cannot read the newest
// case on its task queue (worker.CheckKeyring; CASEFLOW_SKIP_KEY_CHECK=1
// skips the check), and a payload it cannot decrypt fails only the task at
// hand (connect.Worker; docs/privacy.md, "Wrong or missing key"). It stops
// cleanly on SIGINT or SIGTERM:
// in-flight activities get worker.StopTimeout to finish, after which Temporal
// retries them on another worker.
//
// With --metrics-addr (or CASEFLOW_METRICS_ADDR), e.g. 127.0.0.1:9464, it
// serves Prometheus metrics on /metrics and /healthz and /readyz
// (docs/operations.md, "Metrics"); off by default. With CASEFLOW_PPROF_ADDR,
// e.g. 127.0.0.1:6060, it serves Go's profiles under /debug/pprof/ (heap,
// goroutines, CPU) for diagnosing its memory and CPU; off by default, and
// only for a loopback or otherwise private address (profiles show no payload
// contents, but they do show the process's internals).
//
// The payer's activities run on a second worker, on <task queue>-payer, that
// the Temporal server holds to --payer-rate (CASEFLOW_PAYER_RATE) requests per
// second over all workers. Concurrency, pollers, the sticky cache and the
// PostgreSQL pool are tuned by flags or CASEFLOW_* variables (the flag wins;
// caseflow-worker --help, docs/operations.md "Tuning"); a value it refuses
// stops it at start with exit status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/connect"
	"github.com/caseflow/caseflow/metrics"
	"github.com/caseflow/caseflow/notify"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/worker"
	"github.com/caseflow/caseflow/workflows"
)

func main() {
	level := slog.LevelInfo
	if os.Getenv("CASEFLOW_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	cfg, err := worker.ParseConfig(os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		// A setting to fix, like a bad flag: exit status 2, no stack trace.
		fmt.Fprintln(os.Stderr, "caseflow-worker: "+err.Error())
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(logger, cfg); err != nil {
		logger.Error("caseflow-worker stopped", "error", err.Error())
		fmt.Fprintln(os.Stderr, "caseflow-worker: "+err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger, cfg worker.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := postgres.OpenPool(ctx, postgres.URLFromEnv(), cfg.Pool)
	if err != nil {
		return stoppedOr(ctx, err)
	}
	defer store.Close()
	if addr := os.Getenv(EnvPprofAddr); addr != "" {
		served, _, err := metrics.Serve(ctx, addr, pprofHandler())
		if err != nil {
			return fmt.Errorf("%s=%s: %w", EnvPprofAddr, addr, err)
		}
		logger.Info("pprof served", "addr", served, "path", "/debug/pprof/")
	}
	metricsAddr := cfg.MetricsAddr
	var m *metrics.Metrics
	var sdkMetrics client.MetricsHandler
	if metricsAddr != "" {
		m = metrics.New()
		h, closer, err := m.TemporalHandler()
		if err != nil {
			return err
		}
		defer closer.Close()
		sdkMetrics = h
	}
	c, kr, err := connect.WorkerWithMetrics(ctx, logger, sdkMetrics)
	if err != nil {
		return stoppedOr(ctx, err)
	}
	defer c.Close()
	queue := os.Getenv("CASEFLOW_TASK_QUEUE")
	if queue == "" {
		queue = workflows.TaskQueue
	}
	if err := checkKeyring(ctx, logger, c, queue, kr); err != nil {
		return stoppedOr(ctx, err)
	}
	notifier, err := notify.FromEnv(logger)
	if err != nil {
		return err
	}
	acts := &activities.Activities{
		Store:      store,
		Payer:      payer.FromEnv(),
		Notifier:   notifier,
		Dispatcher: activities.LogDispatcher{Logger: logger},
		Workflows:  worker.Workflows{Client: c},
	}
	if m != nil {
		m.Instrument(acts)
		addr, _, err := metrics.Serve(ctx, metricsAddr, m.Handler(
			metrics.Check{Name: "postgres", Check: func(ctx context.Context) error { return store.DB().PingContext(ctx) }},
			metrics.Check{Name: "temporal", Check: func(ctx context.Context) error {
				_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			}}))
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", metricsAddr, err)
		}
		logger.Info("metrics served", "addr", addr)
	}
	w := worker.New(c, queue, acts, cfg)
	logger.Info("caseflow-worker started", "task_queue", queue, "payer_task_queue", workflows.PayerTaskQueue(queue),
		"payer", payer.URLFromEnv(), "payer_rate", cfg.PayerRate, "reminders", notifier.Name(),
		"workflow_tasks", cfg.WorkflowTasks, "activity_tasks", cfg.ActivityTasks, "local_activities", cfg.LocalActivities,
		"workflow_pollers", cfg.WorkflowPollers, "activity_pollers", cfg.ActivityPollers, "sticky_cache", cfg.StickyCache,
		"db_max_open", cfg.Pool.MaxOpenConns, "db_max_idle", cfg.Pool.MaxIdleConns, "db_conn_max_lifetime", cfg.Pool.ConnMaxLifetime.String())
	// Run returns once the context is done and the worker has stopped,
	// giving in-flight activities worker.StopTimeout to finish.
	err = w.Run(ctxInterrupt(ctx))
	logger.Info("caseflow-worker stopped cleanly")
	return err
}

// checkKeyring refuses to start a worker whose keyring cannot read the
// cases on its task queue (worker.CheckKeyring), unless
// CASEFLOW_SKIP_KEY_CHECK=1. When the check itself cannot run, the worker
// starts and says so: a payload it cannot decrypt still only fails a task.
func checkKeyring(ctx context.Context, logger *slog.Logger, c client.Client, queue string, kr *codec.Keyring) error {
	switch v := os.Getenv(worker.EnvSkipKeyCheck); v {
	case "":
	case "1":
		logger.Warn("keyring check skipped ("+worker.EnvSkipKeyCheck+"=1): a payload this worker cannot decrypt fails its task until a worker with the key takes it",
			"keys", strings.Join(kr.IDs(), ","))
		return nil
	default:
		return fmt.Errorf("%s=%q: set it to 1 to skip the keyring check, or unset it", worker.EnvSkipKeyCheck, v)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := worker.CheckKeyring(cctx, c, queue, kr)
	var kerr *worker.KeyringError
	switch {
	case err == nil:
		logger.Info("keyring reads the cases on the task queue", "task_queue", queue, "keys", strings.Join(kr.IDs(), ","))
		return nil
	case errors.As(err, &kerr):
		return err
	default:
		logger.Warn("cannot check the keyring against the cases on the task queue; starting anyway", "task_queue", queue, "error", connect.RootCause(err).Error())
		return nil
	}
}

// stoppedOr returns nil when the worker was asked to stop while it was still
// starting (the failure is the interruption), else err.
func stoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ctxInterrupt adapts a context to the channel worker.Run waits on.
func ctxInterrupt(ctx context.Context) <-chan any {
	ch := make(chan any, 1)
	go func() {
		<-ctx.Done()
		ch <- struct{}{}
	}()
	return ch
}

// EnvPprofAddr is the address the worker serves Go's profiles on under
// /debug/pprof/ (unset: off).
const EnvPprofAddr = "CASEFLOW_PPROF_ADDR"

// pprofHandler serves net/http/pprof on its own mux: nothing is added to
// http.DefaultServeMux, so the profiles are served only where asked.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
