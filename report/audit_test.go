package report_test

// Figures a review found wrong, each written the way the workflow's
// activities record it, with the review's own assertions.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/providers"
	"github.com/caseflow/caseflow/report"
)

func auditDB(t *testing.T) (*sqlx.DB, func(q string, args ...any)) {
	t.Helper()
	db := sqlx.MustOpen("postgres", testdb.New(t))
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.Exec(q, args...)
		require.NoError(t, err, q)
	}
	return db, exec
}

func auditCase(exec func(string, ...any), id, program string, closed bool) {
	exec(`INSERT INTO patients (patient_id, external_ref) VALUES ($1, $1)`, "p-"+id)
	var c any
	if closed {
		c = "2026-03-05T00:00:00Z"
	}
	exec(`INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, opened_at, closed_at)
		VALUES ($1, $2, $3, 'clinical', 'cm-ana', 'referral', 'follow-up', '2026-01-01T00:00:00Z', $4)`, id, "p-"+id, program, c)
}

// serviceEvent records a "service" event exactly as onServiceUpdate does:
// the detail is the care.ServiceState the ServiceWorkflow reported.
func serviceEvent(t *testing.T, exec func(string, ...any), caseID string, seq int, a care.AuthorizationState) {
	t.Helper()
	serviceStateEvent(t, exec, caseID, seq, care.ServiceState{Service: care.Service{ID: "pt", Code: "physiotherapy", Name: "PT"}, Status: "x", Authorization: &a})
}

func serviceStateEvent(t *testing.T, exec func(string, ...any), caseID string, seq int, st care.ServiceState) {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	exec(`INSERT INTO case_events (case_id, seq, at, actor, action, phase_before, phase_after, detail, run_id)
		VALUES ($1, $2, '2026-03-02T00:00:00Z', 'system', 'service', 'implementation', 'implementation', $3::jsonb, 'r1')`, caseID, seq, string(b))
}

// A request the payer refused: service.go sets Status rejected and never a
// RequestID (it is only set from the payer's decision).
func TestAuditRejectedNeverCounted(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "tc", false)
	sub := at("2026-03-02T10:00:00Z")
	serviceEvent(t, exec, "c1", 1, care.AuthorizationState{Status: care.AuthorizationRejected, SubmittedAt: sub, DeadlineAt: sub.Add(7 * 24 * time.Hour)})
	r := run(t, db, "authorizations", report.Filter{Now: now})
	v, _ := r.Table("requests").Value("rejected", "all", "all")
	t.Logf("rejected = %v, rows = %v", v, r.Table("requests").Rows)
	require.EqualValues(t, 1, v, "the payer refused one request")
}

// A refused request is reported again in later events of its service (the
// same state, e.g. when staff act on it): it is one request. A second
// submission of the service that is refused again is another one.
func TestAuditRejectedCountedOncePerSubmission(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "tc", false)
	sub := at("2026-03-02T10:00:00Z")
	first := care.AuthorizationState{Status: care.AuthorizationRejected, SubmittedAt: sub, DeadlineAt: sub.Add(7 * 24 * time.Hour)}
	serviceEvent(t, exec, "c1", 1, first)
	serviceEvent(t, exec, "c1", 2, first)
	again := first
	again.SubmittedAt, again.DeadlineAt = sub.Add(time.Hour), sub.Add(time.Hour+7*24*time.Hour)
	serviceEvent(t, exec, "c1", 3, again)
	// A request before the payer accepted it (pended, no request id yet) is
	// not a request.
	serviceEvent(t, exec, "c1", 4, care.AuthorizationState{Status: care.AuthorizationPended, SubmittedAt: sub.Add(2 * time.Hour), DeadlineAt: sub.Add(2*time.Hour + 7*24*time.Hour)})
	r := run(t, db, "authorizations", report.Filter{Now: now})
	expect(t, r, "requests", []string{"all", "all"}, map[string]any{"requests": int64(2), "rejected": int64(2), "pended": int64(0)})
	// The anchor of a refused request is when it was submitted.
	r = run(t, db, "authorizations", report.Filter{From: at("2026-03-03T00:00:00Z"), Now: now})
	expect(t, r, "requests", []string{"all", "all"}, map[string]any{"requests": int64(0), "rejected": int64(0)})
}

