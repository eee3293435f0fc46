package report

import "fmt"

// prelude binds the parameters every section gets ($1 program, $2 manager,
// $3 from, $4 to (exclusive), $5 now) and the cases the filter selects.
const prelude = `WITH p AS (
	SELECT $1::text AS program, $2::text AS manager, $3::timestamptz AS from_at, $4::timestamptz AS to_at, $5::timestamptz AS now_at
), fc AS (
	SELECT c.case_id, c.program, c.manager, c.model, c.phase, c.risk, c.closed_at FROM cases c, p
	WHERE (p.program = '' OR c.program = p.program) AND (p.manager = '' OR c.manager = p.manager)
), live AS (
	-- the audit trail without the steps of runs a reset replaced
	SELECT e.* FROM case_events e JOIN fc USING (case_id)
	WHERE NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id AND e.seq >= r.from_seq)
)`

// inRange is the filter's date range on the anchor expression x.
func inRange(x string) string {
	return fmt.Sprintf("(p.from_at IS NULL OR %[1]s >= p.from_at) AND (p.to_at IS NULL OR %[1]s < p.to_at)", x)
}

// pct is num out of den in per cent, to one decimal; NULL without a
// denominator.
func pct(num, den string) string {
	return fmt.Sprintf("round(100.0 * (%s) / NULLIF(%s, 0), 1)::float8", num, den)
}

// programLabel names the row of a ROLLUP over program: "all" for the total.
const programLabel = `CASE WHEN GROUPING(program) = 1 THEN 'all' ELSE program END AS program`

// ts reads a timestamp from JSON, with Go's zero time as NULL.
func ts(x string) string {
	return fmt.Sprintf("(CASE WHEN COALESCE(%[1]s, '') = '' OR %[1]s LIKE '0001-01-01%%' THEN NULL ELSE (%[1]s)::timestamptz END)", x)
}

