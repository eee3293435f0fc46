package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
)

// StaffMember is one registered staff id. Staff are known by opaque ids
// only; the table holds no names.
type StaffMember struct {
	ID      string    `db:"staff_id" json:"staff_id"`
	AddedAt time.Time `db:"created_at" json:"added_at"`
}

// AddStaff registers staff ids (each an opaque id, e.g. cm-ana) and returns
// how many were new. Adding an id again changes nothing.
func (s *Store) AddStaff(ctx context.Context, ids ...string) (int, error) {
	for _, id := range ids {
		if err := care.ValidateOpaqueID("staff id", id); err != nil {
			return 0, err
		}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO staff (staff_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, pq.Array(ids))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Staff lists the registered staff ids.
func (s *Store) Staff(ctx context.Context) ([]StaffMember, error) {
	var out []StaffMember
	err := s.db.SelectContext(ctx, &out, `SELECT staff_id, created_at FROM staff ORDER BY staff_id`)
	return out, err
}

// CheckStaff requires every id to be a registered staff id, so that a
// patient's name given by mistake never becomes a case's manager, an
// actor in the audit trail or a search attribute. field names the flag or
// field the ids came from. An unknown id is an invalid-input error.
func (s *Store) CheckStaff(ctx context.Context, field string, ids ...string) error {
	return checkStaff(ctx, s, field, ids...)
}

func checkStaff(ctx context.Context, s *Store, field string, ids ...string) error {
	var unknown []string
	err := s.db.SelectContext(ctx, &unknown, `SELECT id FROM unnest($1::text[]) AS id
		WHERE NOT EXISTS (SELECT 1 FROM staff WHERE staff_id = id) ORDER BY id`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("check staff ids: %w", err)
	}
	if len(unknown) == 0 {
		return nil
	}
	return care.Invalidf(field, "%s is not a registered staff id; register staff with \"caseflow staff add %s\" (see caseflow staff list)",
		strings.Join(unknown, ", "), strings.Join(unknown, " "))
}
