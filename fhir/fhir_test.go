package fhir_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/internal/fhircheck"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type trail struct {
	events []care.Event
	phase  care.Phase
	at     time.Time
}

func (tr *trail) add(action string, to care.Phase, detail any) {
	raw, _ := json.Marshal(detail)
	tr.at = tr.at.Add(time.Hour)
	tr.events = append(tr.events, care.Event{Seq: len(tr.events) + 1, At: tr.at, Actor: "cm-ana", Action: action,
		PhaseBefore: tr.phase, PhaseAfter: to, Detail: json.RawMessage(raw)})
	tr.phase = to
}

// services has one service per coordination status, and each authorization
// outcome.
func services() []care.ServiceState {
	var out []care.ServiceState
	for i, st := range []care.ServiceStatus{care.ServicePendingAuthorization, care.ServiceAuthorizationPended, care.ServiceAuthorizationDenied,
		care.ServiceReadyToBook, care.ServiceNoSlot, care.ServiceBooked, care.ServiceNeedsStaff, care.ServiceCompleted, care.ServiceCancelled} {
		s := care.ServiceState{Service: care.Service{ID: fmt.Sprintf("svc-%d", i+1), Code: "physiotherapy", Name: "Physiotherapy", Frequency: "weekly",
			RequiresAuthorization: true}, Status: st}
		a := &care.AuthorizationState{RequestID: fmt.Sprintf("pa-%d", i+1), SubmittedAt: t0, DeadlineAt: t0.Add(72 * time.Hour), Expedited: i%2 == 0}
		switch st {
		case care.ServicePendingAuthorization:
		case care.ServiceAuthorizationPended:
			a.Status = care.AuthorizationPended
		case care.ServiceAuthorizationDenied:
			a.Status, a.Reason = care.AuthorizationDenied, "not medically necessary"
		default:
			a.Status, a.Number, a.ValidFrom, a.ValidTo = care.AuthorizationApproved, fmt.Sprintf("AUTH-%d", i), t0, t0.AddDate(0, 3, 0)
		}
		s.Authorization = a
		out = append(out, s)
	}
	return out
}

