package postgres_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

// openStore opens a store on a fresh, migrated database of its own.
func openStore(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testdb.New(t))
	require.NoError(t, err)
	// Registered after testdb's cleanup, so it runs before the database is dropped.
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// at returns a fixed instant, truncated to PostgreSQL's microsecond precision.
func at(minutes int) time.Time {
	return time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

// newCase registers a patient and returns it with a case id for it.
func newCase(t *testing.T, s *postgres.Store, ref string) (patientID, caseID string) {
	t.Helper()
	pid, err := s.UpsertPatient(context.Background(), ref, "", nil)
	require.NoError(t, err)
	return pid, care.CaseID(pid, "chf")
}

func snapshot(caseID, patientID string, seq int, phase care.Phase) care.Snapshot {
	return care.Snapshot{
		CaseID:       caseID,
		PatientID:    patientID,
		Program:      "chf",
		Model:        care.ModelClinical,
		Manager:      "cm-ana",
		Source:       care.SourceReferral,
		Phase:        phase,
		OpenedAt:     at(0),
		LastEventSeq: seq,
	}
}

func event(caseID string, seq int, before, after care.Phase, detail string) care.Event {
	ev := care.Event{
		CaseID:      caseID,
		Seq:         seq,
		At:          at(seq),
		Actor:       "cm-ana",
		Action:      "step-" + string(after),
		PhaseBefore: before,
		PhaseAfter:  after,
		Summary:     "moved to " + string(after),
	}
	if detail != "" {
		ev.Detail = json.RawMessage(detail)
	}
	return ev
}

// detailOf returns the JSON detail of an event read back from the store.
func detailOf(t *testing.T, ev care.Event) string {
	t.Helper()
	raw, ok := ev.Detail.(json.RawMessage)
	require.True(t, ok, "Events returns the detail as json.RawMessage, got %T", ev.Detail)
	return string(raw)
}

func count(t *testing.T, s *postgres.Store, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

func TestOpenNotMigrated(t *testing.T) {
	t.Parallel()
	dsn := testdb.NewEmpty(t)
	s, err := postgres.Open(context.Background(), dsn)
	require.Error(t, err)
	require.Nil(t, s)
	require.Contains(t, err.Error(), `run "caseflow migrate"`)
	require.Contains(t, err.Error(), "schema version 0")
	require.Regexp(t, `is at schema version 0, this caseflow needs [1-9][0-9]*: run "caseflow migrate"`, err.Error())
}

func TestOpenMigrated(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	require.NotNil(t, s.DB())
	require.NoError(t, s.DB().PingContext(context.Background()))
}

func TestOpenUnreachableRedactsPassword(t *testing.T) {
	t.Parallel()
	const password = "Sup3rSecretPw"
	dsn := "postgres://caseflow:" + password + "@127.0.0.1:1/caseflow?sslmode=disable"
	start := time.Now()
	s, err := postgres.Open(context.Background(), dsn)
	require.Error(t, err)
	require.Nil(t, s)
	require.Less(t, time.Since(start), 6*time.Second, "Open must give up within its ping timeout")
	msg := err.Error()
	require.NotContains(t, msg, "\n", "the error must be one line")
	require.Contains(t, msg, "DATABASE_URL")
	require.NotContains(t, msg, password)
	require.Contains(t, msg, "127.0.0.1:1", "the error should say which server it tried")
}

func TestUpsertPatient(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	const ref = "mrn-river-quinn"
	birth := time.Date(1991, 4, 2, 0, 0, 0, 0, time.UTC)

	id1, err := s.UpsertPatient(ctx, ref, "River Quinn", &birth)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^p-[0-9a-f]{16}$`), id1)
	require.NoError(t, care.ValidateOpaqueID("patient-id", id1))
	for _, part := range strings.Split(ref, "-") {
		require.NotContains(t, id1, part, "the patient id must not reveal the external ref")
	}

	// Same ref, empty name, no birth date: same id, record left as it was.
	id2, err := s.UpsertPatient(ctx, ref, "", nil)
	require.NoError(t, err)
	require.Equal(t, id1, id2)
	p, err := s.Patient(ctx, id1)
	require.NoError(t, err)
	require.Equal(t, ref, p.ExternalRef)
	require.NotNil(t, p.Name)
	require.Equal(t, "River Quinn", *p.Name)
	require.NotNil(t, p.BirthDate)
	require.Equal(t, "1991-04-02", p.BirthDate.Format(time.DateOnly))

	// Same ref with a new name: updated, id unchanged.
	id3, err := s.UpsertPatient(ctx, ref, "River Q. Quinn", nil)
	require.NoError(t, err)
	require.Equal(t, id1, id3)
	p, err = s.Patient(ctx, id1)
	require.NoError(t, err)
	require.Equal(t, "River Q. Quinn", *p.Name)
	require.Equal(t, "1991-04-02", p.BirthDate.Format(time.DateOnly))

	// Another ref is another patient.
	other, err := s.UpsertPatient(ctx, "mrn-other", "", nil)
	require.NoError(t, err)
	require.NotEqual(t, id1, other)
	require.Equal(t, 2, count(t, s, `SELECT count(*) FROM patients`))

	p, err = s.Patient(ctx, other)
	require.NoError(t, err)
	require.Nil(t, p.Name, "an empty name is stored as NULL")
	require.Nil(t, p.BirthDate)
}

func TestPatientNotFound(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	_, err := s.Patient(context.Background(), "p-0000000000000000")
	require.ErrorIs(t, err, care.ErrNotFound)
}

func TestCaseNotFound(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	_, err := s.Case(context.Background(), "c-unknown")
	require.ErrorIs(t, err, care.ErrNotFound)

	evs, err := s.Events(context.Background(), "c-unknown")
	require.NoError(t, err)
	require.Empty(t, evs)
}

func TestRecordEventIdempotent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-idem")

	ev := event(cid, 1, care.PhaseScreening, care.PhaseScreening, `{"opened_by":"cm-ana"}`)
	snap := snapshot(cid, pid, 1, care.PhaseScreening)
	require.NoError(t, recordEvent(s, ctx, ev, snap))
	require.NoError(t, recordEvent(s, ctx, ev, snap))

	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM cases WHERE case_id = $1`, cid))

	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, cid, got.CaseID)
	require.Equal(t, pid, got.PatientID)
	require.Equal(t, "chf", got.Program)
	require.Equal(t, care.ModelClinical, got.Model)
	require.Equal(t, "cm-ana", got.Manager)
	require.Equal(t, care.SourceReferral, got.Source)
	require.Equal(t, care.PhaseScreening, got.Phase)
	require.Equal(t, care.RiskUnknown, got.Risk)
	require.Nil(t, got.RiskScore)
	require.Equal(t, care.CareCategory(""), got.Category)
	require.True(t, at(0).Equal(got.OpenedAt))
	require.Nil(t, got.ClosedAt)
	require.Equal(t, 1, got.LastEventSeq)
}

