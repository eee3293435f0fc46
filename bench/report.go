package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caseflow/caseflow/internal/fullserver"
)

// Machine describes where a run ran.
type Machine struct {
	CPUs       int    `json:"cpus"`
	Memory     string `json:"memory"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	DevServer  string `json:"dev_server"`
	PostgreSQL string `json:"postgresql"`
	Commit     string `json:"commit"`
	// Load is /proc/loadavg at the start and at the end of the run: other
	// work on the machine shows here.
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func (m Machine) oneLine() string {
	return fmt.Sprintf("%d CPUs (%s), %s memory, Linux %s, %s; Temporal: %s; %s", m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Go, m.DevServer, m.PostgreSQL)
}

func (e *env) machine(ctx context.Context) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				f := strings.Fields(v)
				if n, err := strconv.ParseFloat(f[0], 64); err == nil {
					m.Memory = fmt.Sprintf("%.1f GiB", n/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	serverBin := e.cfg.TemporalBin
	if e.cfg.Server == ServerFull {
		serverBin = e.cfg.ServerBin
	}
	if out, err := exec.CommandContext(ctx, serverBin, "--version").Output(); err == nil {
		m.DevServer = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "temporal version "))
	}
	var v string
	if err := e.db.GetContext(ctx, &v, `SHOW server_version`); err == nil {
		m.PostgreSQL = "PostgreSQL " + strings.Fields(v)[0]
	}
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = e.cfg.Root
	if out, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// persistenceText says where the server kept its history.
func (r *Report) persistenceText() string {
	if r.Server == ServerFull {
		return "PostgreSQL (persistence and visibility, two databases of the run's own), as docker-compose.yml"
	}
	if r.Persistence == "memory" {
		return "in memory (-persistence memory), not a file as make run"
	}
	if len(r.SQLitePragmas) == 0 {
		return "a SQLite file (--db-filename) with SQLite's default settings, as make run"
	}
	return fmt.Sprintf("a SQLite file (--db-filename) as make run, with --sqlite-pragma %s (make run: SQLite's defaults)", strings.Join(r.SQLitePragmas, ", "))
}

// WriteText prints the results table for a terminal.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\ncaseflow benchmark: %s, %s\n", r.Started.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "machine: %s\n", r.Machine.oneLine())
	fmt.Fprintf(w, "%s history: %s\n", r.serverName(), r.persistenceText())
	fmt.Fprintf(w, "load average: %s at the start, %s at the end\n\n", r.Machine.LoadStart, r.Machine.LoadEnd)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tscenario\tresult\tgoal")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.ID, scenarioNames[ScenarioOf(row.ID)], row.Result, row.Goal)
	}
	tw.Flush()
	for _, row := range r.Rows {
		fmt.Fprintf(w, "\n%s  %s\n", row.ID, row.Scenario)
		fmt.Fprintf(w, "    caseflow: %s\n", strings.ReplaceAll(row.Caseflow, "<br>", "\n              "))
		if row.Baseline != "" && row.Baseline != "-" {
			fmt.Fprintf(w, "    baseline: %s\n", row.Baseline)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
}

// Markdown is the results block of docs/BENCHMARKS.md.
func (r *Report) Markdown() string {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "Run of %s (commit `%s`), %s in all, with:\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"), m.Commit, r.Elapsed.Round(time.Second))
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", r.Command)
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPUs (nproc) | %d |\n| CPU | %s |\n| memory | %s |\n| kernel | Linux %s |\n| Go | %s |\n", m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Go)
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "| %s | %s; history in %s |\n| PostgreSQL | %s, local, a database of the run's own |\n\n", r.serverName(), r.serverBinText(), r.persistenceText(), m.PostgreSQL)
	fmt.Fprintf(&b, "| # | scenario | caseflow | baseline (same server) | goal | result |\n|---|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.ID, esc(row.Scenario), esc(row.Caseflow), esc(row.Baseline), esc(row.Goal), boldMissed(row.Result))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func boldMissed(s string) string {
	if strings.HasPrefix(s, ResultMissed) || strings.HasPrefix(s, ResultError) {
		return "**" + s + "**"
	}
	return s
}

// Doc markers: WriteDoc replaces what lies between them. A run on the dev
// server writes the main results; a run on the full server (make
// bench-cluster) its own section, so that the doc shows both.
const (
	DocBegin = "<!-- bench:results:begin (written by make bench; edit outside these markers) -->"
	DocEnd   = "<!-- bench:results:end -->"

	ClusterDocBegin = "<!-- bench:cluster:begin (written by make bench-cluster; edit outside these markers) -->"
	ClusterDocEnd   = "<!-- bench:cluster:end -->"
)

// serverName is the row of the machine table that names the server.
func (r *Report) serverName() string {
	if r.Server == ServerFull {
		return "Temporal server"
	}
	return "Temporal dev server"
}

func (r *Report) serverBinText() string {
	if r.Server == ServerFull {
		return "`bin/temporal-server` " + r.Machine.DevServer + " (docker-compose.yml's version), single process, " + strconv.Itoa(fullserver.DefaultHistoryShards) + " history shards, deploy/temporal/dynamicconfig"
	}
	return "`bin/temporal` " + r.Machine.DevServer
}

// WriteDoc puts the results block into the file at path between DocBegin and
// DocEnd (ClusterDocBegin and ClusterDocEnd for a run on the full server),
// keeping the rest; a file without the markers gets them appended.
func (r *Report) WriteDoc(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	begin, end := DocBegin, DocEnd
	if r.Server == ServerFull {
		begin, end = ClusterDocBegin, ClusterDocEnd
	}
	block := begin + "\n" + r.Markdown() + end
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i >= 0 && j > i {
		s = s[:i] + block + s[j+len(end):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += "\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
