package report_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/report"
)

// now is when the fixture's reports are computed.
var now = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture writes the records of a small set of cases, as the workflow's
// activities would have, with figures counted by hand in the tests below.
//
// transitional-care (tc):
//   - c-a1 (cm-ana): discharged Friday 2026-03-06 15:00; contact Tuesday
//     (the 2nd business day): met; high-complexity visit met; med rec met;
//     readmission watch open.
//   - c-a2 (cm-ana): discharged Monday 2026-03-02; contact met by attempts;
//     moderate (14-day) visit missed; med rec missed; readmitted on day 9.
//   - c-a3 (cm-bo): discharged 2026-03-03; contact done one minute after its
//     deadline (missed); visit and med rec open (overdue); watch open.
//   - c-a4 (cm-bo, closed): discharged 2026-01-15, contact met; a second
//     discharge's clocks cancelled.
//
// chronic-care (cc): c-b1 (cm-ana) and c-b2 (cm-cy): follow-up calls, a
// no-answer streak, CCM minutes.
func fixture(t *testing.T) *sqlx.DB {
	t.Helper()
	db, exec := auditDB(t)
	for _, c := range []struct {
		id, program, manager, phase, risk string
		closed                            bool
	}{
		{"c-a1", "tc", "cm-ana", "post-transition", "high", false},
		{"c-a2", "tc", "cm-ana", "post-transition", "moderate", false},
		{"c-a3", "tc", "cm-bo", "post-transition", "high", false},
		{"c-a4", "tc", "cm-bo", "closed", "low", true},
		{"c-b1", "cc", "cm-ana", "follow-up", "moderate", false},
		{"c-b2", "cc", "cm-cy", "follow-up", "", false},
	} {
		exec(`INSERT INTO patients (patient_id, external_ref) VALUES ($1, $1)`, "p-"+c.id)
		var closed *time.Time
		if c.closed {
			x := at("2026-02-20T00:00:00Z")
			closed = &x
		}
		exec(`INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, risk, opened_at, closed_at)
			VALUES ($1, $2, $3, 'clinical', $4, 'referral', $5, NULLIF($6, ''), '2026-01-01T00:00:00Z', $7)`,
			c.id, "p-"+c.id, c.program, c.manager, c.phase, c.risk, closed)
	}
	type task struct {
		caseID, id, kind, desc, started, due, status, outcome, completed, escalated string
		clock                                                                       bool
		met                                                                         *bool
	}
	yes, no := new(bool), new(bool)
	*yes = true
	high, moderate := "face-to-face visit within 7 days of discharge (high complexity, CPT 99496)", "face-to-face visit within 14 days of discharge (moderate complexity, CPT 99495)"
	for _, k := range []task{
		// c-a1: Friday discharge. Tuesday 23:59:59 New York is the end of the 2nd business day.
		{"c-a1", "tcm-contact-1", "tcm-contact", "contact", "2026-03-06T15:00:00Z", "2026-03-11T03:59:59Z", "done", "reached by phone", "2026-03-10T14:00:00Z", "", true, yes},
		{"c-a1", "tcm-visit-2", "tcm-visit", high, "2026-03-06T15:00:00Z", "2026-03-14T03:59:59Z", "done", "visit attended", "2026-03-12T15:00:00Z", "", true, yes},
		{"c-a1", "med-reconciliation-3", "med-reconciliation", "medrec", "2026-03-06T15:00:00Z", "2026-03-13T03:59:59Z", "done", "done", "2026-03-12T16:00:00Z", "", true, yes},
		{"c-a1", "readmission-watch-4", "readmission-watch", "watch", "2026-03-06T15:00:00Z", "2026-04-06T03:59:59Z", "open", "", "", "", true, nil},
		// c-a2: met by attempts, visit and med rec missed, readmitted.
		{"c-a2", "tcm-contact-1", "tcm-contact", "contact", "2026-03-02T10:00:00Z", "2026-03-05T04:59:59Z", "done", "met by attempts: 2 documented attempts within the window", "2026-03-04T10:00:00Z", "", true, yes},
		{"c-a2", "tcm-visit-2", "tcm-visit", moderate, "2026-03-02T10:00:00Z", "2026-03-17T03:59:59Z", "missed", "", "", "", true, no},
		{"c-a2", "med-reconciliation-3", "med-reconciliation", "medrec", "2026-03-02T10:00:00Z", "2026-03-17T03:59:59Z", "missed", "", "", "", true, no},
		{"c-a2", "readmission-watch-4", "readmission-watch", "watch", "2026-03-02T10:00:00Z", "2026-04-02T03:59:59Z", "done", "readmitted on day 9 after discharge", "2026-03-11T10:00:00Z", "", true, no},
		// c-a3: contact done one minute late.
		{"c-a3", "tcm-contact-1", "tcm-contact", "contact", "2026-03-03T09:00:00Z", "2026-03-06T04:59:59Z", "done", "contact late (missed at 2026-03-06T04:59:59Z)", "2026-03-06T05:00:59Z", "", true, no},
		{"c-a3", "tcm-visit-2", "tcm-visit", high, "2026-03-03T09:00:00Z", "2026-03-11T03:59:59Z", "open", "", "", "", true, nil},
		{"c-a3", "med-reconciliation-3", "med-reconciliation", "medrec", "2026-03-03T09:00:00Z", "2026-03-11T03:59:59Z", "open", "", "", "", true, nil},
		{"c-a3", "readmission-watch-4", "readmission-watch", "watch", "2026-03-03T09:00:00Z", "2026-04-03T03:59:59Z", "open", "", "", "", true, nil},
		// c-a4: January discharge, and a superseded discharge's cancelled clock.
		{"c-a4", "tcm-contact-1", "tcm-contact", "contact", "2026-01-15T12:00:00Z", "2026-01-17T04:59:59Z", "done", "reached by phone", "2026-01-16T12:00:00Z", "", true, yes},
		{"c-a4", "tcm-contact-5", "tcm-contact", "contact", "2026-03-04T12:00:00Z", "2026-03-07T04:59:59Z", "cancelled", "superseded", "2026-03-05T12:00:00Z", "", true, nil},
		// c-b1: calls on time, late, missed.
		{"c-b1", "call-1", "call", "call", "2026-03-02T09:00:00Z", "2026-03-04T09:00:00Z", "done", "reached", "2026-03-03T09:00:00Z", "", true, yes},
		{"c-b1", "call-2", "call", "call", "2026-03-09T09:00:00Z", "2026-03-11T09:00:00Z", "done", "no-answer late (missed at 2026-03-11T09:00:00Z)", "2026-03-12T10:00:00Z", "2026-03-12T09:00:00Z", true, no},
		{"c-b1", "call-3", "call", "call", "2026-03-16T09:00:00Z", "2026-03-18T09:00:00Z", "missed", "", "", "2026-03-19T09:00:00Z", true, no},
		// c-b2: a call on time with no answer, one open (overdue 12 h), lost to contact.
		{"c-b2", "call-1", "call", "call", "2026-03-03T09:00:00Z", "2026-03-05T09:00:00Z", "done", "no-answer", "2026-03-04T09:00:00Z", "", true, yes},
		{"c-b2", "call-2", "call", "call", "2026-03-18T00:00:00Z", "2026-03-20T00:00:00Z", "open", "", "", "", true, nil},
		{"c-b2", "lost-to-contact-3", "lost-to-contact", "3 calls unanswered", "2026-03-10T09:00:00Z", "2026-03-12T09:00:00Z", "open", "", "", "", false, nil},
		// CCM months: c-b1 February met, March open; c-b2 February missed.
		{"c-b1", "ccm-minutes-4", "ccm-minutes", "20 minutes", "2026-02-01T05:00:00Z", "2026-03-01T04:59:59Z", "done", "25 minutes in February 2026", "2026-02-20T10:00:00Z", "", true, yes},
		{"c-b1", "ccm-minutes-5", "ccm-minutes", "20 minutes", "2026-03-01T05:00:00Z", "2026-04-01T03:59:59Z", "open", "", "", "", true, nil},
		{"c-b2", "ccm-minutes-4", "ccm-minutes", "20 minutes", "2026-02-01T05:00:00Z", "2026-03-01T04:59:59Z", "missed", "", "", "", true, no},
	} {
		exec(`INSERT INTO tasks (case_id, task_id, kind, description, owner, started_at, due_at, status, outcome, completed_at, escalated_at, clock, met)
			VALUES ($1, $2, $3, $4, 'cm-ana', $5, $6, $7, $8, NULLIF($9, '')::timestamptz, NULLIF($10, '')::timestamptz, $11, $12)`,
			k.caseID, k.id, k.kind, k.desc, k.started, k.due, k.status, k.outcome, k.completed, k.escalated, k.clock, k.met)
	}
	exec(`INSERT INTO alerts (alert_id, case_id, task_id, kind, recipient, message, at)
		VALUES ('al-1', 'c-b2', 'lost-to-contact-3', 'no-answer', 'sup', '3 calls unanswered', '2026-03-10T09:00:00Z')`)

	// Events: minutes of CCM contact and calls, and prior authorizations.
	event := func(caseID string, seq int, atTime, action, run, detail string) {
		exec(`INSERT INTO case_events (case_id, seq, at, actor, action, phase_before, phase_after, detail, run_id)
			VALUES ($1, $2, $3, 'cm-ana', $4, 'follow-up', 'follow-up', $5::jsonb, $6)`, caseID, seq, atTime, action, detail, run)
	}
	event("c-b1", 1, "2026-02-05T10:00:00Z", "contact", "r1", `{"with": "client", "minutes": 15}`)
	event("c-b1", 2, "2026-02-20T10:00:00Z", "call", "r1", `{"task_id": "call-0", "outcome": "reached", "minutes": 10}`)
	event("c-b1", 3, "2026-03-02T10:00:00Z", "call", "r1", `{"task_id": "call-1", "outcome": "reached", "minutes": 5}`)
	event("c-b2", 1, "2026-02-10T10:00:00Z", "contact", "r2", `{"with": "client", "minutes": 12}`)
	// Entered late (change contact-times): they count when they were made,
	// and not at all when their month had closed.
	event("c-b2", 3, "2026-03-01T05:10:00Z", "contact", "r2", `{"with": "client", "minutes": 3, "at": "2026-02-28T20:00:00Z"}`)
	event("c-b1", 4, "2026-03-03T10:00:00Z", "contact", "r1", `{"with": "client", "minutes": 7, "at": "2026-02-27T10:00:00-05:00", "minutes_not_counted": true}`)
	event("c-b1", 5, "2026-03-05T10:00:00Z", "call", "r1", `{"task_id": "call-2", "outcome": "reached", "minutes": 4, "at": "2026-03-02T12:00:00Z"}`)
	// A step of a run that a reset replaced: not counted.
	event("c-b2", 2, "2026-02-11T10:00:00Z", "contact", "r1", `{"with": "client", "minutes": 30}`)
	exec(`INSERT INTO superseded_runs (case_id, run_id, by_run_id, from_seq) VALUES ('c-b2', 'r1', 'r2', 2)`)

	auth := func(caseID string, seq int, service, a string) {
		event(caseID, seq, "2026-03-01T00:00:00Z", "service", "", `{"id": "`+service+`", "status": "booked", "authorization": `+a+`}`)
	}
	// R1: expedited, pended then approved after 48 h (deadline 72 h).
	auth("c-a1", 10, "pt", `{"request_id": "R1", "status": "pended", "submitted_at": "2026-03-07T10:00:00Z", "deadline_at": "2026-03-10T10:00:00Z", "expedited": true}`)
	auth("c-a1", 11, "pt", `{"request_id": "R1", "status": "approved", "submitted_at": "2026-03-07T10:00:00Z", "deadline_at": "2026-03-10T10:00:00Z", "expedited": true, "decided_at": "2026-03-09T10:00:00Z"}`)
	// R2: standard, denied one minute after its 7-day deadline.
	auth("c-a2", 10, "hh", `{"request_id": "R2", "status": "denied", "reason": "not-medically-necessary", "submitted_at": "2026-03-02T12:00:00Z", "deadline_at": "2026-03-09T12:00:00Z", "decided_at": "2026-03-09T12:01:00Z"}`)
	// R3: the appeal of R2, still pended past its deadline.
	auth("c-a2", 11, "hh", `{"request_id": "R3", "status": "pended", "related": "R2", "submitted_at": "2026-03-10T00:00:00Z", "deadline_at": "2026-03-17T00:00:00Z", "escalated": true, "decided_at": "0001-01-01T00:00:00Z"}`)
	// R4: standard, pended, its deadline still ahead.
	auth("c-a3", 10, "dme", `{"request_id": "R4", "status": "pended", "submitted_at": "2026-03-15T00:00:00Z", "deadline_at": "2026-03-22T00:00:00Z"}`)

	// Appointments and reminders.
	exec(`INSERT INTO providers (provider_id, name) VALUES ('prov-1', 'Clinic')`)
	exec(`INSERT INTO provider_services (provider_id, service_code) VALUES ('prov-1', 'primary-care')`)
	for i, ap := range []struct {
		caseID, service string
		attempt         int
		start, status   string
	}{
		{"c-a1", "visit", 1, "2026-03-12T15:00:00Z", "attended"},
		{"c-a2", "visit", 1, "2026-03-05T15:00:00Z", "no-show"},
		{"c-a2", "visit", 2, "2026-03-06T15:00:00Z", "cancelled"},
		{"c-a2", "visit", 3, "2026-03-25T15:00:00Z", "booked"},
		{"c-a3", "visit", 1, "2026-03-08T15:00:00Z", "attended"},
	} {
		slot := "slot-" + string(rune('1'+i))
		exec(`INSERT INTO slots (slot_id, provider_id, service_code, starts_at, ends_at) VALUES ($1, 'prov-1', 'primary-care', $2, $2::timestamptz + interval '30 minutes')`, slot, ap.start)
		exec(`INSERT INTO appointments (appointment_id, case_id, service_id, occurrence, attempt, slot_id, status) VALUES ($1, $2, $3, 1, $4, $5, $6)`,
			"ap-"+string(rune('1'+i)), ap.caseID, ap.service, ap.attempt, slot, ap.status)
	}
	for _, r := range []struct{ id, appt, due, status, reason, lastErr string }{
		{"rm-1", "ap-1", "2026-03-10T15:00:00Z", "sent", "", ""},
		{"rm-2", "ap-1", "2026-03-12T13:00:00Z", "sent", "", ""},
		{"rm-3", "ap-2", "2026-03-03T15:00:00Z", "sent", "", ""},
		{"rm-4", "ap-2", "2026-03-05T13:00:00Z", "skipped", "too-late", ""},
		{"rm-5", "ap-3", "2026-03-04T15:00:00Z", "cancelled", "cancelled", ""},
		{"rm-6", "ap-4", "2026-03-23T15:00:00Z", "pending", "", "smtp: 503 unavailable"},
		{"rm-7", "ap-4", "2026-03-25T13:00:00Z", "pending", "", ""},
		{"rm-8", "ap-2", "2026-03-04T13:00:00Z", "unknown", "appointment-cancelled", ""},
	} {
		var sent any
		if r.status == "sent" {
			sent = r.due
		}
		exec(`INSERT INTO reminders (reminder_id, appointment_id, offset_minutes, due_at, channel, status, reason, last_error, sent_at)
			VALUES ($1, $2, $3, $4, 'sms', $5, NULLIF($6, ''), NULLIF($7, ''), $8)`, r.id, r.appt, len(r.id)*60+int(r.id[3]), r.due, r.status, r.reason, r.lastErr, sent)
	}
	return db
}