var reports = map[string][]section{
	"tcm": {{name: "tcm", title: "Transitional care management, by program (anchor: discharge date)", query: `
, d AS (
	SELECT fc.program, t.kind, t.status, t.met, t.outcome, t.description
	FROM tasks t JOIN fc USING (case_id), p
	WHERE t.clock AND t.status <> 'cancelled'
	  AND t.kind IN ('tcm-contact', 'tcm-visit', 'med-reconciliation', 'readmission-watch')
	  AND ` + inRange("t.started_at") + `
), n AS (
	SELECT ` + programLabel + `,
		count(*) FILTER (WHERE kind = 'tcm-contact') AS discharges,
		count(*) FILTER (WHERE kind = 'tcm-contact' AND met) AS contact_met,
		count(*) FILTER (WHERE kind = 'tcm-contact' AND met AND outcome LIKE 'met by attempts%') AS contact_met_by_attempts,
		count(*) FILTER (WHERE kind = 'tcm-contact' AND NOT met) AS contact_missed,
		count(*) FILTER (WHERE kind = 'tcm-contact' AND met IS NULL) AS contact_open,
		count(*) FILTER (WHERE kind = 'tcm-visit' AND description LIKE '%high complexity%' AND met) AS visit7_met,
		count(*) FILTER (WHERE kind = 'tcm-visit' AND description LIKE '%high complexity%' AND NOT met) AS visit7_missed,
		count(*) FILTER (WHERE kind = 'tcm-visit' AND description NOT LIKE '%high complexity%' AND met) AS visit14_met,
		count(*) FILTER (WHERE kind = 'tcm-visit' AND description NOT LIKE '%high complexity%' AND NOT met) AS visit14_missed,
		count(*) FILTER (WHERE kind = 'med-reconciliation' AND met) AS medrec_met,
		count(*) FILTER (WHERE kind = 'med-reconciliation' AND NOT met) AS medrec_missed,
		count(*) FILTER (WHERE kind = 'readmission-watch' AND NOT met) AS readmitted_30d,
		count(*) FILTER (WHERE kind = 'readmission-watch' AND met IS NOT NULL) AS watch_closed
	FROM d GROUP BY ROLLUP (program)
)
SELECT program, discharges, contact_met, contact_met_by_attempts, contact_missed, contact_open,
	` + pct("contact_met", "contact_met + contact_missed") + ` AS contact_met_pct,
	visit7_met, visit7_missed, ` + pct("visit7_met", "visit7_met + visit7_missed") + ` AS visit7_met_pct,
	visit14_met, visit14_missed, ` + pct("visit14_met", "visit14_met + visit14_missed") + ` AS visit14_met_pct,
	medrec_met, medrec_missed, ` + pct("medrec_met", "medrec_met + medrec_missed") + ` AS medrec_met_pct,
	readmitted_30d, ` + pct("readmitted_30d", "watch_closed") + ` AS readmission_pct
FROM n ORDER BY program = 'all', program`}},

	"authorizations": {
		{name: "requests", title: "Prior-authorization requests, by program and urgency (anchor: submission)", query: authRequests + `
SELECT ` + programLabel + `, CASE WHEN GROUPING(urgency) = 1 THEN 'all' ELSE urgency END AS urgency,
	count(*) AS requests,
	count(*) FILTER (WHERE decided_at IS NOT NULL AND status IN ('approved', 'denied')) AS decided,
	count(*) FILTER (WHERE status IN ('approved', 'denied') AND deadline_at IS NOT NULL AND decided_at <= deadline_at) AS decided_in_time,
	count(*) FILTER (WHERE status IN ('approved', 'denied') AND deadline_at IS NOT NULL AND decided_at > deadline_at) AS decided_late,
	` + pct("count(*) FILTER (WHERE status IN ('approved', 'denied') AND deadline_at IS NOT NULL AND decided_at <= deadline_at)",
			"count(*) FILTER (WHERE status IN ('approved', 'denied') AND deadline_at IS NOT NULL AND decided_at IS NOT NULL)") + ` AS in_time_pct,
	count(*) FILTER (WHERE status = 'pended') AS pended,
	count(*) FILTER (WHERE status = 'pended' AND deadline_at < (SELECT now_at FROM p)) AS pended_past_deadline,
	round((percentile_cont(0.5) WITHIN GROUP (ORDER BY turnaround_h))::numeric, 2)::float8 AS turnaround_p50_h,
	round((percentile_cont(0.9) WITHIN GROUP (ORDER BY turnaround_h))::numeric, 2)::float8 AS turnaround_p90_h,
	round(max(turnaround_h)::numeric, 2)::float8 AS turnaround_max_h,
	count(*) FILTER (WHERE status = 'approved') AS approved,
	count(*) FILTER (WHERE status = 'denied') AS denied,
	count(*) FILTER (WHERE status = 'rejected') AS rejected,
	count(*) FILTER (WHERE exempt) AS exempt
FROM r GROUP BY ROLLUP (program, urgency)
ORDER BY GROUPING(program), program, GROUPING(urgency), urgency`},
		{name: "denials", title: "Denials, by program and the payer's reason", query: authRequests + `
SELECT program, COALESCE(NULLIF(reason, ''), 'unstated') AS reason, count(*) AS denials
FROM r WHERE status = 'denied' GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`},
		{name: "appeals", title: "Appeals (a request appealing a denial) and their outcomes, by program", query: authRequests + `
SELECT ` + programLabel + `, count(*) AS appeals,
	count(*) FILTER (WHERE status = 'approved') AS approved,
	count(*) FILTER (WHERE status = 'denied') AS denied,
	count(*) FILTER (WHERE status = 'pended') AS pended,
	count(*) FILTER (WHERE status = 'rejected') AS rejected
FROM r WHERE related <> '' GROUP BY ROLLUP (program) ORDER BY GROUPING(program), program`},
	},

	"appointments": {
		{name: "appointments", title: "Appointments, by program (anchor: the slot's start)", query: `
, a AS (
	SELECT fc.program, ap.status, ap.attempt FROM appointments ap JOIN fc USING (case_id) JOIN slots s USING (slot_id), p
	WHERE ` + inRange("s.starts_at") + `
), n AS (
	SELECT ` + programLabel + `, count(*) AS booked,
		count(*) FILTER (WHERE status = 'attended') AS attended,
		count(*) FILTER (WHERE status = 'no-show') AS no_show,
		count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
		count(*) FILTER (WHERE status = 'booked') AS still_booked,
		count(*) FILTER (WHERE attempt > 1) AS rebookings
	FROM a GROUP BY ROLLUP (program)
)
SELECT program, booked, attended, no_show, cancelled, still_booked, rebookings,
	` + pct("no_show", "attended + no_show") + ` AS no_show_pct,
	` + pct("cancelled", "booked") + ` AS cancellation_pct
FROM n ORDER BY program = 'all', program`},
		{name: "reminders", title: "Appointment reminders, by program and status (anchor: when due)", query: reminderRows + `
SELECT ` + programLabel + `, count(*) AS reminders,
	count(*) FILTER (WHERE status = 'sent') AS sent,
	count(*) FILTER (WHERE status = 'skipped') AS skipped,
	count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
	count(*) FILTER (WHERE status = 'unknown') AS unknown,
	count(*) FILTER (WHERE status = 'pending') AS pending,
	count(*) FILTER (WHERE status IN ('pending', 'skipped', 'cancelled') AND last_error IS NOT NULL) AS failed
FROM rm GROUP BY ROLLUP (program) ORDER BY GROUPING(program), program`},
		{name: "reminders-not-sent", title: "Reminders skipped, cancelled or of unknown delivery, by reason", query: reminderRows + `
SELECT program, status, COALESCE(reason, 'unstated') AS reason, count(*) AS reminders
FROM rm WHERE status IN ('skipped', 'cancelled', 'unknown') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`},
	},

	"calls": {{name: "calls", title: "Follow-up calls, by program (anchor: when the call fell due)", query: `
, x AS (
	SELECT fc.program, 'call' AS what, t.status, t.met, split_part(t.outcome, ' ', 1) AS outcome, t.escalated_at
	FROM tasks t JOIN fc USING (case_id), p
	WHERE t.kind = 'call' AND t.status <> 'cancelled' AND ` + inRange("t.started_at") + `
	UNION ALL
	SELECT fc.program, 'streak', '', NULL, '', NULL FROM alerts al JOIN fc USING (case_id), p
	WHERE al.kind = 'no-answer' AND ` + inRange("al.at") + `
	UNION ALL
	SELECT fc.program, 'lost', t.status, NULL, '', NULL FROM tasks t JOIN fc USING (case_id), p
	WHERE t.kind = 'lost-to-contact' AND ` + inRange("t.started_at") + `
), n AS (
	SELECT ` + programLabel + `,
		count(*) FILTER (WHERE what = 'call') AS due,
		count(*) FILTER (WHERE what = 'call' AND met) AS on_time,
		count(*) FILTER (WHERE what = 'call' AND status = 'done' AND NOT met) AS late,
		count(*) FILTER (WHERE what = 'call' AND status = 'missed') AS missed,
		count(*) FILTER (WHERE what = 'call' AND status = 'open') AS open,
		count(*) FILTER (WHERE what = 'call' AND escalated_at IS NOT NULL) AS escalated,
		count(*) FILTER (WHERE what = 'call' AND status = 'done' AND outcome = 'reached') AS reached,
		count(*) FILTER (WHERE what = 'call' AND status = 'done' AND outcome = 'no-answer') AS no_answer,
		count(*) FILTER (WHERE what = 'call' AND status = 'done' AND outcome = 'declined') AS declined,
		count(*) FILTER (WHERE what = 'streak') AS no_answer_streaks,
		count(*) FILTER (WHERE what = 'lost') AS lost_to_contact
	FROM x GROUP BY ROLLUP (program)
)
SELECT program, due, on_time, late, missed, open, escalated,
	` + pct("on_time", "on_time + late + missed") + ` AS on_time_pct,
	reached, no_answer, declined, no_answer_streaks, lost_to_contact
FROM n ORDER BY program = 'all', program`}},

	"ccm": {{name: "ccm", title: "Chronic care management minutes, by program and calendar month (anchor: the month)", query: `
, cm AS (
	-- month_first: the first day of the month that holds the middle of the
	-- clock, taken in UTC, as a UTC midnight: a clock spans its whole month
	-- on the program's calendar, so its middle is some 15 days from either
	-- edge and in the same month whatever the program's offset from UTC;
	-- --from/--to select the months the rows are labelled with.
	SELECT fc.program, t.case_id, t.status, t.met, t.started_at, t.due_at,
		date_trunc('month', (t.started_at + (t.due_at - t.started_at) / 2) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_first
	FROM tasks t JOIN fc USING (case_id)
	WHERE t.kind = 'ccm-minutes' AND t.status <> 'cancelled'
), m AS (
	-- A month's minutes are those made from its first instant to before the
	-- next month's: the clock is due at the month's last whole second
	-- (activities.MonthOf), so the next month starts one second later.
	SELECT cm.program, cm.status, cm.met, to_char(cm.month_first AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
		(SELECT COALESCE(sum((e.detail->>'minutes')::int), 0) FROM live e
		 WHERE e.case_id = cm.case_id AND e.action IN ('contact', 'call') AND e.detail ? 'minutes'
		   AND NOT COALESCE((e.detail->>'minutes_not_counted')::boolean, false)
		   AND LEAST(COALESCE((e.detail->>'at')::timestamptz, e.at), e.at) >= cm.started_at
		   AND LEAST(COALESCE((e.detail->>'at')::timestamptz, e.at), e.at) < cm.due_at + interval '1 second') AS minutes
	FROM cm, p
	WHERE ` + inRange("cm.month_first") + `
)
SELECT ` + programLabel + `, CASE WHEN GROUPING(month) = 1 THEN 'all' ELSE month END AS month,
	count(*) AS case_months,
	count(*) FILTER (WHERE met) AS reached_target,
	count(*) FILTER (WHERE NOT met) AS under_target,
	count(*) FILTER (WHERE met IS NULL) AS month_open,
	` + pct("count(*) FILTER (WHERE met)", "count(*) FILTER (WHERE met IS NOT NULL)") + ` AS reached_pct,
	sum(minutes)::bigint AS minutes,
	round(avg(minutes), 1)::float8 AS minutes_per_case,
	(percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes))::float8 AS minutes_p50
FROM m GROUP BY ROLLUP (program, month)
ORDER BY GROUPING(program), program, GROUPING(month), month`}},

	"caseload": {
		{name: "open-cases", title: "Open cases, by program and dimension (as of now)", query: `
, o AS (SELECT * FROM fc WHERE closed_at IS NULL)
SELECT program, 'phase' AS dimension, phase AS value, count(*) AS cases FROM o GROUP BY 1, 3
UNION ALL SELECT program, 'risk', COALESCE(risk, 'unstratified'), count(*) FROM o GROUP BY 1, 3
UNION ALL SELECT program, 'model', model, count(*) FROM o GROUP BY 1, 3
UNION ALL SELECT program, 'manager', manager, count(*) FROM o GROUP BY 1, 3
ORDER BY 1, 2, 3`},
		{name: "overdue", title: "Overdue work items (open past their due time), by kind and age", query: `
, t AS (
	SELECT fc.program, t.kind, p.now_at - t.due_at AS age FROM tasks t JOIN fc USING (case_id), p
	WHERE t.status = 'open' AND t.due_at < p.now_at AND fc.closed_at IS NULL
)
SELECT program, kind,
	count(*) AS overdue,
	count(*) FILTER (WHERE age < interval '1 day') AS under_1d,
	count(*) FILTER (WHERE age >= interval '1 day' AND age < interval '7 days') AS d1_to_7,
	count(*) FILTER (WHERE age >= interval '7 days' AND age < interval '30 days') AS d7_to_30,
	count(*) FILTER (WHERE age >= interval '30 days') AS over_30d
FROM t GROUP BY 1, 2 ORDER BY 1, 2`},
	},
}

