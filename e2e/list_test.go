package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchpb "go.temporal.io/api/batch/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/workflows"
)

// TestCaseListShowsTheMostOverdueFirstAndSaysHowManyOfHowMany opens six
// cases of one manager: five in complex-case (screening due in 2 days), one
// after them in demo (screening due in 10 minutes), and lists them with a
// small --limit.
func TestCaseListShowsTheMostOverdueFirstAndSaysHowManyOfHowMany(t *testing.T) {
	e := newEnv(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	manager := "cm-list-" + hex.EncodeToString(b) // only this test's cases on the shared dev server
	e.ok("staff", "add", manager)
	open := func(i int, program string) string {
		var res cli.OpenResult
		e.okJSON(&res, "case", "open", "--patient-ref", fmt.Sprintf("MRN-LIST-%d", i), "--program", program,
			"--model", "clinical", "--manager", manager, "--source", "referral")
		require.Equal(t, "opened", res.Status)
		return res.CaseID
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, open(i, "complex-case"))
	}
	soonest := open(5, "demo")
	want := append([]string{soonest}, ids...) // by screening due time

	// Visibility catches up with the search attributes.
	var rows []cli.CaseListing
	require.Eventually(t, func() bool {
		e.okJSON(&rows, "case", "list", "--manager", manager, "--limit", "0")
		if len(rows) != len(want) {
			return false
		}
		for _, r := range rows {
			if r.NextDue == nil {
				return false
			}
		}
		return true
	}, 20*time.Second, 200*time.Millisecond, "case list: %+v", rows)
	got := make([]string, len(rows))
	for i, r := range rows {
		got[i] = r.CaseID
	}
	require.Equal(t, want, got, "the soonest due first, though opened last")

	// A small --limit shows the first ones and says how many it left out,
	// on stderr: stdout is the table, or only JSON.
	r := e.cli("case", "list", "--manager", manager, "--limit", "3")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4, "a header and three rows:\n%s", r.stdout)
	for i, id := range want[:3] {
		require.True(t, strings.HasPrefix(lines[i+1], id+" "), "row %d is %s:\n%s", i+1, id, r.stdout)
	}
	require.Equal(t, "showing 3 of 6 open cases matching the filters (most overdue first); --limit N shows more, --limit 0 all\n", r.stderr)

	r = e.cli("case", "list", "--manager", manager, "--limit", "3", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, jsonUnmarshal(r.stdout, &rows), "stdout is only JSON: %q", r.stdout)
	require.Len(t, rows, 3)
	require.Equal(t, want[0], rows[0].CaseID)
	require.Contains(t, r.stderr, "showing 3 of 6 open cases")

	// Everything shown: the line says so in text, and JSON has no line.
	r = e.cli("case", "list", "--manager", manager)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "showing 6 of 6 open cases matching the filters (most overdue first)\n", r.stderr)
	r = e.cli("case", "list", "--manager", manager, "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr)

	r = e.cli("case", "list", "--limit", "-1")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--limit")
}

// TestCaseListReadsEveryPageOfVisibility lists more cases than one
// visibility page holds (1,000) from the real dev server: 1,100 running
// CaseWorkflow executions of one manager, due in random order, started on a
// task queue no worker polls (so they only sit in visibility with their
// search attributes). The most overdue must come first from whichever page
// visibility returned it on, and every one must be counted.
func TestCaseListReadsEveryPageOfVisibility(t *testing.T) {
	const n = 1100
	e := newEnv(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag := hex.EncodeToString(b)
	manager, queue := "cm-pages-"+tag, "caseflow-idle-"+tag
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	rng := mathrand.New(mathrand.NewSource(13))
	base := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Minute)
	type dueCase struct {
		id  string
		due time.Time
	}
	cases := make([]dueCase, n)
	for i := range cases {
		// Whole hours over 60 days: many cases share a due time.
		cases[i] = dueCase{id: fmt.Sprintf("c-pages-%s-%04d", tag, i), due: base.Add(time.Duration(rng.Intn(24*60)) * time.Hour)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan dueCase)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				_, err := plainConn.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: "case-" + c.id, TaskQueue: queue,
					TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrManager.ValueSet(manager),
						workflows.AttrPhase.ValueSet("follow-up"), workflows.AttrProgram.ValueSet("complex-case"),
						workflows.AttrNextDue.ValueSet(c.due)),
				}, "CaseWorkflow")
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	t0 := time.Now()
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("started %d in %s", n, time.Since(t0))
	query := fmt.Sprintf("WorkflowType = 'CaseWorkflow' AND ExecutionStatus = 'Running' AND CaseManager = '%s'", manager)
	require.Eventually(t, func() bool {
		resp, err := plainConn.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		return err == nil && resp.Count == n
	}, time.Minute, 250*time.Millisecond, "visibility has all %d cases", n)
	t.Cleanup(func() {
		// Leave the shared dev server as it was: one batch terminates them all.
		_, err := plainConn.WorkflowService().StartBatchOperation(context.Background(), &workflowservice.StartBatchOperationRequest{
			Namespace: "default", VisibilityQuery: query, JobId: "list-pages-" + tag, Reason: "test over",
			Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{}},
		})
		if err != nil {
			t.Logf("terminate the listed cases: %v", err)
		}
	})
	t.Logf("visible after %s", time.Since(t0))

	sort.Slice(cases, func(i, j int) bool {
		if !cases[i].due.Equal(cases[j].due) {
			return cases[i].due.Before(cases[j].due)
		}
		return cases[i].id < cases[j].id
	})
	ids := func(rows []cli.CaseListing) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r.CaseID
		}
		return out
	}
	want := make([]string, n)
	for i, c := range cases {
		want[i] = c.id
	}

	r := e.cli("case", "list", "--manager", manager, "--limit", "7", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var rows []cli.CaseListing
	require.NoError(t, jsonUnmarshal(r.stdout, &rows), "stdout is only JSON: %q", r.stdout)
	require.Equal(t, want[:7], ids(rows), "the seven most overdue of all pages")
	require.True(t, rows[0].Overdue)
	require.True(t, rows[0].NextDue.Equal(cases[0].due))
	require.Equal(t, fmt.Sprintf("showing 7 of %d open cases matching the filters (most overdue first); --limit N shows more, --limit 0 all\n", n), r.stderr)

	e.okJSON(&rows, "case", "list", "--manager", manager, "--limit", "0")
	require.Equal(t, want, ids(rows), "--limit 0: every case, in order")
	t.Logf("listed after %s", time.Since(t0))
}
