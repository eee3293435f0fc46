package cli

import (
	"context"
	"database/sql"
	"io"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/intake"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

// retainedNothing is Temporal once namespace retention (72h by default in
// deploy/, docs/docker-compose.md) has deleted a closed case's workflow:
// reject-duplicate no longer has anything to reject, so the start succeeds.
type retainedNothing struct {
	client.Client
	starts []string
}

func (r *retainedNothing) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	r.starts = append(r.starts, o.ID)
	return nil, nil
}

// docs/import.md: "A case that exists, open or closed, is reported as
// already existed ... a closed case's id is not reused". Once retention has
// removed a closed case's workflow, Temporal has no duplicate to refuse: a
// rerun of a file (or the next nightly list with the same member) would
// start a second case under the closed case's id. PostgreSQL, which keeps
// the case, says it exists.
func TestAClosedCaseIsNotOpenedAgainAfterRetention(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.New(t)
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.AddStaff(ctx, "cm-ana"); err != nil {
		t.Fatal(err)
	}
	pid, err := store.UpsertPatient(ctx, "MRN-9", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	caseID := care.CaseID(pid, "complex-case")
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, closure_reason, opened_at, closed_at)
		VALUES ($1, $2, 'complex-case', 'clinical', 'cm-ana', 'claims', 'closed', 'goals-met', now() - interval '90 days', now() - interval '10 days')`, caseID, pid); err != nil {
		t.Fatal(err)
	}
	tc := &retainedNothing{}
	a := &app{actor: "cm-ana", timeout: 5 * time.Second, errOut: io.Discard,
		policies: map[string]care.Policy{"complex-case": {Program: "complex-case", Version: 1}}}
	op := opener{a: a, cases: caseclient.New(tc, "q"), store: store}
	o, problems := intake.Check(intake.Request{PatientRef: "MRN-9", Program: "complex-case", Model: "clinical", Manager: "cm-ana", Source: "claims"}, "cm-ana")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	opened, err := op.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !opened.Existed || len(tc.starts) > 0 {
		t.Fatalf("closed case %s (closed 10 days ago in PostgreSQL) was started again: %+v, starts %v", caseID, opened, tc.starts)
	}
}
