package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// ownServer is a Temporal dev server of one test, on its own SQLite file,
// that the test may kill and start again (the shared one of TestMain must
// stay up for the other tests).
type ownServer struct {
	t    *testing.T
	bin  string
	db   string
	addr string
	cmd  *exec.Cmd
	log  *os.File
	conn client.Client // without the codec
}

func startOwnServer(t *testing.T) *ownServer {
	t.Helper()
	bin := os.Getenv("CASEFLOW_TEMPORAL_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "temporal")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(t, err)
	s := &ownServer{t: t, bin: bin, db: filepath.Join(dir, "temporal.db"), addr: addr, log: logFile}
	s.start()
	t.Cleanup(func() {
		if s.conn != nil {
			s.conn.Close()
		}
		s.kill()
		logFile.Close()
	})
	return s
}

func (s *ownServer) start() {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	args := []string{"server", "start-dev", "--ip", host, "--port", port, "--headless", "--db-filename", s.db,
		"--log-level", "error", "--dynamic-config-value", "frontend.enableServerVersionCheck=false"}
	for _, a := range []string{"CasePhase=Keyword", "CaseRisk=Keyword", "CaseProgram=Keyword", "CaseManager=Keyword", "CaseNextDue=Datetime"} {
		args = append(args, "--search-attribute", a)
	}
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	require.NoError(s.t, s.cmd.Start())
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: s.addr, Logger: logger})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			cancel()
			if err == nil {
				if s.conn != nil {
					s.conn.Close()
				}
				s.conn = c
				return
			}
			c.Close()
		}
		require.True(s.t, time.Now().Before(deadline), "the test's own dev server did not come up: %v", err)
		time.Sleep(300 * time.Millisecond)
	}
}

// kill stops the dev server with SIGKILL.
func (s *ownServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// history is a workflow's history as the server stores it (encrypted).
func (s *ownServer) history(workflowID string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.conn.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var parts []string
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		b, err := protojson.Marshal(ev)
		require.NoError(s.t, err)
		parts = append(parts, string(b))
	}
	return `{"events":[` + strings.Join(parts, ",") + `]}`
}

