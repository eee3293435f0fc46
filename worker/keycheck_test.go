package worker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/caseflow/caseflow/codec"
)

const (
	keyA = "ka:YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
	keyB = "kb:YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
)

func keyring(t *testing.T, spec string) *codec.Keyring {
	t.Helper()
	kr, err := codec.ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

// started is a WorkflowExecutionStarted event with input written under spec.
func started(t *testing.T, spec string) *historypb.HistoryEvent {
	t.Helper()
	var opts client.Options
	codec.Apply(&opts, keyring(t, spec))
	in, err := opts.DataConverter.ToPayloads("patient input")
	require.NoError(t, err)
	return &historypb.HistoryEvent{EventId: 1, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: in},
	}}
}

// fakeTemporal answers the check's list with the given workflow (none if
// id is empty) and its history with events.
func fakeTemporal(t *testing.T, id string, events ...*historypb.HistoryEvent) *mocks.Client {
	c := mocks.NewClient(t)
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if id != "" {
		resp.Executions = []*workflowpb.WorkflowExecutionInfo{{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r1"}}}
	}
	c.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.GetQuery() == "WorkflowType = 'CaseWorkflow' AND TaskQueue = 'q1'" && r.GetPageSize() == 1
	})).Return(resp, nil)
	if id != "" {
		it := mocks.NewHistoryEventIterator(t)
		n := 0
		it.On("HasNext").Return(func() bool { return n < len(events) })
		it.On("Next").Return(func() (*historypb.HistoryEvent, error) { n++; return events[n-1], nil })
		c.On("GetWorkflowHistory", mock.Anything, id, "r1", false, mock.Anything).Return(it)
	}
	return c
}

func TestCheckKeyring(t *testing.T) {
	ctx := context.Background()
	t.Run("no case yet", func(t *testing.T) {
		require.NoError(t, CheckKeyring(ctx, fakeTemporal(t, ""), "q1", keyring(t, keyB)))
	})
	t.Run("readable", func(t *testing.T) {
		c := fakeTemporal(t, "case-c-1", started(t, keyA))
		require.NoError(t, CheckKeyring(ctx, c, "q1", keyring(t, keyB+","+keyA)))
	})
	t.Run("missing key", func(t *testing.T) {
		c := fakeTemporal(t, "case-c-1", started(t, keyA))
		err := CheckKeyring(ctx, c, "q1", keyring(t, keyB))
		var ke *KeyringError
		require.ErrorAs(t, err, &ke)
		assert.Equal(t, []string{"ka"}, ke.Missing)
		assert.Empty(t, ke.Different)
		assert.Equal(t, `this worker cannot read the cases on task queue "q1": workflow case-c-1 has payloads encrypted with key "ka", `+
			`which its keyring does not have (keyring: "kb"); start it with the namespace's keys in CASEFLOW_CODEC_KEYS or CASEFLOW_CODEC_KEY_FILE `+
			`(the primary key first, older keys after it) and see "Wrong or missing key" in docs/privacy.md`, err.Error())
		assert.NotContains(t, err.Error(), "patient input")
	})
	t.Run("same id other key", func(t *testing.T) {
		c := fakeTemporal(t, "case-c-1", started(t, keyA))
		other := "ka:" + strings.SplitN(keyB, ":", 2)[1]
		err := CheckKeyring(ctx, c, "q1", keyring(t, other))
		var ke *KeyringError
		require.ErrorAs(t, err, &ke)
		assert.Equal(t, []string{"ka"}, ke.Different)
		assert.Contains(t, err.Error(), "under the same id but with other key material")
	})
	t.Run("cannot look", func(t *testing.T) {
		c := mocks.NewClient(t)
		c.On("ListWorkflow", mock.Anything, mock.Anything).Return(nil, errors.New("visibility unavailable"))
		err := CheckKeyring(ctx, c, "q1", keyring(t, keyB))
		require.Error(t, err)
		var ke *KeyringError
		assert.False(t, errors.As(err, &ke), "an unanswered check is not a wrong keyring")
	})
}
