package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

// a is used only to name activities; the worker registers the real value.
var a *activities.Activities

// CaseWorkflow runs one patient case from screening to closing. Staff drive it
// with updates; it coordinates an approved plan by itself, runs the case's
// clocks (follow-up calls, post-discharge contact and visit, readmission
// watch, escalations) on one durable timer, records every step through an
// activity, keeps its search attributes current, and continues as new before
// its history grows large.
//
// It takes its input by pointer and clears it once it has taken the case's
// state from it: the SDK keeps the decoded input of a run for as long as
// the run is cached, and a cached case should hold its state once, not
// twice.
func CaseWorkflow(ctx workflow.Context, in *CaseInput) (CaseResult, error) {
	// This frame stays on the coroutine's stack for the whole run, so the
	// work is in startRun, run and endRun and it holds only w (see run for
	// why the resting frames must stay small).
	w, err := startRun(ctx, in)
	if err != nil {
		return CaseResult{}, err
	}
	if err := w.run(ctx); err != nil {
		return CaseResult{}, err
	}
	return w.endRun(ctx)
}

// startRun takes the case's state from in (then clears in), registers the
// handlers, reads the case's policy, and records the case as opened or
// re-reads its services on a continued run.
func startRun(ctx workflow.Context, in *CaseInput) (*caseWorkflow, error) {
	if in == nil {
		return nil, temporal.NewNonRetryableApplicationError("the case workflow needs its input (a CaseInput)", string(care.KindInvalid), nil)
	}
	w := &caseWorkflow{lock: workflow.NewMutex(ctx), maxSteps: in.MaxStepsPerRun, inputMaxSteps: in.MaxStepsPerRun}
	if w.maxSteps <= 0 {
		w.maxSteps = DefaultMaxStepsPerRun
	}
	opening := in.State == nil
	if opening {
		w.state = CaseState{Case: in.Case, Policy: in.Policy, Phase: care.PhaseScreening, PhaseSince: workflow.Now(ctx)}
	} else {
		w.state = *in.State
	}
	policyVersion := in.PolicyVersion
	*in = CaseInput{}
	w.state.Runs++
	// Hold the lock until the case is recorded as opened, so that a staff
	// action arriving with the first workflow task waits for it.
	if err := w.lock.Lock(ctx); err != nil {
		return nil, err
	}
	if err := w.registerHandlers(ctx); err != nil {
		return nil, err
	}
	if err := w.loadPolicy(ctx, policyVersion); err != nil {
		return nil, err
	}
	if opening {
		if err := w.record(ctx, care.ActorSystem, "opened", care.PhaseScreening, openedSummary(w.state.Case), w.state.Case); err != nil {
			return nil, err
		}
	} else if err := w.reconcileServices(ctx); err != nil {
		return nil, err
	}
	w.lock.Unlock()
	return w, nil
}

// endRun is the result of a closed case, or the continue-as-new of a run
// that should end.
func (w *caseWorkflow) endRun(ctx workflow.Context) (CaseResult, error) {
	if w.state.Phase == care.PhaseClosed {
		return CaseResult{CaseID: w.state.Case.ID, Reason: w.state.Closure.Reason}, nil
	}
	return CaseResult{}, workflow.NewContinueAsNewError(ctx, CaseWorkflow, w.nextRunInput(ctx, w.inputMaxSteps))
}

// nextRunInput is the input of the run this one continues as: the case's
// state, with its policy named by version under change
// policy-by-reference, else copied in twice as before.
func (w *caseWorkflow) nextRunInput(ctx workflow.Context, maxSteps int) *CaseInput {
	state := w.state
	if workflow.GetVersion(ctx, versionPolicyByReference, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return &CaseInput{Case: state.Case, Policy: state.Policy, State: &state, MaxStepsPerRun: maxSteps}
	}
	state.Policy = care.Policy{}
	return &CaseInput{PolicyVersion: w.state.Policy.Version, State: &state, MaxStepsPerRun: maxSteps}
}

