package tzdb

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVersionMatchesTheFile(t *testing.T) {
	sum := sha256.Sum256(zipData)
	require.Equal(t, sha256Digest, hex.EncodeToString(sum[:]),
		"zoneinfo.zip changed: set Version to its IANA release and sha256Digest to its digest")
}

func TestLoadReadsTheBuiltInDatabase(t *testing.T) {
	ny, err := Load("America/New_York")
	require.NoError(t, err)
	_, winter := time.Date(2026, 1, 15, 12, 0, 0, 0, ny).Zone()
	_, summer := time.Date(2026, 7, 15, 12, 0, 0, 0, ny).Zone()
	require.Equal(t, -5*3600, winter)
	require.Equal(t, -4*3600, summer)
	// The US moves its clocks on the second Sunday of March 2026.
	require.Equal(t, -5*3600, offset(time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC).In(ny)))
	require.Equal(t, -4*3600, offset(time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC).In(ny)))
	again, err := Load("America/New_York")
	require.NoError(t, err)
	require.Same(t, ny, again, "a zone is loaded once")
	utc, err := Load("UTC")
	require.NoError(t, err)
	require.Same(t, time.UTC, utc)
}

func TestLoadRefusesNamesThatDependOnTheMachine(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus_Mons", "../etc/passwd"} {
		_, err := Load(name)
		require.True(t, errors.Is(err, ErrUnknownZone), "%q: %v", name, err)
	}
}

func offset(t time.Time) int {
	_, o := t.Zone()
	return o
}
