package fhir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/caseflow/caseflow/fhir"
)

// Abort leaves the directory as it was: no file of the export, no manifest.
func TestNDJSONAbortLeavesTheDirectoryAsItWas(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := fhir.NewNDJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range fhir.Case(Fixtures()[0]) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "manifest.json" {
		t.Fatalf("after Abort the directory holds %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); string(b) != "earlier\n" {
		t.Fatalf("manifest.json changed: %q", b)
	}
	if _, err := w.Close("test", t0); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
}

// WriteFile replaces a file atomically with one of mode 0600, and refuses a
// directory.
func TestWriteFileIs0600(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "b.json")
	if err := os.WriteFile(f, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fhir.WriteFile(f, []byte("new")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != "new" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%q mode %s", b, fi.Mode().Perm())
	}
	if err := fhir.WriteFile(dir, []byte("x")); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
