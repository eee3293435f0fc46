package care

import (
	"strconv"
	"strings"
	"time"
)

// Urgency is how fast the payer must decide a prior-authorization request
// (CMS-0057-F: 72 hours expedited, 7 calendar days standard).
type Urgency string

// Urgencies.
const (
	UrgencyExpedited Urgency = "expedited"
	UrgencyStandard  Urgency = "standard"
)

// AuthorizationStatus is the payer's answer to a prior-authorization
// request.
type AuthorizationStatus string

// Authorization statuses.
const (
	AuthorizationApproved AuthorizationStatus = "approved"
	AuthorizationDenied   AuthorizationStatus = "denied"
	AuthorizationPended   AuthorizationStatus = "pended"
	// AuthorizationRejected is no decision: the payer refused the request
	// itself (4xx) or answered outside the protocol (a denial without a
	// reason). Staff must act; it is never shown as pended.
	AuthorizationRejected AuthorizationStatus = "rejected"
)

// AuthorizationRequest asks the payer to authorize one service for one
// case.
type AuthorizationRequest struct {
	// RequestKey is the idempotency key (AuthorizationRequestKeyAt, e.g.
	// "c-5c1d0e8f2a7b9c3d:pt:p1:1:20261201T090000Z"; older requests
	// "case:service:round" or "case:service:pPLAN:round"): submitting the
	// same key again returns the same request and decision instead of
	// opening a second request.
	RequestKey string `json:"request_key"`
	// CaseID and PatientID are opaque ids; no personal data goes to the payer
	// through this interface.
	CaseID      string    `json:"case_id"`
	PatientID   string    `json:"patient_id"`
	ServiceCode string    `json:"service_code"`
	Urgency     Urgency   `json:"urgency"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	// Related is the payer's id of the denied request this one appeals
	// (FHIR Claim.related, relationship "prior"); Notes are the appeal's
	// grounds. Both are empty for a first request.
	Related string `json:"related,omitempty"`
	Notes   string `json:"notes,omitempty"`
}

// AuthorizationRequestKey returns the idempotency key of the nth
// authorization request of a planned service: "case:service:n".
func AuthorizationRequestKey(caseID, serviceID string, n int) string {
	return caseID + ":" + serviceID + ":" + strconv.Itoa(n)
}

// AuthorizationRequestKeyFor returns the idempotency key of the nth
// authorization request of a service coordinated under plan version plan:
// "case:service:pPLAN:n". The plan version keeps the requests of a
// re-planned service from colliding with those of the plan it replaced.
func AuthorizationRequestKeyFor(caseID, serviceID string, plan, n int) string {
	return caseID + ":" + serviceID + ":p" + strconv.Itoa(plan) + ":" + strconv.Itoa(n)
}

// AuthorizationRequestKeyAt returns the idempotency key of the nth
// authorization request of a service coordinated under plan version plan,
// asking for a period from start: "case:service:pPLAN:n:YYYYMMDDThhmmssZ".
// The period's start keeps a request that a reset of the service sends
// again later (its round counter replayed, its period moved) from reusing
// the key of the one sent before, which the payer would refuse as a
// different request under a used key; a retry sends the same request, so
// the same key.
func AuthorizationRequestKeyAt(caseID, serviceID string, plan, n int, start time.Time) string {
	return AuthorizationRequestKeyFor(caseID, serviceID, plan, n) + ":" + start.UTC().Format("20060102T150405Z")
}

// Validate checks a request before it is sent. The error names the field.
func (r AuthorizationRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.RequestKey) == "":
		return Invalidf("request_key", "is required: use case:service:occurrence, e.g. c-5c1d0e8f2a7b9c3d:pt:1")
	case len(r.RequestKey) > 200 || strings.ContainsAny(r.RequestKey, " \t\r\n/"):
		return Invalidf("request_key", "%q must be at most 200 characters without spaces or slashes", r.RequestKey)
	}
	if err := ValidateOpaqueID("case_id", r.CaseID); err != nil {
		return err
	}
	if err := ValidateOpaqueID("patient_id", r.PatientID); err != nil {
		return err
	}
	if err := ValidateOpaqueID("service_code", r.ServiceCode); err != nil {
		return err
	}
	if r.Urgency != UrgencyExpedited && r.Urgency != UrgencyStandard {
		return Invalidf("urgency", "unknown value %q; use expedited or standard", r.Urgency)
	}
	if r.PeriodStart.IsZero() || r.PeriodEnd.IsZero() {
		return Invalidf("period", "period_start and period_end are required")
	}
	if r.Related != "" && strings.TrimSpace(r.Notes) == "" {
		return Invalidf("notes", "an appeal needs its grounds")
	}
	if r.PeriodEnd.Before(r.PeriodStart) {
		return Invalidf("period", "period_end %s is before period_start %s", r.PeriodEnd.Format(time.RFC3339), r.PeriodStart.Format(time.RFC3339))
	}
	return nil
}

// AuthorizationDecision is the payer's answer. A pended decision carries
// only the RequestID to inquire with later. A denial is a decision, never an
// error.
type AuthorizationDecision struct {
	Status    AuthorizationStatus `json:"status"`
	RequestID string              `json:"request_id"`
	// Set when approved: the authorization number and the period it covers.
	AuthorizationNumber string    `json:"authorization_number,omitempty"`
	ValidFrom           time.Time `json:"valid_from,omitzero"`
	ValidTo             time.Time `json:"valid_to,omitzero"`
	// Set when denied: the payer's specific reason.
	DenialReason string `json:"denial_reason,omitempty"`
	// When the payer decided; zero while pended.
	DecidedAt time.Time `json:"decided_at,omitzero"`
}
