package postgres

import (
	"context"
	"database/sql"
	"time"
)

// CasesChangedSince calls fn with the id of each case changed since the
// time, ordered by patient and case, so one patient's cases come together.
// A case changed when its snapshot (cases.updated_at) or its patient's
// demographics (patients.updated_at, e.g. "case open --update-patient", an
// ADT A08) changed, an event was recorded (case_events.recorded_at, late
// writes of superseded runs included), one of its tasks was written
// (tasks.updated_at: a retried step rewrites them without an event), one of
// its services was saved (case_services.updated_at: the coordination
// activity writes them before the step that records it) or one of its
// appointments was booked or changed status (appointments.booked_at,
// status_at: the scheduling activities write them outside a step). Outcomes
// and pauses are written only in a step's transaction, with the snapshot,
// and are not exported.
//
// It streams: the ids are read from an open cursor, in a read-only
// REPEATABLE READ transaction, never held. It returns the export's
// transaction time: every change that committed after the cursor's snapshot
// has a time at or after it, so an export since that time picks up what this
// one could not see. The time is the database's, read before the snapshot
// is taken: the earliest of its clock and the start of every transaction of
// a client session then open on the database (a write's timestamps are its
// transaction's now(), so a write in flight when the snapshot was taken,
// which the cursor cannot see, carries a time at or after its start). A
// session of another role is seen only with pg_read_all_stats (or as a
// superuser); caseflow's writers use the store's own role.
func (s *Store) CasesChangedSince(ctx context.Context, since time.Time, fn func(caseID, patientID string) error) (time.Time, error) {
	var at time.Time
	if err := s.db.QueryRowContext(ctx, `
		SELECT least(now(), min(xact_start)) FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend'`).Scan(&at); err != nil {
		return at, err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return at, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `
		SELECT c.case_id, c.patient_id FROM cases c JOIN patients p ON p.patient_id = c.patient_id
		WHERE c.updated_at >= $1 OR p.updated_at >= $1
		   OR EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.case_id AND e.recorded_at >= $1)
		   OR EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.case_id AND t.updated_at >= $1)
		   OR EXISTS (SELECT 1 FROM case_services sv WHERE sv.case_id = c.case_id AND sv.updated_at >= $1)
		   OR EXISTS (SELECT 1 FROM appointments ap WHERE ap.case_id = c.case_id
		              AND (ap.booked_at >= $1 OR ap.status_at >= $1))
		ORDER BY c.patient_id, c.case_id`, since)
	if err != nil {
		return at, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, patient string
		if err := rows.Scan(&id, &patient); err != nil {
			return at, err
		}
		if err := fn(id, patient); err != nil {
			return at, err
		}
	}
	if err := rows.Err(); err != nil {
		return at, err
	}
	return at, tx.Commit()
}
