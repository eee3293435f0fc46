package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/caseflow/caseflow/intake"
)

const candidateHeader = "patient_ref,program,source,model,manager,priority,name,birth_date\n"

// writeFile writes body to a new file called name and returns its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// importJSON runs "case import" with --output json and returns the summary,
// the exit code and stderr. stdout must hold one JSON value and nothing else.
func (e *env) importJSON(args ...string) (intake.Summary, int, string) {
	e.t.Helper()
	r := e.cli(append(append([]string{"case", "import"}, args...), "--output", "json")...)
	return decodeSummary(e.t, r.stdout, r.stderr), r.code, r.stderr
}

func decodeSummary(t *testing.T, stdout, stderr string) intake.Summary {
	t.Helper()
	var sum intake.Summary
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&sum), "stdout is not the JSON summary: %q\nstderr: %s", stdout, stderr)
	require.False(t, dec.More(), "stdout has more than the JSON summary: %q", stdout)
	return sum
}

// waitCases waits for the worker to record n cases in PostgreSQL. That
// takes a few seconds for hundreds of cases, longer on a busy machine.
func (e *env) waitCases(n int) {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return e.count(`SELECT count(*) FROM cases`) == n }, 90*time.Second, 100*time.Millisecond,
		"want %d cases, have %d\nworker: %s", n, e.count(`SELECT count(*) FROM cases`), e.workerLog)
}

// workflowRuns lists, from Temporal visibility, the workflow id of every run
// on this test's task queue: a case started twice would be there twice.
func (e *env) workflowRuns() []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []string
	var token []byte
	for {
		resp, err := plainConn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s'", e.taskQueue), PageSize: 1000, NextPageToken: token})
		require.NoError(e.t, err)
		for _, ex := range resp.Executions {
			ids = append(ids, ex.Execution.WorkflowId)
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return ids
		}
	}
}

// waitWorkflows waits until visibility shows n runs and returns their ids.
func (e *env) waitWorkflows(n int) []string {
	e.t.Helper()
	var ids []string
	require.Eventually(e.t, func() bool { ids = e.workflowRuns(); return len(ids) >= n }, 60*time.Second, 200*time.Millisecond,
		"want %d workflow runs in visibility", n)
	time.Sleep(300 * time.Millisecond) // a late duplicate would show up by now
	return e.workflowRuns()
}

func caseIDs(sum intake.Summary, status string) []string {
	var ids []string
	for _, c := range sum.Cases {
		if c.Status == status {
			ids = append(ids, c.CaseID)
		}
	}
	slices.Sort(ids)
	return ids
}