// run is the main loop. It returns when the case is closed or when this run
// should continue as new; either way with no staff action in flight and no
// signal left unhandled.
//
// Its state lives in a mainLoop on the heap and each turn's work in
// (*mainLoop).turn, so that the frames a cached case rests on, parked in
// workflow.Await, stay small: the Go runtime halves a parked goroutine's
// stack only while less than a quarter of it is in use.
func (w *caseWorkflow) run(ctx workflow.Context) error {
	l := newMainLoop(ctx, w)
	for {
		if err := l.wait(ctx); err != nil {
			return err
		}
		if done, err := l.turn(ctx); done || err != nil {
			return err
		}
	}
}

// mainLoop is the state of the case's main loop: its signal channels and
// the clock timer.
type mainLoop struct {
	w                     *caseWorkflow
	ctx                   workflow.Context // the run's, for ready
	transitions, services workflow.ReceiveChannel
	clock                 clockTimer
	readyFn               func() bool // ready, bound once
}

func newMainLoop(ctx workflow.Context, w *caseWorkflow) *mainLoop {
	l := &mainLoop{
		w: w, ctx: ctx,
		transitions: workflow.GetSignalChannelWithOptions(ctx, SignalTransition, workflow.SignalChannelOptions{
			Description: "A transition reported by an external system (hospital ADT feed): discharge, transfer or readmission",
		}),
		services: workflow.GetSignalChannelWithOptions(ctx, SignalServiceUpdate, workflow.SignalChannelOptions{
			Description: "Where a planned service's coordination stands (from its ServiceWorkflow)",
		}),
	}
	l.readyFn = l.ready
	return l
}

// wait sets the clock timer and waits until there is work: the case closed
// or must coordinate, a signal, the timer, an earlier wake, or a run that
// should end.
//
//go:noinline
func (l *mainLoop) wait(ctx workflow.Context) error {
	l.arm(ctx)
	return workflow.Await(ctx, l.readyFn)
}

// arm sets the clock timer for the next wake.
//
//go:noinline
func (l *mainLoop) arm(ctx workflow.Context) {
	at, why := l.w.nextWake()
	l.clock.set(ctx, l.w, at, why)
}

func (l *mainLoop) ready() bool {
	w := l.w
	next := w.nextWakeAt()
	return w.state.Phase == care.PhaseClosed || w.state.Coordinate || l.transitions.Len() > 0 || l.services.Len() > 0 ||
		l.clock.fired() || l.clock.earlier(next) || w.shouldContinueAsNew(l.ctx)
}

// turn handles what woke the loop: the signals in arrival order, the
// coordination of an approved plan, the clocks that fell due. It reports
// done when the run should return: the case is closed or should continue
// as new, with no staff action in flight and no signal left unhandled.
//
//go:noinline
func (l *mainLoop) turn(ctx workflow.Context) (done bool, err error) {
	w := l.w
	for {
		var t care.Transition
		if !l.transitions.ReceiveAsync(&t) {
			break
		}
		if err := w.onTransitionSignal(ctx, t); err != nil {
			return false, err
		}
	}
	for {
		var u care.ServiceUpdate
		if !l.services.ReceiveAsync(&u) {
			break
		}
		if err := w.onServiceUpdate(ctx, u); err != nil {
			return false, err
		}
	}
	if w.state.Coordinate {
		if err := w.coordinate(ctx); err != nil {
			return false, err
		}
	}
	if l.clock.fired() {
		l.clock.reset()
		if err := w.fireClocks(ctx); err != nil {
			return false, err
		}
	}
	if w.state.Phase == care.PhaseClosed || w.shouldContinueAsNew(ctx) {
		// Let staff actions in flight answer first, and handle any
		// signal that came meanwhile: nothing is lost across runs.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return false, err
		}
		if l.transitions.Len() == 0 && l.services.Len() == 0 {
			return true, nil
		}
	}
	return false, nil
}

// shouldContinueAsNew reports that this run's history is large enough to
// start a fresh run: Temporal suggests it, the history passed
// ContinueAsNewAfterEvents, or the run took maxSteps steps.
func (w *caseWorkflow) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= ContinueAsNewAfterEvents ||
		w.steps >= w.maxSteps
}

