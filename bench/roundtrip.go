package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/workflows"
)

const baselineMainQueue = "bench-baseline-main"

// roundTrip is scenario 2: the latency of a staff action (a contact, which
// runs the RecordStep activity before it answers) while cfg.Open cases are
// open, against a no-op update of a trivial workflow. The two kinds of
// update alternate, one at a time, so that both see the same server.
func (e *env) roundTrip(ctx context.Context) error {
	if err := e.ensureMainWorker(ctx); err != nil {
		return err
	}
	base, err := e.startBaseline(ctx, baselineMainQueue, &fireLog{})
	if err != nil {
		return err
	}
	defer base.stop()
	cfg := e.cfg
	p, err := e.slowPolicy(ctx)
	if err != nil {
		return err
	}
	e.logf("2: opening %d cases", cfg.Open)
	if err := e.addPatients(ctx, "rt", cfg.Open); err != nil {
		return err
	}
	const manager = "cm-bench-rt"
	if err := parallel(ctx, cfg.Open, cfg.Concurrency, func(ctx context.Context, i int) error {
		return e.startCase(ctx, mainQueue, e.benchCase("rt", i, p.Program, manager), p, nil)
	}); err != nil {
		return err
	}
	if err := e.waitCount(ctx, "cases recorded", cfg.Open, 10*time.Minute, `SELECT count(*) FROM cases WHERE manager = $1`, manager); err != nil {
		return err
	}
	d, err := e.demo()
	if err != nil {
		return err
	}
	e.logf("2: driving %d of them to follow-up through the normal updates", cfg.RTCases)
	if err := parallel(ctx, cfg.RTCases, 4, func(ctx context.Context, i int) error {
		return e.driveToFollowUp(ctx, caseID("rt", i), benchPlan(d))
	}); err != nil {
		return err
	}
	var echo []string
	for i := range cfg.RTCases {
		id := fmt.Sprintf("echo-%06d", i)
		if _, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: baselineMainQueue}, EchoWorkflowName); err != nil {
			return err
		}
		echo = append(echo, id)
	}
	contact := care.Contact{With: care.PartyClient, Notes: "benchmark: weekly check-in"}
	cc := e.cases()
	send := func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		t0 := time.Now()
		if _, err := caseclient.Act(ctx, cc, caseID("rt", i%cfg.RTCases), Actor, workflows.Contact, contact); err != nil {
			return 0, 0, err
		}
		t1 := time.Now()
		h, err := e.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: echo[i%cfg.RTCases], UpdateName: EchoUpdate, Args: []any{Actor, contact},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return t1.Sub(t0), time.Since(t1), err
	}
	// One warm-up round: the first update of each workflow is not measured.
	for i := range cfg.RTCases {
		if _, _, err := send(ctx, i); err != nil {
			return err
		}
	}
	e.logf("2: %d contact updates and %d no-op updates, alternating, one at a time, %d cases open", cfg.Updates, cfg.Updates, cfg.Open)
	var cf, bl []time.Duration
	for i := range cfg.Updates {
		a, b, err := send(ctx, i)
		if err != nil {
			return err
		}
		cf, bl = append(cf, a), append(bl, b)
	}
	c, b := summarize(cf), summarize(bl)
	r := ratio(float64(c.p99), float64(b.p99))
	e.rep.add(Row{ID: "2", Scenario: fmt.Sprintf("Staff action round trip: `contact` update (validate, record in PostgreSQL, answer) with %s cases open; baseline: no-op update; %s of each, one at a time", count(cfg.Open), count(cfg.Updates)),
		Caseflow: c.latencies(), Baseline: b.latencies(), Goal: "p99 ≤ 1.5× baseline",
		Result: metIf(r <= 1.5, fmt.Sprintf("%.1f×", r)),
		Values: map[string]float64{"p50_ms": msf(c.p50), "p99_ms": msf(c.p99), "max_ms": msf(c.max),
			"baseline_p50_ms": msf(b.p50), "baseline_p99_ms": msf(b.p99), "ratio": r, "open": float64(cfg.Open)}})
	e.logf("2: caseflow %s; baseline %s", c.latencies(), b.latencies())
	if note, err := e.updateBreakdown(ctx, caseID("rt", 0)); err == nil && note != "" {
		e.rep.note("%s", note)
		e.logf("2: %s", note)
	}
	return e.terminate(ctx, echo)
}

