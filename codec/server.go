package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes limits the body of a codec server request.
const MaxRequestBytes = 16 << 20

// ServerOptions configures NewServer.
type ServerOptions struct {
	// Token is the required bearer token: every non-OPTIONS request must
	// send "Authorization: Bearer <Token>". It must not be empty.
	Token string
	// AllowedOrigin is a browser origin (for example the Temporal Web UI,
	// "http://localhost:8233") allowed to call the server via CORS.
	// AllowedOrigins adds more. A request with any other Origin header,
	// preflight or not, is refused with 403; requests without an Origin
	// header (the temporal CLI, scripts) need only the token. With neither
	// option, every request that names an origin is refused.
	AllowedOrigin  string
	AllowedOrigins []string
	// URLToken also accepts the token as the first path segment after
	// UIPathPrefix, for the Temporal Web UI, which cannot send a custom
	// Authorization header: its codec endpoint is set to
	// "http://host:port/ui/<token>" and it calls "<endpoint>/decode". Such
	// requests may only decode. The token must then consist of URL-safe
	// characters (see ValidToken). The token segment is never logged.
	URLToken bool
	// Logger receives one line per request (never payload contents).
	// Nil means slog.Default().
	Logger *slog.Logger
}

// UIPathPrefix is the path under which a ServerOptions.URLToken server
// accepts the token in the URL: POST /ui/<token>/decode.
const UIPathPrefix = "/ui/"

// server is the http.Handler returned by NewServer.
type server struct {
	codec     *Codec
	tokenHash [sha256.Size]byte
	origins   map[string]bool
	urlToken  bool
	log       *slog.Logger
}

// ValidToken reports why token is unfit for a codec server that accepts it
// in the URL (nil if it is fit): it must be at least MinTokenLength
// characters of letters, digits, '-', '_', '.' and '~', so that it needs no
// escaping in a URL path and is long enough not to be guessed.
func ValidToken(token string) error {
	if len(token) < MinTokenLength {
		return fmt.Errorf("the codec server token is too short (%d characters): use at least %d random URL-safe characters, e.g. from \"caseflow codec-server token\"", len(token), MinTokenLength)
	}
	for _, r := range token {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '~':
		default:
			return errors.New("the codec server token may contain only letters, digits, '-', '_', '.' and '~' (it is part of the UI's codec URL); make one with \"caseflow codec-server token\"")
		}
	}
	return nil
}

// MinTokenLength is the shortest token ValidToken accepts.
const MinTokenLength = 20

