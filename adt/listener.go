package adt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/hl7"
	"github.com/caseflow/caseflow/postgres"
)

// Inbox is the store the listener and the applier share.
type Inbox interface {
	StoreInbound(ctx context.Context, m postgres.InboxMessage) (postgres.InboxMessage, bool, error)
	PatientIDByRef(ctx context.Context, externalRef string) (string, error)
	PolicyFor(ctx context.Context, program string, at time.Time) (care.Policy, error)
}

// Config is how the listener and the applier treat the feed.
type Config struct {
	// LocalAuthorities are the PID-3 assigning authorities whose
	// identifiers match patients.external_ref as they are (see Refs).
	LocalAuthorities []string
	// Programs are the programs whose ADT policy may open cases from the
	// feed (A01/A04 of a patient with no open case).
	Programs []string
	// MaxFrame bounds a message's size in bytes (default 1 MiB).
	MaxFrame int
	// ReadTimeout bounds the wait for a whole frame, from the end of the
	// previous one (default 2 minutes): a slow or half-open connection is
	// closed after it.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an ACK (default 10 s).
	WriteTimeout time.Duration
	// MaxConns bounds concurrent connections (default 64).
	MaxConns int
}

func (c Config) withDefaults() Config {
	if c.MaxFrame <= 0 {
		c.MaxFrame = 1 << 20
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 2 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 64
	}
	return c
}

// Listener answers MLLP connections: it stores each ADT message in the
// inbox, then acknowledges it. It never logs a message's content: a log
// line names the sender, control id, event, ACK code and reason.
type Listener struct {
	inbox  Inbox
	cfg    Config
	log    *slog.Logger
	stored func() // nudges the applier
}

// NewListener returns a listener over the inbox; stored is called after a
// message is stored for applying (it may be nil).
func NewListener(inbox Inbox, cfg Config, log *slog.Logger, stored func()) *Listener {
	if stored == nil {
		stored = func() {}
	}
	return &Listener{inbox: inbox, cfg: cfg.withDefaults(), log: log, stored: stored}
}

// Serve accepts connections on ln until ctx ends.
func (l *Listener) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, l.cfg.MaxConns)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		select {
		case slots <- struct{}{}:
		default:
			l.log.Warn("adt: connection refused: too many connections", "remote", conn.RemoteAddr().String(), "max", l.cfg.MaxConns)
			conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			l.serveConn(ctx, conn)
		}()
	}
}

func (l *Listener) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	remote := conn.RemoteAddr().String()
	r := hl7.NewFrameReader(conn, l.cfg.MaxFrame)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(l.cfg.ReadTimeout))
		frame, err := r.Read()
		var ack []byte
		switch {
		case errors.Is(err, hl7.ErrFrameTooLarge):
			msg, _ := hl7.Parse(headerOnly(frame))
			var facility, controlID string
			if msg != nil {
				facility, controlID = msg.Get("MSH-4"), msg.Get("MSH-10")
			}
			// AE: an error in the message itself, not to be resent as it is.
			ack = l.answer(msg, facility, controlID, "", &Reject{Code: hl7.AE, Err: hl7.ErrInternal.With("", "the message exceeds the receiver's size limit")}, remote)
		case err != nil:
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				l.log.Info("adt: connection timed out", "remote", remote, "after", l.cfg.ReadTimeout.String())
			case errors.Is(err, io.EOF), ctx.Err() != nil, errors.Is(err, net.ErrClosed):
			default:
				l.log.Info("adt: connection closed", "remote", remote, "error", err.Error())
			}
			return
		default:
			ack = l.Receive(ctx, frame, remote)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
		if err := hl7.WriteFrame(conn, ack); err != nil {
			l.log.Info("adt: could not send the ACK", "remote", remote, "error", err.Error())
			return
		}
	}
}

// headerOnly is the MSH segment of a (possibly cut-off) message.
func headerOnly(frame []byte) []byte {
	s := string(frame)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return []byte(s)
}