// updateBreakdown says where the time of a contact update went, from the
// history of a case of the round trip: the mean of each stretch over its
// contact updates, as the server stamped the events. RecordStep runs as an
// activity (through the task queue, then a second workflow task answers)
// or, since change record-step-local, as a local activity inside the
// update's workflow task; each path has its own stretches.
func (e *env) updateBreakdown(ctx context.Context, caseID string) (string, error) {
	evs, err := e.history(ctx, care.WorkflowID(caseID), "")
	if err != nil {
		return "", err
	}
	remote := []string{"first workflow task (validate, apply, schedule RecordStep)", "activity task dispatch",
		"RecordStep in PostgreSQL", "next workflow task dispatch", "workflow task (answer)"}
	local := []string{"workflow task dispatch", "workflow task (validate, apply, RecordStep in PostgreSQL as a local activity, answer)"}
	sums := map[bool][]time.Duration{false: make([]time.Duration, len(remote)), true: make([]time.Duration, len(local))}
	counts := map[bool]int{}
	at := func(i int) time.Time { return evs[i].GetEventTime().AsTime() }
	find := func(from int, t enumspb.EventType) int {
		for i := from; i >= 0 && i < len(evs); i++ {
			if evs[i].GetEventType() == t {
				return i
			}
		}
		return -1
	}
	before := func(from int, t enumspb.EventType) int {
		for j := from; j >= 0; j-- {
			if evs[j].GetEventType() == t {
				return j
			}
		}
		return -1
	}
	for i, ev := range evs {
		a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
		if a == nil || a.GetAcceptedRequest().GetInput().GetName() != workflows.UpdateContact {
			continue
		}
		id := a.GetAcceptedRequest().GetMeta().GetUpdateId()
		completed := -1
		for j := i + 1; j < len(evs); j++ {
			if c := evs[j].GetWorkflowExecutionUpdateCompletedEventAttributes(); c != nil && c.GetMeta().GetUpdateId() == id {
				completed = j
				break
			}
		}
		wftStarted := before(i, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		if completed < 0 || wftStarted < 0 {
			continue
		}
		sched := find(i, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
		if marker := find(i, enumspb.EVENT_TYPE_MARKER_RECORDED); marker >= 0 && marker < completed && (sched < 0 || sched > completed) {
			wftSched := before(wftStarted, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
			end := before(completed, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
			if wftSched < 0 || end < wftStarted {
				continue
			}
			marks := []int{wftSched, wftStarted, end}
			for k := range local {
				sums[true][k] += at(marks[k+1]).Sub(at(marks[k]))
			}
			counts[true]++
			continue
		}
		started := find(max(sched, 0), enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
		done := find(max(started, 0), enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
		next := find(max(done, 0), enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		end := find(max(next, 0), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
		if sched < 0 || started < 0 || done < 0 || next < 0 || end < 0 || sched > completed {
			continue
		}
		marks := []int{wftStarted, sched, started, done, next, end}
		for k := range remote {
			sums[false][k] += at(marks[k+1]).Sub(at(marks[k]))
		}
		counts[false]++
	}
	var out []string
	for _, isLocal := range []bool{true, false} {
		n := counts[isLocal]
		if n == 0 {
			continue
		}
		names, path := remote, "RecordStep as an activity"
		if isLocal {
			names, path = local, "RecordStep as a local activity"
		}
		parts := make([]string, len(names))
		for k, name := range names {
			parts[k] = fmt.Sprintf("%s %s", name, ms(sums[isLocal][k]/time.Duration(n)))
		}
		out = append(out, fmt.Sprintf("Where a contact update's time goes (scenario 2, %s; mean of %d updates of case %s, from the event times of its history): %s.",
			path, n, caseID, strings.Join(parts, ", ")))
	}
	return strings.Join(out, " "), nil
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// slowPolicy is the program of the round trip's cases and of the template:
// the complex-case policy (weekly calls at high risk).
func (e *env) slowPolicy(ctx context.Context) (care.Policy, error) {
	if p, ok := e.policies["bench-slow"]; ok {
		return p, nil
	}
	p, ok := e.policies["complex-case"]
	if !ok {
		return p, fmt.Errorf("no complex-case policy in policies/")
	}
	p.Program = "bench-slow"
	p.Description = "complex-case for the benchmark's synthetic cases"
	p.EffectiveFrom = time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	return p, e.savePolicy(ctx, p)
}
