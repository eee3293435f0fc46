package activities_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/notify"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/postgres"
)

// The real implementations satisfy the activities' interfaces.
var (
	_ activities.Store    = (*postgres.Store)(nil)
	_ activities.Payer    = (*payer.HTTPClient)(nil)
	_ activities.Notifier = (*notify.WebhookChannel)(nil)
	_ activities.Notifier = (*notify.LogChannel)(nil)
)

// pg returns the PostgreSQL store behind a, for what the tests check
// beyond the activities' interface.
func pg(a *activities.Activities) *postgres.Store { return a.Store.(*postgres.Store) }

// setup returns activities on a store of their own and the id of an open case.
func setup(t *testing.T) (*activities.Activities, string) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.New(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	a := &activities.Activities{Store: s}

	pid, err := s.UpsertPatient(ctx, "mrn-activities", "", nil)
	require.NoError(t, err)
	cid := care.CaseID(pid, "chf")
	opened := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	require.NoError(t, recordStep(a, ctx,
		care.Event{CaseID: cid, Seq: 1, At: opened, Actor: "cm-ana", Action: "open",
			PhaseBefore: care.PhaseScreening, PhaseAfter: care.PhaseScreening},
		care.Snapshot{CaseID: cid, PatientID: pid, Program: "chf", Model: care.ModelClinical,
			Manager: "cm-ana", Source: care.SourceReferral, Phase: care.PhaseScreening,
			OpenedAt: opened, LastEventSeq: 1}))
	return a, cid
}

var planServices = []care.Service{
	{ID: "s1", Code: "physiotherapy", Name: "Physiotherapy", Frequency: "weekly", Occurrences: 8, RequiresAuthorization: true},
	{ID: "s2", Code: "meals", Name: "Meals on wheels", Frequency: "daily"},
	{ID: "s3", Code: "home-nursing", Name: "Home nursing", RequiresAuthorization: true},
}

func TestCoordinateServices(t *testing.T) {
	t.Parallel()
	a, cid := setup(t)
	ctx := context.Background()

	out, err := a.CoordinateServices(ctx, cid, planServices)
	require.NoError(t, err)
	require.Len(t, out, 3)
	want := map[string]care.ServiceStatus{
		"s1": care.ServicePendingAuthorization,
		"s2": care.ServiceReadyToBook,
		"s3": care.ServicePendingAuthorization,
	}
	for i, sv := range out {
		require.Equal(t, planServices[i], sv.Service, "the service is returned as planned")
		require.Equal(t, want[sv.ID], sv.Status, "status of %s", sv.ID)
	}

	rows, err := pg(a).Services(ctx, cid)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, sv := range rows {
		require.Equal(t, want[sv.ID], sv.Status, "stored status of %s", sv.ID)
	}
	require.Equal(t, "physiotherapy", rows[0].Code)
	require.True(t, rows[0].RequiresAuthorization)
	require.Equal(t, "Meals on wheels", rows[1].Name)
	require.Equal(t, "daily", rows[1].Frequency)

	// A retried activity leaves the same rows.
	again, err := a.CoordinateServices(ctx, cid, planServices)
	require.NoError(t, err)
	require.Equal(t, out, again)
	rows2, err := pg(a).Services(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, rows, rows2)
	var n int
	require.NoError(t, pg(a).DB().QueryRowContext(ctx, `SELECT count(*) FROM case_services WHERE case_id = $1`, cid).Scan(&n))
	require.Equal(t, 3, n)
}

func TestCoordinateServicesNoServices(t *testing.T) {
	t.Parallel()
	a, cid := setup(t)
	out, err := a.CoordinateServices(context.Background(), cid, nil)
	require.NoError(t, err)
	require.Empty(t, out)
	rows, err := pg(a).Services(context.Background(), cid)
	require.NoError(t, err)
	require.Empty(t, rows)
}

