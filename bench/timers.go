package bench

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

const (
	steadyQueue         = "bench-steady"
	baselineSteadyQueue = "bench-baseline-steady"
	waveQueue           = "bench-wave"
	baselineWaveQueue   = "bench-baseline-wave"
)

// How the timer scenarios get thousands of cases into follow-up quickly:
// the benchmark drives one template case through the normal updates
// (screen, assess, stratify, plan, coordination) and then starts each
// case of the scenario the way a run continued as new starts: CaseInput.State
// is the template's state with the case's own ids, policy and next call
// time. From there on everything is caseflow's own path: the case's durable
// timer, fireClocks and openCall, and the RecordStep activity writing the
// call task and its call-due alert to PostgreSQL.

func (e *env) ensureTemplate(ctx context.Context) error {
	if e.template != nil {
		return nil
	}
	if err := e.ensureMainWorker(ctx); err != nil {
		return err
	}
	p, err := e.slowPolicy(ctx)
	if err != nil {
		return err
	}
	d, err := e.demo()
	if err != nil {
		return err
	}
	if err := e.addPatients(ctx, "tpl", 1); err != nil {
		return err
	}
	c := e.benchCase("tpl", 0, p.Program, Actor)
	if err := e.startCase(ctx, mainQueue, c, p, nil); err != nil {
		return err
	}
	if err := e.driveToFollowUp(ctx, c.ID, benchPlan(d)); err != nil {
		return err
	}
	st, err := e.cases().Status(ctx, c.ID)
	if err != nil {
		return err
	}
	e.template = &st.CaseState
	return nil
}

// seedState is the state a seeded case starts from: the template's, with
// its own case, policy and next call, and no task or re-assessment pending.
func (e *env) seedState(c care.Case, p care.Policy, due time.Time) *workflows.CaseState {
	s := *e.template
	s.Case, s.Policy = c, p
	s.NextCallAt = due
	s.NextReassessAt = time.Time{}
	s.Tasks, s.TaskSeq, s.NoAnswers = nil, 0, 0
	s.PhaseSince = c.OpenedAt
	return &s
}

// fastPolicy calls every cfg.Cadence whatever the risk, with windows long
// enough that no escalation falls inside the scenario.
func (e *env) fastPolicy(ctx context.Context) (care.Policy, error) {
	p, err := e.slowPolicy(ctx)
	if err != nil {
		return p, err
	}
	p.Program = "bench-steady"
	p.Description = "benchmark: a follow-up call every " + e.cfg.Cadence.String()
	c := care.Duration(e.cfg.Cadence)
	p.FollowUp.Cadence = care.CadenceByRisk{High: c, Moderate: c, Low: c}
	p.FollowUp.ModelFactor.Clinical = 1
	p.FollowUp.CallWindow = care.Duration(time.Hour)
	p.FollowUp.EscalateAfter = care.Duration(time.Hour)
	p.FollowUp.AutomatedCalls = false
	p.FollowUp.ReassessEvery = 0
	return p, e.savePolicy(ctx, p)
}

// lateness is a sample of how late follow-ups ran.
type lateness struct {
	fired, ran []time.Duration // workflow fired the clock; the activity ran
	lastRan    time.Time
}

func (l *lateness) add(due, fired, ran time.Time) {
	l.fired = append(l.fired, fired.Sub(due))
	l.ran = append(l.ran, ran.Sub(due))
	if ran.After(l.lastRan) {
		l.lastRan = ran
	}
}

func (l lateness) describe() string {
	f, r := summarize(l.fired), summarize(l.ran)
	return fmt.Sprintf("fired: p50 %s · p99 %s · max %s; activity ran: p99 %s · max %s (n=%s)",
		ms(f.p50), ms(f.p99), ms(f.max), ms(r.p99), ms(r.max), count(f.n))
}

