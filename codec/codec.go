package codec

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

const (
	// MetadataEncoding is the payload metadata key holding the encoding.
	MetadataEncoding = converter.MetadataEncoding
	// EncodingEncrypted is the encoding of payloads produced by Codec.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the payload metadata key naming the key that
	// encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

const nonceSize = 12

// Codec is a converter.PayloadCodec that encrypts payloads with AES-256-GCM.
//
// Encode serializes each payload (data and metadata) and encrypts it under
// the keyring's primary key with a random 12-byte nonce; the result has
// encoding "binary/encrypted", metadata "encryption-key-id" naming the key,
// and data nonce||ciphertext. Decode reverses this with whichever key the
// payload names and passes payloads with any other encoding through
// unchanged. A Codec is safe for concurrent use.
type Codec struct {
	kr *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a Codec that encrypts with kr's primary key and decrypts
// with any key in kr.
func NewCodec(kr *Keyring) *Codec {
	return &Codec{kr: kr}
}

var errNoKeyring = errors.New("payload codec has no keys: build it with codec.NewCodec(kr) using a keyring from codec.LoadKeyring")

// Encode implements converter.PayloadCodec.Encode.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c == nil || c.kr.PrimaryID() == "" {
		return payloads, errNoKeyring
	}
	id := c.kr.PrimaryID()
	aead := c.kr.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return payloads, fmt.Errorf("cannot serialize payload for encryption: %v", err)
		}
		buf := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(buf); err != nil {
			return payloads, fmt.Errorf("cannot generate encryption nonce: %v", err)
		}
		data := aead.Seal(buf, buf[:nonceSize], plain, nil)
		clear(plain)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
			},
			Data: data,
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.Decode. An encrypted payload it
// cannot decrypt makes it return a *DecodeError.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		if c == nil || c.kr.PrimaryID() == "" {
			return payloads, &DecodeError{Missing: true, msg: errNoKeyring.Error()}
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, &DecodeError{msg: fmt.Sprintf("encrypted payload has no %q metadata: it was not written by this codec or was altered", MetadataKeyID)}
		}
		if !validID(id) || len(id) > maxIDLen {
			// Not echoed: it is not an id this codec writes.
			return payloads, &DecodeError{msg: fmt.Sprintf("encrypted payload names an invalid key id in %q: it was not written by this codec or was altered", MetadataKeyID)}
		}
		aead, ok := c.kr.aeads[id]
		if !ok {
			return payloads, &DecodeError{KeyID: id, Missing: true, msg: fmt.Sprintf(
				"payload encrypted with unknown key %q: this keyring has %s; add the key to %s or %s (docs/privacy.md)",
				id, quoteIDs(c.kr.ids), EnvKeys, EnvKeyFile)}
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return payloads, &DecodeError{KeyID: id, msg: fmt.Sprintf("encrypted payload (key %q) is truncated: %d bytes is shorter than nonce and tag", id, len(data))}
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], nil)
		if err != nil {
			return payloads, &DecodeError{KeyID: id, msg: fmt.Sprintf("cannot decrypt payload with key %q: authentication failed; the key with this id differs from the one that encrypted it, or the payload was altered", id)}
		}
		var dec commonpb.Payload
		if err := dec.Unmarshal(plain); err != nil {
			clear(plain)
			return payloads, &DecodeError{KeyID: id, msg: fmt.Sprintf("payload decrypted with key %q is not a valid Temporal payload: it was not written by this codec", id)}
		}
		clear(plain)
		out[i] = &dec
	}
	return out, nil
}

// maxIDLen bounds the key ids Decode repeats in its errors.
const maxIDLen = 64

// DecodeError is why Codec.Decode could not decrypt an encrypted payload.
// Its message names the key id and the reason, never payload data, so it may
// be logged and stored in plain text.
type DecodeError struct {
	// KeyID is the key the payload names, "" when it names no valid id.
	KeyID string
	// Missing reports that the key is not in the keyring at all (rather than
	// present under that id with different key material).
	Missing bool
	msg     string
}

func (e *DecodeError) Error() string { return e.msg }

// quoteIDs lists ids for an error message: "a", "b".
func quoteIDs(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

// DataConverter returns the default Temporal data converter wrapped with a
// Codec over kr, so every payload is encrypted before leaving the process.
func DataConverter(kr *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(kr))
}

// FailureConverter returns a failure converter that serializes failures with
// dc and moves failure messages and stack traces into encoded attributes, so
// they are encrypted too rather than stored in plain text. The one exception
// is a *DecodeError, which names a key id and never payload data: it is
// written in plain text, so that workers and engineers without that key can
// read why a task failed.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return &failureConverter{FailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})}
}

// Apply sets opts.DataConverter to DataConverter(kr) and opts.FailureConverter
// to a matching FailureConverter, replacing any previous values, and turns
// off gRPC compression (see uncompressed). Clients use it; a worker uses
// ApplyWorker.
func Apply(opts *client.Options, kr *Keyring) {
	dc := DataConverter(kr)
	opts.DataConverter = dc
	opts.FailureConverter = FailureConverter(dc)
	uncompressed(opts)
}

// uncompressed turns off the SDK's default gzip compression of gRPC
// requests. Nearly everything a caseflow client sends is an encrypted
// payload, which does not compress, so gzip only cost CPU on both sides:
// the client's compression and the server's decompression of every request,
// about an eighth of the worker's CPU while staff actions answer.
func uncompressed(opts *client.Options) {
	opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
}
