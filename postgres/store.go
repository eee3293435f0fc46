// Package postgres is caseflow's PostgreSQL store: patients (the only place
// that holds their personal data), the case snapshot, the append-only audit
// trail and the planned services. Every write is idempotent on its business
// key, so activities can retry it safely.
package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/schema"
)

// DefaultURL is the database used when DATABASE_URL is not set: the local
// PostgreSQL of a development machine.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/caseflow?sslmode=disable"

// URLFromEnv returns DATABASE_URL, or DefaultURL when it is not set.
func URLFromEnv() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Store is the PostgreSQL store.
type Store struct {
	db *sqlx.DB
	// step is RecordStep's statement, prepared by its first call (the
	// worker's; the CLI never records a step): a step is on every staff
	// action's path.
	stepMu sync.Mutex
	step   *sqlx.Stmt
	// applier is the session that holds the inbox applier's lock, when
	// this store's listener holds it (inbox.go, ApplierTurn).
	applierMu sync.Mutex
	applier   *sql.Conn
}

// stepStatement returns RecordStep's statement, preparing it the first
// time (again after a failure). Each connection prepares it on first use
// and keeps it.
func (s *Store) stepStatement(ctx context.Context) (*sqlx.Stmt, error) {
	s.stepMu.Lock()
	defer s.stepMu.Unlock()
	if s.step == nil {
		st, err := s.db.PreparexContext(ctx, recordStepSQL)
		if err != nil {
			return nil, fmt.Errorf("prepare the statement of a step: %w", err)
		}
		s.step = st
	}
	return s.step, nil
}

// Pool sizes a store's connection pool (database/sql's SetMaxOpenConns,
// SetMaxIdleConns and SetConnMaxLifetime).
type Pool struct {
	// MaxOpenConns bounds the connections open at once (in use or idle):
	// a caller that needs one more waits for one to be returned.
	MaxOpenConns int
	// MaxIdleConns is how many returned connections are kept for reuse; the
	// others are closed. At most MaxOpenConns.
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened
	// (when it is next idle); 0 keeps connections forever.
	ConnMaxLifetime time.Duration
}

// DefaultPool is the pool Open sizes: 20 connections, all kept when idle,
// each replaced after 30 minutes.
var DefaultPool = Pool{MaxOpenConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute}

// Validate reports a pool database/sql would silently change: no
// connection at all, or more idle than open connections.
func (p Pool) Validate() error {
	switch {
	case p.MaxOpenConns < 1:
		return fmt.Errorf("max open connections %d: must be at least 1", p.MaxOpenConns)
	case p.MaxIdleConns < 0 || p.MaxIdleConns > p.MaxOpenConns:
		return fmt.Errorf("max idle connections %d: must be between 0 and the max open connections (%d)", p.MaxIdleConns, p.MaxOpenConns)
	case p.ConnMaxLifetime < 0:
		return fmt.Errorf("connection max lifetime %s: must not be negative (0 keeps connections forever)", p.ConnMaxLifetime)
	}
	return nil
}

// Open connects to the database at dsn with DefaultPool and checks that it
// answers and is migrated to the schema this binary expects.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenPool(ctx, dsn, DefaultPool)
}

// OpenPool is Open with the connection pool sized by pool.
func OpenPool(ctx context.Context, dsn string, pool Pool) (*Store, error) {
	if err := pool.Validate(); err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, care.Invalidf("DATABASE_URL", "%s: %v", redact(dsn), err)
	}
	// A query with parameters in one round trip (parse, bind and execute
	// together) instead of two (prepare, then execute): a step of a case
	// is a transaction of several statements, on a staff action's path.
	// (A step's own statements are prepared once, see stepStatements.)
	// Parameters then go as text, except []byte, which would go as binary:
	// pass JSON for jsonb columns as a string.
	cfg.BinaryParameters = true
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, care.Unavailablef("cannot reach the database at %s: %v; check DATABASE_URL and that PostgreSQL is running, then run \"caseflow migrate\"", redact(dsn), err)
	}
	current, latest, err := schema.Version(ctx, db.DB)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database at %s: cannot read the schema version: %v", redact(dsn), err)
	}
	if current < latest {
		db.Close()
		return nil, fmt.Errorf("database at %s is at schema version %d, this caseflow needs %d: run \"caseflow migrate\"", redact(dsn), current, latest)
	}
	db.SetMaxOpenConns(pool.MaxOpenConns)
	db.SetMaxIdleConns(pool.MaxIdleConns)
	db.SetConnMaxLifetime(pool.ConnMaxLifetime)
	return &Store{db: db}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.ReleaseApplier()
	return s.db.Close()
}

