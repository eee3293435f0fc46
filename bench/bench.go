// Package bench measures caseflow against the raw Temporal engine on the same
// dev server (issue 6): intake rate, staff action round trip, timer precision,
// history cost, worker memory and replay speed. Each scenario runs side by
// side with a baseline of trivial workflows on the same server, so that the
// table shows what caseflow adds to what the engine costs anyway.
//
// The benchmark starts everything it needs and removes it afterwards: its own
// Temporal dev server (from bin/temporal, never downloaded), its own
// PostgreSQL database, the payer simulator, and its workers as separate
// processes (the real caseflow-worker binary, and this benchmark's binary
// running the baseline workflows). Run it with "make bench"; see
// docs/BENCHMARKS.md for the results and what they mean.
package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caseflow/caseflow/internal/testdb"
)

// Config sizes and places a benchmark run. Zero values take the defaults of
// DefaultConfig; tests pass tiny sizes for a smoke run.
type Config struct {
	// Root is the repository root: policies/, demo/ and
	// workflows/testdata/histories are read from it.
	Root string
	// BinDir holds the caseflow and caseflow-worker binaries.
	BinDir string
	// TemporalBin is the Temporal CLI that runs the dev server.
	TemporalBin string
	// Server is the Temporal server the run starts: ServerDev (the dev
	// server of bin/temporal, as make run; the default) or ServerFull
	// (bin/temporal-server on PostgreSQL persistence and visibility, as
	// docker-compose.yml runs it, with deploy/temporal/dynamicconfig; make
	// bench-cluster). Persistence, SQLitePragmas and DynamicConfig are the
	// dev server's.
	Server string
	// ServerBin and SQLToolBin are the full server and its
	// temporal-sql-tool (make tools builds both).
	ServerBin, SQLToolBin string
	// BenchBin is this benchmark's binary; it is run as "baseline-worker".
	BenchBin string
	// PostgresURL is the PostgreSQL server the benchmark creates its
	// database on (and drops it from afterwards).
	PostgresURL string
	// Persistence of the dev server: "file" (SQLite file, as make run) or
	// "memory".
	Persistence string
	// SQLitePragmas are passed to the dev server as --sqlite-pragma (with
	// Persistence "file"); none by default, as make run.
	SQLitePragmas []string
	// DynamicConfig values (KEY=VALUE) are passed to the dev server as
	// --dynamic-config-value, for experiments; none by default.
	DynamicConfig []string
	// KeepDB keeps the benchmark's database and temporary directory.
	KeepDB bool

	// Cases is the number of rows imported (scenario 1) and the number
	// of no-op workflows started as its baseline.
	Cases int
	// Concurrency is the number of cases or workflows started at the same
	// time (import --concurrency, and the baseline's starters).
	Concurrency int
	// IntakeNoWorkers runs scenario 1 with no worker polling (a
	// diagnostic: the start path alone); it then measures no memory.
	IntakeNoWorkers bool
	// Open is the number of cases open during the round trip (scenario 2).
	Open int
	// RTCases is the number of cases (and baseline workflows) the round
	// trip's updates go to.
	RTCases int
	// Updates is the number of measured updates of each kind.
	Updates int
	// SteadyRate is the due rate of follow-up calls in scenario 3a, per
	// second; Cadence the call interval of each case, so that
	// SteadyRate*Cadence cases take part; Duration how long it runs.
	SteadyRate float64
	Cadence    time.Duration
	Duration   time.Duration
	// Wave is the number of follow-up calls due in the same second
	// (scenario 3b), and of cases cached by the worker whose memory is
	// measured (scenario 5).
	Wave int
	// WaveLead, when set, is how long before the wave falls due its cases
	// start; by default it comes from the start rate measured in scenario 1.
	WaveLead time.Duration
	// YearDays is the length of the long case of scenario 4 and Day the
	// real time one of its days takes (the policy is compressed to match).
	YearDays int
	Day      time.Duration
	// Replays is the number of times each history is replayed (scenario 6).
	Replays int
	// ADTMessages is the number of A03 discharges sent to "caseflow adt
	// listen" and to the MLLP echo server (scenario 7).
	ADTMessages int
	// ImportRows is the size of the file scenario 8 checks with
	// "case import --dry-run" (against a tenth of it) for flat memory.
	ImportRows int
	// Settle is how long a worker rests before its memory is read.
	Settle time.Duration
	// Only runs these scenarios (1, 2, 3a, 3b, 4, 5, 6, 7, 8); empty runs all.
	Only []string

	// Progress receives progress lines (stderr for the command).
	Progress io.Writer
	// Command is the command line reported with the results.
	Command string
}

