package codec

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DecodeFailureType is the application failure type of a task that failed
// because a payload could not be decrypted.
const DecodeFailureType = "PayloadUndecryptable"

// ReportEvery is how often a worker repeats the log line about the same
// undecryptable payload key; the lines in between are counted.
const ReportEvery = time.Minute

// ApplyWorker is Apply for a Temporal worker: a payload the worker cannot
// decrypt (a key missing from kr, or different under the same id) fails the
// task at hand, never the workflow, and logger gets one line naming the key.
//
// The Go SDK treats a payload it cannot decode as data: undecodable workflow
// input fails the workflow, an undecodable signal is dropped, an undecodable
// update argument rejects the update. Here the worker's codec panics with
// the *DecodeError instead. The SDK recovers every panic on the worker: in
// workflow code and while it applies history events (workflow input,
// activity and child workflow results, signal and update arguments,
// markers, failures) the panic fails the workflow task, which Temporal
// retries (the default WorkflowPanicPolicy, BlockWorkflow), until a worker
// with the key takes it; in an activity it fails the attempt, which the
// activity's retry policy retries. Those failures are written in plain text
// (see FailureConverter), not under a key the other workers may not have.
//
// Only workers may use this: a client must get the error (Apply).
func ApplyWorker(opts *client.Options, kr *Keyring, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	sc := &strictCodec{Codec: NewCodec(kr), log: logger, seen: map[string]*report{}}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), sc)
	opts.DataConverter = dc
	uncompressed(opts)
	opts.FailureConverter = &failureConverter{
		FailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter:          dc,
			EncodeCommonAttributes: true,
		}),
		raised: sc.raised,
	}
}

// strictCodec is a Codec that panics where Codec.Decode returns a
// *DecodeError, logging it first.
type strictCodec struct {
	*Codec
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]*report // by DecodeError message
}

// report is what strictCodec logged about one DecodeError message.
type report struct {
	last     time.Time
	repeated int // failures since last
}

// maxReports bounds strictCodec.seen; messages are few (one per key id and
// reason), so the bound is never reached in practice.
const maxReports = 256

func (s *strictCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out, err := s.Codec.Decode(payloads)
	var de *DecodeError
	if errors.As(err, &de) {
		s.report(de)
		panic(de)
	}
	return out, err
}

// report logs de, at most once per ReportEvery for the same message.
func (s *strictCodec) report(de *DecodeError) {
	s.mu.Lock()
	r, ok := s.seen[de.msg]
	if !ok {
		r = &report{}
		if len(s.seen) < maxReports {
			s.seen[de.msg] = r
		}
	}
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < ReportEvery {
		r.repeated++
		s.mu.Unlock()
		return
	}
	repeated := r.repeated
	r.last, r.repeated = now, 0
	s.mu.Unlock()
	s.log.Error("cannot decrypt a payload: the task fails and Temporal retries it until a worker with the key takes it; no workflow is failed",
		slog.String("key_id", de.KeyID),
		slog.Bool("key_missing", de.Missing),
		slog.String("keyring", strings.Join(s.kr.IDs(), ",")),
		slog.String("error", de.Error()),
		slog.Int("repeated", repeated),
		slog.String("fix", "give this worker the namespace's keys ("+EnvKeys+" or "+EnvKeyFile+") and restart it; see docs/privacy.md"))
}

// raised reports whether msg is the message of a DecodeError this codec
// panicked with.
func (s *strictCodec) raised(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seen[msg]
	return ok
}

// failureConverter writes a failure caused by a *DecodeError in plain text
// and every other failure with the wrapped (encrypting) converter.
type failureConverter struct {
	converter.FailureConverter
	// raised, if set, recognises the message of a panic with a DecodeError:
	// the SDK turns panics into errors that keep only the message.
	raised func(msg string) bool
}

func (f *failureConverter) ErrorToFailure(err error) *failurepb.Failure {
	if err == nil {
		return f.FailureConverter.ErrorToFailure(err)
	}
	var de *DecodeError
	msg := ""
	switch {
	case errors.As(err, &de):
		msg = de.Error()
	case f.raised != nil && f.raised(err.Error()):
		msg = err.Error()
	default:
		return f.FailureConverter.ErrorToFailure(err)
	}
	return &failurepb.Failure{
		Message: msg,
		Source:  "caseflow codec",
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: DecodeFailureType,
		}},
	}
}
