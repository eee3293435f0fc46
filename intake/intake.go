// Package intake opens cases in bulk from a file of candidates (CSV or JSON
// lines): it reads the file, checks every row, then starts the valid cases
// at a bounded rate and concurrency through an Opener, with progress on
// stderr, and sums up what happened. The file is streamed, read a row at a
// time as often as needed, so that memory stays flat however many rows it
// has (docs/import.md, "Large files"). "caseflow case import" is a thin
// command over it; "caseflow case open" checks its one case with Check.
package intake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
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
	// Register does what opening c needs before its workflow starts: it
	// checks c's staff and program and registers its patient, and returns
	// c with its patient id (and case id) set. Run registers one row at a
	// time in file order, ahead of the starts, so that every start slot
	// of Options.Concurrency stays busy starting cases. A
	// *care.ValidationError makes the row invalid.
	Register(ctx context.Context, c ToOpen) (ToOpen, error)
	// Start starts the case of a registered c. A case that exists already
	// is no error: it is reported with Existed and nothing new is started.
	Start(ctx context.Context, c ToOpen) (Opened, error)
}

// Opened is the case Opener.Start opened or found.
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

// candidate is one valid row to open, by its line: its case is read from
// the file again when it is started, so that an import holds a few bytes
// per row whatever the size of the file.
type candidate struct {
	line   int32
	prog   uint16 // index in Batch.programs
	urgent bool
	pat    uint32 // hash of the row's patient_ref
}

// Batch is an import file read and checked: the cases still to open and
// the summary so far.
type Batch struct {
	Summary  *Summary
	opts     Options
	src      *source
	format   string
	seed     maphash.Seed
	programs []string
	todo     []candidate // in file order
}

// Load validates opts, reads the file at path ("-": Options.Stdin) and
// checks every row, writing nothing. An error means the file is refused as
// a whole; invalid and duplicate rows are in the Summary.
//
// The file is read as a stream, a row at a time, and never held in
// memory: once to check that it is UTF-8 text, once to check each row,
// and, when rows share a patient, once more to compare those rows; Run
// reads it again to start the cases. What Load keeps of a valid row is its
// line, program and a hash of its patient; standard input is first copied to a temporary file.
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
	src, err := openSource(path, opts.Stdin)
	if err != nil {
		return nil, err
	}
	b := &Batch{opts: opts, src: src, format: format, seed: maphash.MakeSeed()}
	if err := b.load(); err != nil {
		src.close()
		return nil, err
	}
	if !b.Pending() {
		src.close()
	}
	return b, nil
}