// The servers a run can start (Config.Server).
const (
	ServerDev  = "dev"
	ServerFull = "full"
)

// DefaultConfig is the full benchmark of "make bench".
func DefaultConfig() Config {
	return Config{
		Root:        ".",
		BinDir:      "bin",
		TemporalBin: "bin/temporal",
		Server:      ServerDev,
		ServerBin:   "bin/temporal-server",
		SQLToolBin:  "bin/temporal-sql-tool",
		PostgresURL: testdb.ServerURL(),
		Persistence: "file",
		// The dev server's SQLite file in WAL mode: see docs/BENCHMARKS.md.
		SQLitePragmas: []string{"journal_mode=WAL"},
		Cases:         10000,
		Concurrency:   16,
		Open:          1000,
		RTCases:       20,
		// 2,000 of each: a p99 of 500 samples is their 5th slowest, and
		// moved by ±0.2× between runs on 2 cores.
		Updates:     2000,
		SteadyRate:  10,
		Cadence:     30 * time.Second,
		Duration:    2 * time.Minute,
		Wave:        10000,
		YearDays:    365,
		Day:         150 * time.Millisecond,
		Replays:     200,
		ADTMessages: 2000,
		ImportRows:  100000,
		Settle:      3 * time.Second,
	}
}

// Scenarios lists the scenario ids in the order of the table.
var Scenarios = []string{"1", "2", "3a", "3b", "4", "5", "6", "7", "8"}

func (c Config) runs(id string) bool {
	if len(c.Only) == 0 {
		return true
	}
	return slices.ContainsFunc(c.Only, func(s string) bool { return s == id || (len(id) > 1 && s == id[:1]) })
}

// Row is one line of the results table. Values holds the measured numbers by
// name, for tests and for the notes; the strings are what the table shows.
type Row struct {
	ID       string             `json:"id"`
	Scenario string             `json:"scenario"`
	Caseflow string             `json:"caseflow"`
	Baseline string             `json:"baseline"`
	Goal     string             `json:"goal"`
	Result   string             `json:"result"`
	Values   map[string]float64 `json:"values"`
}

// Results of a row.
const (
	ResultMet    = "met"
	ResultMissed = "MISSED"
	ResultInfo   = "-"
	ResultError  = "ERROR"
)

// Report is the outcome of a run.
type Report struct {
	Rows          []Row         `json:"rows"`
	Machine       Machine       `json:"machine"`
	Persistence   string        `json:"persistence"`
	Server        string        `json:"server"`
	SQLitePragmas []string      `json:"sqlite_pragmas,omitempty"`
	Command       string        `json:"command"`
	Started       time.Time     `json:"started"`
	Elapsed       time.Duration `json:"elapsed"`
	// Notes are facts of the run the table has no room for.
	Notes []string `json:"notes"`
}

// Failed reports whether a scenario ended in an error.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Result == ResultError })
}

// Row returns the first row with id, or nil.
func (r *Report) Row(id string) *Row {
	for i := range r.Rows {
		if r.Rows[i].ID == id {
			return &r.Rows[i]
		}
	}
	return nil
}

