// Package notify delivers caseflow's patient reminders through a Channel: a
// log channel (the default) or an HTTP webhook to a real SMS or e-mail
// gateway.
//
// A care.Notification carries opaque ids and times only, never personal
// data: the gateway resolves the patient id to contact details on its side.
// Its ReminderID is the idempotency key: a channel may receive the same
// message twice (a worker that crashed after sending and before recording
// it) and must deliver it once. A failed delivery is an httperr.Error that
// says whether it is temporary.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/httperr"
)

// Channel delivers notifications: it is what FromEnv returns, and what the
// activities' Notifier asks for.
type Channel interface {
	// Send delivers m. An error httperr.IsRetryable reports true for is
	// temporary.
	Send(ctx context.Context, m care.Notification) error
	// Name is the channel's name as the reminder outbox records it ("log",
	// "webhook").
	Name() string
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
func (c *LogChannel) Send(ctx context.Context, m care.Notification) error {
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
func (c *WebhookChannel) Send(ctx context.Context, m care.Notification) error {
	if m.ReminderID == "" {
		return &httperr.Error{Service: "notify", Message: "the message has no reminder id (its idempotency key)"}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &httperr.Error{Service: "notify", Message: err.Error(), Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &httperr.Error{Service: "notify", Message: "bad webhook URL; check CASEFLOW_NOTIFY_WEBHOOK_URL: " + err.Error(), Err: err}
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
		return httperr.NoAnswer("notify", "", "the notification gateway", err)
	}
	defer resp.Body.Close()
	// Drain a little of the body so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	// Only the status: the gateway's reply could quote the message, and
	// activity errors end up in worker logs, which are not encrypted.
	return httperr.Answered("notify", "", "the notification gateway", resp, "")
}
