package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/connect"
	"github.com/caseflow/caseflow/worker"
	"github.com/caseflow/caseflow/workflows"
)

// The baseline: the trivial workflows caseflow is measured against. They run
// on the same server, with the same client options and payload codec, in a
// worker process of their own built with the same options as caseflow's.

// Names of the baseline's workflows, update, signal and activity.
const (
	NoopWorkflowName  = "BenchNoop"
	NoopCaseWorkflow  = "BenchNoopCase"
	EchoWorkflowName  = "BenchEcho"
	TimerWorkflowName = "BenchTimer"
	EchoUpdate        = "noop"
	DoneSignal        = "done"
	FiredActivityName = "BenchFired"
)

// NoopWorkflow is the intake baseline: it does nothing and completes.
func NoopWorkflow(workflow.Context) error { return nil }

// NoopCase is NoopWorkflow started as a case is (scenario 1's row 1b): it
// takes a case's input, does nothing with it, and completes.
func NoopCase(workflow.Context, workflows.CaseInput) error { return nil }

// EchoWorkflow is the round-trip baseline: a workflow with a no-op update
// that takes the same arguments as caseflow's contact update. It runs until
// signalled.
func EchoWorkflow(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, EchoUpdate, func(workflow.Context, string, care.Contact) error { return nil }); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, DoneSignal).Receive(ctx, nil)
	return nil
}

// TimerInput starts a TimerWorkflow.
type TimerInput struct {
	// FirstDue is when the first trivial activity falls due.
	FirstDue time.Time `json:"first_due"`
	// Every repeats it at this interval; zero fires once.
	Every time.Duration `json:"every,omitempty"`
}

// Fire is what the trivial activity of a TimerWorkflow reports.
type Fire struct {
	WorkflowID string    `json:"workflow_id"`
	Due        time.Time `json:"due"`
	// Fired is the workflow's time when the timer had fired (the
	// counterpart of a caseflow alert's at).
	Fired time.Time `json:"fired"`
}

// TimerWorkflow is the timer baseline: it sleeps until each due time and
// runs one trivial activity, with the same activity options as caseflow's.
// After its last fire it stays open (and cached by its worker) until
// signalled.
func TimerWorkflow(ctx workflow.Context, in TimerInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	due := in.FirstDue
	for {
		if d := due.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.NewTimer(ctx, d).Get(ctx, nil); err != nil {
				return err
			}
		}
		f := Fire{WorkflowID: id, Due: due, Fired: workflow.Now(ctx)}
		if err := workflow.ExecuteActivity(ctx, FiredActivityName, f).Get(ctx, nil); err != nil {
			return err
		}
		if in.Every <= 0 {
			break
		}
		due = due.Add(in.Every)
		if now := workflow.Now(ctx); !due.After(now) {
			due = now.Add(in.Every) // as caseflow's calls: no burst after an outage
		}
	}
	workflow.GetSignalChannel(ctx, DoneSignal).Receive(ctx, nil)
	return nil
}

// firedActivity writes one line per fire on out: the benchmark reads them.
type firedActivity struct {
	mu  sync.Mutex
	out io.Writer
}

func (a *firedActivity) fired(_ context.Context, f Fire) error {
	ran := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := fmt.Fprintf(a.out, "fire %s %d %d %d\n", f.WorkflowID, f.Due.UnixNano(), f.Fired.UnixNano(), ran.UnixNano())
	return err
}

// RunBaselineWorker runs the baseline worker on queue until ctx ends. It
// connects like caseflow-worker (standard Temporal environment
// configuration, caseflow's payload codec) and uses the same worker options
// (worker.New). Fires go to out, one line each.
func RunBaselineWorker(ctx context.Context, queue string, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := connect.Temporal(ctx, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	// The same sticky timeout as caseflow-worker's default: both sides of
	// a wave drain through their worker's cache.
	w := sdkworker.New(c, queue, sdkworker.Options{WorkerStopTimeout: worker.StopTimeout,
		StickyScheduleToStartTimeout: worker.DefaultConfig.StickyTimeout})
	w.RegisterWorkflowWithOptions(NoopWorkflow, workflow.RegisterOptions{Name: NoopWorkflowName})
	w.RegisterWorkflowWithOptions(NoopCase, workflow.RegisterOptions{Name: NoopCaseWorkflow})
	w.RegisterWorkflowWithOptions(EchoWorkflow, workflow.RegisterOptions{Name: EchoWorkflowName})
	w.RegisterWorkflowWithOptions(TimerWorkflow, workflow.RegisterOptions{Name: TimerWorkflowName})
	a := &firedActivity{out: out}
	w.RegisterActivityWithOptions(a.fired, activity.RegisterOptions{Name: FiredActivityName})
	stop := make(chan any)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	return w.Run(stop)
}

// fireRecord is one fire of a baseline timer workflow as its worker reported it.
type fireRecord struct {
	workflowID      string
	due, fired, ran time.Time
}

// fireLog collects the fires a baseline worker reports.
type fireLog struct {
	mu    sync.Mutex
	fires []fireRecord
}

func (l *fireLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "fire" {
			continue
		}
		ns := func(s string) time.Time {
			n, _ := strconv.ParseInt(s, 10, 64)
			return time.Unix(0, n)
		}
		l.mu.Lock()
		l.fires = append(l.fires, fireRecord{workflowID: f[1], due: ns(f[2]), fired: ns(f[3]), ran: ns(f[4])})
		l.mu.Unlock()
	}
}

// matching returns the fires that keep returns true for.
func (l *fireLog) matching(keep func(fireRecord) bool) []fireRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []fireRecord
	for _, f := range l.fires {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}