func (r *Report) add(row Row) {
	if row.Values == nil {
		row.Values = map[string]float64{}
	}
	r.Rows = append(r.Rows, row)
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Run runs the configured scenarios and returns their report. An error in
// one scenario becomes an ERROR row and the others still run; Run returns an
// error only when the environment cannot be set up.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = withDefaults(cfg)
	rep := &Report{Started: time.Now(), Command: cfg.Command, Persistence: cfg.Persistence, Server: cfg.Server}
	if cfg.Persistence == "file" {
		rep.SQLitePragmas = cfg.SQLitePragmas
	}
	e, err := newEnv(ctx, cfg, rep)
	if err != nil {
		return nil, err
	}
	defer e.close()
	rep.Machine = e.machine(ctx)
	e.logf("machine: %s", rep.Machine.oneLine())

	type scenario struct {
		id  string
		run func(context.Context) error
	}
	// The order keeps each measurement clean: the long case and the round
	// trip first (few cases open), then intake, then the timers, whose
	// worker is the one whose memory is measured; replay needs histories
	// recorded by the others.
	steps := []scenario{
		{"4", e.historyCost},
		{"2", e.roundTrip},
		{"1", e.intake},
		{"8", e.importMemory},
		{"3a", e.steadyTimers},
		{"3b", e.timerWave},
		{"6", e.replay},
		{"7", e.adtFeed},
	}
	for _, s := range steps {
		if !cfg.runs(s.id) && !(s.id == "3b" && cfg.runs("5")) {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		start := time.Now()
		e.logf("scenario %s: start", s.id)
		if err := s.run(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			e.logf("scenario %s: ERROR: %v", s.id, err)
			rep.add(Row{ID: s.id, Scenario: scenarioNames[s.id], Result: ResultError, Caseflow: oneLine(err)})
			continue
		}
		e.logf("scenario %s: done in %s", s.id, time.Since(start).Round(time.Second))
	}
	rep.Elapsed = time.Since(rep.Started)
	rep.Machine.LoadEnd = loadAvg()
	slices.SortStableFunc(rep.Rows, func(a, b Row) int {
		if d := slices.Index(Scenarios, ScenarioOf(a.ID)) - slices.Index(Scenarios, ScenarioOf(b.ID)); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rep, nil
}

// ScenarioOf is the scenario a row belongs to: row 4b to scenario 4, row
// 3a to scenario 3a.
func ScenarioOf(rowID string) string {
	if strings.HasPrefix(rowID, "3") {
		return rowID[:min(len(rowID), 2)]
	}
	return rowID[:min(len(rowID), 1)]
}

var scenarioNames = map[string]string{
	"1":  "Intake rate",
	"2":  "Staff action round trip",
	"3a": "Timer precision, steady",
	"3b": "Timer precision, wave",
	"4":  "History cost",
	"5":  "Worker memory",
	"6":  "Replay speed",
	"7":  "ADT feed",
	"8":  "Import memory",
}

func withDefaults(c Config) Config {
	d := DefaultConfig()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	if c.Root == "" {
		c.Root = d.Root
	}
	if c.BinDir == "" {
		c.BinDir = d.BinDir
	}
	if c.TemporalBin == "" {
		c.TemporalBin = d.TemporalBin
	}
	if c.Server == "" {
		c.Server = d.Server
	}
	if c.ServerBin == "" {
		c.ServerBin = d.ServerBin
	}
	if c.SQLToolBin == "" {
		c.SQLToolBin = d.SQLToolBin
	}
	if c.PostgresURL == "" {
		c.PostgresURL = d.PostgresURL
	}
	if c.Persistence == "" {
		c.Persistence = d.Persistence
	}
	set(&c.Cases, d.Cases)
	set(&c.Concurrency, d.Concurrency)
	set(&c.Open, d.Open)
	set(&c.RTCases, d.RTCases)
	set(&c.Updates, d.Updates)
	set(&c.Wave, d.Wave)
	set(&c.YearDays, d.YearDays)
	set(&c.Replays, d.Replays)
	set(&c.ADTMessages, d.ADTMessages)
	set(&c.ImportRows, d.ImportRows)
	if c.SteadyRate <= 0 {
		c.SteadyRate = d.SteadyRate
	}
	setD(&c.Cadence, d.Cadence)
	setD(&c.Duration, d.Duration)
	setD(&c.Day, d.Day)
	setD(&c.Settle, d.Settle)
	for _, p := range []*string{&c.Root, &c.BinDir, &c.TemporalBin, &c.BenchBin, &c.ServerBin, &c.SQLToolBin} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	c.RTCases = min(c.RTCases, c.Open)
	return c
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
