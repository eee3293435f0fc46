package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/workflows"
)

// completions runs "caseflow __complete args..." and returns the values
// offered, without their descriptions.
func (e *env) completions(args ...string) []string {
	e.t.Helper()
	out := e.ok(append([]string{"__complete"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.True(e.t, strings.HasPrefix(lines[len(lines)-1], ":"), "the last line is the directive: %q", out)
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values
}

// TestTheCommandLineAnswersWhatACaseManagerNeeds drives a demo-program case
// (seconds-scale clocks) and checks completion of case, task and appointment
// ids against the real dev server, and what "case show" puts on screen: task
// ids, the pause, the notes.
func TestTheCommandLineAnswersWhatACaseManagerNeeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadSlots(30 * time.Minute)
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-CLI-1", "--program", "demo", "--model", "intensive", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible", "--notes", "referred by the trauma ward")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--risk", "high", "--override-reason", "demo", "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")

	// A closed case comes after the open one.
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-CLI-2", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	closed := res.CaseID
	e.ok("case", "close", closed, "--reason", "transferred")

	var st workflows.Status
	var call, appt string
	e.waitFor("a call to fall due and an appointment to be booked", 60*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		call, appt = "", ""
		for _, it := range st.OpenItems {
			if it.Kind == "call" {
				call = it.TaskID
			}
		}
		for _, s := range st.Services {
			if s.Appointment != nil {
				appt = s.Appointment.ID
			}
		}
		return call != "" && appt != ""
	})
	e.ok("case", "contact", id, "--with", "family", "--notes", "sister drives her to physio")

	e.waitFor("visibility to list both cases", 30*time.Second, func() bool {
		got := e.completions("case", "show", "")
		return len(got) == 2
	})
	require.Equal(t, []string{id, closed}, e.completions("case", "show", ""), "open cases first")
	require.Equal(t, []string{id}, e.completions("case", "close", id[:len(id)-1]), "by prefix")
	require.Contains(t, e.completions("case", "call", id, ""), call)
	require.Contains(t, e.completions("case", "done", id, ""), call)
	require.Contains(t, e.completions("case", "appointment", id, ""), appt)
	require.Equal(t, []string{"reached", "no-answer", "declined"}, e.completions("case", "call", id, call, "--outcome", ""))

	e.ok("case", "pause", id, "--reason", "re-admitted")
	show := e.ok("case", "show", id)
	require.Regexp(t, `(?m)^Clocks +paused since .*: re-admitted`, show)
	require.Regexp(t, `(?m)^  `+call+` +call +`, show, "open items carry their task ids")
	require.Contains(t, show, "referred by the trauma ward", "screening notes")
	require.Contains(t, show, "sister drives her to physio", "contact notes")
	require.Contains(t, show, appt)
	e.ok("case", "resume", id, "--reason", "home again")
	require.NotContains(t, e.ok("case", "show", id), "paused since")
	require.Contains(t, e.ok("case", "show", id, "--web"), "/namespaces/default/workflows/case-"+id)
}

// TestReloadingTheDemoSlotsAddsNoSecondCopy: make run loads
// demo/providers.json at every start; the second load adds nothing.
func TestReloadingTheDemoSlotsAddsNoSecondCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("providers", "load", "demo/providers.json")
	n := e.count(`SELECT count(*) FROM slots`)
	require.Positive(t, n)
	out := e.ok("providers", "load", "demo/providers.json")
	require.Contains(t, out, " 0 slot(s) added")
	require.Equal(t, n, e.count(`SELECT count(*) FROM slots`))
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestASecondMakeRunRefuses runs make run's guard (scripts/run.sh --check,
// which the Makefile runs before it builds): with a make run alive, or a
// port taken, it refuses and stops nothing.
func TestASecondMakeRunRefuses(t *testing.T) {
	t.Parallel()
	guard := func(state string, env ...string) (int, string) {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"), "--check")
		cmd.Dir = root
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CASEFLOW_STATE=" + state,
			"CASEFLOW_TEMPORAL_PORT=" + strconv.Itoa(freePort(t)), "CASEFLOW_UI_PORT=" + strconv.Itoa(freePort(t)),
			"CASEFLOW_CODEC_PORT=" + strconv.Itoa(freePort(t)), "CASEFLOW_PAYER_PORT=" + strconv.Itoa(freePort(t))}, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return code, string(out)
	}
	state := t.TempDir()
	code, out := guard(state)
	require.Equal(t, 0, code, "nothing runs: the guard lets make run go on (%s)", out)

	// A make run is alive (its pid file names a live process).
	require.NoError(t, os.WriteFile(filepath.Join(state, "run.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600))
	code, out = guard(state)
	require.Equal(t, 1, code)
	require.Contains(t, out, "caseflow: make run is already running (pid "+strconv.Itoa(os.Getpid()))
	require.NotContains(t, out, "stopping")
	require.FileExists(t, filepath.Join(state, "run.pid"), "the running make run's pid file stays")

	// A stale pid file (the process is gone) does not block.
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	require.NoError(t, os.WriteFile(filepath.Join(state, "run.pid"), []byte(strconv.Itoa(dead.Process.Pid)), 0o600))
	code, out = guard(state)
	require.Equal(t, 0, code, out)

	// Something answers on the Temporal port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	code, out = guard(t.TempDir(), "CASEFLOW_TEMPORAL_PORT="+port)
	require.Equal(t, 1, code)
	require.Contains(t, out, "something already answers on 127.0.0.1:"+port+", the port of Temporal")
	require.NotContains(t, out, "stopping")
}
