package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/import.md, Exit status: 1 for anything else, "the file was refused,
// or a flag was wrong", and case import keeps stdout for its summary: a
// flag cobra cannot parse, an unknown one and a global one out of range are
// all 1 with nothing on stdout (before: 2 and a JSON error object).
func TestImportWithABadFlagExitsOneAndKeepsStdout(t *testing.T) {
	offline(t)
	file := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(file, []byte("patient_ref,program,source,model,manager\nMRN-1,complex-case,referral,clinical,cm-ana\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"case", "import", file, "--concurrency", "0", "--output", "json"},
		{"case", "import", file, "--concurrency", "many", "--output", "json"},
		{"case", "import", file, "--modle", "clinical", "--output", "json"},
		{"case", "import", file, "--timeout", "0", "--output", "json"},
	} {
		code, stdout, stderr := run(t, args...)
		t.Logf("%v: exit %d, stdout %q, stderr %q", args[3:], code, stdout, stderr)
		if code != 1 || stdout != "" {
			t.Errorf("caseflow %s: exit %d, stdout %q; want 1 and nothing on stdout (docs/import.md)", strings.Join(args, " "), code, stdout)
		}
	}
}

// "--output json prints only JSON on stdout": codec-server token too
// (before: the bare token, and with --file an English sentence).
func TestCodecServerTokenWithJSONOutputPrintsJSON(t *testing.T) {
	offline(t)
	for _, args := range [][]string{
		{"codec-server", "token", "--output", "json"},
		{"codec-server", "token", "--file", filepath.Join(t.TempDir(), "tok"), "--output", "json"},
	} {
		code, stdout, _ := run(t, args...)
		var v any
		if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil {
			t.Errorf("caseflow %s: exit %d, stdout %q is not JSON (%v)", strings.Join(args, " "), code, stdout, err)
		}
	}
}

// keys generate rotates the key file, but every binary reads
// CASEFLOW_CODEC_KEYS first: with it set, the new key would not be used,
// and the command says so (on stderr; stdout stays its answer).
func TestKeysGenerateWarnsWhenTheEnvironmentsKeysWin(t *testing.T) {
	offline(t)
	file := filepath.Join(t.TempDir(), "codec.keys")
	code, stdout, stderr := run(t, "keys", "generate", "--file", file, "--id", "k2", "--output", "json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v["primary"] != "k2" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if !strings.Contains(stderr, "CASEFLOW_CODEC_KEYS is set") {
		t.Errorf("stderr %q", stderr)
	}
	t.Setenv("CASEFLOW_CODEC_KEYS", "")
	if _, _, stderr := run(t, "keys", "generate", "--file", file, "--id", "k3"); strings.Contains(stderr, "warning") {
		t.Errorf("no variable, no warning: %q", stderr)
	}
}
