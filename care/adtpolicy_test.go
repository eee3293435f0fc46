package care_test

import (
	"testing"

	"github.com/caseflow/caseflow/care"
)

func TestADTPolicy(t *testing.T) {
	if err := (care.ADTPolicy{}).Validate(); err != nil {
		t.Errorf("off: %v", err)
	}
	if err := (care.ADTPolicy{OpenCases: true, Model: care.ModelClinical, Manager: "cm-ana"}).Validate(); err != nil {
		t.Errorf("on: %v", err)
	}
	for _, bad := range []care.ADTPolicy{{OpenCases: true, Manager: "cm-ana"}, {OpenCases: true, Model: care.ModelClinical, Manager: "Ana Smith"}} {
		if err := bad.Validate(); care.KindOf(err) != care.KindInvalid {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
