package codec

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
)

const (
	// EnvKeys names the environment variable holding an inline key spec
	// ("id:base64key[,id2:base64key...]"); see ParseKeyring.
	EnvKeys = "CASEFLOW_CODEC_KEYS"
	// EnvKeyFile names the environment variable holding the path of a key
	// file; see LoadKeyringFile.
	EnvKeyFile = "CASEFLOW_CODEC_KEY_FILE"
	// DefaultKeyFile is the key file LoadKeyring falls back to, relative to
	// the working directory.
	DefaultKeyFile = ".caseflow/codec.keys"
	// KeySize is the required key length in bytes (AES-256).
	KeySize = 32
)

const generateHint = `generate one with "caseflow keys generate"`

// Keyring is a set of AES-256 keys identified by key id. The primary key
// encrypts new payloads; every key in the keyring can decrypt, so a rotated-in
// primary key coexists with the keys that wrote older payloads.
//
// A Keyring is immutable after construction and safe for concurrent use.
// Build one with ParseKeyring, LoadKeyringFile or LoadKeyring.
type Keyring struct {
	ids   []string // ids[0] is the primary key id
	aeads map[string]cipher.AEAD
}

// keyEntry is one raw, not yet validated key: where describes its origin
// for error messages and never contains key material.
type keyEntry struct {
	where string
	id    string
	b64   string
}

// validID reports whether id matches [A-Za-z0-9._-]{1,42}. The length
// bound keeps a key (43 or 44 characters of base64) from passing for an
// id, as it would on a line written key first ("<key> k1", where the
// padding '=' or the space ends the "id"), and so from being echoed by an
// error that names the id.
func validID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// maxKeyIDLen is the longest key id: shorter than a key.
const maxKeyIDLen = 42

const idRule = "key ids are 1 to 42 letters, digits, '.', '_' and '-', written before the key (id:base64key)"

// newKeyring validates entries (first one primary) and builds a Keyring.
// Error messages name the key id or position, never key material.
func newKeyring(entries []keyEntry) (*Keyring, error) {
	kr := &Keyring{aeads: make(map[string]cipher.AEAD, len(entries))}
	for _, e := range entries {
		if !validID(e.id) {
			if e.id == "" {
				return nil, fmt.Errorf("%s: missing key id; write it as id:base64key", e.where)
			}
			// The id is not echoed: a malformed id may be a pasted key.
			return nil, fmt.Errorf("%s: invalid key id; %s", e.where, idRule)
		}
		if e.b64 == "" {
			// Named by position, not id: a bare key whose '=' padding was
			// taken for a separator would otherwise be echoed as the "id".
			return nil, fmt.Errorf("%s: key is empty; write it as id:base64key (%s)", e.where, generateHint)
		}
		if _, dup := kr.aeads[e.id]; dup {
			return nil, fmt.Errorf("codec key %q appears more than once: key ids must be unique; remove or rename one", e.id)
		}
		raw, err := base64.StdEncoding.DecodeString(e.b64)
		if err != nil {
			return nil, fmt.Errorf("codec key %q: key is not valid standard base64; %s", e.id, generateHint)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("codec key %q: key must be %d bytes base64 (got %d); %s", e.id, KeySize, len(raw), generateHint)
		}
		aead, err := newAEAD(raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("codec key %q: cannot initialise AES-256-GCM: %v", e.id, err)
		}
		kr.ids = append(kr.ids, e.id)
		kr.aeads[e.id] = aead
	}
	if len(kr.ids) == 0 {
		return nil, errors.New("codec keyring is empty: provide at least one id:base64key; " + generateHint)
	}
	return kr, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ParseKeyring parses a key spec of the form "id:base64key[,id2:base64key...]".
// The first entry is the primary (encryption) key. Keys must be standard
// base64 encodings of exactly 32 bytes; ids must match [A-Za-z0-9._-]+ and be
// unique. Whitespace around entries is ignored. Errors never contain key
// material.
func ParseKeyring(spec string) (*Keyring, error) {
	var entries []keyEntry
	if strings.TrimSpace(spec) != "" {
		for i, part := range strings.Split(spec, ",") {
			part = strings.TrimSpace(part)
			where := fmt.Sprintf("codec key entry %d", i+1)
			if part == "" {
				return nil, fmt.Errorf("%s is empty: write keys as id:base64key[,id2:base64key...]", where)
			}
			id, b64, ok := strings.Cut(part, ":")
			if !ok {
				return nil, fmt.Errorf("%s: missing ':' between id and key; write keys as id:base64key[,id2:base64key...]", where)
			}
			entries = append(entries, keyEntry{where: where, id: strings.TrimSpace(id), b64: strings.TrimSpace(b64)})
		}
	}
	return newKeyring(entries)
}

// LoadKeyringFile reads a key file: one key per line as "id base64key"
// ("id:base64key" and "id=base64key" are accepted too). Blank lines and lines
// starting with '#' are ignored. The first key in the file is the primary.
func LoadKeyringFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("codec key file %q does not exist; %s", path, generateHint)
		}
		return nil, fmt.Errorf("cannot read codec key file %q: %v; check the path and its permissions", path, cause(err))
	}
	entries, err := parseKeyFile(path, data)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("codec key file %q contains no keys; %s", path, generateHint)
	}
	return newKeyring(entries)
}