// fixture builds a case that reached the phase, with the steps on the way.
func fixture(n int, phase care.Phase, closure care.ClosureReason) fhir.CaseData {
	id := fmt.Sprintf("c-fixture%02d", n)
	birth := time.Date(1991, 4, 2, 0, 0, 0, 0, time.UTC)
	d := fhir.CaseData{
		Case:    care.Snapshot{CaseID: id, PatientID: fmt.Sprintf("p-fixture%02d", n), Program: "complex-case", Model: care.ModelClinical, Manager: "cm-ana", Source: care.SourceReferral, Phase: phase, OpenedAt: t0},
		Patient: fhir.Patient{ID: fmt.Sprintf("p-fixture%02d", n), Ref: fmt.Sprintf("MRN-%04d", n), Name: "River Quinn", BirthDate: &birth},
	}
	tr := &trail{phase: care.PhaseScreening, at: t0}
	steps := []care.Phase{care.PhaseScreening, care.PhaseAssessment, care.PhaseStratification, care.PhasePlanning, care.PhaseImplementation,
		care.PhaseFollowUp, care.PhaseTransition, care.PhasePostTransition, care.PhaseEvaluation, care.PhaseClosed}
	reach := slices.Index(steps, phase)
	if phase == care.PhaseClosed && closure == care.ClosureIneligible {
		tr.add("screen", care.PhaseClosed, care.Screening{Eligible: false, Reason: "no qualifying condition"})
		reach = -1
	}
	do := func(p care.Phase, f func()) {
		if reach >= slices.Index(steps, p) {
			f()
		}
	}
	do(care.PhaseAssessment, func() { tr.add("screen", care.PhaseAssessment, care.Screening{Eligible: true}) })
	do(care.PhaseStratification, func() {
		tr.add("assess", care.PhaseStratification, map[string]any{"assessment": care.Assessment{Admissions12m: 2},
			"proposal": care.RiskProposal{Score: 7, Level: care.RiskHigh, Rules: "risk-v1", Factors: []string{"2 admissions in 12 months"}}})
		d.Case.Risk = ""
	})
	do(care.PhasePlanning, func() {
		tr.add("stratify", care.PhasePlanning, care.Stratification{Risk: care.RiskHigh, Category: care.CategoryAcute})
		d.Case.Risk, d.Case.Category = care.RiskHigh, care.CategoryAcute
	})
	do(care.PhaseImplementation, func() {
		var plan care.CarePlan
		plan.Goals = []care.Goal{{ID: "g1", Description: "walk unaided", Target: "500 m", Due: "2027-02-01"}, {ID: "g_2", Description: "return to work"}}
		for _, s := range services() {
			plan.Services = append(plan.Services, s.Service)
		}
		plan.Notes = "physio first"
		tr.add("plan", care.PhaseImplementation, plan)
		for _, s := range services() {
			tr.add("service", care.PhaseImplementation, s)
		}
		d.Services = services()
		statuses := []care.AppointmentStatus{care.AppointmentBooked, care.AppointmentAttended, care.AppointmentNoShow, care.AppointmentCancelled}
		for i, st := range statuses {
			d.Appointments = append(d.Appointments, care.Appointment{ID: fmt.Sprintf("ap-%s-%d", id, i), CaseID: id, ServiceID: "svc-6", Occurrence: 1, Attempt: i + 1,
				ServiceCode: "physiotherapy", ProviderID: "prov-1", ProviderName: "City Physio", StartsAt: t0.AddDate(0, 0, i+1), EndsAt: t0.AddDate(0, 0, i+1).Add(time.Hour), Status: st, BookedAt: t0})
		}
		d.Appointments = append(d.Appointments, care.Appointment{ID: "ap-" + id + "-visit", CaseID: id, ServiceID: "tcm-visit-9", Occurrence: 1, Attempt: 1,
			ServiceCode: "primary-care", ProviderID: "prov-2", StartsAt: t0.AddDate(0, 0, 9), EndsAt: t0.AddDate(0, 0, 9).Add(time.Hour), Status: care.AppointmentBooked, BookedAt: t0})
	})
	do(care.PhaseFollowUp, func() {
		tr.add(string(care.ActionCoordinated), care.PhaseFollowUp, nil)
		tr.add("contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, FaceToFace: true, Notes: "physio going well"})
		tr.add("contact", care.PhaseFollowUp, care.Contact{With: care.PartyFamily, At: tr.at.Add(-30 * time.Minute)}) // entered later
		tr.add("call", care.PhaseFollowUp, care.CallResult{TaskID: "call-1", Outcome: care.CallReached, Notes: "walking with crutches"})
		tr.add("call", care.PhaseFollowUp, care.CallResult{TaskID: "call-2", Outcome: care.CallNoAnswer})
		tr.add("pause", care.PhaseFollowUp, care.Pause{Reason: "travel"})
		tr.add("resume", care.PhaseFollowUp, care.Pause{Reason: "back"})
		for i, st := range []care.TaskStatus{care.TaskDone, care.TaskMissed, care.TaskOpen, care.TaskCancelled} {
			t := care.Task{ID: fmt.Sprintf("call-%d", i+1), CaseID: id, Kind: care.TaskCall, Description: "follow-up call", Owner: "cm-ana",
				StartedAt: t0, Due: t0.Add(24 * time.Hour), Status: st, Clock: true}
			if st != care.TaskOpen {
				t.CompletedAt, t.Outcome = t0.Add(2*time.Hour), string(st)
			}
			d.Tasks = append(d.Tasks, t)
		}
	})
	do(care.PhaseTransition, func() {
		tr.add("transition", care.PhasePostTransition, care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: "2026-11-20"})
		tr.add("transition", care.PhaseTransition, care.Transition{Kind: care.TransitionReadmission, From: "home", To: "city hospital", Date: "2026-11-25"})
	})
	do(care.PhasePostTransition, func() {
		tr.add("transition", care.PhasePostTransition, care.Transition{Kind: care.TransitionTransfer, From: "city hospital", To: "rehab unit", Date: "2026-11-28"})
		tr.add("transition", care.PhasePostTransition, care.Transition{Kind: care.TransitionLevelChange, From: "weekly physio", To: "monthly physio", Date: "2026-11-29"})
		tr.add("transition-ignored", care.PhasePostTransition, care.Transition{Kind: care.TransitionDischarge, From: "x", To: "y", Date: "2026-11-29"})
	})
	do(care.PhaseEvaluation, func() {
		tr.add("evaluate", care.PhaseEvaluation, map[string]any{"scores": map[string]int{"physical": 4}})
	})
	if phase == care.PhaseClosed {
		if closure != care.ClosureIneligible {
			tr.add("close", care.PhaseClosed, care.Closure{Reason: closure})
		}
		at := tr.at
		d.Case.ClosedAt, d.Case.ClosureReason = &at, closure
	}
	d.Events = tr.events
	return d
}

// Fixtures covers every phase, every closure reason and every service,
// authorization, appointment, task and call outcome.
func Fixtures() []fhir.CaseData {
	var out []fhir.CaseData
	for i, p := range care.Phases {
		if p != care.PhaseClosed {
			out = append(out, fixture(i, p, ""))
		}
	}
	for i, r := range care.ClosureReasons {
		out = append(out, fixture(50+i, care.PhaseClosed, r))
	}
	return out
}

