package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const secret = "Zebulon Quixote-Marsh"

// testKey returns a deterministic base64 32-byte key distinct per seed.
func testKey(seed byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, KeySize))
}

func mustKeyring(t *testing.T, spec string) *Keyring {
	t.Helper()
	kr, err := ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

func plainPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestRoundTrip(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	c := NewCodec(kr)
	in := []*commonpb.Payload{plainPayload(t, map[string]string{"name": secret}), plainPayload(t, 42)}

	enc, err := c.Encode(in)
	require.NoError(t, err)
	require.Len(t, enc, 2)
	for _, p := range enc {
		assert.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
		assert.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
		assert.Len(t, p.Metadata, 2, "only encoding and key id may be visible")
		assert.NotContains(t, string(p.Data), secret)
		assert.NotContains(t, string(p.Data), "json/plain", "inner metadata must be encrypted too")
	}
	// Random nonces: encrypting the same payload twice differs.
	enc2, err := c.Encode(in[:1])
	require.NoError(t, err)
	assert.NotEqual(t, enc[0].Data, enc2[0].Data)

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	require.Len(t, dec, 2)
	var got map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &got))
	assert.Equal(t, secret, got["name"])
	var n int
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[1], &n))
	assert.Equal(t, 42, n)
}

func TestDataConverterHidesPlaintext(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	dc := DataConverter(kr)
	p, err := dc.ToPayload(secret)
	require.NoError(t, err)
	assert.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
	raw, err := p.Marshal()
	require.NoError(t, err)
	assert.NotContains(t, string(raw), secret)

	var back string
	require.NoError(t, dc.FromPayload(p, &back))
	assert.Equal(t, secret, back)
}

func TestFailureConverterEncryptsMessage(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	fc := FailureConverter(DataConverter(kr))
	f := fc.ErrorToFailure(errors.New("patient " + secret + " not found"))
	raw, err := protojson.Marshal(f)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), secret)
	assert.NotNil(t, f.GetEncodedAttributes())
	assert.Equal(t, EncodingEncrypted, string(f.GetEncodedAttributes().GetMetadata()[MetadataEncoding]))

	back := fc.FailureToError(f)
	assert.Contains(t, back.Error(), secret)
}

func TestApply(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	var opts client.Options
	Apply(&opts, kr)
	require.NotNil(t, opts.DataConverter)
	require.NotNil(t, opts.FailureConverter)
	p, err := opts.DataConverter.ToPayload(secret)
	require.NoError(t, err)
	assert.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
	f := opts.FailureConverter.ErrorToFailure(errors.New(secret))
	assert.NotContains(t, f.GetMessage(), secret)
}

func TestPassthroughUnencrypted(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	p := plainPayload(t, secret)
	dec, err := c.Decode([]*commonpb.Payload{p, nil})
	require.NoError(t, err)
	require.Len(t, dec, 2)
	assert.Same(t, p, dec[0])
	assert.Nil(t, dec[1])
}

func TestRotation(t *testing.T) {
	a := mustKeyring(t, "k1:"+testKey(1))
	b := mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1))
	assert.Equal(t, "k2", b.PrimaryID())
	assert.Equal(t, []string{"k2", "k1"}, b.IDs())

	old, err := NewCodec(a).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)
	dec, err := NewCodec(b).Decode(old)
	require.NoError(t, err)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &s))
	assert.Equal(t, secret, s)

	fresh, err := NewCodec(b).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)
	assert.Equal(t, "k2", string(fresh[0].Metadata[MetadataKeyID]))

	// The old keyring cannot read payloads written with the new key.
	_, err = NewCodec(a).Decode(fresh)
	require.Error(t, err)
	assert.Equal(t, `payload encrypted with unknown key "k2": this keyring has "k1"; add the key to CASEFLOW_CODEC_KEYS or CASEFLOW_CODEC_KEY_FILE (docs/privacy.md)`, err.Error())
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "k2", de.KeyID)
	assert.True(t, de.Missing)
}

