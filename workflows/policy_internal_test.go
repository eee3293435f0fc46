package workflows

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

// Cases of one policy version share one decoded copy of it; a different
// policy under the same version (only a test can load one) is never
// mistaken for it.
func TestCasesOfOnePolicyVersionShareOneCopy(t *testing.T) {
	b, err := os.ReadFile("../policies/complex-case.json")
	require.NoError(t, err)
	decode := func() care.Policy {
		var p care.Policy
		require.NoError(t, json.Unmarshal(b, &p))
		p.Program = "share-test"
		return p
	}
	first, second := decode(), decode()
	require.NotSame(t, &first.Appointments.ReminderOffsets[0], &second.Appointments.ReminderOffsets[0])
	a, b2 := sharePolicy(first), sharePolicy(second)
	require.Equal(t, second, b2)
	require.Same(t, &a.Appointments.ReminderOffsets[0], &b2.Appointments.ReminderOffsets[0], "the second case gets the first one's copy")

	other := decode()
	other.Appointments.ReminderOffsets = append([]care.Duration(nil), other.Appointments.ReminderOffsets...)
	other.Appointments.ReminderOffsets[0] = care.Duration(time.Minute)
	got := sharePolicy(other)
	require.Equal(t, other, got, "a policy unlike the shared one is its own")
	require.Equal(t, care.Duration(time.Minute), got.Appointments.ReminderOffsets[0])
}
