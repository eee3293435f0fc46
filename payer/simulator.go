package payer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caseflow/caseflow/care"
)

// Behaviour kinds of the simulator.
const (
	BehaviourApprove = "approve" // approve at once
	BehaviourDeny    = "deny"    // deny at once, with a reason
	BehaviourPend    = "pend"    // pended; decided ("then") once "after" has passed since submission
	BehaviourFail    = "fail"    // HTTP 5xx for the first "failures" requests or for "for", then "then"
	BehaviourSlow    = "slow"    // wait "delay" before answering, then "then"
)

// Behaviour is how the simulator answers for a service code.
type Behaviour struct {
	// Behaviour is approve, deny, pend, fail or slow.
	Behaviour string `json:"behaviour"`
	// approve: the authorization covers ValidDays days from the requested
	// start; 0 means exactly the requested period.
	ValidDays int `json:"valid_days,omitempty"`
	// deny: the specific reason given.
	Reason string `json:"reason,omitempty"`
	// pend: how long after submission the decision is made.
	After care.Duration `json:"after,omitempty"`
	// fail: answer with Status (default 503) to the first Failures requests
	// for the service code, or to every request during For from the first
	// one; then behave as Then.
	Failures int           `json:"failures,omitempty"`
	For      care.Duration `json:"for,omitempty"`
	Status   int           `json:"status,omitempty"`
	// slow: how long to wait before answering as Then.
	Delay care.Duration `json:"delay,omitempty"`
	// Then is the behaviour after a pend (approve or deny), a fail or a slow
	// answer. It defaults to approve.
	Then *Behaviour `json:"then,omitempty"`
	// Appeal is how an appeal of a denial (a request whose Claim.related
	// names the denied request) is decided; it defaults to approve.
	Appeal *Behaviour `json:"appeal,omitempty"`
}

func (b Behaviour) then() Behaviour {
	if b.Then == nil {
		return Behaviour{Behaviour: BehaviourApprove}
	}
	return *b.Then
}

func (b Behaviour) validate(field string) error {
	switch b.Behaviour {
	case BehaviourApprove:
		if b.ValidDays < 0 {
			return care.Invalidf(field+".valid_days", "must be 0 (the requested period) or a positive number of days")
		}
	case BehaviourDeny:
		if strings.TrimSpace(b.Reason) == "" {
			return care.Invalidf(field+".reason", "a denial needs a specific reason, e.g. \"not medically necessary: conservative treatment not tried\"")
		}
	case BehaviourPend:
		if b.After <= 0 {
			return care.Invalidf(field+".after", "is required: how long after submission the decision comes, e.g. \"30s\"")
		}
		if t := b.then(); t.Behaviour != BehaviourApprove && t.Behaviour != BehaviourDeny {
			return care.Invalidf(field+".then.behaviour", "a pended request ends approved or denied, not %q", t.Behaviour)
		}
	case BehaviourFail:
		if (b.Failures > 0) == (b.For > 0) {
			return care.Invalidf(field, "a fail behaviour needs exactly one of \"failures\" (a count) or \"for\" (a duration such as \"2m\")")
		}
		if b.Status != 0 && (b.Status < 500 || b.Status > 599) {
			return care.Invalidf(field+".status", "must be a 5xx status, got %d", b.Status)
		}
	case BehaviourSlow:
		if b.Delay <= 0 {
			return care.Invalidf(field+".delay", "is required: how long to wait before answering, e.g. \"10s\"")
		}
	case "":
		return care.Invalidf(field+".behaviour", "is required; use approve, deny, pend, fail or slow")
	default:
		return care.Invalidf(field+".behaviour", "unknown value %q; use approve, deny, pend, fail or slow", b.Behaviour)
	}
	if b.Appeal != nil {
		if err := b.Appeal.validate(field + ".appeal"); err != nil {
			return err
		}
	}
	if b.Then != nil {
		if b.Behaviour != BehaviourPend && b.Behaviour != BehaviourFail && b.Behaviour != BehaviourSlow {
			return care.Invalidf(field+".then", "only pend, fail and slow take a \"then\"")
		}
		return b.Then.validate(field + ".then")
	}
	return nil
}

// SimConfig is the simulator's configuration: a behaviour per service code
// and one for codes not listed.
type SimConfig struct {
	// Default answers service codes not in Services; it defaults to approve.
	Default  Behaviour            `json:"default"`
	Services map[string]Behaviour `json:"services"`
}