func (b *Batch) load() error {
	path, opts := b.src.path, b.opts
	lines, err := b.src.checkText()
	if err != nil {
		return err
	}
	sum := &Summary{File: path, Format: b.format, DryRun: opts.DryRun, Strict: opts.Strict,
		Invalid: []RowProblem{}, Duplicates: []DuplicateRow{}, Failures: []RowFailure{}, Cases: []ImportedCase{}}
	b.Summary = sum
	progIndex := map[string]uint16{}
	// 12 bytes a row at most, allocated once: no row has less than a line.
	valid := make([]candidate, 0, lines)
	err = b.src.eachRow(b.format, opts, func(r fileRow) error {
		sum.Rows++
		values, _, urgent, bad := checkRow(r, opts)
		if len(bad) > 0 {
			sum.Invalid = append(sum.Invalid, bad...)
			sum.InvalidRows++
			return nil
		}
		prog, ok := progIndex[values["program"]]
		if !ok {
			if len(b.programs) > math.MaxUint16 {
				return fmt.Errorf("line %d: more than %d programs in one file; split the file", r.line, math.MaxUint16+1)
			}
			prog = uint16(len(b.programs))
			progIndex[values["program"]] = prog
			b.programs = append(b.programs, values["program"])
		}
		if r.line > math.MaxInt32 {
			return fmt.Errorf("line %d: more than %d lines in one file; split the file", r.line, math.MaxInt32)
		}
		valid = append(valid, candidate{line: int32(r.line), urgent: urgent, prog: prog, pat: b.hash(values["patient_ref"])})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	// Rows that may share a patient with another row (and so maybe a
	// case: its patient and program), as their hashes say, are read again
	// and compared in full by groupRows; a hash shared by chance only costs
	// that comparison. The others are cases of their own.
	sharedPatient := repeated(valid, func(c candidate) uint32 { return c.pat })
	shared := map[int]bool{}
	todo := valid[:0]
	for _, c := range valid {
		if sharedPatient[c.pat] {
			shared[int(c.line)] = true
		} else {
			todo = append(todo, c)
		}
	}
	if len(shared) > 0 {
		var group []*checked
		err := b.src.eachRow(b.format, opts, func(r fileRow) error {
			if !shared[r.line] {
				return nil
			}
			values, _, urgent, bad := checkRow(r, opts)
			if len(bad) > 0 {
				return fmt.Errorf("line %d changed while the file was read; nothing was written", r.line)
			}
			c := candidate{line: int32(r.line), urgent: urgent, prog: progIndex[values["program"]], pat: b.hash(values["patient_ref"])}
			group = append(group, &checked{row: r, c: c, values: values})
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(group) != len(shared) {
			return fmt.Errorf("%s: the file changed while it was read; nothing was written", path)
		}
		todo = append(todo, groupRows(group, sum)...) // fewer than the shared rows: no new array
	}
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	slices.SortFunc(sum.Duplicates, func(x, y DuplicateRow) int { return x.Line - y.Line })
	slices.SortFunc(todo, func(x, y candidate) int { return int(x.line - y.line) })
	b.todo = todo
	sum.ToOpen = len(b.todo)
	if opts.DryRun {
		b.todo = nil
	}
	b.settle()
	return nil
}

func (b *Batch) hash(s string) uint32 {
	h := maphash.String(b.seed, s)
	return uint32(h ^ h>>32)
}

// sameRow reports whether a row read again asks for the case candidate c
// was checked for: same line, patient and program.
func (b *Batch) sameRow(c candidate, line int, values map[string]string) bool {
	return line == int(c.line) && b.hash(values["patient_ref"]) == c.pat && int(c.prog) < len(b.programs) && b.programs[c.prog] == values["program"]
}

// repeated returns the hashes that occur more than once in cs. It sorts cs
// by them (in place: no copy of the rows), then back in file order.
func repeated(cs []candidate, hash func(candidate) uint32) map[uint32]bool {
	slices.SortFunc(cs, func(x, y candidate) int { return cmp.Compare(hash(x), hash(y)) })
	out := map[uint32]bool{}
	for i := 1; i < len(cs); i++ {
		if h := hash(cs[i]); h == hash(cs[i-1]) {
			out[h] = true
		}
	}
	slices.SortFunc(cs, func(x, y candidate) int { return cmp.Compare(x.line, y.line) })
	return out
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
	defer func() {
		if !b.Pending() {
			b.src.close()
		}
	}()
	refused := map[string]*care.ValidationError{}
	for _, c := range b.todo {
		program := b.programs[c.prog]
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
		if invalid := refused[b.programs[c.prog]]; invalid != nil {
			sum.Invalid = append(sum.Invalid, RowProblem{Line: int(c.line), Field: "program", Problem: invalid.Problem})
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
// completes the Summary. It reads the file again for them, once for the
// urgent rows and once for the others. When ctx ends (the first interrupt)
// it starts no more cases and lets the ones in flight finish; a second
// SIGINT or SIGTERM abandons them.
func (b *Batch) Run(ctx context.Context, o Opener) {
	todo := b.todo
	b.todo = nil
	defer b.src.close()
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

	type job struct {
		i    int
		open ToOpen
	}
	res := newResults(len(todo))
	jobs := make(chan job)
	var failuresInARow atomic.Int64
	var workers sync.WaitGroup
	for range b.opts.Concurrency {
		workers.Go(func() {
			for j := range jobs {
				res.set(j.i, b.start(inflight, o, j.open, prog, &failuresInARow, stop))
			}
		})
	}
	rateNote := "no rate limit"
	if b.opts.Rate > 0 {
		rateNote = fmt.Sprintf("at most %g a second", b.opts.Rate)
	}
	prog.begin(fmt.Sprintf("starting %d cases from %s (%d at a time, %s)", len(todo), b.Summary.File, b.opts.Concurrency, rateNote))
	lim := newLimiter(b.opts.Rate)
	errStop := errors.New("stop")
	for _, urgent := range []bool{true, false} {
		var pass []int // indices into todo, in file order
		for i, c := range todo {
			if c.urgent == urgent {
				pass = append(pass, i)
			}
		}
		if len(pass) == 0 || dispatch.Err() != nil {
			continue
		}
		next := 0
		err := b.src.eachRow(b.format, b.opts, func(r fileRow) error {
			if next == len(pass) {
				return errStop
			}
			i := pass[next]
			if r.line < int(todo[i].line) {
				return nil
			}
			next++
			values, open, _, bad := checkRow(r, b.opts)
			if len(bad) > 0 || !b.sameRow(todo[i], r.line, values) {
				res.set(i, outcome{started: true, err: fmt.Errorf("line %d is not the row that was checked: the file changed during the import; run the same command again", todo[i].line)})
				prog.done("failed")
				return nil
			}
			if dispatch.Err() != nil || !lim.wait(dispatch.Done()) {
				return errStop
			}
			open, failed := b.register(inflight, o, open, prog, &failuresInARow, stop)
			if failed != nil {
				res.set(i, *failed)
				return nil
			}
			// A registered case is in flight: a free slot starts it even
			// if the import was interrupted meanwhile. Only when every
			// slot is busy at the interrupt does it stay registered and
			// not started (the next run finds its patient).
			select {
			case jobs <- job{i, open}:
				return nil
			default:
			}
			select {
			case jobs <- job{i, open}:
			case <-dispatch.Done():
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			stop(fmt.Errorf("stopped: reading %s again: %v", b.Summary.File, err))
		}
	}
	close(jobs)
	workers.Wait()
	close(finished)
	watchers.Wait()
	prog.finish()
	b.sumUp(todo, res, time.Since(prog.start))
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

// register registers one case within the per-case timeout. It returns the
// registered case, or the outcome of a case that failed (counted, as by
// start).
func (b *Batch) register(inflight context.Context, o Opener, c ToOpen, prog *progress, failuresInARow *atomic.Int64, stop context.CancelCauseFunc) (ToOpen, *outcome) {
	ctx, cancel := context.WithTimeout(inflight, b.opts.Timeout)
	reg, err := o.Register(ctx, c)
	cancel()
	if err == nil {
		return reg, nil
	}
	out := b.count(inflight, Opened{}, err, prog, failuresInARow, stop)
	return c, &out
}

// start starts one registered case within the per-case timeout, counts
// it, and stops the dispatch after too many failures in a row.
func (b *Batch) start(inflight context.Context, o Opener, c ToOpen, prog *progress, failuresInARow *atomic.Int64, stop context.CancelCauseFunc) outcome {
	ctx, cancel := context.WithTimeout(inflight, b.opts.Timeout)
	res, err := o.Start(ctx, c)
	cancel()
	return b.count(inflight, res, err, prog, failuresInARow, stop)
}

// count counts what became of a case (registered and started, or failed
// on the way), and stops the dispatch after too many failures in a row.
func (b *Batch) count(inflight context.Context, res Opened, err error, prog *progress, failuresInARow *atomic.Int64, stop context.CancelCauseFunc) outcome {
	if err != nil && inflight.Err() != nil {
		err = errors.New("abandoned by a second interrupt before it finished; run the same command again to find out whether it was opened")
	}
	var invalid *care.ValidationError
	switch {
	case errors.As(err, &invalid): // refused on opening, e.g. a policy that ended since CheckPrograms
		prog.done("invalid")
		if b.opts.Strict {
			// Found only now (a manager not registered, a known patient
			// with other demographics): the cases started before it stay
			// open, and no more start.
			prog.stopping.Store(true)
			stop(fmt.Errorf("stopped by --strict: a row was found invalid only as it was opened (%s), and no more cases were started", oneLine(err)))
		}
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

// What became of a case of a run (results.status).
const (
	notStarted uint8 = iota
	resultOpened
	resultExisted
	resultInvalid
	resultFailed
)

// results is what became of the cases of a run, by their index in the
// batch's cases to open (file order): a byte and a case id each, and the
// errors of the ones that failed.
type results struct {
	status []uint8
	ids    []string
	mu     sync.Mutex
	errs   map[int]error
}

func newResults(n int) *results {
	return &results{status: make([]uint8, n), ids: make([]string, n), errs: map[int]error{}}
}

// set records case i's outcome; each i from one goroutine only.
func (r *results) set(i int, o outcome) {
	var invalid *care.ValidationError
	r.ids[i] = o.res.CaseID
	switch {
	case !o.started:
		r.status[i] = notStarted
		return
	case errors.As(o.err, &invalid):
		r.status[i] = resultInvalid
	case o.err != nil:
		r.status[i] = resultFailed
	case o.res.Existed:
		r.status[i] = resultExisted
		return
	default:
		r.status[i] = resultOpened
		return
	}
	r.mu.Lock()
	r.errs[i] = o.err
	r.mu.Unlock()
}

// sumUp adds the outcomes of a run to the summary. The cases opened or
// found stay in res, a few bytes each, for Summary.EachCase.
func (b *Batch) sumUp(todo []candidate, res *results, elapsed time.Duration) {
	sum := b.Summary
	sum.DurationSeconds = elapsed.Round(time.Millisecond).Seconds()
	for i, st := range res.status {
		line := int(todo[i].line)
		switch st {
		case notStarted:
			sum.NotStarted++
		case resultInvalid:
			var invalid *care.ValidationError
			errors.As(res.errs[i], &invalid)
			field := strings.ReplaceAll(strings.TrimLeft(invalid.Field, "-"), "-", "_")
			sum.Invalid = append(sum.Invalid, RowProblem{Line: line, Field: field, Problem: invalid.Problem})
			sum.InvalidRows++
		case resultFailed:
			sum.Failed++
			sum.Failures = append(sum.Failures, RowFailure{Line: line, CaseID: res.ids[i], Error: oneLine(res.errs[i])})
		case resultExisted:
			sum.AlreadyExisted++
		case resultOpened:
			sum.Opened++
		}
	}
	sum.run = &runCases{todo: todo, res: res}
	slices.SortFunc(sum.Failures, func(x, y RowFailure) int { return x.Line - y.Line })
	slices.SortStableFunc(sum.Invalid, func(x, y RowProblem) int { return x.Line - y.Line })
	if done := len(todo) - sum.NotStarted; done > 0 {
		sum.CasesPerSecond = float64(int(float64(done)/max(elapsed.Seconds(), 0.001)*10)) / 10
	}
}

// oneLine keeps an error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}
