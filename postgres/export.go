package postgres

import (
	"context"
	"time"
)

// CasesChangedSince calls fn with the id of each case changed since the
// time (its snapshot updated, or an event recorded), ordered by patient and
// case, so one patient's cases come together. It streams: the ids are read
// from an open cursor, never held.
func (s *Store) CasesChangedSince(ctx context.Context, since time.Time, fn func(caseID, patientID string) error) error {
	rows, err := s.db.QueryContext(ctx, `
		SELECT c.case_id, c.patient_id FROM cases c
		WHERE c.updated_at >= $1
		   OR EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.case_id AND e.recorded_at >= $1)
		ORDER BY c.patient_id, c.case_id`, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, patient string
		if err := rows.Scan(&id, &patient); err != nil {
			return err
		}
		if err := fn(id, patient); err != nil {
			return err
		}
	}
	return rows.Err()
}
