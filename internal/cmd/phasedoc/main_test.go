package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/caseflow/caseflow/care"
)

// TestThePhaseDocIsCurrent fails while docs/phases.md is not what the
// generator writes from the table now.
func TestThePhaseDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "phases.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v; generate it with %q", path, err, Command)
	}
	if string(got) != Render(care.Machine) {
		t.Fatalf("docs/phases.md is stale: the phase machine (care.Machine) changed; regenerate it with %q (from the repository root)", Command)
	}
}
