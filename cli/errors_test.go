package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testkeys"
)

func TestEachKindHasItsExitCode(t *testing.T) {
	want := map[care.ErrorKind]int{
		care.KindInvalid: 2, care.KindNotFound: 3, care.KindNotAllowed: 4, care.KindConflict: 4,
		care.KindUnavailable: 5, care.KindInternal: 1,
	}
	for _, kind := range care.ErrorKinds {
		code, ok := want[kind]
		if !ok {
			t.Fatalf("kind %s has no documented exit code", kind)
		}
		err := fmt.Errorf("wrapped: %w", care.Errorf(kind, "something"))
		if got := exitCode(err); got != code {
			t.Errorf("exitCode(%s) = %d, want %d", kind, got, code)
		}
	}
	for name, tc := range map[string]struct {
		err  error
		code int
	}{
		"nil":               {nil, 0},
		"plain":             {errors.New("boom"), 1},
		"validation":        {care.Invalidf("--risk", "unknown value"), 2},
		"deadline":          {fmt.Errorf("worklist: %w", context.DeadlineExceeded), 5},
		"import keeps 1":    {importFailed{care.Invalidf("--rate", "must be 0 or more")}, 1},
		"usage":             {usage(errors.New("accepts 1 arg(s), received 2")), 2},
		"usage keeps kinds": {usage(care.NotFoundf("no such case")), 3},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("%s: exitCode(%v) = %d, want %d", name, tc.err, got, tc.code)
		}
	}
}

// run runs the command line with args and returns its exit code, stdout and
// stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestErrorsThatNeedNoServiceExitWithTheirKind(t *testing.T) {
	t.Setenv("CASEFLOW_CODEC_KEYS", testkeys.Spec)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/caseflow?sslmode=disable")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"frobnicate"}, 2},
		{[]string{"case", "frobnicate"}, 2},
		{[]string{"policy", "frobnicate", "x"}, 2},
		{[]string{"case", "list", "--no-such-flag"}, 2},
		{[]string{"case", "show"}, 2},
		{[]string{"case", "show", "a", "b"}, 2},
		{[]string{"case", "stratify", "c-1", "--category", "huge"}, 2},
		{[]string{"case", "list", "--output", "yaml"}, 2},
		{[]string{"case", "plan", "c-1", "--file", "/no/such/plan.json"}, 2},
		{[]string{"case", "show", "c-1", "--timeout", "3s"}, 5},
		{[]string{"worklist", "--timeout", "3s"}, 5},
		{[]string{"case", "import", "no-such-file.csv"}, 1},
	} {
		code, stdout, stderr := run(t, tc.args...)
		if code != tc.code {
			t.Errorf("caseflow %s: exit %d, want %d (stderr %q)", strings.Join(tc.args, " "), code, tc.code, stderr)
		}
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "caseflow: ") {
			t.Errorf("caseflow %s: want one line on stderr and nothing on stdout, got %q and %q", strings.Join(tc.args, " "), stdout, stderr)
		}
	}
}

func TestAGroupWithoutASubcommandPrintsItsHelp(t *testing.T) {
	code, stdout, _ := run(t, "case")
	if code != 0 || !strings.Contains(stdout, "Available Commands") {
		t.Fatalf("caseflow case: exit %d, stdout %q", code, stdout)
	}
}

func TestWithJSONOutputAnErrorIsAJSONObjectOnStdout(t *testing.T) {
	t.Setenv("CASEFLOW_CODEC_KEYS", testkeys.Spec)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, tc := range []struct {
		args []string
		code int
		kind care.ErrorKind
	}{
		{[]string{"case", "close", "c-1", "--reason", "bored"}, 2, care.KindInvalid},
		{[]string{"case", "frobnicate"}, 2, care.KindInvalid},
		{[]string{"case", "list", "--no-such-flag"}, 2, care.KindInvalid},
		{[]string{"case", "show", "c-1", "--timeout", "3s"}, 5, care.KindUnavailable},
	} {
		args := append(tc.args, "--output", "json")
		code, stdout, stderr := run(t, args...)
		var obj struct {
			Error struct {
				Code    int            `json:"code"`
				Kind    care.ErrorKind `json:"kind"`
				Message string         `json:"message"`
			} `json:"error"`
		}
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&obj); err != nil || dec.More() {
			t.Fatalf("caseflow %s: stdout is not one JSON error object: %q (%v)", strings.Join(args, " "), stdout, err)
		}
		if code != tc.code || obj.Error.Code != tc.code || obj.Error.Kind != tc.kind || obj.Error.Message == "" {
			t.Errorf("caseflow %s: exit %d, object %+v; want code %d kind %s", strings.Join(args, " "), code, obj.Error, tc.code, tc.kind)
		}
		if stderr != "caseflow: "+obj.Error.Message+"\n" {
			t.Errorf("caseflow %s: stderr %q, want the message on one line", strings.Join(args, " "), stderr)
		}
	}
	// -o json before the unknown flag, and --output table after it, count too.
	if _, stdout, _ := run(t, "case", "list", "-ojson", "--no-such-flag"); !strings.HasPrefix(stdout, "{") {
		t.Errorf("-ojson: stdout %q, want the error object", stdout)
	}
	if _, stdout, _ := run(t, "case", "list", "--output=json", "--no-such-flag", "--output", "table"); stdout != "" {
		t.Errorf("--output table last: stdout %q, want nothing", stdout)
	}

	// case import keeps stdout for its summary.
	code, stdout, _ := run(t, "case", "import", "no-such-file.csv", "--output", "json")
	if code != 1 || stdout != "" {
		t.Errorf("case import: exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
}
