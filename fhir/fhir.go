// Package fhir maps a caseflow case to HL7 FHIR R4 resources: the case as an
// EpisodeOfCare with its Patient, CarePlan and Goals, RiskAssessment,
// ServiceRequests, Tasks, Appointments, prior-authorization Claims and
// ClaimResponses, Communications and transition Encounters. Case builds the
// resources of one case from what PostgreSQL holds; Bundle wraps them in a
// collection Bundle whose references resolve inside it; NDJSON writers for
// bulk export are in bulk.go. docs/interop.md has the mapping table.
package fhir

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
)

// Resource is one FHIR resource as JSON: resourceType, id and its elements.
// References between resources are "Type/id".
type Resource map[string]any

// Type is the resource's type.
func (r Resource) Type() string { s, _ := r["resourceType"].(string); return s }

// ID is the resource's id.
func (r Resource) ID() string { s, _ := r["id"].(string); return s }

// Ref is the relative reference "Type/id" of the resource.
func (r Resource) Ref() string { return r.Type() + "/" + r.ID() }

// Systems of caseflow's own identifiers and codes.
const (
	SystemPatientRef = "urn:caseflow:patient-ref"
	SystemCase       = "urn:caseflow:case"
	SystemStaff      = "urn:caseflow:staff"
	SystemService    = "urn:caseflow:service"
	SystemTaskKind   = "urn:caseflow:task-kind"
	SystemPhase      = "urn:caseflow:phase"
	SystemAuthReq    = "urn:caseflow:authorization-request"
)

// Patient is the patient as PostgreSQL holds them (PHI).
type Patient struct {
	ID        string
	Ref       string
	Name      string
	BirthDate *time.Time
}

// CaseData is what PostgreSQL holds about a case.
type CaseData struct {
	Case         care.Snapshot
	Patient      Patient
	Events       []care.Event // Detail is the event's JSON (json.RawMessage)
	Tasks        []care.Task
	Services     []care.ServiceState
	Appointments []care.Appointment
}

var badID = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// id makes a FHIR id ([A-Za-z0-9-.]{1,64}) from parts joined by '-'. An id
// that is a valid FHIR id as it is stays as it is. One with characters FHIR
// ids do not allow has them replaced by '-' and a hash of the original
// appended, so that distinct ids stay distinct (goals "g_1" and "g-1" are
// two resources); one longer than 64 characters is cut and ends in a hash of
// the original.
func id(parts ...string) string {
	orig := strings.Join(parts, "-")
	s := badID.ReplaceAllString(orig, "-")
	if s != orig {
		sum := sha1.Sum([]byte(orig))
		s += "-" + fmt.Sprintf("%x", sum[:5])
	}
	if len(s) > 64 {
		sum := sha1.Sum([]byte(orig))
		s = s[:47] + "-" + fmt.Sprintf("%x", sum[:8])
	}
	return s
}

func ref(r string) map[string]any { return map[string]any{"reference": r} }

func staff(who string) map[string]any {
	return map[string]any{"identifier": map[string]any{"system": SystemStaff, "value": who}, "display": who}
}

func text(s string) map[string]any { return map[string]any{"text": s} }

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return map[string]any{"coding": []any{c}, "text": orElse(display, code)}
}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func period(start, end time.Time) map[string]any {
	p := map[string]any{}
	if !start.IsZero() {
		p["start"] = instant(start)
	}
	if !end.IsZero() {
		p["end"] = instant(end)
	}
	return p
}

