package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/httperr"
	"github.com/caseflow/caseflow/notify"
)

var msg = care.Notification{
	ReminderID: "ap-0123456789abcdef.120m", AppointmentID: "ap-0123456789abcdef",
	CaseID: "c-5c1d0e8f2a7b9c3d", PatientID: "p-0a1b2c3d4e5f6a7b", Kind: care.NotificationAppointmentReminder,
	DueAt: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), StartsAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
}

func TestWebhookPostsTheMessageWithItsIdempotencyKey(t *testing.T) {
	t.Parallel()
	var got struct {
		method, idem, ctype, auth string
		body                      map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.idem, got.ctype, got.auth = r.Method, r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &got.body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	ch := notify.NewWebhookChannel(srv.URL, nil)
	ch.Header.Set("Authorization", "Bearer s3cret")
	require.NoError(t, ch.Send(context.Background(), msg))
	require.Equal(t, http.MethodPost, got.method)
	require.Equal(t, msg.ReminderID, got.idem)
	require.Equal(t, "application/json", got.ctype)
	require.Equal(t, "Bearer s3cret", got.auth)
	require.Equal(t, map[string]any{
		"reminder_id": msg.ReminderID, "appointment_id": msg.AppointmentID, "case_id": msg.CaseID,
		"patient_id": msg.PatientID, "kind": "appointment-reminder",
		"due_at": "2026-12-01T07:00:00Z", "starts_at": "2026-12-01T09:00:00Z",
	}, got.body, "opaque ids and times, nothing else")
	require.Equal(t, "webhook", ch.Name())
}

func TestWebhookRetryability(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leaving
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)

	cases := []struct {
		name      string
		ch        *notify.WebhookChannel
		retryable bool
		contains  string
	}{
		{"500", notify.NewWebhookChannel(answer(500, "gateway down"), nil), true, "HTTP 500: the notification gateway answered 500 Internal Server Error"},
		{"503", notify.NewWebhookChannel(answer(503, ""), nil), true, "503 Service Unavailable"},
		{"429", notify.NewWebhookChannel(answer(429, ""), nil), true, "HTTP 429"},
		{"400", notify.NewWebhookChannel(answer(400, `{"error": "unknown patient River Quinn"}`), nil), false, "HTTP 400"},
		{"410", notify.NewWebhookChannel(answer(410, ""), nil), false, "HTTP 410"},
		{"connection refused", notify.NewWebhookChannel(refused, nil), true, "no answer"},
		{"timeout", notify.NewWebhookChannel(slow.URL, &http.Client{Timeout: 100 * time.Millisecond}), true, "timed out"},
	}
	for _, tc := range cases {
		err := tc.ch.Send(context.Background(), msg)
		require.Error(t, err, tc.name)
		require.Equal(t, tc.retryable, httperr.IsRetryable(err), "%s: %v", tc.name, err)
		require.ErrorContains(t, err, tc.contains, tc.name)
		require.NotContains(t, err.Error(), "River Quinn", "the gateway's reply never reaches the message: logs are not encrypted")
	}
	require.False(t, httperr.IsRetryable(nil))
}

func TestLogChannelWritesOpaqueIDsOnly(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ch := notify.NewLogChannel(slog.New(slog.NewJSONHandler(&buf, nil)))
	require.NoError(t, ch.Send(context.Background(), msg))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.Equal(t, "reminder sent", rec["msg"])
	require.Equal(t, msg.ReminderID, rec["reminder_id"])
	require.Equal(t, msg.PatientID, rec["patient_id"])
	require.Equal(t, "2026-12-01T09:00:00Z", rec["starts_at"])
	require.Equal(t, "log", ch.Name())
}

func TestFromEnv(t *testing.T) {
	t.Setenv("CASEFLOW_NOTIFY_WEBHOOK_URL", "")
	ch, err := notify.FromEnv(nil)
	require.NoError(t, err)
	require.Equal(t, "log", ch.Name(), "no URL: the log channel")

	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
	}))
	t.Cleanup(srv.Close)
	t.Setenv("CASEFLOW_NOTIFY_WEBHOOK_URL", srv.URL+"/reminders")
	t.Setenv("CASEFLOW_NOTIFY_WEBHOOK_TOKEN", "tok")
	ch, err = notify.FromEnv(nil)
	require.NoError(t, err)
	require.Equal(t, "webhook", ch.Name())
	require.NoError(t, ch.Send(context.Background(), msg))
	require.Equal(t, "Bearer tok", auth)

	t.Setenv("CASEFLOW_NOTIFY_WEBHOOK_URL", "gateway.example/reminders")
	_, err = notify.FromEnv(nil)
	require.ErrorContains(t, err, "CASEFLOW_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
}
