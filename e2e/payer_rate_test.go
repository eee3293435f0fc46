package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/workflows"
)

// payerLog records when each request reached the payer simulator.
type payerLog struct {
	mu sync.Mutex
	at []time.Time
}

func (l *payerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.at = append(l.at, time.Now())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *payerLog) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]time.Time(nil), l.at...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// busiestSecond is the most requests in any window of one second.
func busiestSecond(at []time.Time) (int, time.Time) {
	most, from := 0, time.Time{}
	for i := range at {
		n := sort.Search(len(at), func(j int) bool { return !at[j].Before(at[i].Add(time.Second)) }) - i
		if n > most {
			most, from = n, at[i]
		}
	}
	return most, from
}

// startExtraWorker starts one more caseflow-worker on the test's task queue
// with extra environment, stopped (SIGTERM) when the test ends.
func (e *env) startExtraWorker(extra ...string) {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "caseflow-worker"))
	cmd.Env = e.environ(extra...)
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(e.t, cmd.Start())
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("worker did not stop cleanly: %v\n%s", err, log)
			} else if e.t.Failed() {
				e.t.Logf("extra worker (%s):\n%s", strings.Join(extra, " "), log)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			e.t.Errorf("worker did not stop within 30s of SIGTERM\n%s", log)
		}
	})
}

// startOnePartitionServer starts a dev server of the test's own whose task
// queues have one partition each, as deploy/temporal/dynamicconfig gives the
// payer's queue: the server splits a queue's rate among its partitions, each
// with a burst of its own, so with the default four a rate of 1/s lets four
// requests through at once after a quiet spell.
func startOnePartitionServer(t *testing.T) (addr string, c client.Client) {
	t.Helper()
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  temporalBinary(),
		ClientOptions: &client.Options{Namespace: "default", Logger: logger},
		SearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPhase.ValueSet(""), workflows.AttrRisk.ValueSet(""), workflows.AttrProgram.ValueSet(""),
			workflows.AttrManager.ValueSet(""), workflows.AttrNextDue.ValueSet(time.Time{}), workflows.AttrPaused.ValueSet(false),
		),
		LogLevel: "error",
		Stdout:   io.Discard,
		Stderr:   io.Discard,
		ExtraArgs: []string{
			"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
			"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	c, err = client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Logger: logger})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return srv.FrontendHostPort(), c
}

// historyJSON is a workflow's history as Temporal stores it, as rawHistory
// reads it, from c.
func historyJSON(t *testing.T, c client.Client, workflowID string) (string, []*historypb.HistoryEvent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	var parts []string
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		b, err := protojson.Marshal(ev)
		require.NoError(t, err)
		events = append(events, ev)
		parts = append(parts, string(b))
	}
	return `{"events":[` + strings.Join(parts, ",") + "]}", events
}

// TestThePayerNeverSeesMoreThanItsRate runs the payer's activities of four
// cases (three services each needing an authorization, one pended and
// inquired about) through two workers, each with CASEFLOW_PAYER_RATE=0.5:
// the Temporal server limits the payer's task queue as a whole, so the
// simulator never sees two requests within a second, although the twelve
// submissions are all due at once. (A token bucket of rate r and burst
// ceil(r) lets up to about 2r through in one second; half the insurer's
// per-second quota holds it in every second, docs/operations.md.)
func TestThePayerNeverSeesMoreThanItsRate(t *testing.T) {
	t.Parallel()
	const rate, perSecond = 0.5, 1
	addr, c := startOnePartitionServer(t)
	log := &payerLog{}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &env{t: t, dsn: testdb.New(t), taskQueue: "caseflow-test-" + hex.EncodeToString(b), temporalAddr: addr}
	db, err := sqlx.Open("postgres", e.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.payerURL = startPayerSimulator(t, log.wrap)
	e.ok(append([]string{"staff", "add"}, testStaff...)...)
	e.ok("policy", "load", "policies/")
	// Two workers, as two hosts would run them: the limit is the queue's.
	e.startExtraWorker(fmt.Sprintf("CASEFLOW_PAYER_RATE=%g", rate))
	e.startExtraWorker(fmt.Sprintf("CASEFLOW_PAYER_RATE=%g", rate))
	e.loadSlots(10 * time.Minute)

	ids := make([]string, 4)
	for i := range ids {
		ids[i] = e.planDemoCase(fmt.Sprintf("MRN-RATE-%d", i+1))
	}
	e.waitFor("every case's physiotherapy booked, occupational therapy denied and neuropsychology booked", 240*time.Second, func() bool {
		for _, id := range ids {
			if e.service(id, "pt").Status != care.ServiceBooked || e.service(id, "ot").Status != care.ServiceAuthorizationDenied ||
				e.service(id, "np").Status != care.ServiceBooked {
				return false
			}
		}
		return true
	})
	at := log.times()
	// 12 submissions and at least one inquiry per pended request.
	require.GreaterOrEqual(t, len(at), 16)
	most, from := busiestSecond(at)
	var offsets []string
	for _, a := range at {
		offsets = append(offsets, a.Sub(at[0]).Round(10*time.Millisecond).String())
	}
	t.Logf("%d payer requests at %v; busiest second: %d from %s", len(at), offsets, most, from.Sub(at[0]))
	require.LessOrEqual(t, most, perSecond, "payer requests in one second (rate %g/s over both workers)", rate)
	require.GreaterOrEqual(t, at[len(at)-1].Sub(at[0]), time.Duration(float64(len(at)-2)/rate*float64(time.Second)),
		"the requests are spread out at the rate")

	// The payer's activities ran on the payer's task queue (version 1 of the
	// payer-task-queue gate), the others on the case's.
	queues := map[string]string{}
	marker := false
	_, events := historyJSON(t, c, workflows.ServiceWorkflowID(ids[0], "np", 1))
	for _, ev := range events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			queues[a.GetActivityType().GetName()] = a.GetTaskQueue().GetName()
		}
		// The marker's details are encrypted; the SDK also upserts the
		// version as a search attribute, which is not.
		if u := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); u != nil &&
			strings.Contains(string(u.GetSearchAttributes().GetIndexedFields()["TemporalChangeVersion"].GetData()), `"payer-task-queue-1"`) {
			marker = true
		}
	}
	require.True(t, marker, "the payer-task-queue version is recorded")
	require.Equal(t, e.taskQueue+"-payer", queues["SubmitAuthorization"])
	require.Equal(t, e.taskQueue+"-payer", queues["InquireAuthorization"])
	require.Equal(t, e.taskQueue, queues["BookAppointment"], "booking stays on the case's queue")

	for _, id := range ids {
		e.ok("case", "close", id, "--reason", "transferred")
	}
	e.waitFor("the services cancelled with their cases", 30*time.Second, func() bool {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflows.ServiceWorkflowID(ids[0], "np", 1), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	// Submitted and inquired about on the payer's task queue, then cancelled.
	raw, _ := historyJSON(t, c, workflows.ServiceWorkflowID(ids[0], "np", 1))
	recordHistory(t, "payer-queue-service-np", raw)
}