func distinct(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestImportOpensEveryCaseInAValidFile(t *testing.T) {
	e := newEnv(t)
	sum, code, stderr := e.importJSON("demo/candidates.csv", "--concurrency", "1")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 20, sum.Rows)
	require.Equal(t, 20, sum.Opened)
	require.Zero(t, sum.AlreadyExisted+sum.Failed+sum.NotStarted+sum.InvalidRows+sum.DuplicateRows)
	require.Len(t, caseIDs(sum, "opened"), 20)
	require.Greater(t, sum.CasesPerSecond, 0.0)

	// Patients and cases are in PostgreSQL, one workflow each in Temporal.
	require.Equal(t, 20, e.count(`SELECT count(*) FROM patients`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients WHERE external_ref = 'MRN-DEMO-0020' AND name = 'Tatum Demo-O''Rourke, Jr.' AND birth_date = '1980-11-20'`))
	e.waitCases(20)
	require.Equal(t, 3, e.count(`SELECT count(*) FROM cases WHERE program = 'transitional-care' AND manager = 'cm-bo' AND source = 'adt' AND model = 'brokerage' AND phase = 'screening'`))
	runs := e.waitWorkflows(20)
	require.Len(t, runs, 20)
	want := make([]string, 0, 20)
	for _, id := range caseIDs(sum, "opened") {
		want = append(want, "case-"+id)
	}
	require.ElementsMatch(t, want, runs)

	// Urgent rows (lines 2, 4, 8, 11, 16) were started first.
	lines := map[string]int{}
	for _, c := range sum.Cases {
		lines["case-"+c.CaseID] = c.Line
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := plainConn.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s'", e.taskQueue), PageSize: 100})
	require.NoError(t, err)
	require.Len(t, resp.Executions, 20)
	slices.SortFunc(resp.Executions, func(x, y *workflowpb.WorkflowExecutionInfo) int {
		return x.StartTime.AsTime().Compare(y.StartTime.AsTime())
	})
	var first []int
	for _, ex := range resp.Executions[:5] {
		first = append(first, lines[ex.Execution.WorkflowId])
	}
	require.ElementsMatch(t, []int{2, 4, 8, 11, 16}, first)

	// Again: nothing new, every case reported as already existing.
	r := e.cli("case", "import", "demo/candidates.csv", "--progress", "none")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `\s0  opened\n\s+20  already existed`, r.stdout)
	require.Empty(t, r.stderr)
	require.Equal(t, 20, e.count(`SELECT count(*) FROM patients`))
	require.Len(t, e.waitWorkflows(20), 20)
}

const badRows = candidateHeader +
	"MRN-1,complex-case,referral,clinical,cm-ana,,,\n" + // 2 good
	"MRN-2,complex-case,fax,clinical,cm-ana,,,\n" + // 3
	"MRN-3,complex-case,referral,hands-off,Ana Lopez,soon,,02/04/1991\n" + // 4
	",complex-case,referral,clinical,cm-ana,,,\n" + // 5
	"MRN-1,complex-case,referral,clinical,cm-ana,urgent,,\n" + // 6 duplicate of 2
	"MRN-4,complex-case,referral,clinical,cm-ana,,,\n" + // 7 conflicts with 8
	"MRN-4,complex-case,referral,clinical,cm-bo,,,\n" + // 8
	"MRN-5,complex-case,claims,,,,,\n" + // 9 no model, no manager
	"MRN-6,complex-case,adt,intensive,cm-cy,,Wren Demo,1950-01-01\n" + // 10 good
	"MRN-6,transitional-care,adt,clinical,cm-cy,,,\n" + // 11 good: same patient, other program
	",,,,,,,\n" // blank spreadsheet row, ignored

var badRowReports = []string{
	`line 3: source: unknown value "fax"; use one of referral, adt, claims`,
	`line 4: birth_date: must be a date YYYY-MM-DD`,
	`line 4: model: unknown value "hands-off"; use one of brokerage, clinical, strengths-based, intensive`,
	`line 4: manager: "Ana Lopez" is not an opaque id`,
	`line 4: priority: unknown value "soon"; use one of routine, urgent`,
	`line 5: patient_ref: is required`,
	`line 7: manager: differs from line 8 for the same patient_ref and program; none of these rows was started`,
	`line 8: manager: differs from line 7`,
	`line 9: model: is required; use one of brokerage, clinical, strengths-based, intensive`,
	`line 9: manager: is required`,
}

func TestImportReportsEachBadRowAndOpensTheGoodOnes(t *testing.T) {
	e := newEnv(t)
	file := writeFile(t, "candidates.csv", badRows)
	r := e.cli("case", "import", file)
	require.Equal(t, 1, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	for _, want := range badRowReports {
		require.Contains(t, r.stdout, want)
	}
	require.Contains(t, r.stdout, "line 6: same patient_ref and program as line 2")
	require.Regexp(t, `\s3  opened\n`, r.stdout)
	require.Regexp(t, `\s6  invalid rows \(skipped\)\n`, r.stdout)
	require.Regexp(t, `(?m)^caseflow: import incomplete: 6 rows are invalid and skipped \(see the summary\); fix them and run the same file again`, r.stderr)
	require.NotContains(t, r.stdout, "Wren", "no patient data in the report")

	// Only the good rows wrote anything.
	var refs []string
	require.NoError(t, e.db.Select(&refs, `SELECT external_ref FROM patients ORDER BY external_ref`))
	require.Equal(t, []string{"MRN-1", "MRN-6"}, refs)
	e.waitCases(3)
	require.Len(t, e.waitWorkflows(3), 3)

	// The JSON summary names each problem by line and field.
	sum, code, _ := e.importJSON(file)
	require.Equal(t, 1, code)
	require.Equal(t, 10, sum.Rows)
	require.Equal(t, 3, sum.ToOpen)
	require.Equal(t, 0, sum.Opened)
	require.Equal(t, 3, sum.AlreadyExisted)
	require.Equal(t, 6, sum.InvalidRows)
	require.Equal(t, []intake.DuplicateRow{{Line: 6, SameAs: 2}}, sum.Duplicates)
	require.Contains(t, sum.Invalid, intake.RowProblem{Line: 3, Field: "source", Problem: `unknown value "fax"; use one of referral, adt, claims`})
	var lines []int
	for _, p := range sum.Invalid {
		lines = append(lines, p.Line)
	}
	require.Equal(t, []int{3, 4, 5, 7, 8, 9}, slices.Compact(lines))
	require.Len(t, e.waitWorkflows(3), 3)
}

func TestImportStrictStartsNothing(t *testing.T) {
	e := newEnv(t)
	file := writeFile(t, "candidates.csv", badRows)
	r := e.cli("case", "import", file, "--strict")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "no case was started (--strict)")
	for _, want := range badRowReports {
		require.Contains(t, r.stdout, want)
	}
	require.Contains(t, r.stderr, "caseflow: --strict: 6 rows are invalid, so no case was started")

	sum, code, _ := e.importJSON(file, "--strict")
	require.Equal(t, 1, code)
	require.Equal(t, 3, sum.NotStarted)
	require.Zero(t, sum.Opened+sum.AlreadyExisted+sum.Failed)
	require.Zero(t, e.count(`SELECT count(*) FROM patients`))
	time.Sleep(time.Second)
	require.Empty(t, e.workflowRuns())
	require.Zero(t, e.count(`SELECT count(*) FROM cases`))

	// A valid file under --strict is imported as usual.
	sum, code, stderr := e.importJSON("demo/candidates.csv", "--strict", "--rate", "0")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 20, sum.Opened)
}

func TestImportRowsOfAProgramWithoutAPolicyAreInvalid(t *testing.T) {
	e := newEnv(t)
	file := writeFile(t, "candidates.csv", candidateHeader+
		"MRN-1,complex-case,referral,clinical,cm-ana,,,\n"+
		"MRN-2,complex-cse,referral,clinical,cm-ana,,,\n"+
		"MRN-3,chronic-care,claims,brokerage,cm-ana,,,\n"+
		"MRN-4,complex-cse,adt,clinical,cm-ana,,,\n")
	want := []intake.RowProblem{{Line: 3, Field: "program"}, {Line: 5, Field: "program"}}

	// Checked before anything is started: --strict starts nothing.
	sum, code, stderr := e.importJSON(file, "--strict")
	require.Equal(t, 1, code, stderr)
	require.Equal(t, 2, sum.InvalidRows)
	require.Equal(t, 2, sum.NotStarted)
	require.Zero(t, e.count(`SELECT count(*) FROM patients`))

	sum, code, stderr = e.importJSON(file)
	require.Equal(t, 1, code, stderr)
	require.Equal(t, 2, sum.Opened)
	require.Zero(t, sum.Failed)
	require.Equal(t, 2, sum.ToOpen)
	require.Len(t, sum.Invalid, 2)
	for i, p := range sum.Invalid {
		require.Equal(t, want[i].Line, p.Line)
		require.Equal(t, want[i].Field, p.Field)
		require.Contains(t, p.Problem, `"complex-cse" has no policy in force; known programs: `)
	}
	require.Contains(t, stderr, "caseflow: import incomplete: 2 rows are invalid and skipped")
	var refs []string
	require.NoError(t, e.db.Select(&refs, `SELECT external_ref FROM patients ORDER BY external_ref`))
	require.Equal(t, []string{"MRN-1", "MRN-3"}, refs)

	// --dry-run cannot tell: it connects to nothing.
	sum, code, stderr = e.importJSON(file, "--dry-run")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 4, sum.ToOpen)

	// An actor who is not registered staff refuses the file once, before
	// anything is written (before: every row was invalid on its own).
	r := e.cli("case", "import", file, "--actor", "cm-nobody", "--output", "json")
	require.Equal(t, 1, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, `--actor: cm-nobody is not a registered staff id`)
	require.NotContains(t, r.stderr, "line ")
	require.Equal(t, 2, e.count(`SELECT count(*) FROM patients`), "nothing more registered")
}

func TestImportDryRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	// It connects to nothing: point both at closed ports.
	nowhere := []string{"TEMPORAL_ADDRESS=127.0.0.1:1", "DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable"}
	r := e.cliEnv(nowhere, "case", "import", "demo/candidates.csv", "--dry-run", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	sum := decodeSummary(t, r.stdout, r.stderr)
	require.True(t, sum.DryRun)
	require.Equal(t, 20, sum.ToOpen)
	require.Zero(t, sum.Opened+sum.NotStarted+sum.InvalidRows)

	r = e.cliEnv(nowhere, "case", "import", writeFile(t, "bad.csv", badRows), "--dry-run")
	require.Equal(t, 1, r.code)
	for _, want := range badRowReports {
		require.Contains(t, r.stdout, want)
	}
	require.Contains(t, r.stderr, "caseflow: --dry-run: 6 rows are invalid; nothing was written")

	// Against the real systems too, nothing is written.
	e.ok("case", "import", "demo/candidates.csv", "--dry-run")
	require.Zero(t, e.count(`SELECT count(*) FROM patients`))
	time.Sleep(time.Second)
	require.Empty(t, e.workflowRuns())
}

func TestImportInterruptedThenRunAgainOpensEachCaseOnce(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString(candidateHeader)
	for i := range 300 {
		fmt.Fprintf(&b, "MRN-BULK-%04d,complex-case,claims,clinical,cm-ana,,,\n", i)
	}
	file := writeFile(t, "bulk.csv", b.String())

	// First run, at 25 cases a second, interrupted after about a second.
	cmd := exec.Command(filepath.Join(binDir, "caseflow"), "case", "import", file, "--rate", "25", "--progress", "lines", "--output", "json")
	cmd.Dir, cmd.Env = root, e.environ()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	stderr := bufio.NewScanner(stderrPipe)
	var errLines []string
	for stderr.Scan() {
		errLines = append(errLines, stderr.Text())
		if strings.Contains(stderr.Text(), "starting 300 cases") {
			break
		}
	}
	time.Sleep(1200 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for stderr.Scan() {
		errLines = append(errLines, stderr.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", strings.Join(errLines, "\n"))
	require.Equal(t, 1, exit.ExitCode())
	errText := strings.Join(errLines, "\n")
	require.Contains(t, errText, "interrupted: starting no more cases; finishing the ones in flight")
	require.Contains(t, errText, "caseflow: import interrupted:")
	first := decodeSummary(t, stdout.String(), errText)
	require.True(t, first.Interrupted)
	require.Zero(t, first.Failed, "the cases in flight finish: %v", first.Failures)
	require.Greater(t, first.Opened, 0)
	require.Greater(t, first.NotStarted, 200, "the rate limit holds it to about 25 a second")
	require.Equal(t, 300, first.Opened+first.NotStarted)
	// Patients are registered just ahead of their case's start: at most
	// the one registered when the interrupt came is not started (the next
	// run finds it; docs/import.md).
	patients := e.count(`SELECT count(*) FROM patients`)
	require.GreaterOrEqual(t, patients, first.Opened)
	require.LessOrEqual(t, patients, first.Opened+1)

	// Second run: the rest are opened, the first ones found.
	second, code, stderrText := e.importJSON(file, "--rate", "0", "--concurrency", "16")
	require.Equal(t, 0, code, stderrText)
	require.Equal(t, 300-first.Opened, second.Opened)
	require.Equal(t, first.Opened, second.AlreadyExisted)
	require.Equal(t, caseIDs(first, "opened"), caseIDs(second, "already-exists"))
	all := append(caseIDs(first, "opened"), caseIDs(second, "opened")...)
	require.Len(t, distinct(all), 300)

	// Each case exactly once: PostgreSQL and Temporal agree.
	require.Equal(t, 300, e.count(`SELECT count(*) FROM patients`))
	e.waitCases(300)
	require.Equal(t, 300, e.count(`SELECT count(DISTINCT patient_id) FROM cases`))
	runs := e.waitWorkflows(300)
	require.Len(t, runs, 300, "one run per case")
	require.Len(t, distinct(runs), 300)
}

func TestImportRefusesBrokenFilesAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	good := "MRN-1,complex-case,referral,clinical,cm-ana,,,\n"
	cases := []struct {
		name, file, body string
		args             []string
		want             string
	}{
		{"empty file", "c.csv", "", nil, "the file is empty: expected a header line"},
		{"blank lines only", "c.csv", "\n  \n", nil, "the file is empty"},
		{"empty json lines", "c.jsonl", "", nil, "the file is empty"},
		{"missing header", "c.csv", good, nil, "line 1: no header: the first line must name the columns (patient_ref, program, source, model, manager, priority, name, birth_date)"},
		{"unknown column", "c.csv", "patient_ref,program,source,model,manager,nmae\nMRN-1,complex-case,referral,clinical,cm-ana,x\n", nil, `line 1: unknown column "nmae"; the columns are patient_ref, program`},
		{"duplicate column", "c.csv", "patient_ref,program,source,model,manager,program\nMRN-1,complex-case,referral,clinical,cm-ana,x\n", nil, `line 1: column "program" appears twice (columns 2 and 6)`},
		{"missing column", "c.csv", "patient_ref,source,model,manager\nMRN-1,referral,clinical,cm-ana\n", nil, "line 1: no program column; every row needs a program"},
		{"no model anywhere", "c.csv", "patient_ref,program,source,manager\nMRN-1,complex-case,referral,cm-ana\n", nil, "line 1: no model column and no --model"},
		{"not UTF-8", "c.csv", candidateHeader + good + "MRN-2,complex-case,referral,clinical,cm-ana,,Ren\xe9e,\n", nil, "line 3: not UTF-8 text (byte 0xe9 at byte 49 of the line); save the file as UTF-8"},
		{"too few fields", "c.csv", candidateHeader + good + "MRN-2,complex-case,referral\n", nil, "line 3: 3 fields, the header has 8"},
		{"too many fields", "c.csv", candidateHeader + "MRN-2,complex-case,referral,clinical,cm-ana,,Doe, Jane,\n" + good, nil, "line 2: 9 fields, the header has 8 (quote values that contain commas)"},
		{"bare quote", "c.csv", candidateHeader + "MRN-2,complex-case,referral,clinical,cm-ana,,Jo \"JJ\" Doe,\n", nil, `line 2: malformed CSV: bare " in non-quoted-field`},
		{"malformed json line", "c.jsonl", `{"patient_ref": "MRN-1", "program": "complex-case", "source": "referral", "model": "clinical", "manager": "cm-ana"}` + "\n{\"patient_ref\": \"MRN-2\",\n", nil, "line 2: malformed JSON: the line ends in the middle of the object"},
		{"unknown json field", "c.ndjson", `{"patient_ref": "MRN-1", "programme": "complex-case"}` + "\n", nil, `line 1: unknown field "programme"`},
		{"json array", "c.jsonl", "[1, 2]\n", nil, "line 1: not a JSON object"},
		{"unknown extension", "c.txt", candidateHeader + good, nil, "--format: cannot tell the format of"},
		{"unknown format", "c.csv", candidateHeader + good, []string{"--format", "xml"}, `--format: unknown value "xml"; use csv or jsonl`},
		{"stdin needs a format", "", "", []string{"-"}, "--format: is required when reading standard input"},
		{"missing file", "", "", []string{"no-such-file.csv"}, "no-such-file.csv: no such file or directory"},
		{"no file", "", "", []string{}, "give one file of candidates"},
		{"bad concurrency", "c.csv", candidateHeader + good, []string{"--concurrency", "0"}, "--concurrency: must be from 1 to 64, got 0"},
		{"bad rate", "c.csv", candidateHeader + good, []string{"--rate", "-1"}, "--rate: must be 0 (no limit) or more"},
		{"bad progress", "c.csv", candidateHeader + good, []string{"--progress", "fancy"}, `--progress: unknown value "fancy"`},
		{"bad default model", "c.csv", candidateHeader + good, []string{"--model", "hands-off"}, `--model: unknown value "hands-off"`},
		{"PHI as default manager", "c.csv", candidateHeader + good, []string{"--manager", "Ana Lopez"}, `--manager: "Ana Lopez" is not an opaque id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"case", "import"}
			if tc.file != "" {
				args = append(args, writeFile(t, tc.file, tc.body))
			}
			args = append(args, tc.args...)
			for _, output := range []string{"table", "json"} {
				r := e.cli(append(args, "--output", output)...)
				require.Equal(t, 1, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
				require.Empty(t, r.stdout, "nothing on stdout for a refused file")
				require.Contains(t, r.stderr, tc.want)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
				require.NotContains(t, r.stderr, "Ren", "no patient data in the message")
				require.NotContains(t, r.stderr, "MRN-1")
				require.NotContains(t, r.stderr, "MRN-2")
			}
		})
	}
	require.Zero(t, e.count(`SELECT count(*) FROM patients`))
	require.Empty(t, e.workflowRuns())

	// A header and no rows is an empty list, not an error.
	sum, code, stderr := e.importJSON(writeFile(t, "none.csv", candidateHeader))
	require.Equal(t, 0, code, stderr)
	require.Zero(t, sum.Rows)
	require.Contains(t, e.ok("case", "import", writeFile(t, "none.csv", candidateHeader)), "has a header and no rows; nothing to do")
}

func TestImportJSONLines(t *testing.T) {
	e := newEnv(t)
	file := writeFile(t, "flagged.jsonl", strings.Join([]string{
		`{"patient_ref": "MEM-100", "program": "chronic-care", "source": "claims"}`,
		``,
		`{"patient_ref": "MEM-101", "program": "chronic-care", "source": "claims", "model": "brokerage", "manager": null, "priority": "urgent"}`,
		"\t{\"patient_ref\": \"MEM-102\", \"program\": \"chronic-care\", \"source\": \"claims\", \"name\": \"Yara Demo\", \"birth_date\": \"1961-02-03\"}\r",
		`{"patient_ref": 103, "program": "chronic-care", "source": "claims"}`,
		`{"patient_ref": "MEM-104", "program": "chronic-care", "source": "mail"}`,
	}, "\n")+"\n")
	sum, code, stderr := e.importJSON(file, "--model", "strengths-based", "--manager", "cm-di", "--progress", "lines")
	require.Equal(t, 1, code, "two rows are invalid")
	require.Equal(t, "jsonl", sum.Format)
	require.Equal(t, 5, sum.Rows)
	require.Equal(t, 3, sum.Opened)
	require.Equal(t, []intake.RowProblem{
		{Line: 5, Field: "patient_ref", Problem: "must be a JSON string, not a number"},
		{Line: 6, Field: "source", Problem: `unknown value "mail"; use one of referral, adt, claims`},
	}, sum.Invalid)
	require.Contains(t, stderr, "import: starting 3 cases")
	require.Contains(t, stderr, "caseflow: import incomplete: 2 rows are invalid")
	require.NotContains(t, stderr, "{", "progress and errors only on stderr")

	e.waitCases(3)
	require.Equal(t, 3, e.count(`SELECT count(*) FROM cases WHERE manager = 'cm-di' AND source = 'claims'`))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM cases WHERE model = 'strengths-based'`), "--model fills rows without one")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM cases WHERE model = 'brokerage'`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients WHERE external_ref = 'MEM-102' AND name = 'Yara Demo'`))

	// Standard input works with --format.
	cmd := exec.Command(filepath.Join(binDir, "caseflow"), "case", "import", "-", "--format", "jsonl", "--model", "clinical", "--manager", "cm-di", "--output", "json")
	cmd.Dir, cmd.Env = root, e.environ()
	cmd.Stdin = strings.NewReader(`{"patient_ref": "MEM-100", "program": "chronic-care", "source": "claims"}` + "\n")
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, 1, decodeSummary(t, string(out), "").AlreadyExisted)
}

func TestImportStopsWhenTemporalRefusesEveryCase(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString(candidateHeader)
	for i := range 100 {
		fmt.Fprintf(&b, "MRN-NS-%03d,complex-case,referral,clinical,cm-ana,,,\n", i)
	}
	r := e.cliEnv([]string{"TEMPORAL_NAMESPACE=no-such-namespace"}, "case", "import", writeFile(t, "c.csv", b.String()),
		"--rate", "0", "--concurrency", "2", "--timeout", "5s", "--output", "json")
	require.Equal(t, 1, r.code, r.stderr)
	sum := decodeSummary(t, r.stdout, r.stderr)
	require.GreaterOrEqual(t, sum.Failed, 10)
	require.Equal(t, 100, sum.Failed+sum.NotStarted)
	require.Greater(t, sum.NotStarted, 50, "it stops instead of failing every row")
	require.Contains(t, sum.Stopped, "stopped after 10 cases in a row failed")
	require.Contains(t, sum.Failures[0].Error, "no-such-namespace")
	require.NotEmpty(t, sum.Failures[0].CaseID)
	require.Contains(t, r.stderr, "caseflow: import stopped after 10 cases in a row failed")
	require.Zero(t, e.count(`SELECT count(*) FROM cases`))
}