func TestRecordEventAdvancesSnapshot(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-advance")

	require.NoError(t, recordEvent(s, ctx,
		event(cid, 1, care.PhaseScreening, care.PhaseScreening, ""),
		snapshot(cid, pid, 1, care.PhaseScreening)))

	score := 8
	due := at(60 * 24 * 7)
	later := snapshot(cid, pid, 2, care.PhasePlanning)
	later.Risk = care.RiskHigh
	later.RiskScore = &score
	later.Category = care.CategoryLongTerm
	later.Manager = "cm-bo"
	later.NextDueAt = &due
	require.NoError(t, recordEvent(s, ctx, event(cid, 2, care.PhaseScreening, care.PhasePlanning, ""), later))

	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhasePlanning, got.Phase)
	require.Equal(t, care.RiskHigh, got.Risk)
	require.NotNil(t, got.RiskScore)
	require.Equal(t, 8, *got.RiskScore)
	require.Equal(t, care.CategoryLongTerm, got.Category)
	require.Equal(t, "cm-bo", got.Manager)
	require.NotNil(t, got.NextDueAt)
	require.True(t, due.Equal(*got.NextDueAt))
	require.Equal(t, 2, got.LastEventSeq)

	closedAt := at(60 * 24 * 30)
	closed := later
	closed.Phase = care.PhaseClosed
	closed.ClosureReason = care.ClosureGoalsMet
	closed.ClosedAt = &closedAt
	closed.NextDueAt = nil
	closed.LastEventSeq = 3
	require.NoError(t, recordEvent(s, ctx, event(cid, 3, care.PhasePlanning, care.PhaseClosed, ""), closed))

	got, err = s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhaseClosed, got.Phase)
	require.Equal(t, care.ClosureGoalsMet, got.ClosureReason)
	require.NotNil(t, got.ClosedAt)
	require.True(t, closedAt.Equal(*got.ClosedAt))
	require.Nil(t, got.NextDueAt, "a nil next due date clears the old one")
	require.Equal(t, 3, got.LastEventSeq)
	require.Equal(t, 3, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))
}