// TestFaultSuite drives a batch of demo-program cases through authorization,
// booking, reminders, follow-up calls and a rebooking while it kills the
// worker with SIGKILL again and again, kills and restarts the dev server on
// its database file, terminates the worker's PostgreSQL connections and
// takes the payer down for a while; then it resets a running case. After
// that nothing is doubled, no workflow failed or is stuck, every reminder
// and call that fell due was sent once or recorded skipped with a reason,
// and the snapshot, the audit trail and the status query agree.
func TestFaultSuite(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CASEFLOW_FAULT_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("fault seed %d (CASEFLOW_FAULT_SEED reruns it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	kills := 10
	if v, err := strconv.Atoi(os.Getenv("CASEFLOW_FAULT_KILLS")); err == nil && v > kills {
		kills = v // make soak
	}
	cases := 4
	if v, err := strconv.Atoi(os.Getenv("CASEFLOW_FAULT_CASES")); err == nil && v > cases {
		cases = v
	}

	srv := startOwnServer(t)
	g := newGateway(t)
	var payerDown atomic.Bool
	e := newEnvOpts(t, envOptions{webhookURL: g.srv.URL, temporalAddr: srv.addr, payer: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if payerDown.Load() {
				panic(http.ErrAbortHandler) // no answer at all
			}
			h.ServeHTTP(w, r)
		})
	}})
	e.db.SetMaxIdleConns(0) // the test's own queries never meet a terminated connection
	e.loadSlotsEvery(100*time.Second, 10*time.Second, 3*cases)
	slotsEnd := time.Now().Add(100*time.Second + time.Duration(3*cases)*10*time.Second)
	ids := make([]string, cases)
	for i := range ids {
		ids[i] = e.planFaultCase(fmt.Sprintf("MRN-FAULT-%d", i))
	}

	// Faults, with staff answering calls and recording attendance between
	// them.
	d := &driver{e: e, attended: map[string]bool{}}
	for k := 1; k <= kills; k++ {
		upFor := time.Duration(6000+rng.IntN(8000)) * time.Millisecond
		d.act(ids, upFor)
		e.kill()
		time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
		switch k {
		case 2:
			payerDown.Store(true)
			t.Log("payer down")
		case 4:
			payerDown.Store(false)
			t.Log("payer up")
		case 5:
			t.Log("dev server killed")
			srv.kill()
			time.Sleep(2 * time.Second)
			srv.start()
			t.Log("dev server up again on its database file")
		}
		e.startWorker()
		if k == 7 {
			time.Sleep(2 * time.Second)
			var n int
			require.NoError(t, e.db.Get(&n, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`))
			t.Logf("terminated %d PostgreSQL connections of the worker", n)
		}
	}
	t.Logf("%d worker kills; staff actions: %d calls, %d attendances (%d status queries unanswered)", kills, d.calls, len(d.attended), d.unanswered)

	// A reset of a running case: the last recorded step runs again.
	reset := ids[0]
	e.waitFor("the case to record a step after the faults", 60*time.Second, func() bool { return e.resettable(srv, reset) > 0 })
	before := e.count(`SELECT count(*) FROM case_events WHERE case_id = $1`, reset)
	out, err := exec.Command(srv.bin, "workflow", "reset", "--address", srv.addr, "--workflow-id", care.WorkflowID(reset),
		"--event-id", strconv.FormatInt(e.resettable(srv, reset), 10), "--reason", "fault suite: re-run the last step").CombinedOutput()
	require.NoError(t, err, "temporal workflow reset: %s", out)
	e.waitFor("the reset recorded in the trail", 60*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND action = 'reset'`, reset) == 1
	})
	require.Greater(t, e.count(`SELECT count(*) FROM case_events WHERE case_id = $1`, reset), before+1, "the re-run step was appended, not dropped")

	// Settle: every reminder has fallen due and been dealt with, and staff
	// recorded the attendance of the first cases' appointments.
	for time.Now().Before(slotsEnd) {
		d.act(ids, 5*time.Second)
	}
	e.waitFor("no reminder pending", 150*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM reminders WHERE status = 'pending'`) == 0
	})
	e.waitFor("no workflow failing or stuck", 90*time.Second, func() bool { return len(stuck(t, srv)) == 0 })
	d.act(nil, 0)

	// Nothing doubled.
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM appointments GROUP BY case_id, service_id, occurrence, attempt HAVING count(*) > 1) d`), "bookings")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM appointments WHERE status <> 'cancelled' GROUP BY slot_id HAVING count(*) > 1) d`), "slots")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM reminders GROUP BY appointment_id, offset_minutes HAVING count(*) > 1) d`), "reminders")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM alerts WHERE kind IN ('call-due', 'automated-call', 'call-overdue', 'clock-missed', 'no-answer')
		GROUP BY case_id, task_id, kind HAVING count(*) > 1) d`), "alerts and automated calls")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM tasks WHERE kind = 'call' GROUP BY case_id, started_at HAVING count(*) > 1) d`), "calls")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM case_events GROUP BY case_id, run_id, seq, action HAVING count(*) > 1) d`), "audit rows")
	require.Zero(t, e.count(`SELECT count(*) FROM (SELECT 1 FROM case_events WHERE case_id <> $1 GROUP BY case_id, seq HAVING count(*) > 1) d`, reset),
		"audit rows of the cases not reset: one per seq")
	sentKeys, unknownKeys := map[string]bool{}, map[string]bool{}
	rows, err := e.db.Query(`SELECT reminder_id, status FROM reminders WHERE status IN ('sent', 'unknown')`)
	require.NoError(t, err)
	for rows.Next() {
		var id, status string
		require.NoError(t, rows.Scan(&id, &status))
		if status == "sent" {
			sentKeys[id] = true
		} else {
			unknownKeys[id] = true
		}
	}
	require.NoError(t, rows.Close())
	delivered := g.deliveries()
	for key := range delivered {
		// A sender killed between the gateway's answer and marking the row,
		// whose appointment was then cancelled, leaves it unknown.
		require.True(t, sentKeys[key] || unknownKeys[key], "the gateway got %s, which is not recorded sent (nor unknown)", key)
	}
	for key := range sentKeys {
		require.Positive(t, delivered[key], "%s is recorded sent and never reached the gateway", key)
	}

	// Everything that fell due was sent once or recorded skipped with why.
	require.Zero(t, e.count(`SELECT count(*) FROM reminders WHERE status IN ('skipped', 'cancelled', 'unknown') AND reason IS NULL`), "skipped without a reason")
	require.Zero(t, e.count(`SELECT count(*) FROM tasks t WHERE kind = 'call' AND started_at < now() - interval '30 seconds'
		AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.case_id = t.case_id AND a.task_id = t.task_id AND a.kind = 'call-due' AND a.delivered_at IS NOT NULL)`),
		"every call that fell due alerted its manager")
	require.Zero(t, e.count(`SELECT count(*) FROM alerts WHERE delivered_at IS NULL AND at < now() - interval '30 seconds'`), "undelivered alerts")
	require.Greater(t, len(sentKeys), 0, "reminders were sent")
	require.Greater(t, d.calls, 0, "staff answered calls")
	require.Greater(t, e.count(`SELECT count(*) FROM alerts WHERE kind = 'automated-call' AND delivered_at IS NOT NULL`), 0, "automated calls went out")
	require.Greater(t, e.count(`SELECT count(*) FROM appointments WHERE attempt > 1`), 0, "a no-show was rebooked")
	require.Greater(t, e.count(`SELECT count(*) FROM reminders WHERE status <> 'sent'`), 0, "and some were skipped or cancelled")

	// The snapshot, the trail and the status query agree.
	// (A step in flight, e.g. a call falling due, may separate them for a
	// moment: they must agree once it is recorded.)
	for _, id := range ids {
		var why string
		e.waitFor("case "+id+": snapshot, trail and status agree", 30*time.Second, func() bool {
			var st workflows.Status
			e.okJSON(&st, "case", "show", id)
			var snap struct {
				Phase string `db:"phase"`
				Seq   int    `db:"last_event_seq"`
			}
			require.NoError(t, e.db.Get(&snap, `SELECT phase, last_event_seq FROM cases WHERE case_id = $1`, id))
			shown := 0
			for _, sv := range st.Services {
				shown += sv.RemindersSent
			}
			sent := e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id) WHERE a.case_id = $1 AND r.status = 'sent'`, id)
			recorded := e.count(`SELECT count(DISTINCT summary) FROM case_events WHERE case_id = $1 AND action = 'service' AND summary LIKE '% reminder sent for %'`, id)
			why = fmt.Sprintf("phase %s/%s, seq %d/%d, reminders sent %d in the database, %d in case show, %d in the trail",
				st.Phase, snap.Phase, st.Seq, snap.Seq, sent, shown, recorded)
			agree := string(st.Phase) == snap.Phase && st.Seq == snap.Seq && sent == shown && sent == recorded
			if !agree {
				t.Logf("case %s: not yet: %s", id, why)
			}
			return agree
		})
		t.Logf("case %s: %s", id, why)
	}
	var events []care.Event
	e.okJSON(&events, "case", "history", reset)
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
	}
	require.Contains(t, actions, "reset", "the trail shows the reset")

	recordHistory(t, "fault-case-attrs", srv.history(care.WorkflowID(ids[1])))
	recordHistory(t, "fault-service-fin", srv.history(workflows.ServiceWorkflowID(ids[1], "fin", 1)))
	for _, id := range ids {
		d.retry("case", "close", id, "--reason", "goals-met")
	}
}

