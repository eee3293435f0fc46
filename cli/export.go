package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/fhir"
	"github.com/caseflow/caseflow/postgres"
)

// caseData reads what PostgreSQL holds about a case for its FHIR export.
func caseData(ctx context.Context, store *postgres.Store, caseID string) (fhir.CaseData, error) {
	var d fhir.CaseData
	var err error
	if d.Case, err = store.Case(ctx, caseID); errors.Is(err, care.ErrNotFound) {
		return d, care.NotFoundf("case %s not found; check the id with \"caseflow case list --all\"", caseID)
	} else if err != nil {
		return d, err
	}
	p, err := store.Patient(ctx, d.Case.PatientID)
	if err != nil {
		return d, fmt.Errorf("patient of case %s: %w", caseID, err)
	}
	d.Patient = fhir.Patient{ID: p.ID, Ref: p.ExternalRef, BirthDate: p.BirthDate}
	if p.Name != nil {
		d.Patient.Name = *p.Name
	}
	if d.Events, err = store.LiveEvents(ctx, caseID); err != nil {
		return d, err
	}
	if d.Tasks, err = store.Tasks(ctx, caseID); err != nil {
		return d, err
	}
	if d.Services, err = store.Services(ctx, caseID); err != nil {
		return d, err
	}
	d.Appointments, err = store.AppointmentsForCase(ctx, caseID)
	return d, err
}

// ExportResult is what "case export --out" and "export" report: counts and
// where, never the content.
type ExportResult struct {
	Case      string         `json:"case,omitempty"`
	Cases     int            `json:"cases"`
	Out       string         `json:"out"`
	Resources map[string]int `json:"resources"`
}

func (a *app) caseExportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export <case>",
		Short: "Write a case as a FHIR R4 Bundle (Patient, EpisodeOfCare, CarePlan, Tasks, ...)",
		Long: `Write a case as a FHIR R4 Bundle of type collection: the Patient, the case
as an EpisodeOfCare (status from the phase, status history, care manager),
CarePlan and Goals, RiskAssessment, a ServiceRequest per service, a Task
per work item, Appointments, prior-authorization Claims and ClaimResponses,
Communications for contacts and calls and an Encounter per transition.
Every reference resolves inside the Bundle (urn:uuid fullUrls). See
docs/interop.md for the mapping.

The Bundle holds PHI (name, birth date, notes). With --out it is written
only to that file, mode 0600 even if the file existed with another: to a
temporary file next to it, renamed over it once complete, so the file is
either as it was or the whole Bundle. Stdout says what was written.`,
		Example: `  caseflow case export c-5c1d0e8f2a7b9c3d --out river.fhir.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				d, err := caseData(ctx, store, args[0])
				if err != nil {
					return err
				}
				resources := fhir.Case(d)
				bundle := fhir.Bundle(d.Case.CaseID+"-export", time.Now(), resources)
				body, err := json.MarshalIndent(bundle, "", "  ")
				if err != nil {
					return err
				}
				body = append(body, '\n')
				if out == "" || out == "-" {
					_, err := a.out.Write(body)
					return err
				}
				if err := fhir.WriteFile(out, body); err != nil {
					return care.Invalidf("--out", "cannot write %s: %v", out, rootCause(err))
				}
				res := ExportResult{Case: d.Case.CaseID, Cases: 1, Out: out, Resources: countTypes(resources)}
				if a.json() {
					return a.printJSON(res)
				}
				fmt.Fprintf(a.out, "wrote case %s as a FHIR Bundle of %d resources to %s\n", d.Case.CaseID, len(resources), out)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the Bundle to (default: stdout); it holds PHI")
	return cmd
}

func countTypes(rs []fhir.Resource) map[string]int {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Type()]++
	}
	return n
}

func (a *app) exportCommand() *cobra.Command {
	var since, dir string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every case changed since a date as FHIR Bulk Data NDJSON, one file per resource type",
		Long: `Write the cases changed since --since (a date YYYY-MM-DD, or an RFC 3339
time) as FHIR R4 resources in the shape of a FHIR Bulk Data export: one
NDJSON file per resource type in --dir (Patient.ndjson, EpisodeOfCare.ndjson,
...) and manifest.json listing them. References are Type/id. Cases are
streamed one at a time, so memory does not grow with their number.