// caseflowLateness reads the fired follow-up calls of the cases with prefix
// and due in [from, to) from PostgreSQL: the call task's started_at is its
// due time, its call-due alert's at the time the workflow fired it, and
// the alert row's created_at the time the RecordStep activity wrote it.
func (e *env) caseflowLateness(ctx context.Context, prefix string, from, to time.Time) (lateness, error) {
	var rows []struct {
		Due     time.Time `db:"started_at"`
		At      time.Time `db:"at"`
		Created time.Time `db:"created_at"`
	}
	err := e.db.SelectContext(ctx, &rows, `
		SELECT t.started_at, a.at, a.created_at
		FROM alerts a JOIN tasks t ON t.case_id = a.case_id AND t.task_id = a.task_id
		WHERE a.kind = 'call-due' AND a.case_id LIKE $1 AND t.started_at >= $2 AND t.started_at < $3`,
		"c-"+prefix+"-%", from, to)
	var l lateness
	for _, r := range rows {
		l.add(r.Due, r.At, r.Created)
	}
	return l, err
}

const callsDue = `SELECT count(*) FROM alerts a JOIN tasks t ON t.case_id = a.case_id AND t.task_id = a.task_id
	WHERE a.kind = 'call-due' AND a.case_id LIKE $1 AND t.started_at >= $2 AND t.started_at < $3`

// leadFor is how long before their first due time n workflows are started,
// from the start rate measured so far.
func (e *env) leadFor(n int, slowdown float64) time.Duration {
	rate := e.startRate
	if rate <= 0 {
		rate = 100
	}
	return 3*time.Second + time.Duration(float64(n)/rate*slowdown*float64(time.Second))
}

