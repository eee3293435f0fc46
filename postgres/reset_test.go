package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
)

// A reset makes a new run take steps again with seqs the trail has: they are
// appended after a "reset" event, the snapshot follows the new run, and the
// old run's late writes never move it.
func TestResetRunsAppendAndTakeTheSnapshot(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-reset")
	step := func(run string, seq int, phase care.Phase, shift time.Duration) {
		t.Helper()
		ev := event(cid, seq, care.PhaseScreening, phase, "")
		ev.At = ev.At.Add(shift)
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snapshot(cid, pid, seq, phase)}, run))
	}
	for seq := 1; seq <= 4; seq++ {
		step("run-1", seq, care.PhaseAssessment, 0)
	}
	step("run-1", 4, care.PhaseAssessment, 0) // a retry
	// Reset to after event 2: run-2 re-runs 3 and 4, later and differently.
	step("run-2", 3, care.PhasePlanning, time.Hour)
	got, err := s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhasePlanning, got.Phase, "the snapshot follows the run that took over")
	require.Equal(t, 3, got.LastEventSeq)
	step("run-2", 3, care.PhasePlanning, time.Hour) // a retry of the re-run step
	step("run-1", 5, care.PhaseClosed, 0)           // a late write of the superseded run
	step("run-2", 4, care.PhaseImplementation, time.Hour)
	got, err = s.Case(ctx, cid)
	require.NoError(t, err)
	require.Equal(t, care.PhaseImplementation, got.Phase, "a superseded run never moves the snapshot")
	require.Equal(t, 4, got.LastEventSeq)
	// run-3 continues run-2 as new: no reset.
	step("run-3", 5, care.PhaseFollowUp, time.Hour)
	step("run-3", 6, care.PhaseFollowUp, time.Hour)

	evs, err := s.Events(ctx, cid)
	require.NoError(t, err)
	var trail []string
	for _, e := range evs {
		trail = append(trail, e.Action+":"+string(rune('0'+e.Seq)))
	}
	require.Equal(t, []string{
		"step-assessment:1", "step-assessment:2", "step-assessment:3", "step-assessment:4", "step-closed:5",
		"reset:3", "step-planning:3", "step-implementation:4", "step-follow-up:5", "step-follow-up:6",
	}, trail, "superseded events, then the reset, then the new runs")
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1 AND action = $2`, cid, postgres.ActionReset))
	require.Contains(t, evs[5].Summary, "run-2")
	// The reset's detail says which run took over from which event, and
	// which runs' events up to which seq it superseded: run-1's 3 and 4,
	// its 5 came in late, after the reset.
	require.JSONEq(t, `{"run_id": "run-2", "from_seq": 3, "superseded_to_seq": 4, "superseded_runs": ["run-1"]}`,
		string(evs[5].Detail.(json.RawMessage)))
	require.Equal(t, care.ActorSystem, evs[5].Actor)
	require.Equal(t, care.PhaseScreening, evs[5].PhaseBefore, "a reset moves no phase")
	require.Equal(t, evs[5].PhaseBefore, evs[5].PhaseAfter)
}

// A superseded run's late step keeps its event in the trail and writes
// nothing else: not its tasks (the worklist follows the run that took the
// case over), not its alerts (nothing is sent for a replaced run), not its
// services.
func TestASupersededRunsLateStepWritesOnlyItsEvent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-reset-late")
	task := func(owner string, status care.TaskStatus) care.Task {
		return care.Task{ID: "coordination-3", CaseID: cid, Kind: care.TaskCoordination, Description: "book the visit",
			Owner: owner, StartedAt: at(3), Due: at(30), Status: status}
	}
	step := func(run string, seq int, st care.Step) {
		t.Helper()
		st.Event = event(cid, seq, care.PhaseScreening, care.PhaseAssessment, "")
		st.Snapshot = snapshot(cid, pid, seq, care.PhaseAssessment)
		require.NoError(t, s.RecordStep(ctx, st, run))
	}
	for seq := 1; seq <= 3; seq++ {
		step("run-1", seq, care.Step{})
	}
	// Reset to after event 2: run-2 re-runs 3, opening a task for cm-bob.
	step("run-2", 3, care.Step{Tasks: []care.Task{task("cm-bob", care.TaskOpen)}})
	// run-1's step 4 arrives late, with a task, an alert and a service.
	step("run-1", 4, care.Step{Tasks: []care.Task{task("cm-ana", care.TaskDone)},
		Alerts:   []care.Alert{{ID: cid + "/coordination-3/late/1", CaseID: cid, TaskID: "coordination-3", Kind: "late", Recipient: "sup-1", Message: "m", At: at(4)}},
		Services: []care.ServiceState{{Service: care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy"}, Status: care.ServiceCancelled}}})

	var owner, status string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT owner, status FROM tasks WHERE case_id = $1 AND task_id = 'coordination-3'`, cid).Scan(&owner, &status))
	require.Equal(t, []string{"cm-bob", "open"}, []string{owner, status}, "the task as the run that took over left it")
	require.Zero(t, count(t, s, `SELECT count(*) FROM alerts WHERE case_id = $1`, cid), "no alert of a replaced run")
	require.Zero(t, count(t, s, `SELECT count(*) FROM case_services WHERE case_id = $1`, cid), "no service state of a replaced run")
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1 AND run_id = 'run-1' AND seq = 4`, cid), "its event stays in the trail")
}

// A reset replays the case's counters, so the run that takes over can raise
// a different alert under an id the replaced run used: it is kept (and so
// delivered) under a suffixed id, never dropped; the same alert raised
// again, later, stays one row.
func TestAnAlertIDAResetReusesForAnotherAlertKeepsBoth(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-reset-alert")
	alert := func(task, message string, hour int) care.Alert {
		return care.Alert{ID: cid + "/" + task + "/call-due/1", CaseID: cid, TaskID: task, Kind: "call-due",
			Recipient: "cm-ana", Message: message, At: at(hour)}
	}
	step := func(run string, seq int, alerts ...care.Alert) {
		t.Helper()
		ev := event(cid, seq, care.PhaseScreening, care.PhaseAssessment, "")
		ev.At = ev.At.Add(time.Duration(len(run)) * time.Minute)
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snapshot(cid, pid, seq, care.PhaseAssessment), Alerts: alerts}, run))
	}
	step("run-1", 1)
	step("run-1", 2, alert("call-7", "call-7 is due", 2))
	// Reset to after event 1: run-2 re-runs 2 and raises the same alert,
	// later; then a different one under the same id (task-7 is now
	// another task).
	step("run-2", 2, alert("call-7", "call-7 is due", 3))
	require.Equal(t, 1, count(t, s, `SELECT count(*) FROM alerts WHERE case_id = $1`, cid), "the same alert raised again is one row")
	other := alert("call-7", "call-7 of the new plan is due", 4)
	step("run-2", 3, other)
	step("run-2", 3, other) // a retry
	var ids []string
	require.NoError(t, s.DB().SelectContext(ctx, &ids, `SELECT alert_id FROM alerts WHERE case_id = $1 ORDER BY at`, cid))
	require.Equal(t, []string{other.ID, postgres.ReusedAlertID(other)}, ids, "the other alert is kept under its suffixed id")
	pending, err := s.UndeliveredAlerts(ctx, cid)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	require.Equal(t, "call-7 of the new plan is due", pending[1].Message)
}

// A reset puts the tasks back as the live steps left them: a task that the
// replaced run closed after the reset's point is open again, one that only
// the replaced run opened is gone from the worklist (and the reports), and
// the run that takes over writes its own, with its own times.
func TestAResetRestoresTheTasksTheReplacedRunWrote(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	pid, cid := newCase(t, s, "mrn-reset-tasks")
	call := care.Task{ID: "call-1", CaseID: cid, Kind: care.TaskCall, Description: "call the client", Owner: "cm-ana",
		StartedAt: at(2), Due: at(60), Status: care.TaskOpen}
	called := call
	called.Status, called.Outcome, called.CompletedAt = care.TaskDone, "reached", at(3)
	escalation := care.Task{ID: "lost-to-contact-1", CaseID: cid, Kind: care.TaskLostToContact, Description: "decide what to do", Owner: "sup-bo",
		StartedAt: at(4), Due: at(90), Status: care.TaskOpen}
	step := func(run string, seq int, tasks ...care.Task) {
		t.Helper()
		ev := event(cid, seq, care.PhaseFollowUp, care.PhaseFollowUp, "")
		ev.At = ev.At.Add(time.Duration(len(run)) * time.Minute)
		require.NoError(t, s.RecordStep(ctx, care.Step{Event: ev, Snapshot: snapshot(cid, pid, seq, care.PhaseFollowUp), Tasks: tasks}, run))
	}
	type row struct {
		TaskID    string    `db:"task_id"`
		Status    string    `db:"status"`
		Outcome   string    `db:"outcome"`
		StartedAt time.Time `db:"started_at"`
	}
	tasks := func() []row {
		t.Helper()
		var out []row
		require.NoError(t, s.DB().SelectContext(ctx, &out, `SELECT task_id, status, outcome, started_at FROM tasks WHERE case_id = $1 ORDER BY task_id`, cid))
		for i := range out {
			out[i].StartedAt = out[i].StartedAt.UTC()
		}
		return out
	}
	step("run-1", 1)
	step("run-1", 2, call)
	step("run-1", 3, called)
	step("run-1", 4, escalation)
	require.Equal(t, []row{{"call-1", "done", "reached", at(2)}, {"lost-to-contact-1", "open", "", at(4)}}, tasks())

	// Reset to after event 2: the call is open again, the lost-to-contact task gone.
	step("run-2", 3)
	require.Equal(t, []row{{"call-1", "open", "", at(2)}}, tasks(), "the tasks as step 2 left them")
	// The new run opens its own lost-to-contact-1, later: its own start time.
	later := escalation
	later.StartedAt = at(7)
	step("run-2", 4, later)
	step("run-1", 5, called) // a late write of the replaced run changes nothing
	require.Equal(t, []row{{"call-1", "open", "", at(2)}, {"lost-to-contact-1", "open", "", at(7)}}, tasks())

	// A second reset, to after event 3: run-3 re-runs step 4, closing the
	// call; the task run-2's step 4 opened is gone with that step.
	step("run-3", 4, called)
	require.Equal(t, []row{{"call-1", "done", "reached", at(2)}}, tasks(), "run-2's step 4 is superseded, and with it its lost-to-contact task")
	require.Equal(t, 2, count(t, s, `SELECT count(*) FROM case_events WHERE case_id = $1 AND action = $2`, cid, postgres.ActionReset))
}
