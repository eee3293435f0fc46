package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/caseflow/caseflow/care"
)

// ErrPolicyConflict is returned when a policy version is loaded again with a
// different body: published versions never change.
var ErrPolicyConflict = errors.New("policy version already loaded with a different body")

// SavePolicy stores a policy version. Loading the same version with the same
// body again changes nothing and reports false; a different body for a loaded
// version is ErrPolicyConflict (bump the version instead).
//
// The policy's supervisor must be a registered staff id (see CheckStaff).
func (s *Store) SavePolicy(ctx context.Context, p care.Policy) (bool, error) {
	if err := checkStaff(ctx, s, "supervisor", p.Supervisor); err != nil {
		return false, fmt.Errorf("%s v%d: %w", p.Program, p.Version, err)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO policies (program, version, effective_from, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (program, version) DO NOTHING`, p.Program, p.Version, p.EffectiveFrom, string(body))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	var same bool
	if err := s.db.GetContext(ctx, &same, `SELECT body = $3::jsonb FROM policies WHERE program = $1 AND version = $2`, p.Program, p.Version, string(body)); err != nil {
		return false, err
	}
	if !same {
		return false, fmt.Errorf("%s v%d: %w", p.Program, p.Version, ErrPolicyConflict)
	}
	return false, nil
}

// PolicyFor returns the policy in force for program at time at: the highest
// version whose effective date has come.
func (s *Store) PolicyFor(ctx context.Context, program string, at time.Time) (care.Policy, error) {
	var body []byte
	err := s.db.GetContext(ctx, &body, `
		SELECT body FROM policies WHERE program = $1 AND effective_from <= $2::date
		ORDER BY version DESC LIMIT 1`, program, at.UTC().Format(time.DateOnly))
	if errors.Is(err, sql.ErrNoRows) {
		return care.Policy{}, care.ErrNotFound
	}
	if err != nil {
		return care.Policy{}, err
	}
	var p care.Policy
	return p, json.Unmarshal(body, &p)
}

// Policy returns version of program's policy. A loaded version never
// changes (SavePolicy refuses another body under it); one that was never
// loaded is an error wrapping care.ErrNotFound.
func (s *Store) Policy(ctx context.Context, program string, version int) (care.Policy, error) {
	var body []byte
	err := s.db.GetContext(ctx, &body, `SELECT body FROM policies WHERE program = $1 AND version = $2`, program, version)
	if errors.Is(err, sql.ErrNoRows) {
		return care.Policy{}, fmt.Errorf("policy %s v%d: %w", program, version, care.ErrNotFound)
	}
	if err != nil {
		return care.Policy{}, err
	}
	var p care.Policy
	return p, json.Unmarshal(body, &p)
}

// PolicySummary is one loaded policy version.
type PolicySummary struct {
	Program       string    `db:"program" json:"program"`
	Version       int       `db:"version" json:"version"`
	EffectiveFrom time.Time `db:"effective_from" json:"effective_from"`
	LoadedAt      time.Time `db:"loaded_at" json:"loaded_at"`
}

// Policies lists every loaded policy version.
func (s *Store) Policies(ctx context.Context) ([]PolicySummary, error) {
	var out []PolicySummary
	err := s.db.SelectContext(ctx, &out, `SELECT program, version, effective_from, loaded_at FROM policies ORDER BY program, version`)
	return out, err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// WorklistFilter selects open tasks for the worklist.
type WorklistFilter struct {
	Owner   string
	DueBy   time.Time // zero: any
	Overdue bool      // only tasks past due at Now
	Now     time.Time
}

// Worklist returns open tasks across cases, soonest due first.
func (s *Store) Worklist(ctx context.Context, f WorklistFilter) ([]care.Task, error) {
	q := taskColumns + ` WHERE status = 'open'`
	args := []any{}
	if f.Owner != "" {
		args = append(args, f.Owner)
		q += fmt.Sprintf(" AND owner = $%d", len(args))
	}
	if !f.DueBy.IsZero() {
		args = append(args, f.DueBy)
		q += fmt.Sprintf(" AND due_at <= $%d", len(args))
	}
	if f.Overdue {
		args = append(args, f.Now)
		q += fmt.Sprintf(" AND due_at < $%d", len(args))
	}
	q += " ORDER BY due_at, case_id, task_id"
	tasks, err := s.tasks(ctx, q, args...)
	if err != nil || len(tasks) == 0 {
		return tasks, err
	}
	var paused []string
	if err := s.db.SelectContext(ctx, &paused, `SELECT case_id FROM cases WHERE paused`); err != nil {
		return nil, err
	}
	for i := range tasks {
		tasks[i].CasePaused = slices.Contains(paused, tasks[i].CaseID)
	}
	return tasks, nil
}

// Tasks returns every task of a case, in the order they started.
func (s *Store) Tasks(ctx context.Context, caseID string) ([]care.Task, error) {
	return s.tasks(ctx, taskColumns+` WHERE case_id = $1 ORDER BY started_at, task_id`, caseID)
}

const taskColumns = `SELECT case_id, task_id, kind, description, owner, started_at, due_at, status, outcome,
	completed_at, escalated_at, clock, met FROM tasks`

func (s *Store) tasks(ctx context.Context, q string, args ...any) ([]care.Task, error) {
	rows, err := s.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []care.Task
	for rows.Next() {
		var t care.Task
		var completed, escalated sql.NullTime
		if err := rows.Scan(&t.CaseID, &t.ID, &t.Kind, &t.Description, &t.Owner, &t.StartedAt, &t.Due, &t.Status,
			&t.Outcome, &completed, &escalated, &t.Clock, &t.Met); err != nil {
			return nil, err
		}
		t.CompletedAt, t.EscalatedAt = completed.Time, escalated.Time
		out = append(out, t)
	}
	return out, rows.Err()
}

// saveAlert puts an alert in the outbox. It is idempotent on the alert id:
// the same alert recorded again (a retried step, or a step a reset re-ran,
// later) stays one row. A reset can also make a case use an id again for a
// different alert (the task counter replays, so task-7 may be another
// task, or the message differs): that one is saved under the id with a
// suffix derived from its content, ReusedAlertID, so that it is delivered
// rather than dropped, and recording it again finds it.
func saveAlert(ctx context.Context, db sqlx.ExtContext, a care.Alert) error {
	const insert = `INSERT INTO alerts (alert_id, case_id, task_id, kind, recipient, message, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (alert_id) DO NOTHING`
	res, err := db.ExecContext(ctx, insert, a.ID, a.CaseID, a.TaskID, a.Kind, a.Recipient, a.Message, a.At)
	if err != nil {
		return fmt.Errorf("save alert %s: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var same bool
	if err := sqlx.GetContext(ctx, db, &same, `SELECT case_id = $2 AND task_id = $3 AND kind = $4 AND recipient = $5 AND message = $6
		FROM alerts WHERE alert_id = $1`, a.ID, a.CaseID, a.TaskID, a.Kind, a.Recipient, a.Message); err != nil {
		return fmt.Errorf("save alert %s: %w", a.ID, err)
	}
	if same {
		return nil
	}
	id := ReusedAlertID(a)
	if _, err := db.ExecContext(ctx, insert, id, a.CaseID, a.TaskID, a.Kind, a.Recipient, a.Message, a.At); err != nil {
		return fmt.Errorf("save alert %s: %w", id, err)
	}
	return nil
}

// ReusedAlertID is the id an alert is saved under when its own id already
// names a different alert: the id, "~" and 12 hex digits of a digest of what
// the alert says (case, task, kind, recipient, message), e.g.
// c-0123456789abcdef/call-7/call-due/1~3f2a9c0b7d1e. The channel receives it
// as the alert's idempotency key like any other.
func ReusedAlertID(a care.Alert) string {
	h := sha256.New()
	for _, f := range []string{a.CaseID, a.TaskID, a.Kind, a.Recipient, a.Message} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return a.ID + "~" + hex.EncodeToString(h.Sum(nil))[:12]
}

// UndeliveredAlerts returns the alerts of a case not yet delivered.
func (s *Store) UndeliveredAlerts(ctx context.Context, caseID string) ([]care.Alert, error) {
	return s.alerts(ctx, `WHERE case_id = $1 AND delivered_at IS NULL`, caseID)
}

// MarkAlertDelivered records that an alert went out.
func (s *Store) MarkAlertDelivered(ctx context.Context, alertID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alerts SET delivered_at = now(), delivery_attempts = delivery_attempts + 1, last_error = NULL
		WHERE alert_id = $1 AND delivered_at IS NULL`, alertID)
	return err
}

// AlertNotDelivered records a failed delivery attempt of an alert and why
// (clipped to 500 bytes). The alert stays undelivered.
func (s *Store) AlertNotDelivered(ctx context.Context, alertID, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	_, err := s.db.ExecContext(ctx, `UPDATE alerts SET delivery_attempts = delivery_attempts + 1, last_error = $2
		WHERE alert_id = $1 AND delivered_at IS NULL`, alertID, reason)
	return err
}

// Alerts returns the alerts of a case, oldest first.
func (s *Store) Alerts(ctx context.Context, caseID string) ([]care.Alert, error) {
	return s.alerts(ctx, `WHERE case_id = $1`, caseID)
}

func (s *Store) alerts(ctx context.Context, where string, args ...any) ([]care.Alert, error) {
	var out []care.Alert
	rows, err := s.db.QueryxContext(ctx, `SELECT alert_id, case_id, task_id, kind, recipient, message, at
		FROM alerts `+where+` ORDER BY at, alert_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a care.Alert
		if err := rows.Scan(&a.ID, &a.CaseID, &a.TaskID, &a.Kind, &a.Recipient, &a.Message, &a.At); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func saveOutcomes(ctx context.Context, db execer, caseID string, o care.Outcomes) error {
	b, _ := json.Marshal(o.Baseline)
	e, _ := json.Marshal(o.Evaluation)
	_, err := db.ExecContext(ctx, `
		INSERT INTO case_outcomes (case_id, baseline, evaluation, evaluated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (case_id) DO UPDATE SET baseline = EXCLUDED.baseline, evaluation = EXCLUDED.evaluation,
			evaluated_at = EXCLUDED.evaluated_at`, caseID, string(b), string(e), o.At)
	return err
}

func savePause(ctx context.Context, db execer, caseID string, p care.PauseRecord) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO case_pauses (case_id, paused_at, resumed_at, reason) VALUES ($1, $2, $3, $4)
		ON CONFLICT (case_id, paused_at) DO UPDATE SET resumed_at = EXCLUDED.resumed_at`,
		caseID, p.PausedAt, nullTime(p.ResumedAt), p.Reason)
	return err
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
