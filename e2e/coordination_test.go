package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/workflows"
)

// gateway is a reminder gateway (webhook) that counts deliveries by
// idempotency key. onFirst, if set, runs inside the first delivery before it
// is answered.
type gateway struct {
	mu        sync.Mutex
	byKey     map[string]int
	firstSeen map[string]time.Time
	onFirst   func()
	srv       *httptest.Server
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{byKey: map[string]int{}, firstSeen: map[string]time.Time{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		first := len(g.byKey) == 0
		key := r.Header.Get("Idempotency-Key")
		if _, seen := g.firstSeen[key]; !seen {
			g.firstSeen[key] = time.Now()
		}
		g.byKey[key]++
		hook := g.onFirst
		g.mu.Unlock()
		if first && hook != nil {
			hook()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) deliveries() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, v := range g.byKey {
		out[k] = v
	}
	return out
}

// loadSlots loads providers whose slots start `in` from now, every 5
// minutes, for the River plan's services.
func (e *env) loadSlots(in time.Duration) {
	e.t.Helper()
	start := time.Now().Add(in).UTC().Truncate(time.Second)
	slot := func() []map[string]any {
		return []map[string]any{{"starts_at": start, "every": "5m", "count": 6, "duration": "4m"}}
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

// planDemoCase opens a demo-program case (seconds-scale clocks, reminders 2
// and 1 minutes before) and approves River's plan.
func (e *env) planDemoCase(ref string) string {
	e.t.Helper()
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", ref, "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	return id
}

func (e *env) service(id, serviceID string) care.ServiceState {
	e.t.Helper()
	var st workflows.Status
	e.okJSON(&st, "case", "show", id)
	for _, s := range st.Services {
		if s.ID == serviceID {
			return s
		}
	}
	return care.ServiceState{} // coordination has not started yet

}

// TestCoordinationAgainstThePayerSimulator runs River's plan through the
// payer simulator over HTTP (physiotherapy approved, neuropsychology pended
// then approved, occupational therapy denied), real slot booking in
// PostgreSQL and reminders through a webhook gateway, with staff recording
// attendance.
func TestCoordinationAgainstThePayerSimulator(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	e := newEnvWith(t, g.srv.URL)
	e.loadSlots(200 * time.Second)
	id := e.planDemoCase("MRN-COORD-1")

	e.waitFor("physiotherapy and financial counselling booked", 60*time.Second, func() bool {
		return e.service(id, "pt").Status == care.ServiceBooked && e.service(id, "fin").Status == care.ServiceBooked
	})
	pt := e.service(id, "pt")
	require.Equal(t, care.AuthorizationApproved, pt.Authorization.Status)
	require.True(t, pt.Authorization.Expedited, "acute care: expedited request")
	require.NotEmpty(t, pt.Authorization.Number)
	require.Nil(t, e.service(id, "fin").Authorization, "financial counselling needs no authorization")
	e.waitFor("occupational therapy denied", 30*time.Second, func() bool {
		return e.service(id, "ot").Status == care.ServiceAuthorizationDenied
	})
	require.Contains(t, e.service(id, "ot").Authorization.Reason, "home-safety assessment")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'coordination' AND description LIKE '%denied%'`, id),
		"the denial is a work item for staff")
	e.waitFor("neuropsychology pended, then approved and booked", 90*time.Second, func() bool {
		return e.service(id, "np").Status == care.ServiceBooked
	})
	require.Equal(t, care.AuthorizationApproved, e.service(id, "np").Authorization.Status)
	history := e.ok("case", "history", id)
	require.Contains(t, history, "np: authorization pended")
	require.Contains(t, history, "ot: authorization denied")

	// Reminders 2 minutes and 1 minute before each appointment, one each.
	e.waitFor("every reminder sent or skipped", 150*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id)
			WHERE a.case_id = $1 AND r.status = 'pending'`, id) == 0
	})
	sent := e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id) WHERE a.case_id = $1 AND r.status = 'sent'`, id)
	require.GreaterOrEqual(t, sent, 4, "both reminders of the appointments booked at once; a late booking skips a reminder already past")
	require.Equal(t, 6, e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id) WHERE a.case_id = $1`, id),
		"one outbox row per appointment and offset")
	for key, n := range g.deliveries() {
		require.Equal(t, 1, n, "reminder %s delivered once", key)
	}
	require.Len(t, g.deliveries(), sent)

	// Attendance: physiotherapy attended, financial counselling a no-show (rebooked).
	ptAppt, finAppt := e.service(id, "pt").Appointment.ID, e.service(id, "fin").Appointment.ID
	// Attendance can be recorded once an appointment has started.
	ptStarts, finStarts := e.service(id, "pt").Appointment.StartsAt, e.service(id, "fin").Appointment.StartsAt
	if time.Now().Before(ptStarts.Add(-5 * time.Second)) {
		r := e.cli("case", "appointment", id, ptAppt, "--attended")
		require.Equal(t, 4, r.code, "an appointment that has not started: not allowed: %s", r.stderr)
	}
	time.Sleep(time.Until(maxStart(ptStarts, finStarts)) + time.Second)
	e.ok("case", "appointment", id, ptAppt, "--attended")
	e.ok("case", "appointment", id, finAppt, "--no-show")
	r := e.cli("case", "appointment", id, finAppt, "--attended")
	require.Equal(t, 3, r.code, "an appointment already recorded is no longer a booked one: not found: %s", r.stderr)
	require.Contains(t, r.stderr, "is not a booked appointment of this case")
	e.waitFor("financial counselling rebooked", 30*time.Second, func() bool {
		a := e.service(id, "fin").Appointment
		return a != nil && a.Attempt == 2 && a.Status == care.AppointmentBooked
	})
	require.Equal(t, 1, e.service(id, "pt").Attended)
	show := e.ok("case", "show", id)
	require.Regexp(t, `pt physiotherapy\s+\S+\s+approved`, show)
	require.Regexp(t, `ot occupational-therapy\s+authorization-denied\s+denied: not medically necessary`, show)

	// No slot was ever booked twice, and each (service, occurrence, attempt) once.
	require.Equal(t, 0, e.count(`SELECT count(*) FROM (SELECT slot_id FROM appointments WHERE status <> 'cancelled'
		GROUP BY slot_id HAVING count(*) > 1) d`))
	e.ok("case", "close", id, "--reason", "transferred")
	e.waitFor("the open appointments cancelled with the case", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM appointments WHERE case_id = $1 AND status = 'booked'`, id) == 0
	})
	recordHistory(t, "coordination-attrs", rawHistory(t, care.WorkflowID(id)))
	// The services' own histories: approved, denied, pended then approved,
	// and no authorization needed with a no-show rebooked.
	for _, svc := range []string{"pt", "ot", "np", "fin"} {
		recordHistory(t, "coordination-service-"+svc, rawHistory(t, workflows.ServiceWorkflowID(id, svc, 1)))
	}
}

// TestAKilledWorkerDoublesNothing kills the worker (SIGKILL) right after a
// plan is approved, while the bookings run, and again in the middle of
// sending a reminder (the gateway has it, the worker has not marked it
// sent). After restarts every booking and reminder exists once, and the
// reminders that were in flight were re-sent, if at all, under the same
// idempotency key, for the gateway to deduplicate.
func TestAKilledWorkerDoublesNothing(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	e := newEnvWith(t, g.srv.URL)
	e.loadSlots(200 * time.Second)
	killed := make(chan struct{})
	var killedAt time.Time
	g.onFirst = func() {
		_ = e.worker.Process.Signal(syscall.SIGKILL)
		killedAt = time.Now()
		close(killed)
	}
	id := e.planDemoCase("MRN-KILL-1")
	e.kill() // while the plan's services are being authorized and booked
	e.startWorker()
	select {
	case <-killed: // in the middle of the first reminder
	case <-time.After(150 * time.Second):
		t.Fatal("no reminder was sent")
	}
	_ = e.worker.Wait()
	e.worker = nil
	e.startWorker()
	e.waitFor("bookings", 90*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM appointments WHERE case_id = $1`, id) >= 3
	})
	e.waitFor("no reminder left pending", 150*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id)
			WHERE a.case_id = $1 AND r.status = 'pending'`, id) == 0
	})
	require.Equal(t, 0, e.count(`SELECT count(*) FROM (SELECT case_id, service_id, occurrence, attempt FROM appointments
		GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d`), "no booking doubled")
	require.Equal(t, 3, e.count(`SELECT count(*) FROM appointments WHERE case_id = $1`, id), "one appointment per authorized service")
	require.Equal(t, 6, e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id) WHERE a.case_id = $1`, id),
		"one outbox row per appointment and offset")
	sent := e.count(`SELECT count(*) FROM reminders r JOIN appointments a USING (appointment_id)
		WHERE a.case_id = $1 AND r.status = 'sent'`, id)
	require.GreaterOrEqual(t, sent, 4, "a reminder whose time passed before its appointment was booked is skipped, never sent late")
	d := g.deliveries()
	require.Len(t, d, sent, "every sent reminder reached the gateway under its own key")
	g.mu.Lock()
	defer g.mu.Unlock()
	for key, n := range d {
		require.LessOrEqual(t, n, 2, key)
		if n == 2 {
			// Reminders due at the same instant are sent concurrently, so
			// more than one may have been in flight when the worker died.
			require.False(t, g.firstSeen[key].After(killedAt.Add(time.Second)),
				"only a reminder in flight when the worker died may arrive twice (%s first came %s after the kill)", key, g.firstSeen[key].Sub(killedAt))
		}
	}
	e.ok("case", "close", id, "--reason", "transferred")
}

func maxStart(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// kill stops the worker with SIGKILL: no graceful shutdown.
func (e *env) kill() {
	e.t.Helper()
	require.NoError(e.t, e.worker.Process.Signal(syscall.SIGKILL))
	_ = e.worker.Wait()
	e.worker = nil
}
