// Package httperr classifies the failures of caseflow's HTTP clients (the
// payer client and the reminder webhook) in one way: no answer, a cut-off
// or unusable answer and 5xx, 408 and 429 are temporary (retry); other
// answers are refusals (fix the request). The message, which ends up in
// worker logs, is caseflow's own; what the remote said is kept apart in
// Diagnostics because it may quote patient data.
package httperr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// Error is a failure to get a usable answer from a remote HTTP service.
type Error struct {
	// Service names the remote in caseflow's words: "payer", "notify".
	Service string
	// Op is the call that failed (e.g. "submit", "inquire"); empty when the
	// service has one call.
	Op string
	// StatusCode is the HTTP status the remote answered with; 0 when no
	// answer came (connection refused, timeout) or the request was not sent.
	StatusCode int
	// Message says what went wrong, in caseflow's words: it ends up in logs,
	// so it never quotes the remote.
	Message string
	// Diagnostics is the remote's own explanation (e.g. an
	// OperationOutcome's diagnostics). It may quote patient data: it is not
	// part of Error(), and activities pass it on only inside encrypted
	// failure details.
	Diagnostics string
	// Retryable is true for outages (transport failures, timeouts, 5xx, 408,
	// 429, unreadable answers) and false for requests the remote refused.
	Retryable bool
	// Err is the underlying error, if any.
	Err error
}

// MayHaveReached reports whether the request may have reached the remote
// although no answer came back: a timeout or a connection lost after the
// request could have been sent, not a refused connection (nothing was
// sent) nor an answer with a status. A reminder sent so may have been
// delivered.
func (e *Error) MayHaveReached() bool {
	if e.StatusCode != 0 || e.Err == nil || !e.Retryable {
		return false
	}
	var op *net.OpError
	return !errors.As(e.Err, &op) || op.Op != "dial"
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Service)
	if e.Op != "" {
		b.WriteString(" " + e.Op)
	}
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

// Temporary reports whether trying again later may succeed. Callers that
// must not import the HTTP clients (the activities) classify errors through
// this method.
func (e *Error) Temporary() bool { return e.Retryable }

// RemoteDiagnostics returns what the remote said (Diagnostics), for callers
// that read it through an interface.
func (e *Error) RemoteDiagnostics() string { return e.Diagnostics }

// IsRetryable reports whether err is a temporary failure to reach the remote
// (retry it) rather than a request it refused (fix it). Errors that are not
// an *Error are treated as temporary: an unknown failure is never a refusal.
// It reports false for nil.
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

// RetryableStatus reports whether an HTTP status means "try again later":
// 5xx, 408 Request Timeout and 429 Too Many Requests.
func RetryableStatus(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// TransportReason says in a few words why a request got no usable answer
// ("timed out", "connection refused"), without repeating the URL and in
// caseflow's words only: the errors of net/http quote what the remote sent
// when it was not HTTP (a malformed status line, a header), and this
// message ends up in logs.
func TransportReason(err error) string {
	var ue *url.Error
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var header tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &dns):
		return "the host name did not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.As(err, &cert), errors.As(err, &unknownAuthority), errors.As(err, &hostname):
		return "the TLS certificate was not accepted"
	case errors.As(err, &header):
		return "the TLS handshake failed (is it an https URL to a plain-HTTP server?)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection closed before the answer was complete"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "the connection failed (" + op.Op + ")"
	}
	return "the answer was not usable HTTP"
}

// statusLine is an answer's status in net/http's words, its code and the
// standard reason ("422 Unprocessable Entity"), never the reason phrase
// the remote sent: that is the remote's own text and may quote anything.
func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(code)
}

// Clip keeps a remote message to one short line.
func Clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// NoAnswer is the error of a request to remote (e.g. "the notification
// gateway", or the payer's base URL) that got no answer: connection
// refused, DNS, TLS, a timeout, a cancelled context. It is temporary.
func NoAnswer(service, op, remote string, err error) *Error {
	return &Error{Service: service, Op: op, Message: "no answer from " + remote + ": " + TransportReason(err), Retryable: true, Err: err}
}

// Answered is the error of a non-2xx answer from remote: temporary when
// RetryableStatus says so, else a refusal. The message names only the
// status; what the remote said goes in diagnostics.
func Answered(service, op, remote string, resp *http.Response, diagnostics string) *Error {
	return &Error{Service: service, Op: op, StatusCode: resp.StatusCode, Message: remote + " answered " + statusLine(resp.StatusCode),
		Diagnostics: diagnostics, Retryable: RetryableStatus(resp.StatusCode)}
}
