package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/cli"
)

// TestStaffIdsMustBeRegistered: a manager, an actor or a policy supervisor
// that is not a registered staff id is refused before anything is written.
func TestStaffIdsMustBeRegistered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	open := []string{"case", "open", "--patient-ref", "MRN-STAFF-1", "--program", "demo", "--model", "clinical", "--source", "referral"}

	r := e.cli(append(open, "--manager", "cm-zed")...)
	require.Equal(t, 2, r.code, "an unregistered manager is invalid input: %s", r.stderr)
	require.Contains(t, r.stderr, "caseflow staff add cm-zed")
	require.Zero(t, e.count(`SELECT count(*) FROM cases`))

	r = e.cliEnv([]string{"CASEFLOW_ACTOR=cm-zed"}, append(open, "--manager", "cm-ana")...)
	require.Equal(t, 2, r.code, "an unregistered actor is invalid input: %s", r.stderr)

	var res cli.OpenResult
	e.okJSON(&res, append(open, "--manager", "cm-ana")...)
	r = e.cliEnv([]string{"CASEFLOW_ACTOR=cm-zed"}, "case", "screen", res.CaseID, "--eligible")
	require.Equal(t, 2, r.code, "a staff action by an unregistered actor: %s", r.stderr)
	require.Contains(t, r.stderr, "--actor")
	e.ok("staff", "add", "cm-zed")
	e.okJSON(new(any), "staff", "list")
	require.Contains(t, e.ok("staff", "list"), "cm-zed")
	r = e.cliEnv([]string{"CASEFLOW_ACTOR=cm-zed"}, "case", "screen", res.CaseID, "--eligible")
	require.Equal(t, 0, r.code, "registered: %s", r.stderr)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND actor = 'cm-zed'`, res.CaseID))

}
