package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

func TestInboxStoresOnceAndInOrder(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	msg := func(id string) postgres.InboxMessage {
		return postgres.InboxMessage{SendingFacility: "CITYHOSP", ControlID: id, Event: "A03", Raw: "MSH|...|" + id}
	}
	first, isNew, err := s.StoreInbound(ctx, msg("M1"))
	if err != nil || !isNew || first.Status != postgres.InboxPending {
		t.Fatalf("store: %+v %v %v", first, isNew, err)
	}
	again, isNew, err := s.StoreInbound(ctx, msg("M1"))
	if err != nil || isNew || again.Seq != first.Seq {
		t.Fatalf("resend stored twice: %+v %v %v", again, isNew, err)
	}
	// the same control id from another facility is another message
	if _, isNew, _ := s.StoreInbound(ctx, postgres.InboxMessage{SendingFacility: "OTHER", ControlID: "M1", Event: "A03", Raw: "x"}); !isNew {
		t.Errorf("another facility's M1 was taken for a resend")
	}
	// a rejected message is replaced by its resend
	rej := msg("M2")
	rej.Status, rej.Reason = postgres.InboxRejected, "AE 204"
	if _, _, err := s.StoreInbound(ctx, rej); err != nil {
		t.Fatal(err)
	}
	if m, isNew, _ := s.StoreInbound(ctx, msg("M2")); !isNew || m.Status != postgres.InboxPending {
		t.Errorf("resend of a rejected message: %+v %v", m, isNew)
	}

	next, ok, err := s.NextPending(ctx)
	if err != nil || !ok || next.ControlID != "M1" || next.SendingFacility != "CITYHOSP" {
		t.Fatalf("next = %+v %v %v", next, ok, err)
	}
	if err := s.RetryInbound(ctx, next.Seq, time.Now().Add(time.Minute), "Temporal unavailable", []string{"c-0"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.InboxMessage(ctx, "CITYHOSP", "M1"); m.Attempts != 1 || m.Reason != "Temporal unavailable" || len(m.CaseIDs) != 1 {
		t.Errorf("after a retry: %+v", m)
	}
	if err := s.FinishInbound(ctx, next.Seq, postgres.InboxApplied, "discharge signalled", []string{"c-1"}); err != nil {
		t.Fatal(err)
	}
	m, _ := s.InboxMessage(ctx, "CITYHOSP", "M1")
	if m.Status != postgres.InboxApplied || len(m.CaseIDs) != 1 || m.DoneAt == nil || m.Attempts != 2 {
		t.Errorf("finished: %+v", m)
	}
	if next, _, _ := s.NextPending(ctx); next.ControlID != "M1" || next.SendingFacility != "OTHER" {
		t.Errorf("next after M1 = %+v", next)
	}
	if n, err := s.PurgeInbound(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("purge: %d, %v; want 1: only M1 is done with (the others are pending)", n, err)
	}
	if m, _ := s.InboxMessage(ctx, "CITYHOSP", "M1"); m.Raw != "" || m.Status != postgres.InboxApplied {
		t.Errorf("purged message: %+v", m)
	}
	if _, isNew, _ := s.StoreInbound(ctx, msg("M1")); isNew {
		t.Errorf("a purged message's resend was stored again")
	}
	rows, err := s.Inbox(ctx, 10)
	if err != nil || len(rows) != 3 || rows[0].Raw != "" {
		t.Errorf("inbox listing: %d rows, %v (never the text)", len(rows), err)
	}
	if _, err := s.InboxMessage(ctx, "CITYHOSP", "nope"); !errors.Is(err, care.ErrNotFound) {
		t.Errorf("missing message: %v", err)
	}
}

func TestPatientsAndOpenCasesForADT(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	patient, caseID := newCase(t, s, "MRN-ADT-STORE")
	watch := care.Task{ID: "readmission-watch-1", CaseID: caseID, Kind: care.TaskReadmissionWatch, Description: "no readmission",
		Owner: "sup", StartedAt: at(1), Due: at(100), Status: care.TaskOpen, Clock: true}
	if err := s.RecordStep(ctx, care.Step{Event: event(caseID, 1, care.PhaseScreening, care.PhasePostTransition, "{}"),
		Snapshot: snapshot(caseID, patient, 1, care.PhasePostTransition), Tasks: []care.Task{watch}}, "run-1"); err != nil {
		t.Fatal(err)
	}
	if id, err := s.PatientIDByRef(ctx, "MRN-ADT-STORE"); err != nil || id != patient {
		t.Fatalf("PatientIDByRef = %q, %v", id, err)
	}
	if _, err := s.PatientIDByRef(ctx, "CITYHOSP:MRN-ADT-STORE"); !errors.Is(err, care.ErrNotFound) {
		t.Errorf("qualified ref matched a bare one: %v", err)
	}
	open, err := s.OpenCases(ctx, patient)
	if err != nil || len(open) != 1 || open[0].CaseID != caseID || !open[0].ReadmissionOpen || open[0].Phase != care.PhasePostTransition {
		t.Fatalf("OpenCases = %+v, %v", open, err)
	}
	if err := s.UpdatePatientDemographics(ctx, patient, "River Quinn", nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Patient(ctx, patient); p.Name == nil || *p.Name != "River Quinn" {
		t.Errorf("name not updated: %+v", p)
	}
}

// One listener at a time applies an inbox: a second gets no turn until the
// first lets the lock go, or its session ends.
func TestOneApplierHoldsTheInboxLock(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.New(t)
	a, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer a.Close()
	b, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer b.Close()
	turn := func(s *postgres.Store) bool {
		t.Helper()
		ok, err := s.ApplierTurn(ctx)
		require.NoError(t, err)
		return ok
	}
	require.True(t, turn(a))
	require.True(t, turn(a), "still held")
	require.False(t, turn(b), "a second applier while the first holds the lock")
	a.ReleaseApplier()
	require.True(t, turn(b), "taken once released")
	require.False(t, turn(a))
	// The session that holds it ends (its listener died, its connection
	// broke): the lock is free, and its holder sees it no longer has it.
	db, err := sqlx.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	// Only the holder of this database's lock, waiting until it has ended.
	_, err = db.ExecContext(ctx, `SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND d.datname = current_database() AND l.pid <> pg_backend_pid()`, 0x61647401)
	require.NoError(t, err)
	require.True(t, turn(a), "taken once the holder's session ended")
	require.False(t, turn(b), "the old holder sees it lost the lock")
	a.ReleaseApplier()
}

// A purge blanks a message's text and keeps its digest.
func TestAPurgeKeepsTheDigest(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	_, _, err := s.StoreInbound(ctx, postgres.InboxMessage{SendingFacility: "CITYHOSP", ControlID: "D1", Event: "A03", Raw: "MSH|...", Digest: "d1",
		Status: postgres.InboxRejected, Reason: "test"})
	require.NoError(t, err)
	n, err := s.PurgeInbound(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	m, err := s.InboxMessage(ctx, "CITYHOSP", "D1")
	require.NoError(t, err)
	require.Empty(t, m.Raw)
	require.Equal(t, "d1", m.Digest)
}

// A message that keeps failing can be set aside, with the operator's
// reason, so that the feed goes on; it keeps its place and the cases it
// reached, and can be put back. Only a pending message is set aside, and
// only a failed one whose text is kept is put back.
func TestAStuckMessageIsSetAsideAndPutBack(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, id := range []string{"S1", "S2"} {
		_, _, err := s.StoreInbound(ctx, postgres.InboxMessage{SendingFacility: "CITYHOSP", ControlID: id, Event: "A03", Raw: "MSH|" + id})
		require.NoError(t, err)
	}
	first, _, err := s.NextPending(ctx)
	require.NoError(t, err)
	require.NoError(t, s.RetryInbound(ctx, first.Seq, time.Now().Add(time.Minute), "case c-1: invalid argument", []string{"c-1"}))

	m, err := s.SetAsideInbound(ctx, "CITYHOSP", "S1", "ops-1", "the case rejects it")
	require.NoError(t, err)
	require.Equal(t, postgres.InboxFailed, m.Status)
	require.Equal(t, "set aside by ops-1: the case rejects it (after 1 failed attempt(s), the last: case c-1: invalid argument)", m.Reason)
	require.Empty(t, m.Raw, "never the text")
	next, ok, err := s.NextPending(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "S2", next.ControlID, "the feed goes on behind it")
	_, err = s.SetAsideInbound(ctx, "CITYHOSP", "S1", "ops-1", "again")
	require.Equal(t, care.KindNotAllowed, care.KindOf(err), "%v", err)
	_, err = s.SetAsideInbound(ctx, "CITYHOSP", "NOPE", "ops-1", "x")
	require.Equal(t, care.KindNotFound, care.KindOf(err), "%v", err)

	m, err = s.RetryFailedInbound(ctx, "CITYHOSP", "S1", "ops-1")
	require.NoError(t, err)
	require.Equal(t, postgres.InboxPending, m.Status)
	require.Equal(t, "put back by ops-1", m.Reason)
	require.Equal(t, []string{"c-1"}, []string(m.CaseIDs), "the cases it reached are kept, and skipped")
	next, _, err = s.NextPending(ctx)
	require.NoError(t, err)
	require.Equal(t, "S1", next.ControlID, "in its place, before S2")
	require.False(t, next.NextAttemptAt.After(time.Now()), "due now")

	// Set aside while the applier applied it: the outcome is recorded, as it
	// happened, and the operator's reason after it.
	_, err = s.SetAsideInbound(ctx, "CITYHOSP", "S1", "ops-1", "stuck")
	require.NoError(t, err)
	require.NoError(t, s.FinishInbound(ctx, next.Seq, postgres.InboxApplied, "discharge on 2026-12-01 signalled", []string{"c-1"}))
	m, err = s.InboxMessage(ctx, "CITYHOSP", "S1")
	require.NoError(t, err)
	require.Equal(t, postgres.InboxApplied, m.Status)
	require.True(t, strings.HasPrefix(m.Reason, "discharge on 2026-12-01 signalled (done as it was being set aside by ops-1: stuck"), m.Reason)
	require.NoError(t, s.FinishInbound(ctx, next.Seq, postgres.InboxFailed, "late", nil))
	m, _ = s.InboxMessage(ctx, "CITYHOSP", "S1")
	require.Equal(t, postgres.InboxApplied, m.Status, "a message done is not finished again")
	m, err = s.RetryFailedInbound(ctx, "CITYHOSP", "S1", "ops-1")
	require.Equal(t, care.KindNotAllowed, care.KindOf(err), "%v", err)

	// A purged message's text is gone: it cannot be applied again.
	_, err = s.SetAsideInbound(ctx, "CITYHOSP", "S2", "ops-1", "again")
	require.NoError(t, err)
	_, err = s.PurgeInbound(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	_, err = s.RetryFailedInbound(ctx, "CITYHOSP", "S2", "ops-1")
	require.ErrorContains(t, err, "purged")
}