func orElse(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// EpisodeStatus is the EpisodeOfCare status of a phase: screening is
// planned, a closed case finished (cancelled when it closed as ineligible or
// by withdrawn consent), a paused one onhold, every other phase active.
func EpisodeStatus(p care.Phase, closure care.ClosureReason, paused bool) string {
	switch {
	case p == care.PhaseClosed && (closure == care.ClosureIneligible || closure == care.ClosureConsentWithdrawn):
		return "cancelled"
	case p == care.PhaseClosed:
		return "finished"
	case paused:
		return "onhold"
	case p == care.PhaseScreening:
		return "planned"
	}
	return "active"
}

// TaskStatus is the FHIR Task status of a work item.
func TaskStatus(s care.TaskStatus) string {
	switch s {
	case care.TaskDone:
		return "completed"
	case care.TaskMissed:
		return "failed"
	case care.TaskCancelled:
		return "cancelled"
	}
	return "requested"
}

// AppointmentStatus is the FHIR Appointment status.
func AppointmentStatus(s care.AppointmentStatus) string {
	switch s {
	case care.AppointmentAttended:
		return "fulfilled"
	case care.AppointmentNoShow:
		return "noshow"
	case care.AppointmentCancelled:
		return "cancelled"
	}
	return "booked"
}

// ServiceRequestStatus is the FHIR ServiceRequest status of a service.
func ServiceRequestStatus(s care.ServiceStatus) string {
	switch s {
	case care.ServiceCompleted:
		return "completed"
	case care.ServiceCancelled, care.ServiceAuthorizationDenied:
		return "revoked"
	case care.ServicePendingAuthorization, care.ServiceAuthorizationPended:
		return "on-hold"
	case "":
		return "draft"
	}
	return "active"
}

// event details as caseflow records them
type (
	assessDetail struct {
		Proposal care.RiskProposal `json:"proposal"`
	}
	pauseDetail struct {
		Reason string `json:"reason"`
	}
)

func decode[T any](e care.Event) (T, bool) {
	var v T
	raw, ok := e.Detail.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return v, false
		}
		raw = b
	}
	return v, json.Unmarshal(raw, &v) == nil
}

