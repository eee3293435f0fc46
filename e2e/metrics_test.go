package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// startMetricsWorker replaces the env's worker with one serving metrics on
// a free loopback port and returns its base URL once /healthz answers.
func (e *env) startMetricsWorker() string {
	e.t.Helper()
	// The env's worker, stopped once it is up (a SIGTERM before it handles
	// signals would not be a clean stop).
	e.waitFor("the env's worker", 20*time.Second, func() bool { return strings.Contains(e.workerLog.String(), "caseflow-worker started") })
	e.stopWorker()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(e.t))
	cmd := exec.Command(filepath.Join(binDir, "caseflow-worker"), "--metrics-addr", addr)
	cmd.Env = e.environ()
	e.workerLog = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = e.workerLog, e.workerLog
	require.NoError(e.t, cmd.Start())
	e.worker = cmd
	base := "http://" + addr
	e.waitFor("the worker's /healthz", 20*time.Second, func() bool {
		code, _ := get(base + "/healthz")
		return code == http.StatusOK
	})
	return base
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "the exposition parses")
	return fams
}

// counter sums the family's counters whose labels include want.
func counter(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	sum := 0.0
metrics:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue metrics
			}
		}
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func TestWorkerServesMetricsAndHealth(t *testing.T) {
	e := newEnv(t)
	base := e.startMetricsWorker()

	code, body := get(base + "/readyz")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "postgres: ok")
	require.Contains(t, body, "temporal: ok")

	before := scrape(t, base)
	require.Contains(t, before, "go_goroutines")
	program := map[string]string{"program": "complex-case"}
	opened := counter(before, "caseflow_cases_opened_total", program)

	// A case opened, then screened not eligible: opened, a staff action, closed.
	id := e.openRiver()
	r := e.cli("case", "plan", id, "--file", "demo/river/plan.json")
	require.Equal(t, 4, r.code, "a plan is refused in screening: %s", r.stderr)
	e.ok("case", "screen", id, "--not-eligible", "--reason", "already enrolled with another agency")
	var after map[string]*dto.MetricFamily
	e.waitFor("the case's counters", 20*time.Second, func() bool {
		after = scrape(t, base)
		return counter(after, "caseflow_cases_closed_total", program) >= 1
	})
	require.Equal(t, opened+1, counter(after, "caseflow_cases_opened_total", program))
	require.Equal(t, 1.0, counter(after, "caseflow_staff_actions_total", map[string]string{"program": "complex-case", "action": "screen"}))
	require.GreaterOrEqual(t, counter(after, "caseflow_steps_recorded_total", program), 2.0)

	// The Temporal SDK's own metrics, through its Prometheus handler
	// (reported every second).
	e.waitFor("the SDK's metrics", 10*time.Second, func() bool {
		after = scrape(t, base)
		return counter(after, "temporal_workflow_completed_total", nil) >= 1 &&
			counter(after, "temporal_workflow_task_queue_poll_succeed_total", nil) >= 1 &&
			counter(after, "caseflow_staff_actions_refused_total", map[string]string{"action": "plan", "kind": "not_allowed"}) >= 1
	})

	var names []string
	for name := range after {
		names = append(names, name)
	}
	sort.Strings(names)
	t.Logf("metric families: %s", strings.Join(names, " "))

	// Labels never carry a case or patient id.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				require.False(t, strings.HasPrefix(v, "c-") || strings.HasPrefix(v, "p-") || strings.Contains(v, id),
					"%s{%s=%q} carries an id", name, l.GetName(), v)
			}
		}
	}

	code, body = get(base + "/healthz")
	require.Equal(t, http.StatusOK, code, body)
}