// DB returns the underlying connection pool, for tests and migrations.
func (s *Store) DB() *sqlx.DB { return s.db }

// redact hides the password of a database URL, wherever it is written.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(DATABASE_URL, not shown: use the postgres://user@host:port/db form)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Patient is a person cases are opened for. Its fields are protected health
// information and never leave this store.
type Patient struct {
	ID          string     `db:"patient_id" json:"patient_id"`
	ExternalRef string     `db:"external_ref" json:"external_ref"`
	Name        *string    `db:"name" json:"name,omitempty"`
	BirthDate   *time.Time `db:"birth_date" json:"birth_date,omitempty"`
}

// UpsertPatient returns the opaque id of the patient with externalRef,
// registering the patient when new. A name or birth date given for a known
// patient updates the record; an empty one leaves it as it is.
func (s *Store) UpsertPatient(ctx context.Context, externalRef, name string, birthDate *time.Time) (string, error) {
	id, err := newID("p-")
	if err != nil {
		return "", err
	}
	var got string
	err = s.db.QueryRowxContext(ctx, `
		INSERT INTO patients (patient_id, external_ref, name, birth_date)
		VALUES ($1, $2, NULLIF($3, ''), $4)
		ON CONFLICT (external_ref) DO UPDATE SET
			name = COALESCE(EXCLUDED.name, patients.name),
			birth_date = COALESCE(EXCLUDED.birth_date, patients.birth_date),
			updated_at = now()
		RETURNING patient_id`, id, externalRef, name, birthDate).Scan(&got)
	return got, err
}

// Patient returns the patient with the opaque id.
func (s *Store) Patient(ctx context.Context, patientID string) (Patient, error) {
	var p Patient
	err := s.db.GetContext(ctx, &p, `SELECT patient_id, external_ref, name, birth_date FROM patients WHERE patient_id = $1`, patientID)
	if errors.Is(err, sql.ErrNoRows) {
		return p, care.ErrNotFound
	}
	return p, err
}