// activityOptions retry the store for as long as it takes: a database outage
// delays a case, it never fails it.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// recordStepLocalFor bounds the retries of a local RecordStep: ten years,
// i.e. for as long as it takes. A local activity's ScheduleToCloseTimeout
// defaults to its StartToCloseTimeout (one attempt's worth), so it must be
// set for the retries to go on through a database outage.
const recordStepLocalFor = 10 * 365 * 24 * time.Hour

// localStepOptions run RecordStep (and the compute steps) in the workflow
// task (change record-step-local): no trip through the task queue, and the
// staff action still answers only after the step is committed. They retry
// like activityOptions, for as long as the database is down, but wait up
// to localRetryMax between attempts: a backoff longer than the workflow
// task timeout becomes a LocalActivity marker, a timer and a workflow task
// in the case's history (about 6 events, where a regular activity's
// retries cost none), so a day's outage costs a waiting case about 1,700
// events instead of 8,600 at one minute.
var localStepOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: recordStepLocalFor,
	StartToCloseTimeout:    activityOptions.StartToCloseTimeout,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    activityOptions.RetryPolicy.InitialInterval,
		BackoffCoefficient: activityOptions.RetryPolicy.BackoffCoefficient,
		MaximumInterval:    localRetryMax,
	},
}

// localRetryMax is the longest wait between attempts of a local step.
const localRetryMax = 5 * time.Minute

// recordStepActivity is the registered name of (*activities.Activities).RecordStep.
// The local activity is called by name, so that the worker's registered
// instance runs it (a is a nil receiver, good only for names).
const recordStepActivity = "RecordStep"

type caseWorkflow struct {
	state CaseState
	// lock serialises staff actions and the main loop's own steps, so that
	// each sees the state the previous one left.
	lock workflow.Mutex
	// steps counts the activities and timers of this run; maxSteps bounds it.
	steps, maxSteps int
	// inputMaxSteps is CaseInput.MaxStepsPerRun, passed on to the next run.
	inputMaxSteps int
	// changed and alerts collect what the current step writes besides its
	// event: tasks created or changed, alerts raised, outcomes, a pause.
	changed  []string // task ids
	alerts   []care.Alert
	outcomes *care.Outcomes
	pause    *care.PauseRecord
	services []care.ServiceState
	// planChange is what the plan approved in this step changed.
	planChange *care.PlanChange
	// policyPending is set while the run reads its policy (loadPolicy).
	policyPending bool
}

func (w *caseWorkflow) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		return w.status(), nil
	}, workflow.QueryHandlerOptions{Description: "Phase, risk, care category, model, plan, open items and timeline of the case"}); err != nil {
		return err
	}
	regs := []func() error{
		register(ctx, w, Screen, "Record the screening decision: eligible moves to assessment, not eligible closes the case", w.screen, w.canScreen),
		register(ctx, w, Assess, "Record the assessment and its outcome baseline; the risk rules propose a level", w.assess, w.canAssess),
		register(ctx, w, Stratify, "Confirm or override the proposed risk level and set the care category", w.stratify, w.canStratify),
		register(ctx, w, Plan, "Approve the care plan (goals and services); coordination starts", w.plan, w.canPlan),
		register(ctx, w, Contact, "Record a contact with client, family or provider; may send the case back to assessment or planning", w.contact,
			func(actor string, c care.Contact) error { return w.canContact(workflow.Now(ctx), actor, c) }),
		register(ctx, w, Call, "Record the outcome of a follow-up call: reached, no-answer or declined", w.call,
			func(actor string, c care.CallResult) error { return w.canCall(workflow.Now(ctx), actor, c) }),
		register(ctx, w, Complete, "Mark a task done (visit, medication reconciliation, re-assessment, ...)", w.complete, w.canComplete),
		register(ctx, w, Transition, "Record a transition of care (discharge, transfer, change of level, readmission)", w.transition,
			func(actor string, t care.Transition) error { return w.canTransition(workflow.Now(ctx), actor, t) }),
		register(ctx, w, Pause, "Pause the case's outreach (follow-up calls and cadence); regulatory deadlines keep running", w.pauseClocks, w.canPause),
		register(ctx, w, Resume, "Resume the case's outreach; the calls move by the paused time, deadlines never do", w.resumeClocks, w.canResume),
		register(ctx, w, Appointment, "Record the attendance of an appointment: attended, no-show or cancelled", w.appointment,
			func(actor string, at care.Attendance) error {
				return w.canRecordAttendance(workflow.Now(ctx), actor, at)
			}),
		register(ctx, w, Evaluate, "Score the six outcome domains against the assessment baseline", w.evaluate, w.canEvaluate),
		register(ctx, w, Close, "Close the case with a closure reason", w.close, w.canClose),
	}
	regs = append(regs, w.registerServiceActions(ctx)...)
	for _, reg := range regs {
		if err := reg(); err != nil {
			return err
		}
	}
	return nil
}

