package caseclient

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// fakeTemporal answers updates, queries and starts with err; a case exists
// (closed) when closed is set.
type fakeTemporal struct {
	client.Client
	err     error
	closed  bool
	updates []client.UpdateWorkflowOptions
	starts  []client.StartWorkflowOptions
	args    [][]any
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.updates = append(f.updates, o)
	return nil, f.err
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, f.err
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.starts = append(f.starts, o)
	f.args = append(f.args, args)
	return nil, f.err
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if f.closed {
		return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
	}
	return nil, serviceerror.NewNotFound("workflow not found")
}

func TestActionErrorsCarryTheirKind(t *testing.T) {
	for name, tc := range map[string]struct {
		err    error
		closed bool
		kind   care.ErrorKind
		is     error
	}{
		"refused by the validator": {temporal.NewApplicationError("assess is not allowed in screening", string(care.KindNotAllowed)), false, care.KindNotAllowed, nil},
		"invalid record":           {fmt.Errorf("update failed: %w", temporal.NewApplicationError("bad", string(care.KindInvalid))), false, care.KindInvalid, nil},
		"unknown type":             {temporal.NewApplicationError("panic", "PanicError"), false, care.KindInternal, nil},
		"no such case":             {serviceerror.NewNotFound("workflow not found"), false, care.KindNotFound, ErrNotFound},
		"closed case":              {serviceerror.NewNotFound("workflow execution already completed"), true, care.KindNotAllowed, ErrClosed},
		"no worker":                {context.DeadlineExceeded, false, care.KindUnavailable, nil},
		"server deadline":          {serviceerror.NewDeadlineExceeded("deadline"), false, care.KindUnavailable, nil},
		"server down":              {serviceerror.NewUnavailable("unavailable"), false, care.KindUnavailable, nil},
		"other":                    {errors.New("boom"), false, care.KindInternal, nil},
	} {
		f := &fakeTemporal{err: tc.err, closed: tc.closed}
		c := New(f, "q")
		_, err := Act(context.Background(), c, "c-1", "cm-ana", workflows.Screen, care.Screening{Eligible: true})
		if got := care.KindOf(err); got != tc.kind {
			t.Errorf("%s: kind %s, want %s (%v)", name, got, tc.kind, err)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v is not %v", name, err, tc.is)
		}
		_, err = c.Status(context.Background(), "c-1")
		if got := care.KindOf(err); got != tc.kind {
			t.Errorf("%s: status: kind %s, want %s (%v)", name, got, tc.kind, err)
		}
		if len(f.updates) != 1 || f.updates[0].UpdateName != workflows.UpdateScreen || f.updates[0].WorkflowID != care.WorkflowID("c-1") {
			t.Errorf("%s: updates %+v", name, f.updates)
		}
	}
}

func TestOpenReportsACaseThatExists(t *testing.T) {
	f := &fakeTemporal{err: serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")}
	c := New(f, "caseflow-q")
	cs, p := care.Case{ID: "c-1", Program: "complex-case", Manager: "cm-ana"}, care.Policy{Program: "complex-case", Version: 3}
	opened, err := c.Open(context.Background(), cs, p)
	if err != nil || opened {
		t.Fatalf("Open = %v, %v; want false, nil", opened, err)
	}
	// The input names the policy's version and does not carry the policy
	// (change policy-by-reference).
	if in := f.args[0][0].(*workflows.CaseInput); in.PolicyVersion != 3 || in.Policy.Version != 0 || in.Case.ID != "c-1" {
		t.Fatalf("workflow input %+v", in)
	}
	if s := f.starts[0]; s.ID != care.WorkflowID("c-1") || s.TaskQueue != "caseflow-q" || !s.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Fatalf("start options %+v", s)
	}
	f.err = serviceerror.NewUnavailable("down")
	if _, err := c.Open(context.Background(), cs, p); care.KindOf(err) != care.KindUnavailable {
		t.Fatalf("Open with Temporal down: %v (kind %s)", err, care.KindOf(err))
	}
}
