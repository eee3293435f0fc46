package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/fullserver"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/schema"
	"github.com/caseflow/caseflow/workflows"
)

// Actor is the staff id the benchmark acts as.
const Actor = "cm-bench"

// Staff are the staff ids the benchmark registers: its actor and managers,
// and the policies' supervisor.
var Staff = []string{Actor, "cm-ana", intakeManager, "cm-bench-rt", "sup-care-team"}

// env is one benchmark run's world: dev server, database, clients, payer
// simulator and the worker processes of the scenarios.
type env struct {
	cfg   Config
	rep   *Report
	start time.Time
	tmp   string

	server   *testsuite.DevServer
	full     *fullserver.Server // with Config.Server "full", instead of server
	hostPort string
	plain    client.Client // without the codec: sees what Temporal stores
	c        client.Client // with caseflow's codec, as the CLI

	adminURL, dbName, dsn string
	store                 *postgres.Store
	db                    *sqlx.DB

	payerURL string
	procs    []*proc

	// Set by the scenarios for the ones after them.
	startRate    float64              // no-op workflow starts a second (scenario 1)
	template     *workflows.CaseState // a case in follow-up (seeds scenario 3)
	riverPath    string               // this run's demo-case history, JSON
	baselineHist string               // a baseline timer workflow's history, JSON
	importMem    importMem            // memory of scenario 1's import (for scenario 8)
	mainWorker   *proc
	mainBase     *proc
	policies     map[string]care.Policy
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.cfg.Progress, "[%6.1fs] %s\n", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

func newEnv(ctx context.Context, cfg Config, rep *Report) (e *env, err error) {
	e = &env{cfg: cfg, rep: rep, start: time.Now(), policies: map[string]care.Policy{}}
	servers := []string{cfg.TemporalBin}
	switch cfg.Server {
	case ServerDev:
	case ServerFull:
		servers = []string{cfg.ServerBin, cfg.SQLToolBin}
		if len(cfg.DynamicConfig) > 0 {
			return nil, errors.New("-dynamic-config is for the dev server; the full server reads deploy/temporal/dynamicconfig/development-sql.yaml")
		}
	default:
		return nil, fmt.Errorf("server must be %s or %s, got %q", ServerDev, ServerFull, cfg.Server)
	}
	for _, bin := range append(servers, filepath.Join(cfg.BinDir, "caseflow"), filepath.Join(cfg.BinDir, "caseflow-worker"), cfg.BenchBin) {
		if bin == "" {
			return nil, errors.New("no benchmark binary given (Config.BenchBin): it runs the baseline worker")
		}
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%s is missing: run \"make tools build\" first (the benchmark never downloads anything)", bin)
		}
	}
	if cfg.Persistence != "file" && cfg.Persistence != "memory" {
		return nil, fmt.Errorf("persistence must be file or memory, got %q", cfg.Persistence)
	}
	if e.tmp, err = os.MkdirTemp("", "caseflow-bench-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	e.logf("working directory %s", e.tmp)
	if err := e.openDatabase(ctx); err != nil {
		return e, err
	}
	if err := e.startServer(ctx); err != nil {
		return e, err
	}
	if err := e.startPayer(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// openDatabase creates the run's database, migrates it and loads the
// program policies and the demo providers.
func (e *env) openDatabase(ctx context.Context) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.dbName = "caseflow_bench_" + hex.EncodeToString(b)
	u, err := url.Parse(e.cfg.PostgresURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL URL: %w", err)
	}
	e.adminURL = u.String()
	u.Path = "/" + e.dbName
	e.dsn = u.String()
	e.logf("creating database %s on %s", e.dbName, u.Host)
	if _, err := schema.EnsureDatabase(ctx, e.dsn); err != nil {
		e.dsn = ""
		return fmt.Errorf("create the benchmark database (is PostgreSQL running at %s?): %w", u.Host, err)
	}
	raw, err := sql.Open("postgres", e.dsn)
	if err != nil {
		return err
	}
	_, err = schema.Migrate(ctx, raw)
	raw.Close()
	if err != nil {
		return fmt.Errorf("migrate the benchmark database: %w", err)
	}
	if e.store, err = postgres.Open(ctx, e.dsn); err != nil {
		return err
	}
	e.db = e.store.DB()
	e.db.SetMaxOpenConns(8)
	// Managers, actors and policy supervisors must be registered staff.
	if _, err := e.store.AddStaff(ctx, Staff...); err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(e.cfg.Root, "policies", "*.json"))
	if len(files) == 0 {
		return fmt.Errorf("no policies in %s/policies: run from the repository root or pass -root", e.cfg.Root)
	}
	for _, f := range files {
		var p care.Policy
		if err := readJSON(f, &p); err != nil {
			return err
		}
		if err := e.savePolicy(ctx, p); err != nil {
			return err
		}
	}
	if out, err := e.cli(ctx, "", "providers", "load", filepath.Join(e.cfg.Root, "demo", "providers.json")); err != nil {
		return fmt.Errorf("load demo providers: %v: %s", err, out)
	}
	return nil
}

