package care

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"
)

// Case identifies a case and the choices made when it was opened. It holds
// only opaque identifiers: it travels in workflow input and search attributes.
type Case struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patient_id"`
	Program   string    `json:"program"`
	Model     Model     `json:"model"`
	Manager   string    `json:"manager"`
	Source    Source    `json:"source"`
	OpenedBy  string    `json:"opened_by"`
	OpenedAt  time.Time `json:"opened_at"`
}

var opaqueID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// ValidateOpaqueID checks that id is an opaque identifier: lower-case letters,
// digits, '.', '_' and '-', 2 to 63 characters. Names, dates and member numbers
// must never be used as identifiers; the rule keeps them out of the most
// common shapes (spaces, capitals, slashes).
func ValidateOpaqueID(field, id string) error {
	if !opaqueID.MatchString(id) {
		return Invalidf(field, "%q is not an opaque id: use 2-63 lower-case letters, digits, '.', '_' or '-' (never a name, birth date or member number)", id)
	}
	return nil
}

// Validate checks a case about to be opened.
func (c Case) Validate() error {
	if err := ValidateOpaqueID("case-id", c.ID); err != nil {
		return err
	}
	if err := ValidateOpaqueID("patient-id", c.PatientID); err != nil {
		return err
	}
	if err := ValidateOpaqueID("program", c.Program); err != nil {
		return err
	}
	if err := validEnum("model", c.Model, Models); err != nil {
		return err
	}
	if err := ValidateOpaqueID("manager", c.Manager); err != nil {
		return err
	}
	if err := validEnum("source", c.Source, Sources); err != nil {
		return err
	}
	return ValidateOpaqueID("actor", c.OpenedBy)
}

// CaseID derives the default case id for a patient in a program, so that
// opening the same case twice (a retried command, a re-run import) finds the
// case already open instead of creating a second one. The patient id is
// itself opaque and random, so the case id reveals nothing.
func CaseID(patientID, program string) string {
	sum := sha256.Sum256([]byte("caseflow/case\x00" + patientID + "\x00" + program))
	return "c-" + hex.EncodeToString(sum[:8])
}

// WorkflowID is the Temporal workflow id of a case.
func WorkflowID(caseID string) string { return "case-" + caseID }
