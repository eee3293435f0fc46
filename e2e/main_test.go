// Package e2e runs caseflow as its users do: the real Temporal dev server
// (started from bin/temporal, never downloaded), the real local PostgreSQL,
// the caseflow-worker binary and the caseflow CLI binary.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/workflows"
)

var (
	root      string // repository root
	binDir    string // built caseflow binaries
	server    *testsuite.DevServer
	plainConn client.Client // a client WITHOUT the codec: sees what Temporal stores
	codecConn client.Client // a client with caseflow's codec
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	wd, _ := os.Getwd()
	root = filepath.Dir(wd)
	temporalBin := os.Getenv("CASEFLOW_TEMPORAL_BIN")
	if temporalBin == "" {
		temporalBin = filepath.Join(root, "bin", "temporal")
	}
	if _, err := os.Stat(temporalBin); err != nil {
		return 0, fmt.Errorf("no Temporal CLI at %s: run \"make tools\" (the tests never download it)", temporalBin)
	}
	tmp, err := os.MkdirTemp("", "caseflow-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	binDir = tmp
	build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/...")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build binaries: %v\n%s", err, out)
	}

	attrs := temporal.NewSearchAttributes(
		workflows.AttrPhase.ValueSet(""), workflows.AttrRisk.ValueSet(""), workflows.AttrProgram.ValueSet(""),
		workflows.AttrManager.ValueSet(""), workflows.AttrNextDue.ValueSet(time.Time{}), workflows.AttrPaused.ValueSet(false),
	)
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	server, err = testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     temporalBin,
		ClientOptions:    &client.Options{Namespace: "default", Logger: logger},
		SearchAttributes: attrs,
		LogLevel:         "error",
		Stdout:           io.Discard,
		Stderr:           io.Discard,
	})
	if err != nil {
		return 0, fmt.Errorf("start dev server: %w", err)
	}
	defer server.Stop()
	plainConn, err = client.Dial(client.Options{HostPort: server.FrontendHostPort(), Logger: logger})
	if err != nil {
		return 0, err
	}
	defer plainConn.Close()
	kr, err := codec.ParseKeyring(testkeys.Spec)
	if err != nil {
		return 0, err
	}
	opts := client.Options{HostPort: server.FrontendHostPort(), Logger: logger}
	codec.Apply(&opts, kr)
	codecConn, err = client.Dial(opts)
	if err != nil {
		return 0, err
	}
	defer codecConn.Close()
	return m.Run(), nil
}

// env is one test's caseflow: its own database, task queue, payer simulator
// and worker, set up as "make run" sets up the demo.
type env struct {
	t         *testing.T
	dsn       string
	taskQueue string
	db        *sqlx.DB
	worker    *exec.Cmd
	workerLog *bytes.Buffer
	payerURL  string
	// webhookURL, when set, is the reminder gateway (else reminders are logged).
	webhookURL string
	// temporalAddr is the Temporal frontend the binaries use: the shared dev
	// server unless the test starts its own.
	temporalAddr string
	// polling is set while waitFor evaluates its condition: a command that
	// got no answer in time (exit status 5) is then "not yet", not a failure.
	polling bool
}

// notYet is what ok panics with while polling when a command got no
// answer in time; waitFor recovers it and polls again.
type notYet struct{ r result }

// exitUnavailable is caseflow's exit status for a dependency that did not
// answer in time (cli's exitUnavailable, "caseflow --help").
const exitUnavailable = 5

// envOptions change what newEnvOpts sets up.
type envOptions struct {
	// webhookURL is the reminder gateway (else reminders are logged).
	webhookURL string
	// temporalAddr is a Temporal frontend of the test's own.
	temporalAddr string
	// payer wraps the payer simulator's handler (e.g. to take it down).
	payer func(http.Handler) http.Handler
}

func newEnv(t *testing.T) *env { return newEnvWith(t, "") }

// testStaff are the staff ids the tests act as, manage cases as, or name as
// policy supervisors; newEnv registers them, as "make run" does.
var testStaff = []string{"cm-ana", "cm-ben", "cm-bo", "cm-cy", "cm-di", "sup-care-team"}

// newEnvWith is newEnv with reminders going to a webhook gateway.
func newEnvWith(t *testing.T, webhookURL string) *env {
	t.Helper()
	return newEnvOpts(t, envOptions{webhookURL: webhookURL})
}

