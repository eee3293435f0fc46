// Package payer is caseflow's insurer (payer) prior-authorization client: a
// small Client interface, an HTTP implementation that speaks a simplified
// form of the Da Vinci Prior Authorization Support (PAS) exchange, and a
// Simulator that serves the same API for tests, demos and development.
//
// A denial is a Decision, never an error. An error means no decision was
// obtained: IsRetryable tells a payer outage (transport failure, timeout,
// 5xx), which must be retried and never be turned into a denial, from a
// request the payer refused (4xx), which retrying will not fix.
//
// Requests carry opaque ids only (case, patient, request key); the payer maps
// the patient id to its member through a separate, out-of-band enrolment.
package payer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
)

// DefaultURL is the payer caseflow talks to when CASEFLOW_PAYER_URL is not
// set: the simulator started by "caseflow payer-sim".
const DefaultURL = "http://127.0.0.1:8090"

// URLFromEnv returns CASEFLOW_PAYER_URL, or DefaultURL when it is not set.
func URLFromEnv() string {
	if u := os.Getenv("CASEFLOW_PAYER_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// FromEnv returns an HTTP client for the payer at URLFromEnv.
func FromEnv() Client { return NewHTTPClient(URLFromEnv(), nil) }

// Urgency is how fast the payer must decide (CMS-0057-F: 72 hours expedited,
// 7 calendar days standard).
type Urgency string

// Urgencies.
const (
	Expedited Urgency = "expedited"
	Standard  Urgency = "standard"
)

// Status is the payer's answer to a prior-authorization request.
type Status string

// Decision statuses.
const (
	Approved Status = "approved"
	Denied   Status = "denied"
	Pended   Status = "pended"
)

// Request asks the payer to authorize one service for one case.
type Request struct {
	// RequestKey is the idempotency key, "case:service:occurrence" (e.g.
	// "c-5c1d0e8f2a7b9c3d:pt:1"): submitting the same key again returns the
	// same request and decision instead of opening a second request.
	RequestKey string `json:"request_key"`
	// CaseID and PatientID are opaque ids; no personal data goes to the payer
	// through this interface.
	CaseID      string    `json:"case_id"`
	PatientID   string    `json:"patient_id"`
	ServiceCode string    `json:"service_code"`
	Urgency     Urgency   `json:"urgency"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
}

// RequestKey returns the idempotency key of the authorization request for
// one occurrence of a planned service: "case:service:occurrence".
func RequestKey(caseID, serviceID string, occurrence int) string {
	return caseID + ":" + serviceID + ":" + strconv.Itoa(occurrence)
}

// Validate checks a request before it is sent. The error names the field.
func (r Request) Validate() error {
	switch {
	case strings.TrimSpace(r.RequestKey) == "":
		return care.Invalidf("request_key", "is required: use case:service:occurrence, e.g. c-5c1d0e8f2a7b9c3d:pt:1")
	case len(r.RequestKey) > 200 || strings.ContainsAny(r.RequestKey, " \t\r\n/"):
		return care.Invalidf("request_key", "%q must be at most 200 characters without spaces or slashes", r.RequestKey)
	}
	if err := care.ValidateOpaqueID("case_id", r.CaseID); err != nil {
		return err
	}
	if err := care.ValidateOpaqueID("patient_id", r.PatientID); err != nil {
		return err
	}
	if err := care.ValidateOpaqueID("service_code", r.ServiceCode); err != nil {
		return err
	}
	if r.Urgency != Expedited && r.Urgency != Standard {
		return care.Invalidf("urgency", "unknown value %q; use expedited or standard", r.Urgency)
	}
	if r.PeriodStart.IsZero() || r.PeriodEnd.IsZero() {
		return care.Invalidf("period", "period_start and period_end are required")
	}
	if r.PeriodEnd.Before(r.PeriodStart) {
		return care.Invalidf("period", "period_end %s is before period_start %s", r.PeriodEnd.Format(time.RFC3339), r.PeriodStart.Format(time.RFC3339))
	}
	return nil
}

// Decision is the payer's answer. A pended decision carries only the
// RequestID to inquire with later.
type Decision struct {
	Status    Status `json:"status"`
	RequestID string `json:"request_id"`
	// Set when approved: the authorization number and the period it covers.
	AuthorizationNumber string    `json:"authorization_number,omitempty"`
	ValidFrom           time.Time `json:"valid_from,omitzero"`
	ValidTo             time.Time `json:"valid_to,omitzero"`
	// Set when denied: the payer's specific reason.
	DenialReason string `json:"denial_reason,omitempty"`
	// When the payer decided; zero while pended.
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// Client submits prior-authorization requests and inquires about pended ones.
type Client interface {
	// Submit sends a request. It is idempotent on Request.RequestKey.
	Submit(ctx context.Context, r Request) (Decision, error)
	// Inquire returns the current decision on a request submitted earlier.
	Inquire(ctx context.Context, requestID string) (Decision, error)
}

// Error is a failure to obtain a decision from the payer.
type Error struct {
	// Op is "submit" or "inquire".
	Op string
	// StatusCode is the HTTP status the payer answered with; 0 when no answer
	// came (connection refused, timeout) or the request was not sent.
	StatusCode int
	// Message says what went wrong, in caseflow's words: it ends up in logs,
	// so it never quotes the payer.
	Message string
	// Diagnostics is the payer's own explanation (an OperationOutcome's
	// diagnostics). It may quote patient data: it is not part of Error(),
	// and activities pass it on only inside encrypted failure details.
	Diagnostics string
	// Retryable is true for outages (transport failures, timeouts, 5xx, 408,
	// 429, unreadable answers) and false for requests the payer refused.
	Retryable bool
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("payer " + e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Retryable {
		b.WriteString(" (temporary; retry)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a temporary failure to reach the payer
// (retry it) rather than a request the payer refused (fix it). Errors that
// are not an *Error are treated as temporary: an unknown failure is never a
// decision. It reports false for nil.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true
}

// retryableStatus reports whether an HTTP status means "try again later".
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}