// NewServer returns an http.Handler implementing the Temporal remote codec
// protocol (POST /encode and /decode with JSON {"payloads":[...]}, also under
// a prefix such as /{namespace}/decode) for use by the Temporal Web UI and
// the temporal CLI (--codec-endpoint, --codec-auth "Bearer <token>").
//
// A request whose Origin header is not one of the allowed origins gets 403,
// preflight or not. Requests other than CORS preflights must carry the
// bearer token from opts (or, with opts.URLToken, POST /ui/<token>/decode);
// others get 401. Preflight (OPTIONS) requests are answered only for the
// allowed origins. Each request is logged with its remote address, path
// (with any URL token redacted), X-Namespace header, how it authenticated,
// payload count and status; never with payload contents.
// NewServer returns an error if kr has no keys or opts.Token is empty (or,
// with opts.URLToken, not a ValidToken).
func NewServer(kr *Keyring, opts ServerOptions) (http.Handler, error) {
	if kr.PrimaryID() == "" {
		return nil, errors.New("codec server needs a keyring: load one with codec.LoadKeyring")
	}
	if opts.Token == "" {
		return nil, errors.New("codec server needs a bearer token: set ServerOptions.Token to a long random secret and give it to clients as \"Authorization: Bearer <token>\"")
	}
	if opts.URLToken {
		if err := ValidToken(opts.Token); err != nil {
			return nil, err
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	origins := map[string]bool{}
	for _, o := range append([]string{opts.AllowedOrigin}, opts.AllowedOrigins...) {
		if o != "" {
			origins[o] = true
		}
	}
	return &server{
		codec:     NewCodec(kr),
		tokenHash: sha256.Sum256([]byte(opts.Token)),
		origins:   origins,
		urlToken:  opts.URLToken,
		log:       logger,
	}, nil
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	var count atomic.Int64
	urlTok, rest, viaURL := splitURLToken(r.URL.Path)
	logPath := s.redact(r.URL.Path)
	auth := "none"
	defer func() {
		level := slog.LevelInfo
		if rec.status >= 400 {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(r.Context(), level, "codec request",
			slog.String("remote", r.RemoteAddr),
			slog.String("method", r.Method),
			slog.String("path", logPath),
			slog.String("origin", r.Header.Get("Origin")),
			slog.String("namespace", r.Header.Get("X-Namespace")),
			slog.String("auth", auth),
			slog.Int64("payloads", count.Load()),
			slog.Int("status", rec.statusCode()),
			slog.Duration("duration", time.Since(start)),
		)
	}()

	origin := r.Header.Get("Origin")
	allowed := origin != "" && s.origins[origin]
	h := rec.Header()
	h.Add("Vary", "Origin")
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	// A browser names the page's origin on every cross-origin request and on
	// same-origin POSTs; a page from anywhere else is refused whether or not
	// it carries the token, before the token is looked at. The temporal CLI
	// and scripts send no Origin and are let through to the token check.
	if origin != "" && !allowed {
		writeJSONError(rec, http.StatusForbidden, "origin not allowed")
		return
	}
	if r.Method == http.MethodOptions {
		if !allowed {
			// A preflight always names an origin.
			writeJSONError(rec, http.StatusForbidden, "origin not allowed")
			return
		}
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type,X-Namespace,Authorization")
		h.Set("Access-Control-Max-Age", "600")
		rec.WriteHeader(http.StatusNoContent)
		return
	}

	if viaURL {
		// The token in the URL is the only credential of a /ui/ request.
		if !s.urlToken || !s.matches(urlTok) {
			writeJSONError(rec, http.StatusUnauthorized, "missing or invalid token in the URL")
			return
		}
		auth = "url-token"
		if !strings.HasSuffix(rest, "/decode") {
			writeJSONError(rec, http.StatusForbidden, "a token in the URL allows /decode only; use \"Authorization: Bearer <token>\" to encode")
			return
		}
	} else {
		if !s.authorized(r) {
			h.Set("WWW-Authenticate", `Bearer realm="caseflow-codec"`)
			writeJSONError(rec, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		auth = "bearer"
	}

	r.Body = http.MaxBytesReader(rec, r.Body, MaxRequestBytes)
	converter.NewPayloadCodecHTTPHandler(&countingCodec{codec: s.codec, n: &count}).ServeHTTP(rec, r)
}

// redact returns path with the URL token, and any other segment equal to the
// token, replaced by REDACTED, for logging.
func (s *server) redact(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if (seg != "" && s.matches(seg)) || (i == 2 && "/"+segs[1]+"/" == UIPathPrefix) {
			segs[i] = "REDACTED"
		}
	}
	return strings.Join(segs, "/")
}

// splitURLToken splits "/ui/<token>/rest" into the token and "/rest";
// ok is false for paths outside UIPathPrefix.
func splitURLToken(path string) (token, rest string, ok bool) {
	after, ok := strings.CutPrefix(path, UIPathPrefix)
	if !ok {
		return "", path, false
	}
	token, rest, _ = strings.Cut(after, "/")
	return token, "/" + rest, true
}

// authorized reports whether r carries "Authorization: Bearer <token>",
// comparing in constant time (hashing first hides the token length).
func (s *server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return s.matches(strings.TrimSpace(tok))
}

// matches compares tok with the token in constant time (hashing first hides
// the token length).
func (s *server) matches(tok string) bool {
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// countingCodec counts the payloads passing through a request's codec.
type countingCodec struct {
	codec *Codec
	n     *atomic.Int64
}

func (c *countingCodec) Encode(p []*commonpb.Payload) ([]*commonpb.Payload, error) {
	c.n.Add(int64(len(p)))
	return c.codec.Encode(p)
}

func (c *countingCodec) Decode(p []*commonpb.Payload) ([]*commonpb.Payload, error) {
	c.n.Add(int64(len(p)))
	return c.codec.Decode(p)
}

// statusRecorder remembers the status code written to a ResponseWriter.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) statusCode() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
