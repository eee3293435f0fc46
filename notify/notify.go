// Package notify delivers caseflow's patient reminders through a Channel: a
// log channel (the default) or an HTTP webhook to a real SMS or e-mail
// gateway.
//
// A Message carries opaque ids and times only, never personal data: the
// gateway resolves the patient id to contact details on its side. Its
// ReminderID is the idempotency key: a channel may receive the same message
// twice (a worker that crashed after sending and before recording it) and
// must deliver it once.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Kind is what a message is about.
type Kind string

// Message kinds.
const (
	KindAppointmentReminder Kind = "appointment-reminder"
)

// Message is one notification to a patient.
type Message struct {
	// ReminderID is the idempotency key of the message.
	ReminderID    string    `json:"reminder_id"`
	AppointmentID string    `json:"appointment_id"`
	CaseID        string    `json:"case_id"`
	PatientID     string    `json:"patient_id"` // opaque
	Kind          Kind      `json:"kind"`
	DueAt         time.Time `json:"due_at"`
	StartsAt      time.Time `json:"starts_at"`
}

// Channel delivers messages.
type Channel interface {
	// Send delivers m. An error IsRetryable reports true for is temporary.
	Send(ctx context.Context, m Message) error
}

// ChannelName returns the name a channel reports through a Name() string
// method ("log", "webhook"), or "custom".
func ChannelName(c Channel) string {
	if n, ok := c.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "custom"
}

// FromEnv returns the channel configured in the environment: a webhook to
// CASEFLOW_NOTIFY_WEBHOOK_URL (with "Authorization: Bearer
// $CASEFLOW_NOTIFY_WEBHOOK_TOKEN" when that is set), or, when the URL is not
// set, a log channel writing to logger.
func FromEnv(logger *slog.Logger) (Channel, error) {
	raw := os.Getenv("CASEFLOW_NOTIFY_WEBHOOK_URL")
	if raw == "" {
		return NewLogChannel(logger), nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("CASEFLOW_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL, e.g. https://gateway.example/caseflow/reminders")
	}
	w := NewWebhookChannel(raw, nil)
	if tok := os.Getenv("CASEFLOW_NOTIFY_WEBHOOK_TOKEN"); tok != "" {
		w.Header.Set("Authorization", "Bearer "+tok)
	}
	return w, nil
}

// LogChannel writes each message as one structured log record. It is the
// default channel: reminders are visible without a gateway.
type LogChannel struct {
	logger *slog.Logger
}

// NewLogChannel returns a log channel writing to logger (slog.Default() when
// nil).
func NewLogChannel(logger *slog.Logger) *LogChannel {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogChannel{logger: logger}
}

// Name returns "log".
func (*LogChannel) Name() string { return "log" }

// Send logs m. It never fails.
func (c *LogChannel) Send(ctx context.Context, m Message) error {
	c.logger.InfoContext(ctx, "reminder sent", "channel", "log", "reminder_id", m.ReminderID,
		"appointment_id", m.AppointmentID, "case_id", m.CaseID, "patient_id", m.PatientID,
		"kind", string(m.Kind), "due_at", m.DueAt.UTC().Format(time.RFC3339), "starts_at", m.StartsAt.UTC().Format(time.RFC3339))
	return nil
}

// WebhookChannel posts each message as JSON to a gateway URL, with the
// reminder id in the Idempotency-Key header. Any 2xx answer is delivery;
// 5xx, 408, 429 and transport failures are temporary; other answers are
// permanent refusals.
type WebhookChannel struct {
	url string
	hc  *http.Client
	// Header holds extra request headers, e.g. Authorization.
	Header http.Header
}

// NewWebhookChannel returns a channel posting to rawURL. With a nil
// httpClient it uses one with a 15-second timeout.
func NewWebhookChannel(rawURL string, httpClient *http.Client) *WebhookChannel {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &WebhookChannel{url: rawURL, hc: httpClient, Header: http.Header{}}
}

// Name returns "webhook".
func (*WebhookChannel) Name() string { return "webhook" }

// Send posts m.
func (c *WebhookChannel) Send(ctx context.Context, m Message) error {
	if m.ReminderID == "" {
		return &Error{Message: "the message has no reminder id (its idempotency key)"}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &Error{Message: err.Error(), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &Error{Message: "bad webhook URL; check CASEFLOW_NOTIFY_WEBHOOK_URL: " + err.Error(), Err: err}
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.ReminderID)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &Error{Message: "no answer from the notification gateway: " + transportReason(err), Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	// Only the status: the gateway's reply could quote the message, and
	// activity errors end up in worker logs, which are not encrypted.
	_ = data
	msg := "the notification gateway answered " + resp.Status
	code := resp.StatusCode
	return &Error{StatusCode: code, Message: msg,
		Retryable: code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests}
}

// Error is a failed delivery.
type Error struct {
	// StatusCode is the gateway's HTTP status; 0 when it did not answer.
	StatusCode int
	Message    string
	// Retryable is true when trying again later may succeed.
	Retryable bool
	Err       error
}

func (e *Error) Error() string {
	s := "notify"
	if e.StatusCode != 0 {
		s += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	s += ": " + e.Message
	if e.Retryable {
		s += " (temporary; retry)"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether a delivery error is temporary. Errors that are
// not an *Error are treated as temporary. It reports false for nil.
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

func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		return ue.Err.Error()
	}
	return err.Error()
}