// Validate checks the configuration; errors name the field.
func (c SimConfig) Validate() error {
	if c.Default.Behaviour != "" {
		if err := c.Default.validate("default"); err != nil {
			return err
		}
	}
	codes := make([]string, 0, len(c.Services))
	for code := range c.Services {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		if err := care.ValidateOpaqueID("services."+code, code); err != nil {
			return err
		}
		if err := c.Services[code].validate("services." + code); err != nil {
			return err
		}
	}
	return nil
}

// ParseSimConfig reads a simulator configuration from JSON, refusing unknown
// fields, and validates it.
func ParseSimConfig(data []byte) (SimConfig, error) {
	var c SimConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("payer simulator config: %w", err)
	}
	if dec.More() {
		return c, errors.New("payer simulator config: unexpected data after the JSON object")
	}
	return c, c.Validate()
}

// Simulator is an in-memory payer that serves the API HTTPClient speaks.
// Its state (requests and decisions) lives in memory and is lost when it
// stops. It is safe for concurrent use.
type Simulator struct {
	cfg    SimConfig
	logger *slog.Logger

	mu    sync.Mutex
	now   func() time.Time
	byKey map[string]*simRecord
	byID  map[string]*simRecord
	fails map[string]*failState
}

type simRecord struct {
	req       care.AuthorizationRequest
	id        string
	beh       Behaviour // approve, deny or pend
	submitted time.Time
	final     *care.AuthorizationDecision
}

type failState struct {
	seen  int
	first time.Time
}

// NewSimulator returns a simulator with cfg. A nil logger discards logs.
// Logs name the operation, service code, request id and outcome, never a
// patient id.
func NewSimulator(cfg SimConfig, logger *slog.Logger) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Default.Behaviour == "" {
		cfg.Default = Behaviour{Behaviour: BehaviourApprove}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Simulator{cfg: cfg, logger: logger, now: time.Now,
		byKey: map[string]*simRecord{}, byID: map[string]*simRecord{}, fails: map[string]*failState{}}, nil
}

// SetClock replaces the simulator's clock (tests use it to pass a pend delay
// without waiting). Delays of "slow" are always real time.
func (s *Simulator) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// ServeHTTP serves POST /Claim/$submit and GET /ClaimResponse/{id}.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	op, code, id, outcome := "unknown", "", "", ""
	switch {
	case r.URL.Path == submitPath:
		op = "submit"
		if r.Method != http.MethodPost {
			writeOutcome(rec, http.StatusMethodNotAllowed, "not-supported", "use POST "+submitPath)
			break
		}
		code, id, outcome = s.submit(rec, r)
	case strings.HasPrefix(r.URL.Path, inquirePath):
		op = "inquire"
		if r.Method != http.MethodGet {
			writeOutcome(rec, http.StatusMethodNotAllowed, "not-supported", "use GET "+inquirePath+"{id}")
			break
		}
		id = strings.TrimPrefix(r.URL.Path, inquirePath)
		code, outcome = s.inquire(rec, r, id)
	default:
		writeOutcome(rec, http.StatusNotFound, "not-found", "no such endpoint; use POST "+submitPath+" or GET "+inquirePath+"{id}")
	}
	s.logger.Info("payer-sim request", "op", op, "service_code", code, "request_id", id,
		"http_status", rec.status, "review_action", outcome, "took", time.Since(start).Round(time.Millisecond).String())
}

