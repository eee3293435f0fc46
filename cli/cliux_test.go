package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/workflows"
)

// offline points the command line at services that are not there.
func offline(t *testing.T) {
	t.Setenv("CASEFLOW_CODEC_KEYS", testkeys.Spec)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/caseflow?sslmode=disable")
}

// complete runs "caseflow __complete args..." and returns the offered
// values (descriptions cut off) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, stdout, _ := run(t, append([]string{"__complete"}, args...)...)
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

func TestEnumFlagsComplete(t *testing.T) {
	offline(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"case", "close", "c-1", "--reason", ""}, enumStrings(care.ClosureReasons)},
		{[]string{"case", "close", "c-1", "--reason", "go"}, []string{"goals-met"}},
		{[]string{"case", "open", "--model", ""}, enumStrings(care.Models)},
		{[]string{"case", "call", "c-1", "call-7", "--outcome", ""}, enumStrings(care.CallOutcomes)},
		{[]string{"case", "stratify", "c-1", "--risk", ""}, enumStrings(care.RiskLevels)},
		{[]string{"case", "stratify", "c-1", "--category", ""}, enumStrings(care.CareCategories)},
		{[]string{"case", "transition", "c-1", "--kind", ""}, enumStrings(care.TransitionKinds)},
		{[]string{"case", "contact", "c-1", "--with", ""}, enumStrings(care.ContactParties)},
		{[]string{"case", "contact", "c-1", "--back-to", ""}, []string{"assessment", "planning"}},
		{[]string{"case", "list", "--phase", "fo"}, []string{"follow-up"}},
		{[]string{"case", "list", "--risk", ""}, enumStrings(care.RiskLevels)},
		{[]string{"case", "assess", "c-1", "--housing", ""}, enumStrings(care.HousingStatuses)},
		{[]string{"worklist", "--due", ""}, []string{"today"}},
		{[]string{"case", "show", "c-1", "--output", ""}, []string{"table", "json"}},
	} {
		got, directive := complete(t, tc.args...)
		require.Equal(t, tc.want, got, "caseflow __complete %s", strings.Join(tc.args, " "))
		require.Equal(t, ":4", directive, "no file names for an enum")
	}
	// --reason of pause is free text: nothing offered, no file names.
	got, directive := complete(t, "case", "pause", "c-1", "--reason", "")
	require.Empty(t, got)
	require.Equal(t, ":4", directive)
	// --file completes file names.
	_, directive = complete(t, "case", "plan", "c-1", "--file", "")
	require.Equal(t, ":0", directive)
}

func TestIDCompletionWithoutTemporalFailsQuietly(t *testing.T) {
	offline(t)
	got, directive := complete(t, "case", "show", "")
	require.Empty(t, got)
	require.Equal(t, ":5", directive, "error, no file names")
}

func TestCommandsTakingACaseCompleteCaseIDs(t *testing.T) {
	a := &app{}
	root := a.rootCommand()
	var missing []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if strings.Contains(c.Use, "<case>") && c.ValidArgsFunction == nil {
			missing = append(missing, c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	require.Empty(t, missing)
	require.Equal(t, []string{"case", "call"}, placeholders("call <case> <call> [flags]"))
}

func TestHelpShowsBooleanFlagsAsTyped(t *testing.T) {
	for _, args := range [][]string{{"case", "screen", "--help"}, {"case", "list", "--help"}, {"completion", "--help"}} {
		code, stdout, _ := run(t, args...)
		require.Equal(t, 0, code)
		require.NotContains(t, stdout, "[=true|false]", strings.Join(args, " "))
	}
	_, stdout, _ := run(t, "case", "screen", "--help")
	require.Regexp(t, `(?m)^      --eligible +the client is eligible`, stdout)
	require.Regexp(t, `(?m)^      --notes string +screening notes`, stdout, "columns stay aligned")
}

func TestCompletionDocumentsEachShell(t *testing.T) {
	_, stdout, _ := run(t, "completion", "--help")
	for _, shell := range []string{"bash", "zsh", "fish", "source <(caseflow completion bash)", "caseflow completion fish | source"} {
		require.Contains(t, stdout, shell)
	}
}

func TestResumeAsksForItsOwnReason(t *testing.T) {
	offline(t)
	code, _, stderr := run(t, "case", "resume", "c-1")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `--reason "discharged home"`)
	_, stdout, _ := run(t, "case", "resume", "--help")
	require.Contains(t, stdout, `caseflow case resume c-1a2b3c4d5e6f7a8b --reason "discharged home"`)
	require.NotContains(t, stdout, "re-admitted")
}

func TestFileErrorsNameThePathAndTheLine(t *testing.T) {
	offline(t)
	dir := t.TempDir()
	code, _, stderr := run(t, "case", "plan", "c-1", "--file", filepath.Join(dir, "nope.json"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, filepath.Join(dir, "nope.json")+" does not exist")

	plan := filepath.Join(dir, "plan.json")
	require.NoError(t, os.WriteFile(plan, []byte(`{
  "goals": [
    {"id": "g1",
     "descripton": "walk again", "due": "2027-01-01"}
  ],
  "services": [],
  "notes": "a long file, so that the last line is far away"
}
`), 0o600))
	code, _, stderr = run(t, "case", "plan", "c-1", "--file", plan)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, plan+`: line 4: unknown field "descripton"`)

	as := filepath.Join(dir, "assessment.json")
	require.NoError(t, os.WriteFile(as, []byte("{\n  \"age\": 34,\n  \"housing\": \"stable\",\n  \"hosuing\": \"x\"\n}\n"), 0o600))
	_, _, stderr = run(t, "case", "assess", "c-1", "--file", as)
	require.Contains(t, stderr, `line 4: unknown field "hosuing"`)
}

func TestOversizedInputIsRefusedBeforeTemporal(t *testing.T) {
	offline(t)
	big := strings.Repeat("x", 5<<20)
	code, stdout, stderr := run(t, "case", "contact", "c-1", "--with", "client", "--notes", big)
	require.Equal(t, 2, code, stderr)
	require.Empty(t, stdout)
	require.Equal(t, "caseflow: --notes: is 5.0 MiB; the limit is 8 KiB per text field: shorten it, or keep the document in your records system and refer to it\n", stderr)

	dir := t.TempDir()
	ev := filepath.Join(dir, "evaluation.json")
	require.NoError(t, os.WriteFile(ev, []byte(`{"scores": {"physical_function": 3, "clinical_results": 3, "financial": 3, "satisfaction": 3, "knowledge": 3, "psychosocial": 3}, "notes": "`+strings.Repeat("y", 9000)+`"}`), 0o600))
	_, _, stderr = run(t, "case", "evaluate", "c-1", "--file", ev)
	require.Contains(t, stderr, ev+": notes: is 8.8 KiB; the limit is 8 KiB")
}

func TestATimeoutTooShortForARoundTripSaysSo(t *testing.T) {
	offline(t)
	t.Setenv("TEMPORAL_ADDRESS", "10.255.255.1:7233") // nothing answers, nothing refuses
	code, _, stderr := run(t, "case", "show", "c-1", "--timeout", "5ms")
	require.Equal(t, 5, code)
	require.Contains(t, stderr, "--timeout 5ms is shorter than a round trip")
	require.NotContains(t, stderr, "cannot reach Temporal")
	code, _, stderr = run(t, "case", "show", "c-1", "--timeout", "0s")
	require.Equal(t, 2, code, stderr)
}

func TestDurationsAndWindowsAreHuman(t *testing.T) {
	require.Equal(t, "1m30s", humanDuration(89978108314*time.Nanosecond))
	require.Equal(t, "30s", humanDuration(30*time.Second))
	require.Equal(t, "5ms", humanDuration(5*time.Millisecond))
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.Local)
	require.Equal(t, "2026-12-01 to 2026-12-15", formatRange(day, day.AddDate(0, 0, 14)))
	require.Equal(t, "2026-12-01 09:00 to 11:30", formatRange(day.Add(9*time.Hour), day.Add(11*time.Hour+30*time.Minute)))
}

