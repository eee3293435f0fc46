package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

type flakyDispatcher struct{ fail int }

func (d *flakyDispatcher) Dispatch(context.Context, care.Alert) error {
	if d.fail > 0 {
		d.fail--
		return errors.New("pager gateway: 503 Service Unavailable")
	}
	return nil
}

// An automated call the channel did not take is recorded as not delivered,
// with the attempt and why, and goes out on the retry.
func TestAnAlertIsDeliveredOnlyOnceTheChannelTookIt(t *testing.T) {
	t.Parallel()
	a, cid := setup(t)
	d := &flakyDispatcher{fail: 1}
	a.Dispatcher = d
	ctx := context.Background()
	snap, err := pg(a).Case(ctx, cid)
	require.NoError(t, err)
	snap.LastEventSeq = 2
	at := snap.OpenedAt.Add(time.Hour)
	st := care.Step{
		Event:    care.Event{CaseID: cid, Seq: 2, At: at, Actor: care.ActorSystem, Action: "clock", PhaseBefore: snap.Phase, PhaseAfter: snap.Phase},
		Snapshot: snap,
		Alerts:   []care.Alert{{ID: cid + "/call-1/automated-call", CaseID: cid, TaskID: "call-1", Kind: "automated-call", Recipient: snap.PatientID, Message: "automated follow-up call", At: at}},
	}
	require.Error(t, a.RecordStep(ctx, st), "the activity fails, to be retried")
	var row struct {
		Attempts  int        `db:"delivery_attempts"`
		LastError *string    `db:"last_error"`
		Delivered *time.Time `db:"delivered_at"`
	}
	get := func() {
		require.NoError(t, pg(a).DB().Get(&row, `SELECT delivery_attempts, last_error, delivered_at FROM alerts WHERE alert_id = $1`, st.Alerts[0].ID))
	}
	get()
	require.Equal(t, 1, row.Attempts)
	require.Contains(t, *row.LastError, "503")
	require.Nil(t, row.Delivered, "not delivered: it did not go out")

	require.NoError(t, a.RecordStep(ctx, st))
	get()
	require.Equal(t, 2, row.Attempts)
	require.Nil(t, row.LastError)
	require.NotNil(t, row.Delivered)
}