func TestRecordEventOlderRetriedLateDoesNotRollBack(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-late")

	require.NoError(t, recordEvent(s, ctx,
		event(cid, 1, care.PhaseScreening, care.PhaseScreening, ""),
		snapshot(cid, pid, 1, care.PhaseScreening)))
	// Event 3 lands before event 2 (event 2's activity is retried late).
	require.NoError(t, recordEvent(s, ctx,
		event(cid, 3, care.PhaseAssessment, care.PhaseStratification, ""),
		snapshot(cid, pid, 3, care.PhaseStratification)))

	late := event(cid, 2, care.PhaseScreening, care.PhaseAssessment, `{"late":true}`)
	require.NoError(t, recordEvent(s, ctx, late, snapshot(cid, pid, 2, care.PhaseAssessment)))

	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhaseStratification, got.Phase, "an older event must not roll the snapshot back")
	require.Equal(t, 3, got.LastEventSeq)

	evs, err := s.Events(ctx, cid)
	require.NoError(t, err)
	require.Len(t, evs, 3, "the late event's audit row is inserted")
	require.Equal(t, 2, evs[1].Seq)
	require.Equal(t, care.PhaseAssessment, evs[1].PhaseAfter)
	require.JSONEq(t, `{"late":true}`, detailOf(t, evs[1]))

	// Retrying it once more changes nothing.
	require.NoError(t, recordEvent(s, ctx, late, snapshot(cid, pid, 2, care.PhaseAssessment)))
	require.Equal(t, 3, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))
	got, err = s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhaseStratification, got.Phase)
}

func TestEventsInSeqOrderWithDetail(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-events")

	details := map[int]string{
		1: `{"source":"referral","tags":["a","b"]}`,
		2: "", // no detail: stored as {}
		3: `{"risk":{"level":"high","score":8,"factors":["age 75+","homeless"]},"note":"Ünïcødé ✓"}`,
		4: `[1,2,3]`,
	}
	// Record out of order; the snapshot follows the highest seq.
	for _, seq := range []int{3, 1, 4, 2} {
		require.NoError(t, recordEvent(s, ctx,
			event(cid, seq, care.PhaseScreening, care.PhaseAssessment, details[seq]),
			snapshot(cid, pid, seq, care.PhaseAssessment)))
	}

	evs, err := s.Events(ctx, cid)
	require.NoError(t, err)
	require.Len(t, evs, 4)
	for i, ev := range evs {
		seq := i + 1
		require.Equal(t, seq, ev.Seq)
		require.Equal(t, cid, ev.CaseID)
		require.True(t, at(seq).Equal(ev.At), "event %d at %s", seq, ev.At)
		require.Equal(t, "cm-ana", ev.Actor)
		require.Equal(t, "step-assessment", ev.Action)
		require.Equal(t, care.PhaseScreening, ev.PhaseBefore)
		require.Equal(t, care.PhaseAssessment, ev.PhaseAfter)
		require.Equal(t, "moved to assessment", ev.Summary)
		want := details[seq]
		if want == "" {
			want = "{}"
		}
		require.JSONEq(t, want, detailOf(t, ev), "detail of event %d", seq)
	}
	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, 4, got.LastEventSeq)
}

func TestRecordEventTypedDetail(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-typed")

	ev := event(cid, 1, care.PhaseScreening, care.PhaseAssessment, "")
	ev.Detail = care.Screening{Eligible: false, Reason: "no qualifying condition"}
	require.NoError(t, recordEvent(s, ctx, ev, snapshot(cid, pid, 1, care.PhaseAssessment)))

	evs, err := s.Events(ctx, cid)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	var back care.Screening
	require.NoError(t, json.Unmarshal([]byte(detailOf(t, evs[0])), &back))
	require.Equal(t, care.Screening{Eligible: false, Reason: "no qualifying condition"}, back)
}

func TestRecordEventBadDetailWritesNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-bad-detail")

	ev := event(cid, 1, care.PhaseScreening, care.PhaseScreening, "")
	ev.Detail = map[string]any{"f": func() {}} // cannot be encoded as JSON
	err := recordEvent(s, ctx, ev, snapshot(cid, pid, 1, care.PhaseScreening))
	require.Error(t, err)
	require.Contains(t, err.Error(), cid)
	// The snapshot upsert ran in the same transaction and is rolled back.
	require.Equal(t, 0, count(t, s, `SELECT count(*) FROM cases`))
	require.Equal(t, 0, count(t, s, `SELECT count(*) FROM case_events`))
}

