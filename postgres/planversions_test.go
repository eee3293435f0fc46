package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/providers"
)

func TestAReplannedServiceBooksUnderNewKeys(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-replan")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy"], "slots": [
		`+slotAt("physiotherapy", 1)+`, `+slotAt("physiotherapy", 2)+`, `+slotAt("physiotherapy", 3)+`]}]}`, coordBase)
	from, to := coordBase, coordBase.Add(10*time.Hour)

	old, err := s.BookEarliest(ctx, care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1}, "physiotherapy", from, to)
	require.NoError(t, err)
	_, err = s.SetAppointmentStatus(ctx, old.ID, care.AppointmentNoShow)
	require.NoError(t, err)

	// Plan 2 restarts pt: occurrence 1, attempt 1 again, but under its plan version.
	key := care.BookingKey{CaseID: cid, PlanVersion: 2, ServiceID: "pt", Occurrence: 1, Attempt: 1}
	ap, err := s.BookEarliest(ctx, key, "physiotherapy", from, to)
	require.NoError(t, err)
	require.NotEqual(t, old.ID, ap.ID, "never the replaced plan's appointment")
	require.Equal(t, 2, ap.PlanVersion)
	require.Equal(t, care.AppointmentBooked, ap.Status)
	again, err := s.AppointmentByKey(ctx, key)
	require.NoError(t, err)
	require.Equal(t, ap.ID, again.ID, "a retry finds its own booking")

	// A slot chosen by hand.
	chosen := providers.SlotID("prv-a", "physiotherapy", coordBase.Add(3*time.Hour))
	byHand, err := s.BookSlot(ctx, care.BookingKey{CaseID: cid, PlanVersion: 2, ServiceID: "pt", Occurrence: 2, Attempt: 1}, "physiotherapy", chosen)
	require.NoError(t, err)
	require.Equal(t, chosen, byHand.SlotID)
	_, err = s.BookSlot(ctx, care.BookingKey{CaseID: cid, PlanVersion: 2, ServiceID: "pt", Occurrence: 3, Attempt: 1}, "physiotherapy", chosen)
	require.ErrorIs(t, err, care.ErrNoSlot, "a taken slot")
	_, err = s.BookSlot(ctx, care.BookingKey{CaseID: cid, PlanVersion: 2, ServiceID: "pt", Occurrence: 3, Attempt: 1}, "physiotherapy", "sl-nope")
	require.ErrorIs(t, err, care.ErrNotFound)
}

func TestPlanChangesAndCatalog(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	cid, _ := coordCase(t, s, "mrn-plans")
	loadJSON(t, s, `{"providers": [{"id": "prv-a", "name": "A", "services": ["physiotherapy", "neuropsychology"]}]}`, coordBase)
	codes, err := s.ServiceCatalog(ctx, []string{"financial-counselling"})
	require.NoError(t, err)
	require.Equal(t, []string{"neuropsychology", "physiotherapy", "financial-counselling"}, codes)

	pt := care.Service{ID: "pt", Code: "physiotherapy", Frequency: "weekly"}
	monthly := pt
	monthly.Frequency = "monthly"
	pc := care.DiffPlans(2, []care.Service{pt, {ID: "np", Code: "neuropsychology"}}, []care.Service{monthly})
	snap, err := s.Case(ctx, cid)
	require.NoError(t, err)
	snap.LastEventSeq = 1
	require.NoError(t, s.RecordStep(ctx, care.Step{Event: care.Event{CaseID: cid, Seq: 1, At: coordBase, Actor: "cm-ana", Action: "plan",
		PhaseBefore: care.PhasePlanning, PhaseAfter: care.PhaseImplementation, Summary: pc.Summary()}, Snapshot: snap, PlanChange: &pc}, "run-1"))
	rows, err := s.PlanChanges(ctx, cid)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, care.ServiceAmended, rows[1].Change)
	require.Equal(t, "frequency weekly → monthly", rows[1].Detail)
	require.Equal(t, care.ServiceRemoved, rows[0].Change)

	// A reset replayed the plan counter: run-2 approves version 2 again,
	// with another plan. Its rows are the version's; run-1's are gone.
	pc2 := care.DiffPlans(2, []care.Service{pt, {ID: "np", Code: "neuropsychology"}}, []care.Service{pt, {ID: "np", Code: "neuropsychology"}})
	snap.LastEventSeq = 1
	require.NoError(t, s.RecordStep(ctx, care.Step{Event: care.Event{CaseID: cid, Seq: 1, At: coordBase.Add(time.Hour), Actor: "cm-ana", Action: "plan",
		PhaseBefore: care.PhasePlanning, PhaseAfter: care.PhaseImplementation, Summary: pc2.Summary()}, Snapshot: snap, PlanChange: &pc2}, "run-2"))
	rows, err = s.PlanChanges(ctx, cid)
	require.NoError(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, r.ServiceID+" "+string(r.Change)+" "+r.Detail)
	}
	require.ElementsMatch(t, []string{"np unchanged ", "pt unchanged "}, got, "what run-2's approval of version 2 did")
}

func TestOpeningWithOtherDemographicsIsSeen(t *testing.T) {
	t.Parallel()
	s := coordStore(t)
	ctx := context.Background()
	born := time.Date(1991, 4, 2, 0, 0, 0, 0, time.UTC)
	id, err := s.UpsertPatient(ctx, "mrn-demo", "River Quinn", &born)
	require.NoError(t, err)
	p, err := s.PatientByRef(ctx, "mrn-demo")
	require.NoError(t, err)
	require.Empty(t, p.DemographicsDiffer("River Quinn", &born))
	require.Empty(t, p.DemographicsDiffer("", nil), "what is not given is not compared")
	require.Equal(t, []string{"name"}, p.DemographicsDiffer("Rivers Quinn", &born))
	require.Empty(t, p.DemographicsMissing("Rivers Quinn", &born), "the record has both")
	unnamed := postgres.Patient{BirthDate: &born}
	require.Empty(t, unnamed.DemographicsDiffer("River Quinn", &born), "a name the record lacks differs from nothing")
	require.Equal(t, []string{"name"}, unnamed.DemographicsMissing("River Quinn", &born))
	require.NoError(t, s.UpdatePatient(ctx, id, "cm-ana", "Rivers Quinn", nil, []string{"name"}))
	p, err = s.PatientByRef(ctx, "mrn-demo")
	require.NoError(t, err)
	require.Equal(t, "Rivers Quinn", *p.Name)
	require.Equal(t, 1, rows(t, s, `SELECT count(*) FROM patient_updates WHERE patient_id = $1 AND actor = 'cm-ana' AND fields = 'name'`, id))
}
