package httperr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/internal/httperr"
)

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	require.False(t, httperr.IsRetryable(nil))
	require.True(t, httperr.IsRetryable(errors.New("something unexpected")), "an unknown failure is not a refusal")
	require.True(t, httperr.IsRetryable(fmt.Errorf("wrapped: %w", &httperr.Error{Service: "payer", Op: "submit", Retryable: true})))
	require.False(t, httperr.IsRetryable(fmt.Errorf("wrapped: %w", &httperr.Error{Service: "payer", Op: "submit", StatusCode: 400})))
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{400: false, 401: false, 404: false, 409: false, 422: false,
		408: true, 429: true, 500: true, 502: true, 503: true} {
		require.Equal(t, want, httperr.RetryableStatus(code), "%d", code)
	}
}

func TestErrorsSayWhoFailedAndWhetherToRetry(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 503, Status: "503 Service Unavailable"}
	e := httperr.Answered("payer", "submit", "the payer", resp, "member River Quinn not found")
	require.Equal(t, "payer submit: HTTP 503: the payer answered 503 Service Unavailable (temporary; retry)", e.Error())
	require.True(t, e.Temporary())
	require.Equal(t, "member River Quinn not found", e.RemoteDiagnostics())
	require.NotContains(t, e.Error(), "River Quinn", "the remote's words stay out of the message")

	resp = &http.Response{StatusCode: 400, Status: "400 Bad Request"}
	e = httperr.Answered("notify", "", "the notification gateway", resp, "")
	require.Equal(t, "notify: HTTP 400: the notification gateway answered 400 Bad Request", e.Error())
	require.False(t, e.Temporary())

	e = httperr.NoAnswer("notify", "", "the notification gateway", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded})
	require.Equal(t, "notify: no answer from the notification gateway: timed out (temporary; retry)", e.Error())
	require.ErrorIs(t, e, context.DeadlineExceeded)
}

func TestClip(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a b c", httperr.Clip(" a\n b \t c "))
	long := httperr.Clip(string(make([]byte, 400)) + "x")
	require.LessOrEqual(t, len(long), 300+len("…"))
}