func TestDecodeErrors(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	enc, err := c.Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)

	t.Run("tampered", func(t *testing.T) {
		p := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
		p.Data[len(p.Data)-1] ^= 1
		_, err := c.Decode([]*commonpb.Payload{p})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `cannot decrypt payload with key "k1": authentication failed`)
	})
	t.Run("same id different key", func(t *testing.T) {
		other := NewCodec(mustKeyring(t, "k1:"+testKey(9)))
		_, err := other.Decode(enc)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "authentication failed")
	})
	t.Run("truncated", func(t *testing.T) {
		p := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:5]}
		_, err := c.Decode([]*commonpb.Payload{p})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "truncated")
	})
	t.Run("no key id", func(t *testing.T) {
		p := &commonpb.Payload{Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted)}, Data: enc[0].Data}
		_, err := c.Decode([]*commonpb.Payload{p})
		require.Error(t, err)
		assert.Contains(t, err.Error(), MetadataKeyID)
	})
	t.Run("nil keyring", func(t *testing.T) {
		_, err := NewCodec(nil).Encode([]*commonpb.Payload{plainPayload(t, 1)})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "LoadKeyring")
	})
}

func TestParseKeyringErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	cases := []struct {
		name, spec, want string
	}{
		{"wrong length", "k1:" + short, `codec key "k1": key must be 32 bytes base64 (got 16); generate one with "caseflow keys generate"`},
		{"bad base64", "k1:not*base64!", `codec key "k1": key is not valid standard base64; generate one with "caseflow keys generate"`},
		{"duplicate id", "k1:" + testKey(1) + ",k1:" + testKey(2), `codec key "k1" appears more than once: key ids must be unique; remove or rename one`},
		{"empty", "", `codec keyring is empty: provide at least one id:base64key; generate one with "caseflow keys generate"`},
		{"blank", "   ", `codec keyring is empty`},
		{"empty key", "k1:", `codec key entry 1: key is empty`},
		{"no colon", testKey(1), `codec key entry 1: missing ':' between id and key`},
		{"empty entry", "k1:" + testKey(1) + ",", `codec key entry 2 is empty`},
		{"missing id", ":" + testKey(1), `codec key entry 1: missing key id`},
		{"bad id", "k 1/x:" + testKey(1), `codec key entry 1: invalid key id; key ids are 1 to 42 letters`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := ParseKeyring(tc.spec)
			require.Error(t, err)
			assert.Nil(t, kr)
			assert.Contains(t, err.Error(), tc.want)
			// Key material must never leak into errors.
			for _, k := range []string{short, testKey(1), testKey(2), "not*base64!"} {
				assert.NotContains(t, err.Error(), strings.TrimRight(k, "="))
			}
		})
	}
}

func TestParseKeyringValid(t *testing.T) {
	kr, err := ParseKeyring(" a.b_c-1 : " + testKey(1) + " , k2:" + testKey(2))
	require.NoError(t, err)
	assert.Equal(t, "a.b_c-1", kr.PrimaryID())
	assert.Equal(t, []string{"a.b_c-1", "k2"}, kr.IDs())
	ids := kr.IDs()
	ids[0] = "mutated"
	assert.Equal(t, "a.b_c-1", kr.PrimaryID(), "IDs must return a copy")
}

func TestLoadKeyringFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	content := "# caseflow keys\n\n k3 " + testKey(3) + "\nk2:" + testKey(2) + "\r\nk1=" + testKey(1) + "\nk4 = " + testKey(4) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	kr, err := LoadKeyringFile(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"k3", "k2", "k1", "k4"}, kr.IDs())

	require.NoError(t, os.WriteFile(path, []byte("# nothing\n\n"), 0o600))
	_, err = LoadKeyringFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "contains no keys")

	require.NoError(t, os.WriteFile(path, []byte("k1 "+testKey(1)+"\nk2 "+base64.StdEncoding.EncodeToString(make([]byte, 8))+"\n"), 0o600))
	_, err = LoadKeyringFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `codec key "k2": key must be 32 bytes base64 (got 8)`)

	require.NoError(t, os.WriteFile(path, []byte("k1 "+testKey(1)+"\n"+testKey(2)+"\n"), 0o600))
	_, err = LoadKeyringFile(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2")
	assert.NotContains(t, err.Error(), strings.TrimRight(testKey(2), "="), "a bare key line must not be echoed")

	_, err = LoadKeyringFile(filepath.Join(dir, "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not exist")
}

func TestGenerateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", ".caseflow", "codec.keys")

	require.NoError(t, GenerateKeyFile(path, "k1"))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dst, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dst.Mode().Perm())
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	kr1, err := LoadKeyringFile(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"k1"}, kr1.IDs())

	enc, err := NewCodec(kr1).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)

	// Rotation: new key prepended, old line kept verbatim.
	require.NoError(t, GenerateKeyFile(path, "k2"))
	second, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(second), "k2 "))
	assert.True(t, strings.HasSuffix(string(second), string(first)))
	st, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	kr2, err := LoadKeyringFile(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"k2", "k1"}, kr2.IDs())
	_, err = NewCodec(kr2).Decode(enc)
	assert.NoError(t, err, "rotated keyring must still decode old payloads")

	err = GenerateKeyFile(path, "k1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `already has a key with id "k1"`)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, second, after, "refused generation must not modify the file")

	err = GenerateKeyFile(path, "bad id")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid key id")

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temp files left behind")
}

func TestLoadKeyringPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(EnvKeys, "")
	t.Setenv(EnvKeyFile, "")

	_, err := LoadKeyring()
	require.Error(t, err)
	assert.Equal(t, `no payload encryption key: set CASEFLOW_CODEC_KEY_FILE or CASEFLOW_CODEC_KEYS (make run creates .caseflow/codec.keys; "caseflow keys generate" makes one)`, err.Error())

	require.NoError(t, GenerateKeyFile(DefaultKeyFile, "default"))
	kr, err := LoadKeyring()
	require.NoError(t, err)
	assert.Equal(t, "default", kr.PrimaryID())

	other := filepath.Join(dir, "other.keys")
	require.NoError(t, GenerateKeyFile(other, "fromfile"))
	t.Setenv(EnvKeyFile, other)
	kr, err = LoadKeyring()
	require.NoError(t, err)
	assert.Equal(t, "fromfile", kr.PrimaryID())

	t.Setenv(EnvKeys, "fromenv:"+testKey(5))
	kr, err = LoadKeyring()
	require.NoError(t, err)
	assert.Equal(t, "fromenv", kr.PrimaryID())

	t.Setenv(EnvKeys, "fromenv:short")
	_, err = LoadKeyring()
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), EnvKeys+": "), err.Error())

	t.Setenv(EnvKeys, "")
	t.Setenv(EnvKeyFile, filepath.Join(dir, "nope.keys"))
	_, err = LoadKeyring()
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), EnvKeyFile+": "), err.Error())
}

// --- codec server ---

const (
	token  = "s3cret-token"
	origin = "http://localhost:8233"
)

func newTestServer(t *testing.T, kr *Keyring) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	h, err := NewServer(kr, ServerOptions{
		Token:         token,
		AllowedOrigin: origin,
		Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &logs
}

func post(t *testing.T, url, auth string, payloads []*commonpb.Payload) (*http.Response, []byte) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "care-prod")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func TestNewServerRequiresToken(t *testing.T) {
	h, err := NewServer(mustKeyring(t, "k1:"+testKey(1)), ServerOptions{})
	require.Error(t, err)
	assert.Nil(t, h)
	assert.Contains(t, err.Error(), "ServerOptions.Token")

	_, err = NewServer(nil, ServerOptions{Token: token})
	require.Error(t, err)
}

func TestServerAuth(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, _ := newTestServer(t, kr)
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)

	for name, auth := range map[string]string{
		"no token":     "",
		"wrong token":  "Bearer wrong",
		"wrong scheme": "Basic " + token,
		"prefix":       "Bearer " + token[:len(token)-1],
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := post(t, srv.URL+"/decode", auth, enc)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.JSONEq(t, `{"error":"missing or invalid bearer token"}`, string(body))
			assert.NotContains(t, string(body), secret)
		})
	}
}

func TestServerDecodeEncode(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, logs := newTestServer(t, kr)
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, secret), plainPayload(t, 7)})
	require.NoError(t, err)

	resp, body := post(t, srv.URL+"/decode", "Bearer "+token, enc)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &out))
	require.Len(t, out.Payloads, 2)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s))
	assert.Equal(t, secret, s)

	// Namespace-prefixed path as used by CLI templating.
	resp, body = post(t, srv.URL+"/care-prod/encode", "Bearer "+token, []*commonpb.Payload{plainPayload(t, secret)})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	out.Reset()
	require.NoError(t, protojson.Unmarshal(body, &out))
	require.Len(t, out.Payloads, 1)
	assert.Equal(t, EncodingEncrypted, string(out.Payloads[0].Metadata[MetadataEncoding]))
	assert.NotContains(t, string(body), secret)

	// Unknown key: error names the key, status 400.
	other, err := NewCodec(mustKeyring(t, "k9:"+testKey(9))).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)
	resp, body = post(t, srv.URL+"/decode", "Bearer "+token, other)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), `unknown key "k9"`)

	log := logs.String()
	assert.NotContains(t, log, secret, "logs must never contain payload contents")
	assert.Contains(t, log, "path=/decode")
	assert.Contains(t, log, "namespace=care-prod")
	assert.Contains(t, log, "payloads=2")
	assert.Contains(t, log, "status=200")
	assert.Contains(t, log, "status=400")
	assert.Contains(t, log, "remote=127.0.0.1:")
	assert.NotContains(t, log, token)
}

