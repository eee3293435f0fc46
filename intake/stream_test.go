package intake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tricky has a row of every kind checkRows tells apart: duplicates (one of
// them urgent), conflicting rows for the same case and for the same
// patient, rows invalid on their own, a blank row, a program without a
// policy, a case that exists and one that fails.
const tricky = `patient_ref,program,source,model,manager,priority,name,birth_date
MRN-1,complex-case,referral,clinical,cm-ana,,Ann Lee,1980-01-01
MRN-2,complex-case,referral,,cm-ana,urgent,,
MRN-1,complex-case,referral,clinical,cm-ana,urgent,,
MRN-3,complex-case,referral,clinical,cm-ana,,,
MRN-3,complex-case,adt,clinical,cm-bo,,,
MRN-4,complex-case,referral,clinical,cm-ana,,Bo,
MRN-4,chronic-care,referral,clinical,cm-ana,,Bob,
MRN-5,complex-case,nope,clinical,cm-ana,,,
MRN-5,complex-case,referral,clinical,cm-ana,,,
MRN-6,no-policy,claims,clinical,cm-ana,,,
MRN-7,complex-case,claims,clinical,cm-ana,urgent,,
,,,,,,,
MRN-8,complex-case,claims,clinical,cm-ana,,,1980-02-30
MRN-9,complex-case,referral,clinical,cm-ana,,,
MRN-9,complex-case,referral,clinical,cm-ana,,,1970-01-01
MRN-9,chronic-care,referral,clinical,cm-ana,,,1971-01-01
MRN-EXISTS,complex-case,claims,clinical,cm-ana,,,
MRN-FAIL,complex-case,adt,clinical,cm-ana,urgent,,
MRN-10,no-policy,claims,clinical,cm-ana,urgent,,
MRN-11,complex-case,claims,,,routine,,
`

// runTricky imports tricky (as CSV and as JSON lines) one case at a time
// and returns the summary as JSON and the order the cases were opened in.
func runTricky(t *testing.T, jsonl bool, change func(*Options)) (string, string) {
	t.Helper()
	body, name := tricky, "t.csv"
	if jsonl {
		name = "t.jsonl"
		lines := strings.Split(strings.TrimSpace(tricky), "\n")
		header := strings.Split(lines[0], ",")
		var b strings.Builder
		for _, l := range lines[1:] {
			obj := map[string]string{}
			for i, v := range strings.Split(l, ",") {
				if v != "" {
					obj[header[i]] = v
				}
			}
			if len(obj) == 0 {
				b.WriteString("\n")
				continue
			}
			j, _ := json.Marshal(obj)
			b.Write(j)
			b.WriteString("\n")
		}
		body = b.String()
	}
	o := options()
	o.Concurrency = 1
	o.Model = "clinical"
	change(&o)
	b, err := Load(write(t, name, body), o)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	if b.Pending() {
		if err := b.CheckPrograms(context.Background(), op); err != nil {
			t.Fatal(err)
		}
	}
	if b.Pending() {
		b.Run(context.Background(), op)
	}
	b.Summary.File = ""
	b.Summary.DurationSeconds, b.Summary.CasesPerSecond = 0, 0
	j, _ := json.Marshal(b.Summary)
	return string(j), strings.Join(op.opened, " ")
}

func TestTrickyGolden(t *testing.T) {
	out := map[string]string{}
	for _, jsonl := range []bool{false, true} {
		for mode, change := range map[string]func(*Options){
			"plain":  func(*Options) {},
			"dryrun": func(o *Options) { o.DryRun = true },
			"strict": func(o *Options) { o.Strict = true },
			"nomgr":  func(o *Options) { o.Manager = "cm-zed" },
		} {
			s, order := runTricky(t, jsonl, change)
			k := mode
			if jsonl {
				k += "-jsonl"
			}
			out[k] = s
			out[k+"-order"] = order
		}
	}
	j, _ := json.MarshalIndent(out, "", "  ")
	_, file, _, _ := runtime.Caller(0)
	if p := os.Getenv("GOLDEN_OUT"); p != "" {
		os.WriteFile(p, j, 0o644)
		return
	}
	want, err := os.ReadFile(filepath.Join(filepath.Dir(file), "testdata", "tricky-golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(j) {
		t.Fatalf("got\n%s\nwant\n%s", j, want)
	}
}

func TestRefusedFilesGolden(t *testing.T) {
	out := map[string]string{}
	for name, body := range map[string]string{
		"empty.csv":      "",
		"spaces.csv":     " \n\t\n",
		"bom.csv":        "\xef\xbb\xbfpatient_ref,program,source,model,manager\nMRN-1,complex-case,referral,clinical,cm-ana\n",
		"latin1.csv":     "patient_ref,program,source,model,manager,name\nMRN-1,complex-case,referral,clinical,cm-ana,Jos\xe9\n",
		"latin1b.jsonl":  "{\"patient_ref\": \"MRN-1\"}\n{\"name\": \"ab\xff\"}\n",
		"fields.csv":     "patient_ref,program,source,model,manager\nMRN-1,complex-case\nMRN-2,complex-case,referral,clinical,cm-ana,x\nMRN-3,complex-case,referral,clinical,cm-ana\n",
		"quote.csv":      "patient_ref,program,source,model,manager,name\nMRN-1,complex-case,referral,clinical,cm-ana,Jo \"JJ\" Doe\n",
		"header.csv":     "patient_ref,program,,program,colour\n",
		"noheader.csv":   "MRN-1,complex-case,referral\n",
		"nomodel.csv":    "patient_ref,program,source\nMRN-1,complex-case,referral\n",
		"bad.jsonl":      "{\"patient_ref\": \"MRN-1\", \"program\": \"complex-case\", \"source\": \"referral\"}\n[1]\n{\"patient_ref\": \"MRN-2\", \"x\": \"y\"}\n{\"patient_ref\": 5}\n{\"patient_ref\": \"MRN-3\"\n{} {}\n",
		"many.csv":       "patient_ref,program,source,model,manager\n" + strings.Repeat("MRN-1,x\n", 12),
		"headeronly.csv": "patient_ref,program,source,model,manager\n",
		"crlf.csv":       "patient_ref,program,source,model,manager\r\nMRN-1,complex-case,referral,clinical,cm-ana\r\n\r\nMRN-2,complex-case,referral,clinical,cm-ana",
		"multiline.csv":  "patient_ref,program,source,model,manager,name\nMRN-1,complex-case,referral,clinical,cm-ana,\"Ann\nLee\"\nMRN-2,complex-case,referral,,cm-ana,\n",
		"numbers.jsonl":  "\n\n{\"patient_ref\": \"MRN-1\", \"program\": \"complex-case\", \"source\": \"referral\", \"model\": \"clinical\", \"manager\": \"cm-ana\", \"name\": null, \"birth_date\": 19800101}\n",
		"bomjsonl.jsonl": "\xef\xbb\xbf{\"patient_ref\": \"MRN-1\", \"program\": \"complex-case\", \"source\": \"referral\", \"model\": \"clinical\", \"manager\": \"cm-ana\"}\n",
	} {
		o := options()
		o.DryRun = true
		b, err := Load(write(t, name, body), o)
		if err != nil {
			out[name] = "error: " + strings.ReplaceAll(err.Error(), filepath.Dir(filepath.Dir(err.Error())), "")
			if i := strings.Index(err.Error(), name); i >= 0 {
				out[name] = "error: " + err.Error()[i:]
			}
			continue
		}
		b.Summary.File = ""
		j, _ := json.Marshal(b.Summary)
		out[name] = string(j)
	}
	j, _ := json.MarshalIndent(out, "", "  ")
	if p := os.Getenv("GOLDEN_OUT"); p != "" {
		os.WriteFile(p, j, 0o644)
		return
	}
	_, file, _, _ := runtime.Caller(0)
	want, err := os.ReadFile(filepath.Join(filepath.Dir(file), "testdata", "refused-golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(j) {
		t.Fatalf("got\n%s\nwant\n%s", j, want)
	}
}

// TestStandardInputIsReadLikeAFile: "-" is copied aside and read as often
// as a file is, with the same answers.
func TestStandardInputIsReadLikeAFile(t *testing.T) {
	fromFile, fileOrder := runTricky(t, false, func(*Options) {})
	o := options()
	o.Concurrency, o.Model, o.Format = 1, "clinical", "csv"
	o.Stdin = strings.NewReader(tricky)
	b, err := Load("-", o)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	if err := b.CheckPrograms(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	b.Run(context.Background(), op)
	b.Summary.File = ""
	b.Summary.DurationSeconds, b.Summary.CasesPerSecond = 0, 0
	j, _ := json.Marshal(b.Summary)
	if string(j) != fromFile || strings.Join(op.opened, " ") != fileOrder {
		t.Fatalf("stdin:\n%s\n%s\nfile:\n%s\n%s", j, strings.Join(op.opened, " "), fromFile, fileOrder)
	}
	if fileOrder != "MRN-1 MRN-2 MRN-7 MRN-5" {
		t.Fatalf("opened in the order %q: urgent rows first, then file order", fileOrder)
	}
}

// TestWriteJSONIsTheEncodersOutput: the summary streamed a case at a time is
// byte for byte what "--output json" printed when it encoded it whole.
func TestWriteJSONIsTheEncodersOutput(t *testing.T) {
	for _, change := range []func(*Options){func(*Options) {}, func(o *Options) { o.DryRun = true }} {
		o := options()
		o.Model = "clinical"
		change(&o)
		b, err := Load(write(t, "t.csv", tricky), o)
		if err != nil {
			t.Fatal(err)
		}
		op := &fakeOpener{}
		if b.Pending() {
			if err := b.CheckPrograms(context.Background(), op); err != nil {
				t.Fatal(err)
			}
			b.Run(context.Background(), op)
		}
		var want, got strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b.Summary); err != nil {
			t.Fatal(err)
		}
		if err := b.Summary.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("WriteJSON:\n%s\nencoder:\n%s", got.String(), want.String())
		}
		var back Summary
		if err := json.Unmarshal([]byte(got.String()), &back); err != nil {
			t.Fatal(err)
		}
		n := 0
		b.Summary.EachCase(func(ImportedCase) { n++ })
		if len(back.Cases) != n || (!o.DryRun && n != back.Opened+back.AlreadyExisted) {
			t.Fatalf("decoded %d cases, the run has %d (opened %d, existed %d)", len(back.Cases), n, back.Opened, back.AlreadyExisted)
		}
	}
}

// TestARowChangedAfterTheCheckIsNotStarted: Run reads the file again, and a
// row that is not the one Load checked is reported, not opened.
func TestARowChangedAfterTheCheckIsNotStarted(t *testing.T) {
	path := write(t, "c.csv", "patient_ref,program,source,model,manager\nMRN-1,complex-case,referral,clinical,cm-ana\nMRN-2,complex-case,referral,clinical,cm-ana\n")
	b, err := Load(path, options())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("patient_ref,program,source,model,manager\nMRN-1,complex-case,referral,clinical,cm-ana\nMRN-9,complex-case,referral,clinical,cm-ana\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	b.Run(context.Background(), op)
	sum := b.Summary
	if sum.Opened != 1 || sum.Failed != 1 || len(sum.Failures) != 1 || sum.Failures[0].Line != 3 || !strings.Contains(sum.Failures[0].Error, "the file changed") {
		t.Fatalf("summary %+v", sum)
	}
	if strings.Join(op.opened, " ") != "MRN-1" {
		t.Fatalf("opened %v", op.opened)
	}
}
