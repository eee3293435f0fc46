package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

// A reset superseded run-1's steps 2 (a discharge) and 3 (a contact); run-2
// re-ran the case from step 2 with two contacts. The export shows what the
// case's live trail holds: no discharge Encounter, and each resource once.
func TestExportLeavesOutSupersededSteps(t *testing.T) {
	dsn := testdb.New(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	pid, err := s.UpsertPatient(ctx, "MRN-RESET", "River Quinn", nil)
	if err != nil {
		t.Fatal(err)
	}
	cid := care.CaseID(pid, "chf")
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	step := func(run string, seq int, action string, phase care.Phase, detail any) {
		t.Helper()
		snap := care.Snapshot{CaseID: cid, PatientID: pid, Program: "chf", Model: care.ModelClinical, Manager: "cm-ana",
			Source: care.SourceReferral, Phase: phase, OpenedAt: t0, LastEventSeq: seq}
		ev := care.Event{CaseID: cid, Seq: seq, At: t0.Add(time.Duration(seq) * time.Hour), Actor: "cm-ana", Action: action,
			PhaseBefore: phase, PhaseAfter: phase, Summary: action, Detail: detail}
		if run == "run-2" {
			ev.At = ev.At.Add(30 * time.Minute)
		}
		if err := s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snap}, run); err != nil {
			t.Fatal(err)
		}
	}
	step("run-1", 1, "opened", care.PhaseScreening, nil)
	step("run-1", 2, "transition", care.PhasePostTransition,
		care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: "2026-11-02"})
	step("run-1", 3, "contact", care.PhasePostTransition, care.Contact{With: care.PartyClient, Notes: "superseded"})
	// a workflow reset to after step 1: run-2 takes over
	step("run-2", 2, "contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Notes: "live 2"})
	step("run-2", 3, "contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Notes: "live 3"})

	d, err := caseData(ctx, s, cid)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var problems []string
	for _, r := range fhir.Case(d) {
		seen[r.Ref()]++
		if seen[r.Ref()] == 2 {
			problems = append(problems, r.Ref()+" exported twice")
		}
		if r.Type() == "Encounter" {
			problems = append(problems, r.Ref()+": a discharge only a superseded step recorded")
		}
	}
	if len(problems) > 0 {
		t.Fatalf("export of a reset case: %s", strings.Join(problems, "; "))
	}
}
