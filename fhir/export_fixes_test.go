package fhir_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/internal/fhircheck"
)

// planned is a case in follow-up with one service planned.
func planned(svc care.Service) (fhir.CaseData, *trail) {
	d := fixture(90, care.PhaseScreening, "")
	d.Case.Phase = care.PhaseFollowUp
	d.Services, d.Appointments, d.Tasks = nil, nil, nil
	tr := &trail{phase: care.PhaseScreening, at: t0}
	tr.add("plan", care.PhaseImplementation, care.CarePlan{Services: []care.Service{svc}})
	return d, tr
}

func ofType(rs []fhir.Resource, typ string) []fhir.Resource {
	var out []fhir.Resource
	for _, r := range rs {
		if r.Type() == typ {
			out = append(out, r)
		}
	}
	return out
}

func byID(rs []fhir.Resource, id string) fhir.Resource {
	for _, r := range rs {
		if r.ID() == id {
			return r
		}
	}
	return nil
}

var physio = care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy", RequiresAuthorization: true}

// An exempt payer's pended authorization has no decision deadline
// (DeadlineAt zero): the ClaimResponse says so, not that a decision is due
// by year 1. A pended one with a deadline still gives it.
func TestExemptPendedAuthorizationHasNoDeadline(t *testing.T) {
	d, tr := planned(physio)
	st := care.ServiceState{Service: physio, Status: care.ServiceAuthorizationPended,
		Authorization: &care.AuthorizationState{RequestID: "pa-1", Status: care.AuthorizationPended, SubmittedAt: t0, Exempt: true}}
	tr.add("service", care.PhaseFollowUp, st)
	d.Events, d.Services = tr.events, []care.ServiceState{st}
	cr := ofType(fhir.Case(d), "ClaimResponse")[0]
	require(t, cr["disposition"] == "pended: the payer is exempt from decision deadlines", "disposition %q", cr["disposition"])

	st.Authorization.Exempt, st.Authorization.DeadlineAt = false, t0.Add(72*time.Hour)
	tr.add("service", care.PhaseFollowUp, st)
	d.Events = tr.events
	cr = ofType(fhir.Case(d), "ClaimResponse")[0]
	require(t, cr["disposition"] == "pended: a decision is due by 2026-11-05T09:00:00Z", "disposition %q", cr["disposition"])
}