// register returns the registration of the update handler of action with
// its validator. Both answer with typed errors (see appError).
//
// While the run is still reading its policy (loadPolicy, in its first
// workflow task) the validator accepts the action: the handler checks it
// again under the lock, once the policy is in, and refuses it there.
func register[T any](ctx workflow.Context, w *caseWorkflow, action Action[T], description string,
	handler func(workflow.Context, string, T) (Status, error), validator func(string, T) error) func() error {
	return func() error {
		return workflow.SetUpdateHandlerWithOptions(ctx, action.Name,
			func(ctx workflow.Context, actor string, arg T) (Status, error) {
				st, err := handler(ctx, actor, arg)
				return st, appError(err)
			},
			workflow.UpdateHandlerOptions{
				Validator: func(actor string, arg T) error {
					if w.policyPending {
						return nil
					}
					err := appError(validator(actor, arg))
					if err != nil {
						countRefusal(ctx, action.Name, err)
					}
					return err
				},
				Description: description,
			})
	}
}

// MetricActionsRefused counts the staff actions the validators refused, by
// action and error kind (opaque names only: no case or patient id).
const MetricActionsRefused = "caseflow_staff_actions_refused"

// countRefusal counts a refused staff action with the SDK's metrics
// handler, which is replay-safe and emits no command.
func countRefusal(ctx workflow.Context, action string, err error) {
	kind := string(care.KindInternal)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		kind = ae.Type()
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"action": action, "kind": kind}).
		Counter(MetricActionsRefused).Inc(1)
}

// appError turns the error of a validator or handler into the application
// error a client sees: its Type is the care.ErrorKind, its message the
// error's. An application error that already carries a kind as its type is
// passed on as it is.
func appError(err error) error {
	if err == nil {
		return nil
	}
	kind := care.KindOf(err)
	var ae *temporal.ApplicationError
	if kind == care.KindInternal && errors.As(err, &ae) && slices.Contains(care.ErrorKinds, care.ErrorKind(ae.Type())) {
		return ae
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), string(kind), temporal.ApplicationErrorOptions{NonRetryable: true})
}

// act runs a staff action: under the lock it checks the action again (an
// action accepted by its validator may have been overtaken by another one),
// applies it and records it.
func (w *caseWorkflow) act(ctx workflow.Context, actor, action string, check func() error, apply func() (string, any, error)) (Status, error) {
	if err := w.lock.Lock(ctx); err != nil {
		return Status{}, err
	}
	defer w.lock.Unlock()
	if err := check(); err != nil {
		return Status{}, err
	}
	before, seq := w.state.Phase, w.state.Seq
	summary, detail, err := apply()
	if err != nil {
		return Status{}, err
	}
	if err := w.record(ctx, actor, action, before, summary, detail); err != nil {
		return Status{}, err
	}
	return w.answer(seq), nil
}

// answer is a staff action's answer: the case's status without its policy,
// and with only the timeline entries after seq (the steps of the action).
func (w *caseWorkflow) answer(seq int) Status {
	st := w.status()
	st.Policy = care.Policy{}
	i := len(st.Timeline)
	for i > 0 && st.Timeline[i-1].Seq > seq {
		i--
	}
	st.Timeline = slices.Clone(st.Timeline[i:])
	return st
}

// execute runs an activity with caseflow's options and a summary for the UI,
// and counts it as a step of this run.
func (w *caseWorkflow) execute(ctx workflow.Context, summary string, activity, result any, args ...any) error {
	w.steps++
	return workflow.ExecuteActivity(withSummary(ctx, summary), activity, args...).Get(ctx, result)
}

