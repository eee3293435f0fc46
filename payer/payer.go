// Package payer is caseflow's insurer (payer) prior-authorization client:
// an HTTP client that speaks a simplified form of the Da Vinci Prior
// Authorization Support (PAS) exchange, and a Simulator that serves the same
// API for tests, demos and development. Both speak care.AuthorizationRequest
// and care.AuthorizationDecision.
//
// A denial is a decision, never an error. An error (an httperr.Error) means
// no decision was obtained: httperr.IsRetryable tells a payer outage
// (transport failure, timeout, 5xx), which must be retried and never be
// turned into a denial, from a request the payer refused (4xx), which
// retrying will not fix.
//
// Requests carry opaque ids only (case, patient, request key); the payer maps
// the patient id to its member through a separate, out-of-band enrolment.
package payer

import "os"

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
func FromEnv() *HTTPClient { return NewHTTPClient(URLFromEnv(), nil) }