func TestRecordEventUnknownPatient(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	cid := care.CaseID("p-nobody", "chf")
	err := recordEvent(s, context.Background(),
		event(cid, 1, care.PhaseScreening, care.PhaseScreening, ""),
		snapshot(cid, "p-nobody", 1, care.PhaseScreening))
	require.Error(t, err)
	require.Contains(t, err.Error(), cid)
	require.Equal(t, 0, count(t, s, `SELECT count(*) FROM cases`))
}

func TestRecordEventConcurrentSameEvent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-concurrent")

	ev := event(cid, 1, care.PhaseScreening, care.PhaseScreening, `{"n":1}`)
	snap := snapshot(cid, pid, 1, care.PhaseScreening)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = recordEvent(s, ctx, ev, snap)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "worker %d", i)
	}
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM cases WHERE case_id = $1`, cid))
}

func TestRecordEventConcurrentDistinctEvents(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-race")

	const n = 10
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for seq := 1; seq <= n; seq++ {
		wg.Go(func() {
			<-start
			snap := snapshot(cid, pid, seq, care.PhaseFollowUp)
			snap.Manager = "cm-" + string(rune('a'+seq))
			errs[seq] = recordEvent(s, ctx, event(cid, seq, care.PhaseFollowUp, care.PhaseFollowUp, ""), snap)
		})
	}
	close(start)
	wg.Wait()
	for seq, err := range errs {
		require.NoError(t, err, "event %d", seq)
	}
	require.Equal(t, n, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))
	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, n, got.LastEventSeq, "the snapshot ends at the newest event whatever the commit order")
	require.Equal(t, "cm-"+string(rune('a'+n)), got.Manager)
}

func TestSaveServicesIdempotent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-services")
	require.NoError(t, recordEvent(s, ctx,
		event(cid, 1, care.PhasePlanning, care.PhaseImplementation, ""),
		snapshot(cid, pid, 1, care.PhaseImplementation)))

	first := []care.ServiceState{
		{Service: care.Service{ID: "s1", Code: "physiotherapy", Name: "Physio", Frequency: "weekly", RequiresAuthorization: true}, Status: care.ServicePendingAuthorization},
		{Service: care.Service{ID: "s2", Code: "meals", Name: "Meals on wheels", Frequency: "daily"}, Status: care.ServiceReadyToBook},
	}
	require.NoError(t, s.SaveServices(ctx, cid, first))
	require.NoError(t, s.SaveServices(ctx, cid, first))
	got, err := s.Services(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, first, got)

	// The insurer authorised s1: saved again with its new status.
	second := []care.ServiceState{
		{Service: care.Service{ID: "s1", Code: "physiotherapy", Name: "Physiotherapy", Frequency: "twice weekly", RequiresAuthorization: true}, Status: care.ServiceReadyToBook},
	}
	require.NoError(t, s.SaveServices(ctx, cid, second))
	got, err = s.Services(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, []care.ServiceState{second[0], first[1]}, got)
	require.Equal(t, 2, count(t, s, `SELECT count(*) FROM case_services WHERE case_id = $1`, cid))
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM case_services WHERE case_id = $1 AND service_id = 's1'`, cid))
}

func TestSaveServicesUnknownCase(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	err := s.SaveServices(context.Background(), "c-missing", []care.ServiceState{
		{Service: care.Service{ID: "s1", Code: "meals"}, Status: care.ServiceReadyToBook},
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "c-missing")
	require.Equal(t, 0, count(t, s, `SELECT count(*) FROM case_services`))
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	_, err := s.DB().ExecContext(ctx, `INSERT INTO patients (patient_id, external_ref) VALUES ('p-1', 'r-1')`)
	require.NoError(t, err)
	_, err = s.DB().ExecContext(ctx, `INSERT INTO patients (patient_id, external_ref) VALUES ('p-2', 'r-1')`)
	require.Error(t, err)
	require.True(t, postgres.IsUniqueViolation(err))
	_, err = s.DB().ExecContext(ctx, `INSERT INTO patients (patient_id) VALUES ('p-3')`)
	require.Error(t, err)
	require.False(t, postgres.IsUniqueViolation(err), "a not-null violation is not a unique violation")
	require.False(t, postgres.IsUniqueViolation(nil))
}

func TestURLFromEnv(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	require.Equal(t, postgres.DefaultURL, postgres.URLFromEnv())
	t.Setenv("DATABASE_URL", "postgres://x@db:5432/y")
	require.Equal(t, "postgres://x@db:5432/y", postgres.URLFromEnv())
}

func TestOpenNeverPrintsThePassword(t *testing.T) {
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=bob password=s3cretkv dbname=x",
		"postgres://bob@127.0.0.1:1/x?password=s3cretkv&sslmode=disable",
		"postgres://bob:s3cretkv@127.0.0.1:1/x?sslmode=disable",
	} {
		_, err := postgres.Open(context.Background(), dsn)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "s3cretkv", dsn)
		require.Contains(t, err.Error(), "DATABASE_URL")
	}
}