// record appends an event to the timeline, keeps the search attributes and
// the UI's current details up to date, and writes the step (event, snapshot,
// tasks, alerts) to the store in one activity.
func (w *caseWorkflow) record(ctx workflow.Context, actor, action string, before care.Phase, summary string, detail any) error {
	w.state.Seq++
	now := workflow.Now(ctx)
	step := care.Step{
		Event: care.Event{
			CaseID: w.state.Case.ID, Seq: w.state.Seq, At: now, Actor: actor, Action: action,
			PhaseBefore: before, PhaseAfter: w.state.Phase, Summary: summary, Detail: detail,
		},
		Tasks: w.changedTasks(), Alerts: w.alerts, Outcomes: w.outcomes, Pause: w.pause, Services: w.services,
		PlanChange: w.planChange,
	}
	w.changed, w.alerts, w.outcomes, w.pause, w.services, w.planChange = nil, nil, nil, nil, nil, nil
	w.pruneTasks()
	step.Snapshot = w.snapshot()
	w.state.Timeline = append(w.state.Timeline, TimelineEntry{
		Seq: step.Event.Seq, At: now, Actor: actor, Action: action, Phase: w.state.Phase, Summary: summary,
	})
	if n := len(w.state.Timeline); n > TimelineLimit {
		w.state.Timeline = append([]TimelineEntry(nil), w.state.Timeline[n-TimelineLimit:]...)
	}
	if err := w.upsertSearchAttributes(ctx); err != nil {
		return err
	}
	workflow.SetCurrentDetails(ctx, w.currentDetails())
	if w.localSteps(ctx) {
		return w.executeLocal(ctx, recordSummary(step.Event), recordStepActivity, nil, step)
	}
	return w.execute(ctx, recordSummary(step.Event), a.RecordStep, nil, step)
}

// localSteps reports that this run writes its steps and computes its
// clocks and risk proposals with local activities (change
// record-step-local, from version 1).
func (w *caseWorkflow) localSteps(ctx workflow.Context) bool {
	return w.stepsVersion(ctx) >= 1
}

// stepsVersion is this run's version of change record-step-local. Version
// 2 also upserts only the search attributes a step changed. It extends the
// change every run already takes at its first step instead of adding one:
// each change id costs a run a marker and a TemporalChangeVersion upsert,
// and a case opened by an import pays that on the import's path.
func (w *caseWorkflow) stepsVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, versionRecordStepLocal, workflow.DefaultVersion, 2)
}

// compute runs one of the activities that only compute (risk rules,
// discharge clocks, calendar months: no I/O) on a staff action's path: a
// local activity under change record-step-local, called by name, else the
// regular activity.
func (w *caseWorkflow) compute(ctx workflow.Context, summary string, activity any, name string, result any, args ...any) error {
	if w.localSteps(ctx) {
		return w.executeLocal(ctx, summary, name, result, args...)
	}
	return w.execute(ctx, summary, activity, result, args...)
}

// executeLocal runs an activity as a local activity with localStepOptions
// and a summary for the UI, and counts it as a step of this run.
func (w *caseWorkflow) executeLocal(ctx workflow.Context, summary string, activity, result any, args ...any) error {
	w.steps++
	opts := localStepOptions
	opts.Summary = summary
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, opts), activity, args...).Get(ctx, result)
}

// upsertSearchAttributes keeps the case's search attributes (phase, risk,
// next due, paused) up to date. Under version 2 of change
// record-step-local it upserts only the attributes whose value changed, and
// nothing when none did: most follow-up calls and contacts change none of
// them, and each upsert is a history event and a visibility write.
func (w *caseWorkflow) upsertSearchAttributes(ctx workflow.Context) error {
	u := attributeUpdates{}
	if w.stepsVersion(ctx) >= 2 {
		u.current = workflow.GetTypedSearchAttributes(ctx)
		u.onlyChanged = true
	}
	s := &w.state
	u.keyword(AttrPhase, string(s.Phase), true)
	u.keyword(AttrRisk, string(s.Risk), s.Risk != care.RiskUnknown)
	u.time(AttrNextDue, w.nextDue())
	if s.Clocks.PausedAttr { // cases paused under change pause-keeps-deadlines
		u.bool(AttrPaused, s.Paused)
	}
	if len(u.updates) == 0 {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, u.updates...)
}

