package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
)

// InboxStatus is where an ADT message stands in the inbox.
type InboxStatus string

// Inbox statuses.
const (
	// InboxPending: stored and acknowledged, not yet applied.
	InboxPending InboxStatus = "pending"
	// InboxApplied: applied to the cases listed.
	InboxApplied InboxStatus = "applied"
	// InboxIgnored: understood, and nothing to do (the reason says why).
	InboxIgnored InboxStatus = "ignored"
	// InboxRejected: answered AE or AR; never applied.
	InboxRejected InboxStatus = "rejected"
	// InboxFailed: accepted, but applying it failed for good.
	InboxFailed InboxStatus = "failed"
)

// InboxMessage is one stored ADT message. Raw is PHI.
type InboxMessage struct {
	Seq             int64  `db:"seq" json:"seq"`
	SendingFacility string `db:"sending_facility" json:"sending_facility"`
	ControlID       string `db:"control_id" json:"control_id"`
	Event           string `db:"event" json:"event"`
	Raw             string `db:"raw" json:"-"`
	// Digest identifies the message's content when Raw is purged (the
	// listener's digest of its segments; empty before it was kept).
	Digest        string         `db:"digest" json:"-"`
	ReceivedAt    time.Time      `db:"received_at" json:"received_at"`
	Status        InboxStatus    `db:"status" json:"status"`
	Reason        string         `db:"reason" json:"reason"`
	CaseIDs       pq.StringArray `db:"case_ids" json:"case_ids"`
	Attempts      int            `db:"attempts" json:"attempts"`
	NextAttemptAt time.Time      `db:"next_attempt_at" json:"next_attempt_at"`
	DoneAt        *time.Time     `db:"done_at" json:"done_at,omitempty"`
}

const inboxColumns = `seq, sending_facility, control_id, event, raw, digest, received_at, status, reason, case_ids, attempts, next_attempt_at, done_at`

// StoreInbound stores a received message under (facility, control id) with
// the status given (pending for one to apply, rejected for one answered AE
// or AR). It reports false, and changes nothing, when a message with that
// key was accepted already: the sender resent it; the stored one is
// returned. A message that was rejected is replaced by its resend (the
// sender may have fixed it, or the patient may be registered since).
func (s *Store) StoreInbound(ctx context.Context, m InboxMessage) (InboxMessage, bool, error) {
	if m.Status == "" {
		m.Status = InboxPending
	}
	var got InboxMessage
	err := s.db.GetContext(ctx, &got, `
		INSERT INTO adt_inbox (sending_facility, control_id, event, raw, digest, status, reason, done_at)
		VALUES ($1, $2, $3, $4, $7, $5, $6, CASE WHEN $5 = 'pending' THEN NULL ELSE now() END)
		ON CONFLICT (sending_facility, control_id) DO UPDATE SET
			event = EXCLUDED.event, raw = EXCLUDED.raw, digest = EXCLUDED.digest, status = EXCLUDED.status, reason = EXCLUDED.reason,
			received_at = now(), done_at = EXCLUDED.done_at, next_attempt_at = now()
			WHERE adt_inbox.status = 'rejected'
		RETURNING `+inboxColumns, m.SendingFacility, m.ControlID, m.Event, m.Raw, m.Status, m.Reason, m.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		got, err = s.InboxMessage(ctx, m.SendingFacility, m.ControlID)
		return got, false, err
	}
	return got, err == nil, err
}

// InboxMessage returns the stored message with the key.
func (s *Store) InboxMessage(ctx context.Context, facility, controlID string) (InboxMessage, error) {
	var m InboxMessage
	err := s.db.GetContext(ctx, &m, `SELECT `+inboxColumns+` FROM adt_inbox WHERE sending_facility = $1 AND control_id = $2`, facility, controlID)
	if errors.Is(err, sql.ErrNoRows) {
		return m, care.ErrNotFound
	}
	return m, err
}