func TestCoordinateServicesUnknownCase(t *testing.T) {
	t.Parallel()
	a, _ := setup(t)
	out, err := a.CoordinateServices(context.Background(), "c-unknown", planServices)
	require.Error(t, err)
	require.Nil(t, out)
}

func TestRecordEventActivity(t *testing.T) {
	t.Parallel()
	a, cid := setup(t)
	ctx := context.Background()
	snap, err := pg(a).Case(ctx, cid)
	require.NoError(t, err)

	snap.Phase = care.PhaseAssessment
	snap.LastEventSeq = 2
	ev := care.Event{CaseID: cid, Seq: 2, At: snap.OpenedAt.Add(time.Hour), Actor: "cm-ana", Action: "screen",
		PhaseBefore: care.PhaseScreening, PhaseAfter: care.PhaseAssessment, Detail: care.Screening{Eligible: true}}
	require.NoError(t, recordStep(a, ctx, ev, snap))
	require.NoError(t, recordStep(a, ctx, ev, snap), "a retried activity succeeds")

	got, err := pg(a).Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhaseAssessment, got.Phase)
	evs, err := pg(a).Events(ctx, cid)
	require.NoError(t, err)
	require.Len(t, evs, 2)
}

func TestProposeRiskActivity(t *testing.T) {
	t.Parallel()
	a := &activities.Activities{} // ProposeRisk touches no store
	assessment := care.Assessment{
		Age: 80, ChronicConditions: 3, Medications: 10, Housing: care.HousingStable,
		HomeSafe: care.Known(true), SupportNetwork: care.SupportStrong, Readiness: care.ReadinessAction, Engagement: 3,
	}
	p, err := a.ProposeRisk(context.Background(), assessment)
	require.NoError(t, err)
	require.Equal(t, care.RiskRules, p.Rules)
	require.Equal(t, "risk-v1", p.Rules)
	require.Equal(t, 6, p.Score)
	require.Equal(t, care.RiskModerate, p.Level)
	require.Equal(t, care.ProposeRisk(assessment), p)
}

// recordStep records a step that is just an event and its snapshot.
func recordStep(a *activities.Activities, ctx context.Context, ev care.Event, snap care.Snapshot) error {
	return a.RecordStep(ctx, care.Step{Event: ev, Snapshot: snap})
}

// LoadPolicy reads a pinned version from PostgreSQL once per worker: a
// loaded version never changes. A version never loaded is not found (and
// the local activity retries it, the case waiting).
func TestLoadPolicyReadsAVersionOnce(t *testing.T) {
	a, _ := setup(t)
	ctx := context.Background()
	_, err := pg(a).AddStaff(ctx, "sup-load")
	require.NoError(t, err)
	p := care.Policy{Program: "chf", Version: 2, EffectiveFrom: "2026-01-01", Supervisor: "sup-load", Timezone: "Europe/Lisbon"}
	_, err = pg(a).SavePolicy(ctx, p)
	require.NoError(t, err)

	got, err := a.LoadPolicy(ctx, "chf", 2)
	require.NoError(t, err)
	require.Equal(t, p, got)
	_, err = a.LoadPolicy(ctx, "chf", 3)
	require.Equal(t, care.KindNotFound, care.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "policy chf v3")

	// Run as an activity, a missing version logs a warning that names it
	// (the SDK logs no local activity's failed attempt).
	var logs bytes.Buffer
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(a.LoadPolicy, "chf", 3)
	require.Error(t, err)
	require.Contains(t, logs.String(), "policy version is not loaded")
	require.Contains(t, logs.String(), "program=chf version=3")

	// The second read comes from the worker's cache: PostgreSQL's row is
	// gone and the answer is the same.
	_, err = pg(a).DB().ExecContext(ctx, `DELETE FROM policies WHERE program = 'chf'`)
	require.NoError(t, err)
	got, err = a.LoadPolicy(ctx, "chf", 2)
	require.NoError(t, err)
	require.Equal(t, p, got)
}
