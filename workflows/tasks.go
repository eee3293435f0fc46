package workflows

// The case's tasks: opening, finishing, cancelling and writing them, the
// alerts raised about them, and the complete action.

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

func (w *caseWorkflow) complete(ctx workflow.Context, actor string, c care.TaskCompletion) (Status, error) {
	return w.act(ctx, actor, UpdateComplete, func() error { return w.canComplete(actor, c) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		t := w.task(c.TaskID)
		w.finishTask(t, now, care.TaskDone, "done")
		if t.Kind == care.TaskTCMVisit {
			w.state.LastContactAt = now
		}
		return fmt.Sprintf("%s done%s", t.ID, metSuffix(*t)), c, nil
	})
}

// newTask opens a task and returns a copy of it.
func (w *caseWorkflow) newTask(now time.Time, kind care.TaskKind, desc, owner string, due time.Time, clock bool) care.Task {
	w.state.TaskSeq++
	t := care.Task{
		ID: fmt.Sprintf("%s-%d", kind, w.state.TaskSeq), CaseID: w.state.Case.ID, Kind: kind, Description: desc,
		Owner: owner, StartedAt: now, Due: due, Status: care.TaskOpen, Clock: clock,
	}
	w.state.Tasks = append(w.state.Tasks, t)
	w.markChanged(t.ID)
	return t
}

// task returns the task with id, or nil.
func (w *caseWorkflow) task(id string) *care.Task {
	for i := range w.state.Tasks {
		if w.state.Tasks[i].ID == id {
			return &w.state.Tasks[i]
		}
	}
	return nil
}

// finishTask closes a task; a clock done by its due time is met.
func (w *caseWorkflow) finishTask(t *care.Task, now time.Time, status care.TaskStatus, outcome string) {
	t.Status, t.Outcome, t.CompletedAt = status, outcome, now
	if t.Clock {
		met := status == care.TaskDone && !now.After(t.Due)
		t.Met = &met
	}
	w.markChanged(t.ID)
}

// completeTasks marks the open tasks of the given kinds done.
func (w *caseWorkflow) completeTasks(now time.Time, outcome string, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Status == care.TaskOpen && hasKind(kinds, t.Kind) {
			w.finishTask(t, now, care.TaskDone, outcome)
		}
	}
}

// cancelTasks cancels the open tasks of the given kinds (all kinds if none).
func (w *caseWorkflow) cancelTasks(now time.Time, reason string, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Status == care.TaskOpen && (len(kinds) == 0 || hasKind(kinds, t.Kind)) {
			t.Status, t.Outcome, t.CompletedAt = care.TaskCancelled, reason, now
			w.markChanged(t.ID)
		}
	}
}

func hasKind(kinds []care.TaskKind, k care.TaskKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// markChanged notes that the step must write task id.
func (w *caseWorkflow) markChanged(id string) {
	for _, c := range w.changed {
		if c == id {
			return
		}
	}
	w.changed = append(w.changed, id)
}

// changedTasks returns copies of the tasks the step changed.
func (w *caseWorkflow) changedTasks() []care.Task {
	var out []care.Task
	for _, id := range w.changed {
		if t := w.task(id); t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// pruneTasks drops closed tasks from the workflow state; PostgreSQL keeps
// them.
func (w *caseWorkflow) pruneTasks() {
	open := w.state.Tasks[:0]
	for _, t := range w.state.Tasks {
		if t.Status == care.TaskOpen {
			open = append(open, t)
		}
	}
	w.state.Tasks = open
}

// alert raises an alert about task t. Its id makes it idempotent.
func (w *caseWorkflow) alert(now time.Time, t care.Task, kind, recipient, message string) {
	w.alerts = append(w.alerts, care.Alert{
		ID: fmt.Sprintf("%s/%s/%s/%d", w.state.Case.ID, t.ID, kind, w.state.Seq+1), CaseID: w.state.Case.ID, TaskID: t.ID,
		Kind: kind, Recipient: recipient, Message: message, At: now,
	})
}

func metSuffix(t care.Task) string {
	switch {
	case t.Met == nil:
		return ""
	case *t.Met:
		return " (in time)"
	}
	return " (late)"
}