// attributeUpdates collects search-attribute updates; with onlyChanged, only
// those that change what current holds.
type attributeUpdates struct {
	current     temporal.SearchAttributes
	onlyChanged bool
	updates     []temporal.SearchAttributeUpdate
}

// keyword sets k to v, or unsets it when set is false.
func (u *attributeUpdates) keyword(k temporal.SearchAttributeKeyKeyword, v string, set bool) {
	if u.onlyChanged {
		if cur, ok := u.current.GetKeyword(k); ok == set && (!set || cur == v) {
			return
		}
	}
	if set {
		u.updates = append(u.updates, k.ValueSet(v))
	} else {
		u.updates = append(u.updates, k.ValueUnset())
	}
}

// time sets k to *v, or unsets it when v is nil.
func (u *attributeUpdates) time(k temporal.SearchAttributeKeyTime, v *time.Time) {
	if u.onlyChanged {
		if cur, ok := u.current.GetTime(k); ok == (v != nil) && (v == nil || cur.Equal(*v)) {
			return
		}
	}
	if v != nil {
		u.updates = append(u.updates, k.ValueSet(*v))
	} else {
		u.updates = append(u.updates, k.ValueUnset())
	}
}

// bool sets k to v.
func (u *attributeUpdates) bool(k temporal.SearchAttributeKeyBool, v bool) {
	if u.onlyChanged {
		if cur, ok := u.current.GetBool(k); ok && cur == v {
			return
		}
	}
	u.updates = append(u.updates, k.ValueSet(v))
}

// currentDetails is what the Web UI shows as the case's current details:
// phase, risk and the next due action. Opaque ids and enums only.
func (w *caseWorkflow) currentDetails() string {
	s := &w.state
	d := fmt.Sprintf("**Phase:** %s  \n**Risk:** %s  \n**Care category:** %s", s.Phase, orNone(string(s.Risk)), orNone(string(s.Category)))
	if s.Paused {
		d += "  \n**Clocks paused** since " + s.PausedAt.UTC().Format(time.RFC3339)
	}
	items := w.openItems()
	if len(items) > 0 {
		next := items[0]
		for _, it := range items[1:] {
			if it.Due.Before(next.Due) {
				next = it
			}
		}
		what := next.Kind
		if next.TaskID != "" {
			what += " (" + next.TaskID + ")"
		}
		d += fmt.Sprintf("  \n**Next due:** %s by %s, owner %s", what, next.Due.UTC().Format(time.RFC3339), next.Owner)
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "not yet set"
	}
	return s
}

func (w *caseWorkflow) snapshot() care.Snapshot {
	s := &w.state
	snap := care.Snapshot{
		CaseID: s.Case.ID, PatientID: s.Case.PatientID, Program: s.Case.Program, Model: s.Case.Model,
		Manager: s.Case.Manager, Source: s.Case.Source, Phase: s.Phase, Risk: s.Risk, Category: s.Category,
		OpenedAt: s.Case.OpenedAt, NextDueAt: w.nextDue(), LastEventSeq: s.Seq, Paused: s.Paused,
	}
	if s.Proposal != nil {
		score := s.Proposal.Score
		snap.RiskScore = &score
	}
	if s.Closure != nil {
		snap.ClosureReason = s.Closure.Reason
		closed := s.ClosedAt
		snap.ClosedAt = &closed
	}
	return snap
}

func (w *caseWorkflow) status() Status {
	items := w.openItems()
	return Status{CaseState: w.state, OpenItems: items, NextDue: earliest(items)}
}

func (w *caseWorkflow) nextDue() *time.Time { return earliest(w.openItems()) }

func earliest(items []Item) *time.Time {
	var due *time.Time
	for i := range items {
		if due == nil || items[i].Due.Before(*due) {
			due = &items[i].Due
		}
	}
	return due
}

func withSummary(ctx workflow.Context, summary string) workflow.Context {
	opts := activityOptions // handlers get the root context, so set them all here
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

func openedSummary(c care.Case) string {
	return fmt.Sprintf("opened in program %s (%s model, from %s), manager %s", c.Program, c.Model, c.Source, c.Manager)
}