var march = report.Filter{From: at("2026-03-01T00:00:00Z"), To: at("2026-03-31T00:00:00Z"), Now: now}

func run(t *testing.T, db *sqlx.DB, name string, f report.Filter) report.Report {
	t.Helper()
	r, err := report.Run(context.Background(), db, name, f)
	require.NoError(t, err)
	return r
}

// expect checks columns of the row of table whose leading columns are key.
func expect(t *testing.T, r report.Report, table string, key []string, want map[string]any) {
	t.Helper()
	tb := r.Table(table)
	require.NotNil(t, tb, "table %s", table)
	for col, w := range want {
		got, ok := tb.Value(col, key...)
		require.True(t, ok, "%s %v has no %s: %v", table, key, col, tb.Rows)
		require.Equal(t, w, got, "%s %v %s", table, key, col)
	}
}

func TestReports(t *testing.T) {
	db := fixture(t)

	t.Run("tcm", func(t *testing.T) {
		r := run(t, db, "tcm", march)
		want := map[string]any{
			// a1 (Friday discharge, contacted on Tuesday), a2 (by attempts) met; a3 missed by a minute.
			"discharges": int64(3), "contact_met": int64(2), "contact_met_by_attempts": int64(1),
			"contact_missed": int64(1), "contact_open": int64(0), "contact_met_pct": 66.7,
			"visit7_met": int64(1), "visit7_missed": int64(0), "visit7_met_pct": 100.0,
			"visit14_met": int64(0), "visit14_missed": int64(1), "visit14_met_pct": 0.0,
			"medrec_met": int64(1), "medrec_missed": int64(1), "medrec_met_pct": 50.0,
			"readmitted_30d": int64(1), "readmission_pct": 100.0,
		}
		expect(t, r, "tcm", []string{"tc"}, want)
		expect(t, r, "tcm", []string{"all"}, want)
		require.Len(t, r.Tables[0].Rows, 2)

		all := run(t, db, "tcm", report.Filter{Now: now})
		expect(t, all, "tcm", []string{"tc"}, map[string]any{"discharges": int64(4), "contact_met": int64(3)})

		bo := run(t, db, "tcm", report.Filter{Manager: "cm-bo", From: march.From, To: march.To, Now: now})
		expect(t, bo, "tcm", []string{"tc"}, map[string]any{"discharges": int64(1), "contact_missed": int64(1), "contact_met_pct": 0.0})

		none := run(t, db, "tcm", report.Filter{Program: "cc", Now: now})
		expect(t, none, "tcm", []string{"all"}, map[string]any{"discharges": int64(0), "contact_met_pct": nil})
	})

	t.Run("authorizations", func(t *testing.T) {
		r := run(t, db, "authorizations", march)
		expect(t, r, "requests", []string{"all", "all"}, map[string]any{
			"requests": int64(4), "decided": int64(2), "decided_in_time": int64(1),
			// R2 was decided one minute after its deadline.
			"decided_late": int64(1), "in_time_pct": 50.0,
			"pended": int64(2), "pended_past_deadline": int64(1),
			"turnaround_p50_h": 108.01, "turnaround_max_h": 168.02,
			"approved": int64(1), "denied": int64(1), "rejected": int64(0),
		})
		expect(t, r, "requests", []string{"tc", "expedited"}, map[string]any{"requests": int64(1), "decided_in_time": int64(1), "turnaround_p50_h": 48.0})
		expect(t, r, "requests", []string{"tc", "standard"}, map[string]any{"requests": int64(3), "decided_late": int64(1), "in_time_pct": 0.0})
		expect(t, r, "denials", []string{"tc", "not-medically-necessary"}, map[string]any{"denials": int64(1)})
		expect(t, r, "appeals", []string{"all"}, map[string]any{"appeals": int64(1), "pended": int64(1), "approved": int64(0)})
	})

	t.Run("appointments", func(t *testing.T) {
		r := run(t, db, "appointments", march)
		expect(t, r, "appointments", []string{"tc"}, map[string]any{
			"booked": int64(5), "attended": int64(2), "no_show": int64(1), "cancelled": int64(1),
			"still_booked": int64(1), "rebookings": int64(2), "no_show_pct": 33.3, "cancellation_pct": 20.0,
		})
		expect(t, r, "reminders", []string{"all"}, map[string]any{
			"reminders": int64(8), "sent": int64(3), "skipped": int64(1), "cancelled": int64(1), "unknown": int64(1), "pending": int64(2), "failed": int64(1),
		})
		expect(t, r, "reminders-not-sent", []string{"tc", "skipped", "too-late"}, map[string]any{"reminders": int64(1)})
		expect(t, r, "reminders-not-sent", []string{"tc", "unknown", "appointment-cancelled"}, map[string]any{"reminders": int64(1)})
	})

	t.Run("calls", func(t *testing.T) {
		r := run(t, db, "calls", march)
		expect(t, r, "calls", []string{"cc"}, map[string]any{
			"due": int64(5), "on_time": int64(2), "late": int64(1), "missed": int64(1), "open": int64(1),
			"escalated": int64(2), "on_time_pct": 50.0, "reached": int64(1), "no_answer": int64(2), "declined": int64(0),
			"no_answer_streaks": int64(1), "lost_to_contact": int64(1),
		})
	})

	t.Run("ccm", func(t *testing.T) {
		r := run(t, db, "ccm", report.Filter{From: at("2026-02-01T00:00:00Z"), To: march.To, Now: now})
		// February: b1 reached 25 minutes (15 + 10; the 7 entered after its
		// month closed do not count), b2 15 (12, and 3 made on the 28th and
		// entered on 1 March; the 30 of a replaced run do not count).
		expect(t, r, "ccm", []string{"cc", "2026-02"}, map[string]any{
			"case_months": int64(2), "reached_target": int64(1), "under_target": int64(1), "month_open": int64(0),
			"reached_pct": 50.0, "minutes": int64(40), "minutes_per_case": 20.0, "minutes_p50": 20.0,
		})
		// March: 5, and 4 made on the 2nd, entered on the 5th.
		expect(t, r, "ccm", []string{"cc", "2026-03"}, map[string]any{"case_months": int64(1), "month_open": int64(1), "minutes": int64(9)})
		// March only: February's months are out of range.
		m := run(t, db, "ccm", march)
		expect(t, m, "ccm", []string{"all", "all"}, map[string]any{"case_months": int64(1)})
	})

	t.Run("caseload", func(t *testing.T) {
		r := run(t, db, "caseload", report.Filter{Now: now})
		expect(t, r, "open-cases", []string{"tc", "phase", "post-transition"}, map[string]any{"cases": int64(3)})
		expect(t, r, "open-cases", []string{"cc", "risk", "unstratified"}, map[string]any{"cases": int64(1)})
		expect(t, r, "open-cases", []string{"cc", "manager", "cm-cy"}, map[string]any{"cases": int64(1)})
		_, closed := r.Table("open-cases").Value("cases", "tc", "phase", "closed")
		require.False(t, closed, "a closed case is not in the caseload")
		expect(t, r, "overdue", []string{"tc", "tcm-visit"}, map[string]any{"overdue": int64(1), "d7_to_30": int64(1)})
		expect(t, r, "overdue", []string{"tc", "med-reconciliation"}, map[string]any{"overdue": int64(1)})
		expect(t, r, "overdue", []string{"cc", "call"}, map[string]any{"overdue": int64(1), "under_1d": int64(1)})
		expect(t, r, "overdue", []string{"cc", "lost-to-contact"}, map[string]any{"overdue": int64(1), "d7_to_30": int64(1)})
		require.Len(t, r.Table("overdue").Rows, 4)
	})
}