// An approval whose ClaimResponse had no "created" (payer/http.go leaves
// DecidedAt zero): it is in the in-time rate's denominator but can never be
// in its numerator.
func TestAuditDecidedWithoutDecidedAt(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "tc", false)
	sub := at("2026-03-02T10:00:00Z")
	serviceEvent(t, exec, "c1", 1, care.AuthorizationState{RequestID: "R1", Status: care.AuthorizationApproved, SubmittedAt: sub, DeadlineAt: sub.Add(7 * 24 * time.Hour)})
	r := run(t, db, "authorizations", report.Filter{Now: now})
	row := map[string]any{}
	for _, c := range []string{"requests", "approved", "decided", "decided_in_time", "decided_late", "in_time_pct"} {
		row[c], _ = r.Table("requests").Value(c, "all", "all")
	}
	t.Logf("%v", row)
	require.Nil(t, row["in_time_pct"], "no request known in time or late, so no rate")
}

// A request pended when the case closed: the ServiceWorkflow's
// "coordination cancelled" report is dropped by a closed case
// (onServiceUpdate), so the last event says pended.
func TestAuditPendedOfClosedCase(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "tc", true)
	sub := at("2026-03-02T10:00:00Z")
	serviceEvent(t, exec, "c1", 1, care.AuthorizationState{RequestID: "R1", Status: care.AuthorizationPended, SubmittedAt: sub, DeadlineAt: sub.Add(7 * 24 * time.Hour)})
	r := run(t, db, "authorizations", report.Filter{Now: now})
	v, _ := r.Table("requests").Value("pended_past_deadline", "all", "all")
	t.Logf("pended_past_deadline = %v", v)
	require.EqualValues(t, 0, v, "the case closed on 5 March, before the deadline of 9 March")
}

// Requests pended when a new plan replaced or removed their service, or
// when the service was cancelled: their coordination was stopped, and
// nobody waits for those decisions any more. A request of a service the new
// plan kept (unchanged or amended) is still pended.
func TestAuditPendedOfAServiceNoLongerPlanned(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "tc", false)
	sub := at("2026-03-02T10:00:00Z")
	pended := func(service, request string, version int) care.ServiceState {
		return care.ServiceState{Service: care.Service{ID: service, Code: service}, Status: care.ServiceAuthorizationPended, PlanVersion: version,
			Authorization: &care.AuthorizationState{RequestID: request, Status: care.AuthorizationPended, SubmittedAt: sub, DeadlineAt: sub.Add(7 * 24 * time.Hour)}}
	}
	for i, st := range []care.ServiceState{pended("pt", "R1", 1), pended("ot", "R2", 1), pended("np", "R3", 1), pended("dme", "R4", 1), pended("hh", "R5", 0)} {
		serviceStateEvent(t, exec, "c1", i+1, st)
	}
	// Plan v2: pt replaced (its new coordination has not reported yet), ot
	// removed, np amended, dme unchanged; hh (coordinated before plans were
	// versioned) was cancelled.
	for _, c := range [][2]string{{"pt", "replaced"}, {"ot", "removed"}, {"np", "amended"}, {"dme", "unchanged"}, {"hh", "replaced"}} {
		exec(`INSERT INTO plan_changes (case_id, plan_version, service_id, change) VALUES ('c1', 2, $1, $2)`, c[0], c[1])
	}
	for _, s := range [][2]string{{"pt", "pending-authorization"}, {"ot", "cancelled"}, {"np", "authorization-pended"}, {"dme", "authorization-pended"}, {"hh", "cancelled"}} {
		exec(`INSERT INTO case_services (case_id, service_id, code, status) VALUES ('c1', $1, $1, $2)`, s[0], s[1])
	}
	r := run(t, db, "authorizations", report.Filter{Now: now})
	expect(t, r, "requests", []string{"all", "all"}, map[string]any{"requests": int64(2), "pended": int64(2), "pended_past_deadline": int64(2)})

	// A plan replaced before plans were versioned: no plan change says so,
	// but the new coordination's request follows the pended one. A decided
	// request followed by another (an appeal of a denial) stays.
	serviceStateEvent(t, exec, "c1", 10, pended("ev", "R6", 0))
	serviceStateEvent(t, exec, "c1", 11, pended("ev", "R7", 0))
	denied := pended("ap", "R8", 1)
	denied.Authorization.Status, denied.Authorization.DecidedAt = care.AuthorizationDenied, sub.Add(time.Hour)
	serviceStateEvent(t, exec, "c1", 12, denied)
	appeal := pended("ap", "R9", 1)
	appeal.Authorization.Related = "R8"
	serviceStateEvent(t, exec, "c1", 13, appeal)
	r = run(t, db, "authorizations", report.Filter{Now: now})
	expect(t, r, "requests", []string{"all", "all"}, map[string]any{"requests": int64(5), "pended": int64(4), "denied": int64(1)})
	expect(t, r, "appeals", []string{"all"}, map[string]any{"appeals": int64(1), "pended": int64(1)})
}

