package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/worker"
)

// replay is scenario 6: how long worker.WorkflowReplayer takes to replay a
// whole demo case, as a worker does when a case is not in its cache (or a
// test replays recorded histories); against a baseline timer workflow's
// history. Each history is replayed cfg.Replays times in this process.
func (e *env) replay(ctx context.Context) error {
	kr, err := codec.ParseKeyring(testkeys.Spec)
	if err != nil {
		return err
	}
	dc := codec.DataConverter(kr)
	r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
		DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
	})
	if err != nil {
		return err
	}
	worker.RegisterWorkflows(r)
	r.RegisterWorkflowWithOptions(TimerWorkflow, workflow.RegisterOptions{Name: TimerWorkflowName})
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	type target struct {
		name, path string
	}
	cases := []target{{"recorded demo case (workflows/testdata/histories/river-full-lifecycle.json)",
		filepath.Join(e.cfg.Root, "workflows", "testdata", "histories", "river-full-lifecycle.json")}}
	if e.riverPath != "" {
		cases = append(cases, target{"this run's demo case (scenario 4)", e.riverPath})
	}
	var cfRows []string
	var first dist
	var firstEvents int
	for _, t := range cases {
		d, h, err := replayTimes(ctx, r, logger, t.path, e.cfg.Replays)
		events := len(h.GetEvents())
		if err != nil {
			return fmt.Errorf("replay %s: %w", t.name, err)
		}
		if firstEvents == 0 {
			first, firstEvents = d, events
		}
		cfRows = append(cfRows, fmt.Sprintf("%s: mean %s · p99 %s per case (%d events)", t.name, ms(d.mean), ms(d.p99), events))
		e.logf("6: %s", cfRows[len(cfRows)-1])
	}
	baseline := "-"
	var bl dist
	var blEvents int
	if e.baselineHist != "" {
		var h *historypb.History
		if bl, h, err = replayTimes(ctx, r, logger, e.baselineHist, e.cfg.Replays); err != nil {
			return fmt.Errorf("replay the baseline history: %w", err)
		}
		blEvents = len(h.GetEvents())
		fires := 0
		for _, ev := range h.GetEvents() {
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
				fires++
			}
		}
		baseline = fmt.Sprintf("timer workflow (%d timer fires): mean %s · p99 %s (%d events)", fires, ms(bl.mean), ms(bl.p99), blEvents)
	}
	row := Row{ID: "6", Scenario: fmt.Sprintf("Replay speed: whole demo-case history with worker.WorkflowReplayer, %d times each", e.cfg.Replays),
		Caseflow: joinLines(cfRows), Baseline: baseline, Goal: "-", Result: ResultInfo,
		Values: map[string]float64{"mean_ms": msf(first.mean), "p99_ms": msf(first.p99), "events": float64(firstEvents),
			"us_per_event": float64(first.mean) / float64(time.Microsecond) / float64(max(firstEvents, 1))}}
	if blEvents > 0 {
		row.Values["baseline_mean_ms"] = msf(bl.mean)
		row.Values["baseline_us_per_event"] = float64(bl.mean) / float64(time.Microsecond) / float64(blEvents)
	}
	e.rep.add(row)
	return nil
}

func replayTimes(ctx context.Context, r sdkworker.WorkflowReplayer, logger sdklog.Logger, path string, n int) (dist, *historypb.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return dist{}, nil, err
	}
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	f.Close()
	if err != nil {
		return dist{}, nil, err
	}
	// One untimed replay warms up the replayer (and checks the history).
	if err := r.ReplayWorkflowHistory(logger, h); err != nil {
		return dist{}, nil, err
	}
	var ds []time.Duration
	for range n {
		if ctx.Err() != nil {
			return dist{}, nil, ctx.Err()
		}
		hc := cloneHistory(h)
		t0 := time.Now()
		if err := r.ReplayWorkflowHistory(logger, hc); err != nil {
			return dist{}, nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	return summarize(ds), h, nil
}

// cloneHistory gives each replay a history of its own, as a worker gets one
// from the server.
func cloneHistory(h *historypb.History) *historypb.History {
	return &historypb.History{Events: h.GetEvents()}
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "<br>"
		}
		out += l
	}
	return out
}
