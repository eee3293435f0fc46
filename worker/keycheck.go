package worker

import (
	"context"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/codec"
)

// EnvSkipKeyCheck names the environment variable that, set to 1, makes the
// worker start without CheckKeyring: for emergencies and for the test that
// proves a wrong-key worker fails no workflow. See docs/privacy.md.
const EnvSkipKeyCheck = "CASEFLOW_SKIP_KEY_CHECK"

// checkEvents bounds how much history CheckKeyring reads: the first page of
// one workflow's history, at most.
const checkEvents = 200

// KeyringError says that the worker's keyring cannot read the payloads of a
// case on its task queue.
type KeyringError struct {
	TaskQueue  string
	WorkflowID string
	// Missing are key ids the payloads name that the keyring does not have;
	// Different those it has under the same id with other key material.
	Missing, Different []string
	// Keyring are the worker's key ids, primary first.
	Keyring []string
}

func (e *KeyringError) Error() string {
	var what []string
	if len(e.Missing) > 0 {
		what = append(what, fmt.Sprintf("key %s, which its keyring does not have", quote(e.Missing)))
	}
	if len(e.Different) > 0 {
		what = append(what, fmt.Sprintf("key %s, which its keyring has under the same id but with other key material", quote(e.Different)))
	}
	return fmt.Sprintf("this worker cannot read the cases on task queue %q: workflow %s has payloads encrypted with %s (keyring: %s); "+
		"start it with the namespace's keys in %s or %s (the primary key first, older keys after it) and see \"Wrong or missing key\" in docs/privacy.md",
		e.TaskQueue, e.WorkflowID, strings.Join(what, " and "), quote(e.Keyring), codec.EnvKeys, codec.EnvKeyFile)
}

func quote(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

// CheckKeyring reads the first history page of the most recent case
// workflow on taskQueue (a running one if there is any) and tries kr on
// every key its payloads name. It returns a *KeyringError when kr cannot
// decrypt them, nil when it can or when there is no case yet, and another
// error when it could not look.
func CheckKeyring(ctx context.Context, c client.Client, taskQueue string, kr *codec.Keyring) error {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: 1,
		Query:    fmt.Sprintf("WorkflowType = 'CaseWorkflow' AND TaskQueue = '%s'", strings.ReplaceAll(taskQueue, "'", `\'`)),
	})
	if err != nil {
		return fmt.Errorf("cannot list the case workflows of task queue %q: %w", taskQueue, err)
	}
	if len(resp.GetExecutions()) == 0 {
		return nil
	}
	ex := resp.GetExecutions()[0].GetExecution()
	it := c.GetWorkflowHistory(ctx, ex.GetWorkflowId(), ex.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var payloads []*commonpb.Payload
	for n := 0; n < checkEvents && it.HasNext(); n++ {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("cannot read the history of %s: %w", ex.GetWorkflowId(), err)
		}
		err = proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				payloads = append(payloads, ps...)
				return ps, nil
			},
		})
		if err != nil {
			return fmt.Errorf("cannot read the payloads of %s: %w", ex.GetWorkflowId(), err)
		}
	}
	missing, different := kr.Unreadable(payloads)
	if len(missing) == 0 && len(different) == 0 {
		return nil
	}
	return &KeyringError{TaskQueue: taskQueue, WorkflowID: ex.GetWorkflowId(), Missing: missing, Different: different, Keyring: kr.IDs()}
}
