package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeLister serves rows page by page as visibility does, in the order it
// holds them, and counts the pages and the largest page asked for.
type fakeLister struct {
	rows     []*workflowpb.WorkflowExecutionInfo
	pages    int
	pageSize int32
	failAt   int // fail on this page (1-based), if > 0
}

func (f *fakeLister) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.pages++
	if f.failAt == f.pages {
		return nil, errors.New("visibility is down")
	}
	f.pageSize = max(f.pageSize, req.PageSize)
	from := 0
	if len(req.NextPageToken) > 0 {
		from, _ = strconv.Atoi(string(req.NextPageToken))
	}
	to := min(from+int(req.PageSize), len(f.rows))
	resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: f.rows[from:to]}
	if to < len(f.rows) {
		resp.NextPageToken = []byte(strconv.Itoa(to))
	}
	return resp, nil
}

// execution is the visibility record of a running case, due at due (none
// if zero).
func execution(t *testing.T, caseID string, opened, due time.Time) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	attrs := map[string]*commonpb.Payload{}
	for k, v := range map[string]string{"CasePhase": "follow-up", "CaseRisk": "high", "CaseProgram": "complex-case", "CaseManager": "cm-ana"} {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		require.NoError(t, err)
		attrs[k] = p
	}
	if !due.IsZero() {
		p, err := converter.GetDefaultDataConverter().ToPayload(due)
		require.NoError(t, err)
		attrs["CaseNextDue"] = p
	}
	return &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: "case-" + caseID},
		Status:           enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime:        timestamppb.New(opened),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: attrs},
	}
}

// tenThousandCases are 10,000 open cases in random order: 9,000 with a due
// time (some of them sharing one, so ties are ordered by case id), 1,000
// with nothing due.
func tenThousandCases(t *testing.T, now time.Time) []*workflowpb.WorkflowExecutionInfo {
	rng := rand.New(rand.NewSource(13))
	var rows []*workflowpb.WorkflowExecutionInfo
	for i := range 10000 {
		id := fmt.Sprintf("c-%05d", i)
		opened := now.Add(-time.Duration(i) * time.Minute)
		var due time.Time
		if i < 9000 {
			// Due from 45 days ago to 45 days ahead, in whole hours: many ties.
			due = now.Add(time.Duration(rng.Intn(24*90)-24*45) * time.Hour)
		}
		rows = append(rows, execution(t, id, opened, due))
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

func TestCaseListShowsTheMostOverdueOfTenThousandAndCountsThemAll(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	all := tenThousandCases(t, now)

	// The expected order, made the slow and obvious way: every row, sorted.
	want := make([]CaseListing, len(all))
	for i, e := range all {
		want[i] = caseListing(e, now)
	}
	sort.SliceStable(want, func(i, j int) bool {
		x, y := want[i], want[j]
		if (x.NextDue == nil) != (y.NextDue == nil) {
			return x.NextDue != nil
		}
		if x.NextDue != nil && !x.NextDue.Equal(*y.NextDue) {
			return x.NextDue.Before(*y.NextDue)
		}
		if x.NextDue == nil && !x.Opened.Equal(y.Opened) {
			return x.Opened.After(y.Opened)
		}
		return x.CaseID < y.CaseID
	})

	for _, limit := range []int{1, 50, 9500, 0} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			f := &fakeLister{rows: all}
			rows, total, err := listCases(context.Background(), f, "q", limit, now)
			require.NoError(t, err)
			require.Equal(t, 10000, total, "every case is counted, whatever the limit")
			require.Equal(t, 10, f.pages, "every page is read (1,000 a page)")
			require.EqualValues(t, listPageSize, f.pageSize)
			n := limit
			if n == 0 {
				n = len(all)
			}
			require.Len(t, rows, n)
			require.Equal(t, want[:n], rows)
		})
	}

	t.Run("the most overdue first, ties by case id, nothing due last", func(t *testing.T) {
		rows, _, err := listCases(context.Background(), &fakeLister{rows: all}, "q", 0, now)
		require.NoError(t, err)
		require.True(t, rows[0].Overdue)
		for i := 1; i < len(rows); i++ {
			p, r := rows[i-1], rows[i]
			switch {
			case p.NextDue != nil && r.NextDue != nil:
				require.False(t, r.NextDue.Before(*p.NextDue), "row %d due before row %d", i, i-1)
				if r.NextDue.Equal(*p.NextDue) {
					require.Less(t, p.CaseID, r.CaseID, "a tie is ordered by case id")
				}
			case p.NextDue == nil:
				require.Nil(t, r.NextDue, "row %d has a due time after one without", i)
			}
		}
		require.Nil(t, rows[len(rows)-1].NextDue)
		require.NotNil(t, rows[8999].NextDue)
		require.Nil(t, rows[9000].NextDue)
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r.CaseID] = true
		}
		require.Len(t, seen, 10000, "no case is dropped or shown twice")
	})

	t.Run("a failing page fails the list", func(t *testing.T) {
		_, _, err := listCases(context.Background(), &fakeLister{rows: all, failAt: 3}, "q", 50, now)
		require.ErrorContains(t, err, "list cases: visibility is down")
	})
}

func TestCaseListSummarySaysHowManyOfHowMany(t *testing.T) {
	require.Equal(t, "showing 50 of 10000 open cases (most overdue first); --limit N shows more, --limit 0 all",
		listSummary(50, 10000, false, false))
	require.Equal(t, "showing 3 of 3 open cases matching the filters (most overdue first)", listSummary(3, 3, false, true))
	require.Equal(t, "showing 1 of 1 case (most overdue first)", listSummary(1, 1, true, false))
	require.Equal(t, "", listSummary(0, 0, false, false))
}

func TestCaseListQueryListsEachCaseOnce(t *testing.T) {
	q, err := caseQuery(false, "", "", "cm-ana", "")
	require.NoError(t, err)
	require.Equal(t, "WorkflowType = 'CaseWorkflow' AND ExecutionStatus = 'Running' AND CaseManager = 'cm-ana'", q)
	q, err = caseQuery(true, "", "", "", "")
	require.NoError(t, err)
	require.Equal(t, "WorkflowType = 'CaseWorkflow' AND ExecutionStatus != 'ContinuedAsNew'", q,
		"with --all, the runs a case continued from are not listed beside it")
}
