package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

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

// Decode implements converter.PayloadCodec.Decode.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		if c == nil || c.kr.PrimaryID() == "" {
			return payloads, errNoKeyring
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, fmt.Errorf("encrypted payload has no %q metadata: it was not written by this codec or was altered", MetadataKeyID)
		}
		aead, ok := c.kr.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("payload encrypted with unknown key %q: add it to the keyring (%s / key file)", id, EnvKeys)
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return payloads, fmt.Errorf("encrypted payload (key %q) is truncated: %d bytes is shorter than nonce and tag", id, len(data))
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], nil)
		if err != nil {
			return payloads, fmt.Errorf("cannot decrypt payload with key %q: authentication failed; the key with this id differs from the one that encrypted it, or the payload was altered", id)
		}
		var dec commonpb.Payload
		if err := dec.Unmarshal(plain); err != nil {
			clear(plain)
			return payloads, fmt.Errorf("payload decrypted with key %q is not a valid Temporal payload: it was not written by this codec", id)
		}
		clear(plain)
		out[i] = &dec
	}
	return out, nil
}

// DataConverter returns the default Temporal data converter wrapped with a
// Codec over kr, so every payload is encrypted before leaving the process.
func DataConverter(kr *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(kr))
}

// FailureConverter returns a failure converter that serializes failures with
// dc and moves failure messages and stack traces into encoded attributes, so
// they are encrypted too rather than stored in plain text.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply sets opts.DataConverter to DataConverter(kr) and opts.FailureConverter
// to a matching FailureConverter, replacing any previous values.
func Apply(opts *client.Options, kr *Keyring) {
	dc := DataConverter(kr)
	opts.DataConverter = dc
	opts.FailureConverter = FailureConverter(dc)
}