func TestBundleReferencesResolve(t *testing.T) {
	for _, d := range Fixtures() {
		rs := fhir.Case(d)
		have := map[string]bool{}
		for _, r := range rs {
			require(t, !have[r.Ref()], "%s: %s twice", d.Case.CaseID, r.Ref())
			have[r.Ref()] = true
		}
		for _, r := range rs {
			for _, ref := range fhir.References(r) {
				require(t, have[ref], "%s: %s refers to %s, not in the case", d.Case.CaseID, r.Ref(), ref)
			}
		}
		b := fhir.Bundle(d.Case.CaseID, t0, rs)
		urls := map[string]bool{}
		for _, e := range b["entry"].([]any) {
			urls[e.(map[string]any)["fullUrl"].(string)] = true
		}
		for _, e := range b["entry"].([]any) {
			for _, ref := range fhir.References(e.(map[string]any)["resource"].(map[string]any)) {
				require(t, urls[ref], "%s: bundle reference %s does not resolve", d.Case.CaseID, ref)
			}
		}
	}
}

func TestStatusMapping(t *testing.T) {
	byType := func(d fhir.CaseData, typ string) []fhir.Resource {
		var out []fhir.Resource
		for _, r := range fhir.Case(d) {
			if r.Type() == typ {
				out = append(out, r)
			}
		}
		return out
	}
	for phase, want := range map[care.Phase]string{care.PhaseScreening: "planned", care.PhaseFollowUp: "active", care.PhaseEvaluation: "active"} {
		ep := byType(fixture(1, phase, ""), "EpisodeOfCare")[0]
		require(t, ep["status"] == want, "%s: EpisodeOfCare.status %v, want %s", phase, ep["status"], want)
	}
	require(t, byType(fixture(1, care.PhaseClosed, care.ClosureGoalsMet), "EpisodeOfCare")[0]["status"] == "finished", "goals met: finished")
	require(t, byType(fixture(1, care.PhaseClosed, care.ClosureIneligible), "EpisodeOfCare")[0]["status"] == "cancelled", "ineligible: cancelled")
	d := fixture(2, care.PhasePostTransition, "")
	var appts []string
	for _, a := range byType(d, "Appointment") {
		appts = append(appts, a["status"].(string))
	}
	require(t, strings.Join(appts, ",") == "booked,fulfilled,noshow,cancelled,booked", "appointments %v", appts)
	var outcomes []string
	for _, cr := range byType(d, "ClaimResponse") {
		outcomes = append(outcomes, fmt.Sprint(cr["outcome"], "/", cr["disposition"], "/", cr["preAuthRef"]))
	}
	require(t, len(outcomes) == 8 && strings.HasPrefix(outcomes[0], "queued/pended") && strings.HasPrefix(outcomes[1], "complete/denied: not medically necessary") &&
		outcomes[2] == "complete/approved/AUTH-3", "claim responses %v", outcomes)
	require(t, len(byType(d, "Claim")) == 9, "one Claim per authorization request")
	require(t, len(byType(d, "Encounter")) == 4, "one Encounter per applied transition (not the ignored one)")
	comms := byType(d, "Communication")
	require(t, len(comms) == 4, "contacts and calls")
	var entered time.Time
	for _, e := range d.Events {
		if e.Action == "contact" && strings.Contains(string(e.Detail.(json.RawMessage)), `"at"`) {
			entered = e.At
		}
	}
	require(t, comms[1]["sent"] == entered.Add(-90*time.Minute).Format(time.RFC3339), "a contact entered later was sent when it was made: %v, entered %s", comms[1]["sent"], entered)
	ep := byType(d, "EpisodeOfCare")[0]
	hist := ep["statusHistory"].([]any)
	require(t, hist[0].(map[string]any)["status"] == "planned" && hist[1].(map[string]any)["status"] == "active" && hist[2].(map[string]any)["status"] == "onhold",
		"status history %v", hist)
}

// TestOutsideValidator validates every fixture's Bundle and the bulk NDJSON
// with Medplum's FHIR R4 validator (tools/fhircheck, from npm).
func TestOutsideValidator(t *testing.T) {
	dir := t.TempDir()
	var files []string
	bulk, err := fhir.NewNDJSON(filepath.Join(dir, "bulk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Fixtures() {
		rs := fhir.Case(d)
		b, _ := json.Marshal(fhir.Bundle(d.Case.CaseID, t0, rs))
		f := filepath.Join(dir, d.Case.CaseID+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, r := range rs {
			if err := bulk.Write(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, err := bulk.Close("test", t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Output {
		files = append(files, filepath.Join(dir, "bulk", o.URL))
	}
	var types []string
	for _, o := range m.Output {
		types = append(types, o.Type)
	}
	slices.Sort(types)
	want := slices.Clone(fhir.Types)
	slices.Sort(want)
	require(t, slices.Equal(types, want), "bulk types %v, want %v", types, want)
	root, _ := filepath.Abs("..")
	out, err := fhircheck.Check(root, files...)
	if errors.Is(err, fhircheck.ErrNoNode) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
}

func require(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}
