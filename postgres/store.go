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
	"strings"
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
	// step holds the statements of RecordStep, prepared by its first call
	// (the worker's; the CLI never records a step): a step is on every
	// staff action's path, and its check query costs more to plan than to
	// run.
	stepMu sync.Mutex
	step   *stepStatements
}

// stepStatements returns RecordStep's statements, preparing them the first
// time (again after a failure).
func (s *Store) stepStatements(ctx context.Context) (*stepStatements, error) {
	s.stepMu.Lock()
	defer s.stepMu.Unlock()
	if s.step == nil {
		st, err := prepareStep(ctx, s.db)
		if err != nil {
			return nil, err
		}
		s.step = &st
	}
	return s.step, nil
}

// stepStatements are RecordStep's statements, prepared on the pool (each
// connection prepares them on first use and keeps them).
type stepStatements struct {
	lock, seen, caseAndEvent, caseOnly, eventOnly *sqlx.Stmt
}

func prepareStep(ctx context.Context, db *sqlx.DB) (stepStatements, error) {
	var st stepStatements
	// On a failure part way, the statements prepared so far are closed.
	fail := func(err error) (stepStatements, error) {
		for _, stmt := range []*sqlx.Stmt{st.lock, st.seen, st.caseAndEvent, st.caseOnly, st.eventOnly} {
			if stmt != nil {
				stmt.Close()
			}
		}
		return stepStatements{}, fmt.Errorf("prepare the statements of a step: %w", err)
	}
	for _, p := range []struct {
		stmt **sqlx.Stmt
		sql  string
	}{
		{&st.lock, lockStepSQL}, {&st.seen, seenStepSQL}, {&st.caseAndEvent, upsertCaseAndEventSQL},
		{&st.caseOnly, upsertCaseSQL}, {&st.eventOnly, insertEventSQL},
	} {
		stmt, err := db.PreparexContext(ctx, p.sql)
		if err != nil {
			return fail(err)
		}
		*p.stmt = stmt
	}
	return st, nil
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
func (s *Store) Close() error { return s.db.Close() }

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
// Late writes of a superseded run reach the trail but not the snapshot.
func (s *Store) RecordStep(ctx context.Context, st care.Step, runID string) error {
	stmts, err := s.stepStatements(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ev, snap := st.Event, st.Snapshot
	// One step of a case at a time: the reset check reads what others write.
	if _, err := tx.StmtxContext(ctx, stmts.lock).ExecContext(ctx, ev.CaseID); err != nil {
		return err
	}
	detail := []byte("{}")
	if ev.Detail != nil {
		if detail, err = json.Marshal(ev.Detail); err != nil {
			return fmt.Errorf("encode detail of event %d of case %s: %w", ev.Seq, ev.CaseID, err)
		}
	}
	// In one query: the same step recorded before, under any run (a retry,
	// also one that began before runs were recorded); whether this run was
	// superseded by a reset; and the other live runs with steps at or
	// after this seq, which this run re-runs (the case was reset).
	var seen struct {
		Recorded   bool           `db:"recorded"`
		Superseded bool           `db:"superseded"`
		Others     pq.StringArray `db:"others"`
	}
	if err := tx.StmtxContext(ctx, stmts.seen).GetContext(ctx, &seen,
		ev.CaseID, ev.Seq, ev.Action, ev.At, runID); err != nil {
		return err
	}
	recorded, superseded := seen.Recorded, seen.Superseded
	reset := false
	if !recorded && !superseded && runID != "" && len(seen.Others) > 0 {
		reset = true
		if err := recordReset(ctx, tx, ev, runID, seen.Others); err != nil {
			return err
		}
	}
	// The case row and the event go in one statement (one round trip) when
	// both are written, which is every step but a retried or superseded one.
	caseArgs := []any{snap.CaseID, snap.PatientID, snap.Program, snap.Model, snap.Manager, snap.Source, snap.Phase, snap.Risk, snap.RiskScore,
		snap.Category, snap.ClosureReason, snap.OpenedAt, snap.ClosedAt, snap.NextDueAt, snap.LastEventSeq, runID, reset, snap.Paused}
	eventArgs := []any{ev.CaseID, runID, ev.Seq, ev.At, ev.Actor, ev.Action, ev.PhaseBefore, ev.PhaseAfter, ev.Summary, string(detail)}
	switch {
	case !superseded && !recorded:
		if _, err := tx.StmtxContext(ctx, stmts.caseAndEvent).ExecContext(ctx, append(caseArgs, eventArgs...)...); err != nil {
			return fmt.Errorf("record event %d of case %s: %w", ev.Seq, ev.CaseID, err)
		}
	case !superseded:
		if _, err := tx.StmtxContext(ctx, stmts.caseOnly).ExecContext(ctx, caseArgs...); err != nil {
			return fmt.Errorf("update case %s: %w", snap.CaseID, err)
		}
	case !recorded:
		if _, err := tx.StmtxContext(ctx, stmts.eventOnly).ExecContext(ctx, eventArgs...); err != nil {
			return fmt.Errorf("record event %d of case %s: %w", ev.Seq, ev.CaseID, err)
		}
	}
	for _, t := range st.Tasks {
		if err := saveTask(ctx, tx, t); err != nil {
			return err
		}
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

// lockStepSQL takes the lock of a case's steps ($1, the case id) until the
// transaction ends.
const lockStepSQL = `SELECT pg_advisory_xact_lock(hashtext('case-step:' || $1))`

// seenStepSQL tells, for a step ($1 case, $2 seq, $3 action, $4 at, $5 run),
// whether it was recorded before, whether its run was superseded, and the
// other live runs with steps at or after it.
const seenStepSQL = `SELECT
		EXISTS (SELECT 1 FROM case_events
			WHERE case_id = $1 AND seq = $2 AND action = $3 AND at = $4 AND run_id IN ($5, '')) AS recorded,
		EXISTS (SELECT 1 FROM superseded_runs WHERE case_id = $1 AND run_id = $5) AS superseded,
		ARRAY(SELECT DISTINCT e.run_id FROM case_events e
			WHERE $5 <> '' AND e.case_id = $1 AND e.seq >= $2 AND e.run_id <> $5
			AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id)
			ORDER BY e.run_id) AS others`

// upsertCaseSQL writes a case's snapshot ($1 to $18) unless the row holds a
// later step, or $17 (a reset) says this run's step replaces it.
const upsertCaseSQL = `
	INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, risk, risk_score,
		care_category, closure_reason, opened_at, closed_at, next_due_at, last_event_seq, run_id, paused)
	VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, NULLIF($10, ''), NULLIF($11, ''), $12, $13, $14, $15, $16, $18)
	ON CONFLICT (case_id) DO UPDATE SET
		phase = EXCLUDED.phase, risk = EXCLUDED.risk, risk_score = EXCLUDED.risk_score,
		care_category = EXCLUDED.care_category, closure_reason = EXCLUDED.closure_reason,
		manager = EXCLUDED.manager, model = EXCLUDED.model,
		closed_at = EXCLUDED.closed_at, next_due_at = EXCLUDED.next_due_at,
		last_event_seq = EXCLUDED.last_event_seq, run_id = EXCLUDED.run_id, paused = EXCLUDED.paused, updated_at = now()
	WHERE cases.last_event_seq < EXCLUDED.last_event_seq OR $17`

// insertEventSQL records an event ($1 to $10) once; upsertCaseAndEventSQL
// is both statements in one, the event's values numbered after the case's.
var (
	insertEventSQL        = eventSQL(0)
	upsertCaseAndEventSQL = "WITH c AS (" + upsertCaseSQL + ") " + eventSQL(18)
)

// eventSQL records an event once, its ten values numbered after the first n
// parameters of the statement.
func eventSQL(n int) string {
	ps := make([]string, 10)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", n+i+1)
	}
	return `INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
	VALUES (` + strings.Join(ps, ", ") + `)
	ON CONFLICT (case_id, run_id, seq, action) DO NOTHING`
}

// ActionReset is the action of the audit event that records a reset of a
// case's workflow.
const ActionReset = "reset"

// recordReset records that run took over the case from the runs others at
// ev's seq: a "reset" event, and the replaced runs as superseded.
func recordReset(ctx context.Context, tx *sqlx.Tx, ev care.Event, run string, others []string) error {
	var last int
	if err := tx.GetContext(ctx, &last, `SELECT COALESCE(max(seq), 0) FROM case_events WHERE case_id = $1`, ev.CaseID); err != nil {
		return err
	}
	for _, o := range others {
		if _, err := tx.ExecContext(ctx, `INSERT INTO superseded_runs (case_id, run_id, by_run_id, from_seq) VALUES ($1, $2, $3, $4)
			ON CONFLICT (case_id, run_id) DO NOTHING`, ev.CaseID, o, run, ev.Seq); err != nil {
			return fmt.Errorf("record reset of case %s: %w", ev.CaseID, err)
		}
	}
	summary := fmt.Sprintf("workflow reset: run %s takes the case over from event %d; events %d to %d of run %s were superseded and stay in the trail",
		run, ev.Seq, ev.Seq, last, strings.Join(others, ", "))
	detail, _ := json.Marshal(map[string]any{"run_id": run, "from_seq": ev.Seq, "superseded_to_seq": last, "superseded_runs": others})
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
		ON CONFLICT (case_id, run_id, seq, action) DO NOTHING`,
		ev.CaseID, run, ev.Seq, ev.At, care.ActorSystem, ActionReset, ev.PhaseBefore, summary, string(detail)); err != nil {
		return fmt.Errorf("record reset of case %s: %w", ev.CaseID, err)
	}
	return nil
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
