// Package fullserver runs the full Temporal server, the production engine of
// docker-compose.yml (bin/temporal-server, built by "make tools" at
// TEMPORAL_SERVER_VERSION), on PostgreSQL persistence and visibility, for the
// end-to-end tests and "make bench-cluster".
//
// Start creates two databases of its own on the given PostgreSQL server,
// sets up their schemas with bin/temporal-sql-tool (the schema embedded in
// the tool, the same files as the server's schema/postgresql/v12), writes
// the server's config (a free port for every service, all on 127.0.0.1) with
// the compose file's dynamic config, starts the server, waits until it is
// healthy and registers a namespace and its search attributes, as the
// compose file's one-shot jobs do. Stop ends the server and drops the
// databases. The server's log is a file in the server's directory, which
// Stop keeps when asked to (for a failed test).
package fullserver

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
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver, to drop the databases
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/caseflow/caseflow/internal/testdb"
)

// Options say which binaries to run, on which PostgreSQL, and what to
// register. Zero values take the defaults given with each field.
type Options struct {
	// ServerBin is the Temporal server binary; default: DefaultBins.
	ServerBin string
	// SQLToolBin is temporal-sql-tool of the same version; default:
	// DefaultBins.
	SQLToolBin string
	// PostgresURL is a connection URL of the PostgreSQL server the two
	// databases are created on (its database part is ignored); default:
	// CASEFLOW_TEST_POSTGRES, else postgres://postgres@127.0.0.1:5432.
	PostgresURL string
	// DynamicConfigFile is the server's dynamic config; default none. The
	// tests and benchmarks pass deploy/temporal/dynamicconfig's, the one
	// docker-compose.yml mounts.
	DynamicConfigFile string
	// Dir receives the config and the server's log; default a new
	// temporary directory, removed by Stop unless kept.
	Dir string
	// Namespace is registered on the server; default "default".
	Namespace string
	// Retention of the namespace; default 72h (docker-compose.yml's).
	Retention time.Duration
	// SearchAttributes are registered on the namespace, as Name=Type pairs
	// the Temporal CLI understands (workflows.SearchAttributeTypes).
	SearchAttributes []string
	// HistoryShards is the number of history shards; default 4, the
	// compose file's (temporalio/server's NUM_HISTORY_SHARDS default).
	HistoryShards int
	// LogLevel of the server's log file; default "warn".
	LogLevel string
	// KeepDatabases leaves the databases in place on Stop (to look at
	// them after a benchmark run with -keep).
	KeepDatabases bool
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// DefaultHistoryShards is the compose file's number of history shards
// (temporalio/server's NUM_HISTORY_SHARDS default). It is fixed when the
// databases are set up.
const DefaultHistoryShards = 4

// DefaultBins are the binaries "make tools" builds under root/bin, unless
// CASEFLOW_TEMPORAL_SERVER_BIN and CASEFLOW_TEMPORAL_SQL_TOOL_BIN name others
// (the Makefile exports both).
func DefaultBins(root string) (server, sqlTool string) {
	server = os.Getenv("CASEFLOW_TEMPORAL_SERVER_BIN")
	if server == "" {
		server = filepath.Join(root, "bin", "temporal-server")
	}
	sqlTool = os.Getenv("CASEFLOW_TEMPORAL_SQL_TOOL_BIN")
	if sqlTool == "" {
		sqlTool = filepath.Join(root, "bin", "temporal-sql-tool")
	}
	return server, sqlTool
}

// Server is a running full Temporal server.
type Server struct {
	opts     Options
	dir      string
	ownDir   bool
	logPath  string
	addr     string
	adminURL string
	pg       pgConn
	dbs      []string // created, dropped by Stop
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
}

// FrontendHostPort is the frontend's gRPC address, on 127.0.0.1.
func (s *Server) FrontendHostPort() string { return s.addr }

// LogFile is the server's log (stdout and stderr).
func (s *Server) LogFile() string { return s.logPath }

// Dir holds the server's config and log.
func (s *Server) Dir() string { return s.dir }

// Databases are the persistence and visibility databases, in that order.
func (s *Server) Databases() []string { return append([]string(nil), s.dbs...) }

// pgConn is what the sql tool and the server's config need of the
// PostgreSQL URL.
type pgConn struct {
	host, port, user, password string
}

// Start sets up the databases, starts the server and registers the
// namespace. On an error nothing is left running and the databases are
// dropped; the directory (with the logs) is kept and named in the error.
func Start(ctx context.Context, o Options) (s *Server, err error) {
	if o.ServerBin == "" || o.SQLToolBin == "" {
		srv, tool := DefaultBins(".")
		o.ServerBin = orDefault(o.ServerBin, srv)
		o.SQLToolBin = orDefault(o.SQLToolBin, tool)
	}
	for _, bin := range []string{o.ServerBin, o.SQLToolBin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("no Temporal server binary at %s: run \"make tools\" (it builds bin/temporal-server and bin/temporal-sql-tool; nothing is downloaded at run time)", bin)
		}
	}
	o.PostgresURL = orDefault(o.PostgresURL, testdb.ServerURL())
	o.Namespace = orDefault(o.Namespace, "default")
	o.LogLevel = orDefault(o.LogLevel, "warn")
	if o.Retention <= 0 {
		o.Retention = 72 * time.Hour
	}
	if o.HistoryShards <= 0 {
		o.HistoryShards = DefaultHistoryShards
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	attrs, err := parseAttributes(o.SearchAttributes)
	if err != nil {
		return nil, err
	}
	if o.DynamicConfigFile != "" {
		if o.DynamicConfigFile, err = filepath.Abs(o.DynamicConfigFile); err != nil {
			return nil, err
		}
		if _, err := os.Stat(o.DynamicConfigFile); err != nil {
			return nil, fmt.Errorf("dynamic config: %w", err)
		}
	}
	s = &Server{opts: o, done: make(chan struct{})}
	if s.pg, s.adminURL, err = parsePostgres(o.PostgresURL); err != nil {
		return nil, err
	}
	s.dir = o.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "caseflow-temporal-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	s.logPath = filepath.Join(s.dir, "temporal-server.log")
	defer func() {
		if err != nil {
			_ = s.Stop(true)
			err = fmt.Errorf("%w\n(server log and config kept in %s)", err, s.dir)
			s = nil
		}
	}()

	started := time.Now()
	if err := s.setupDatabases(ctx); err != nil {
		return s, err
	}
	o.Logf("Temporal databases %s ready on %s:%s in %s", strings.Join(s.dbs, ", "), s.pg.host, s.pg.port, time.Since(started).Round(time.Millisecond))
	for attempt := 1; ; attempt++ {
		err = s.start(ctx)
		if err == nil {
			break
		}
		// Another process took one of the ports between the check and the
		// server's bind: pick new ones.
		if attempt < 3 && ctx.Err() == nil && strings.Contains(s.logTail(), "address already in use") {
			o.Logf("a port was taken meanwhile; starting the server again on other ports")
			continue
		}
		return s, err
	}
	if err := s.register(ctx, attrs); err != nil {
		return s, err
	}
	o.Logf("full Temporal server at %s (namespace %s) up in %s; log %s", s.addr, o.Namespace, time.Since(started).Round(time.Millisecond), s.logPath)
	return s, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseAttributes(pairs []string) (map[string]enumspb.IndexedValueType, error) {
	m := map[string]enumspb.IndexedValueType{}
	for _, p := range pairs {
		name, typ, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("search attribute %q: want Name=Type, e.g. CasePhase=Keyword", p)
		}
		v, err := enumspb.IndexedValueTypeFromString(typ)
		if err != nil || v == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return nil, fmt.Errorf("search attribute %q: unknown type %q (Keyword, Text, Int, Double, Bool, Datetime, KeywordList)", p, typ)
		}
		m[name] = v
	}
	return m, nil
}

