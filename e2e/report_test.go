package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/internal/tzdb"
	"github.com/caseflow/caseflow/report"
	"github.com/caseflow/caseflow/workflows"
)

// value is a report's figure, by section, leading columns and column.
func value(t *testing.T, r report.Report, section, column string, key ...string) any {
	t.Helper()
	tb := r.Table(section)
	require.NotNil(t, tb, "section %s", section)
	v, ok := tb.Value(column, key...)
	require.True(t, ok, "%s %v has no %s: %v", section, key, column, tb.Rows)
	return v
}

// TestReportsReadWhatARealCaseRecorded runs a case through coordination (the
// payer simulator approves, pends and denies its three authorizations) and a
// discharge entered late, and reads the reports back through the CLI.
func TestReportsReadWhatARealCaseRecorded(t *testing.T) {
	e := newEnv(t)
	var res cli.OpenResult
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-REPORT-1", "--name", "Zebulon Quixote-Marsh", "--program", "transitional-care", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "acute")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	var st workflows.Status
	require.Eventually(t, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	}, 30*time.Second, 200*time.Millisecond)
	loc, err := tzdb.Load("America/New_York")
	require.NoError(t, err)
	fiveDaysAgo := time.Now().In(loc).AddDate(0, 0, -5).Format(time.DateOnly)
	e.ok("case", "transition", id, "--kind", "discharge", "--from", "city hospital", "--to", "home",
		"--date", fiveDaysAgo, "--time", "10:30", "--complexity", "high")

	var tcm report.Report
	e.okJSON(&tcm, "report", "tcm", "--program", "transitional-care")
	require.EqualValues(t, 1, value(t, tcm, "tcm", "discharges", "transitional-care"))
	require.EqualValues(t, 1, value(t, tcm, "tcm", "contact_missed", "transitional-care"), "its 2 business days passed before it was entered")
	require.EqualValues(t, 0, value(t, tcm, "tcm", "contact_met_pct", "transitional-care"))

	var auth report.Report
	e.okJSON(&auth, "report", "authorizations")
	require.EqualValues(t, 3, value(t, auth, "requests", "requests", "all", "all"), "pt, np and ot")
	require.EqualValues(t, 1, value(t, auth, "requests", "denied", "all", "all"), "ot is denied")
	require.EqualValues(t, 1, value(t, auth, "denials", "denials", "transitional-care"))

	var load report.Report
	e.okJSON(&load, "report", "caseload", "--manager", "cm-ana")
	require.EqualValues(t, 1, value(t, load, "open-cases", "cases", "transitional-care", "phase", "post-transition"))

	// CSV parses; no report shows the patient, the reference or the case id.
	out := e.ok("report", "appointments", "--output", "csv")
	cr := csv.NewReader(strings.NewReader(out))
	cr.FieldsPerRecord = -1 // one block per section, each its own width
	recs, err := cr.ReadAll()
	require.NoError(t, err)
	require.Equal(t, "section", recs[0][0])
	page := filepath.Join(t.TempDir(), "report.html")
	e.ok("report", "html", "--out", page)
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	all := string(html)
	for _, name := range report.Names {
		all += e.ok("report", name) + e.ok("report", name, "--output", "json")
	}
	for _, secret := range []string{"Zebulon", "Quixote", "MRN-REPORT-1", id, "city hospital"} {
		require.NotContains(t, all, secret)
	}

	r := e.cli("report", "tcm", "--from", "2026-03-31", "--to", "2026-03-01")
	require.Equal(t, 2, r.code, r.stderr)
	r = e.cli("report", "nope")
	require.Equal(t, 2, r.code, r.stderr)
}