func TestServerWithRemoteCodecClient(t *testing.T) {
	// The SDK's own remote codec client (what the CLI uses) interoperates.
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, _ := newTestServer(t, kr)
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL,
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		},
	})
	enc, err := remote.Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)
	assert.Equal(t, "k1", string(enc[0].Metadata[MetadataKeyID]))
	dec, err := NewCodec(kr).Decode(enc)
	require.NoError(t, err)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &s))
	assert.Equal(t, secret, s)
}

func preflight(t *testing.T, url, from string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", from)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestServerCORS(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	srv, _ := newTestServer(t, kr)

	resp := preflight(t, srv.URL+"/decode", origin)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "POST", resp.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type,X-Namespace,Authorization", resp.Header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))

	resp = preflight(t, srv.URL+"/decode", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials"} {
		assert.Empty(t, resp.Header.Get(h), h)
	}

	// Actual requests from the allowed origin carry CORS headers so the
	// browser can read the response; other origins get none.
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, 1)})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
}

// postFrom posts enc to url with the given Origin header (none if empty)
// and Authorization header (none if empty).
func postFrom(t *testing.T, url, from, auth string, enc []*commonpb.Payload) (*http.Response, string) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if from != "" {
		req.Header.Set("Origin", from)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(out)
}

// TestServerRefusesOtherOrigins: a page from an origin that is not an
// allowed UI origin gets 403 for every request, with the right token or
// not, through the bearer header or the URL token, and learns nothing; a
// request without Origin (the temporal CLI) needs only the token.
func TestServerRefusesOtherOrigins(t *testing.T) {
	kr := mustKeyring(t, "k1:"+testKey(1))
	var logs bytes.Buffer
	h, err := NewServer(kr, ServerOptions{
		Token: urlToken, AllowedOrigins: []string{origin}, URLToken: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	enc, err := NewCodec(kr).Encode([]*commonpb.Payload{plainPayload(t, secret)})
	require.NoError(t, err)

	for _, from := range []string{"https://evil.example", "null", "http://localhost:8234", "http://localhost:8233.evil.example", "HTTP://LOCALHOST:8233"} {
		for name, tc := range map[string]struct{ path, auth string }{
			"bearer decode": {"/decode", "Bearer " + urlToken},
			"bearer encode": {"/encode", "Bearer " + urlToken},
			"url token":     {"/ui/" + urlToken + "/decode", ""},
			"no token":      {"/decode", ""},
		} {
			resp, body := postFrom(t, srv.URL+tc.path, from, tc.auth, enc)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s from %s", name, from)
			assert.JSONEq(t, `{"error":"origin not allowed"}`, body, name)
			assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), name)
			assert.NotContains(t, body, secret)
		}
		resp := preflight(t, srv.URL+"/ui/"+urlToken+"/decode", from)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "preflight from %s", from)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	// The allowed origin and requests without Origin work with the token.
	resp, body := postFrom(t, srv.URL+"/ui/"+urlToken+"/decode", origin, "", enc)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "payloads")
	resp, body = postFrom(t, srv.URL+"/decode", "", "Bearer "+urlToken, enc)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	// Without Origin, the token is still required.
	resp, _ = postFrom(t, srv.URL+"/decode", "", "", enc)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	log := logs.String()
	assert.Contains(t, log, "origin=https://evil.example")
	assert.Contains(t, log, "status=403")
	assert.NotContains(t, log, urlToken)
	assert.NotContains(t, log, secret)
}

func TestServerNoCORSWithoutAllowedOrigin(t *testing.T) {
	h, err := NewServer(mustKeyring(t, "k1:"+testKey(1)), ServerOptions{Token: token, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp := preflight(t, srv.URL+"/decode", origin)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}
