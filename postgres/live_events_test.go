package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/postgres"
)

// liveStep records a step of a run with a detail; run-2's steps are half an
// hour later, as a re-run is.
func liveStep(t *testing.T, s *postgres.Store, run, pid, cid string, seq int, action string, phase care.Phase, detail any) {
	t.Helper()
	ev := care.Event{CaseID: cid, Seq: seq, At: at(60 * seq), Actor: "cm-ana", Action: action,
		PhaseBefore: phase, PhaseAfter: phase, Summary: action, Detail: detail}
	if run != "run-1" {
		ev.At = ev.At.Add(30 * time.Minute)
	}
	require.NoError(t, s.RecordStep(context.Background(), care.Step{Event: ev, Snapshot: snapshot(cid, pid, seq, phase)}, run))
}

// A reset superseded run-1's steps 2 (a discharge) and 3 (a contact); run-2
// re-ran the case from step 2 with two contacts, and run-1 wrote a step 4
// late. The live trail, which the FHIR export reads, holds each step once,
// as run-2 recorded it: no discharge Encounter, no Communication id twice.
// The whole trail (case history) keeps the superseded steps.
func TestExportLeavesOutSupersededSteps(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-live")
	liveStep(t, s, "run-1", pid, cid, 1, "opened", care.PhaseScreening, nil)
	liveStep(t, s, "run-1", pid, cid, 2, "transition", care.PhasePostTransition,
		care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: "2026-11-02"})
	liveStep(t, s, "run-1", pid, cid, 3, "contact", care.PhasePostTransition, care.Contact{With: care.PartyClient, Notes: "superseded"})
	liveStep(t, s, "run-2", pid, cid, 2, "contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Notes: "live 2"})
	liveStep(t, s, "run-1", pid, cid, 4, "contact", care.PhasePostTransition, care.Contact{With: care.PartyClient, Notes: "late, superseded"})
	liveStep(t, s, "run-2", pid, cid, 3, "contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Notes: "live 3"})

	live, err := s.LiveEvents(ctx, cid)
	require.NoError(t, err)
	var got []string
	for _, e := range live {
		got = append(got, e.Action+":"+string(rune('0'+e.Seq)))
	}
	require.Equal(t, []string{"opened:1", "reset:2", "contact:2", "contact:3"}, got)
	trail, err := s.Events(ctx, cid)
	require.NoError(t, err)
	require.Len(t, trail, 7, "the case history keeps the superseded steps")

	snap, err := s.Case(ctx, cid)
	require.NoError(t, err)
	seen := map[string]int{}
	var problems, notes []string
	for _, r := range fhir.Case(fhir.CaseData{Case: snap, Patient: fhir.Patient{ID: pid, Ref: "mrn-live"}, Events: live}) {
		seen[r.Ref()]++
		if seen[r.Ref()] == 2 {
			problems = append(problems, r.Ref()+" exported twice")
		}
		if r.Type() == "Encounter" {
			problems = append(problems, r.Ref()+": a discharge only a superseded step recorded")
		}
		if r.Type() == "Communication" {
			notes = append(notes, r["payload"].([]any)[0].(map[string]any)["contentString"].(string))
		}
	}
	require.Empty(t, problems, strings.Join(problems, "; "))
	require.Equal(t, []string{"live 2", "live 3"}, notes)
}

// A run that a later reset replaced from an earlier point loses its steps
// from there too, though the first reset left them live.
func TestLiveEventsAfterTwoResets(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-live-2")
	for seq := 1; seq <= 4; seq++ {
		liveStep(t, s, "run-1", pid, cid, seq, "step", care.PhaseAssessment, map[string]int{"run": 1})
	}
	liveStep(t, s, "run-2", pid, cid, 4, "step", care.PhaseAssessment, map[string]int{"run": 2}) // supersedes run-1 from 4
	liveStep(t, s, "run-3", pid, cid, 2, "step", care.PhaseAssessment, map[string]int{"run": 3}) // supersedes run-1 from 2, run-2
	live, err := s.LiveEvents(ctx, cid)
	require.NoError(t, err)
	var got []string
	for _, e := range live {
		got = append(got, e.Action+":"+string(rune('0'+e.Seq))+":"+string(detailOf(t, e)))
	}
	require.Equal(t, []string{`step:1:{"run": 1}`, "reset:2:" + detailOf(t, live[1]), `step:2:{"run": 3}`}, got)
}
