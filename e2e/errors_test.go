package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

// errorObject is what the CLI prints on stdout for an error with --output
// json.
type errorObject struct {
	Error struct {
		Code    int            `json:"code"`
		Kind    care.ErrorKind `json:"kind"`
		Message string         `json:"message"`
	} `json:"error"`
}

// requireErrorObject requires stdout to hold one JSON error object, and
// nothing else, with code, and stderr its message on one line.
func requireErrorObject(t *testing.T, r result, code int) errorObject {
	t.Helper()
	var obj errorObject
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&obj), "stdout is not a JSON error object: %q", r.stdout)
	require.False(t, dec.More(), "stdout has more than the error object: %q", r.stdout)
	require.Equal(t, code, obj.Error.Code, r.stdout)
	require.NotEmpty(t, obj.Error.Kind)
	require.Equal(t, "caseflow: "+obj.Error.Message+"\n", r.stderr)
	return obj
}

// TestEachErrorKindHasItsExitCode drives the real binary into each kind of
// error: the exit status and, with --output json, the error object on
// stdout name the kind; nothing is asserted about the wording.
func TestEachErrorKindHasItsExitCode(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	unreachable := []string{"TEMPORAL_ADDRESS=127.0.0.1:1"}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		kind care.ErrorKind
	}{
		{"invalid value", nil, []string{"case", "stratify", id, "--category", "huge"}, 2, care.KindInvalid},
		{"invalid record", nil, []string{"case", "screen", id, "--not-eligible"}, 2, care.KindInvalid},
		{"unknown flag", nil, []string{"case", "show", id, "--no-such-flag"}, 2, care.KindInvalid},
		{"unknown subcommand", nil, []string{"case", "frobnicate"}, 2, care.KindInvalid},
		{"unknown command", nil, []string{"frobnicate"}, 2, care.KindInvalid},
		{"case not found", nil, []string{"case", "show", "c-doesnotexist"}, 3, care.KindNotFound},
		{"action on a case not found", nil, []string{"case", "contact", "c-doesnotexist", "--with", "client"}, 3, care.KindNotFound},
		{"history of a case not found", nil, []string{"case", "history", "c-doesnotexist"}, 3, care.KindNotFound},
		{"not allowed in the phase", nil, []string{"case", "assess", id, "--file", "demo/river/assessment.json"}, 4, care.KindNotAllowed},
		{"Temporal unreachable", unreachable, []string{"case", "show", id, "--timeout", "3s"}, 5, care.KindUnavailable},
		{"Temporal unreachable for an action", unreachable, []string{"case", "screen", id, "--eligible", "--timeout", "3s"}, 5, care.KindUnavailable},
		{"database unreachable", []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/caseflow?sslmode=disable"}, []string{"worklist", "--timeout", "3s"}, 5, care.KindUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.cliEnv(tc.env, tc.args...)
			require.Equal(t, tc.code, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
			require.Empty(t, r.stdout)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)

			r = e.cliEnv(tc.env, append(tc.args, "--output", "json")...)
			require.Equal(t, tc.code, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
			require.Equal(t, tc.kind, requireErrorObject(t, r, tc.code).Error.Kind)
		})
	}

	// A closed case takes no more actions: not allowed now.
	e.ok("case", "close", id, "--reason", "consent-withdrawn")
	r := e.cli("case", "contact", id, "--with", "client", "--output", "json")
	require.Equal(t, 4, r.code, r.stderr)
	require.Equal(t, care.KindNotAllowed, requireErrorObject(t, r, 4).Error.Kind)

	// A group without a subcommand still prints its help.
	r = e.cli("case")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Available Commands")
}

// TestErrorKindUnavailableWhenNoWorkerAnswers stops the worker: an action then
// waits for it until --timeout, and says so with exit status 5.
func TestErrorKindUnavailableWhenNoWorkerAnswers(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	e.stopWorker()
	r := e.cli("case", "screen", id, "--eligible", "--timeout", "3s", "--output", "json")
	require.Equal(t, 5, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
	require.Equal(t, care.KindUnavailable, requireErrorObject(t, r, 5).Error.Kind)
}
