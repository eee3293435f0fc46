package caseclient

import (
	"context"
	"strings"
	"testing"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

func TestOversizedInputNeverReachesTemporal(t *testing.T) {
	f := &fakeTemporal{}
	c := New(f, "q")
	_, err := Act(context.Background(), c, "c-1", "cm-ana", workflows.Contact, care.Contact{With: care.PartyClient, Notes: strings.Repeat("n", 5<<20)})
	if care.KindOf(err) != care.KindInvalid || !strings.Contains(err.Error(), "notes: is 5.0 MiB; the limit is 8 KiB") {
		t.Fatalf("err = %v, want the field and the limit", err)
	}
	if len(f.updates) != 0 {
		t.Fatalf("an oversized record was sent: %d updates", len(f.updates))
	}
}

func TestCheckSizeNamesTheField(t *testing.T) {
	plan := care.CarePlan{Goals: []care.Goal{{ID: "g1"}, {ID: "g2", Description: strings.Repeat("d", MaxTextBytes+1)}}}
	if err := CheckSize(plan); err == nil || !strings.HasPrefix(err.Error(), "goals[1].description: is 8193 bytes; the limit is 8 KiB") {
		t.Fatalf("err = %v", err)
	}
	many := care.Assessment{PriorServices: make([]string, 40)}
	for i := range many.PriorServices {
		many.PriorServices[i] = strings.Repeat("s", MaxTextBytes)
	}
	if err := CheckSize(many); err == nil || !strings.HasPrefix(err.Error(), "input: is 320.") || !strings.Contains(err.Error(), "the limit is 256 KiB") {
		t.Fatalf("err = %v", err)
	}
	if err := CheckSize(care.Contact{With: care.PartyClient, Notes: strings.Repeat("n", MaxTextBytes)}); err != nil {
		t.Fatalf("a note at the limit: %v", err)
	}
}