// CCM months of a program east of UTC: --from/--to of February.
func TestAuditCCMEastOfUTC(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "eu", false)
	p := care.Policy{Program: "eu", Timezone: "Europe/Madrid"}
	monthClocks(t, exec, p, "2026-01-15T12:00:00Z", "2026-02-15T12:00:00Z", "2026-03-15T12:00:00Z")
	r := run(t, db, "ccm", report.Filter{From: at("2026-02-01T00:00:00Z"), To: at("2026-02-28T00:00:00Z"), Now: now})
	t.Logf("rows for --from 2026-02-01 --to 2026-02-28: %v", r.Tables[0].Rows)
	_, ok := r.Tables[0].Value("case_months", "eu", "2026-02")
	require.True(t, ok, "February's row")
	// Only February: January's and March's months are out of range.
	expect(t, r, "ccm", []string{"all", "all"}, map[string]any{"case_months": int64(1)})
}

// CCM months of a program west of UTC, filtered to one month.
func TestAuditCCMWestOfUTC(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "us", false)
	p := care.Policy{Program: "us", Timezone: "America/Los_Angeles"}
	monthClocks(t, exec, p, "2026-02-15T12:00:00Z", "2026-03-15T12:00:00Z")
	r := run(t, db, "ccm", report.Filter{From: at("2026-03-01T00:00:00Z"), To: at("2026-03-31T00:00:00Z"), Now: now})
	_, ok := r.Tables[0].Value("case_months", "us", "2026-03")
	require.True(t, ok, "March's row")
	expect(t, r, "ccm", []string{"all", "all"}, map[string]any{"case_months": int64(1)})
}

// The open month: no outcome known yet, but the rate is 0.0 (docs: rates
// are over the items whose outcome is known).
func TestAuditCCMOpenMonthRate(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "cc", false)
	exec(`INSERT INTO tasks (case_id, task_id, kind, description, owner, started_at, due_at, status, clock)
		VALUES ('c1', 'ccm-minutes-1', 'ccm-minutes', 'x', 'cm', '2026-03-01T05:00:00Z', '2026-04-01T03:59:59Z', 'open', true)`)
	r := run(t, db, "ccm", report.Filter{Now: now})
	v, _ := r.Tables[0].Value("reached_pct", "cc", "2026-03")
	t.Logf("reached_pct of an open month = %v", v)
	require.Nil(t, v)
}

