package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/cli"
)

// TestCaseListShowsTheMostOverdueFirstAndSaysHowManyOfHowMany opens six
// cases of one manager: five in complex-case (screening due in 2 days), one
// after them in demo (screening due in 10 minutes), and lists them with a
// small --limit.
func TestCaseListShowsTheMostOverdueFirstAndSaysHowManyOfHowMany(t *testing.T) {
	e := newEnv(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	manager := "cm-list-" + hex.EncodeToString(b) // only this test's cases on the shared dev server
	e.ok("staff", "add", manager)
	open := func(i int, program string) string {
		var res cli.OpenResult
		e.okJSON(&res, "case", "open", "--patient-ref", fmt.Sprintf("MRN-LIST-%d", i), "--program", program,
			"--model", "clinical", "--manager", manager, "--source", "referral")
		require.Equal(t, "opened", res.Status)
		return res.CaseID
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, open(i, "complex-case"))
	}
	soonest := open(5, "demo")
	want := append([]string{soonest}, ids...) // by screening due time

	// Visibility catches up with the search attributes.
	var rows []cli.CaseListing
	require.Eventually(t, func() bool {
		e.okJSON(&rows, "case", "list", "--manager", manager, "--limit", "0")
		if len(rows) != len(want) {
			return false
		}
		for _, r := range rows {
			if r.NextDue == nil {
				return false
			}
		}
		return true
	}, 20*time.Second, 200*time.Millisecond, "case list: %+v", rows)
	got := make([]string, len(rows))
	for i, r := range rows {
		got[i] = r.CaseID
	}
	require.Equal(t, want, got, "the soonest due first, though opened last")

	// A small --limit shows the first ones and says how many it left out,
	// on stderr: stdout is the table, or only JSON.
	r := e.cli("case", "list", "--manager", manager, "--limit", "3")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4, "a header and three rows:\n%s", r.stdout)
	for i, id := range want[:3] {
		require.True(t, strings.HasPrefix(lines[i+1], id+" "), "row %d is %s:\n%s", i+1, id, r.stdout)
	}
	require.Equal(t, "showing 3 of 6 open cases matching the filters (most overdue first); --limit N shows more, --limit 0 all\n", r.stderr)

	r = e.cli("case", "list", "--manager", manager, "--limit", "3", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, jsonUnmarshal(r.stdout, &rows), "stdout is only JSON: %q", r.stdout)
	require.Len(t, rows, 3)
	require.Equal(t, want[0], rows[0].CaseID)
	require.Contains(t, r.stderr, "showing 3 of 6 open cases")

	// Everything shown: the line says so in text, and JSON has no line.
	r = e.cli("case", "list", "--manager", manager)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "showing 6 of 6 open cases matching the filters (most overdue first)\n", r.stderr)
	r = e.cli("case", "list", "--manager", manager, "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr)

	r = e.cli("case", "list", "--limit", "-1")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--limit")
}