A case changed when its snapshot or its patient's demographics changed, an
event was recorded, or one of its tasks, services or appointments was
written. Ask the next export --since the manifest's transactionTime: it is
taken from the database before the export reads which cases changed, so a
change made while an export runs is in the next one (cases can come twice,
never not at all).

The files are written under temporary names (.Patient.ndjson.*.tmp) and
renamed into place with manifest.json, written last, only when the whole
export succeeded: a failed or interrupted export writes no manifest and
removes its temporary files. Files of an earlier export named for a type
(Claim.ndjson, ...) that this one has none of are removed; other files in
--dir are left alone.

The files hold PHI: they are mode 0600 (also when they existed before), and
the directory, if created, 0700. A warning goes to stderr when --dir exists
and others can read it.`,
		Example: `  caseflow export --since 2026-11-01 --dir export/
  caseflow export --since 2026-11-04T09:00:00Z --dir export/   # the last manifest's transactionTime`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since)
			if err != nil {
				return err
			}
			if dir == "" {
				return care.Invalidf("--dir", "is required: the directory to write the NDJSON files to")
			}
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() && fi.Mode().Perm()&0o077 != 0 {
				fmt.Fprintf(a.errOut, "warning: --dir %s is open to others (mode %s): the files are 0600, but their names and sizes show; chmod 700 %s\n",
					dir, fi.Mode().Perm(), dir)
			} else if err == nil && !fi.IsDir() {
				return care.Invalidf("--dir", "%s is not a directory", dir)
			}
			store, err := a.db(cmd.Context())
			if err != nil {
				return err
			}
			w, err := fhir.NewNDJSON(dir)
			if err != nil {
				return care.Invalidf("--dir", "cannot create %s: %v", dir, rootCause(err))
			}
			defer w.Abort() // no-op once Close succeeded
			cases, lastPatient := 0, ""
			at, err := store.CasesChangedSince(cmd.Context(), from, func(caseID, patientID string) error {
				ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
				defer cancel()
				d, err := caseData(ctx, store, caseID)
				if err != nil {
					return err
				}
				for _, r := range fhir.Case(d) {
					// a patient's cases come together: write the patient once
					if r.Type() == "Patient" {
						if patientID == lastPatient {
							continue
						}
						lastPatient = patientID
					}
					if err := w.Write(r); err != nil {
						return care.Invalidf("--dir", "cannot write %s to %s: %v", r.Type(), dir, rootCause(err))
					}
				}
				cases++
				return nil
			})
			if err != nil {
				return err
			}
			m, err := w.Close("caseflow export --since "+since, at)
			if err != nil {
				return care.Invalidf("--dir", "cannot write the export to %s: %v", dir, rootCause(err))
			}
			res := ExportResult{Cases: cases, Out: dir, Resources: map[string]int{}}
			for _, o := range m.Output {
				res.Resources[o.Type] = o.Count
			}
			if a.json() {
				return a.printJSON(res)
			}
			fmt.Fprintf(a.out, "wrote %d cases to %s (%d files and manifest.json, transactionTime %s)\n", cases, dir, len(m.Output), m.TransactionTime)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "export cases changed since this date, YYYY-MM-DD (UTC) or an RFC 3339 time, e.g. the last manifest's transactionTime (required)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the NDJSON files and manifest.json to (required); it holds PHI")
	return cmd
}

func parseSince(s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, care.Invalidf("--since", "is required: a date YYYY-MM-DD, e.g. --since 2026-11-01")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, care.Invalidf("--since", "must be a date YYYY-MM-DD or an RFC 3339 time, got %q", s)
}