// charts are the series the HTML page draws besides the reports' tables
// (report.Run(ctx, db, "charts", f)).
var charts = []section{
	{name: "weekly", title: "Clocks met by week (anchor: the clock's start, weeks from Monday, UTC)", query: `
, w AS (
	SELECT date_trunc('week', t.started_at AT TIME ZONE 'UTC') AS week, t.kind, t.met
	FROM tasks t JOIN fc USING (case_id), p
	WHERE t.clock AND t.status <> 'cancelled' AND t.met IS NOT NULL
	  AND t.kind IN ('tcm-contact', 'tcm-visit', 'call') AND ` + inRange("t.started_at") + `
)
SELECT to_char(week, 'YYYY-MM-DD') AS week,
	` + pct("count(*) FILTER (WHERE kind = 'tcm-contact' AND met)", "count(*) FILTER (WHERE kind = 'tcm-contact')") + ` AS tcm_contact_met_pct,
	` + pct("count(*) FILTER (WHERE kind = 'tcm-visit' AND met)", "count(*) FILTER (WHERE kind = 'tcm-visit')") + ` AS tcm_visit_met_pct,
	` + pct("count(*) FILTER (WHERE kind = 'call' AND met)", "count(*) FILTER (WHERE kind = 'call')") + ` AS calls_on_time_pct
FROM w GROUP BY week ORDER BY week`},
	{name: "turnaround", title: "Prior-authorization decision turnaround", query: authRequests + `
, b (ord, label, lo, hi) AS (VALUES (1, '< 24 h', 0, 24), (2, '24-48 h', 24, 48), (3, '48-72 h', 48, 72),
	(4, '72 h - 7 d', 72, 168), (5, '> 7 d', 168, 1e9))
SELECT b.label AS turnaround, count(r.turnaround_h) AS decided
FROM b LEFT JOIN r ON r.turnaround_h >= b.lo AND r.turnaround_h < b.hi
GROUP BY b.ord, b.label ORDER BY b.ord`},
}