// NextPending returns the oldest pending message, in the order received, or
// false when there is none. Messages are applied strictly in order (an
// admission before the discharge that follows it), so a message waiting for
// a retry holds back the ones behind it.
func (s *Store) NextPending(ctx context.Context) (InboxMessage, bool, error) {
	var m InboxMessage
	err := s.db.GetContext(ctx, &m, `SELECT `+inboxColumns+` FROM adt_inbox WHERE status = 'pending' ORDER BY seq LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	return m, err == nil, err
}

// RetryInbound counts a failed attempt of a pending message and sets when
// to try it again; reason says what failed (never PHI), done the cases the
// message reached already (the next attempt skips them).
func (s *Store) RetryInbound(ctx context.Context, seq int64, next time.Time, reason string, done []string) error {
	if done == nil {
		done = []string{}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE adt_inbox SET attempts = attempts + 1, next_attempt_at = $2, reason = $3, case_ids = $4
		WHERE seq = $1 AND status = 'pending'`, seq, next, reason, pq.StringArray(done))
	return err
}

// FinishInbound records the outcome of a pending message. One an operator
// set aside while it was being applied gets the outcome too, which is what
// happened, with the operator's reason after it.
func (s *Store) FinishInbound(ctx context.Context, seq int64, status InboxStatus, reason string, caseIDs []string) error {
	if caseIDs == nil {
		caseIDs = []string{}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE adt_inbox SET status = $2, case_ids = $4, attempts = attempts + 1, done_at = now(),
		reason = left($3 || CASE WHEN status = 'failed' THEN ' (done as it was being ' || reason || ')' ELSE '' END, 1000)
		WHERE seq = $1 AND (status = 'pending' OR (status = 'failed' AND starts_with(reason, $5)))`,
		seq, status, reason, pq.StringArray(caseIDs), setAsideBy)
	return err
}

// SetAsideInbound takes a pending message out of the feed, with the
// actor's reason: it becomes failed, and the messages behind it are
// applied. An operator does this to a message that keeps failing for a
// reason that does not pass; RetryFailedInbound puts it back.
func (s *Store) SetAsideInbound(ctx context.Context, facility, controlID, actor, reason string) (InboxMessage, error) {
	return s.moveInbound(ctx, facility, controlID, InboxPending, `status = 'failed', done_at = now(),
		reason = left($3 || CASE WHEN reason = '' OR starts_with(reason, $5) THEN '' ELSE format(' (after %s failed attempt(s), the last: %s)', attempts, reason) END, 1000)`,
		setAsideBy+actor+": "+reason, putBackBy)
}

// setAsideBy begins the reason of a message an operator set aside.
const setAsideBy = "set aside by "

// RetryFailedInbound puts a failed message back in the feed, to be applied
// next (it keeps its place in the order received), skipping the cases it
// reached already; the reason names the actor who put it back.
func (s *Store) RetryFailedInbound(ctx context.Context, facility, controlID, actor string) (InboxMessage, error) {
	return s.moveInbound(ctx, facility, controlID, InboxFailed,
		`status = 'pending', done_at = NULL, next_attempt_at = now(), reason = $3`, putBackBy+actor)
}

// putBackBy begins the reason of a message an operator put back.
const putBackBy = "put back by "

// moveInbound sets a message of status from as set says ($3 the reason,
// $5 on the values more), or tells why it cannot: no such message, another
// status, or its text purged.
func (s *Store) moveInbound(ctx context.Context, facility, controlID string, from InboxStatus, set, reason string, more ...any) (InboxMessage, error) {
	var m InboxMessage
	err := s.db.GetContext(ctx, &m, `UPDATE adt_inbox SET `+set+`
		WHERE sending_facility = $1 AND control_id = $2 AND status = $4 AND raw <> ''
		RETURNING `+inboxColumns, append([]any{facility, controlID, reason, from}, more...)...)
	if !errors.Is(err, sql.ErrNoRows) {
		m.Raw = ""
		return m, err
	}
	got, err := s.InboxMessage(ctx, facility, controlID)
	switch {
	case errors.Is(err, care.ErrNotFound):
		return m, care.NotFoundf("no ADT message %s/%s is in the inbox (see caseflow adt inbox)", facility, controlID)
	case err != nil:
		return m, err
	case got.Status != from:
		return m, care.NotAllowedf("ADT message %s/%s is %s, not %s", facility, controlID, got.Status, from)
	}
	return m, care.NotAllowedf("ADT message %s/%s has had its text purged, so it cannot be applied; ask the sender to resend it", facility, controlID)
}

// Inbox lists the stored messages newest first, without their text.
func (s *Store) Inbox(ctx context.Context, limit int) ([]InboxMessage, error) {
	var ms []InboxMessage
	err := s.db.SelectContext(ctx, &ms, `SELECT seq, sending_facility, control_id, event, '' AS raw, received_at, status, reason, case_ids,
		attempts, next_attempt_at, done_at FROM adt_inbox ORDER BY seq DESC LIMIT $1`, limit)
	return ms, err
}

// PatientIDByRef returns the opaque id of the patient with the external
// reference, or care.ErrNotFound.
func (s *Store) PatientIDByRef(ctx context.Context, externalRef string) (string, error) {
	var id string
	err := s.db.GetContext(ctx, &id, `SELECT patient_id FROM patients WHERE external_ref = $1`, externalRef)
	if errors.Is(err, sql.ErrNoRows) {
		return "", care.ErrNotFound
	}
	return id, err
}

// OpenCase is an open case of a patient, and whether its readmission watch
// is open.
type OpenCase struct {
	CaseID          string     `db:"case_id"`
	Program         string     `db:"program"`
	Phase           care.Phase `db:"phase"`
	ReadmissionOpen bool       `db:"readmission_open"`
}

// OpenCases lists the open cases of a patient, oldest first.
func (s *Store) OpenCases(ctx context.Context, patientID string) ([]OpenCase, error) {
	var cs []OpenCase
	err := s.db.SelectContext(ctx, &cs, `
		SELECT c.case_id, c.program, c.phase,
		       EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.case_id AND t.kind = $2 AND t.status = 'open') AS readmission_open
		FROM cases c WHERE c.patient_id = $1 AND c.closed_at IS NULL ORDER BY c.opened_at, c.case_id`,
		patientID, care.TaskReadmissionWatch)
	return cs, err
}

// UpdatePatientDemographics sets a known patient's name and birth date (an
// ADT A08); empty values leave the record as it is.
func (s *Store) UpdatePatientDemographics(ctx context.Context, patientID, name string, birthDate *time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE patients SET name = COALESCE(NULLIF($2, ''), name),
		birth_date = COALESCE($3, birth_date), updated_at = now() WHERE patient_id = $1`, patientID, name, birthDate)
	return err
}