// Receive handles one message and returns its ACK: AA once it is stored
// (or was stored before: a resend), AE when it is understood but cannot be
// applied, AR when it cannot be parsed or is not an ADT event caseflow
// takes.
func (l *Listener) Receive(ctx context.Context, raw []byte, remote string) []byte {
	decoded, err := hl7.ToUTF8(raw)
	if err != nil {
		hdr, _ := hl7.Parse(headerOnly(raw))
		var facility, controlID string
		if hdr != nil {
			facility, controlID = hdr.Get("MSH-4"), hdr.Get("MSH-10")
		}
		return l.answer(hdr, facility, controlID, "", reject(hl7.AE, hl7.ErrDataType, "MSH^1^18", "%s", err.Error()), remote)
	}
	raw = decoded
	m, err := hl7.Parse(raw)
	if err != nil {
		var pe *hl7.ParseError
		hdr, _ := hl7.Parse(headerOnly(raw))
		rej := &Reject{Code: hl7.AR, Err: hl7.ErrSegmentSequence.With("", "the message could not be parsed")}
		if errors.As(err, &pe) {
			rej.Err = hl7.ErrSegmentSequence.With(pe.Name, pe.Error())
		}
		var facility, controlID string
		if hdr != nil {
			facility, controlID = hdr.Get("MSH-4"), hdr.Get("MSH-10")
		}
		return l.answer(hdr, facility, controlID, "", rej, remote)
	}
	facility, controlID, event, rej := Header(m)
	if rej != nil {
		return l.answer(m, facility, controlID, event, rej, remote)
	}
	row := postgres.InboxMessage{SendingFacility: facility, ControlID: controlID, Event: event, Raw: string(raw), Digest: digest(string(raw))}
	if rej := l.check(ctx, m); rej != nil {
		row.Status, row.Reason = postgres.InboxRejected, rej.Error()
		if _, _, err := l.inbox.StoreInbound(ctx, row); err != nil {
			l.log.Error("adt: could not audit a rejected message", "facility", facility, "control_id", controlID, "error", postgres.SafeError(err))
		}
		return l.answer(m, facility, controlID, event, rej, remote)
	}
	stored, isNew, err := l.inbox.StoreInbound(ctx, row)
	if err != nil {
		l.log.Error("adt: inbox unavailable", "facility", facility, "control_id", controlID, "error", postgres.SafeError(err))
		// AR: rejected for a reason unrelated to its content (the receiver
		// is down), which the sender may resend as it is (HL7 v2.5 2.9.2).
		return l.answer(m, facility, controlID, event, &Reject{Code: hl7.AR, Err: hl7.ErrInternal.With("", "the message could not be stored; nothing was applied; resend it")}, remote)
	}
	if !isNew && !resend(stored, string(raw)) {
		// The sender reused a control id for another message: answering AA
		// would drop this one (a discharge never applied). Refuse it; the
		// stored message stands.
		l.log.Warn("adt: control id reused for a different message; refused, the stored one stands", "facility", facility,
			"control_id", controlID, "event", event, "stored_event", stored.Event, "ack", hl7.AR, "remote", remote)
		return l.answer(m, facility, controlID, event, reject(hl7.AR, hl7.ErrDuplicateKey, "MSH^1^10",
			"this control id was used before for a different message; send this one under a new control id"), remote)
	}
	if isNew {
		l.stored()
		l.log.Info("adt: message stored", "facility", facility, "control_id", controlID, "event", event, "ack", hl7.AA, "remote", remote)
	} else {
		l.log.Info("adt: resent message acknowledged again, not stored twice", "facility", facility, "control_id", controlID,
			"event", event, "ack", hl7.AA, "status", stored.Status, "remote", remote)
	}
	return hl7.Ack(m, hl7.AA, nil, ackID(), time.Now())
}

// sameMessage reports whether b is a resend of a: the same segments,
// whatever the line endings and the header's message time (MSH-7), which a
// sender may stamp again on a resend.
func sameMessage(a, b string) bool {
	return slices.Equal(segments(a), segments(b))
}

// segments are a message's segments as sameMessage compares them: MSH-7
// blanked.
func segments(s string) []string {
	var out []string
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.HasPrefix(seg, "MSH") && len(seg) > 3 {
			sep := seg[3:4] // MSH-1, the message's own field separator
			if f := strings.Split(seg, sep); len(f) > 6 {
				f[6] = "" // MSH-7
				seg = strings.Join(f, sep)
			}
		}
		out = append(out, seg)
	}
	return out
}

// digest identifies a message's content as sameMessage compares it, for
// when its text is purged: a SHA-256 of its segments.
func digest(raw string) string {
	sum := sha256.Sum256([]byte(strings.Join(segments(raw), "\r")))
	return hex.EncodeToString(sum[:])
}

// resend reports whether raw is a resend of the stored message: the same
// segments, or, once its text was purged, the same digest. A message
// purged before digests were kept cannot be compared, and is not taken
// for one.
func resend(stored postgres.InboxMessage, raw string) bool {
	if stored.Raw == "" && stored.Digest != "" {
		return stored.Digest == digest(raw)
	}
	return sameMessage(stored.Raw, raw)
}

// check decides, before the message is stored, whether it can be applied:
// it must have what caseflow needs, and name a known patient, unless it is
// an admission or registration that may open a case for a new one.
func (l *Listener) check(ctx context.Context, m *hl7.Message) *Reject {
	msg, err := Read(m)
	var rej *Reject
	if errors.As(err, &rej) {
		return rej
	}
	if _, err := findPatient(ctx, l.inbox, msg, l.cfg.LocalAuthorities); err == nil || !errors.Is(err, care.ErrNotFound) {
		return nil // found, or the applier will retry the lookup
	}
	if msg.Event == A01 || msg.Event == A04 {
		for _, program := range l.cfg.Programs {
			if p, err := l.inbox.PolicyFor(ctx, program, time.Now()); err != nil || p.ADT.OpenCases {
				return nil
			}
		}
	}
	return reject(hl7.AE, hl7.ErrUnknownKey, "PID^1^3", "no patient is registered with a PID-3 identifier of this message")
}

// findPatient matches the message's identifiers to a patient.
func findPatient(ctx context.Context, inbox Inbox, msg Message, local []string) (string, error) {
	for _, ref := range msg.Refs(local) {
		id, err := inbox.PatientIDByRef(ctx, ref)
		if err == nil || !errors.Is(err, care.ErrNotFound) {
			return id, err
		}
	}
	return "", care.ErrNotFound
}

// answer logs a refused message in one line (never its content) and
// builds its ACK.
func (l *Listener) answer(m *hl7.Message, facility, controlID, event string, rej *Reject, remote string) []byte {
	l.log.Warn("adt: message not accepted", "facility", facility, "control_id", controlID, "event", event,
		"ack", rej.Code, "error_code", rej.Err.Code, "reason", rej.Err.Diagnostic, "remote", remote)
	return hl7.Ack(m, rej.Code, &rej.Err, ackID(), time.Now())
}

func ackID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "CF" + hex.EncodeToString(b[:])
}
