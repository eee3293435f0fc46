package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

// exportStore opens a fresh migrated database and points DATABASE_URL at it.
func exportStore(t *testing.T) *postgres.Store {
	t.Helper()
	dsn := testdb.New(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("CASEFLOW_ACTOR", "cm-ana")
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var exportT0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// exportCase registers a patient and records the case's opening step.
func exportCase(t *testing.T, s *postgres.Store, ref, name string) (patientID, caseID string) {
	t.Helper()
	pid, err := s.UpsertPatient(context.Background(), ref, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	cid := care.CaseID(pid, "chf")
	snap := care.Snapshot{CaseID: cid, PatientID: pid, Program: "chf", Model: care.ModelClinical, Manager: "cm-ana",
		Source: care.SourceReferral, Phase: care.PhaseScreening, OpenedAt: exportT0, LastEventSeq: 1}
	ev := care.Event{CaseID: cid, Seq: 1, At: exportT0.Add(time.Hour), Actor: "cm-ana", Action: "opened",
		PhaseBefore: care.PhaseScreening, PhaseAfter: care.PhaseScreening, Summary: "opened"}
	if err := s.RecordStep(context.Background(), care.Step{Event: ev, Snapshot: snap}, "run-1"); err != nil {
		t.Fatal(err)
	}
	return pid, cid
}

// backdate puts every change time of the case (and its patient) in the past.
func backdate(t *testing.T, s *postgres.Store, caseID string) {
	t.Helper()
	for _, q := range []string{
		`UPDATE cases SET updated_at = '2026-01-01' WHERE case_id = $1`,
		`UPDATE case_events SET recorded_at = '2026-01-01' WHERE case_id = $1`,
		`UPDATE patients SET updated_at = '2026-01-01' WHERE patient_id = (SELECT patient_id FROM cases WHERE case_id = $1)`,
		`UPDATE tasks SET updated_at = '2026-01-01' WHERE case_id = $1`,
		`UPDATE case_services SET updated_at = '2026-01-01' WHERE case_id = $1`,
	} {
		if _, err := s.DB().ExecContext(context.Background(), q, caseID); err != nil {
			t.Fatal(err)
		}
	}
}

func readExportNDJSON(t *testing.T, file string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func readManifest(t *testing.T, dir string) fhir.Manifest {
	t.Helper()
	var m fhir.Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// noTemporaries fails if the export left a temporary file in dir.
func noTemporaries(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// "case open --update-patient" corrects a known patient's name (the case
// exists, so no step is recorded): the next "export --since" carries the
// corrected Patient.
func TestExportSinceIncludesACorrectedPatient(t *testing.T) {
	s := exportStore(t)
	ctx := context.Background()
	pid, cid := exportCase(t, s, "MRN-NAME", "River Quin")
	backdate(t, s, cid)
	since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if err := s.UpdatePatient(ctx, pid, "cm-ana", "River Quinn", nil, []string{"name"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := run(t, "export", "--since", since, "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	ps := readExportNDJSON(t, filepath.Join(dir, "Patient.ndjson"))
	if len(ps) != 1 || !strings.Contains(mustJSON(t, ps[0]), "Quinn") {
		t.Fatalf("patient %s (case %s) renamed after --since, exported %v: %s", pid, cid, ps, out)
	}
}

// The coordination activity saves a case's services before (and apart from)
// the step that records them: the services' own time makes the case changed.
func TestExportSinceIncludesServicesSavedOutsideAStep(t *testing.T) {
	s := exportStore(t)
	_, cid := exportCase(t, s, "MRN-SERVICES", "River Quinn")
	backdate(t, s, cid)
	since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if err := s.SaveServices(context.Background(), cid, []care.ServiceState{{
		Service: care.Service{ID: "svc-1", Code: "home-health", Name: "Home health", Frequency: "weekly"},
		Status:  care.ServiceReadyToBook}}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if code, out, errOut := run(t, "export", "--since", since, "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if len(readExportNDJSON(t, filepath.Join(dir, "ServiceRequest.ndjson"))) != 1 {
		t.Fatal("a service saved after --since is not exported")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An export that fails part-way (here: a file it cannot replace) exits 2
// naming --dir, writes no manifest.json and leaves no temporary file.
func TestFailedExportLeavesNoManifest(t *testing.T) {
	s := exportStore(t)
	exportCase(t, s, "MRN-FAIL", "River Quinn")
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(filepath.Join(dir, "EpisodeOfCare.ndjson"), 0o700); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir, "--output", "json")
	if code != 2 || !strings.Contains(errOut, "--dir") {
		t.Fatalf("exit %d, stderr %q, want 2 naming --dir", code, errOut)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(out), &e); err != nil || e["error"] == nil {
		t.Fatalf("--output json: stdout is not one JSON error: %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
		t.Fatalf("exit %d (%s), yet manifest.json written:\n%s", code, strings.TrimSpace(errOut), b)
	}
	if _, err := os.Stat(filepath.Join(dir, "Patient.ndjson")); err == nil {
		t.Fatal("a failed export put Patient.ndjson in place")
	}
	noTemporaries(t, dir)
}

// An export that fails while reading the database (here: --timeout passes
// on a case's appointments) leaves the earlier export as it was: its
// manifest and files, unchanged.
func TestFailedExportLeavesTheEarlierExport(t *testing.T) {
	s := exportStore(t)
	ctx := context.Background()
	exportCase(t, s, "MRN-EARLIER", "River Quinn")
	dir := filepath.Join(t.TempDir(), "out")
	if code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	before, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	patients, _ := os.ReadFile(filepath.Join(dir, "Patient.ndjson"))
	exportCase(t, s, "MRN-LATER", "Sky Quinn")
	lock, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE providers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir, "--timeout", "1s")
	if code == 0 {
		t.Fatal("export succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if string(after) != string(before) {
		t.Fatalf("exit %d (%s): manifest.json changed:\n%s", code, strings.TrimSpace(errOut), after)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "Patient.ndjson")); string(now) != string(patients) {
		t.Fatalf("a failed export changed Patient.ndjson:\n%s", now)
	}
	noTemporaries(t, dir)
}

// The help says the files are 0600 (PHI), also a file that existed before
// with another mode (an earlier export, a file touched by a script).
func TestExportFilesAre0600EvenWhenTheyExisted(t *testing.T) {
	s := exportStore(t)
	_, cid := exportCase(t, s, "MRN-MODE", "River Quinn")
	tmp := t.TempDir()
	bundle := filepath.Join(tmp, "river.fhir.json")
	dir := filepath.Join(tmp, "out")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := []string{bundle, filepath.Join(dir, "Patient.ndjson"), filepath.Join(dir, "manifest.json")}
	for _, f := range files {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := run(t, "case", "export", cid, "--out", bundle); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	} else if strings.Contains(errOut, "warning") {
		t.Fatalf("warning for a 0700 directory: %s", errOut)
	}
	var bad []string
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			bad = append(bad, fi.Name()+" "+fi.Mode().Perm().String())
		}
	}
	if len(bad) > 0 {
		t.Fatalf("PHI files readable by others: %v", bad)
	}
	if b, _ := os.ReadFile(bundle); !strings.Contains(string(b), `"resourceType": "Bundle"`) {
		t.Fatalf("--out does not hold the Bundle: %.200s", b)
	}
	noTemporaries(t, dir)
	noTemporaries(t, tmp)
}

// A --dir others can read gets a warning on stderr (the export still runs;
// stdout with --output json stays JSON).
func TestExportWarnsOfADirectoryOthersCanRead(t *testing.T) {
	s := exportStore(t)
	exportCase(t, s, "MRN-OPEN", "River Quinn")
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "warning: --dir") || !strings.Contains(errOut, "chmod 700") {
		t.Fatalf("no warning for a directory of mode 0755: %q", errOut)
	}
	var res ExportResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Cases != 1 {
		t.Fatalf("stdout %q: %v", out, err)
	}
}

// With --output json an export of no case still says "cases": 0.
func TestExportJSONSaysZeroCases(t *testing.T) {
	exportStore(t)
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if n, ok := res["cases"]; !ok || n != 0.0 {
		t.Fatalf(`no "cases": 0 in %s`, out)
	}
	if m := readManifest(t, dir); len(m.Output) != 0 {
		t.Fatalf("manifest of an empty export lists %v", m.Output)
	}
}

// A type the new export has none of leaves no file of the earlier export
// behind; files not named for a type are left alone.
func TestExportRemovesStaleFilesOfItsOwnTypes(t *testing.T) {
	s := exportStore(t)
	exportCase(t, s, "MRN-STALE", "River Quinn")
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Claim.ndjson", "notes.ndjson", "README"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := run(t, "export", "--since", "2020-01-01", "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "Claim.ndjson")); err == nil {
		t.Fatal("Claim.ndjson of an earlier export left, though the manifest does not list it")
	}
	for _, f := range []string{"notes.ndjson", "README"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s, not the export's, removed: %v", f, err)
		}
	}
	listed := map[string]bool{"manifest.json": true, "notes.ndjson": true, "README": true}
	for _, o := range readManifest(t, dir).Output {
		listed[o.URL] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Fatalf("%s in the directory, not in the manifest", e.Name())
		}
	}
}

// waitForExportAtProviders waits until the export running beside the test
// waits on the test's lock on providers (it reads the cases' appointments).
func waitForExportAtProviders(t *testing.T, s *postgres.Store) {
	t.Helper()
	for i := 0; ; i++ {
		var waiting int
		if err := s.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%JOIN providers%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if i > 200 {
			t.Fatal("the export never reached the cases' appointments")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A Bulk Data client asks the next export --since the manifest's
// transactionTime. A case changed while an export runs (after the export
// read which cases changed) is not in that export, so it must be changed at
// or after its transactionTime.
func TestTransactionTimeDoesNotSkipChangesDuringTheExport(t *testing.T) {
	s := exportStore(t)
	ctx := context.Background()
	_, caseA := exportCase(t, s, "MRN-A", "River Quinn")
	_, caseB := exportCase(t, s, "MRN-B", "Sky Quinn")
	backdate(t, s, caseB)
	since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	// Hold the export on case A's appointments while case B changes.
	lock, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE providers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	done := make(chan int)
	go func() {
		code, _, _ := run(t, "export", "--since", since, "--dir", dir)
		done <- code
	}()
	waitForExportAtProviders(t, s)
	var changedB time.Time
	if err := s.DB().QueryRowContext(ctx, `UPDATE cases SET phase = 'assessment', updated_at = now() WHERE case_id = $1 RETURNING updated_at`, caseB).Scan(&changedB); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // transactionTime has whole seconds
	if err := lock.Commit(); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("export exit %d", code)
	}
	m := readManifest(t, dir)
	tt, err := time.Parse(time.RFC3339, m.TransactionTime)
	if err != nil {
		t.Fatal(err)
	}
	inThis := false
	for _, ep := range readExportNDJSON(t, filepath.Join(dir, "EpisodeOfCare.ndjson")) {
		inThis = inThis || ep["id"] == caseB
	}
	if !inThis && changedB.Before(tt) {
		t.Fatalf("case B changed at %s during the export: not in it (only %s), and before its transactionTime %s, so --since %s skips it too",
			changedB.UTC().Format(time.RFC3339Nano), caseA, m.TransactionTime, m.TransactionTime)
	}
}

// A write in flight when the export reads which cases changed (begun, not
// yet committed) is not in the export, and its timestamps are its
// transaction's start: transactionTime must not pass it.
func TestTransactionTimeCoversAWriteInFlight(t *testing.T) {
	s := exportStore(t)
	ctx := context.Background()
	exportCase(t, s, "MRN-A", "River Quinn")
	_, caseB := exportCase(t, s, "MRN-B", "Sky Quinn")
	backdate(t, s, caseB)
	since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	writer, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback()
	var changedB time.Time
	if err := writer.QueryRowContext(ctx, `UPDATE cases SET phase = 'assessment', updated_at = now() WHERE case_id = $1 RETURNING updated_at`, caseB).Scan(&changedB); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // transactionTime has whole seconds
	dir := filepath.Join(t.TempDir(), "out")
	if code, out, errOut := run(t, "export", "--since", since, "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if err := writer.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, ep := range readExportNDJSON(t, filepath.Join(dir, "EpisodeOfCare.ndjson")) {
		if ep["id"] == caseB {
			t.Fatal("an uncommitted change exported")
		}
	}
	m := readManifest(t, dir)
	tt, err := time.Parse(time.RFC3339, m.TransactionTime)
	if err != nil {
		t.Fatal(err)
	}
	if changedB.Before(tt) {
		t.Fatalf("case B's change, committed after the export read the cases, has time %s, before transactionTime %s: export --since %s skips it",
			changedB.UTC().Format(time.RFC3339Nano), m.TransactionTime, m.TransactionTime)
	}
}

// An interrupted export (Ctrl-C cancels the command's context) writes no
// manifest and leaves no temporary file.
func TestInterruptedExportLeavesNoManifest(t *testing.T) {
	s := exportStore(t)
	ctx := context.Background()
	exportCase(t, s, "MRN-INT", "River Quinn")
	lock, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE providers IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	cmdCtx, interrupt := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		var out, errOut strings.Builder
		done <- Execute(cmdCtx, []string{"export", "--since", "2020-01-01", "--dir", dir}, &out, &errOut)
	}()
	waitForExportAtProviders(t, s)
	interrupt()
	if code := <-done; code == 0 {
		t.Fatal("an interrupted export exited 0")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		t.Fatal("an interrupted export wrote manifest.json")
	}
	noTemporaries(t, dir)
}
