package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/metrics"
)

func TestStepCountsWhatTheStepDid(t *testing.T) {
	m := metrics.New()
	yes, no := true, false
	m.Step(care.Step{
		Event:    care.Event{CaseID: "c-1", Action: "call", Actor: "cm-ana", Detail: map[string]any{"outcome": "no-answer"}},
		Snapshot: care.Snapshot{CaseID: "c-1", Program: "demo"},
		Tasks: []care.Task{
			{Kind: care.TaskCall, Clock: true, Status: care.TaskDone, Met: &yes},
			{Kind: care.TaskTCMContact, Clock: true, Status: care.TaskMissed, Met: &no},
			{Kind: care.TaskTCMVisit, Clock: true, Status: care.TaskDone, Met: &no},
			{Kind: care.TaskLostToContact, Status: care.TaskOpen},
		},
		Alerts: []care.Alert{{Kind: "no-answer"}},
	}, nil)
	m.Step(care.Step{Event: care.Event{Action: "close", Actor: "cm-ana", PhaseBefore: care.PhaseFollowUp, PhaseAfter: care.PhaseClosed},
		Snapshot: care.Snapshot{Program: "demo", ClosureReason: "goals-met"}}, nil)
	require.Equal(t, 1.0, testutil.ToFloat64(m.StaffActions.WithLabelValues("demo", "call", "no-answer")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "call", "met")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "tcm-contact", "missed")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "tcm-visit", "unmet")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Alerts.WithLabelValues("demo", "no-answer")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.CasesClosed.WithLabelValues("demo", "goals-met")))
	require.Equal(t, 2.0, testutil.ToFloat64(m.Steps.WithLabelValues("demo")))
}

// A clock is counted once, when it closes: written again (a retried
// step), it is not counted; its result changed later (a missed clock done
// late, a met watch undone by a late readmission), it counts "corrected".
func TestAClockIsCountedWhenItCloses(t *testing.T) {
	m := metrics.New()
	yes, no := true, false
	step := func(task care.Task, prior map[string]care.Task) {
		m.Step(care.Step{Snapshot: care.Snapshot{Program: "demo"}, Tasks: []care.Task{task}}, prior)
	}
	missed := care.Task{ID: "tcm-contact-1", Kind: care.TaskTCMContact, Clock: true, Status: care.TaskMissed, Met: &no}
	step(missed, map[string]care.Task{"tcm-contact-1": {Status: care.TaskOpen}})
	step(missed, map[string]care.Task{"tcm-contact-1": missed}) // a retry
	late := missed
	late.Status = care.TaskDone
	step(late, map[string]care.Task{"tcm-contact-1": missed})
	watch := care.Task{ID: "readmission-watch-2", Kind: care.TaskReadmissionWatch, Clock: true, Status: care.TaskDone, Met: &yes}
	step(watch, nil)
	undone := watch
	undone.Met = &no
	step(undone, map[string]care.Task{"readmission-watch-2": watch})
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "tcm-contact", "missed")))
	require.Zero(t, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "tcm-contact", "unmet")), "counted when it closed")
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "tcm-contact", "corrected")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "readmission-watch", "met")))
	require.Zero(t, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "readmission-watch", "unmet")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Clocks.WithLabelValues("demo", "readmission-watch", "corrected")))
}

func TestReadyzNamesWhatIsUnreachable(t *testing.T) {
	m := metrics.New()
	h := m.Handler(
		metrics.Check{Name: "postgres", Check: func(context.Context) error { return errors.New("down") }},
		metrics.Check{Name: "temporal", Check: func(context.Context) error { return nil }})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, want, rec.Code, path)
		if path == "/readyz" {
			require.True(t, strings.Contains(rec.Body.String(), "postgres: unreachable") && strings.Contains(rec.Body.String(), "temporal: ok"), rec.Body.String())
		}
	}
}