// PurgeInbound blanks the text (the PHI) of the messages received before
// the time that are done with (not pending), and returns how many it
// blanked. Their key, digest, status and reason stay: a late resend is
// still recognised (by its digest), and the audit of what was done remains.
func (s *Store) PurgeInbound(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE adt_inbox SET raw = '' WHERE received_at < $1 AND status <> 'pending' AND raw <> ''`, before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// applierLockKey is the PostgreSQL advisory lock that the one listener
// applying a database's inbox holds ("caseflow adt applier"): messages are
// applied strictly in order, which two appliers would not keep.
const applierLockKey int64 = 0x61647401

// ApplierTurn reports whether this store's listener is the one that
// applies the inbox: it holds the applier's lock, on a session of its own,
// or takes it now because no other session holds it. false: another
// listener applies the inbox (or this one's session ended and another took
// over). A message being applied when the session ends may be applied by
// the next holder again, which the cases drop (care.Transition.Message).
func (s *Store) ApplierTurn(ctx context.Context) (bool, error) {
	s.applierMu.Lock()
	defer s.applierMu.Unlock()
	if s.applier != nil {
		var held bool
		err := s.applier.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
			AND pid = pg_backend_pid() AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted)`, applierLockKey).Scan(&held)
		if err == nil && held {
			return true, nil
		}
		s.releaseApplier()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, applierLockKey).Scan(&ok); err != nil || !ok {
		_ = conn.Close()
		return false, err
	}
	s.applier = conn
	return true, nil
}

// ReleaseApplier lets the inbox applier's lock go, for another listener.
func (s *Store) ReleaseApplier() {
	s.applierMu.Lock()
	defer s.applierMu.Unlock()
	s.releaseApplier()
}

func (s *Store) releaseApplier() {
	if s.applier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.applier.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, applierLockKey); err != nil {
		// The session may still hold it: end the session rather than
		// return it to the pool.
		_ = s.applier.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = s.applier.Close()
	s.applier = nil
}
