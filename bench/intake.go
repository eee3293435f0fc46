package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/intake"
	"github.com/caseflow/caseflow/workflows"
)

const (
	intakeQueue         = "bench-intake"
	baselineIntakeQueue = "bench-baseline-intake"
	// baselineIntakeAfterQueue is the second baseline run's (after the
	// import), so that the first run's backlog stays where it is.
	baselineIntakeAfterQueue = "bench-baseline-intake-after"
	intakeManager            = "cm-bench-intake"
)

// intake is scenario 1: cases opened per second by "caseflow case import"
// (the CLI binary on a generated CSV file), against no-op workflows started
// with the same concurrency on the same server, before the import and
// after it. Each side has its worker running while it starts. Its caseflow worker is also measured for
// scenario 5 (new cases).
func (e *env) intake(ctx context.Context) error {
	cfg := e.cfg
	if cfg.IntakeNoWorkers {
		return e.intakeAlone(ctx)
	}
	w, err := e.startWorker(ctx, intakeQueue)
	if err != nil {
		return err
	}
	defer w.stop()
	base, err := e.startBaseline(ctx, baselineIntakeQueue, &fireLog{})
	if err != nil {
		return err
	}
	defer base.stop()
	time.Sleep(e.cfg.Settle)
	idle, err := w.rssBytes()
	if err != nil {
		return err
	}

	// The import is measured between two runs of the baseline, one before
	// it and one after, each with its own worker on its own queue, and held
	// to their mean. The server slows down as it fills: one run measured
	// 144 no-op starts/s before the import and 107/s after it. A baseline
	// run only before held the import to an emptier server than its own;
	// bracketed, the drift falls on both sides alike.
	before, err := e.startNoops(ctx, baselineIntakeQueue, "noop-")
	if err != nil {
		return err
	}
	// The baseline's worker stops now: the no-op workflows it has not run
	// yet wait on their task queue, which costs the server nothing, and the
	// import has the server to itself.
	base.stop()

	t1 := time.Now()
	cfRate, conc, err := e.importCases(ctx, intakeQueue)
	if err != nil {
		return err
	}
	if err := e.waitCount(ctx, "imported cases recorded by the worker", cfg.Cases, 15*time.Minute,
		`SELECT count(*) FROM cases WHERE manager = $1`, intakeManager); err != nil {
		return err
	}
	recorded := time.Since(t1)

	// The baseline again, once the worker has recorded every case: its
	// work is part of the import's cost, not of the baseline's.
	after, asCases, err := e.baselineAfterImport(ctx)
	if err != nil {
		return err
	}
	blRate := (before + after) / 2
	r := cfRate / blRate
	e.rep.add(Row{ID: "1", Scenario: fmt.Sprintf("Intake rate: %s rows by `caseflow case import --rate 0 --concurrency %s`; baseline: no-op workflows started %s at a time, before the import and after it (their mean)",
		count(cfg.Cases), conc, conc),
		Caseflow: fmt.Sprintf("%.0f cases/s (all %s recorded in PostgreSQL after %s)", cfRate, count(cfg.Cases), secs(recorded)),
		Baseline: fmt.Sprintf("%.0f starts/s (%.0f before, %.0f after)", blRate, before, after), Goal: intakeGoal,
		Result: metIf(r >= intakeRatio, fmt.Sprintf("%.0f %%", r*100)),
		Values: map[string]float64{"cases_per_s": cfRate, "baseline_per_s": blRate, "baseline_before_per_s": before, "baseline_after_per_s": after,
			"ratio": r, "cases": float64(cfg.Cases), "recorded_s": recorded.Seconds()}})
	e.logf("1: caseflow %.0f cases/s, baseline %.0f starts/s (%.0f before, %.0f after; %.0f %%)", cfRate, blRate, before, after, r*100)
	e.rep.add(Row{ID: "1b", Scenario: fmt.Sprintf("Intake, the engine's share: %s no-op workflows started %s at a time with a case's start options (its id policy, 4 search attributes, summary and details, a case's encrypted input), right after scenario 1's second baseline run; baseline: that run",
		count(cfg.Cases), conc),
		Caseflow: fmt.Sprintf("%.0f starts/s (%.0f %% of the baseline)", asCases, 100*asCases/after),
		Baseline: fmt.Sprintf("%.0f starts/s", after), Goal: "-", Result: ResultInfo,
		Values: map[string]float64{"starts_per_s": asCases, "baseline_per_s": after, "ratio": asCases / after}})

	// Scenario 5, new cases: the worker that served the import.
	w.waitIdle(ctx, time.Minute)
	time.Sleep(e.cfg.Settle)
	rss, err := w.rssBytes()
	if err != nil {
		return err
	}
	cached := min(cfg.Cases, stickyCache)
	e.rep.add(Row{ID: "5b", Scenario: fmt.Sprintf("Worker memory: caseflow-worker RSS with the %s imported cases (in screening) cached", count(cached)),
		Caseflow: fmt.Sprintf("%s per case (RSS %s → %s; live heap %.0f MiB)", kb(float64(rss-idle)/float64(cached)), kb(float64(idle)), kb(float64(rss)), w.liveHeapMB()),
		Baseline: "-", Goal: "-", Result: ResultInfo,
		Values: map[string]float64{"bytes_per_case": float64(rss-idle) / float64(cached), "rss": float64(rss), "rss_idle": float64(idle), "cached": float64(cached)}})
	return nil
}

