package codec

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const urlToken = "Ab3_-.~zYx0987654321qwerty"

func newURLTokenServer(t *testing.T, kr *Keyring, enabled bool) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	h, err := NewServer(kr, ServerOptions{
		Token:          urlToken,
		AllowedOrigins: []string{"http://localhost:8233", "http://127.0.0.1:8233"},
		URLToken:       enabled,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &logs
}

func TestServerURLToken(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, logs := newURLTokenServer(t, kr, true)
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)

	// What the Web UI does: POST <endpoint>/decode, no Authorization header.
	resp, body := post(t, srv.URL+"/ui/"+urlToken+"/decode", "", enc)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &out))
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s))
	assert.Equal(t, secret, s)

	// The CLI's templated form, /ui/<token>/<namespace>/decode, works too.
	resp, body = post(t, srv.URL+"/ui/"+urlToken+"/care-prod/decode", "", enc)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	for name, path := range map[string]string{
		"wrong token":     "/ui/" + strings.Repeat("x", len(urlToken)) + "/decode",
		"token prefix":    "/ui/" + urlToken[:len(urlToken)-1] + "/decode",
		"token suffix":    "/ui/" + urlToken + "x/decode",
		"empty token":     "/ui//decode",
		"no token":        "/ui/decode",
		"token not first": "/decode/" + urlToken,
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := post(t, srv.URL+path, "", enc)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.NotContains(t, string(body), secret)
		})
	}
	// A valid bearer header does not rescue a wrong URL token.
	resp, _ = post(t, srv.URL+"/ui/wrong-token-wrong-token/decode", "Bearer "+urlToken, enc)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The URL token may only decode.
	resp, body = post(t, srv.URL+"/ui/"+urlToken+"/encode", "", []*commonpb.Payload{plainPayload(t, secret)})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, string(body), "/decode only")

	// The bearer header keeps working alongside.
	resp, _ = post(t, srv.URL+"/encode", "Bearer "+urlToken, []*commonpb.Payload{plainPayload(t, secret)})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	log := logs.String()
	assert.NotContains(t, log, urlToken, "the token must never be logged")
	assert.NotContains(t, log, urlToken[:len(urlToken)-1])
	assert.NotContains(t, log, secret)
	assert.Contains(t, log, "path=/ui/REDACTED/decode")
	assert.Contains(t, log, "auth=url-token")
	assert.Contains(t, log, "auth=bearer")
	assert.Contains(t, log, "namespace=care-prod")
}

func TestServerURLTokenDisabled(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, logs := newURLTokenServer(t, kr, false)
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, 1)})
	require.NoError(t, err)
	resp, _ := post(t, srv.URL+"/ui/"+urlToken+"/decode", "", enc)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotContains(t, logs.String(), urlToken)
}

func TestServerSeveralOrigins(t *testing.T) {
	srv, _ := newURLTokenServer(t, mustKeyring(t, "k1:"+testKey(1)), true)
	for _, o := range []string{"http://localhost:8233", "http://127.0.0.1:8233"} {
		resp := preflight(t, srv.URL+"/ui/"+urlToken+"/decode", o)
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, o)
		assert.Equal(t, o, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp := preflight(t, srv.URL+"/ui/"+urlToken+"/decode", "http://localhost:8080")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestValidToken(t *testing.T) {
	require.NoError(t, ValidToken(urlToken))
	for _, bad := range []string{"", "short", strings.Repeat("a", MinTokenLength-1),
		strings.Repeat("a", 20) + "/", strings.Repeat("a", 20) + "+", strings.Repeat("a", 20) + "=", strings.Repeat("a", 20) + " ", strings.Repeat("a", 20) + "%2F"} {
		err := ValidToken(bad)
		require.Error(t, err, bad)
		if len(bad) >= MinTokenLength {
			assert.NotContains(t, err.Error(), bad, "the token must not be echoed")
		}
	}
	_, err := NewServer(mustKeyring(t, "k1:"+testKey(1)), ServerOptions{Token: "has/slash-and-is-long-enough", URLToken: true})
	require.Error(t, err)
	_, err = NewServer(mustKeyring(t, "k1:"+testKey(1)), ServerOptions{Token: "has/slash-and-is-long-enough"})
	require.NoError(t, err, "a bearer-only server takes any token")
}