// steadyTimers is scenario 3a: follow-up calls falling due at cfg.SteadyRate
// a second for cfg.Duration, from SteadyRate*Cadence cases that each call
// every Cadence; against as many timer workflows that run a trivial
// activity at the same times. One after the other, on the same server.
func (e *env) steadyTimers(ctx context.Context) error {
	if err := e.ensureTemplate(ctx); err != nil {
		return err
	}
	cfg := e.cfg
	n := max(1, int(math.Round(cfg.SteadyRate*cfg.Cadence.Seconds())))
	interval := cfg.Cadence / time.Duration(n)
	expected := func(start time.Time) int {
		total := 0
		end := start.Add(cfg.Duration)
		for i := range n {
			if d := end.Sub(start.Add(time.Duration(i) * interval)); d > 0 {
				total += int((d + cfg.Cadence - 1) / cfg.Cadence)
			}
		}
		return total
	}
	grace := max(30*time.Second, cfg.Cadence)

	// Baseline.
	fires := &fireLog{}
	base, err := e.startBaseline(ctx, baselineSteadyQueue, fires)
	if err != nil {
		return err
	}
	defer base.stop()
	t0 := time.Now().Add(e.leadFor(n, 2)).Truncate(time.Second)
	want := expected(t0)
	e.logf("3a: baseline: %d timer workflows, one fire every %s each, %g a second from %s for %s (%d fires)",
		n, cfg.Cadence, cfg.SteadyRate, t0.Format(time.TimeOnly), cfg.Duration, want)
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("steady-%06d", i))
	}
	if err := parallel(ctx, n, cfg.Concurrency, func(ctx context.Context, i int) error {
		_, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: baselineSteadyQueue}, TimerWorkflowName,
			TimerInput{FirstDue: t0.Add(time.Duration(i) * interval), Every: cfg.Cadence})
		return err
	}); err != nil {
		return err
	}
	overran := time.Now().After(t0)
	end := t0.Add(cfg.Duration)
	inWindow := func(f fireRecord) bool { return !f.due.Before(t0) && f.due.Before(end) }
	waitUntil(ctx, end)
	deadline := end.Add(grace)
	for len(fires.matching(inWindow)) < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
	}
	var bl lateness
	for _, f := range fires.matching(inWindow) {
		bl.add(f.due, f.fired, f.ran)
	}
	if len(bl.fired) < want {
		return fmt.Errorf("baseline: only %d of %d fires within %s of the end", len(bl.fired), want, grace)
	}
	blEvents, err := e.history(ctx, ids[0], "")
	if err != nil {
		return err
	}
	e.baselineHist = filepath.Join(e.tmp, "baseline-timer-history.json")
	if err := writeHistory(e.baselineHist, blEvents); err != nil {
		return err
	}
	if err := e.terminate(ctx, ids); err != nil {
		return err
	}
	base.stop()
	e.logf("3a: baseline: %s", bl.describe())

	// caseflow.
	w, err := e.startWorker(ctx, steadyQueue)
	if err != nil {
		return err
	}
	defer w.stop()
	p, err := e.fastPolicy(ctx)
	if err != nil {
		return err
	}
	if err := e.addPatients(ctx, "steady", n); err != nil {
		return err
	}
	t0 = time.Now().Add(e.leadFor(n, 4)).Truncate(time.Second)
	want = expected(t0)
	e.logf("3a: caseflow: %d cases in follow-up, a call every %s each, %g a second from %s for %s (%d calls)",
		n, cfg.Cadence, cfg.SteadyRate, t0.Format(time.TimeOnly), cfg.Duration, want)
	ids = ids[:0]
	if err := parallel(ctx, n, cfg.Concurrency, func(ctx context.Context, i int) error {
		c := e.benchCase("steady", i, p.Program, Actor)
		return e.startCase(ctx, steadyQueue, c, p, e.seedState(c, p, t0.Add(time.Duration(i)*interval)))
	}); err != nil {
		return err
	}
	for i := range n {
		ids = append(ids, care.WorkflowID(caseID("steady", i)))
	}
	overran = overran || time.Now().After(t0)
	end = t0.Add(cfg.Duration)
	waitUntil(ctx, end)
	if err := e.waitCount(ctx, "calls recorded", want, grace, callsDue, "c-steady-%", t0, end); err != nil {
		return err
	}
	cf, err := e.caseflowLateness(ctx, "steady", t0, end)
	if err != nil {
		return err
	}
	e.logf("3a: caseflow: %s", cf.describe())
	cfEvents, err := e.history(ctx, ids[0], "")
	if err != nil {
		return err
	}
	if err := e.terminate(ctx, ids); err != nil {
		return err
	}

	c, b := summarize(cf.ran), summarize(bl.ran)
	cff := summarize(cf.fired)
	row := Row{ID: "3a", Scenario: fmt.Sprintf("Timer precision, steady: %g follow-up calls/s due for %s (%d cases, a call every %s each); baseline: timer workflows + trivial activity at the same times",
		cfg.SteadyRate, care.FormatDuration(cfg.Duration), n, care.FormatDuration(cfg.Cadence)),
		Caseflow: cf.describe(), Baseline: bl.describe(), Goal: "p99 < 1 s (activity ran − due)",
		Result: metIf(c.p99 < time.Second, "p99 "+ms(c.p99)),
		Values: map[string]float64{"p50_ms": msf(cff.p50), "p99_ms": msf(cff.p99), "max_ms": msf(cff.max),
			"ran_p99_ms": msf(c.p99), "ran_max_ms": msf(c.max), "baseline_ran_p99_ms": msf(b.p99), "calls": float64(c.n), "cases": float64(n)}}
	if overran {
		row.Result = ResultMissed + " (setup overran the first due time: raise the lead)"
	}
	e.rep.add(row)

	// Scenario 4, per follow-up call.
	cfPer, cfBytes, cfCycles := cycle(cfEvents)
	blPer, blBytes, blCycles := cycle(blEvents)
	if cfCycles > 0 && blCycles > 0 {
		e.rep.add(Row{ID: "4c", Scenario: fmt.Sprintf("History cost per follow-up call (one timer firing to the next, steady scenario: %d calls of case %s); baseline: timer + trivial activity (%d fires of %s)",
			cfCycles, caseID("steady", 0), blCycles, "steady-000000"),
			Caseflow: fmt.Sprintf("%.1f events · %s per call", cfPer, kb(cfBytes)),
			Baseline: fmt.Sprintf("%.1f events · %s per fire", blPer, kb(blBytes)), Goal: "≤ baseline + 1 event per call",
			Result: metIf(cfPer <= blPer+1, fmt.Sprintf("%+.1f events", cfPer-blPer)),
			Values: map[string]float64{"events_per_call": cfPer, "bytes_per_call": cfBytes, "baseline_events": blPer, "baseline_bytes": blBytes,
				"calls": float64(cfCycles), "baseline_fires": float64(blCycles)}})
	}
	return nil
}