func TestReportRefusesBadInput(t *testing.T) {
	_, err := report.Run(context.Background(), nil, "nope", report.Filter{})
	require.Equal(t, care.KindInvalid, care.KindOf(err))
	_, err = report.Run(context.Background(), nil, "tcm", report.Filter{Program: "Transitional Care"})
	require.Equal(t, care.KindInvalid, care.KindOf(err))
	_, err = report.Run(context.Background(), nil, "tcm", report.Filter{From: at("2026-03-02T00:00:00Z"), To: at("2026-03-01T00:00:00Z")})
	require.Equal(t, care.KindInvalid, care.KindOf(err))
}

func TestHTMLPageIsSelfContainedWithTheFigures(t *testing.T) {
	db := fixture(t)
	p, err := report.Collect(context.Background(), db, march)
	require.NoError(t, err)
	expect(t, p.Charts, "turnaround", []string{"48-72 h"}, map[string]any{"decided": int64(1)})
	expect(t, p.Charts, "turnaround", []string{"> 7 d"}, map[string]any{"decided": int64(1)})
	// Week of Monday 2026-03-02: a2's contact met, a3's missed.
	expect(t, p.Charts, "weekly", []string{"2026-03-02"}, map[string]any{"tcm_contact_met_pct": 66.7})
	var b strings.Builder
	require.NoError(t, report.WriteHTML(&b, p))
	page := b.String()
	require.Equal(t, 3, strings.Count(page, "<svg"), "three charts")
	for _, fetch := range []string{"<script", "<link", "src=", "@import", "url("} {
		require.NotContains(t, page, fetch, "nothing is fetched at view time")
	}
	for _, id := range []string{"c-a1", "p-c-a1", "cm-ana"} {
		if id == "cm-ana" {
			require.Contains(t, page, id, "caseload by manager (an opaque staff id)")
			continue
		}
		require.NotContains(t, page, id)
	}
	require.Contains(t, page, "not-medically-necessary")
	if out := os.Getenv("CASEFLOW_REPORT_HTML"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(page), 0o644))
	}
}
