package payer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/httperr"
)

// The wire format is a simplified, flattened form of the Da Vinci PAS
// exchange (docs/coordination.md shows it in full):
//
//	POST {base}/Claim/$submit        body: Claim (use=preauthorization)  → 200 ClaimResponse
//	GET  {base}/ClaimResponse/{id}                                       → 200 ClaimResponse
//
// Errors come back as an OperationOutcome with a 4xx or 5xx status.

const (
	submitPath  = "/Claim/$submit"
	inquirePath = "/ClaimResponse/"
	// requestKeySystem names the identifier system of caseflow's request keys.
	requestKeySystem = "urn:caseflow:request-key"
	maxBody          = 1 << 20
)

type wirePeriod struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

type wireIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type wireItem struct {
	ProductOrService string     `json:"productOrService"`
	ServicedPeriod   wirePeriod `json:"servicedPeriod"`
}

// wireClaim is the submitted request: a FHIR Claim with use=preauthorization.
type wireClaim struct {
	ResourceType  string         `json:"resourceType"`
	Use           string         `json:"use"`
	Identifier    wireIdentifier `json:"identifier"`
	Patient       string         `json:"patient"`
	EpisodeOfCare string         `json:"episodeOfCare"`
	Priority      care.Urgency   `json:"priority"`
	Item          []wireItem     `json:"item"`
	// Related references the denied request an appeal asks to reconsider
	// (FHIR Claim.related with relationship "prior").
	Related []wireRelated `json:"related,omitempty"`
	// Note carries the appeal's grounds (FHIR Claim has no note; PAS puts
	// them in supportingInfo; caseflow flattens it).
	Note string `json:"note,omitempty"`
}

// wireRelated is one FHIR Claim.related entry.
type wireRelated struct {
	Claim        string `json:"claim"` // ClaimResponse/{id} of the denied request
	Relationship string `json:"relationship"`
}

// wireClaimResponse is the payer's answer: a FHIR ClaimResponse. outcome is
// "complete" for a decision and "queued" while pended; reviewAction is
// approved, denied or pended.
type wireClaimResponse struct {
	ResourceType  string                   `json:"resourceType"`
	ID            string                   `json:"id"`
	Identifier    wireIdentifier           `json:"identifier"`
	Outcome       string                   `json:"outcome"`
	ReviewAction  care.AuthorizationStatus `json:"reviewAction"`
	PreAuthRef    string                   `json:"preAuthRef,omitempty"`
	PreAuthPeriod *wirePeriod              `json:"preAuthPeriod,omitempty"`
	Disposition   string                   `json:"disposition,omitempty"`
	Created       *time.Time               `json:"created,omitempty"`
}

type wireIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
}

// wireOutcome is a FHIR OperationOutcome: the body of an error answer.
type wireOutcome struct {
	ResourceType string      `json:"resourceType"`
	Issue        []wireIssue `json:"issue"`
}

func toClaim(r care.AuthorizationRequest) wireClaim {
	c := wireClaim{
		ResourceType:  "Claim",
		Use:           "preauthorization",
		Identifier:    wireIdentifier{System: requestKeySystem, Value: r.RequestKey},
		Patient:       "Patient/" + r.PatientID,
		EpisodeOfCare: "EpisodeOfCare/" + r.CaseID,
		Priority:      r.Urgency,
		Item: []wireItem{{ProductOrService: r.ServiceCode,
			ServicedPeriod: wirePeriod{Start: r.PeriodStart.UTC(), End: r.PeriodEnd.UTC()}}},
	}
	if r.Related != "" {
		c.Related = []wireRelated{{Claim: inquirePath[1:] + r.Related, Relationship: "prior"}}
		c.Note = r.Notes
	}
	return c
}

func fromResponse(cr wireClaimResponse) (care.AuthorizationDecision, error) {
	d := care.AuthorizationDecision{Status: cr.ReviewAction, RequestID: cr.ID}
	if cr.ResourceType != "ClaimResponse" {
		// Never quote the answer: it is the payer's text and may name the
		// patient; this error reaches worker logs, which are not encrypted.
		return d, errors.New("the answer is not a ClaimResponse")
	}
	if cr.ID == "" {
		return d, errors.New("the ClaimResponse has no id")
	}
	if cr.Created != nil {
		d.DecidedAt = cr.Created.UTC()
	}
	switch cr.ReviewAction {
	case care.AuthorizationApproved:
		if cr.PreAuthRef == "" || cr.PreAuthPeriod == nil {
			return d, errors.New("an approval without preAuthRef or preAuthPeriod")
		}
		d.AuthorizationNumber = cr.PreAuthRef
		d.ValidFrom, d.ValidTo = cr.PreAuthPeriod.Start.UTC(), cr.PreAuthPeriod.End.UTC()
	case care.AuthorizationDenied:
		// CMS-0057-F: a denial must give a specific reason. One without is
		// not a decision caseflow can act on.
		d.DenialReason = strings.TrimSpace(cr.Disposition)
		if d.DenialReason == "" {
			return d, &ProtocolError{Op: "decision", Problem: "a denial without a reason (ClaimResponse.disposition is empty)"}
		}
	case care.AuthorizationPended:
		d.DecidedAt = time.Time{}
	default:
		return d, errors.New("the ClaimResponse has an unknown reviewAction")
	}
	return d, nil
}