// recordEvent records a step that is just an event and its snapshot.
func recordEvent(s *postgres.Store, ctx context.Context, ev care.Event, snap care.Snapshot) error {
	return s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snap}, "run-1")
}

// A step's tasks go in the same statement as its event: every column
// round-trips, a task listed twice is written as listed last, a retried
// step writes the same values, and a task that cannot be written leaves
// nothing of its step behind.
func TestRecordStepWritesItsTasks(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-step-tasks")
	call := care.Task{ID: "call-1", CaseID: cid, Kind: care.TaskCall, Description: "follow-up call", Owner: "cm-ana",
		StartedAt: at(1), Due: at(60), Status: care.TaskOpen}
	clock := care.Task{ID: "contact-2", CaseID: cid, Kind: care.TaskContact, Description: "interactive contact", Owner: "cm-ana",
		StartedAt: at(1), Due: at(2 * 24 * 60), Status: care.TaskOpen, Clock: true}
	require.NoError(t, s.RecordStep(ctx, care.Step{Event: event(cid, 1, care.PhaseFollowUp, care.PhaseFollowUp, ""),
		Snapshot: snapshot(cid, pid, 1, care.PhaseFollowUp), Tasks: []care.Task{call, clock}}, "run-1"))

	met := true
	escalated := call
	escalated.EscalatedAt = at(61)
	done := escalated
	done.Status, done.Outcome, done.CompletedAt = care.TaskDone, "reached", at(62)
	clockMet := clock
	clockMet.Status, clockMet.CompletedAt, clockMet.Met = care.TaskDone, at(62), &met
	step2 := care.Step{Event: event(cid, 2, care.PhaseFollowUp, care.PhaseFollowUp, ""),
		Snapshot: snapshot(cid, pid, 2, care.PhaseFollowUp), Tasks: []care.Task{escalated, clockMet, done}}
	require.NoError(t, s.RecordStep(ctx, step2, "run-1"))
	require.NoError(t, s.RecordStep(ctx, step2, "run-1"), "a retry")

	got, err := s.Tasks(ctx, cid)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, done, got[0])
	require.Equal(t, clockMet, got[1])
	require.Equal(t, 2, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid))

	bad := call
	bad.ID, bad.CaseID = "call-3", care.CaseID("p-nobody", "chf") // no such case
	err = s.RecordStep(ctx, care.Step{Event: event(cid, 3, care.PhaseFollowUp, care.PhaseFollowUp, ""),
		Snapshot: snapshot(cid, pid, 3, care.PhaseFollowUp), Tasks: []care.Task{bad}}, "run-1")
	require.Error(t, err)
	require.Contains(t, err.Error(), cid)
	require.Equal(t, 2, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1`, cid), "the failed step's event is not kept")
	c, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, 2, c.LastEventSeq, "nor its snapshot")
}

// TasksByID reads the tasks asked for as they stand, and leaves out ids
// the case has no task for.
func TestTasksByID(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-tasks-by-id")
	no := false
	ev := event(cid, 1, care.PhaseFollowUp, care.PhaseFollowUp, "")
	require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snapshot(cid, pid, 1, care.PhaseFollowUp),
		Tasks: []care.Task{{ID: "tcm-contact-1", CaseID: cid, Kind: care.TaskTCMContact, Description: "contact", Owner: "cm-ana",
			StartedAt: at(1), Due: at(60), Status: care.TaskMissed, Clock: true, Met: &no}}}, "run-1"))
	got, err := s.TasksByID(ctx, cid, []string{"tcm-contact-1", "call-9"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, care.TaskMissed, got["tcm-contact-1"].Status)
	require.False(t, *got["tcm-contact-1"].Met)
}
