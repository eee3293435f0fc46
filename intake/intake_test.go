package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
)

// fakeOpener opens every case: program "no-policy" has no policy, patient
// MRN-EXISTS was opened before, MRN-FAIL fails to start, MRN-OTHER is a
// known patient with other demographics.
type fakeOpener struct {
	mu         sync.Mutex
	opened     []string
	registered []string
}

func (f *fakeOpener) CheckProgram(_ context.Context, program string) error {
	if program == "no-policy" {
		return care.Invalidf("--program", "%q has no policy in force", program)
	}
	return nil
}

func (f *fakeOpener) Register(_ context.Context, c ToOpen) (ToOpen, error) {
	if c.PatientRef == "MRN-OTHER" {
		return c, care.Invalidf("patient-ref", "MRN-OTHER is a known patient with another name")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, c.PatientRef)
	c.Case.PatientID = "p-" + strings.ToLower(c.PatientRef)
	return c, nil
}

func (f *fakeOpener) Start(_ context.Context, c ToOpen) (Opened, error) {
	if c.Case.PatientID == "" {
		return Opened{}, errors.New("started before it was registered")
	}
	id := "c-" + strings.ToLower(c.PatientRef)
	switch c.PatientRef {
	case "MRN-EXISTS":
		return Opened{CaseID: id, Existed: true}, nil
	case "MRN-FAIL":
		return Opened{CaseID: id}, errors.New("temporal said no")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, c.PatientRef)
	return Opened{CaseID: id}, nil
}

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func options() Options {
	return Options{Concurrency: 2, Progress: "none", Actor: "cm-ana", Timeout: time.Second}
}

func TestABatchOpensTheValidRowsAndSumsUp(t *testing.T) {
	file := write(t, "c.csv", `patient_ref,program,source,model,manager,priority
MRN-1,complex-case,referral,clinical,cm-ana,
MRN-2,complex-case,fax,clinical,cm-ana,
MRN-EXISTS,complex-case,claims,clinical,cm-ana,urgent
MRN-3,no-policy,claims,clinical,cm-ana,
MRN-1,complex-case,referral,clinical,cm-ana,
MRN-FAIL,complex-case,adt,clinical,cm-ana,
`)
	b, err := Load(file, options())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Pending() {
		t.Fatal("nothing pending")
	}
	op := &fakeOpener{}
	if err := b.CheckPrograms(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	b.Run(context.Background(), op)
	sum := b.Summary
	if sum.Rows != 6 || sum.Opened != 1 || sum.AlreadyExisted != 1 || sum.Failed != 1 || sum.InvalidRows != 2 || sum.DuplicateRows != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if len(sum.Failures) != 1 || sum.Failures[0].CaseID != "c-mrn-fail" {
		t.Fatalf("failures %+v", sum.Failures)
	}
	if err := sum.Err(); err == nil || care.KindOf(err) != care.KindInternal {
		t.Fatalf("Err() = %v, want an error of kind internal", err)
	}
}

func TestStrictStartsNothingAndDryRunConnectsToNothing(t *testing.T) {
	file := write(t, "c.jsonl", `{"patient_ref": "MRN-1", "program": "complex-case", "source": "referral", "model": "clinical", "manager": "cm-ana"}
{"patient_ref": "MRN-2", "program": "complex-case", "source": "fax", "model": "clinical", "manager": "cm-ana"}
`)
	o := options()
	o.Strict = true
	b, err := Load(file, o)
	if err != nil {
		t.Fatal(err)
	}
	if b.Pending() || b.Summary.NotStarted != 1 || b.Summary.Err() == nil {
		t.Fatalf("strict: pending %v, summary %+v", b.Pending(), b.Summary)
	}
	o = options()
	o.DryRun = true
	b, err = Load(file, o)
	if err != nil {
		t.Fatal(err)
	}
	if b.Pending() || b.Summary.ToOpen != 1 || b.Summary.NotStarted != 0 {
		t.Fatalf("dry run: pending %v, summary %+v", b.Pending(), b.Summary)
	}
}

func TestARefusedFileOrBadOptionIsInvalid(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		opts func(*Options)
		kind care.ErrorKind
	}{
		"bad concurrency": {write(t, "c.csv", "patient_ref,program,source,model,manager\n"), func(o *Options) { o.Concurrency = 0 }, care.KindInvalid},
		"unknown format":  {write(t, "c.txt", "x"), func(*Options) {}, care.KindInvalid},
		"no header":       {write(t, "c.csv", "MRN-1,complex-case,referral,clinical,cm-ana\n"), func(*Options) {}, care.KindInternal},
	} {
		o := options()
		tc.opts(&o)
		_, err := Load(tc.file, o)
		if err == nil || care.KindOf(err) != tc.kind {
			t.Errorf("%s: Load = %v (kind %s), want kind %s", name, err, care.KindOf(err), tc.kind)
		}
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	_, problems := Check(Request{Model: "hands-off", Source: "fax", Manager: "Ana Lopez"}, "cm-ana")
	var fields []string
	for _, p := range problems {
		var v *care.ValidationError
		if !errors.As(p, &v) {
			t.Fatalf("%v is not a validation error", p)
		}
		fields = append(fields, v.Field)
	}
	want := "patient-ref model source program manager"
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("fields %q, want %q", got, want)
	}
}

