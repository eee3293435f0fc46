package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/intake"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

// startless is the real opener (PostgreSQL registration, staff and policy
// checks) with a Start that starts nothing: no Temporal needed.
type startless struct {
	opener
	started []string
}

func (s *startless) Start(_ context.Context, c intake.ToOpen) (intake.Opened, error) {
	s.started = append(s.started, c.PatientRef+"/"+c.Case.Program)
	return intake.Opened{CaseID: c.Case.ID}, nil
}

func registeringOpener(t *testing.T) (*startless, *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := postgres.Open(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.AddStaff(ctx, "cm-ana"); err != nil {
		t.Fatal(err)
	}
	a := &app{actor: "cm-ana", timeout: 5 * time.Second, errOut: io.Discard,
		policies: map[string]care.Policy{"complex-case": {Program: "complex-case", Version: 1}, "chronic-care": {Program: "chronic-care", Version: 1}}}
	return &startless{opener: opener{a: a, store: store}}, store
}

func importFile(t *testing.T, op intake.Opener, body string) *intake.Summary {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := intake.Load(file, intake.Options{Concurrency: 1, Progress: "none", Actor: "cm-ana", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckPrograms(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	b.Run(context.Background(), op)
	return b.Summary
}

// docs/import.md: rows for the same patient in different programs "must
// agree on name and birth_date where both give one", so a row without a
// name and a row with one agree, and both are opened: the first registers
// the patient without a name, the second fills it in (audited). Before, the
// second was refused as "a known patient with another name", with a fix
// (--update-patient) that case import does not have, on every rerun.
func TestSamePatientOneRowWithoutNameOpensBothPrograms(t *testing.T) {
	op, store := registeringOpener(t)
	file := "patient_ref,program,source,model,manager,name\n" +
		"MRN-7,complex-case,referral,clinical,cm-ana,\n" +
		"MRN-7,chronic-care,referral,clinical,cm-ana,River Quinn\n"
	sum := importFile(t, op, file)
	t.Logf("started %v, invalid %+v", op.started, sum.Invalid)
	if sum.InvalidRows != 0 || len(op.started) != 2 {
		t.Fatalf("a file the checks accept as consistent: started %v, invalid %+v", op.started, sum.Invalid)
	}
	p, err := store.PatientByRef(context.Background(), "MRN-7")
	if err != nil || p.Name == nil || *p.Name != "River Quinn" {
		t.Fatalf("the name is filled in: %+v %v", p, err)
	}
	var audited int
	if err := store.DB().QueryRow(`SELECT count(*) FROM patient_updates WHERE patient_id = $1 AND actor = 'cm-ana' AND fields = 'name'`, p.ID).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("the fill-in is audited once: %d %v", audited, err)
	}
	// And the same file again finds both.
	sum = importFile(t, op, file)
	if sum.InvalidRows != 0 {
		t.Fatalf("rerun: invalid %+v", sum.Invalid)
	}
}

// Rows for the same case are duplicates when they agree; the one that
// gives the patient's name and birth date, where the first gave none,
// opens the case, so the patient is registered with them (before: the
// first row opened it, and the name was dropped).
func TestDuplicateRowsKeepThePatientsName(t *testing.T) {
	op, store := registeringOpener(t)
	sum := importFile(t, op, "patient_ref,program,source,model,manager,name,birth_date\n"+
		"MRN-8,complex-case,referral,clinical,cm-ana,,\n"+
		"MRN-8,complex-case,referral,clinical,cm-ana,Ada Moss,1950-02-03\n")
	p, err := store.PatientByRef(context.Background(), "MRN-8")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("duplicates %+v, invalid %+v, name %v, birth date %v", sum.Duplicates, sum.Invalid, p.Name, p.BirthDate)
	if sum.DuplicateRows == 1 && (p.Name == nil || p.BirthDate == nil) {
		t.Fatalf("line 3 reported as a duplicate of line 2, but its name/birth date were lost: name %v, birth date %v", p.Name, p.BirthDate)
	}
}
