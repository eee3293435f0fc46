// Command caseflow-worker runs caseflow's case workflows and activities. It
// connects to Temporal from the standard environment configuration, to
// PostgreSQL from DATABASE_URL, to the insurer from CASEFLOW_PAYER_URL and to
// the reminder gateway from CASEFLOW_NOTIFY_WEBHOOK_URL (unset: reminders are
// logged), and stops cleanly on SIGINT or SIGTERM:
// in-flight activities get worker.StopTimeout to finish, after which Temporal
// retries them on another worker.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/connect"
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
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(logger); err != nil {
		logger.Error("caseflow-worker stopped", "error", err.Error())
		fmt.Fprintln(os.Stderr, "caseflow-worker: "+err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := postgres.Open(ctx, postgres.URLFromEnv())
	if err != nil {
		return stoppedOr(ctx, err)
	}
	defer store.Close()
	c, err := connect.Temporal(ctx, logger)
	if err != nil {
		return stoppedOr(ctx, err)
	}
	defer c.Close()
	queue := os.Getenv("CASEFLOW_TASK_QUEUE")
	if queue == "" {
		queue = workflows.TaskQueue
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
	}
	w := worker.New(c, queue, acts)
	logger.Info("caseflow-worker started", "task_queue", queue, "payer", payer.URLFromEnv(), "reminders", notifier.Name())
	// Run returns once the context is done and the worker has stopped,
	// giving in-flight activities worker.StopTimeout to finish.
	err = w.Run(ctxInterrupt(ctx))
	logger.Info("caseflow-worker stopped cleanly")
	return err
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