func TestABirthDateInTheFutureOrBefore1900IsRefused(t *testing.T) {
	for _, d := range []string{"2999-01-01", "1899-12-31"} {
		_, problems := Check(Request{PatientRef: "MRN-1", BirthDate: d, Program: "demo", Model: "clinical",
			Source: "referral", Manager: "cm-ana"}, "cm-ana")
		var v *care.ValidationError
		if len(problems) != 1 || !errors.As(problems[0], &v) || v.Field != "birth-date" {
			t.Fatalf("%s: problems %v, want one about birth-date", d, problems)
		}
	}
}

// The import registers each row's patient before its case starts, one row
// at a time in file order, and a row its registration refuses is invalid
// and never started.
func TestRowsAreRegisteredInFileOrderBeforeTheyStart(t *testing.T) {
	file := write(t, "c.csv", `patient_ref,program,source,model,manager
MRN-1,complex-case,referral,clinical,cm-ana
MRN-OTHER,complex-case,referral,clinical,cm-ana
MRN-2,complex-case,referral,clinical,cm-ana
MRN-3,complex-case,referral,clinical,cm-ana
`)
	opts := options()
	opts.Concurrency = 4
	sum, op := importFile(t, file, opts)
	if sum.Opened != 3 || sum.InvalidRows != 1 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if got := strings.Join(op.registered, ","); got != "MRN-1,MRN-2,MRN-3" {
		t.Fatalf("registered %s, want MRN-1,MRN-2,MRN-3 in file order", got)
	}
	if len(sum.Invalid) != 1 || sum.Invalid[0].Line != 3 || !strings.Contains(sum.Invalid[0].Problem, "known patient with another name") {
		t.Fatalf("invalid %+v", sum.Invalid)
	}
	for _, ref := range op.opened {
		if ref == "MRN-OTHER" {
			t.Fatal("a row refused at registration was started")
		}
	}
}

// --strict with a row found invalid only as it is opened (registration
// refuses it: a manager not registered, a known patient with other
// demographics): the cases started before it stay open, no more start, and
// the summary says so instead of "no case was started".
func TestStrictWithARowRefusedWhenOpenedStopsAndSaysWhatStarted(t *testing.T) {
	file := write(t, "c.csv", `patient_ref,program,source,model,manager
MRN-1,complex-case,referral,clinical,cm-ana
MRN-OTHER,complex-case,referral,clinical,cm-ana
MRN-2,complex-case,referral,clinical,cm-ana
`)
	o := options()
	o.Strict = true
	o.Concurrency = 1
	sum, op := importFile(t, file, o)
	var out strings.Builder
	sum.Print(&out)
	msg := sum.Err().Error()
	if len(op.opened) != 1 || sum.Opened != 1 || sum.NotStarted != 1 || sum.InvalidRows != 1 {
		t.Fatalf("opened %v; summary %+v", op.opened, sum)
	}
	if strings.Contains(msg, "no case was started") || strings.Contains(out.String(), "no case was started") || !strings.Contains(msg, "--strict") {
		t.Errorf("Err %q; printed:\n%s", msg, out.String())
	}
}

// importFile reads file, checks its programs and runs it through a
// fakeOpener, as case import does.
func importFile(t *testing.T, file string, o Options) (*Summary, *fakeOpener) {
	t.Helper()
	b, err := Load(file, o)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOpener{}
	if err := b.CheckPrograms(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	b.Run(context.Background(), op)
	return b.Summary, op
}
