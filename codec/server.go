package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
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
	// AllowedOrigin is the single browser origin (for example the Temporal
	// Web UI, "http://localhost:8233") allowed to call the server via CORS.
	// Empty disables CORS: all preflight requests are refused.
	AllowedOrigin string
	// Logger receives one line per request (never payload contents).
	// Nil means slog.Default().
	Logger *slog.Logger
}

// server is the http.Handler returned by NewServer.
type server struct {
	codec     *Codec
	tokenHash [sha256.Size]byte
	origin    string
	log       *slog.Logger
}

// NewServer returns an http.Handler implementing the Temporal remote codec
// protocol (POST /encode and /decode with JSON {"payloads":[...]}, also under
// a prefix such as /{namespace}/decode) for use by the Temporal Web UI and
// the temporal CLI (--codec-endpoint, --codec-auth "Bearer <token>").
//
// Requests other than CORS preflights must carry the bearer token from opts;
// others get 401. Preflight (OPTIONS) requests are answered only for
// opts.AllowedOrigin and get 403 otherwise. Each request is logged with its
// remote address, path, X-Namespace header, payload count and status.
// NewServer returns an error if kr has no keys or opts.Token is empty.
func NewServer(kr *Keyring, opts ServerOptions) (http.Handler, error) {
	if kr.PrimaryID() == "" {
		return nil, errors.New("codec server needs a keyring: load one with codec.LoadKeyring")
	}
	if opts.Token == "" {
		return nil, errors.New("codec server needs a bearer token: set ServerOptions.Token to a long random secret and give it to clients as \"Authorization: Bearer <token>\"")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &server{
		codec:     NewCodec(kr),
		tokenHash: sha256.Sum256([]byte(opts.Token)),
		origin:    opts.AllowedOrigin,
		log:       logger,
	}, nil
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	var count atomic.Int64
	defer func() {
		level := slog.LevelInfo
		if rec.status >= 400 {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(r.Context(), level, "codec request",
			slog.String("remote", r.RemoteAddr),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("namespace", r.Header.Get("X-Namespace")),
			slog.Int64("payloads", count.Load()),
			slog.Int("status", rec.statusCode()),
			slog.Duration("duration", time.Since(start)),
		)
	}()

	origin := r.Header.Get("Origin")
	allowed := s.origin != "" && origin == s.origin
	h := rec.Header()
	h.Add("Vary", "Origin")
	if allowed {
		h.Set("Access-Control-Allow-Origin", s.origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	if r.Method == http.MethodOptions {
		if !allowed {
			writeJSONError(rec, http.StatusForbidden, "origin not allowed")
			return
		}
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type,X-Namespace,Authorization")
		h.Set("Access-Control-Max-Age", "600")
		rec.WriteHeader(http.StatusNoContent)
		return
	}

	if !s.authorized(r) {
		h.Set("WWW-Authenticate", `Bearer realm="caseflow-codec"`)
		writeJSONError(rec, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}

	r.Body = http.MaxBytesReader(rec, r.Body, MaxRequestBytes)
	converter.NewPayloadCodecHTTPHandler(&countingCodec{codec: s.codec, n: &count}).ServeHTTP(rec, r)
}

// authorized reports whether r carries "Authorization: Bearer <token>",
// comparing in constant time (hashing first hides the token length).
func (s *server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
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