// planFaultCase opens a high-risk demo-program case (a follow-up call every
// minute, with an automated call) and approves River's plan.
func (e *env) planFaultCase(ref string) string {
	e.t.Helper()
	var res struct {
		CaseID string `json:"case_id"`
	}
	e.okJSON(&res, "case", "open", "--patient-ref", ref, "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--risk", "high", "--override-reason", "fault suite", "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	return id
}

// loadSlotsEvery loads providers for River's services whose n slots start
// `in` from now, one every `every`.
func (e *env) loadSlotsEvery(in, every time.Duration, n int) {
	e.t.Helper()
	start := time.Now().Add(in).UTC().Truncate(time.Second)
	slot := func() []map[string]any {
		return []map[string]any{{"starts_at": start, "every": every.String(), "count": n, "duration": (every * 4 / 5).String()}}
	}
	file := map[string]any{"providers": []map[string]any{
		{"id": "prv-physio", "name": "Physio", "services": []string{"physiotherapy"}, "slots": slot()},
		{"id": "prv-neuro", "name": "Neuro", "services": []string{"neuropsychology"}, "slots": slot()},
		{"id": "prv-ot", "name": "OT", "services": []string{"occupational-therapy"}, "slots": slot()},
		{"id": "prv-fin", "name": "Finance", "services": []string{"financial-counselling"}, "slots": slot()},
	}}
	b, err := json.Marshal(file)
	require.NoError(e.t, err)
	path := filepath.Join(e.t.TempDir(), "providers.json")
	require.NoError(e.t, os.WriteFile(path, b, 0o600))
	e.ok("providers", "load", path)
}

// resettable returns the id of the WorkflowTaskCompleted event before the
// case's last RecordStep (an activity, or a local activity under change
// record-step-local): a reset there runs that step again. Zero when
// the case has recorded nothing since it was coordinated.
func (e *env) resettable(srv *ownServer, caseID string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	it := srv.conn.GetWorkflowHistory(ctx, care.WorkflowID(caseID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var lastCompleted, candidate int64
	coordinated := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			lastCompleted = ev.GetEventId()
		case enums.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			coordinated, candidate = true, 0
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if coordinated && ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "RecordStep" {
				candidate = lastCompleted
			}
		case enums.EVENT_TYPE_MARKER_RECORDED:
			// Change record-step-local: RecordStep, the case's only local
			// activity, ran in the workflow task that just completed.
			if coordinated && ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				candidate = lastCompleted
			}
		}
	}
	return candidate
}