// parseKeyFile splits key file content into entries without validating keys.
func parseKeyFile(path string, data []byte) ([]keyEntry, error) {
	var entries []keyEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("codec key file %q line %d", path, n)
		// Ids cannot contain any separator, so the first one splits the line.
		i := strings.IndexAny(line, " \t:=")
		if i < 0 {
			return nil, fmt.Errorf("%s: expected \"id base64key\"", where)
		}
		id := line[:i]
		rest := strings.TrimSpace(line[i+1:])
		// Tolerate "id = key" and "id : key".
		if line[i] == ' ' || line[i] == '\t' {
			if r, ok := strings.CutPrefix(rest, "="); ok {
				rest = strings.TrimSpace(r)
			} else if r, ok := strings.CutPrefix(rest, ":"); ok {
				rest = strings.TrimSpace(r)
			}
		}
		entries = append(entries, keyEntry{where: where, id: id, b64: rest})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read codec key file %q: %v", path, err)
	}
	return entries, nil
}

// LoadKeyring loads the keyring from the environment: CASEFLOW_CODEC_KEYS
// (a ParseKeyring spec) if set and non-empty, else the file named by
// CASEFLOW_CODEC_KEY_FILE if set and non-empty, else .caseflow/codec.keys in
// the working directory if it exists. With none of these it returns an error
// explaining how to provide a key.
func LoadKeyring() (*Keyring, error) {
	if spec := os.Getenv(EnvKeys); spec != "" {
		kr, err := ParseKeyring(spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKeys, err)
		}
		return kr, nil
	}
	if path := os.Getenv(EnvKeyFile); path != "" {
		kr, err := LoadKeyringFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKeyFile, err)
		}
		return kr, nil
	}
	if _, err := os.Stat(DefaultKeyFile); err == nil {
		return LoadKeyringFile(DefaultKeyFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot check default codec key file %q: %v; fix its permissions or set %s", DefaultKeyFile, cause(err), EnvKeyFile)
	}
	return nil, errors.New(`no payload encryption key: set CASEFLOW_CODEC_KEY_FILE or CASEFLOW_CODEC_KEYS (make run creates .caseflow/codec.keys; "caseflow keys generate" makes one)`)
}

// GenerateKeyFile writes a new random AES-256 key with the given id as the
// first line of the key file at path, creating missing parent directories
// with mode 0700 and the file with mode 0600. If the file already exists the
// new key is prepended, so it becomes the primary key while the older keys
// are kept for decrypting existing payloads (rotation). It refuses an id that
// is invalid or already present in the file, and an existing file that does
// not parse. The file is replaced atomically.
func GenerateKeyFile(path, id string) error {
	if !validID(id) {
		return fmt.Errorf("cannot generate codec key: invalid key id %q; %s", id, idRule)
	}
	var old []byte
	switch data, err := os.ReadFile(path); {
	case err == nil:
		entries, perr := parseKeyFile(path, data)
		if perr != nil {
			return fmt.Errorf("cannot rotate codec key file: %w; fix the file first", perr)
		}
		if len(entries) > 0 {
			if _, verr := newKeyring(entries); verr != nil {
				return fmt.Errorf("cannot rotate codec key file %q: %w; fix the file first", path, verr)
			}
		}
		for _, e := range entries {
			if e.id == id {
				return fmt.Errorf("codec key file %q already has a key with id %q: choose a new id for the new key", path, id)
			}
		}
		old = data
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("cannot read codec key file %q: %v; check its permissions", path, cause(err))
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create directory for codec key file %q: %v", path, cause(err))
	}

	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("cannot generate random key: %v", err)
	}
	var buf bytes.Buffer
	buf.WriteString(id)
	buf.WriteByte(' ')
	buf.WriteString(base64.StdEncoding.EncodeToString(key))
	buf.WriteByte('\n')
	clear(key)
	buf.Write(old)
	if len(old) > 0 && old[len(old)-1] != '\n' {
		buf.WriteByte('\n')
	}
	defer clear(buf.Bytes())

	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, ".codec.keys-*")
	if err != nil {
		return fmt.Errorf("cannot write codec key file %q: %v; check that %q is writable", path, cause(err), dir)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cannot set mode 0600 on codec key file %q: %v", path, cause(err))
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("cannot write codec key file %q: %v", path, cause(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write codec key file %q: %v", path, cause(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write codec key file %q: %v", path, cause(err))
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("cannot write codec key file %q: %v", path, cause(err))
	}
	ok = true
	return nil
}

// PrimaryID returns the id of the primary key, which encrypts new payloads.
func (k *Keyring) PrimaryID() string {
	if k == nil || len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// IDs returns the ids of all keys in the keyring, primary first. The
// returned slice is a copy.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// cause strips the operation and path from a *fs.PathError-style error so
// messages that already name the path do not repeat it.
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// Unreadable returns the ids of the keys that encrypted payloads and that k
// cannot decrypt with: missing lists the ids k does not have, different the
// ids k has with other key material (one payload per key id is tried).
// Unencrypted payloads are ignored. Both lists are sorted.
func (k *Keyring) Unreadable(payloads []*commonpb.Payload) (missing, different []string) {
	c := NewCodec(k)
	tried := map[string]bool{}
	for _, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if tried[id] {
			continue
		}
		tried[id] = true
		_, err := c.Decode([]*commonpb.Payload{p})
		var de *DecodeError
		switch {
		case err == nil:
		case errors.As(err, &de) && de.Missing && de.KeyID != "":
			missing = append(missing, de.KeyID)
		case errors.As(err, &de) && de.KeyID != "":
			different = append(different, de.KeyID)
		default: // names no valid key id: no keyring reads it
			different = append(different, "(no valid key id)")
		}
	}
	slices.Sort(missing)
	slices.Sort(different)
	return missing, different
}
