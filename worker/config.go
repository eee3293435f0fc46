package worker

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/caseflow/caseflow/postgres"
)

// Config is how caseflow-worker is tuned: the SDK worker's concurrency and
// pollers, the process's sticky workflow cache, the PostgreSQL pool and the
// payer's rate. Every setting has a flag and an environment variable; the
// flag wins (ParseConfig; docs/operations.md, "Tuning").
type Config struct {
	// MetricsAddr serves /metrics, /healthz and /readyz (empty: off).
	MetricsAddr string
	// WorkflowTasks is MaxConcurrentWorkflowTaskExecutionSize (at least 2).
	WorkflowTasks int
	// ActivityTasks is MaxConcurrentActivityExecutionSize of the main task
	// queue's worker and of the payer's.
	ActivityTasks int
	// LocalActivities is MaxConcurrentLocalActivityExecutionSize.
	LocalActivities int
	// WorkflowPollers is MaxConcurrentWorkflowTaskPollers (at least 2).
	WorkflowPollers int
	// ActivityPollers is MaxConcurrentActivityTaskPollers, of each worker.
	ActivityPollers int
	// StickyCache is the process-wide sticky workflow cache size
	// (sdkworker.SetStickyWorkflowCacheSize): how many open cases stay in
	// memory between their workflow tasks.
	StickyCache int
	// StickyTimeout is StickyScheduleToStartTimeout: how long a cached
	// case's workflow task waits for this worker before the server gives
	// it to any worker, which replays the case's whole history first.
	StickyTimeout time.Duration
	// PayerRate is the payer queue's TaskQueueActivitiesPerSecond: the
	// insurer's quota in requests per second, enforced by the Temporal
	// server over every worker polling the queue.
	PayerRate float64
	// Pool sizes the PostgreSQL connection pool.
	Pool postgres.Pool
}

// DefaultConfig is the configuration with no flag or variable set: the
// SDK's own defaults but a sticky timeout of a minute (the SDK's 5 s sends
// a wave of timers firing together to full replays once the worker's
// backlog passes 5 s), postgres.DefaultPool and a payer rate of 10/s.
var DefaultConfig = Config{
	WorkflowTasks: 1000, ActivityTasks: 1000, LocalActivities: 1000,
	WorkflowPollers: 2, ActivityPollers: 2, StickyCache: 10000, StickyTimeout: time.Minute,
	PayerRate: 10, Pool: postgres.DefaultPool,
}

// ConfigError is a setting ParseConfig refuses; its message names the flag
// or variable the value came from and says how to fix it.
type ConfigError struct{ Message string }

func (e *ConfigError) Error() string { return e.Message }

// setting is one tunable: its flag, its variable, and how it is read into
// a Config.
type setting struct {
	flag, env, usage string
	def              func(Config) string
	set              func(*Config, string) error
}

func intSetting(flagName, env, usage string, min int, field func(*Config) *int) setting {
	return setting{flag: flagName, env: env, usage: usage,
		def: func(c Config) string { return strconv.Itoa(*field(&c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("not a whole number; set a number of at least %d", min)
			}
			if n < min {
				return fmt.Errorf("must be at least %d", min)
			}
			*field(c) = n
			return nil
		}}
}

var settings = []setting{
	{flag: "metrics-addr", env: "CASEFLOW_METRICS_ADDR", usage: "serve /metrics, /healthz and /readyz on this address, e.g. 127.0.0.1:9464 (empty: off)",
		def: func(c Config) string { return c.MetricsAddr },
		set: func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
	intSetting("workflow-tasks", "CASEFLOW_WORKER_WORKFLOW_TASKS", "workflow tasks run at once (MaxConcurrentWorkflowTaskExecutionSize)", 2,
		func(c *Config) *int { return &c.WorkflowTasks }),
	intSetting("activity-tasks", "CASEFLOW_WORKER_ACTIVITY_TASKS", "activities run at once, on the main queue and on the payer queue each (MaxConcurrentActivityExecutionSize)", 1,
		func(c *Config) *int { return &c.ActivityTasks }),
	intSetting("local-activities", "CASEFLOW_WORKER_LOCAL_ACTIVITIES", "local activities run at once (MaxConcurrentLocalActivityExecutionSize)", 1,
		func(c *Config) *int { return &c.LocalActivities }),
	intSetting("workflow-pollers", "CASEFLOW_WORKER_WORKFLOW_POLLERS", "workflow task pollers (MaxConcurrentWorkflowTaskPollers)", 2,
		func(c *Config) *int { return &c.WorkflowPollers }),
	intSetting("activity-pollers", "CASEFLOW_WORKER_ACTIVITY_POLLERS", "activity task pollers of each queue (MaxConcurrentActivityTaskPollers)", 1,
		func(c *Config) *int { return &c.ActivityPollers }),
	intSetting("sticky-cache", "CASEFLOW_WORKER_STICKY_CACHE", "open cases kept in memory between workflow tasks, for the whole process (SetStickyWorkflowCacheSize)", 1,
		func(c *Config) *int { return &c.StickyCache }),
	{flag: "sticky-timeout", env: "CASEFLOW_WORKER_STICKY_TIMEOUT", usage: "how long a cached case's workflow task waits for this worker before any worker may take it and replay the case's whole history (StickyScheduleToStartTimeout), e.g. 1m",
		def: func(c Config) string { return shortDuration(c.StickyTimeout) },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("not a duration; set e.g. 1m or 30s")
			}
			if d < time.Second {
				return errors.New("must be at least 1s, e.g. 1m (the SDK's own default is 5s)")
			}
			c.StickyTimeout = d
			return nil
		}},
	{flag: "payer-rate", env: "CASEFLOW_PAYER_RATE", usage: "the insurer's quota: payer requests per second over ALL workers (TaskQueueActivitiesPerSecond of the payer queue; 0.5 is one every 2s)",
		def: func(c Config) string { return strconv.FormatFloat(c.PayerRate, 'f', -1, 64) },
		set: func(c *Config, v string) error {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
				return errors.New("not a number; set requests per second, e.g. 10 or 0.5")
			}
			if r <= 0 {
				return errors.New("must be more than 0 (requests per second, e.g. 10 or 0.5)")
			}
			c.PayerRate = r
			return nil
		}},
	intSetting("db-max-open", "CASEFLOW_DB_MAX_OPEN_CONNS", "PostgreSQL connections open at once, in use or idle", 1,
		func(c *Config) *int { return &c.Pool.MaxOpenConns }),
	intSetting("db-max-idle", "CASEFLOW_DB_MAX_IDLE_CONNS", "PostgreSQL connections kept open when idle (at most --db-max-open)", 0,
		func(c *Config) *int { return &c.Pool.MaxIdleConns }),
	{flag: "db-conn-max-lifetime", env: "CASEFLOW_DB_CONN_MAX_LIFETIME", usage: "replace a PostgreSQL connection this long after it was opened, e.g. 30m (0: never)",
		def: func(c Config) string { return shortDuration(c.Pool.ConnMaxLifetime) },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("not a duration; set e.g. 30m or 1h, or 0 to keep connections forever")
			}
			if d < 0 {
				return errors.New("must not be negative; set e.g. 30m, or 0 to keep connections forever")
			}
			c.Pool.ConnMaxLifetime = d
			return nil
		}},
}