// A contact recorded in the last second of a month (after End, the last
// whole second): in neither month's window.
func TestAuditCCMLastSecond(t *testing.T) {
	db, exec := auditDB(t)
	auditCase(exec, "c1", "cc", false)
	p := care.Policy{Program: "cc", Timezone: "America/New_York"}
	monthClocks(t, exec, p, "2026-02-15T12:00:00Z", "2026-03-15T12:00:00Z")
	exec(`INSERT INTO case_events (case_id, seq, at, actor, action, phase_before, phase_after, detail, run_id)
		VALUES ('c1', 1, '2026-03-01T04:59:59.600Z', 'cm', 'contact', 'follow-up', 'follow-up', '{"with":"client","minutes":25}', 'r1')`)
	r := run(t, db, "ccm", report.Filter{Now: now})
	v, _ := r.Tables[0].Value("minutes", "all", "all")
	t.Logf("minutes = %v", v)
	require.EqualValues(t, 25, v)
	// In February's month, not March's.
	expect(t, r, "ccm", []string{"cc", "2026-02"}, map[string]any{"minutes": int64(25)})
	expect(t, r, "ccm", []string{"cc", "2026-03"}, map[string]any{"minutes": int64(0)})
}

// monthClocks opens case c1's ccm-minutes clocks, ccm-minutes-1 on, of the
// months of program p that hold the days given, as openMonth does.
func monthClocks(t *testing.T, exec func(string, ...any), p care.Policy, days ...string) {
	t.Helper()
	for i, d := range days {
		m, err := activities.MonthOf(p, at(d))
		require.NoError(t, err)
		exec(`INSERT INTO tasks (case_id, task_id, kind, description, owner, started_at, due_at, status, clock)
			VALUES ('c1', $1, 'ccm-minutes', 'x', 'cm', $2, $3, 'open', true)`, fmt.Sprintf("ccm-minutes-%d", i+1), m.Start, m.End)
	}
}

// The store, as the workflow's activities write through it.

func auditStore(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testdb.New(t))
	require.NoError(t, err)
	// Registered after testdb's cleanup, so it runs before the database is dropped.
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// storeAt returns a fixed instant, minutes after a base.
func storeAt(minutes int) time.Time {
	return time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

func storeCase(t *testing.T, s *postgres.Store, ref string) (patientID, caseID string) {
	t.Helper()
	pid, err := s.UpsertPatient(context.Background(), ref, "", nil)
	require.NoError(t, err)
	return pid, care.CaseID(pid, "chf")
}

func storeSnapshot(caseID, patientID string, seq int, phase care.Phase) care.Snapshot {
	return care.Snapshot{CaseID: caseID, PatientID: patientID, Program: "chf", Model: care.ModelClinical, Manager: "cm-ana",
		Source: care.SourceReferral, Phase: phase, OpenedAt: storeAt(0), LastEventSeq: seq}
}

func storeEvent(caseID string, seq int, phase care.Phase, action, detail string) care.Event {
	ev := care.Event{CaseID: caseID, Seq: seq, At: storeAt(seq), Actor: "cm-ana", Action: action,
		PhaseBefore: phase, PhaseAfter: phase, Summary: action}
	if detail != "" {
		ev.Detail = json.RawMessage(detail)
	}
	return ev
}

// A second reset to a point before the first one: the first replaced run's
// steps between the two points stay live, beside the re-run ones.
func TestAuditSecondEarlierResetDoubleCounts(t *testing.T) {
	s := auditStore(t)
	ctx := context.Background()
	pid, cid := storeCase(t, s, "mrn-audit-2")
	step := func(run string, seq int, action, detail string, tasks []care.Task) {
		t.Helper()
		ev := storeEvent(cid, seq, care.PhaseFollowUp, action, detail)
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: storeSnapshot(cid, pid, seq, care.PhaseFollowUp), Tasks: tasks}, run))
	}
	month := []care.Task{{ID: "ccm-minutes-1", CaseID: cid, Kind: care.TaskCCMMinutes, Description: "20 minutes",
		Owner: "cm-ana", StartedAt: storeAt(-500), Due: storeAt(20000), Status: care.TaskOpen, Clock: true}}
	step("run-1", 1, "open", "", month)
	step("run-1", 2, "contact", `{"with": "client", "minutes": 10}`, nil)
	step("run-1", 3, "note", "", nil)
	step("run-2", 3, "note", "", nil)                                     // reset 1: run-2 re-runs 3
	step("run-3", 2, "contact", `{"with": "client", "minutes": 10}`, nil) // reset 2 (of run-2): run-3 re-runs 2
	var live int
	require.NoError(t, s.DB().Get(&live, `SELECT count(*) FROM case_events e WHERE case_id = $1 AND action = 'contact'
		AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id AND e.seq >= r.from_seq)`, cid))
	r, err := report.Run(ctx, s.DB(), "ccm", report.Filter{Now: storeAt(10000)})
	require.NoError(t, err)
	v, _ := r.Tables[0].Value("minutes", "all", "all")
	t.Logf("live contact events = %d, ccm minutes = %v", live, v)
	require.EqualValues(t, 10, v, "one contact of 10 minutes")
	require.Equal(t, 1, live)

	// The second reset's event names both runs it superseded from event 2.
	var detail string
	require.NoError(t, s.DB().Get(&detail, `SELECT detail::text FROM case_events WHERE case_id = $1 AND action = $2 AND run_id = 'run-3'`, cid, postgres.ActionReset))
	require.JSONEq(t, `{"run_id": "run-3", "from_seq": 2, "superseded_to_seq": 3, "superseded_runs": ["run-1", "run-2"]}`, detail)
	// A late step of run-1 is still superseded; run-3 goes on with no reset.
	step("run-1", 4, "contact", `{"with": "client", "minutes": 10}`, nil)
	step("run-3", 3, "note", "", nil)
	var resets int
	require.NoError(t, s.DB().Get(&resets, `SELECT count(*) FROM case_events WHERE case_id = $1 AND action = $2`, cid, postgres.ActionReset))
	require.Equal(t, 2, resets)
	r, err = report.Run(ctx, s.DB(), "ccm", report.Filter{Now: storeAt(10000)})
	require.NoError(t, err)
	v, _ = r.Tables[0].Value("minutes", "all", "all")
	require.EqualValues(t, 10, v)
}