func parsePostgres(raw string) (pgConn, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return pgConn{}, "", fmt.Errorf("PostgreSQL URL %q: want postgres://user[:password]@host:port/db", raw)
	}
	if m := u.Query().Get("sslmode"); m != "" && m != "disable" {
		return pgConn{}, "", fmt.Errorf("PostgreSQL URL: sslmode=%s is not supported for the test server (use a local server with sslmode=disable)", m)
	}
	c := pgConn{host: u.Hostname(), port: u.Port(), user: u.User.Username()}
	c.password, _ = u.User.Password()
	if c.port == "" {
		c.port = "5432"
	}
	if c.user == "" {
		c.user = "postgres"
	}
	admin := *u
	admin.Path = "/postgres"
	q := admin.Query()
	q.Set("sslmode", "disable")
	admin.RawQuery = q.Encode()
	return c, admin.String(), nil
}

// setupDatabases creates the persistence and visibility databases and their
// schemas as deploy/temporal/setup-postgres.sh does: create-database,
// setup-schema -v 0.0 (the version table), update-schema to the newest
// version. The schemas are the ones embedded in temporal-sql-tool, the
// server's own schema/postgresql/v12 files at the same version.
func (s *Server) setupDatabases(ctx context.Context) error {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	base := "temporal_test_" + hex.EncodeToString(b)
	logFile, err := os.Create(filepath.Join(s.dir, "temporal-sql-tool.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	for _, d := range []struct{ db, schema string }{
		{base, "postgresql/v12/temporal"},
		{base + "_visibility", "postgresql/v12/visibility"},
	} {
		s.dbs = append(s.dbs, d.db) // before creating it: Stop drops whatever exists
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", d.schema},
		} {
			if err := s.sqlTool(ctx, logFile, d.db, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) sqlTool(ctx context.Context, log io.Writer, db string, args ...string) error {
	full := append([]string{"--plugin", "postgres12", "--endpoint", s.pg.host, "--port", s.pg.port,
		"--user", s.pg.user, "--database", db}, args...)
	cmd := exec.CommandContext(ctx, s.opts.SQLToolBin, full...)
	// The password through the environment, never the command line.
	cmd.Env = append(os.Environ(), "SQL_PASSWORD="+s.pg.password)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("temporal-sql-tool %s on database %s: %v\n%s", strings.Join(args, " "), db, err, lastLines(out.String(), 10))
	}
	return nil
}

// service ports in the config: gRPC and membership of every service, and
// the frontend's HTTP API.
type ports struct {
	frontend, frontendMembership, frontendHTTP int
	history, historyMembership                 int
	matching, matchingMembership               int
	worker, workerMembership                   int
}

// freePorts finds n free TCP ports on 127.0.0.1 in [10000, 32767]: on
// PostgreSQL the membership ports are stored as smallint, so the kernel's
// ephemeral ports (32768 and up) cannot be used. The listeners are held
// until all are found so that no port is picked twice.
func freePorts(n int) ([]int, error) {
	const lo, hi = 10000, 32767
	var got []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(got) < n; tries++ {
		if tries > 2000 {
			return nil, errors.New("no free TCP ports in 10000-32767 on 127.0.0.1")
		}
		r, _ := rand.Int(rand.Reader, big.NewInt(hi-lo+1))
		p := lo + int(r.Int64())
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		got = append(got, p)
	}
	return got, nil
}

// config is the server's config/development.yaml, written as JSON (which
// is YAML), after config/docker.yaml of the same version, the template
// temporalio/server renders in docker-compose.yml: the same pool sizes,
// shards and services.
func (s *Server) config(p ports) map[string]any {
	store := func(db string, conns int) map[string]any {
		return map[string]any{"sql": map[string]any{
			"pluginName":      "postgres12",
			"databaseName":    db,
			"connectAddr":     net.JoinHostPort(s.pg.host, s.pg.port),
			"connectProtocol": "tcp",
			"user":            s.pg.user,
			"password":        s.pg.password,
			"maxConns":        conns,
			"maxIdleConns":    conns,
			"maxConnLifetime": "1h",
		}}
	}
	rpc := func(grpc, membership, http int) map[string]any {
		r := map[string]any{"grpcPort": grpc, "membershipPort": membership, "bindOnLocalHost": true}
		if http != 0 {
			r["httpPort"] = http
		}
		return map[string]any{"rpc": r}
	}
	cfg := map[string]any{
		"log": map[string]any{"stdout": true, "level": s.opts.LogLevel},
		"persistence": map[string]any{
			"defaultStore":     "postgres-default",
			"visibilityStore":  "postgres-visibility",
			"numHistoryShards": s.opts.HistoryShards,
			"datastores": map[string]any{
				"postgres-default":    store(s.dbs[0], 20),
				"postgres-visibility": store(s.dbs[1], 10),
			},
		},
		"global": map[string]any{
			"membership": map[string]any{"maxJoinDuration": "30s", "broadcastAddress": "127.0.0.1"},
		},
		"services": map[string]any{
			"frontend": rpc(p.frontend, p.frontendMembership, p.frontendHTTP),
			"history":  rpc(p.history, p.historyMembership, 0),
			"matching": rpc(p.matching, p.matchingMembership, 0),
			"worker":   rpc(p.worker, p.workerMembership, 0),
		},
		"clusterMetadata": map[string]any{
			"enableGlobalNamespace":    false,
			"failoverVersionIncrement": 10,
			"masterClusterName":        "active",
			"currentClusterName":       "active",
			"clusterInformation": map[string]any{"active": map[string]any{
				"enabled":                true,
				"initialFailoverVersion": 1,
				"rpcName":                "frontend",
				"rpcAddress":             fmt.Sprintf("127.0.0.1:%d", p.frontend),
				"httpAddress":            fmt.Sprintf("127.0.0.1:%d", p.frontendHTTP),
			}},
		},
		"dcRedirectionPolicy": map[string]any{"policy": "noop"},
	}
	if s.opts.DynamicConfigFile != "" {
		cfg["dynamicConfigClient"] = map[string]any{"filepath": s.opts.DynamicConfigFile, "pollInterval": "60s"}
	}
	return cfg
}

// start writes the config on fresh ports, starts the server and waits until
// its frontend answers the health check.
func (s *Server) start(ctx context.Context) error {
	pp, err := freePorts(9)
	if err != nil {
		return err
	}
	p := ports{frontend: pp[0], frontendMembership: pp[1], frontendHTTP: pp[2], history: pp[3], historyMembership: pp[4],
		matching: pp[5], matchingMembership: pp[6], worker: pp[7], workerMembership: pp[8]}
	b, err := json.MarshalIndent(s.config(p), "", "  ")
	if err != nil {
		return err
	}
	confDir := filepath.Join(s.dir, "config")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(confDir, "development.yaml"), b, 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", p.frontend)
	cmd := exec.Command(s.opts.ServerBin, "--root", s.dir, "--config", "config", "--env", "development", "--allow-no-auth", "start")
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", s.opts.ServerBin, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(done)
	}(s.done)
	s.opts.Logf("starting the full Temporal server %s (pid %d), frontend %s", s.opts.ServerBin, cmd.Process.Pid, s.addr)
	return s.waitHealthy(ctx, 90*time.Second)
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if s.exited() {
			return fmt.Errorf("the Temporal server exited during startup (%v):\n%s", s.waitErr, s.logTail())
		}
		c, err := s.dial(ctx)
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("the Temporal server at %s is not healthy after %s: %v\n%s", s.addr, timeout, last, s.logTail())
		}
		select {
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) dial(ctx context.Context) (client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return client.DialContext(dctx, client.Options{HostPort: s.addr, Namespace: s.opts.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
}

// register creates the namespace and its search attributes, as
// deploy/temporal/setup-namespace.sh does, and waits until visibility
// queries can name them.
func (s *Server) register(ctx context.Context, attrs map[string]enumspb.IndexedValueType) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        s.opts.Namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(s.opts.Retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", s.opts.Namespace, err)
	}
	if len(attrs) == 0 {
		return nil
	}
	// The frontend may not know the new namespace for up to one namespace
	// cache refresh (system.namespaceCacheRefreshInterval, 2 s): retry.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: s.opts.Namespace, SearchAttributes: attrs,
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("add search attributes to %s: %w", s.opts.Namespace, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// On SQL visibility the attributes are aliases kept in the namespace
	// record; every service reads it through its namespace cache. Wait until
	// the frontend accepts a query naming all of them, then one more refresh
	// interval for history and matching, whose caches refresh on their own.
	query := probeQuery(attrs)
	for {
		_, err = c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: s.opts.Namespace, Query: query,
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the search attributes of %s are not queryable after 30 s (%s): %w", s.opts.Namespace, query, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2500 * time.Millisecond):
	}
	return nil
}

// probeQuery names every attribute, with a literal of its type.
func probeQuery(attrs map[string]enumspb.IndexedValueType) string {
	var parts []string
	for name, typ := range attrs {
		switch typ {
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			parts = append(parts, name+" = false")
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			parts = append(parts, name+" > '2000-01-01T00:00:00Z'")
		case enumspb.INDEXED_VALUE_TYPE_INT, enumspb.INDEXED_VALUE_TYPE_DOUBLE:
			parts = append(parts, name+" = 0")
		default:
			parts = append(parts, name+" = 'probe'")
		}
	}
	return strings.Join(parts, " AND ")
}

// kill ends the server at once (a failed start).
func (s *Server) kill() {
	if s.cmd != nil && !s.exited() {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Stop ends the server (SIGTERM; SIGKILL after 10 s, as its databases go
// anyway), drops its databases and removes its directory unless keepDir (or
// unless the caller gave it).
func (s *Server) Stop(keepDir bool) error {
	var errs []error
	if s.cmd != nil && !s.exited() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.opts.Logf("the Temporal server did not stop within 10 s of SIGTERM; killing it")
			s.kill()
		}
	}
	if len(s.dbs) > 0 && s.opts.KeepDatabases {
		s.opts.Logf("kept the Temporal databases %s", strings.Join(s.dbs, ", "))
		s.dbs = nil
	}
	if len(s.dbs) > 0 {
		admin, err := sql.Open("postgres", s.adminURL)
		if err != nil {
			errs = append(errs, err)
		} else {
			for _, db := range s.dbs {
				if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + db + ` WITH (FORCE)`); err != nil {
					errs = append(errs, fmt.Errorf("drop database %s: %w", db, err))
				}
			}
			admin.Close()
		}
		s.dbs = nil
	}
	if s.ownDir && !keepDir {
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return lastLines(string(b), 20)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