// timerWave is scenario 3b, and scenario 5 for cases in follow-up:
// cfg.Wave follow-up calls due in the same second, against as many timer
// workflows with a trivial activity; then the resident memory of each
// side's worker, which has them all cached.
func (e *env) timerWave(ctx context.Context) error {
	if err := e.ensureTemplate(ctx); err != nil {
		return err
	}
	cfg := e.cfg
	n := cfg.Wave

	// Baseline.
	fires := &fireLog{}
	base, err := e.startBaseline(ctx, baselineWaveQueue, fires)
	if err != nil {
		return err
	}
	defer base.stop()
	time.Sleep(e.cfg.Settle)
	blIdle, err := base.rssBytes()
	if err != nil {
		return err
	}
	lead := cfg.WaveLead
	if lead <= 0 {
		lead = e.leadFor(n, 1.5)
	}
	// The wave falls due on a whole second at least lead from now (rounded
	// up: truncating could take up to a second off a short lead).
	due := time.Now().Add(lead + time.Second - 1).Truncate(time.Second)
	e.logf("3b: baseline: starting %d timer workflows due at %s", n, due.Format(time.TimeOnly))
	s0 := time.Now()
	if err := parallel(ctx, n, cfg.Concurrency, func(ctx context.Context, i int) error {
		_, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("wave-%06d", i), TaskQueue: baselineWaveQueue},
			TimerWorkflowName, TimerInput{FirstDue: due})
		return err
	}); err != nil {
		return err
	}
	seeded := time.Since(s0)
	blOverran := time.Now().After(due.Add(-time.Second))
	_ = e.waitBacklog(ctx, baselineWaveQueue, time.Until(due))
	e.logf("3b: baseline: started in %s; waiting for the wave", secs(seeded))
	waitUntil(ctx, due)
	isWave := func(f fireRecord) bool { return f.due.Equal(due) }
	deadline := due.Add(15 * time.Minute)
	for last := time.Now(); len(fires.matching(isWave)) < n; {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("baseline: %d of %d fires after 15 minutes", len(fires.matching(isWave)), n)
		}
		if time.Since(last) > 10*time.Second {
			e.logf("  baseline fires: %d of %d", len(fires.matching(isWave)), n)
			last = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	var bl lateness
	for _, f := range fires.matching(isWave) {
		bl.add(f.due, f.fired, f.ran)
	}
	blDrain := bl.lastRan.Sub(due)
	e.logf("3b: baseline: drained in %s; %s", secs(blDrain), bl.describe())
	base.waitIdle(ctx, time.Minute)
	time.Sleep(e.cfg.Settle)
	blRSS, err := base.rssBytes()
	if err != nil {
		return err
	}
	blHeap := base.liveHeapMB()
	base.stop()

	// caseflow.
	w, err := e.startWorker(ctx, waveQueue)
	if err != nil {
		return err
	}
	defer w.stop()
	time.Sleep(e.cfg.Settle)
	cfIdle, err := w.rssBytes()
	if err != nil {
		return err
	}
	p, err := e.slowPolicy(ctx)
	if err != nil {
		return err
	}
	if err := e.addPatients(ctx, "wave", n); err != nil {
		return err
	}
	lead = cfg.WaveLead
	if lead <= 0 {
		// caseflow starts a case in follow-up slower than the baseline its
		// timer: 1.7× on the full server once, over a lead of 1.5×.
		lead = 5*time.Second + seeded*2
	}
	due = time.Now().Add(lead + time.Second - 1).Truncate(time.Second)
	e.logf("3b: caseflow: starting %d cases in follow-up, their next call due at %s", n, due.Format(time.TimeOnly))
	s0 = time.Now()
	if err := parallel(ctx, n, cfg.Concurrency, func(ctx context.Context, i int) error {
		c := e.benchCase("wave", i, p.Program, Actor)
		return e.startCase(ctx, waveQueue, c, p, e.seedState(c, p, due))
	}); err != nil {
		return err
	}
	e.logf("3b: caseflow: started in %s; waiting for the wave", secs(time.Since(s0)))
	cfOverran := time.Now().After(due.Add(-time.Second))
	_ = e.waitBacklog(ctx, waveQueue, time.Until(due))
	waitUntil(ctx, due)
	if err := e.waitCount(ctx, "wave calls recorded", n, 20*time.Minute, callsDue, "c-wave-%", due, due.Add(time.Second)); err != nil {
		return err
	}
	cf, err := e.caseflowLateness(ctx, "wave", due, due.Add(time.Second))
	if err != nil {
		return err
	}
	cfDrain := cf.lastRan.Sub(due)
	e.logf("3b: caseflow: drained in %s; %s", secs(cfDrain), cf.describe())
	// The drain rate of caseflow as a share of the baseline's.
	r := ratio(blDrain.Seconds(), cfDrain.Seconds())
	row := Row{ID: "3b", Scenario: fmt.Sprintf("Timer precision, wave: %s follow-up calls due in the same second; baseline: %s timer workflows + trivial activity", count(n), count(n)),
		Caseflow: fmt.Sprintf("drained in %s (%.0f calls/s); %s", secs(cfDrain), float64(n)/cfDrain.Seconds(), cf.describe()),
		Baseline: fmt.Sprintf("drained in %s (%.0f fires/s); %s", secs(blDrain), float64(n)/blDrain.Seconds(), bl.describe()),
		Goal:     "drain rate ≥ 0.9× baseline's",
		Result:   metIf(r >= 0.9, fmt.Sprintf("%.2f×", r)),
		Values: map[string]float64{"drain_s": cfDrain.Seconds(), "baseline_drain_s": blDrain.Seconds(), "ratio": r, "wave": float64(n),
			"p99_ms": msf(summarize(cf.fired).p99), "baseline_p99_ms": msf(summarize(bl.fired).p99)}}
	if blOverran || cfOverran {
		row.Result = ResultMissed + " (setup overran the due time: raise -wave-lead)"
	}
	e.rep.add(row)

	w.waitIdle(ctx, time.Minute)
	time.Sleep(e.cfg.Settle)
	cfRSS, err := w.rssBytes()
	if err != nil {
		return err
	}
	cached := float64(min(n, stickyCache))
	per, blPer := float64(cfRSS-cfIdle)/cached, float64(blRSS-blIdle)/cached
	memRatio := ratio(per, blPer)
	e.rep.add(Row{ID: "5a", Scenario: fmt.Sprintf("Worker memory: RSS of the worker process with %s open cases in follow-up cached (after the wave); baseline: %s open timer workflows", count(int(cached)), count(int(cached))),
		Caseflow: fmt.Sprintf("%s per case (RSS %s → %s; live heap %.0f MiB)", kb(per), kb(float64(cfIdle)), kb(float64(cfRSS)), w.liveHeapMB()),
		Baseline: fmt.Sprintf("%s per workflow (RSS %s → %s; live heap %.0f MiB)", kb(blPer), kb(float64(blIdle)), kb(float64(blRSS)), blHeap),
		Goal:     "≤ 1.5× baseline per cached workflow", Result: metIf(memRatio <= 1.5, fmt.Sprintf("%.1f×", memRatio)),
		Values: map[string]float64{"bytes_per_case": per, "baseline_bytes_per_workflow": blPer, "ratio": memRatio, "rss": float64(cfRSS), "rss_idle": float64(cfIdle),
			"baseline_rss": float64(blRSS), "cached": cached}})
	w.stop()
	return nil
}

func waitUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}
