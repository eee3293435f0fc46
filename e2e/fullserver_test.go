package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/internal/fullserver"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/workflows"
)

// The README's list queries ("In the Web UI and the Temporal CLI"), run as
// written with --address added.
const (
	readmeListAssessment = `bin/temporal workflow list --query "CasePhase = 'assessment' AND CaseManager = 'cm-ana'"`
	readmeListHighRisk   = `bin/temporal workflow list --query "ExecutionStatus = 'Running' AND CaseRisk = 'high'"`
	readmeListDue        = `bin/temporal workflow list --query "CaseProgram = 'complex-case' AND CaseNextDue < '2026-12-01T00:00:00Z'"`
	readmeCountPlanning  = `bin/temporal workflow count --query "ExecutionStatus = 'Running' AND CasePhase = 'planning'"`
)

// TestLifecycleOnFullServer runs the demo case's whole lifecycle through the
// real binaries against the production engine: the full Temporal server of
// docker-compose.yml (bin/temporal-server, PostgreSQL persistence and
// visibility, the compose file's dynamic config), and then the README's
// list queries and "caseflow case list" on it. Visibility on PostgreSQL is
// written asynchronously (the history service's visibility queue), so every
// list waits for the state the case has reached.
func TestLifecycleOnFullServer(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	for _, line := range []string{readmeListAssessment, readmeListHighRisk, readmeListDue, readmeCountPlanning} {
		require.Contains(t, string(readme), line, "the README's query changed: update this test with it")
	}

	serverBin, sqlTool := fullserver.DefaultBins(root)
	srv := startFullServer(t, fullserver.Options{
		ServerBin: serverBin, SQLToolBin: sqlTool, PostgresURL: testdb.ServerURL(),
		DynamicConfigFile: filepath.Join(root, "deploy", "temporal", "dynamicconfig", "development-sql.yaml"),
		SearchAttributes:  workflows.SearchAttributeTypes,
	})
	e := newEnvOpts(t, envOptions{temporalAddr: srv.FrontendHostPort()})
	wf := func(id string) string { return care.WorkflowID(id) }

	id := e.openRiver()
	var st workflows.Status
	e.okJSON(&st, "case", "screen", id, "--eligible", "--notes", "referred by the trauma ward")
	require.Equal(t, care.PhaseAssessment, st.Phase)
	e.eventuallyListed(readmeListAssessment, wf(id), true)

	e.okJSON(&st, "case", "assess", id, "--file", "demo/river/assessment.json", "--engagement", "5")
	require.Equal(t, care.PhaseStratification, st.Phase)
	require.Equal(t, care.RiskModerate, st.Proposal.Level)
	e.eventuallyListed(readmeListAssessment, wf(id), false)

	e.okJSON(&st, "case", "stratify", id, "--risk", "high", "--override-reason", "head injury", "--category", "acute")
	require.Equal(t, care.RiskHigh, st.Risk)
	require.Equal(t, care.PhasePlanning, st.Phase)
	e.eventuallyListed(readmeListHighRisk, wf(id), true)
	e.eventuallyCount(readmeCountPlanning, 1)

	e.okJSON(&st, "case", "plan", id, "--file", "demo/river/plan.json")
	require.Equal(t, care.PhaseFollowUp, st.Phase, "case plan answers once coordination has moved the case on")
	require.Len(t, st.Services, 4)
	e.eventuallyCount(readmeCountPlanning, 0)

	// caseflow case list on the full server: the open case, in follow-up,
	// with its next due date from visibility.
	var open cli.CaseListing
	require.Eventually(t, func() bool {
		var list []cli.CaseListing
		e.okJSON(&list, "case", "list", "--manager", "cm-ana")
		for _, l := range list {
			if l.CaseID == id && l.Phase == string(care.PhaseFollowUp) && l.NextDue != nil {
				open = l
				return true
			}
		}
		return false
	}, 30*time.Second, 250*time.Millisecond, "case %s in follow-up in caseflow case list", id)
	require.Equal(t, "high", open.Risk)
	require.Equal(t, "running", open.Status)

	// The README's due-date query lists the case exactly when its next due
	// date is before the README's date; a date just after it lists it.
	readmeDate, _ := time.Parse(time.RFC3339, "2026-12-01T00:00:00Z")
	e.eventuallyListed(readmeListDue, wf(id), open.NextDue.Before(readmeDate))
	after := open.NextDue.Add(time.Second).UTC().Format(time.RFC3339)
	e.eventuallyListed(strings.Replace(readmeListDue, "2026-12-01T00:00:00Z", after, 1), wf(id), true)

	e.closeRiverFromFollowUp(id)
	history := e.ok("case", "history", id)
	require.Contains(t, history, "screening → assessment")
	require.Contains(t, history, "evaluation → closed")

	// PostgreSQL has the case as on the dev server.
	e.requireClosedRiverRows(id)

	// Closed: out of the open list, in the --all list as completed, and no
	// longer running for the README's queries.
	require.Eventually(t, func() bool {
		var list []cli.CaseListing
		e.okJSON(&list, "case", "list", "--all", "--manager", "cm-ana", "--program", "complex-case")
		for _, l := range list {
			if l.CaseID == id {
				return l.Phase == "closed" && l.Status == "completed" && l.Risk == "high"
			}
		}
		return false
	}, 30*time.Second, 250*time.Millisecond, "closed case %s in caseflow case list --all", id)
	var openList []cli.CaseListing
	e.okJSON(&openList, "case", "list", "--manager", "cm-ana")
	for _, l := range openList {
		require.NotEqual(t, id, l.CaseID, "a closed case is not in the open list")
	}
	e.eventuallyListed(readmeListHighRisk, wf(id), false)
}

