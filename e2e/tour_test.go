package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// tourCommands returns the commands of the first ```sh block under heading
// in README.md, as a user types them: continuation lines ("\" at the end)
// joined into one command, blank and comment-only lines left out (bash
// would do nothing with them).
func tourCommands(t *testing.T, heading string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	var cmds []string
	inSection, inBlock := false, false
	pending := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inSection:
			inSection = line == heading
			continue
		case !inBlock && strings.HasPrefix(line, "## "):
			t.Fatalf("README.md: no ```sh block under %q", heading)
		case !inBlock:
			inBlock = line == "```sh"
			continue
		case line == "```":
			require.Empty(t, pending, "README.md: the last command of the tour ends with a continuation")
			return cmds
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		line, pending = pending+line, ""
		if s := strings.TrimSpace(line); s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		cmds = append(cmds, line)
	}
	t.Fatalf("README.md: no complete ```sh block under %q", heading)
	return nil
}

// TestTheREADMETourRunsAsWrittenTypedStraightThrough runs the README's CLI
// tour verbatim, in one bash, one command after the other with no pause
// between them, as a user pasting it would: in a folder laid out like the
// repository after "make run" (bin/, demo/, policies/ and .caseflow/demo-case,
// the demo case opened the way scripts/run.sh opens it). Every command must
// exit 0. No line is skipped: "source <(bin/caseflow completion bash)" runs
// in bash too, and "case show --web" only prints an address.
func TestTheREADMETourRunsAsWrittenTypedStraightThrough(t *testing.T) {
	e := newEnv(t)
	e.ok("providers", "load", "demo/providers.json") // make run loads the provider slots

	// The demo case, opened as scripts/run.sh opens it. Its id is unique to
	// this test: every test shares one dev server.
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	demo := "demo-case-" + hex.EncodeToString(b)
	out := e.ok("case", "open", "--case-id", demo, "--patient-ref", "MRN-0001042", "--name", "River Quinn", "--birth-date", "1991-04-02",
		"--program", "complex-case", "--model", "clinical", "--manager", "cm-ana", "--source", "referral", "--actor", "cm-ana")
	require.Contains(t, out, "opened case "+demo)

	dir := t.TempDir()
	require.NoError(t, os.Symlink(binDir, filepath.Join(dir, "bin")))
	for _, d := range []string{"demo", "policies"} {
		require.NoError(t, os.Symlink(filepath.Join(root, d), filepath.Join(dir, d)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".caseflow"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".caseflow", "demo-case"), []byte(demo+"\n"), 0o600))

	cmds := tourCommands(t, "## CLI tour")
	require.GreaterOrEqual(t, len(cmds), 15, "the tour: %q", cmds)

	// One bash runs the tour, as typed: each command, then a check of its
	// exit status that names the command. The marker lines let a failure
	// show what each command printed.
	var script strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&script, "printf '\\n>>> %%s\\n' %s\n%s\n", shellQuote(c), c)
		fmt.Fprintf(&script, "rc=$?; if [ $rc -ne 0 ]; then echo \"tour: command %d exited $rc: \"%s; exit 1; fi\n", i+1, shellQuote(c))
	}
	script.WriteString("echo tour: all commands exited 0\n")
	// bash reads the script from a file, so a command that reads its stdin
	// gets nothing rather than the rest of the tour.
	scriptFile := filepath.Join(t.TempDir(), "tour.sh")
	require.NoError(t, os.WriteFile(scriptFile, []byte(script.String()), 0o600))
	cmd := exec.Command("bash", "--norc", "--noprofile", scriptFile)
	cmd.Dir = dir
	cmd.Env = e.environ()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	t.Logf("the tour:\n%s", log.String())
	require.NoError(t, err, "the README tour failed:\n%s\nworker:\n%s", log.String(), e.workerLog)
	require.Contains(t, log.String(), "tour: all commands exited 0", log.String())

	// The tour did what it says: the demo case went from screening to
	// closed, and the case it opened exists.
	var st workflows.Status
	e.okJSON(&st, "case", "show", demo)
	require.Equal(t, care.PhaseClosed, st.Phase, "the tour closes the demo case")
	require.Equal(t, care.ClosureGoalsMet, st.Closure.Reason)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM cases WHERE case_id <> $1`, demo), "the tour's case open opened one case")
	require.Contains(t, log.String(), "opened case c-", "case open printed the new case's id")
}

// shellQuote quotes s for bash as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