// The goal of scenario 1 (issue 13): the import keeps 95 % of the engine's
// own start rate.
const (
	intakeRatio = 0.95
	intakeGoal  = "≥ 95 % of baseline"
)

// baselineAfterImport is scenario 1's second baseline run, on its own
// queue with a worker of its own, and then the engine's share (row 1b):
// no-op workflows started with a case's start options, on the server as
// the second run left it. It returns both rates.
func (e *env) baselineAfterImport(ctx context.Context) (after, asCases float64, err error) {
	base, err := e.startBaseline(ctx, baselineIntakeAfterQueue, &fireLog{})
	if err != nil {
		return 0, 0, err
	}
	defer base.stop()
	if after, err = e.startNoops(ctx, baselineIntakeAfterQueue, "noop-after-"); err != nil {
		return 0, 0, err
	}
	if asCases, err = e.startNoopsAsCases(ctx, baselineIntakeAfterQueue); err != nil {
		return 0, 0, err
	}
	return after, asCases, nil
}

// startNoops starts cfg.Cases no-op workflows, cfg.Concurrency at a time,
// with workflow ids prefix and a number, and returns how many a second.
// The first run's rate is kept for the timer scenarios' lead.
func (e *env) startNoops(ctx context.Context, queue, prefix string) (float64, error) {
	cfg := e.cfg
	e.logf("1: baseline: starting %d no-op workflows, %d at a time", cfg.Cases, cfg.Concurrency)
	t0 := time.Now()
	if err := parallel(ctx, cfg.Cases, cfg.Concurrency, func(ctx context.Context, i int) error {
		_, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s%06d", prefix, i), TaskQueue: queue}, NoopWorkflowName)
		return err
	}); err != nil {
		return 0, err
	}
	elapsed := time.Since(t0)
	rate := float64(cfg.Cases) / elapsed.Seconds()
	if e.startRate == 0 {
		e.startRate = rate
	}
	e.logf("1: baseline: %.0f starts/s (%s)", rate, secs(elapsed))
	return rate, nil
}

// startNoopsAsCases starts cfg.Cases no-op workflows the way the import
// starts cases (caseclient.StartOptions and a case's input, through the
// codec), cfg.Concurrency at a time, and returns how many a second: what
// the engine itself makes of a case's start options.
func (e *env) startNoopsAsCases(ctx context.Context, queue string) (float64, error) {
	cfg := e.cfg
	p, ok := e.policies["complex-case"]
	if !ok {
		return 0, fmt.Errorf("no complex-case policy in policies/")
	}
	e.logf("1: baseline: starting %d no-op workflows with a case's start options, %d at a time", cfg.Cases, cfg.Concurrency)
	t0 := time.Now()
	if err := parallel(ctx, cfg.Cases, cfg.Concurrency, func(ctx context.Context, i int) error {
		cs := e.benchCase("noopcase", i, p.Program, intakeManager)
		in := workflows.CaseInput{Case: cs, PolicyVersion: p.Version}
		_, err := e.c.ExecuteWorkflow(ctx, caseclient.StartOptions(queue, cs, p, care.PhaseScreening, cs.OpenedAt.Add(p.Steps.Screening.D())),
			NoopCaseWorkflow, in)
		return err
	}); err != nil {
		return 0, err
	}
	elapsed := time.Since(t0)
	rate := float64(cfg.Cases) / elapsed.Seconds()
	e.logf("1: baseline: %.0f starts/s with a case's start options (%s)", rate, secs(elapsed))
	return rate, nil
}