func TestShowRendersIDsPauseAndACutTimeline(t *testing.T) {
	offline(t)
	now := time.Now()
	st := workflows.Status{OpenItems: []workflows.Item{
		{TaskID: "call-7", Kind: "call", Description: "follow-up call", Owner: "cm-ana", Due: now.Add(-time.Hour)},
		{TaskID: "med-reconciliation-9", Kind: "med-reconciliation", Description: "reconcile medications", Owner: "cm-ana", Due: now.Add(time.Hour)},
	}}
	st.Case = care.Case{ID: "c-1", Manager: "cm-ana"}
	st.Phase, st.Paused, st.PausedAt, st.PauseReason = care.PhaseFollowUp, true, now, "re-admitted"
	st.Seq = 51
	for i := 2; i <= 51; i++ {
		st.Timeline = append(st.Timeline, workflows.TimelineEntry{Seq: i, At: now, Action: "clock"})
	}
	var out strings.Builder
	a := &app{out: &out, errOut: &out, timeout: time.Second}
	defer a.close()
	a.renderStatus(t.Context(), st, nil)
	s := out.String()
	require.Regexp(t, `(?m)^Clocks +paused since .*: re-admitted`, s)
	require.Regexp(t, `(?m)^  call-7 +call +follow-up call +due .* \(overdue\) \(paused\)`, s)
	require.Regexp(t, `(?m)^  med-reconciliation-9 +med-reconciliation`, s)
	require.Contains(t, s, `50 of 51 entries; see "caseflow case history c-1"`)
	require.Contains(t, s, "Notes\n  not available: cannot reach the database")
}

func TestWebPrintsTheCaseAddress(t *testing.T) {
	offline(t)
	t.Setenv("CASEFLOW_UI_URL", "https://temporal.example.org/")
	t.Setenv("TEMPORAL_NAMESPACE", "care")
	code, stdout, _ := run(t, "case", "show", "c-1", "--web")
	require.Equal(t, 0, code)
	require.Equal(t, "https://temporal.example.org/namespaces/care/workflows/case-c-1\n", stdout)
}

// Every --flag an example uses is a flag of the command the example runs.
func TestHelpExamplesUseTheFlagsOfTheirCommand(t *testing.T) {
	root := (&app{}).rootCommand()
	flag := regexp.MustCompile(`^--([a-z][a-z0-9-]*)`)
	checked := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(strings.ReplaceAll(c.Example, "\\\n", " "), "\n") {
			line, _, _ = strings.Cut(line, " | ")
			_, cmdline, ok := strings.Cut(line, "caseflow ")
			if !ok {
				continue
			}
			words := strings.Fields(cmdline)
			run, _, err := root.Find(words)
			require.NoError(t, err, line)
			for _, w := range words {
				if m := flag.FindStringSubmatch(w); m != nil {
					f := run.Flags().Lookup(m[1])
					if f == nil {
						f = run.InheritedFlags().Lookup(m[1])
					}
					require.NotNil(t, f, "%s: example %q uses --%s, which %q does not have", c.CommandPath(), strings.TrimSpace(line), m[1], run.CommandPath())
					checked++
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	require.Greater(t, checked, 50)
}
