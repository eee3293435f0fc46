package payer_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/httperr"
	"github.com/caseflow/caseflow/payer"
)

var periodStart = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func request(key, code string) care.AuthorizationRequest {
	return care.AuthorizationRequest{RequestKey: key, CaseID: "c-5c1d0e8f2a7b9c3d", PatientID: "p-0a1b2c3d4e5f6a7b",
		ServiceCode: code, Urgency: care.UrgencyStandard, PeriodStart: periodStart, PeriodEnd: periodStart.AddDate(0, 3, 0)}
}

// simulator serves a simulator with cfg over real HTTP and returns a client
// for it, the simulator and a counter of the requests it received.
func simulator(t *testing.T, cfg string) (*payer.HTTPClient, *payer.Simulator, *atomic.Int64) {
	t.Helper()
	c, err := payer.ParseSimConfig([]byte(cfg))
	require.NoError(t, err)
	sim, err := payer.NewSimulator(c, nil)
	require.NoError(t, err)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return payer.NewHTTPClient(srv.URL, srv.Client()), sim, &hits
}

// payerErr asserts err is a *httperr.Error and returns it.
func payerErr(t *testing.T, err error) *httperr.Error {
	t.Helper()
	var pe *httperr.Error
	require.ErrorAs(t, err, &pe)
	return pe
}

func TestSimulatorApproves(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"services": {
		"physiotherapy": {"behaviour": "approve"},
		"neuropsychology": {"behaviour": "approve", "valid_days": 30}}}`)
	ctx := context.Background()

	d, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
	require.NotEmpty(t, d.RequestID)
	require.Regexp(t, `^AUTH-[0-9A-F]{10}$`, d.AuthorizationNumber)
	require.True(t, d.ValidFrom.Equal(periodStart), "valid from the requested start")
	require.True(t, d.ValidTo.Equal(periodStart.AddDate(0, 3, 0)), "valid to the requested end")
	require.False(t, d.DecidedAt.IsZero())
	require.Empty(t, d.DenialReason)

	d, err = cl.Submit(ctx, request("c-1:np:1", "neuropsychology"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
	require.True(t, d.ValidTo.Equal(periodStart.AddDate(0, 0, 30)), "valid_days sets the period: %s", d.ValidTo)

	// An inquiry about a decided request returns the same decision.
	again, err := cl.Inquire(ctx, d.RequestID)
	require.NoError(t, err)
	require.Equal(t, d, again)
}

func TestSimulatorDenialIsADecisionNotAnError(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"services": {"occupational-therapy": {"behaviour": "deny", "reason": "not covered by the member's plan"}}}`)
	d, err := cl.Submit(context.Background(), request("c-1:ot:1", "occupational-therapy"))
	require.NoError(t, err, "a denial is a decision")
	require.Equal(t, care.AuthorizationDenied, d.Status)
	require.Equal(t, "not covered by the member's plan", d.DenialReason)
	require.Empty(t, d.AuthorizationNumber)
	require.True(t, d.ValidFrom.IsZero())
}