// A reset to a point after an earlier reset's leaves the run the earlier
// one replaced as it was.
func TestAuditLaterResetKeepsEarlierFromSeq(t *testing.T) {
	s := auditStore(t)
	ctx := context.Background()
	pid, cid := storeCase(t, s, "mrn-audit-3")
	step := func(run string, seq int) {
		t.Helper()
		ev := storeEvent(cid, seq, care.PhaseFollowUp, "note", "")
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: storeSnapshot(cid, pid, seq, care.PhaseFollowUp)}, run))
	}
	for seq := 1; seq <= 4; seq++ {
		step("run-1", seq)
	}
	step("run-2", 2) // reset 1: run-1 from 2
	step("run-2", 3)
	step("run-2", 4)
	step("run-3", 4) // reset 2: run-2 from 4; run-1 stays from 2
	var got []string
	require.NoError(t, s.DB().Select(&got, `SELECT run_id || ':' || from_seq FROM superseded_runs WHERE case_id = $1 ORDER BY run_id`, cid))
	require.Equal(t, []string{"run-1:2", "run-2:4"}, got)
	var detail string
	require.NoError(t, s.DB().Get(&detail, `SELECT detail::text FROM case_events WHERE case_id = $1 AND action = $2 AND run_id = 'run-3'`, cid, postgres.ActionReset))
	require.JSONEq(t, `{"run_id": "run-3", "from_seq": 4, "superseded_to_seq": 4, "superseded_runs": ["run-2"]}`, detail)
}