// RecordStep writes one step of a case in one transaction: the audit event,
// the snapshot, the tasks and alerts the step produced, and its outcomes or
// pause. runID is the workflow run that took the step. Running it twice
// leaves one row of each (the event is keyed on (case, run, seq, action),
// tasks on (case, task), alerts on their id), and an older step retried late
// never rolls the snapshot back.
//
// A reset ("temporal workflow reset") makes a new run take steps again with
// sequence numbers the trail already has. The first such step records a
// "reset" event, marks the runs it replaces as superseded and moves the
// snapshot to the new run; the re-run steps are appended, never dropped.
// A late write of a superseded run reaches the trail and nothing else: not
// the snapshot, its tasks, alerts, outcomes, pause, services or plan change.
//
// The checks, the reset, the snapshot, the event and the tasks are one
// statement (function caseflow_record_step); alerts and the rest go in the
// same transaction after it.
func (s *Store) RecordStep(ctx context.Context, st care.Step, runID string) error {
	stmt, err := s.stepStatement(ctx)
	if err != nil {
		return err
	}
	ev, snap := st.Event, st.Snapshot
	detail := []byte("{}")
	if ev.Detail != nil {
		if detail, err = json.Marshal(ev.Detail); err != nil {
			return fmt.Errorf("encode detail of event %d of case %s: %w", ev.Seq, ev.CaseID, err)
		}
	}
	tasks, err := stepTasks(st.Tasks)
	if err != nil {
		return fmt.Errorf("encode the tasks of event %d of case %s: %w", ev.Seq, ev.CaseID, err)
	}
	args := []any{snap.CaseID, snap.PatientID, snap.Program, snap.Model, snap.Manager, snap.Source, snap.Phase, snap.Risk, snap.RiskScore,
		snap.Category, snap.ClosureReason, snap.OpenedAt, snap.ClosedAt, snap.NextDueAt, snap.LastEventSeq, snap.Paused,
		runID, ev.Seq, ev.At, ev.Actor, ev.Action, ev.PhaseBefore, ev.PhaseAfter, ev.Summary, string(detail),
		care.ActorSystem, ActionReset, tasks}
	// A step that writes only the case row, its event and tasks (a
	// contact, a follow-up call) is the one statement, in a transaction of
	// its own: one round trip.
	var did string
	if len(st.Alerts) == 0 && st.Outcomes == nil && st.Pause == nil && len(st.Services) == 0 && st.PlanChange == nil {
		if err := stmt.QueryRowxContext(ctx, args...).Scan(&did); err != nil {
			return fmt.Errorf("record event %d of case %s: %w", ev.Seq, ev.CaseID, err)
		}
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.StmtxContext(ctx, stmt).QueryRowxContext(ctx, args...).Scan(&did); err != nil {
		return fmt.Errorf("record event %d of case %s: %w", ev.Seq, ev.CaseID, err)
	}
	if did == stepSuperseded {
		// A reset replaced this run: its event stays in the trail, and
		// nothing else of it (alerts to send, services, outcomes) may
		// overwrite what the run that took the case over recorded.
		return tx.Commit()
	}
	for _, a := range st.Alerts {
		if err := saveAlert(ctx, tx, a); err != nil {
			return err
		}
	}
	if o := st.Outcomes; o != nil {
		if err := saveOutcomes(ctx, tx, ev.CaseID, *o); err != nil {
			return err
		}
	}
	if p := st.Pause; p != nil {
		if err := savePause(ctx, tx, ev.CaseID, *p); err != nil {
			return err
		}
	}
	if err := saveServices(ctx, tx, ev.CaseID, st.Services); err != nil {
		return err
	}
	if pc := st.PlanChange; pc != nil {
		if err := savePlanChange(ctx, tx, ev.CaseID, *pc); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// stepSuperseded is what caseflow_record_step returns for a step of a run
// that a reset superseded: it kept the event and wrote nothing else.
const stepSuperseded = "superseded"

// recordStepSQL records a step's case row and event, once, with the reset
// it makes (function caseflow_record_step, migrations 00010, 00011 and 00013): $1 to $16
// the case's snapshot, $17 the run, $18 to $25 the event, $26 and $27 the
// actor and action of a reset event, $28 the tasks (stepTasks).
const recordStepSQL = `SELECT caseflow_record_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
	$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)`

// stepTask is a task as caseflow_record_step reads it (jsonb_to_recordset):
// the tasks table's columns; a time that is not set is left out (null).
type stepTask struct {
	CaseID      string    `json:"case_id"`
	TaskID      string    `json:"task_id"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Owner       string    `json:"owner"`
	StartedAt   time.Time `json:"started_at"`
	DueAt       time.Time `json:"due_at"`
	Status      string    `json:"status"`
	Outcome     string    `json:"outcome"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	Clock       bool      `json:"clock"`
	Met         *bool     `json:"met"`
}

// stepTasks encodes a step's tasks for caseflow_record_step. A task listed
// twice is written once, as it was listed last.
func stepTasks(tasks []care.Task) (string, error) {
	out := make([]stepTask, 0, len(tasks))
	at := map[string]int{}
	for _, t := range tasks {
		st := stepTask{CaseID: t.CaseID, TaskID: t.ID, Kind: string(t.Kind), Description: t.Description, Owner: t.Owner,
			StartedAt: t.StartedAt, DueAt: t.Due, Status: string(t.Status), Outcome: t.Outcome,
			CompletedAt: t.CompletedAt, EscalatedAt: t.EscalatedAt, Clock: t.Clock, Met: t.Met}
		k := t.CaseID + "\x00" + t.ID
		if i, ok := at[k]; ok {
			out[i] = st
			continue
		}
		at[k] = len(out)
		out = append(out, st)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// ActionReset is the action of the audit event that records a reset of a
// case's workflow: a run took over the case from other runs at a step's
// seq, whose steps from there are superseded and stay in the trail.
const ActionReset = "reset"

// TasksByID returns the case's tasks with the ids given, as they stand
// (status and met only), keyed by id; ids it has no task for are left out.
func (s *Store) TasksByID(ctx context.Context, caseID string, ids []string) (map[string]care.Task, error) {
	var rows []struct {
		ID     string          `db:"task_id"`
		Status care.TaskStatus `db:"status"`
		Met    *bool           `db:"met"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT task_id, status, met FROM tasks WHERE case_id = $1 AND task_id = ANY($2)`,
		caseID, pq.StringArray(ids)); err != nil {
		return nil, err
	}
	out := make(map[string]care.Task, len(rows))
	for _, r := range rows {
		out[r.ID] = care.Task{ID: r.ID, CaseID: caseID, Status: r.Status, Met: r.Met}
	}
	return out, nil
}

// Case returns the snapshot of a case.
func (s *Store) Case(ctx context.Context, caseID string) (care.Snapshot, error) {
	var c care.Snapshot
	err := s.db.GetContext(ctx, &c, `
		SELECT case_id, patient_id, program, model, manager, source, phase, COALESCE(risk, '') AS risk, risk_score,
			COALESCE(care_category, '') AS care_category, COALESCE(closure_reason, '') AS closure_reason,
			opened_at, closed_at, next_due_at, last_event_seq, paused
		FROM cases WHERE case_id = $1`, caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, care.ErrNotFound
	}
	return c, err
}

// Events returns the audit trail of a case, oldest first: in seq order,
// and after a reset the superseded events, the "reset" event and the
// events of the run that took over, in that order.
func (s *Store) Events(ctx context.Context, caseID string) ([]care.Event, error) {
	// A run's epoch is how many resets came before its first event: the
	// trail lists the runs before a reset, then the "reset" event, then the
	// runs after it, each in seq order.
	rows, err := s.db.QueryxContext(ctx, `
		WITH first AS (SELECT run_id, min(pos) AS pos FROM case_events WHERE case_id = $1 GROUP BY run_id),
		resets AS (SELECT pos FROM case_events WHERE case_id = $1 AND action = 'reset')
		SELECT e.case_id, e.seq, e.at, e.actor, e.action, e.phase_before, e.phase_after, e.summary, e.detail
		FROM case_events e JOIN first f USING (run_id)
		WHERE e.case_id = $1
		ORDER BY (SELECT count(*) FROM resets r WHERE r.pos <= f.pos), e.seq, e.pos`, caseID)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// LiveEvents returns the live steps of a case, in seq order: the trail
// without the events a reset superseded (those of a replaced run from the
// seq the reset took the case over at), so each step is there once, as the
// run that holds the case recorded it. The "reset" events themselves are
// live. The FHIR export reads the case from these; the case history shows
// the whole trail (Events).
func (s *Store) LiveEvents(ctx context.Context, caseID string) ([]care.Event, error) {
	rows, err := s.db.QueryxContext(ctx, `
		SELECT e.case_id, e.seq, e.at, e.actor, e.action, e.phase_before, e.phase_after, e.summary, e.detail
		FROM case_events e
		WHERE e.case_id = $1
			AND NOT EXISTS (SELECT 1 FROM superseded_runs r
				WHERE r.case_id = e.case_id AND r.run_id = e.run_id AND e.seq >= r.from_seq)
		ORDER BY e.seq, e.pos`, caseID)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

func scanEvents(rows *sqlx.Rows) ([]care.Event, error) {
	defer rows.Close()
	var evs []care.Event
	for rows.Next() {
		var e care.Event
		var detail []byte
		if err := rows.Scan(&e.CaseID, &e.Seq, &e.At, &e.Actor, &e.Action, &e.PhaseBefore, &e.PhaseAfter, &e.Summary, &detail); err != nil {
			return nil, err
		}
		e.Detail = json.RawMessage(detail)
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// SaveServices records the services of a case's current care plan with their
// coordination status. It is idempotent on (case, service).
func (s *Store) SaveServices(ctx context.Context, caseID string, services []care.ServiceState) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := saveServices(ctx, tx, caseID, services); err != nil {
		return err
	}
	return tx.Commit()
}

func saveServices(ctx context.Context, db execer, caseID string, services []care.ServiceState) error {
	for _, sv := range services {
		_, err := db.ExecContext(ctx, `
			INSERT INTO case_services (case_id, service_id, code, name, frequency, requires_authorization, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (case_id, service_id) DO UPDATE SET
				code = EXCLUDED.code, name = EXCLUDED.name, frequency = EXCLUDED.frequency,
				requires_authorization = EXCLUDED.requires_authorization, status = EXCLUDED.status, updated_at = now()`,
			caseID, sv.ID, sv.Code, sv.Name, sv.Frequency, sv.RequiresAuthorization, sv.Status)
		if err != nil {
			return fmt.Errorf("save service %s of case %s: %w", sv.ID, caseID, err)
		}
	}
	return nil
}

// Services returns the planned services of a case.
func (s *Store) Services(ctx context.Context, caseID string) ([]care.ServiceState, error) {
	rows, err := s.db.QueryxContext(ctx, `
		SELECT service_id, code, name, frequency, requires_authorization, status
		FROM case_services WHERE case_id = $1 ORDER BY service_id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []care.ServiceState
	for rows.Next() {
		var sv care.ServiceState
		if err := rows.Scan(&sv.ID, &sv.Code, &sv.Name, &sv.Frequency, &sv.RequiresAuthorization, &sv.Status); err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}

// SafeError is err as a log line may carry it: a PostgreSQL error by its
// SQLSTATE code and condition name only, since its message can quote the
// values of a row (a patient's name in an encoding error, a key in a
// constraint's). Other errors (a connection refused, a timeout) are as
// they are.
func SafeError(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return fmt.Sprintf("postgres error %s (%s)", pqErr.Code, pqErr.Code.Name())
	}
	return err.Error()
}

// IsUniqueViolation reports whether err is a PostgreSQL unique-constraint error.
func IsUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}

func newID(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}