func TestSimulatorDefaultBehaviourForUnknownCodes(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"default": {"behaviour": "deny", "reason": "service not recognised"},
		"services": {"physiotherapy": {"behaviour": "approve"}}}`)
	d, err := cl.Submit(context.Background(), request("c-1:x:1", "acupuncture"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationDenied, d.Status)
	require.Equal(t, "service not recognised", d.DenialReason)

	// With no default at all, unknown codes are approved.
	cl, _, _ = simulator(t, `{}`)
	d, err = cl.Submit(context.Background(), request("c-1:x:1", "acupuncture"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
}

func TestSimulatorPendThenDecide(t *testing.T) {
	t.Parallel()
	cl, sim, _ := simulator(t, `{"services": {
		"neuropsychology": {"behaviour": "pend", "after": "30s", "then": {"behaviour": "approve"}},
		"home-nursing": {"behaviour": "pend", "after": "72h", "then": {"behaviour": "deny", "reason": "insufficient documentation"}}}}`)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	sim.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	submitted := now

	np, err := cl.Submit(ctx, request("c-1:np:1", "neuropsychology"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, np.Status)
	require.NotEmpty(t, np.RequestID)
	require.True(t, np.DecidedAt.IsZero(), "a pended decision has no decision time")
	hn, err := cl.Submit(ctx, request("c-1:hn:1", "home-nursing"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, hn.Status)

	advance(29 * time.Second)
	d, err := cl.Inquire(ctx, np.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, d.Status, "still pended before the delay")

	advance(time.Second)
	d, err = cl.Inquire(ctx, np.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
	require.Equal(t, np.RequestID, d.RequestID)
	require.True(t, d.DecidedAt.Equal(submitted.Add(30*time.Second)), "decided when the delay ran out: %s", d.DecidedAt)
	// Resubmitting the same key now returns the decision, not a new request.
	re, err := cl.Submit(ctx, request("c-1:np:1", "neuropsychology"))
	require.NoError(t, err)
	require.Equal(t, d, re)

	d, err = cl.Inquire(ctx, hn.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, d.Status)
	advance(72 * time.Hour)
	d, err = cl.Inquire(ctx, hn.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationDenied, d.Status)
	require.Equal(t, "insufficient documentation", d.DenialReason)
}

func TestSimulatorPendsInRealTime(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"default": {"behaviour": "pend", "after": "300ms"}}`)
	ctx := context.Background()
	d, err := cl.Submit(ctx, request("c-1:np:1", "neuropsychology"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, d.Status)
	require.Eventually(t, func() bool {
		got, err := cl.Inquire(ctx, d.RequestID)
		return err == nil && got.Status == care.AuthorizationApproved
	}, 5*time.Second, 50*time.Millisecond)
}

func TestSimulatorSubmitIsIdempotent(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"default": {"behaviour": "pend", "after": "1h"}}`)
	ctx := context.Background()

	// Many concurrent submissions of the same key: one request id.
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			d, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
			if err == nil {
				ids[i] = d.RequestID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	require.NotEmpty(t, ids[0])

	other, err := cl.Submit(ctx, request("c-1:pt:2", "physiotherapy"))
	require.NoError(t, err)
	require.NotEqual(t, ids[0], other.RequestID, "a new key is a new request")

	// The same key for a different request is refused, not silently merged.
	changed := request("c-1:pt:1", "physiotherapy")
	changed.Urgency = care.UrgencyExpedited
	_, err = cl.Submit(ctx, changed)
	pe := payerErr(t, err)
	require.Equal(t, http.StatusConflict, pe.StatusCode)
	require.False(t, httperr.IsRetryable(err))
	require.Contains(t, pe.Diagnostics, "already used for a different request")
	require.NotContains(t, err.Error(), "already used", "the payer's words stay out of the message")
}

func TestSimulatorFailsForFirstRequests(t *testing.T) {
	t.Parallel()
	cl, _, hits := simulator(t, `{"services": {"physiotherapy": {"behaviour": "fail", "failures": 2, "status": 502,
		"then": {"behaviour": "deny", "reason": "not medically necessary"}}}}`)
	ctx := context.Background()
	for i := range 2 {
		_, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
		require.Error(t, err, "request %d", i+1)
		require.True(t, httperr.IsRetryable(err), "an outage is retryable: %v", err)
		require.Equal(t, 502, payerErr(t, err).StatusCode)
	}
	d, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationDenied, d.Status, "after the outage the configured decision comes")
	require.EqualValues(t, 3, hits.Load())
}

func TestSimulatorFailsForADuration(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"services": {"physiotherapy": {"behaviour": "fail", "for": "400ms"}}}`)
	ctx := context.Background()
	_, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
	require.True(t, httperr.IsRetryable(err))
	require.Equal(t, http.StatusServiceUnavailable, payerErr(t, err).StatusCode, "503 by default")
	require.Eventually(t, func() bool {
		d, err := cl.Submit(ctx, request("c-1:pt:1", "physiotherapy"))
		return err == nil && d.Status == care.AuthorizationApproved
	}, 5*time.Second, 50*time.Millisecond)
}