// ParseConfig reads the worker's configuration from its command-line
// arguments (without the program name) and the environment: a flag wins
// over its variable, which wins over DefaultConfig. A value it refuses is a
// *ConfigError naming the flag or variable; --help prints the usage to out
// and returns flag.ErrHelp; flag errors are not printed, only returned.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("caseflow-worker", flag.ContinueOnError)
	// The error is ours to print, on one line; the usage only on --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flags := make([]*string, len(settings))
	for i, s := range settings {
		flags[i] = fs.String(s.flag, "", s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(out)
			return Config{}, err
		}
		return Config{}, &ConfigError{Message: err.Error() + "; see caseflow-worker --help"}
	}
	if fs.NArg() > 0 {
		return Config{}, &ConfigError{Message: fmt.Sprintf("unexpected argument %q: caseflow-worker takes only flags; see caseflow-worker --help", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	cfg := DefaultConfig
	for i, s := range settings {
		var v, source, unset string
		switch {
		case given[s.flag]:
			v, source, unset = *flags[i], "--"+s.flag, "leave the flag out"
		case getenv(s.env) != "":
			v, source, unset = getenv(s.env), s.env, "unset it"
		default:
			continue
		}
		v = strings.TrimSpace(v)
		if err := s.set(&cfg, v); err != nil {
			return Config{}, &ConfigError{Message: fmt.Sprintf("%s=%q: %v, or %s for the default %s", source, v, err, unset, s.def(DefaultConfig))}
		}
	}
	if p := cfg.Pool; p.MaxIdleConns > p.MaxOpenConns {
		return Config{}, &ConfigError{Message: fmt.Sprintf("--db-max-idle (CASEFLOW_DB_MAX_IDLE_CONNS) %d is more than --db-max-open (CASEFLOW_DB_MAX_OPEN_CONNS) %d: lower it or raise --db-max-open",
			p.MaxIdleConns, p.MaxOpenConns)}
	}
	return cfg, nil
}

// usage is caseflow-worker --help: every setting with its variable and
// default.
func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: caseflow-worker [flags]

Runs caseflow's case workflows and activities on CASEFLOW_TASK_QUEUE (default
caseflow) and the payer's activities on <task queue>-payer. Temporal comes
from the standard environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_PROFILE), PostgreSQL from DATABASE_URL, the insurer from
CASEFLOW_PAYER_URL. Each flag can be set by its environment variable; the
flag wins. docs/operations.md, "Tuning", says what each one trades.

Flags:
`)
	for _, s := range settings {
		def := s.def(DefaultConfig)
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s\n      %s\n      env %s, default %s\n", s.flag, s.usage, s.env, def)
	}
}

// Setting describes one of caseflow-worker's settings, for documentation
// and its tests.
type Setting struct {
	// Flag is the flag's name without dashes; Env its variable.
	Flag, Env string
	// Default is the value with neither set.
	Default string
	Usage   string
}

// Settings lists caseflow-worker's settings in --help order.
func Settings() []Setting {
	out := make([]Setting, len(settings))
	for i, s := range settings {
		out[i] = Setting{Flag: s.flag, Env: s.env, Default: s.def(DefaultConfig), Usage: s.usage}
	}
	return out
}

// shortDuration is d as time.ParseDuration reads it, without the zero
// minutes and seconds: 30m, not 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
