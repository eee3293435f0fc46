package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// mainQueue serves scenarios 4 and 2 and the template case of scenario 3.
const mainQueue = "bench-main"

func (e *env) ensureMainWorker(ctx context.Context) error {
	if e.mainWorker != nil {
		return nil
	}
	w, err := e.startWorker(ctx, mainQueue)
	if err != nil {
		return err
	}
	e.mainWorker = w
	return nil
}

// historyCost is scenario 4: the events and bytes of the demo case's history
// and, per run, of a 12-month high-risk case on a compressed policy.
func (e *env) historyCost(ctx context.Context) error {
	if err := e.ensureMainWorker(ctx); err != nil {
		return err
	}
	if err := e.riverCase(ctx); err != nil {
		return fmt.Errorf("demo case: %w", err)
	}
	return e.yearCase(ctx)
}

// riverCase runs the README's demo case, River, through every step as the
// CLI tour does, and measures its history once it is closed.
func (e *env) riverCase(ctx context.Context) error {
	d, err := e.demo()
	if err != nil {
		return err
	}
	birth := time.Date(1991, 4, 2, 0, 0, 0, 0, time.UTC)
	pid, err := e.store.UpsertPatient(ctx, "BENCH-RIVER", "River Quinn", &birth)
	if err != nil {
		return err
	}
	p, ok := e.policies["complex-case"]
	if !ok {
		return errors.New("no complex-case policy in policies/")
	}
	c := care.Case{ID: care.CaseID(pid, p.Program), PatientID: pid, Program: p.Program, Model: care.ModelClinical,
		Manager: "cm-ana", Source: care.SourceReferral, OpenedBy: Actor, OpenedAt: time.Now().UTC().Truncate(time.Second)}
	e.logf("4: demo case %s (River) through every step", c.ID)
	if err := e.startCase(ctx, mainQueue, c, p, nil); err != nil {
		return err
	}
	steps := []func() error{
		func() error {
			return act(ctx, e, c.ID, workflows.Screen, care.Screening{Eligible: true, Notes: "referred by the trauma ward"})
		},
		func() error { return act(ctx, e, c.ID, workflows.Assess, d.assessment) },
		func() error {
			return act(ctx, e, c.ID, workflows.Stratify, care.Stratification{Category: care.CategoryAcute})
		},
		func() error { return act(ctx, e, c.ID, workflows.Plan, d.plan) },
		func() error { return e.waitPhase(ctx, c.ID, care.PhaseFollowUp, time.Minute) },
		func() error {
			return act(ctx, e, c.ID, workflows.Contact, care.Contact{With: care.PartyClient, Notes: "physio going well"})
		},
		func() error {
			return act(ctx, e, c.ID, workflows.Transition, care.Transition{Kind: care.TransitionDischarge, From: "rehab unit", To: "home", Date: time.Now().Format(time.DateOnly)})
		},
		func() error { return act(ctx, e, c.ID, workflows.Contact, care.Contact{With: care.PartyFamily}) },
		func() error { return act(ctx, e, c.ID, workflows.Evaluate, d.evaluation) },
		func() error { return act(ctx, e, c.ID, workflows.Close, care.Closure{Reason: care.ClosureGoalsMet}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	wid := care.WorkflowID(c.ID)
	var res workflows.CaseResult
	if err := e.c.GetWorkflow(ctx, wid, "").Get(ctx, &res); err != nil {
		return fmt.Errorf("demo case did not complete: %w", err)
	}
	desc, err := e.c.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		return err
	}
	info := desc.GetWorkflowExecutionInfo()
	events, err := e.history(ctx, wid, info.GetExecution().GetRunId())
	if err != nil {
		return err
	}
	e.riverPath = filepath.Join(e.tmp, "river-history.json")
	if err := writeHistory(e.riverPath, events); err != nil {
		return err
	}

	// The services of the plan are coordinated by workflows of their own
	// (when the worker has them): count them too.
	var childEvents, childBytes int64
	children := 0
	for _, ev := range events {
		a := ev.GetChildWorkflowExecutionStartedEventAttributes()
		if a == nil {
			continue
		}
		children++
		ex := a.GetWorkflowExecution()
		cd, err := e.waitClosed(ctx, ex.GetWorkflowId(), ex.GetRunId(), 30*time.Second)
		if err != nil {
			return err
		}
		childEvents += cd.GetWorkflowExecutionInfo().GetHistoryLength()
		childBytes += cd.GetWorkflowExecutionInfo().GetHistorySizeBytes()
	}
	row := Row{ID: "4a", Scenario: "History cost: demo case River, every step (open → closed), one run",
		Caseflow: fmt.Sprintf("%d events · %s", info.GetHistoryLength(), kb(float64(info.GetHistorySizeBytes()))),
		Baseline: "-", Goal: "-", Result: ResultInfo,
		Values: map[string]float64{"events": float64(info.GetHistoryLength()), "bytes": float64(info.GetHistorySizeBytes()),
			"service_workflows": float64(children), "service_events": float64(childEvents), "service_bytes": float64(childBytes)}}
	if children > 0 {
		row.Caseflow += fmt.Sprintf(" (+ %d service workflows: %d events · %s)", children, childEvents, kb(float64(childBytes)))
	}
	e.rep.add(row)
	e.logf("4: demo case: %s", row.Caseflow)
	return nil
}

// yearCase runs a high-risk case for YearDays days of follow-up on the
// complex-case policy compressed so that a day lasts cfg.Day. The benchmark
// acts as the case manager: it records every call that falls due as
// reached and completes every re-assessment. Then it closes the case and
// measures each run of it.
func (e *env) yearCase(ctx context.Context) error {
	base, ok := e.policies["complex-case"]
	if !ok {
		return errors.New("no complex-case policy in policies/")
	}
	if e.cfg.Day < 100*time.Millisecond {
		return fmt.Errorf("-day must be at least 100ms (a compressed weekly call must last a second or more), got %s", e.cfg.Day)
	}
	p := compress(base, e.cfg.Day)
	p.Program = "bench-year"
	p.Description = fmt.Sprintf("complex-case v%d compressed: one day lasts %s", base.Version, e.cfg.Day)
	if err := e.savePolicy(ctx, p); err != nil {
		return err
	}
	if err := e.addPatients(ctx, "year", 1); err != nil {
		return err
	}
	c := e.benchCase("year", 0, p.Program, Actor)
	if err := e.startCase(ctx, mainQueue, c, p, nil); err != nil {
		return err
	}
	d, err := e.demo()
	if err != nil {
		return err
	}
	if err := e.driveToFollowUp(ctx, c.ID, benchPlan(d)); err != nil {
		return err
	}
	length := time.Duration(e.cfg.YearDays) * e.cfg.Day
	e.logf("4: %d-day high-risk case %s: %s of compressed follow-up (a weekly call every %s)", e.cfg.YearDays, c.ID, length.Round(time.Second),
		p.CallInterval(care.RiskHigh, care.ModelClinical))
	end := time.Now().Add(length)
	acted := map[string]bool{}
	actions := 0
	tick := time.NewTicker(e.cfg.Day / 5)
	defer tick.Stop()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		var open []struct {
			ID   string `db:"task_id"`
			Kind string `db:"kind"`
		}
		if err := e.db.SelectContext(ctx, &open, `SELECT task_id, kind FROM tasks WHERE case_id = $1 AND status = 'open'`, c.ID); err != nil {
			return err
		}
		for _, t := range open {
			if acted[t.ID] {
				continue
			}
			var err error
			switch care.TaskKind(t.Kind) {
			case care.TaskCall:
				err = act(ctx, e, c.ID, workflows.Call, care.CallResult{TaskID: t.ID, Outcome: care.CallReached})
			case care.TaskReassess:
				err = act(ctx, e, c.ID, workflows.Complete, care.TaskCompletion{TaskID: t.ID, Notes: "re-assessed"})
			default:
				continue
			}
			acted[t.ID] = true
			if err == nil {
				actions++
			}
		}
	}
	if err := act(ctx, e, c.ID, workflows.Close, care.Closure{Reason: care.ClosureTransferred}); err != nil { // not evaluated: goals-met needs an evaluation
		return err
	}
	wid := care.WorkflowID(c.ID)
	var res workflows.CaseResult
	if err := e.c.GetWorkflow(ctx, wid, "").Get(ctx, &res); err != nil {
		return fmt.Errorf("the long case did not complete: %w", err)
	}
	runs, err := e.runs(ctx, wid)
	if err != nil {
		return err
	}
	var calls int
	if err := e.db.GetContext(ctx, &calls, `SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'call'`, c.ID); err != nil {
		return err
	}
	var total, totalBytes, maxEvents, maxBytes int64
	for _, r := range runs {
		total += r.events
		totalBytes += r.bytes
		maxEvents = max(maxEvents, r.events)
		maxBytes = max(maxBytes, r.bytes)
	}
	n := int64(len(runs))
	const budget = 4096
	e.rep.add(Row{ID: "4b", Scenario: fmt.Sprintf("History cost: %d-day high-risk case, %d weekly calls recorded (complex-case policy, 1 day = %s), per run", e.cfg.YearDays, calls, e.cfg.Day),
		Caseflow: fmt.Sprintf("%d runs · per run mean %d events · %s, max %d events · %s; whole case %d events · %s",
			n, total/n, kb(float64(totalBytes/n)), maxEvents, kb(float64(maxBytes)), total, kb(float64(totalBytes))),
		Baseline: "-", Goal: fmt.Sprintf("every run < %s events (the design budget)", count(budget)),
		Result: metIf(maxEvents < budget, fmt.Sprintf("max %s", count(maxEvents))),
		Values: map[string]float64{"runs": float64(n), "events_per_run_mean": float64(total / n), "events_per_run_max": float64(maxEvents),
			"bytes_per_run_max": float64(maxBytes), "events_total": float64(total), "bytes_total": float64(totalBytes),
			"calls": float64(calls), "staff_actions": float64(actions)}})
	e.logf("4: long case: %d runs, %d events, %d calls, %d staff actions", n, total, calls, actions)
	return nil
}

// compress scales the clocks of a policy (steps, follow-up, authorization,
// post-discharge) so that a day lasts day.
func compress(p care.Policy, day time.Duration) care.Policy {
	f := float64(day) / float64(24*time.Hour)
	s := func(d *care.Duration) {
		if *d > 0 {
			*d = care.Duration(time.Duration(float64(*d) * f).Round(time.Millisecond))
		}
	}
	for _, d := range []*care.Duration{
		&p.Steps.Screening, &p.Steps.Assessment, &p.Steps.Stratification, &p.Steps.Planning,
		&p.FollowUp.Cadence.High, &p.FollowUp.Cadence.Moderate, &p.FollowUp.Cadence.Low,
		&p.FollowUp.CallWindow, &p.FollowUp.EscalateAfter, &p.FollowUp.ReassessEvery,
		&p.Authorization.Expedited, &p.Authorization.Standard, &p.Authorization.ReauthorizeBefore,
		&p.PostDischarge.ContactWithin, &p.PostDischarge.VisitHigh, &p.PostDischarge.VisitModerate, &p.PostDischarge.ReadmissionWindow,
	} {
		s(d)
	}
	if p.PostDischarge.ContactWithin == 0 && p.PostDischarge.ContactBusinessDays > 0 {
		p.PostDischarge.ContactWithin = care.Duration(time.Duration(p.PostDischarge.ContactBusinessDays) * day)
	}
	p.EffectiveFrom = time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	return p
}

// runInfo is the size of one run of a workflow.
type runInfo struct {
	runID         string
	events, bytes int64
}

// runs walks a workflow's chain of runs back from the latest, through each
// run's continued-from link, and describes each.
func (e *env) runs(ctx context.Context, workflowID string) ([]runInfo, error) {
	var out []runInfo
	runID := ""
	for {
		d, err := e.c.DescribeWorkflowExecution(ctx, workflowID, runID)
		if err != nil {
			return nil, err
		}
		info := d.GetWorkflowExecutionInfo()
		runID = info.GetExecution().GetRunId()
		out = append([]runInfo{{runID: runID, events: info.GetHistoryLength(), bytes: info.GetHistorySizeBytes()}}, out...)
		it := e.plain.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if !it.HasNext() {
			return out, nil
		}
		first, err := it.Next()
		if err != nil {
			return nil, err
		}
		prev := first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if prev == "" {
			return out, nil
		}
		runID = prev
	}
}

// history reads a run's events as Temporal stores them (still encrypted).
func (e *env) history(ctx context.Context, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	it := e.plain.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

func writeHistory(path string, events []*historypb.HistoryEvent) error {
	b, err := protojson.Marshal(&historypb.History{Events: events})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

type describe = workflowservice.DescribeWorkflowExecutionResponse

// waitClosed waits until a workflow run is closed and describes it.
func (e *env) waitClosed(ctx context.Context, workflowID, runID string, timeout time.Duration) (*describe, error) {
	deadline := time.Now().Add(timeout)
	for {
		d, err := e.c.DescribeWorkflowExecution(ctx, workflowID, runID)
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return nil, err
		}
		if err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return d, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			return d, nil // still running: count it as it stands
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cycle measures one repetition of a periodic workflow from its history:
// the events and bytes from one timer firing to the next, averaged over
// every whole cycle.
func cycle(events []*historypb.HistoryEvent) (perCycle, bytesPerCycle float64, cycles int) {
	var fired []int
	for i, ev := range events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			fired = append(fired, i)
		}
	}
	switch len(fired) {
	case 0:
		return 0, 0, 0
	case 1: // one call only: from it to the end of the history
		fired = append(fired, len(events))
	}
	first, last := fired[0], fired[len(fired)-1]
	size := 0
	for _, ev := range events[first:last] {
		size += proto.Size(ev)
	}
	cycles = len(fired) - 1
	return float64(last-first) / float64(cycles), float64(size) / float64(cycles), cycles
}