func (s *Simulator) submit(w http.ResponseWriter, r *http.Request) (code, id, outcome string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "structure", "cannot read the request body")
		return
	}
	var c wireClaim
	if err := json.Unmarshal(data, &c); err != nil {
		writeOutcome(w, http.StatusBadRequest, "structure", "the body is not a JSON Claim: "+err.Error())
		return
	}
	req, err := claimRequest(c)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	code = req.ServiceCode
	b := s.behaviourFor(code)
	if req.Related != "" {
		s.mu.Lock()
		denied := s.byID[req.Related]
		s.mu.Unlock()
		if denied == nil || denied.final == nil || denied.final.Status != care.AuthorizationDenied {
			writeOutcome(w, http.StatusUnprocessableEntity, "business-rule",
				fmt.Sprintf("related %s is not a denied request of this payer; only a denial can be appealed", req.Related))
			return code, "", "invalid"
		}
		b = Behaviour{Behaviour: BehaviourApprove}
		if b0 := s.behaviourFor(code); b0.Appeal != nil {
			b = *b0.Appeal
		}
	}
	beh, ok := s.outage(w, r, code, b)
	if !ok {
		return code, "", "outage"
	}

	s.mu.Lock()
	now := s.now().UTC()
	rec := s.byKey[req.RequestKey]
	if rec == nil {
		rec = &simRecord{req: req, id: requestID(req.RequestKey), beh: beh, submitted: now}
		s.byKey[req.RequestKey] = rec
		s.byID[rec.id] = rec
	} else if !sameRequest(rec.req, req) {
		s.mu.Unlock()
		writeOutcome(w, http.StatusConflict, "duplicate", fmt.Sprintf("request key %s was already used for a different request (%s); use a new key for a new request", req.RequestKey, rec.id))
		return code, rec.id, "conflict"
	}
	d := s.decide(rec, now)
	s.mu.Unlock()
	writeResponse(w, rec, d)
	return code, rec.id, string(d.Status)
}

func (s *Simulator) inquire(w http.ResponseWriter, r *http.Request, id string) (code, outcome string) {
	s.mu.Lock()
	rec := s.byID[id]
	s.mu.Unlock()
	if rec == nil {
		writeOutcome(w, http.StatusNotFound, "not-found", fmt.Sprintf("no prior-authorization request %q; submit it first", id))
		return "", "unknown"
	}
	code = rec.req.ServiceCode
	// An outage of the payer hits inquiries too.
	if _, ok := s.outage(w, r, code, s.behaviourFor(code)); !ok {
		return code, "outage"
	}
	s.mu.Lock()
	d := s.decide(rec, s.now().UTC())
	s.mu.Unlock()
	writeResponse(w, rec, d)
	return code, string(d.Status)
}

func (s *Simulator) behaviourFor(code string) Behaviour {
	if b, ok := s.cfg.Services[code]; ok {
		return b
	}
	return s.cfg.Default
}

// outage plays the fail and slow layers of b and returns the behaviour that
// decides (approve, deny or pend). It reports false when it has answered
// with an error.
func (s *Simulator) outage(w http.ResponseWriter, r *http.Request, code string, b Behaviour) (Behaviour, bool) {
	for depth := 0; ; depth++ {
		switch b.Behaviour {
		case BehaviourFail:
			if s.failing(fmt.Sprintf("%s#%d", code, depth), b) {
				status := b.Status
				if status == 0 {
					status = http.StatusServiceUnavailable
				}
				writeOutcome(w, status, "transient", "the payer is unavailable; try again later")
				return b, false
			}
		case BehaviourSlow:
			t := time.NewTimer(b.Delay.D())
			select {
			case <-t.C:
			case <-r.Context().Done():
				// The client left, or the simulator is stopping.
				t.Stop()
				writeOutcome(w, http.StatusServiceUnavailable, "transient", "the payer simulator is stopping; try again later")
				return b, false
			}
		default:
			return b, true
		}
		b = b.then()
	}
}

func (s *Simulator) failing(key string, b Behaviour) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := s.fails[key]
	if st == nil {
		st = &failState{first: now}
		s.fails[key] = st
	}
	st.seen++
	if b.Failures > 0 {
		return st.seen <= b.Failures
	}
	return now.Before(st.first.Add(b.For.D()))
}

// decide returns the decision on rec at now. Called with s.mu held.
func (s *Simulator) decide(rec *simRecord, now time.Time) care.AuthorizationDecision {
	if rec.final != nil {
		return *rec.final
	}
	b, at := rec.beh, rec.submitted
	if b.Behaviour == BehaviourPend {
		due := rec.submitted.Add(b.After.D())
		if now.Before(due) {
			return care.AuthorizationDecision{Status: care.AuthorizationPended, RequestID: rec.id}
		}
		b, at = b.then(), due
	}
	d := care.AuthorizationDecision{RequestID: rec.id, DecidedAt: at}
	switch b.Behaviour {
	case BehaviourDeny:
		d.Status, d.DenialReason = care.AuthorizationDenied, b.Reason
	default:
		d.Status = care.AuthorizationApproved
		d.AuthorizationNumber = "AUTH-" + strings.ToUpper(hashKey("auth", rec.req.RequestKey)[:10])
		d.ValidFrom, d.ValidTo = rec.req.PeriodStart.UTC(), rec.req.PeriodEnd.UTC()
		if b.ValidDays > 0 {
			d.ValidTo = d.ValidFrom.AddDate(0, 0, b.ValidDays)
		}
	}
	rec.final = &d
	return d
}