func (e *env) savePolicy(ctx context.Context, p care.Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("policy %s: %w", p.Program, err)
	}
	if _, err := e.store.SavePolicy(ctx, p); err != nil {
		return fmt.Errorf("policy %s: %w", p.Program, err)
	}
	e.policies[p.Program] = p
	return nil
}

// startServer starts the run's own Temporal server: the dev server from
// bin/temporal, or with Config.Server "full" the full server.
func (e *env) startServer(ctx context.Context) error {
	if e.cfg.Server == ServerFull {
		return e.startFullServer(ctx)
	}
	logFile, err := os.Create(filepath.Join(e.tmp, "temporal.log"))
	if err != nil {
		return err
	}
	opts := testsuite.DevServerOptions{
		ExistingPath: e.cfg.TemporalBin,
		ClientOptions: &client.Options{Namespace: "default",
			Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))},
		SearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPhase.ValueSet(""), workflows.AttrRisk.ValueSet(""), workflows.AttrProgram.ValueSet(""),
			workflows.AttrManager.ValueSet(""), workflows.AttrNextDue.ValueSet(time.Time{}),
			workflows.AttrPaused.ValueSet(false),
		),
		LogLevel: "error",
		Stdout:   logFile,
		Stderr:   logFile,
	}
	for _, v := range e.cfg.DynamicConfig {
		opts.ExtraArgs = append(opts.ExtraArgs, "--dynamic-config-value", v)
	}
	where := "in memory"
	if e.cfg.Persistence == "file" {
		opts.DBFilename = filepath.Join(e.tmp, "temporal.db")
		where = "SQLite file " + opts.DBFilename
		for _, p := range e.cfg.SQLitePragmas {
			opts.ExtraArgs = append(opts.ExtraArgs, "--sqlite-pragma", p)
			where += ", pragma " + p
		}
	}
	e.logf("starting the Temporal dev server (%s), history %s", e.cfg.TemporalBin, where)
	e.server, err = testsuite.StartDevServer(ctx, opts)
	if err != nil {
		return fmt.Errorf("start the dev server: %w", err)
	}
	e.hostPort = e.server.FrontendHostPort()
	return e.dial()
}

// startFullServer starts the full Temporal server (internal/fullserver):
// bin/temporal-server at the compose file's version on two PostgreSQL
// databases of the run's own, with the compose file's dynamic config and
// caseflow's search attributes registered. Its config and log are in the
// run's directory.
func (e *env) startFullServer(ctx context.Context) (err error) {
	e.logf("starting the full Temporal server (%s), history and visibility in PostgreSQL", e.cfg.ServerBin)
	e.full, err = fullserver.Start(ctx, fullserver.Options{
		ServerBin: e.cfg.ServerBin, SQLToolBin: e.cfg.SQLToolBin, PostgresURL: e.cfg.PostgresURL,
		DynamicConfigFile: filepath.Join(e.cfg.Root, "deploy", "temporal", "dynamicconfig", "development-sql.yaml"),
		Dir:               filepath.Join(e.tmp, "temporal-server"),
		SearchAttributes:  workflows.SearchAttributeTypes,
		KeepDatabases:     e.cfg.KeepDB,
		Logf:              e.logf,
	})
	if err != nil {
		return fmt.Errorf("start the full Temporal server: %w", err)
	}
	e.hostPort = e.full.FrontendHostPort()
	return e.dial()
}

