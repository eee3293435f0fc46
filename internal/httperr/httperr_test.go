package httperr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// rawServer answers every connection with the bytes of answer, whatever
// was asked, as a misbehaving or hostile remote can.
func rawServer(t *testing.T, answer string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, answer)
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// The message of an error ends up in worker logs: nothing the remote
// chose to send (its status line's reason phrase, a malformed answer)
// reaches it.
func TestMessagesNeverQuoteTheRemote(t *testing.T) {
	t.Parallel()
	const phi = "River Quinn DOB 1950-02-03 MRN 00123"
	call := func(answer string) error {
		resp, err := http.Get(rawServer(t, answer))
		if err != nil {
			return httperr.NoAnswer("payer", "submit", "the payer", err)
		}
		defer resp.Body.Close()
		return httperr.Answered("payer", "submit", "the payer", resp, "")
	}
	err := call("HTTP/1.1 422 Member " + phi + " not eligible\r\nContent-Length: 0\r\n\r\n")
	require.Equal(t, "payer submit: HTTP 422: the payer answered 422 Unprocessable Entity", err.Error())
	err = call("HTTP/1.1 799 " + phi + "\r\nContent-Length: 0\r\n\r\n")
	require.Equal(t, "payer submit: HTTP 799: the payer answered 799 (temporary; retry)", err.Error())
	for _, answer := range []string{
		"HTTP/1.1 " + phi + "\r\n\r\n", // malformed status code
		phi + "\r\n\r\n",               // not HTTP at all
		"HTTP/1.1 200 OK\r\nContent-Length: " + phi + "\r\n\r\n",
	} {
		err = call(answer)
		require.NotContains(t, err.Error(), "River", "%q", answer)
		require.NotContains(t, err.Error(), "1950", "%q", answer)
		require.True(t, httperr.IsRetryable(err))
	}
}
