package workflows

// The case's tasks: opening, finishing, cancelling and writing them, the
// alerts raised about them, and the complete action.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

func (w *caseWorkflow) complete(ctx workflow.Context, actor string, c care.TaskCompletion) (Status, error) {
	return w.act(ctx, actor, UpdateComplete, func() error { return w.recheckComplete(ctx, actor, c) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		t := w.task(c.TaskID)
		if t.Status == care.TaskMissed {
			w.doneLate(t, now, "done")
			return fmt.Sprintf("%s done late; its clock stays missed", t.ID), c, nil
		}
		w.finishTask(t, now, care.TaskDone, "done")
		if t.Kind == care.TaskTCMVisit {
			w.state.LastContactAt = now
			w.visitDone(ctx, now)
		}
		return fmt.Sprintf("%s done%s", t.ID, metSuffix(*t)), c, nil
	})
}

// visitDone moves the medication reconciliation's due time to the end of
// the day of the face-to-face visit that happened at now, when that is
// earlier: it is due no later than the date of the visit (change
// tcm-as-billed).
func (w *caseWorkflow) visitDone(ctx workflow.Context, now time.Time) {
	if w.state.Discharge == nil || workflow.GetVersion(ctx, versionTCMAsBilled, workflow.DefaultVersion, 1) != 1 {
		return
	}
	due := care.EndOfDay(now, w.state.Policy.Location())
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Kind == care.TaskMedRec && t.Status == care.TaskOpen && due.Before(t.Due) {
			t.Due = due
			t.Description = "medication reconciliation no later than the date of the face-to-face visit (" + now.In(w.state.Policy.Location()).Format(time.DateOnly) + ")"
			w.markChanged(t.ID)
		}
	}
}

// medRecMovedBy reports that visitDone would move an open medication
// reconciliation's due time for a visit at at.
func (w *caseWorkflow) medRecMovedBy(at time.Time) bool {
	due := care.EndOfDay(at, w.state.Policy.Location())
	return slices.ContainsFunc(w.state.Tasks, func(t care.Task) bool {
		return t.Kind == care.TaskMedRec && t.Status == care.TaskOpen && due.Before(t.Due)
	})
}

// dischargeTask returns the task of the given kind among the latest
// discharge's clocks, or nil (none, or cancelled and dropped). A discharge
// recorded before change event-dates kept no task ids: its clock is the
// latest task of the kind.
func (w *caseWorkflow) dischargeTask(kind care.TaskKind) *care.Task {
	d := w.state.Discharge
	if d == nil {
		return nil
	}
	var found *care.Task
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; t.Kind == kind && (len(d.Tasks) == 0 || slices.Contains(d.Tasks, t.ID)) {
			found = t
		}
	}
	return found
}

// lateDoable reports that t is a missed clock of the latest discharge (or
// the contact clock of the latest transfer or level change, change
// transition-contact) that staff can still do: it is then recorded done
// late.
func (w *caseWorkflow) lateDoable(t care.Task) bool {
	return t.Status == care.TaskMissed && w.retained(t)
}

// doneLate records a missed clock done: its status is done, its clock stays
// missed.
func (w *caseWorkflow) doneLate(t *care.Task, now time.Time, outcome string) {
	t.Status, t.CompletedAt = care.TaskDone, now
	t.Outcome = fmt.Sprintf("%s late (missed at %s)", outcome, t.Due.UTC().Format(time.RFC3339))
	met := false
	t.Met = &met
	w.markChanged(t.ID)
}

// retained reports that a closed task stays in the workflow state: the
// clocks of the latest discharge (a missed one can be done late, a closed
// readmission watch corrected by a readmission entered late) and the
// missed contact clock of the latest transfer or level change (change
// transition-contact).
func (w *caseWorkflow) retained(t care.Task) bool {
	if t.Status == care.TaskCancelled || t.Status == care.TaskOpen {
		return false
	}
	if tc := w.state.Clocks.TransitionContact; tc != nil && tc.TaskID == t.ID && t.Status == care.TaskMissed {
		return true
	}
	d := w.state.Discharge
	return d != nil && slices.Contains(d.Tasks, t.ID)
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

// doneAt records the tasks of the given kinds done by what happened at at
// (change contact-times), entered at now: an open task that had started by
// then is done at that time, met when that is by its due time. With late,
// a missed clock of the latest discharge (lateDoable) that had started by
// then is done late when at is after its due time, and corrected to met
// when at is not (it fired missed before the entry).
func (w *caseWorkflow) doneAt(at time.Time, outcome string, late bool, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		t := &w.state.Tasks[i]
		if !hasKind(kinds, t.Kind) || !w.startedBy(*t, at) {
			continue
		}
		switch {
		case t.Status == care.TaskOpen:
			w.finishTask(t, at, care.TaskDone, outcome)
		case !late || !w.lateDoable(*t):
		case at.After(t.Due):
			w.doneLate(t, at, outcome)
		default:
			w.finishTask(t, at, care.TaskDone, fmt.Sprintf("%s at %s, entered after its clock fired (it had been recorded missed)",
				outcome, at.UTC().Format(time.RFC3339)))
		}
	}
}

// startedBy reports whether task t had started by at, for a contact made
// then (change contact-times). The clocks of a discharge (and, under change
// transition-contact, the contact clock of a transfer or level change)
// dated without a time and entered on its day start when it was entered,
// though it happened earlier that day: they count from the start of the
// date (transitionFrom).
func (w *caseWorkflow) startedBy(t care.Task, at time.Time) bool {
	start := t.StartedAt
	if d := w.state.Discharge; d != nil && slices.Contains(d.Tasks, t.ID) {
		start = transitionFrom(*d, w.state.Policy.Location())
	}
	if tc := w.state.Clocks.TransitionContact; tc != nil && tc.TaskID == t.ID {
		start = tc.From
	}
	return !at.Before(start)
}

// completeLate records the missed clocks of the given kinds done late.
func (w *caseWorkflow) completeLate(now time.Time, outcome string, kinds ...care.TaskKind) {
	for i := range w.state.Tasks {
		if t := &w.state.Tasks[i]; w.lateDoable(*t) && hasKind(kinds, t.Kind) {
			w.doneLate(t, now, outcome)
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
		if t.Status == care.TaskOpen || w.retained(t) {
			open = append(open, t)
		}
	}
	w.state.Tasks = open
	counts := w.state.Clocks.Alerts[:0]
	for _, c := range w.state.Clocks.Alerts {
		// A closed task raises no more alerts; services are no tasks.
		if strings.HasPrefix(c.TaskID, "service-") || w.task(c.TaskID) != nil {
			counts = append(counts, c)
		}
	}
	w.state.Clocks.Alerts = counts
}

// alert raises an alert about task t. Its id is its business identity
// (case, task, kind and the how-manieth alert of that kind about the task),
// so that delivering it twice, or recording the step again, sends one.
func (w *caseWorkflow) alert(now time.Time, t care.Task, kind, recipient, message string) {
	c := &w.state.Clocks
	i := slices.IndexFunc(c.Alerts, func(a AlertCount) bool { return a.TaskID == t.ID && a.Kind == kind })
	if i < 0 {
		c.Alerts, i = append(c.Alerts, AlertCount{TaskID: t.ID, Kind: kind}), len(c.Alerts)
	}
	c.Alerts[i].N++
	w.alerts = append(w.alerts, care.Alert{
		ID: fmt.Sprintf("%s/%s/%s/%d", w.state.Case.ID, t.ID, kind, c.Alerts[i].N), CaseID: w.state.Case.ID, TaskID: t.ID,
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