// temporalCLI runs bin/temporal (the README's commands) against this test's
// Temporal server and returns its stdout.
func (e *env) temporalCLI(args ...string) string {
	e.t.Helper()
	bin := os.Getenv("CASEFLOW_TEMPORAL_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "temporal")
	}
	cmd := exec.Command(bin, append(args, "--address", e.temporalAddr)...)
	cmd.Dir = root
	cmd.Env = e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(e.t, cmd.Run(), "temporal %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	return out.String()
}

// readmeArgs splits a README line `bin/temporal workflow list --query "..."`
// into the CLI's arguments.
func readmeArgs(t *testing.T, line string) []string {
	t.Helper()
	m := regexp.MustCompile(`^bin/temporal (workflow (?:list|count)) --query "([^"]+)"$`).FindStringSubmatch(line)
	require.NotNil(t, m, "not a README query line: %s", line)
	return append(strings.Fields(m[1]), "--query", m[2])
}

// eventuallyListed waits until the README's list query does (or does not)
// list the workflow.
func (e *env) eventuallyListed(line, workflowID string, want bool) {
	e.t.Helper()
	args := readmeArgs(e.t, line)
	var out string
	ok := assertEventually(func() bool {
		out = e.temporalCLI(args...)
		return strings.Contains(out, workflowID) == want
	})
	require.True(e.t, ok, "%s --address %s: listed %s = %v wanted; last output:\n%s", line, e.temporalAddr, workflowID, !want, out)
}

// eventuallyCount waits until the README's count query answers n.
func (e *env) eventuallyCount(line string, n int) {
	e.t.Helper()
	args := readmeArgs(e.t, line)
	var out string
	ok := assertEventually(func() bool {
		out = e.temporalCLI(args...)
		m := regexp.MustCompile(`Total: (\d+)`).FindStringSubmatch(out)
		got := -1
		if m != nil {
			got, _ = strconv.Atoi(m[1])
		}
		return got == n
	})
	require.True(e.t, ok, "%s --address %s: want Total: %d; last output:\n%s", line, e.temporalAddr, n, out)
}

// assertEventually polls cond for up to 30 s; visibility on PostgreSQL
// trails the workflow by its visibility task.
func assertEventually(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// startFullServer starts a full Temporal server for a test and stops it
// when the test ends, keeping the server's directory (config and log) when
// the test failed.
func startFullServer(t *testing.T, o fullserver.Options) *fullserver.Server {
	t.Helper()
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	s, err := fullserver.Start(context.Background(), o)
	require.NoError(t, err, "start the full Temporal server")
	t.Cleanup(func() {
		keep := t.Failed()
		if err := s.Stop(keep); err != nil {
			t.Errorf("stop the full Temporal server: %v", err)
		}
		if keep {
			t.Logf("full Temporal server log kept: %s", s.LogFile())
		}
	})
	return s
}