// Case maps one case to its FHIR resources, Patient first.
func Case(d CaseData) []Resource {
	c := d.Case
	patientRef := "Patient/" + id(d.Patient.ID)
	episodeRef := "EpisodeOfCare/" + id(c.CaseID)
	out := []Resource{patient(d.Patient)}

	// The episode's status history, from the audit trail's phase changes.
	var history []any
	status, since, paused := EpisodeStatus(care.PhaseScreening, "", false), c.OpenedAt, false
	var plan *care.CarePlan
	var planAt time.Time
	var risk *care.RiskProposal
	var riskAt time.Time
	var strat *care.Stratification
	// The authorization requests of each service, in the order they were
	// first made, each as its latest state and the service it was made for.
	// A plan that changes a service's code drops the requests made before,
	// and only requests for the service's code are exported.
	auth := map[string][]authRequest{}
	firstRequest := map[string]string{} // the first request ever made for a service keeps the id "auth-<service>"
	codes := map[string]string{}
	var comms, encounters []Resource
	for _, e := range d.Events {
		switch e.Action {
		case "pause":
			paused = true
		case "resume":
			paused = false
		case "plan":
			if p, ok := decode[care.CarePlan](e); ok {
				plan, planAt = &p, e.At
				for _, s := range p.Services {
					if code, ok := codes[s.ID]; ok && code != s.Code {
						delete(auth, s.ID)
					}
					codes[s.ID] = s.Code
				}
			}
		case "assess":
			if a, ok := decode[assessDetail](e); ok {
				risk, riskAt = &a.Proposal, e.At
			}
		case "stratify":
			if s, ok := decode[care.Stratification](e); ok {
				strat, riskAt = &s, e.At
			}
		case "service":
			if s, ok := decode[care.ServiceState](e); ok && s.Authorization != nil {
				auth[s.ID] = addRequest(auth[s.ID], s, firstRequest)
			}
		case "contact":
			if ct, ok := decode[care.Contact](e); ok {
				comms = append(comms, contactComm(c, e, ct, patientRef, episodeRef))
			}
		case "call":
			if cr, ok := decode[care.CallResult](e); ok {
				comms = append(comms, callComm(c, e, cr, patientRef, episodeRef))
			}
		case "transition":
			if t, ok := decode[care.Transition](e); ok && t.Kind != "" {
				encounters = append(encounters, encounter(c, e, t, patientRef, episodeRef))
			}
		}
		closure := care.ClosureReason("")
		if e.PhaseAfter == care.PhaseClosed {
			closure = c.ClosureReason
		}
		if next := EpisodeStatus(e.PhaseAfter, closure, paused); next != status {
			history = append(history, map[string]any{"status": status, "period": period(since, e.At)})
			status, since = next, e.At
		}
	}
	ep := Resource{
		"resourceType": "EpisodeOfCare", "id": id(c.CaseID),
		"identifier":  []any{map[string]any{"system": SystemCase, "value": c.CaseID}},
		"status":      status,
		"type":        []any{coding("urn:caseflow:program", c.Program, "")},
		"patient":     ref(patientRef),
		"period":      period(c.OpenedAt, derefTime(c.ClosedAt)),
		"careManager": staff(c.Manager),
		"extension":   []any{map[string]any{"url": "urn:caseflow:fhir:phase", "valueCode": string(c.Phase)}},
	}
	if len(history) > 0 {
		ep["statusHistory"] = history
	}
	out = append(out, ep)

	// Services: the plan's, with the coordination status PostgreSQL has.
	svcStatus := map[string]care.ServiceState{}
	for _, s := range d.Services {
		svcStatus[s.ID] = s
	}
	var services []care.Service
	if plan != nil {
		services = plan.Services
	} else {
		for _, s := range d.Services {
			services = append(services, s.Service)
		}
	}
	// Services a later plan removed: still in case_services, exported
	// revoked (completed if they were), so that the active ServiceRequest
	// an earlier export carried is withdrawn.
	removed := map[string]bool{}
	if plan != nil {
		inPlan := map[string]bool{}
		for _, s := range plan.Services {
			inPlan[s.ID] = true
		}
		for _, s := range d.Services {
			if !inPlan[s.ID] {
				removed[s.ID] = true
				services = append(services, s.Service)
			}
		}
	}
	planRef := "CarePlan/" + id(c.CaseID, "plan")
	if plan != nil {
		var goalRefs, activities []any
		for _, g := range plan.Goals {
			gr := goal(c, g, patientRef)
			out = append(out, gr)
			goalRefs = append(goalRefs, ref(gr.Ref()))
		}
		for _, s := range plan.Services {
			activities = append(activities, map[string]any{"reference": ref("ServiceRequest/" + id(c.CaseID, "svc", s.ID))})
		}
		cp := Resource{
			"resourceType": "CarePlan", "id": id(c.CaseID, "plan"),
			"status":         planStatus(c.Phase),
			"intent":         "plan",
			"subject":        ref(patientRef),
			"created":        instant(planAt),
			"period":         period(planAt, derefTime(c.ClosedAt)),
			"author":         staff(c.Manager),
			"supportingInfo": []any{ref(episodeRef)},
		}
		if len(goalRefs) > 0 {
			cp["goal"] = goalRefs
		}
		if len(activities) > 0 {
			cp["activity"] = activities
		}
		if plan.Notes != "" {
			cp["note"] = []any{map[string]any{"text": plan.Notes}}
		}
		out = append(out, cp)
	}
	if risk != nil || strat != nil || c.Risk != "" {
		out = append(out, riskAssessment(c, risk, strat, riskAt, patientRef, episodeRef))
	}
	for _, s := range services {
		st, stored := svcStatus[s.ID]
		if stored {
			// case_services holds the service as it is now: an amendment
			// (frequency) changes it there, not in the plan event.
			s = st.Service
		}
		status := ServiceRequestStatus(st.Status)
		if removed[s.ID] && status != "completed" {
			status = "revoked"
		}
		sr := Resource{
			"resourceType": "ServiceRequest", "id": id(c.CaseID, "svc", s.ID),
			"status":    status,
			"intent":    "order",
			"code":      coding(SystemService, s.Code, s.Name),
			"subject":   ref(patientRef),
			"requester": staff(c.Manager),
		}
		if plan != nil {
			sr["basedOn"] = []any{ref(planRef)}
		}
		if s.Frequency != "" {
			sr["patientInstruction"] = s.Frequency
		}
		out = append(out, sr)
		var reqs []authRequest
		for _, a := range auth[s.ID] {
			if a.service.Code == "" || a.service.Code == s.Code {
				a.service = s
				reqs = append(reqs, a)
			}
		}
		for _, a := range reqs {
			out = append(out, claim(c, a, reqs, patientRef, "ServiceRequest/"+id(c.CaseID, "svc", s.ID))...)
		}
	}
	for _, t := range d.Tasks {
		out = append(out, task(c, t, patientRef, episodeRef))
	}
	for _, a := range d.Appointments {
		out = append(out, appointment(c, a, patientRef))
	}
	out = append(out, comms...)
	out = append(out, encounters...)
	return prune(out)
}

