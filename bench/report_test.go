package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteDocKeepsEachServersSection: a dev-server run rewrites only the
// main results, a full-server run only the cluster section.
func TestWriteDocKeepsEachServersSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	doc := "# B\n\n" + DocBegin + "\nold dev\n" + DocEnd + "\n\n## full\n\n" + ClusterDocBegin + "\nold full\n" + ClusterDocEnd + "\ntail\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	full := &Report{Server: ServerFull, Rows: []Row{{ID: "1", Scenario: "Intake rate", Caseflow: "42 cases/s"}}}
	if err := full.WriteDoc(path); err != nil {
		t.Fatal(err)
	}
	s := read()
	if !strings.Contains(s, "old dev") || strings.Contains(s, "old full") || !strings.Contains(s, "42 cases/s") || !strings.HasSuffix(s, "tail\n") {
		t.Fatalf("full-server run:\n%s", s)
	}
	if i, j := strings.Index(s, ClusterDocBegin), strings.Index(s, "42 cases/s"); j < i {
		t.Fatalf("full-server results outside their markers:\n%s", s)
	}
	if !strings.Contains(s, "| Temporal server | `bin/temporal-server`") {
		t.Fatalf("the full-server section does not name the server:\n%s", s)
	}
	dev := &Report{Server: ServerDev, Rows: []Row{{ID: "1", Scenario: "Intake rate", Caseflow: "99 cases/s"}}}
	if err := dev.WriteDoc(path); err != nil {
		t.Fatal(err)
	}
	s = read()
	if strings.Contains(s, "old dev") || !strings.Contains(s, "42 cases/s") || !strings.Contains(s, "99 cases/s") {
		t.Fatalf("dev-server run:\n%s", s)
	}
	if i, j := strings.Index(s, DocEnd), strings.Index(s, "99 cases/s"); j > i {
		t.Fatalf("dev-server results outside their markers:\n%s", s)
	}
}