// dial opens the run's two clients to its server.
func (e *env) dial() (err error) {
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if e.plain, err = client.Dial(client.Options{HostPort: e.hostPort, Logger: logger}); err != nil {
		return err
	}
	kr, err := codec.ParseKeyring(testkeys.Spec)
	if err != nil {
		return err
	}
	copts := client.Options{HostPort: e.hostPort, Logger: logger}
	codec.Apply(&copts, kr)
	e.c, err = client.Dial(copts)
	return err
}

// startPayer runs the payer simulator (approving every request) for the
// coordination of planned services.
func (e *env) startPayer(ctx context.Context) error {
	r, w := io.Pipe()
	_, err := e.startProc(ctx, "payer-sim", filepath.Join(e.cfg.BinDir, "caseflow"),
		[]string{"payer-sim", "--addr", "127.0.0.1:0", "--output", "json"}, e.environ(""), w)
	if err != nil {
		return err
	}
	got := make(chan string, 1)
	go func() {
		var v struct {
			URL string `json:"url"`
		}
		if json.NewDecoder(r).Decode(&v) == nil {
			got <- v.URL
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case e.payerURL = <-got:
		e.logf("payer simulator at %s", e.payerURL)
		return nil
	case <-time.After(15 * time.Second):
		return errors.New("the payer simulator did not report its address within 15 s")
	}
}

// environ is what the caseflow binaries and the baseline worker see.
func (e *env) environ(queue string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + e.tmp,
		"TEMPORAL_ADDRESS=" + e.hostPort, "TEMPORAL_NAMESPACE=default",
		"DATABASE_URL=" + e.dsn, "CASEFLOW_CODEC_KEYS=" + testkeys.Spec,
		"CASEFLOW_ACTOR=" + Actor, "CASEFLOW_PAYER_URL=" + e.payerURL,
	}
	if v := os.Getenv("CASEFLOW_PPROF_ADDR"); v != "" && queue != "" {
		env = append(env, "CASEFLOW_PPROF_ADDR="+v)
	}
	if queue != "" {
		env = append(env, "CASEFLOW_TASK_QUEUE="+queue)
	}
	return env
}

// cli runs bin/caseflow and returns its combined output.
func (e *env) cli(ctx context.Context, queue string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(e.cfg.BinDir, "caseflow"), args...)
	cmd.Env = e.environ(queue)
	cmd.Dir = e.cfg.Root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) close() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	if e.c != nil {
		e.c.Close()
	}
	if e.plain != nil {
		e.plain.Close()
	}
	if e.server != nil {
		_ = e.server.Stop()
	}
	if e.full != nil {
		if err := e.full.Stop(true); err != nil {
			e.logf("stopping the full Temporal server: %v", err)
		}
	}
	if e.store != nil {
		e.store.Close()
	}
	if e.dsn != "" && !e.cfg.KeepDB {
		if admin, err := sql.Open("postgres", e.adminURL); err == nil {
			if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + e.dbName + ` WITH (FORCE)`); err != nil {
				e.logf("could not drop database %s: %v", e.dbName, err)
			}
			admin.Close()
		}
	}
	if e.tmp != "" && !e.cfg.KeepDB {
		os.RemoveAll(e.tmp)
	} else if e.tmp != "" {
		e.logf("kept database %s and directory %s", e.dbName, e.tmp)
	}
}

// proc is a process the benchmark started: a worker, the payer simulator.
type proc struct {
	name   string
	cmd    *exec.Cmd
	errLog string
	done   chan struct{}
	err    error
}

func (e *env) startProc(_ context.Context, name, bin string, args, environ []string, stdout io.Writer) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	cmd.Dir = e.cfg.Root
	p := &proc{name: name, cmd: cmd, errLog: filepath.Join(e.tmp, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.errLog)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = f
	cmd.Stdout = f
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		if c, ok := stdout.(io.Closer); ok {
			c.Close()
		}
		close(p.done)
	}()
	e.procs = append(e.procs, p)
	return p, nil
}