// prune drops the optional links (basedOn, about) to resources the case
// does not have (e.g. the TCM visit's appointment has no ServiceRequest),
// so that every reference resolves among the case's resources.
func prune(rs []Resource) []Resource {
	have := map[string]bool{}
	for _, r := range rs {
		have[r.Ref()] = true
	}
	for _, r := range rs {
		for _, k := range []string{"basedOn", "about"} {
			list, ok := r[k].([]any)
			if !ok {
				continue
			}
			kept := []any{}
			for _, v := range list {
				if m, ok := v.(map[string]any); ok {
					if s, ok := m["reference"].(string); ok && !have[s] {
						continue
					}
				}
				kept = append(kept, v)
			}
			if len(kept) == 0 {
				delete(r, k)
			} else {
				r[k] = kept
			}
		}
	}
	return rs
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func patient(p Patient) Resource {
	r := Resource{
		"resourceType": "Patient", "id": id(p.ID),
		"identifier": []any{map[string]any{"system": SystemPatientRef, "value": p.Ref}},
	}
	if p.Name != "" {
		r["name"] = []any{map[string]any{"text": p.Name}}
	}
	if p.BirthDate != nil {
		r["birthDate"] = p.BirthDate.Format(time.DateOnly)
	}
	return r
}

func planStatus(p care.Phase) string {
	if p == care.PhaseClosed {
		return "completed"
	}
	return "active"
}

func goal(c care.Snapshot, g care.Goal, patientRef string) Resource {
	status := "active"
	if c.Phase == care.PhaseClosed {
		status = "completed"
		if c.ClosureReason != care.ClosureGoalsMet {
			status = "cancelled"
		}
	}
	r := Resource{
		"resourceType": "Goal", "id": id(c.CaseID, "goal", g.ID),
		"identifier":      []any{map[string]any{"system": "urn:caseflow:goal", "value": g.ID}},
		"lifecycleStatus": status,
		"description":     text(g.Description),
		"subject":         ref(patientRef),
	}
	if c.Phase == care.PhaseClosed && c.ClosureReason == care.ClosureGoalsMet {
		r["achievementStatus"] = coding("http://terminology.hl7.org/CodeSystem/goal-achievement", "achieved", "Achieved")
	}
	if g.Target != "" || g.Due != "" {
		t := map[string]any{"measure": text(g.Description)}
		if g.Target != "" {
			t["detailString"] = g.Target
		}
		if g.Due != "" {
			t["dueDate"] = g.Due
		}
		r["target"] = []any{t}
	}
	return r
}

func riskAssessment(c care.Snapshot, p *care.RiskProposal, s *care.Stratification, at time.Time, patientRef, episodeRef string) Resource {
	level := string(c.Risk)
	if level == "" && p != nil {
		level = string(p.Level)
	}
	r := Resource{
		"resourceType": "RiskAssessment", "id": id(c.CaseID, "risk"),
		"status":  "final",
		"subject": ref(patientRef),
		"basis":   []any{ref(episodeRef)},
	}
	if c.Risk == "" {
		r["status"] = "preliminary"
	}
	if !at.IsZero() {
		r["occurrenceDateTime"] = instant(at)
	}
	if p != nil {
		r["method"] = coding("urn:caseflow:risk-rules", p.Rules, "")
		if len(p.Factors) > 0 {
			r["note"] = []any{map[string]any{"text": "factors: " + strings.Join(p.Factors, ", ")}}
		}
	}
	if level != "" {
		pred := map[string]any{"qualitativeRisk": coding("http://terminology.hl7.org/CodeSystem/risk-probability", level, level),
			"outcome": text("needs intensive care management")}
		var why []string
		if c.Category != "" {
			why = append(why, "care category "+string(c.Category))
		}
		if s != nil && s.OverrideReason != "" {
			why = append(why, "risk set by staff: "+s.OverrideReason)
		}
		if len(why) > 0 {
			pred["rationale"] = strings.Join(why, "; ")
		}
		r["prediction"] = []any{pred}
	}
	return r
}

// authRequest is one prior-authorization request of a service: its latest
// state, the service it was made for (a request for another code than the
// service's is not exported), and the id suffix of its Claim and
// ClaimResponse.
type authRequest struct {
	service care.Service
	auth    care.AuthorizationState
	key     string // "" for the first request of the service, else the request id
}

// addRequest records the latest state of a service's authorization
// request: a new request (an appeal, a resubmission) is added after the
// others; the first request ever made for the service keys its Claim on the
// service alone, as before requests had their own Claims.
func addRequest(reqs []authRequest, s care.ServiceState, first map[string]string) []authRequest {
	a := *s.Authorization
	for i := range reqs {
		if reqs[i].auth.RequestID == a.RequestID {
			reqs[i].service, reqs[i].auth = s.Service, a
			return reqs
		}
	}
	key := a.RequestID
	if f, ok := first[s.ID]; !ok || f == a.RequestID {
		first[s.ID], key = a.RequestID, ""
	}
	return append(reqs, authRequest{service: s.Service, auth: a, key: key})
}

func (r authRequest) claimID(caseID, prefix string) string {
	if r.key == "" {
		return id(caseID, prefix, r.service.ID)
	}
	// "R" marks where the request id starts: service ids are lower case,
	// so no other service's first Claim has this id.
	return id(caseID, prefix, r.service.ID, "R"+r.key)
}

func claim(c care.Snapshot, req authRequest, reqs []authRequest, patientRef, srRef string) []Resource {
	s, a := req.service, req.auth
	priority := "normal"
	if a.Expedited {
		priority = "stat"
	}
	claimType := coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional")
	cl := Resource{
		"resourceType": "Claim", "id": req.claimID(c.CaseID, "auth"),
		"identifier": []any{map[string]any{"system": SystemAuthReq, "value": a.RequestID}},
		"status":     "active",
		"type":       claimType,
		"use":        "preauthorization",
		"patient":    ref(patientRef),
		"created":    instant(a.SubmittedAt),
		"provider":   map[string]any{"display": "caseflow care management, program " + c.Program},
		"priority":   coding("http://terminology.hl7.org/CodeSystem/processpriority", priority, ""),
		"referral":   ref(srRef),
		"insurance":  []any{map[string]any{"sequence": 1, "focal": true, "coverage": map[string]any{"display": "the patient's coverage"}}},
		"item":       []any{map[string]any{"sequence": 1, "productOrService": coding(SystemService, s.Code, s.Name)}},
	}
	if a.Related != "" {
		// An appeal: a new request about the denied one.
		rel := map[string]any{
			"relationship": coding("http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "prior", "Prior Claim"),
			"reference":    map[string]any{"system": SystemAuthReq, "value": a.Related},
		}
		for _, o := range reqs {
			if o.auth.RequestID == a.Related {
				rel["claim"] = ref("Claim/" + o.claimID(c.CaseID, "auth"))
			}
		}
		cl["related"] = []any{rel}
	}
	out := []Resource{cl}
	if a.Status == "" {
		return out
	}
	cr := Resource{
		"resourceType": "ClaimResponse", "id": req.claimID(c.CaseID, "authr"),
		"status":  "active",
		"type":    claimType,
		"use":     "preauthorization",
		"patient": ref(patientRef),
		"created": instant(a.SubmittedAt),
		"insurer": map[string]any{"display": "the patient's insurer"},
		"request": ref(cl.Ref()),
	}
	switch a.Status {
	case care.AuthorizationApproved:
		cr["outcome"], cr["disposition"] = "complete", "approved"
	case care.AuthorizationDenied:
		cr["outcome"], cr["disposition"] = "complete", "denied: "+orElse(a.Reason, "no reason given")
		cr["error"] = []any{map[string]any{"code": text(orElse(a.Reason, "denied"))}}
	case care.AuthorizationPended:
		cr["outcome"], cr["disposition"] = "queued", "pended"
		switch {
		case a.Exempt:
			cr["disposition"] = "pended: the payer is exempt from decision deadlines"
		case !a.DeadlineAt.IsZero():
			cr["disposition"] = "pended: a decision is due by " + instant(a.DeadlineAt)
		}
	default:
		cr["outcome"] = "error"
	}
	if a.Number != "" {
		cr["preAuthRef"] = a.Number
	}
	if !a.ValidFrom.IsZero() || !a.ValidTo.IsZero() {
		cr["preAuthPeriod"] = period(a.ValidFrom, a.ValidTo)
	}
	return append(out, cr)
}

func task(c care.Snapshot, t care.Task, patientRef, episodeRef string) Resource {
	r := Resource{
		"resourceType": "Task", "id": id(c.CaseID, t.ID),
		"identifier":  []any{map[string]any{"system": "urn:caseflow:task", "value": t.ID}},
		"status":      TaskStatus(t.Status),
		"intent":      "order",
		"code":        coding(SystemTaskKind, string(t.Kind), ""),
		"description": t.Description,
		"for":         ref(patientRef),
		"focus":       ref(episodeRef),
		"authoredOn":  instant(t.StartedAt),
		"owner":       staff(t.Owner),
		"restriction": map[string]any{"period": period(t.StartedAt, t.Due)},
	}
	if !t.CompletedAt.IsZero() {
		r["executionPeriod"] = period(t.StartedAt, t.CompletedAt)
		r["lastModified"] = instant(t.CompletedAt)
	}
	if t.Outcome != "" {
		r["statusReason"] = text(t.Outcome)
	}
	if t.Status == care.TaskOpen && !t.EscalatedAt.IsZero() {
		r["priority"] = "urgent"
	}
	return r
}

func appointment(c care.Snapshot, a care.Appointment, patientRef string) Resource {
	r := Resource{
		"resourceType": "Appointment", "id": id(a.ID),
		"identifier":  []any{map[string]any{"system": "urn:caseflow:appointment", "value": a.ID}},
		"status":      AppointmentStatus(a.Status),
		"serviceType": []any{coding(SystemService, a.ServiceCode, "")},
		"start":       instant(a.StartsAt),
		"end":         instant(a.EndsAt),
		"created":     instant(a.BookedAt),
		"basedOn":     []any{ref("ServiceRequest/" + id(c.CaseID, "svc", a.ServiceID))},
		"participant": []any{
			map[string]any{"actor": ref(patientRef), "status": "accepted"},
			map[string]any{"actor": map[string]any{"identifier": map[string]any{"system": "urn:caseflow:provider", "value": a.ProviderID},
				"display": orElse(a.ProviderName, a.ProviderID)}, "status": "accepted"},
		},
	}
	return r
}

// madeAt is when a contact or call was made: the time staff gave when they
// entered it later, else when it was recorded.
func madeAt(e care.Event, at time.Time) time.Time {
	if !at.IsZero() && at.Before(e.At) {
		return at
	}
	return e.At
}

func contactComm(c care.Snapshot, e care.Event, ct care.Contact, patientRef, episodeRef string) Resource {
	r := Resource{
		"resourceType": "Communication", "id": id(c.CaseID, "ev", fmt.Sprint(e.Seq)),
		"status":    "completed",
		"category":  []any{coding("urn:caseflow:communication", "contact", "contact")},
		"subject":   ref(patientRef),
		"about":     []any{ref(episodeRef)},
		"sent":      instant(madeAt(e, ct.At)),
		"sender":    staff(e.Actor),
		"recipient": []any{map[string]any{"display": string(ct.With)}},
	}
	if ct.With == care.PartyClient {
		r["recipient"] = []any{ref(patientRef)}
	}
	if ct.Attempt {
		// An attempt that did not reach the client (no-answer, declined),
		// as a call that did not.
		r["status"] = "not-done"
		r["statusReason"] = text(orElse(string(ct.Outcome), "not reached"))
	}
	if ct.FaceToFace {
		r["medium"] = []any{coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", "FACE", "face-to-face")}
	}
	if ct.Notes != "" {
		r["payload"] = []any{map[string]any{"contentString": ct.Notes}}
	}
	return r
}

func callComm(c care.Snapshot, e care.Event, cr care.CallResult, patientRef, episodeRef string) Resource {
	r := Resource{
		"resourceType": "Communication", "id": id(c.CaseID, "ev", fmt.Sprint(e.Seq)),
		"status":    "completed",
		"category":  []any{coding("urn:caseflow:communication", "follow-up-call", "follow-up call")},
		"medium":    []any{coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", "PHONE", "telephone")},
		"subject":   ref(patientRef),
		"about":     []any{ref(episodeRef), ref("Task/" + id(c.CaseID, cr.TaskID))},
		"sent":      instant(madeAt(e, cr.At)),
		"sender":    staff(e.Actor),
		"recipient": []any{ref(patientRef)},
	}
	if cr.Outcome != care.CallReached {
		r["status"] = "not-done"
		r["statusReason"] = text(string(cr.Outcome))
	}
	if cr.Notes != "" {
		r["payload"] = []any{map[string]any{"contentString": cr.Notes}}
	}
	return r
}

func encounter(c care.Snapshot, e care.Event, t care.Transition, patientRef, episodeRef string) Resource {
	r := Resource{
		"resourceType": "Encounter", "id": id(c.CaseID, "tr", fmt.Sprint(e.Seq)),
		"subject":       ref(patientRef),
		"episodeOfCare": []any{ref(episodeRef)},
		"type":          []any{coding("urn:caseflow:transition", string(t.Kind), "")},
		"class":         map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
	}
	switch t.Kind {
	case care.TransitionDischarge:
		r["status"] = "finished"
		r["period"] = map[string]any{"end": t.Date}
		r["hospitalization"] = map[string]any{"origin": map[string]any{"display": t.From}, "destination": map[string]any{"display": t.To}}
	default:
		r["status"] = "in-progress"
		r["period"] = map[string]any{"start": t.Date}
		r["hospitalization"] = map[string]any{"origin": map[string]any{"display": t.From}, "destination": map[string]any{"display": t.To}}
		if t.Kind == care.TransitionReadmission {
			r["hospitalization"].(map[string]any)["reAdmission"] = text("readmission")
		}
		if t.Kind == care.TransitionLevelChange {
			r["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"}
		}
	}
	return r
}

// Types lists the resource types Case produces, in order.
var Types = []string{"Patient", "EpisodeOfCare", "Goal", "CarePlan", "RiskAssessment", "ServiceRequest", "Claim",
	"ClaimResponse", "Task", "Appointment", "Communication", "Encounter"}

// Bundle wraps resources in a FHIR collection Bundle. Each entry's fullUrl
// is a urn:uuid derived from its Type/id, and every reference to a resource
// of the bundle is rewritten to that urn, so references resolve inside it.
func Bundle(bundleID string, at time.Time, resources []Resource) Resource {
	urns := map[string]string{}
	for _, r := range resources {
		urns[r.Ref()] = URN(r.Ref())
	}
	var entries []any
	for _, r := range resources {
		entries = append(entries, map[string]any{"fullUrl": urns[r.Ref()], "resource": rewrite(map[string]any(r), urns)})
	}
	return Resource{"resourceType": "Bundle", "id": id(bundleID), "type": "collection", "timestamp": instant(at), "entry": entries}
}

// URN is the urn:uuid of a Type/id: a name-based (version 5 shape) UUID, so
// the same resource always gets the same one.
func URN(typeID string) string {
	sum := sha1.Sum([]byte("caseflow/fhir\x00" + typeID))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

func rewrite(v any, urns map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if s, ok := val.(string); ok && k == "reference" {
				if u, ok := urns[s]; ok {
					out[k] = u
					continue
				}
			}
			out[k] = rewrite(val, urns)
		}
		return out
	case Resource:
		return rewrite(map[string]any(x), urns)
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = rewrite(val, urns)
		}
		return out
	}
	return v
}

// References lists the "Type/id" references a resource makes.
func References(r Resource) []string {
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["reference"].(string); ok {
				refs = append(refs, s)
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(map[string]any(r))
	slices.Sort(refs)
	return slices.Compact(refs)
}
