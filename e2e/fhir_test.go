package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/internal/fhircheck"
	"github.com/caseflow/caseflow/workflows"
)

// TestFHIRExportOfARealCase exports a case driven through the CLI on the
// real dev server and PostgreSQL, as a Bundle (case export --out) and as
// bulk NDJSON (export --since): Medplum's validator accepts every resource,
// and the PHI is written to the files only, never to stdout or stderr.
func TestFHIRExportOfARealCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.openRiver()
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	var st workflows.Status
	e.waitFor("follow-up", 30*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	})
	notes := "Zebulon walks with crutches"
	e.ok("case", "contact", id, "--with", "client", "--notes", notes)
	e.ok("case", "transition", id, "--kind", "discharge", "--from", "rehab unit", "--to", "home", "--date", time.Now().UTC().Format(time.DateOnly))
	e.waitFor("the discharge in PostgreSQL", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND action = 'transition'`, id) == 1
	})
	phi := []string{"Zebulon", "Quixote-Marsh", "1991-04-02", "MRN-RIVER-0042", notes}

	dir := t.TempDir()
	bundleFile := filepath.Join(dir, "case.fhir.json")
	r := e.cli("case", "export", id, "--out", bundleFile)
	require.Equal(t, 0, r.code, r.stderr)
	for _, s := range phi {
		require.NotContains(t, r.stdout+r.stderr, s, "PHI on stdout or stderr")
	}
	body, err := os.ReadFile(bundleFile)
	require.NoError(t, err)
	for _, s := range phi {
		require.Contains(t, string(body), s, "the Bundle holds the case's data")
	}
	info, err := os.Stat(bundleFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	var bundle struct {
		Type  string `json:"type"`
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(body, &bundle))
	require.Equal(t, "collection", bundle.Type)
	types := map[string]int{}
	for _, en := range bundle.Entry {
		var res struct {
			ResourceType string `json:"resourceType"`
		}
		require.NoError(t, json.Unmarshal(en.Resource, &res))
		types[res.ResourceType]++
	}
	for _, typ := range []string{"Patient", "EpisodeOfCare", "CarePlan", "Goal", "RiskAssessment", "ServiceRequest", "Task", "Communication", "Encounter"} {
		require.NotZero(t, types[typ], "no %s in %v", typ, types)
	}

	var res cli.ExportResult
	bulk := filepath.Join(dir, "bulk")
	e.okJSON(&res, "export", "--since", time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "--dir", bulk)
	require.Equal(t, 1, res.Cases)
	require.Equal(t, 1, res.Resources["Patient"])
	files, err := filepath.Glob(filepath.Join(bulk, "*.ndjson"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	manifest, err := os.ReadFile(filepath.Join(bulk, "manifest.json"))
	require.NoError(t, err)
	require.Contains(t, string(manifest), `"url": "EpisodeOfCare.ndjson"`)
	var none cli.ExportResult
	e.okJSON(&none, "export", "--since", time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "--dir", filepath.Join(dir, "none"))
	require.Zero(t, none.Cases, "no case changed since a time to come")

	out, err := fhircheck.Check(root, append([]string{bundleFile}, files...)...)
	if err == fhircheck.ErrNoNode {
		t.Skip(err)
	}
	require.NoError(t, err, out)
	require.True(t, strings.Contains(out, `"failed":0`), out)
}