// The first attempt never reported back (it may have sent it), the second
// failed and released, then the appointment was cancelled: unknown, and
// the report also counts it "failed" (not sent).
func TestAuditUnknownReminderCountedFailed(t *testing.T) {
	s := auditStore(t)
	ctx := context.Background()
	base := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	pid, err := s.UpsertPatient(ctx, "mrn-audit-rem", "", nil)
	require.NoError(t, err)
	cid := care.CaseID(pid, "coordination")
	_, err = s.DB().ExecContext(ctx, `INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, opened_at)
		VALUES ($1, $2, 'coordination', 'clinical', 'cm-ana', 'referral', 'implementation', $3)`, cid, pid, base.AddDate(0, 0, -7))
	require.NoError(t, err)
	var f providers.File
	require.NoError(t, json.Unmarshal([]byte(fmt.Sprintf(`{"providers": [{"id": "prv-rem", "name": "R", "services": ["physiotherapy"],
		"slots": [{"service": "physiotherapy", "starts_at": %q, "duration": "45m"}]}]}`, base.Add(5*time.Hour).Format(time.RFC3339))), &f))
	ps, slots, err := f.Expand(base)
	require.NoError(t, err)
	_, err = s.LoadProviders(ctx, ps, slots)
	require.NoError(t, err)
	ap, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", base.Add(5*time.Hour), base.AddDate(0, 0, 30))
	require.NoError(t, err)

	now := ap.StartsAt.Add(-3 * time.Hour)
	rs, err := s.ScheduleReminders(ctx, ap.ID, []time.Duration{2 * time.Hour}, "log", now)
	require.NoError(t, err)
	id := rs[0].ID
	for _, d := range []time.Duration{time.Hour, time.Hour + 2*time.Minute} {
		_, ok, err := s.ClaimReminder(ctx, id, now.Add(d), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, s.ReleaseReminder(ctx, id, "notify: HTTP 503", false))
	_, err = s.SetAppointmentStatus(ctx, ap.ID, care.AppointmentCancelled)
	require.NoError(t, err)
	r, err := s.Reminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, care.ReminderUnknown, r.Status)
	rep, err := report.Run(ctx, s.DB(), "appointments", report.Filter{Now: now})
	require.NoError(t, err)
	t.Logf("reminders row: %v %v", rep.Table("reminders").Columns, rep.Table("reminders").Rows)
	failed, _ := rep.Table("reminders").Value("failed", "all")
	require.EqualValues(t, 0, failed, "an unknown reminder is neither sent nor not sent")
	expect(t, rep, "reminders", []string{"all"}, map[string]any{"unknown": int64(1)})
}

// A reset to before a discharge: the TCM clocks the replaced run opened and
// missed are gone with its steps, so the report counts no discharge; the
// run that takes over records its own.
func TestAuditResetDropsTheReplacedRunsClocks(t *testing.T) {
	s := auditStore(t)
	ctx := context.Background()
	pid, cid := storeCase(t, s, "mrn-audit-tasks")
	step := func(run string, seq int, tasks ...care.Task) {
		t.Helper()
		ev := storeEvent(cid, seq, care.PhaseFollowUp, "note", "")
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: storeSnapshot(cid, pid, seq, care.PhaseFollowUp), Tasks: tasks}, run))
	}
	contact := care.Task{ID: "tcm-contact-1", CaseID: cid, Kind: care.TaskTCMContact, Description: "interactive contact",
		Owner: "cm-ana", StartedAt: storeAt(2), Due: storeAt(2 * 24 * 60), Status: care.TaskOpen, Clock: true}
	missed := contact
	missed.Status, missed.Met = care.TaskMissed, new(false)
	counts := func() (discharges, missedN any) {
		t.Helper()
		r, err := report.Run(ctx, s.DB(), "tcm", report.Filter{Now: storeAt(10000)})
		require.NoError(t, err)
		discharges, _ = r.Tables[0].Value("discharges", "all")
		missedN, _ = r.Tables[0].Value("contact_missed", "all")
		return discharges, missedN
	}
	step("run-1", 1)
	step("run-1", 2, contact) // the discharge
	step("run-1", 3, missed)
	d, m := counts()
	require.EqualValues(t, 1, d)
	require.EqualValues(t, 1, m)
	// Reset to after event 1: the discharge was entered in error.
	step("run-2", 2)
	d, m = counts()
	require.EqualValues(t, 0, d, "the replaced run's discharge is not counted")
	require.EqualValues(t, 0, m, "nor its missed contact")
}