// importCases runs "caseflow case import" on a generated file of cfg.Cases
// rows and returns the cases it opened a second, by its own summary.
func (e *env) importCases(ctx context.Context, queue string) (float64, string, error) {
	cfg := e.cfg
	csv := filepath.Join(e.tmp, "candidates.csv")
	var b bytes.Buffer
	b.WriteString("patient_ref,program,source,model,manager\n")
	for i := range cfg.Cases {
		fmt.Fprintf(&b, "BENCH-IN-%06d,complex-case,claims,clinical,%s\n", i, intakeManager)
	}
	if err := os.WriteFile(csv, b.Bytes(), 0o600); err != nil {
		return 0, "", err
	}
	conc := strconv.Itoa(min(cfg.Concurrency, 64))
	args := []string{"case", "import", csv, "--rate", "0", "--concurrency", conc, "--progress", "lines", "--output", "json"}
	e.logf("1: caseflow case import %s --rate 0 --concurrency %s (%d rows)", filepath.Base(csv), conc, cfg.Cases)
	cmd := exec.CommandContext(ctx, filepath.Join(cfg.BinDir, "caseflow"), args...)
	cmd.Env = e.environ(queue)
	cmd.Dir = cfg.Root
	var out bytes.Buffer
	cmd.Stdout = &out
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	// Scenario 8: the import process's memory as it goes.
	s := sampleMemory(cmd.Process.Pid)
	m := &importMem{rows: cfg.Cases, measured: true}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		e.watchImportProgress(pr, s, m)
	}()
	runErr := cmd.Wait()
	pw.Close()
	<-watched
	m.end = s.finish()
	m.valid = m.earlyDone > 0 && m.earlyDone < cfg.Cases
	e.importMem = *m
	var sum intake.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return 0, "", fmt.Errorf("case import: %v (%v); stdout %q", runErr, err, out.String())
	}
	if runErr != nil || sum.Opened != cfg.Cases {
		return 0, "", fmt.Errorf("case import opened %d of %d cases (failed %d, invalid %d): %v", sum.Opened, cfg.Cases, sum.Failed, sum.InvalidRows, runErr)
	}
	cfRate := float64(sum.Opened) / sum.DurationSeconds
	return cfRate, conc, nil
}

// intakeAlone is the diagnostic variant of scenario 1 (-intake-no-workers):
// no worker polls either queue, so that the server does nothing but start
// workflows. It shows how much of the gap is the start path itself.
func (e *env) intakeAlone(ctx context.Context) error {
	cfg := e.cfg
	before, err := e.startNoops(ctx, baselineIntakeQueue, "noop-")
	if err != nil {
		return err
	}
	cfRate, conc, err := e.importCases(ctx, intakeQueue)
	if err != nil {
		return err
	}
	after, err := e.startNoops(ctx, baselineIntakeAfterQueue, "noop-after-")
	if err != nil {
		return err
	}
	blRate := (before + after) / 2
	r := cfRate / blRate
	e.rep.add(Row{ID: "1", Scenario: fmt.Sprintf("Intake rate with no worker polling (diagnostic): %s rows by `caseflow case import --rate 0 --concurrency %s`; baseline: no-op workflows started %s at a time, before the import and after it (their mean)",
		count(cfg.Cases), conc, conc),
		Caseflow: fmt.Sprintf("%.0f cases/s", cfRate), Baseline: fmt.Sprintf("%.0f starts/s (%.0f before, %.0f after)", blRate, before, after), Goal: intakeGoal,
		Result: metIf(r >= intakeRatio, fmt.Sprintf("%.0f %%", r*100)),
		Values: map[string]float64{"cases_per_s": cfRate, "baseline_per_s": blRate, "baseline_before_per_s": before, "baseline_after_per_s": after,
			"ratio": r, "cases": float64(cfg.Cases)}})
	return nil
}

// stickyCache is the SDK's default workflow cache size, which caseflow-worker
// keeps: at most this many cases are cached by one worker process.
const stickyCache = 10000