// authRequests is each prior-authorization request as it stands last: the
// authorization of the latest "service" event that names it. A request the
// payer refused has no request id (the payer gave none): it is the refused
// authorization of its service submitted at that time. A request still
// pended whose coordination was stopped (withdrawn: its case closed, a later
// plan replaced or removed its service, the service was cancelled, or a
// later request of the service followed it) is left out, as a cancelled
// clock is.
var authRequests = `
, ev AS (
	SELECT fc.program, fc.closed_at, e.case_id, e.pos, e.detail->>'id' AS service_id,
		COALESCE((e.detail->>'plan_version')::int, 0) AS plan_version, e.detail->'authorization' AS a,
		COALESCE(NULLIF(e.detail->'authorization'->>'request_id', ''), 'refused at ' || (e.detail->'authorization'->>'submitted_at')) AS request_key
	FROM live e JOIN fc USING (case_id)
	WHERE e.action = 'service' AND jsonb_typeof(e.detail->'authorization') = 'object'
	  AND (COALESCE(e.detail->'authorization'->>'request_id', '') <> ''
	    OR (e.detail->'authorization'->>'status' = 'rejected' AND COALESCE(e.detail->'authorization'->>'submitted_at', '') <> ''))
), last AS (
	SELECT DISTINCT ON (case_id, service_id, request_key) *
	FROM ev ORDER BY case_id, service_id, request_key, pos DESC
), kept AS (
	SELECT * FROM last l
	WHERE NOT (l.a->>'status' = 'pended' AND (l.closed_at IS NOT NULL
		OR EXISTS (SELECT 1 FROM plan_changes pc WHERE pc.case_id = l.case_id AND pc.service_id = l.service_id
			AND pc.plan_version > l.plan_version AND pc.change IN ('replaced', 'removed'))
		OR EXISTS (SELECT 1 FROM case_services cs WHERE cs.case_id = l.case_id AND cs.service_id = l.service_id AND cs.status = 'cancelled')
		OR EXISTS (SELECT 1 FROM ev n WHERE n.case_id = l.case_id AND n.service_id = l.service_id AND n.pos > l.pos AND n.request_key <> l.request_key)))
), r0 AS (
	SELECT program, a->>'status' AS status,
		CASE WHEN (a->>'expedited')::boolean THEN 'expedited' ELSE 'standard' END AS urgency,
		` + ts("a->>'submitted_at'") + ` AS submitted_at,
		` + ts("a->>'deadline_at'") + ` AS deadline_at,
		` + ts("a->>'decided_at'") + ` AS decided_at,
		COALESCE(a->>'reason', '') AS reason, COALESCE(a->>'related', '') AS related,
		COALESCE((a->>'exempt')::boolean, false) AS exempt
	FROM kept
), r AS (
	SELECT r0.*, CASE WHEN status IN ('approved', 'denied') THEN extract(epoch FROM decided_at - submitted_at) / 3600 END AS turnaround_h
	FROM r0, p WHERE ` + inRange("submitted_at") + `
)`

// reminderRows is the reminders of the filter's cases, by when they are due.
var reminderRows = `
, rm AS (
	SELECT fc.program, r.status, r.reason, r.last_error FROM reminders r
	JOIN appointments ap USING (appointment_id) JOIN fc ON fc.case_id = ap.case_id, p
	WHERE ` + inRange("r.due_at") + `
)`

func init() {
	reports["charts"] = charts
	for _, n := range Names {
		if _, ok := reports[n]; !ok {
			panic("report: no queries for " + n)
		}
	}
}