func TestSimulatorSlowAnswerTimesOutAsRetryable(t *testing.T) {
	t.Parallel()
	c, err := payer.ParseSimConfig([]byte(`{"services": {"physiotherapy": {"behaviour": "slow", "delay": "1s",
		"then": {"behaviour": "approve"}}}}`))
	require.NoError(t, err)
	sim, err := payer.NewSimulator(c, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	impatient := payer.NewHTTPClient(srv.URL, &http.Client{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = impatient.Submit(context.Background(), request("c-1:pt:1", "physiotherapy"))
	require.Less(t, time.Since(start), time.Second)
	require.True(t, httperr.IsRetryable(err), "a timeout is an outage: %v", err)
	require.Contains(t, err.Error(), "timed out")

	// A context deadline counts the same.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = payer.NewHTTPClient(srv.URL, nil).Submit(ctx, request("c-1:pt:1", "physiotherapy"))
	require.True(t, httperr.IsRetryable(err), "%v", err)

	// A patient client gets the decision.
	d, err := payer.NewHTTPClient(srv.URL, nil).Submit(context.Background(), request("c-1:pt:1", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
}

func TestInquireUnknownRequestIsNotRetryable(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{}`)
	_, err := cl.Inquire(context.Background(), "pa-unknown")
	pe := payerErr(t, err)
	require.Equal(t, http.StatusNotFound, pe.StatusCode)
	require.False(t, httperr.IsRetryable(err))
	require.Contains(t, pe.Diagnostics, "no prior-authorization request")
}

func TestClientRetryabilityClassification(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	outcome := `{"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid", "diagnostics": "member not found"}]}`
	cases := []struct {
		name      string
		url       string
		retryable bool
		status    int
		message   string
	}{
		{"500", answer(500, outcome), true, 500, "member not found"},
		{"502 with no body", answer(502, ""), true, 502, "502 Bad Gateway"},
		{"503", answer(503, `{}`), true, 503, "503 Service Unavailable"},
		{"429 too many requests", answer(429, ""), true, 429, ""},
		{"408 request timeout", answer(408, ""), true, 408, ""},
		{"400 with the payer's message", answer(400, outcome), false, 400, "member not found"},
		{"403", answer(403, ""), false, 403, "403 Forbidden"},
		{"422", answer(422, outcome), false, 422, "member not found"},
		{"200 that is not JSON", answer(200, "<html>proxy error</html>"), true, 200, "unreadable answer"},
		{"200 that is not a decision", answer(200, `{"resourceType": "ClaimResponse", "id": "x", "reviewAction": "maybe"}`), true, 200, "unknown reviewAction"},
		{"200 that is not a ClaimResponse", answer(200, `{"resourceType": "Patient River Quinn"}`), true, 200, "not a ClaimResponse"},
		{"200 approval without a number", answer(200, `{"resourceType": "ClaimResponse", "id": "x", "reviewAction": "approved"}`), true, 200, "without preAuthRef"},
		{"connection refused", refusedURL(t), true, 0, "no answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := payer.NewHTTPClient(tc.url, nil)
			for op, call := range map[string]func() error{
				"submit": func() error {
					_, err := cl.Submit(context.Background(), request("c-1:pt:1", "physiotherapy"))
					return err
				},
				"inquire": func() error { _, err := cl.Inquire(context.Background(), "pa-1"); return err },
			} {
				err := call()
				pe := payerErr(t, err)
				require.Equal(t, tc.retryable, httperr.IsRetryable(err), "%s: %v", op, err)
				require.Equal(t, tc.status, pe.StatusCode, op)
				require.Equal(t, op, pe.Op)
				require.Contains(t, pe.Diagnostics+" "+pe.Message, tc.message, op)
				require.NotContains(t, err.Error(), "member not found", "the payer's diagnostics never reach the message")
				require.NotContains(t, err.Error(), "River", "the payer's answer text never reaches the message")
				require.NotContains(t, err.Error(), "maybe", "the payer's answer text never reaches the message")
				require.NotContains(t, err.Error(), "proxy error", "the payer's answer text never reaches the message")
			}
		})
	}
}

// refusedURL returns the URL of a port nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestClientRefusesInvalidRequestsWithoutCallingThePayer(t *testing.T) {
	t.Parallel()
	cl, _, hits := simulator(t, `{}`)
	bad := map[string]func(*care.AuthorizationRequest){
		"no key":             func(r *care.AuthorizationRequest) { r.RequestKey = "" },
		"key with spaces":    func(r *care.AuthorizationRequest) { r.RequestKey = "c 1" },
		"name as patient id": func(r *care.AuthorizationRequest) { r.PatientID = "River Quinn" },
		"no service":         func(r *care.AuthorizationRequest) { r.ServiceCode = "" },
		"unknown urgency":    func(r *care.AuthorizationRequest) { r.Urgency = "urgent" },
		"no period":          func(r *care.AuthorizationRequest) { r.PeriodStart = time.Time{} },
		"period backwards":   func(r *care.AuthorizationRequest) { r.PeriodEnd = r.PeriodStart.Add(-time.Hour) },
	}
	for name, mutate := range bad {
		r := request("c-1:pt:1", "physiotherapy")
		mutate(&r)
		_, err := cl.Submit(context.Background(), r)
		require.Error(t, err, name)
		require.False(t, httperr.IsRetryable(err), name)
	}
	_, err := cl.Inquire(context.Background(), "")
	require.False(t, httperr.IsRetryable(err))
	require.Zero(t, hits.Load(), "nothing was sent")
}

func TestSimulatorRejectsMalformedClaims(t *testing.T) {
	t.Parallel()
	sim, err := payer.NewSimulator(payer.SimConfig{}, nil)
	require.NoError(t, err)
	for name, body := range map[string]string{
		"not JSON":      `{`,
		"not a Claim":   `{"resourceType": "Patient"}`,
		"no item":       `{"resourceType": "Claim", "use": "preauthorization", "identifier": {"value": "k"}, "patient": "Patient/p-1", "episodeOfCare": "EpisodeOfCare/c-1", "priority": "standard", "item": []}`,
		"bad reference": `{"resourceType": "Claim", "use": "preauthorization", "identifier": {"value": "k"}, "patient": "p-1", "episodeOfCare": "EpisodeOfCare/c-1", "priority": "standard", "item": [{"productOrService": "pt"}]}`,
	} {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Claim/$submit", strings.NewReader(body)))
		require.Equal(t, http.StatusBadRequest, rec.Code, name)
		require.Contains(t, rec.Body.String(), "OperationOutcome", name)
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/Claim/$submit", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	rec = httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metadata", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func TestParseSimConfig(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		`{"services": {"pt": {"behaviour": "maybe"}}}`:                                                             "services.pt.behaviour: unknown value",
		`{"services": {"pt": {}}}`:                                                                                 "services.pt.behaviour: is required",
		`{"services": {"pt": {"behaviour": "deny"}}}`:                                                              "services.pt.reason",
		`{"services": {"pt": {"behaviour": "pend"}}}`:                                                              "services.pt.after",
		`{"services": {"pt": {"behaviour": "pend", "after": "soon"}}}`:                                             `bad duration "soon"`,
		`{"services": {"pt": {"behaviour": "pend", "after": "1s", "then": {"behaviour": "pend", "after": "1s"}}}}`: "services.pt.then.behaviour",
		`{"services": {"pt": {"behaviour": "fail"}}}`:                                                              "exactly one of",
		`{"services": {"pt": {"behaviour": "fail", "failures": 1, "for": "1s"}}}`:                                  "exactly one of",
		`{"services": {"pt": {"behaviour": "fail", "failures": 1, "status": 404}}}`:                                "services.pt.status",
		`{"services": {"pt": {"behaviour": "fail", "failures": 1, "then": {"behaviour": "x"}}}}`:                   "services.pt.then.behaviour",
		`{"services": {"pt": {"behaviour": "slow"}}}`:                                                              "services.pt.delay",
		`{"services": {"pt": {"behaviour": "approve", "then": {"behaviour": "deny"}}}}`:                            "only pend, fail and slow",
		`{"services": {"Physio Therapy": {"behaviour": "approve"}}}`:                                               "not an opaque id",
		`{"servics": {}}`:                    `unknown field "servics"`,
		`{"default": {"behaviour": "deny"}}`: "default.reason",
	}
	for cfg, want := range bad {
		_, err := payer.ParseSimConfig([]byte(cfg))
		require.ErrorContains(t, err, want, cfg)
	}

	// The demo configuration is valid and has the documented behaviours.
	data, err := os.ReadFile("../demo/payer.json")
	require.NoError(t, err)
	c, err := payer.ParseSimConfig(data)
	require.NoError(t, err)
	require.Equal(t, payer.BehaviourApprove, c.Services["physiotherapy"].Behaviour)
	require.Equal(t, payer.BehaviourPend, c.Services["neuropsychology"].Behaviour)
	require.Equal(t, care.Duration(30*time.Second), c.Services["neuropsychology"].After)
	require.Equal(t, payer.BehaviourApprove, c.Services["neuropsychology"].Then.Behaviour)
	require.Equal(t, payer.BehaviourDeny, c.Services["occupational-therapy"].Behaviour)
}

// A reset of a service replays its round counter and sends round n again,
// later, for a period that starts later: under the key with the period's
// start it is a new request, where the key without it was refused as a
// used key (and staff were told the payer refused the request).
func TestARequestSentAgainAfterAResetGetsAKeyOfItsOwn(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"default": {"behaviour": "approve"}}`)
	ctx := context.Background()
	at := func(start time.Time, key func(time.Time) string) care.AuthorizationRequest {
		r := request(key(start), "physiotherapy")
		r.PeriodStart, r.PeriodEnd = start, start.AddDate(0, 3, 0)
		return r
	}
	later := periodStart.Add(26 * time.Hour)

	old := func(time.Time) string { return care.AuthorizationRequestKeyFor("c-5c1d0e8f2a7b9c3d", "pt", 1, 1) }
	_, err := cl.Submit(ctx, at(periodStart, old))
	require.NoError(t, err)
	_, err = cl.Submit(ctx, at(later, old))
	require.Equal(t, http.StatusConflict, payerErr(t, err).StatusCode, "the key without the period collides")

	key := func(start time.Time) string {
		return care.AuthorizationRequestKeyAt("c-5c1d0e8f2a7b9c3d", "pt", 2, 1, start)
	}
	require.Equal(t, "c-5c1d0e8f2a7b9c3d:pt:p2:1:20261201T000000Z", key(periodStart))
	first, err := cl.Submit(ctx, at(periodStart, key))
	require.NoError(t, err)
	retry, err := cl.Submit(ctx, at(periodStart, key))
	require.NoError(t, err)
	require.Equal(t, first.RequestID, retry.RequestID, "a retry is the same request")
	again, err := cl.Submit(ctx, at(later, key))
	require.NoError(t, err, "the request sent again after the reset is a request of its own")
	require.NotEqual(t, first.RequestID, again.RequestID)
	require.NoError(t, at(later, key).Validate())
}
