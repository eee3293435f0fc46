package codec

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// foreign returns payloads encrypted under key "k-other", which the tests'
// keyrings do not have.
func foreign(t *testing.T, v any) *commonpb.Payloads {
	t.Helper()
	var opts client.Options
	Apply(&opts, mustKeyring(t, "k-other:"+testKey(7)))
	p, err := opts.DataConverter.ToPayloads(v)
	require.NoError(t, err)
	return p
}

func workerOptions(t *testing.T, spec string) (client.Options, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	var opts client.Options
	ApplyWorker(&opts, mustKeyring(t, spec), slog.New(slog.NewJSONHandler(&logs, nil)))
	return opts, &logs
}

// decodePanic runs fn and returns the value it panicked with (nil if none).
func decodePanic(fn func() error) (p any, err error) {
	defer func() { p = recover() }()
	return nil, fn()
}

// TestWorkerPanicsOnUndecryptablePayloads: on a worker a payload under a
// missing key is a panic with a *DecodeError (which the SDK turns into a
// failed workflow task), wherever the SDK decodes: FromPayloads (workflow
// input, activity and child results, signal, update and query arguments)
// and FromPayload. A client gets the error instead.
func TestWorkerPanicsOnUndecryptablePayloads(t *testing.T) {
	opts, logs := workerOptions(t, "k1:"+testKey(1))
	in := foreign(t, secret)
	var s string
	for name, fn := range map[string]func() error{
		"FromPayloads": func() error { return opts.DataConverter.FromPayloads(in, &s) },
		"FromPayload":  func() error { return opts.DataConverter.FromPayload(in.Payloads[0], &s) },
	} {
		p, err := decodePanic(fn)
		require.NoError(t, err, name)
		de, ok := p.(*DecodeError)
		require.True(t, ok, "%s panicked with %T %v", name, p, p)
		assert.Equal(t, "k-other", de.KeyID)
		assert.True(t, de.Missing)
		assert.Contains(t, de.Error(), `unknown key "k-other"`)
		assert.Contains(t, de.Error(), `this keyring has "k1"`)
	}
	assert.Empty(t, s)

	// What the worker can read it reads.
	var good client.Options
	Apply(&good, mustKeyring(t, "k1:"+testKey(1)))
	mine, err := good.DataConverter.ToPayloads(secret)
	require.NoError(t, err)
	require.NoError(t, opts.DataConverter.FromPayloads(mine, &s))
	assert.Equal(t, secret, s)

	// The client: an error naming the key, no panic.
	p, err := decodePanic(func() error { return good.DataConverter.FromPayloads(in, &s) })
	require.Nil(t, p)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "k-other", de.KeyID)

	assert.NotContains(t, logs.String(), secret)
}

// TestWorkerLogsTheMissingKeyOnce: one line names the key id, the worker's
// keys and the fix, never the payload; repeats within ReportEvery are only
// counted.
func TestWorkerLogsTheMissingKeyOnce(t *testing.T) {
	opts, logs := workerOptions(t, "k1:"+testKey(1)+",k0:"+testKey(2))
	in := foreign(t, secret)
	for range 5 {
		var s string
		p, _ := decodePanic(func() error { return opts.DataConverter.FromPayloads(in, &s) })
		require.IsType(t, &DecodeError{}, p)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, logs.String())
	line := lines[0]
	assert.Contains(t, line, `"level":"ERROR"`)
	assert.Contains(t, line, `"key_id":"k-other"`)
	assert.Contains(t, line, `"keyring":"k1,k0"`)
	assert.Contains(t, line, "no workflow is failed")
	assert.Contains(t, line, EnvKeys)
	assert.Contains(t, line, EnvKeyFile)
	assert.Contains(t, line, "docs/privacy.md")
	assert.NotContains(t, line, secret)
	assert.NotContains(t, line, string(in.Payloads[0].Data[:8]), "no ciphertext either")
	assert.NotContains(t, line, testKey(1))
}