// stop ends the process with SIGTERM (SIGKILL after 30 s).
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// rssBytes is the process's resident memory (VmRSS) from /proc.
func (p *proc) rssBytes() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the memory of %s (Linux /proc only): %w", p.name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %s", p.name)
}

// cpuTicks is the process's user+system CPU time in clock ticks.
func (p *proc) cpuTicks() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// liveHeapMB is the live heap after the process's last garbage collection,
// from its GODEBUG=gctrace=1 lines ("gc N @...: ..., A->B->C MB, ...").
func (p *proc) liveHeapMB() float64 {
	b, err := os.ReadFile(p.errLog)
	if err != nil {
		return 0
	}
	var live float64
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("gc ")) {
			continue
		}
		for _, part := range strings.Split(string(line), ",") {
			part = strings.TrimSpace(part)
			if strings.HasSuffix(part, " MB") && strings.Count(part, "->") == 2 {
				f := strings.Split(strings.TrimSuffix(part, " MB"), "->")
				live, _ = strconv.ParseFloat(f[2], 64)
			}
		}
	}
	return live
}

// waitIdle waits until the process has used no more than a little CPU for
// a second, or until timeout.
func (p *proc) waitIdle(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	last, quiet := p.cpuTicks(), 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		now := p.cpuTicks()
		if now-last <= 2 {
			quiet++
		} else {
			quiet = 0
		}
		last = now
		if quiet >= 2 {
			return
		}
	}
}

// startWorker starts a caseflow-worker process (the real binary) on queue
// and waits until it polls. Its stderr carries GODEBUG=gctrace=1 lines.
func (e *env) startWorker(ctx context.Context, queue string) (*proc, error) {
	env := append(e.environ(queue), "GODEBUG=gctrace=1")
	p, err := e.startProc(ctx, "caseflow-worker-"+queue, filepath.Join(e.cfg.BinDir, "caseflow-worker"), nil, env, nil)
	if err != nil {
		return nil, err
	}
	return p, e.waitPollers(ctx, p, queue)
}

// startBaseline starts this benchmark's binary as the baseline worker on
// queue; fires receives the activity reports of its timer workflows.
func (e *env) startBaseline(ctx context.Context, queue string, fires *fireLog) (*proc, error) {
	r, w := io.Pipe()
	env := append(e.environ(""), "GODEBUG=gctrace=1")
	p, err := e.startProc(ctx, "baseline-worker-"+queue, e.cfg.BenchBin, []string{"baseline-worker", "-task-queue", queue}, env, w)
	if err != nil {
		return nil, err
	}
	go fires.read(r)
	return p, e.waitPollers(ctx, p, queue)
}

func (e *env) waitPollers(ctx context.Context, p *proc, queue string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := e.plain.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.GetPollers()) > 0 {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s exited: %v; see %s", p.name, p.err, p.errLog)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not poll %s after 30 s; see %s", p.name, queue, p.errLog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// backlog is the approximate number of workflow tasks waiting on queue's
// normal (not sticky) partition.
func (e *env) backlog(ctx context.Context, queue string) int64 {
	resp, err := e.plain.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     "default",
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
		ReportStats:   true,
	})
	if err != nil {
		return -1
	}
	return resp.GetStats().GetApproximateBacklogCount()
}

// waitBacklog waits until queue has no workflow task waiting.
func (e *env) waitBacklog(ctx context.Context, queue string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for e.backlog(ctx, queue) != 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("task queue %s still has a backlog after %s", queue, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return nil
}

// parallel runs fn(i) for i in [0, n) on conc goroutines and returns the
// first error. progress, when set, is called with the number done.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(conc, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// waitCount polls query (a count) until it reaches want, logging progress
// every 10 s.
func (e *env) waitCount(ctx context.Context, what string, want int, timeout time.Duration, query string, args ...any) error {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		var n int
		if err := e.db.GetContext(ctx, &n, query, args...); err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d of %d after %s", what, n, want, timeout)
		}
		if time.Since(lastLog) >= 10*time.Second {
			e.logf("  %s: %d of %d", what, n, want)
			lastLog = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
