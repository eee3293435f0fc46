// Package intake opens cases in bulk from a file of candidates (CSV or JSON
// lines): it reads the file, checks every row, then starts the valid cases
// at a bounded rate and concurrency through an Opener, with progress on
// stderr, and sums up what happened. "caseflow case import" is a thin
// command over it; "caseflow case open" checks its one case with Check.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caseflow/caseflow/care"
)

// The columns of an import file (CSV header names, JSON lines field names).
var (
	columns        = []string{"patient_ref", "program", "source", "model", "manager", "priority", "name", "birth_date"}
	requiredColumn = []string{"patient_ref", "program", "source"}
	priorities     = []string{"routine", "urgent"}
)

const (
	// MaxConcurrency bounds Options.Concurrency.
	MaxConcurrency = 64
	// stopAfterFailures is how many cases in a row may fail before an
	// import stops starting more: by then the cause (Temporal or the
	// database unreachable, say) is not the rows.
	stopAfterFailures = 10
	// maxListed is how many structural problems of a file are named.
	maxListed = 10
)

// Statuses of a case an import opened or found.
const (
	StatusOpened        = "opened"
	StatusAlreadyExists = "already-exists"
)

// Opener opens the cases of an import.
type Opener interface {
	// CheckProgram returns nil when program has a policy in force, and a
	// *care.ValidationError when it has none.
	CheckProgram(ctx context.Context, program string) error
	// Open registers the case's patient and starts the case. A case that
	// exists already is no error: it is reported with Existed and nothing
	// new is started. A *care.ValidationError makes the row invalid.
	Open(ctx context.Context, c ToOpen) (Opened, error)
}

// Opened is the case Opener.Open opened or found.
type Opened struct {
	CaseID string
	// Existed: the case was there already (opened before, maybe since
	// closed); nothing was started.
	Existed bool
}

// Options are the settings of an import, as the flags of "case import" spell
// them.
type Options struct {
	// Format is csv or jsonl; empty: from the file's extension.
	Format string
	// Model and Manager are the defaults of rows without one.
	Model, Manager string
	// Strict starts nothing if any row is invalid.
	Strict bool
	// DryRun only reads and checks the file.
	DryRun bool
	// Concurrency is how many cases are started at the same time
	// (1..MaxConcurrency); Rate how many at most a second (0: no limit).
	Concurrency int
	Rate        float64
	// Progress is the display mode on Log: auto, bar, lines or none.
	Progress string
	// Actor opens the cases.
	Actor string
	// Timeout bounds the opening of each case.
	Timeout time.Duration
	// Stdin is read for the path "-" (default os.Stdin); Log gets the
	// progress (default io.Discard).
	Stdin io.Reader
	Log   io.Writer
}

// validate checks the options that do not depend on the file, naming the
// flag at fault.
func (o Options) validate() error {
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		return care.Invalidf("--concurrency", "must be from 1 to %d, got %d", MaxConcurrency, o.Concurrency)
	}
	if o.Rate < 0 {
		return care.Invalidf("--rate", "must be 0 (no limit) or more cases a second, got %g", o.Rate)
	}
	if _, err := care.ParseEnum("--progress", o.Progress, progressModes); err != nil {
		return err
	}
	if o.Model != "" {
		if _, err := care.ParseEnum("--model", o.Model, care.Models); err != nil {
			return err
		}
	}
	if o.Manager != "" {
		if err := care.ValidateOpaqueID("--manager", o.Manager); err != nil {
			return err
		}
	}
	return nil
}

// candidate is one valid row to open.
type candidate struct {
	line   int
	urgent bool
	open   ToOpen
}

// Batch is an import file read and checked: the cases still to open and
// the summary so far.
type Batch struct {
	Summary *Summary
	opts    Options
	todo    []candidate
}

