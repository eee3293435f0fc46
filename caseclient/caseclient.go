// Package caseclient is the one client of the case workflow, for the CLI and
// the benchmark suite alike: Open starts a case's workflow, Act sends a staff
// action as the typed update it is, Status queries a case. Every error it
// returns carries the care.ErrorKind of the failure (care.KindOf).
package caseclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/connect"
	"github.com/caseflow/caseflow/workflows"
)

// Errors an action or query can be told apart by (errors.Is), besides its
// kind.
var (
	// ErrNotFound: no workflow has the case's id (KindNotFound).
	ErrNotFound = errors.New("case not found")
	// ErrClosed: the case's workflow has completed; it takes no more
	// actions (KindNotAllowed).
	ErrClosed = errors.New("case closed")
)

// Client talks to the case workflows of one task queue.
type Client struct {
	tc        client.Client
	taskQueue string
}

// New returns a Client that starts cases on taskQueue through tc.
func New(tc client.Client, taskQueue string) *Client {
	return &Client{tc: tc, taskQueue: taskQueue}
}

// Open starts the workflow of case cs under policy p, which the case keeps
// for its whole life: its input names p's version (change
// policy-by-reference) and the worker reads it from PostgreSQL, where p
// must be loaded. A zero OpenedAt is set to now.
//
// The workflow id is the case's: it is never reused, so Open returns false,
// and starts nothing, when a workflow with that id exists already (open or
// closed).
func (c *Client) Open(ctx context.Context, cs care.Case, p care.Policy) (bool, error) {
	return c.open(ctx, cs, p, nil)
}

// OpenFromState is Open for a case that starts the way a run continued as
// new starts: from state, with cs as its case (the benchmarks seed cases in
// follow-up this way).
func (c *Client) OpenFromState(ctx context.Context, cs care.Case, p care.Policy, state workflows.CaseState) (bool, error) {
	return c.open(ctx, cs, p, &state)
}

func (c *Client) open(ctx context.Context, cs care.Case, p care.Policy, state *workflows.CaseState) (bool, error) {
	if cs.OpenedAt.IsZero() {
		cs.OpenedAt = time.Now().UTC().Truncate(time.Second)
	}
	in := workflows.CaseInput{Case: cs, PolicyVersion: p.Version}
	phase, due := care.PhaseScreening, cs.OpenedAt.Add(p.Steps.Screening.D())
	if state != nil {
		st := *state
		st.Case, st.Policy = cs, care.Policy{}
		in = workflows.CaseInput{PolicyVersion: p.Version, State: &st}
		phase, due = st.Phase, st.NextCallAt
	}
	if err := CheckSize(in); err != nil {
		return false, err
	}
	_, err := c.tc.ExecuteWorkflow(ctx, StartOptions(c.taskQueue, cs, p, phase, due), workflows.CaseWorkflow, &in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return false, nil
	}
	if err != nil {
		return false, &care.Error{Kind: TransportKind(err), Message: fmt.Sprintf("open case %s: %v", cs.ID, connect.RootCause(err)), Err: err}
	}
	return true, nil
}

// StartOptions are the options a case's workflow starts with, in phase
// with its next action due at due: the case's workflow id, never reused;
// the search attributes that list it at once (phase, program, manager,
// next due); and the Web UI's summary and details (opaque ids only).
func StartOptions(taskQueue string, cs care.Case, p care.Policy, phase care.Phase, due time.Time) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       care.WorkflowID(cs.ID),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPhase.ValueSet(string(phase)),
			workflows.AttrProgram.ValueSet(cs.Program),
			workflows.AttrManager.ValueSet(cs.Manager),
			workflows.AttrNextDue.ValueSet(due),
		),
		StaticSummary: fmt.Sprintf("Care case %s · program %s v%d · %s model", cs.ID, cs.Program, p.Version, cs.Model),
		StaticDetails: fmt.Sprintf("Care-management case %s in program %s (%s model, source %s), managed by %s. "+
			"Patient data is encrypted; decode it through the caseflow codec server.", cs.ID, cs.Program, cs.Model, cs.Source, cs.Manager),
	}
}

// Act sends the staff action a with its argument to a case, as actor, and
// waits for the case's new status. A refused action changes nothing; its
// error has the kind the workflow gave it. An argument over the input
// limits (CheckSize) is refused before it reaches Temporal.
func Act[T any](ctx context.Context, c *Client, caseID, actor string, a workflows.Action[T], arg T) (workflows.Status, error) {
	var st workflows.Status
	if err := CheckSize(arg); err != nil {
		return st, err
	}
	h, err := c.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   care.WorkflowID(caseID),
		UpdateName:   a.Name,
		Args:         []any{actor, arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	if err != nil {
		return st, c.caseError(ctx, caseID, err)
	}
	return st, nil
}

// Status queries a case's status; a closed case answers too.
func (c *Client) Status(ctx context.Context, caseID string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.tc.QueryWorkflow(ctx, care.WorkflowID(caseID), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		return st, c.caseError(ctx, caseID, err)
	}
	return st, nil
}

// caseError gives what Temporal answered about a case its kind and a
// message naming the case.
func (c *Client) caseError(ctx context.Context, caseID string, err error) error {
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		if _, derr := c.tc.DescribeWorkflowExecution(ctx, care.WorkflowID(caseID), ""); derr == nil {
			return &care.Error{Kind: care.KindNotAllowed, Message: fmt.Sprintf("case %s is closed; closed cases take no more actions", caseID), Err: ErrClosed}
		}
		return &care.Error{Kind: care.KindNotFound, Message: fmt.Sprintf("case %s not found", caseID), Err: ErrNotFound}
	case errors.As(err, &appErr):
		kind := care.ErrorKind(appErr.Type())
		if !slices.Contains(care.ErrorKinds, kind) {
			kind = care.KindInternal
		}
		return &care.Error{Kind: kind, Message: fmt.Sprintf("case %s: %s", caseID, appErr.Message()), Err: err}
	}
	kind := TransportKind(err)
	if kind == care.KindUnavailable {
		return &care.Error{Kind: kind, Message: fmt.Sprintf("case %s: no answer in time: %v", caseID, connect.RootCause(err)), Err: err}
	}
	return &care.Error{Kind: kind, Message: fmt.Sprintf("case %s: %v", caseID, connect.RootCause(err)), Err: err}
}

// TransportKind is KindUnavailable for an error that says Temporal (or the
// worker behind it) did not answer in time, else KindInternal.
func TransportKind(err error) care.ErrorKind {
	var deadline *serviceerror.DeadlineExceeded
	var unavailable *serviceerror.Unavailable
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline) || errors.As(err, &unavailable) {
		return care.KindUnavailable
	}
	return care.KindInternal
}