func claimRequest(c wireClaim) (care.AuthorizationRequest, error) {
	if c.ResourceType != "Claim" {
		return care.AuthorizationRequest{}, fmt.Errorf("resourceType must be Claim, got %q", c.ResourceType)
	}
	if c.Use != "preauthorization" {
		return care.AuthorizationRequest{}, fmt.Errorf("use must be preauthorization, got %q", c.Use)
	}
	if len(c.Item) != 1 {
		return care.AuthorizationRequest{}, fmt.Errorf("the Claim must have exactly one item, got %d", len(c.Item))
	}
	patient, ok := strings.CutPrefix(c.Patient, "Patient/")
	if !ok {
		return care.AuthorizationRequest{}, fmt.Errorf("patient must be a reference Patient/{id}, got %q", c.Patient)
	}
	episode, ok := strings.CutPrefix(c.EpisodeOfCare, "EpisodeOfCare/")
	if !ok {
		return care.AuthorizationRequest{}, fmt.Errorf("episodeOfCare must be a reference EpisodeOfCare/{id}, got %q", c.EpisodeOfCare)
	}
	r := care.AuthorizationRequest{RequestKey: c.Identifier.Value, CaseID: episode, PatientID: patient,
		ServiceCode: c.Item[0].ProductOrService, Urgency: c.Priority,
		PeriodStart: c.Item[0].ServicedPeriod.Start.UTC(), PeriodEnd: c.Item[0].ServicedPeriod.End.UTC()}
	switch len(c.Related) {
	case 0:
	case 1:
		id, ok := strings.CutPrefix(c.Related[0].Claim, inquirePath[1:])
		if !ok || c.Related[0].Relationship != "prior" {
			return r, fmt.Errorf("related must be one {claim: ClaimResponse/{id}, relationship: prior}, got %q (%s)", c.Related[0].Claim, c.Related[0].Relationship)
		}
		r.Related, r.Notes = id, c.Note
	default:
		return r, fmt.Errorf("an appeal relates to exactly one denied request, got %d", len(c.Related))
	}
	return r, r.Validate()
}

func sameRequest(a, b care.AuthorizationRequest) bool {
	return a.RequestKey == b.RequestKey && a.CaseID == b.CaseID && a.PatientID == b.PatientID &&
		a.ServiceCode == b.ServiceCode && a.Urgency == b.Urgency &&
		a.PeriodStart.Equal(b.PeriodStart) && a.PeriodEnd.Equal(b.PeriodEnd) && a.Related == b.Related && a.Notes == b.Notes
}

// requestID derives the payer's request id from the request key, so the same
// key gets the same id even after the simulator restarts.
func requestID(key string) string { return "pa-" + hashKey("request", key)[:16] }

func hashKey(kind, key string) string {
	sum := sha256.Sum256([]byte("caseflow/payer-sim\x00" + kind + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func writeResponse(w http.ResponseWriter, rec *simRecord, d care.AuthorizationDecision) {
	cr := wireClaimResponse{
		ResourceType: "ClaimResponse",
		ID:           rec.id,
		Identifier:   wireIdentifier{System: requestKeySystem, Value: rec.req.RequestKey},
		Outcome:      "complete",
		ReviewAction: d.Status,
		PreAuthRef:   d.AuthorizationNumber,
		Disposition:  d.DenialReason,
	}
	if d.Status == care.AuthorizationPended {
		cr.Outcome = "queued"
	} else {
		at := d.DecidedAt
		cr.Created = &at
	}
	if d.Status == care.AuthorizationApproved {
		cr.PreAuthPeriod = &wirePeriod{Start: d.ValidFrom, End: d.ValidTo}
	}
	writeJSON(w, http.StatusOK, cr)
}

func writeOutcome(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wireOutcome{ResourceType: "OperationOutcome",
		Issue: []wireIssue{{Severity: "error", Code: code, Diagnostics: msg}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