// Load validates opts, reads the file at path ("-": Options.Stdin) and
// checks every row, writing nothing. An error means the file is refused as
// a whole; invalid and duplicate rows are in the Summary.
func Load(path string, opts Options) (*Batch, error) {
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	format, err := fileFormat(path, opts.Format)
	if err != nil {
		return nil, err
	}
	data, err := readFile(path, opts.Stdin)
	if err != nil {
		return nil, err
	}
	var rows []fileRow
	if format == "csv" {
		rows, err = parseCSV(data, opts)
	} else {
		rows, err = parseJSONLines(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sum := &Summary{File: path, Format: format, DryRun: opts.DryRun, Strict: opts.Strict, Rows: len(rows),
		Invalid: []RowProblem{}, Duplicates: []DuplicateRow{}, Failures: []RowFailure{}, Cases: []ImportedCase{}}
	b := &Batch{Summary: sum, opts: opts}
	b.todo = checkRows(rows, opts, sum)
	sum.ToOpen = len(b.todo)
	if opts.DryRun {
		b.todo = nil
	}
	b.settle()
	return b, nil
}

// Pending reports whether the batch has cases to start.
func (b *Batch) Pending() bool { return len(b.todo) > 0 }

// settle counts the cases left as not started when none will be: the file
// has none, or --strict refuses it.
func (b *Batch) settle() {
	if b.opts.Strict && b.Summary.InvalidRows > 0 {
		b.Summary.NotStarted = len(b.todo)
		b.todo = nil
	}
}

// CheckPrograms asks, once per program, whether the program has a policy in
// force: what opening a case needs and the file alone cannot tell. The rows
// of a program without one are invalid, found before any case is started,
// so that --strict holds for them too.
func (b *Batch) CheckPrograms(ctx context.Context, o Opener) error {
	sum := b.Summary
	refused := map[string]*care.ValidationError{}
	for _, c := range b.todo {
		program := c.open.Case.Program
		if _, checked := refused[program]; checked {
			continue
		}
		err := o.CheckProgram(ctx, program)
		var invalid *care.ValidationError
		switch {
		case err == nil:
			refused[program] = nil
		case errors.As(err, &invalid):
			refused[program] = invalid
		default:
			return fmt.Errorf("policy of program %s: %w", program, err)
		}
	}
	kept := b.todo[:0]
	for _, c := range b.todo {
		if invalid := refused[c.open.Case.Program]; invalid != nil {
			sum.Invalid = append(sum.Invalid, RowProblem{Line: c.line, Field: "program", Problem: invalid.Problem})
			sum.InvalidRows++
			continue
		}
		kept = append(kept, c)
	}
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	sum.ToOpen = len(kept)
	b.todo = kept
	b.settle()
	return nil
}

// outcome is what became of one candidate.
type outcome struct {
	started bool
	res     Opened
	err     error
}

// Run opens the batch's cases through o, urgent rows first, then in file
// order, by Options.Concurrency workers at most Options.Rate a second, and
// completes the Summary. When ctx ends (the first interrupt) it starts no
// more cases and lets the ones in flight finish; a second SIGINT or SIGTERM
// abandons them.
func (b *Batch) Run(ctx context.Context, o Opener) {
	todo := b.todo
	b.todo = nil
	slices.SortStableFunc(todo, func(x, y candidate) int {
		switch {
		case x.urgent == y.urgent:
			return 0
		case x.urgent:
			return -1
		}
		return 1
	})
	// ctx ends on the first interrupt: start nothing more. Cases in flight
	// run on, until a second interrupt ends inflight.
	inflight, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	dispatch, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	prog := newProgress(b.opts.Log, b.opts.Progress, len(todo))
	finished := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Go(func() { watchInterrupts(ctx, finished, prog, abandon) })

	outcomes := make([]outcome, len(todo))
	jobs := make(chan int)
	var failuresInARow atomic.Int64
	var workers sync.WaitGroup
	for range b.opts.Concurrency {
		workers.Go(func() {
			for i := range jobs {
				outcomes[i] = b.open(inflight, o, todo[i].open, prog, &failuresInARow, stop)
			}
		})
	}
	rateNote := "no rate limit"
	if b.opts.Rate > 0 {
		rateNote = fmt.Sprintf("at most %g a second", b.opts.Rate)
	}
	prog.begin(fmt.Sprintf("starting %d cases from %s (%d at a time, %s)", len(todo), b.Summary.File, b.opts.Concurrency, rateNote))
	lim := newLimiter(b.opts.Rate)
	for i := range todo {
		if dispatch.Err() != nil || !lim.wait(dispatch.Done()) {
			break
		}
		select {
		case jobs <- i:
		case <-dispatch.Done():
		}
	}
	close(jobs)
	workers.Wait()
	close(finished)
	watchers.Wait()
	prog.finish()
	b.sumUp(todo, outcomes, time.Since(prog.start))
	b.Summary.Interrupted = ctx.Err() != nil && b.Summary.NotStarted > 0
	if cause := context.Cause(dispatch); !b.Summary.Interrupted && cause != nil && !errors.Is(cause, context.Canceled) {
		b.Summary.Stopped = cause.Error()
	}
}

// watchInterrupts tells, once ctx ends before the import finished, that no
// more cases start, and abandons the ones in flight on a second interrupt.
func watchInterrupts(ctx context.Context, finished <-chan struct{}, prog *progress, abandon func()) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	prog.stopping.Store(true)
	prog.note("interrupted: starting no more cases; finishing the ones in flight (interrupt again to abandon them)")
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	select {
	case <-finished:
	case <-again:
		prog.note("abandoning the cases in flight; run the same command again to find out whether they were opened")
		abandon()
	}
}

// open opens one case within the per-case timeout, counts it, and stops the
// dispatch after too many failures in a row.
func (b *Batch) open(inflight context.Context, o Opener, c ToOpen, prog *progress, failuresInARow *atomic.Int64, stop context.CancelCauseFunc) outcome {
	ctx, cancel := context.WithTimeout(inflight, b.opts.Timeout)
	res, err := o.Open(ctx, c)
	cancel()
	if err != nil && inflight.Err() != nil {
		err = errors.New("abandoned by a second interrupt before it finished; run the same command again to find out whether it was opened")
	}
	var invalid *care.ValidationError
	switch {
	case errors.As(err, &invalid): // refused on opening, e.g. a policy that ended since CheckPrograms
		prog.done("invalid")
	case err != nil:
		prog.done("failed")
		if failuresInARow.Add(1) == stopAfterFailures {
			prog.stopping.Store(true)
			stop(fmt.Errorf("stopped after %d cases in a row failed (the last: %s); fix the cause and run the same command again", stopAfterFailures, oneLine(err)))
		}
	default:
		failuresInARow.Store(0)
		prog.done(res.status())
	}
	return outcome{started: true, res: res, err: err}
}

func (o Opened) status() string {
	if o.Existed {
		return StatusAlreadyExists
	}
	return StatusOpened
}

// sumUp adds the outcomes of a run to the summary.
func (b *Batch) sumUp(todo []candidate, outcomes []outcome, elapsed time.Duration) {
	sum := b.Summary
	sum.DurationSeconds = elapsed.Round(time.Millisecond).Seconds()
	for i, o := range outcomes {
		line := todo[i].line
		var invalid *care.ValidationError
		switch {
		case !o.started:
			sum.NotStarted++
		case errors.As(o.err, &invalid):
			field := strings.ReplaceAll(strings.TrimLeft(invalid.Field, "-"), "-", "_")
			sum.Invalid = append(sum.Invalid, RowProblem{Line: line, Field: field, Problem: invalid.Problem})
			sum.InvalidRows++
		case o.err != nil:
			sum.Failed++
			sum.Failures = append(sum.Failures, RowFailure{Line: line, CaseID: o.res.CaseID, Error: oneLine(o.err)})
		default:
			if o.res.Existed {
				sum.AlreadyExisted++
			} else {
				sum.Opened++
			}
			sum.Cases = append(sum.Cases, ImportedCase{Line: line, CaseID: o.res.CaseID, Status: o.res.status()})
		}
	}
	slices.SortFunc(sum.Failures, func(x, y RowFailure) int { return x.Line - y.Line })
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	slices.SortFunc(sum.Cases, func(x, y ImportedCase) int { return x.Line - y.Line })
	if done := len(todo) - sum.NotStarted; done > 0 {
		sum.CasesPerSecond = float64(int(float64(done)/max(elapsed.Seconds(), 0.001)*10)) / 10
	}
}

// oneLine keeps an error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}