// HTTPClient submits prior-authorization requests to a payer's HTTP
// endpoint and inquires about pended ones.
type HTTPClient struct {
	base string
	hc   *http.Client
}

// NewHTTPClient returns a client for the payer at baseURL (e.g.
// https://payer.example/fhir). With a nil httpClient it uses one with a
// 30-second timeout.
func NewHTTPClient(baseURL string, httpClient *http.Client) *HTTPClient {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &HTTPClient{base: strings.TrimRight(baseURL, "/"), hc: httpClient}
}

// Submit posts the request to {base}/Claim/$submit. It is idempotent on
// the request key, which is sent both as the Claim identifier and as the
// Idempotency-Key header.
func (c *HTTPClient) Submit(ctx context.Context, r care.AuthorizationRequest) (care.AuthorizationDecision, error) {
	if err := r.Validate(); err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: "submit", Message: "invalid request: " + err.Error(), Err: err}
	}
	body, err := json.Marshal(toClaim(r))
	if err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: "submit", Message: err.Error(), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+submitPath, bytes.NewReader(body))
	if err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: "submit", Message: fmt.Sprintf("bad payer URL %q: %v; check CASEFLOW_PAYER_URL", c.base, err), Err: err}
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Idempotency-Key", r.RequestKey)
	return c.do(req, "submit")
}

// Inquire gets {base}/ClaimResponse/{requestID}: the current decision on a
// request submitted earlier.
func (c *HTTPClient) Inquire(ctx context.Context, requestID string) (care.AuthorizationDecision, error) {
	if strings.TrimSpace(requestID) == "" {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: "inquire", Message: "invalid request: the request id is empty"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+inquirePath+url.PathEscape(requestID), nil)
	if err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: "inquire", Message: fmt.Sprintf("bad payer URL %q: %v; check CASEFLOW_PAYER_URL", c.base, err), Err: err}
	}
	return c.do(req, "inquire")
}

func (c *HTTPClient) do(req *http.Request, op string) (care.AuthorizationDecision, error) {
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// Connection refused, DNS, TLS, timeouts, a cancelled context: no
		// answer, so no decision.
		return care.AuthorizationDecision{}, httperr.NoAnswer("payer", op, c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: op, StatusCode: resp.StatusCode, Message: "answer cut off: " + httperr.TransportReason(err), Retryable: true, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Only the status: the payer's diagnostics could quote the patient,
		// and activity errors end up in worker logs, which are not encrypted.
		return care.AuthorizationDecision{}, httperr.Answered("payer", op, "the payer", resp, outcomeMessage(data, resp.Status))
	}
	var cr wireClaimResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: op, StatusCode: resp.StatusCode, Message: "unreadable answer: not a JSON ClaimResponse", Retryable: true}
	}
	d, err := fromResponse(cr)
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return care.AuthorizationDecision{}, pe
	}
	if err != nil {
		// A malformed answer is not a decision: treat it as an outage.
		return care.AuthorizationDecision{}, &httperr.Error{Service: "payer", Op: op, StatusCode: resp.StatusCode, Message: "unusable answer: " + err.Error(), Retryable: true, Err: err}
	}
	return d, nil
}

// outcomeMessage extracts the diagnostics of an OperationOutcome, or falls
// back to the HTTP status text.
func outcomeMessage(data []byte, status string) string {
	var oo wireOutcome
	if json.Unmarshal(data, &oo) == nil && len(oo.Issue) > 0 {
		var msgs []string
		for _, is := range oo.Issue {
			if m := strings.TrimSpace(is.Diagnostics); m != "" {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) > 0 {
			return httperr.Clip(strings.Join(msgs, "; "))
		}
	}
	return status
}

// ProtocolError is an answer from the payer that breaks the protocol in a
// way retrying will not fix, such as a denial without a reason. It is
// neither a decision nor an outage: staff must take it up with the payer.
type ProtocolError struct {
	Op      string
	Problem string
}

func (e *ProtocolError) Error() string {
	return "payer protocol error in " + e.Op + ": " + e.Problem
}

// Temporary reports false: asking again gets the same answer.
func (e *ProtocolError) Temporary() bool { return false }

// ProtocolViolation marks the error as a protocol error for callers that
// only see interfaces.
func (e *ProtocolError) ProtocolViolation() bool { return true }
