package codec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A key file line with the key first and anything after it (the id, a
// comment) must not put the key into the error: the worker prints and logs
// it ("caseflow-worker: ..."), and docs/privacy.md says errors never print
// key material.
func TestAKeyFileErrorNeverEchoesTheKey(t *testing.T) {
	key := testKey(1) // "AQEB...AQE=": no '+' or '/', like a quarter of all keys
	for name, line := range map[string]string{
		"key then id":      key + " k1",
		"key then comment": key + "  # production key",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "codec.keys")
			require.NoError(t, os.WriteFile(path, []byte(line+"\n"), 0o600))
			_, err := LoadKeyringFile(path)
			require.Error(t, err)
			require.NotContains(t, err.Error(), strings.TrimRight(key, "="), "LoadKeyringFile error leaks the key")
			err = GenerateKeyFile(path, "k2")
			require.Error(t, err)
			require.NotContains(t, err.Error(), strings.TrimRight(key, "="), "keys generate error leaks the key")
		})
	}
}
