package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
)

// savePlanChange records what approving a plan did to each service.
// Idempotent on (case, plan version, service). The rows of a version are
// the approval's as last recorded: a reset replays the plan counter, so the
// run that took the case over may approve version N again with another
// plan, and its rows replace the replaced run's (whose event stays in the
// trail; a superseded run's late step never gets here, see RecordStep).
func savePlanChange(ctx context.Context, db execer, caseID string, pc care.PlanChange) error {
	ids := make([]string, 0, len(pc.Services))
	for _, c := range pc.Services {
		ids = append(ids, c.ServiceID)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM plan_changes WHERE case_id = $1 AND plan_version = $2 AND NOT (service_id = ANY($3))`,
		caseID, pc.Version, pq.Array(ids)); err != nil {
		return fmt.Errorf("record plan v%d changes of case %s: %w", pc.Version, caseID, err)
	}
	for _, c := range pc.Services {
		detail := ""
		if c.Kind == care.ServiceAmended && c.Before != nil && c.After != nil {
			detail = c.Before.Differences(*c.After)
		}
		_, err := db.ExecContext(ctx, `
			INSERT INTO plan_changes (case_id, plan_version, service_id, change, detail)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (case_id, plan_version, service_id) DO UPDATE SET change = EXCLUDED.change, detail = EXCLUDED.detail, changed_at = now()
			WHERE (plan_changes.change, plan_changes.detail) IS DISTINCT FROM (EXCLUDED.change, EXCLUDED.detail)`,
			caseID, pc.Version, c.ServiceID, c.Kind, detail)
		if err != nil {
			return fmt.Errorf("record plan v%d change of service %s of case %s: %w", pc.Version, c.ServiceID, caseID, err)
		}
	}
	return nil
}

// PlanChangeRow is one service's change in one approved plan.
type PlanChangeRow struct {
	PlanVersion int                    `db:"plan_version" json:"plan_version"`
	ServiceID   string                 `db:"service_id" json:"service_id"`
	Change      care.ServiceChangeKind `db:"change" json:"change"`
	Detail      string                 `db:"detail" json:"detail,omitempty"`
	ChangedAt   time.Time              `db:"changed_at" json:"changed_at"`
}

// PlanChanges returns the plan changes of a case, oldest first.
func (s *Store) PlanChanges(ctx context.Context, caseID string) ([]PlanChangeRow, error) {
	var out []PlanChangeRow
	err := s.db.SelectContext(ctx, &out, `
		SELECT plan_version, service_id, change, detail, changed_at FROM plan_changes
		WHERE case_id = $1 ORDER BY plan_version, changed_at, service_id`, caseID)
	return out, err
}

// ServiceCatalog returns the service codes a care plan may hold: those
// some provider offers, plus extra (those the program's policy allows
// without providers).
func (s *Store) ServiceCatalog(ctx context.Context, extra []string) ([]string, error) {
	var codes []string
	if err := s.db.SelectContext(ctx, &codes, `SELECT DISTINCT service_code FROM provider_services ORDER BY service_code`); err != nil {
		return nil, err
	}
	return append(codes, extra...), nil
}

// PatientByRef returns the patient with externalRef, or care.ErrNotFound.
func (s *Store) PatientByRef(ctx context.Context, externalRef string) (Patient, error) {
	var p Patient
	err := s.db.GetContext(ctx, &p, `SELECT patient_id, external_ref, name, birth_date FROM patients WHERE external_ref = $1`, externalRef)
	if errors.Is(err, sql.ErrNoRows) {
		return p, care.ErrNotFound
	}
	return p, err
}

// DemographicsDiffer names the fields (name, birth-date) given that differ
// from the patient's record; what is not given, or not on the record, is
// not compared (DemographicsMissing).
func (p Patient) DemographicsDiffer(name string, birthDate *time.Time) []string {
	var fields []string
	if name != "" && p.Name != nil && *p.Name != name {
		fields = append(fields, "name")
	}
	if birthDate != nil && p.BirthDate != nil && !p.BirthDate.Equal(*birthDate) {
		fields = append(fields, "birth-date")
	}
	return fields
}

// DemographicsMissing names the fields given that the patient's record
// does not have yet (registered without them).
func (p Patient) DemographicsMissing(name string, birthDate *time.Time) []string {
	var fields []string
	if name != "" && p.Name == nil {
		fields = append(fields, "name")
	}
	if birthDate != nil && p.BirthDate == nil {
		fields = append(fields, "birth-date")
	}
	return fields
}

// UpdatePatient changes a known patient's demographics on purpose and
// audits who changed which fields (never the values, which are PHI).
func (s *Store) UpdatePatient(ctx context.Context, patientID, actor, name string, birthDate *time.Time, fields []string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		UPDATE patients SET name = COALESCE(NULLIF($2, ''), name), birth_date = COALESCE($3, birth_date), updated_at = now()
		WHERE patient_id = $1`, patientID, name, birthDate); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO patient_updates (patient_id, actor, fields) VALUES ($1, $2, $3)`,
		patientID, actor, strings.Join(fields, ",")); err != nil {
		return err
	}
	return tx.Commit()
}

// CaseSubject is who a case is about, from PostgreSQL: the patient's
// name and reference (MRN).
type CaseSubject struct {
	CaseID      string  `db:"case_id" json:"case_id"`
	ExternalRef string  `db:"external_ref" json:"mrn"`
	Name        *string `db:"name" json:"name,omitempty"`
}

// CaseSubjects returns who each of the cases is about.
func (s *Store) CaseSubjects(ctx context.Context, caseIDs []string) (map[string]CaseSubject, error) {
	out := map[string]CaseSubject{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []CaseSubject
	err := s.db.SelectContext(ctx, &rows, `
		SELECT c.case_id, p.external_ref, p.name FROM cases c JOIN patients p USING (patient_id)
		WHERE c.case_id = ANY($1)`, pq.Array(caseIDs))
	for _, r := range rows {
		out[r.CaseID] = r
	}
	return out, err
}