// "case contact --attempt --outcome no-answer" records an attempt that did
// not reach the client: a not-done Communication with the outcome as its
// statusReason, as an unanswered call.
func TestContactAttemptIsANotDoneCommunication(t *testing.T) {
	d, tr := planned(care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy"})
	tr.add("contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallNoAnswer})
	tr.add("contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Attempt: true, Outcome: care.CallDeclined})
	tr.add("contact", care.PhaseFollowUp, care.Contact{With: care.PartyClient, Notes: "reached"})
	d.Events = tr.events
	cs := ofType(fhir.Case(d), "Communication")
	require(t, len(cs) == 3, "%d Communications", len(cs))
	for i, want := range []string{"no-answer", "declined"} {
		require(t, cs[i]["status"] == "not-done", "attempt %d exported %v", i, cs[i]["status"])
		require(t, cs[i]["statusReason"].(map[string]any)["text"] == want, "statusReason %v", cs[i]["statusReason"])
	}
	require(t, cs[2]["status"] == "completed" && cs[2]["statusReason"] == nil, "a contact that reached the client: %v", cs[2])
}

// "case amend-service pt --frequency monthly" changes the service in
// case_services: the ServiceRequest says monthly, not the plan event's
// weekly.
func TestAmendedServiceFrequencyIsExported(t *testing.T) {
	svc := care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy", Frequency: "weekly"}
	d, tr := planned(svc)
	tr.add("amend-service", care.PhaseFollowUp, care.ServiceAmendment{ServiceID: "pt", Frequency: "monthly"})
	amended := svc
	amended.Frequency = "monthly"
	d.Events, d.Services = tr.events, []care.ServiceState{{Service: amended, Status: care.ServiceBooked}}
	sr := ofType(fhir.Case(d), "ServiceRequest")[0]
	require(t, sr["patientInstruction"] == "monthly", "patientInstruction %v after the service was amended to monthly", sr["patientInstruction"])
}

// An appeal of a denied authorization is a second request (its own id,
// related to the denied one): both requests have their Claim and
// ClaimResponse; the first keeps the id it had (auth-<service>), the
// appeal's is keyed on its request and relates to the denied Claim.
func TestAppealKeepsTheDeniedClaim(t *testing.T) {
	d, tr := planned(physio)
	denied := care.ServiceState{Service: physio, Status: care.ServiceAuthorizationDenied,
		Authorization: &care.AuthorizationState{RequestID: "pa-1", Status: care.AuthorizationDenied, Reason: "not medically necessary", SubmittedAt: t0}}
	tr.add("service", care.PhaseFollowUp, denied)
	tr.add("appeal", care.PhaseFollowUp, care.Appeal{ServiceID: "pt", Notes: "new x-ray"})
	approved := care.ServiceState{Service: physio, Status: care.ServiceReadyToBook,
		Authorization: &care.AuthorizationState{RequestID: "pa-2", Related: "pa-1", Status: care.AuthorizationApproved, Number: "AUTH-9", SubmittedAt: t0.Add(24 * time.Hour)}}
	tr.add("service", care.PhaseFollowUp, approved)
	d.Events, d.Services = tr.events, []care.ServiceState{approved}
	rs := fhir.Case(d)
	var ids []string
	for _, c := range ofType(rs, "Claim") {
		ids = append(ids, c.ID()+"="+c["identifier"].([]any)[0].(map[string]any)["value"].(string))
	}
	require(t, strings.Join(ids, " ") == "c-fixture90-auth-pt=pa-1 c-fixture90-auth-pt-Rpa-2=pa-2", "Claims %v", ids)
	first, appeal := byID(rs, "c-fixture90-authr-pt"), byID(rs, "c-fixture90-authr-pt-Rpa-2")
	require(t, first != nil && strings.HasPrefix(first["disposition"].(string), "denied"), "denied ClaimResponse %v", first)
	require(t, appeal != nil && appeal["disposition"] == "approved", "appeal's ClaimResponse %v", appeal)
	rel := byID(rs, "c-fixture90-auth-pt-Rpa-2")["related"].([]any)[0].(map[string]any)
	require(t, rel["claim"].(map[string]any)["reference"] == "Claim/c-fixture90-auth-pt", "related %v", rel)
	require(t, rel["reference"].(map[string]any)["value"] == "pa-1", "related %v", rel)
	validate(t, d)
}

// A plan that replaces service pt (new code, no authorization needed) keeps
// its id: the old code's approval is not exported as the new code's.
func TestReplacedServiceDoesNotInheritTheOldAuthorization(t *testing.T) {
	d, tr := planned(physio)
	tr.add("service", care.PhaseFollowUp, care.ServiceState{Service: physio, Status: care.ServiceReadyToBook,
		Authorization: &care.AuthorizationState{RequestID: "pa-1", Status: care.AuthorizationApproved, Number: "AUTH-1", SubmittedAt: t0}})
	repl := care.Service{ID: "pt", Code: "occupational-therapy", Name: "Occupational therapy"}
	tr.add("plan", care.PhaseImplementation, care.CarePlan{Services: []care.Service{repl}})
	tr.add("service", care.PhaseFollowUp, care.ServiceState{Service: repl, Status: care.ServiceReadyToBook})
	d.Events, d.Services = tr.events, []care.ServiceState{{Service: repl, Status: care.ServiceReadyToBook}}
	for _, c := range ofType(fhir.Case(d), "Claim") {
		t.Fatalf("Claim %v (approved AUTH-1 for physiotherapy) exported for a service that never asked for authorization", c["identifier"])
	}
	// A plan back to the old code does not bring the old approval back.
	tr.add("plan", care.PhaseImplementation, care.CarePlan{Services: []care.Service{physio}})
	d.Events, d.Services = tr.events, []care.ServiceState{{Service: physio, Status: care.ServicePendingAuthorization}}
	require(t, len(ofType(fhir.Case(d), "Claim")) == 0, "the old approval came back")
}

// A plan may hold services "pt_1" and "pt-1" (both valid, distinct opaque
// ids) and goals "g_1" and "g-1": each is its own resource, and the ids
// that were valid FHIR ids stay as they were.
func TestDistinctServiceAndGoalIDsAreDistinctResources(t *testing.T) {
	d, tr := planned(care.Service{ID: "pt_1", Code: "physiotherapy", Name: "Physiotherapy"})
	plan := care.CarePlan{Goals: []care.Goal{{ID: "g_1", Description: "walk"}, {ID: "g-1", Description: "work"}},
		Services: []care.Service{{ID: "pt_1", Code: "physiotherapy", Name: "Physiotherapy"}, {ID: "pt-1", Code: "occupational-therapy", Name: "OT"}}}
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	tr.add("plan", care.PhaseImplementation, plan)
	d.Events = tr.events
	rs := fhir.Case(d)
	seen := map[string]bool{}
	for _, r := range rs {
		require(t, !seen[r.Ref()], "%s exported twice (two different plan entries)", r.Ref())
		seen[r.Ref()] = true
	}
	for _, want := range []string{"Goal/c-fixture90-goal-g-1", "ServiceRequest/c-fixture90-svc-pt-1", "EpisodeOfCare/c-fixture90"} {
		require(t, seen[want], "%s (a valid id) changed: %v", want, seen)
	}
	validate(t, d)
}

// Plan v2 drops service ot, whose coordination is cancelled (case_services:
// cancelled). Its ServiceRequest is still exported, revoked, with its
// Claims, so that the active one an earlier export carried is withdrawn;
// the CarePlan no longer lists it.
func TestRemovedServiceIsExportedRevoked(t *testing.T) {
	pt := care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy"}
	ot := care.Service{ID: "ot", Code: "occupational-therapy", Name: "OT", RequiresAuthorization: true}
	d, tr := planned(pt)
	tr.add("plan", care.PhaseImplementation, care.CarePlan{Services: []care.Service{pt, ot}})
	tr.add("service", care.PhaseImplementation, care.ServiceState{Service: ot, Status: care.ServiceReadyToBook,
		Authorization: &care.AuthorizationState{RequestID: "pa-ot", Status: care.AuthorizationApproved, Number: "AUTH-OT", SubmittedAt: t0}})
	tr.add("plan", care.PhaseImplementation, care.CarePlan{Services: []care.Service{pt}})
	d.Events = tr.events
	d.Services = []care.ServiceState{{Service: ot, Status: care.ServiceBooked}, {Service: pt, Status: care.ServiceBooked}}
	rs := fhir.Case(d)
	sr := byID(rs, "c-fixture90-svc-ot")
	require(t, sr != nil, "removed service ot (in case_services) has no ServiceRequest: the active one exported before is never revoked")
	require(t, sr["status"] == "revoked", "removed service ot exported %v", sr["status"])
	require(t, byID(rs, "c-fixture90-auth-ot") != nil, "removed service's Claim left out")
	cp := ofType(rs, "CarePlan")[0]
	require(t, len(cp["activity"].([]any)) == 1, "CarePlan.activity %v", cp["activity"])
	validate(t, d)
}

// validate runs the outside validator over a case's Bundle and its
// resources.
func validate(t *testing.T, d fhir.CaseData) {
	t.Helper()
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "bundle.json")}
	rs := fhir.Case(d)
	b, _ := json.Marshal(fhir.Bundle(d.Case.CaseID, t0, rs))
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		b, _ := json.Marshal(r)
		f := filepath.Join(dir, r.Type()+"-"+string(rune('a'+i))+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	root, _ := filepath.Abs("..")
	out, err := fhircheck.Check(root, files...)
	if errors.Is(err, fhircheck.ErrNoNode) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