// TestFailureOfAnUndecryptablePayloadIsPlain: the failure a worker writes
// for a task it could not decode (the SDK keeps only the panic's message)
// is readable without any key, so that it never ends up encrypted under a
// key the other workers lack; every other failure stays encrypted.
func TestFailureOfAnUndecryptablePayloadIsPlain(t *testing.T) {
	opts, _ := workerOptions(t, "wrong:"+testKey(9))
	in := foreign(t, secret)
	var s string
	p, _ := decodePanic(func() error { return opts.DataConverter.FromPayloads(in, &s) })
	de := p.(*DecodeError)

	// What the SDK makes of the panic: an error with the same message.
	panicked := fmt.Errorf("%v", p)
	f := opts.FailureConverter.ErrorToFailure(panicked)
	assert.Equal(t, de.Error(), f.GetMessage())
	assert.Nil(t, f.GetEncodedAttributes())
	assert.Equal(t, DecodeFailureType, f.GetApplicationFailureInfo().GetType())
	assert.False(t, f.GetApplicationFailureInfo().GetNonRetryable(), "an activity attempt that failed this way is retried")

	// A returned DecodeError, wrapped in text that may hold anything, is
	// written as the DecodeError's own message alone.
	f = opts.FailureConverter.ErrorToFailure(fmt.Errorf("patient %s: %w", secret, de))
	assert.Equal(t, de.Error(), f.GetMessage())
	assert.NotContains(t, f.String(), secret)

	// Any other failure is encrypted, also one whose message merely
	// resembles a DecodeError.
	for _, err := range []error{
		temporal.NewApplicationError("patient "+secret, "care.invalid"),
		errors.New(de.Error() + " " + secret),
	} {
		f = opts.FailureConverter.ErrorToFailure(err)
		assert.Equal(t, "Encoded failure", f.GetMessage())
		assert.NotNil(t, f.GetEncodedAttributes())
		assert.NotContains(t, f.String(), secret)
	}
	// The client's converter behaves the same for returned errors.
	var c client.Options
	Apply(&c, mustKeyring(t, "k1:"+testKey(1)))
	f = c.FailureConverter.ErrorToFailure(fmt.Errorf("wrapped: %w", de))
	assert.Equal(t, de.Error(), f.GetMessage())
	f = c.FailureConverter.ErrorToFailure(errors.New("patient " + secret))
	assert.Equal(t, "Encoded failure", f.GetMessage())
}

// TestWorkerCannotReadAFailureUnderAMissingKey: reading a failure whose
// message is encrypted under a missing key fails the task on a worker; a
// client gets the failure with its message unreadable.
func TestWorkerCannotReadAFailureUnderAMissingKey(t *testing.T) {
	var other client.Options
	Apply(&other, mustKeyring(t, "k-other:"+testKey(7)))
	f := other.FailureConverter.ErrorToFailure(temporal.NewApplicationError("patient "+secret, "care.invalid"))

	opts, _ := workerOptions(t, "k1:"+testKey(1))
	p, _ := decodePanic(func() error { return opts.FailureConverter.FailureToError(f) })
	require.IsType(t, &DecodeError{}, p)

	var c client.Options
	Apply(&c, mustKeyring(t, "k1:"+testKey(1)))
	err := c.FailureConverter.FailureToError(f)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, "care.invalid", app.Type())
	assert.NotContains(t, err.Error(), secret)
}

func TestKeyringUnreadable(t *testing.T) {
	a := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	b := NewCodec(mustKeyring(t, "k2:"+testKey(2)))
	pa, err := a.Encode([]*commonpb.Payload{plainPayload(t, 1), plainPayload(t, 2)})
	require.NoError(t, err)
	pb, err := b.Encode([]*commonpb.Payload{plainPayload(t, 3)})
	require.NoError(t, err)
	all := append(append([]*commonpb.Payload{plainPayload(t, "plain")}, pa...), pb...)

	missing, different := mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1)).Unreadable(all)
	assert.Empty(t, missing)
	assert.Empty(t, different)

	missing, different = mustKeyring(t, "k1:"+testKey(1)).Unreadable(all)
	assert.Equal(t, []string{"k2"}, missing)
	assert.Empty(t, different)

	missing, different = mustKeyring(t, "k9:"+testKey(9)+",k2:"+testKey(8)).Unreadable(all)
	assert.Equal(t, []string{"k1"}, missing)
	assert.Equal(t, []string{"k2"}, different, "same id, other key material")

	missing, different = mustKeyring(t, "k1:"+testKey(1)).Unreadable([]*commonpb.Payload{plainPayload(t, 1)})
	assert.Empty(t, missing)
	assert.Empty(t, different)
}