// stuck lists the running workflows of the server whose workflow task keeps
// failing or whose activity keeps failing, and every failed workflow.
func stuck(t *testing.T, srv *ownServer) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	failed, err := srv.conn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut'"})
	if err != nil {
		return []string{err.Error()}
	}
	for _, w := range failed.GetExecutions() {
		out = append(out, "failed: "+w.GetExecution().GetWorkflowId())
	}
	running, err := srv.conn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Running'", PageSize: 1000})
	if err != nil {
		return []string{err.Error()}
	}
	for _, w := range running.GetExecutions() {
		d, err := srv.conn.DescribeWorkflowExecution(ctx, w.GetExecution().GetWorkflowId(), "")
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		if wt := d.GetPendingWorkflowTask(); wt != nil && wt.GetAttempt() > 1 {
			out = append(out, fmt.Sprintf("%s: workflow task attempt %d", w.GetExecution().GetWorkflowId(), wt.GetAttempt()))
		}
		for _, a := range d.GetPendingActivities() {
			if a.GetAttempt() > 4 {
				out = append(out, fmt.Sprintf("%s: %s attempt %d", w.GetExecution().GetWorkflowId(), a.GetActivityType().GetName(), a.GetAttempt()))
			}
		}
	}
	if len(out) > 0 {
		t.Logf("not settled yet: %s", strings.Join(out, "; "))
	}
	return out
}

// driver acts as staff during the faults: it answers the calls that fell
// due and records attendance (attended, or a no-show that is rebooked).
// Its commands may meet a dead worker or server; it retries, and treats a
// refusal of a retried command as done.
type driver struct {
	e        *env
	calls    int
	attended map[string]bool
	// unanswered counts the status queries that failed (worker down).
	unanswered int
}

// act answers due calls and records attendance for up to d.
func (d *driver) act(ids []string, dur time.Duration) {
	end := time.Now().Add(dur)
	for i, id := range ids {
		var st workflows.Status
		r := d.e.cli("case", "show", id, "--output", "json", "--timeout", "5s")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
			d.unanswered++
			continue
		}
		for _, it := range st.OpenItems {
			if it.Kind == string(care.TaskCall) && time.Now().Before(end) {
				outcome := "reached"
				if d.calls%3 == 1 {
					outcome = "no-answer"
				}
				if r := d.e.cli("case", "call", id, it.TaskID, "--outcome", outcome, "--timeout", "10s"); r.code == 0 {
					d.calls++
				} else {
					d.e.t.Logf("case call %s %s: exit %d: %s", id, it.TaskID, r.code, strings.TrimSpace(r.stderr))
				}
			}
		}
		for _, sv := range st.Services {
			a := sv.Appointment
			if a == nil || a.Status != care.AppointmentBooked || d.attended[a.ID] || i > 1 || time.Until(a.StartsAt) > 30*time.Second {
				continue
			}
			flag := "--attended"
			if sv.ID == "fin" && a.Attempt == 1 {
				flag = "--no-show" // rebooked
			}
			if d.e.cli("case", "appointment", id, a.ID, flag, "--timeout", "10s").code == 0 {
				d.attended[a.ID] = true
			}
		}
	}
	if rest := time.Until(end); rest > 0 {
		time.Sleep(rest)
	}
}

// retry runs a staff command until it succeeds or is refused (exit 4: a
// retried command that already took effect).
func (d *driver) retry(args ...string) {
	d.e.t.Helper()
	var r result
	for range 20 {
		if r = d.e.cli(args...); r.code == 0 || r.code == 4 {
			return
		}
		time.Sleep(time.Second)
	}
	d.e.t.Fatalf("caseflow %s: %s", strings.Join(args, " "), r.stderr)
}