// newEnvOpts is newEnv set up as o says.
func newEnvOpts(t *testing.T, o envOptions) *env {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &env{t: t, dsn: testdb.New(t), taskQueue: "caseflow-test-" + hex.EncodeToString(b), webhookURL: o.webhookURL,
		temporalAddr: o.temporalAddr}
	if e.temporalAddr == "" {
		e.temporalAddr = server.FrontendHostPort()
	}
	db, err := sqlx.Open("postgres", e.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.payerURL = startPayerSimulator(t, o.payer)
	e.ok(append([]string{"staff", "add"}, testStaff...)...)
	e.ok("policy", "load", "policies/")
	e.startWorker()
	return e
}

// startPayerSimulator serves caseflow's payer simulator with the demo
// configuration (demo/payer.json) on loopback.
func startPayerSimulator(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "demo", "payer.json"))
	require.NoError(t, err)
	cfg, err := payer.ParseSimConfig(raw)
	require.NoError(t, err)
	sim, err := payer.NewSimulator(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// environ is what the binaries see: the standard Temporal and database
// variables, the test key, and this test's task queue.
func (e *env) environ(extra ...string) []string {
	base := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"TEMPORAL_ADDRESS=" + e.temporalAddr, "TEMPORAL_NAMESPACE=default",
		"DATABASE_URL=" + e.dsn, "CASEFLOW_CODEC_KEYS=" + testkeys.Spec,
		"CASEFLOW_TASK_QUEUE=" + e.taskQueue, "CASEFLOW_ACTOR=cm-ana", "CASEFLOW_PAYER_URL=" + e.payerURL,
	}
	if e.webhookURL != "" {
		base = append(base, "CASEFLOW_NOTIFY_WEBHOOK_URL="+e.webhookURL)
	}
	return append(base, extra...)
}

func (e *env) startWorker() {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "caseflow-worker"))
	cmd.Env = e.environ()
	e.workerLog = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = e.workerLog, e.workerLog
	require.NoError(e.t, cmd.Start())
	e.worker = cmd
	e.t.Cleanup(e.stopWorker)
}

func (e *env) stopWorker() {
	if e.worker == nil {
		return
	}
	_ = e.worker.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- e.worker.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Errorf("worker did not stop cleanly: %v\n%s", err, e.workerLog)
		}
	case <-time.After(30 * time.Second):
		_ = e.worker.Process.Kill()
		e.t.Errorf("worker did not stop within 30s of SIGTERM")
	}
	e.worker = nil
}

// result of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs bin/caseflow with args in the repository root.
func (e *env) cli(args ...string) result {
	return e.cliEnv(nil, args...)
}

func (e *env) cliEnv(extraEnv []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "caseflow"), args...)
	cmd.Dir = root
	cmd.Env = e.environ(extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run caseflow %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// reads are the commands that only read a case: asked again when they get
// no answer in time (exit status 5), as an operator would. On a loaded
// machine a case's workflow task can take longer than the CLI's 30 s (a
// local activity waiting for the CPU), and a query waits for it; what the
// tests check is what the case records, not how fast it answers.
var reads = map[string]bool{"case show": true, "case list": true, "case history": true, "worklist": true}

// readAttempts is how many times a read is asked before its failure counts.
const readAttempts = 3

// ok runs the CLI and requires success.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.cli(args...)
	if len(args) > 0 && !e.polling && (reads[args[0]] || len(args) > 1 && reads[args[0]+" "+args[1]]) {
		for attempt := 2; r.code == exitUnavailable && attempt <= readAttempts; attempt++ {
			e.t.Logf("caseflow %s: no answer in time (attempt %d of %d); asking again: %s", strings.Join(args, " "), attempt-1, readAttempts, strings.TrimSpace(r.stderr))
			r = e.cli(args...)
		}
	}
	if e.polling && r.code == exitUnavailable {
		e.t.Logf("caseflow %s: no answer in time while polling; polling again: %s", strings.Join(args, " "), strings.TrimSpace(r.stderr))
		panic(notYet{r})
	}
	require.Equal(e.t, 0, r.code, "caseflow %s\nstdout: %s\nstderr: %s\nworker: %s", strings.Join(args, " "), r.stdout, r.stderr, e.workerLog)
	return r.stdout
}

// okJSON runs the CLI with --output json and decodes stdout into v; stdout
// must be JSON and nothing else.
func (e *env) okJSON(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "--output", "json")...)
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(e.t, dec.Decode(v), "stdout is not JSON: %q", out)
	require.False(e.t, dec.More(), "stdout has more than one JSON value: %q", out)
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.db.Get(&n, query, args...))
	return n
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func fmtSscanf(s string, n *int) (int, error) { return fmt.Sscanf(s, "%d", n) }
