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
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	w := &caseWorkflow{lock: workflow.NewMutex(ctx), maxSteps: in.MaxStepsPerRun}
	if w.maxSteps <= 0 {
		w.maxSteps = DefaultMaxStepsPerRun
	}
	if in.State != nil {
		w.state = *in.State
	} else {
		w.state = CaseState{Case: in.Case, Policy: in.Policy, Phase: care.PhaseScreening, PhaseSince: workflow.Now(ctx)}
	}
	w.state.Runs++
	// Hold the lock until the case is recorded as opened, so that a staff
	// action arriving with the first workflow task waits for it.
	if err := w.lock.Lock(ctx); err != nil {
		return CaseResult{}, err
	}
	if err := w.registerHandlers(ctx); err != nil {
		return CaseResult{}, err
	}
	if in.State == nil {
		if err := w.record(ctx, care.ActorSystem, "opened", care.PhaseScreening, openedSummary(in.Case), in.Case); err != nil {
			return CaseResult{}, err
		}
	}
	w.lock.Unlock()
	if err := w.run(ctx); err != nil {
		return CaseResult{}, err
	}
	if w.state.Phase == care.PhaseClosed {
		return CaseResult{CaseID: w.state.Case.ID, Reason: w.state.Closure.Reason}, nil
	}
	state := w.state
	return CaseResult{}, workflow.NewContinueAsNewError(ctx, CaseWorkflow,
		CaseInput{Case: state.Case, Policy: state.Policy, State: &state, MaxStepsPerRun: in.MaxStepsPerRun})
}

// run is the main loop. It returns when the case is closed or when this run
// should continue as new; either way with no staff action in flight and no
// signal left unhandled.
func (w *caseWorkflow) run(ctx workflow.Context) error {
	transitions := workflow.GetSignalChannelWithOptions(ctx, SignalTransition, workflow.SignalChannelOptions{
		Description: "A transition reported by an external system (hospital ADT feed): discharge, transfer or readmission",
	})
	services := workflow.GetSignalChannelWithOptions(ctx, SignalServiceUpdate, workflow.SignalChannelOptions{
		Description: "Where a planned service's coordination stands (from its ServiceWorkflow)",
	})
	var clock clockTimer
	for {
		at, why := w.nextWake()
		clock.set(ctx, w, at, why)
		err := workflow.Await(ctx, func() bool {
			next, _ := w.nextWake()
			return w.state.Phase == care.PhaseClosed || w.state.Coordinate || transitions.Len() > 0 || services.Len() > 0 ||
				clock.fired() || clock.earlier(next) || w.shouldContinueAsNew(ctx)
		})
		if err != nil {
			return err
		}
		for {
			var t care.Transition
			if !transitions.ReceiveAsync(&t) {
				break
			}
			if err := w.onTransitionSignal(ctx, t); err != nil {
				return err
			}
		}
		for {
			var u care.ServiceUpdate
			if !services.ReceiveAsync(&u) {
				break
			}
			if err := w.onServiceUpdate(ctx, u); err != nil {
				return err
			}
		}
		if w.state.Coordinate {
			if err := w.coordinate(ctx); err != nil {
				return err
			}
		}
		if clock.fired() {
			clock.reset()
			if err := w.fireClocks(ctx); err != nil {
				return err
			}
		}
		if w.state.Phase == care.PhaseClosed || w.shouldContinueAsNew(ctx) {
			// Let staff actions in flight answer first, and handle any
			// signal that came meanwhile: nothing is lost across runs.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			if transitions.Len() == 0 && services.Len() == 0 {
				return nil
			}
		}
	}
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

type caseWorkflow struct {
	state CaseState
	// lock serialises staff actions and the main loop's own steps, so that
	// each sees the state the previous one left.
	lock workflow.Mutex
	// steps counts the activities and timers of this run; maxSteps bounds it.
	steps, maxSteps int
	// changed and alerts collect what the current step writes besides its
	// event: tasks created or changed, alerts raised, outcomes, a pause.
	changed  []string // task ids
	alerts   []care.Alert
	outcomes *care.Outcomes
	pause    *care.PauseRecord
	services []care.ServiceState
}

func (w *caseWorkflow) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		return w.status(), nil
	}, workflow.QueryHandlerOptions{Description: "Phase, risk, care category, model, plan, open items and timeline of the case"}); err != nil {
		return err
	}
	regs := []func() error{
		register(ctx, Screen, "Record the screening decision: eligible moves to assessment, not eligible closes the case", w.screen, w.canScreen),
		register(ctx, Assess, "Record the assessment and its outcome baseline; the risk rules propose a level", w.assess, w.canAssess),
		register(ctx, Stratify, "Confirm or override the proposed risk level and set the care category", w.stratify, w.canStratify),
		register(ctx, Plan, "Approve the care plan (goals and services); coordination starts", w.plan, w.canPlan),
		register(ctx, Contact, "Record a contact with client, family or provider; may send the case back to assessment or planning", w.contact, w.canContact),
		register(ctx, Call, "Record the outcome of a follow-up call: reached, no-answer or declined", w.call, w.canCall),
		register(ctx, Complete, "Mark a task done (visit, medication reconciliation, re-assessment, ...)", w.complete, w.canComplete),
		register(ctx, Transition, "Record a transition of care (discharge, transfer, change of level, readmission)", w.transition, w.canTransition),
		register(ctx, Pause, "Pause the case's outreach clocks (e.g. the client is re-admitted)", w.pauseClocks, w.canPause),
		register(ctx, Resume, "Resume the case's outreach clocks; pending deadlines move by the paused time", w.resumeClocks, w.canResume),
		register(ctx, Appointment, "Record the attendance of an appointment: attended, no-show or cancelled", w.appointment, w.canAppointment),
		register(ctx, Evaluate, "Score the six outcome domains against the assessment baseline", w.evaluate, w.canEvaluate),
		register(ctx, Close, "Close the case with a closure reason", w.close, w.canClose),
	}
	for _, reg := range regs {
		if err := reg(); err != nil {
			return err
		}
	}
	return nil
}

// register returns the registration of the update handler of action with
// its validator. Both answer with typed errors (see appError).
func register[T any](ctx workflow.Context, action Action[T], description string,
	handler func(workflow.Context, string, T) (Status, error), validator func(string, T) error) func() error {
	return func() error {
		return workflow.SetUpdateHandlerWithOptions(ctx, action.Name,
			func(ctx workflow.Context, actor string, arg T) (Status, error) {
				st, err := handler(ctx, actor, arg)
				return st, appError(err)
			},
			workflow.UpdateHandlerOptions{
				Validator:   func(actor string, arg T) error { return appError(validator(actor, arg)) },
				Description: description,
			})
	}
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
	before := w.state.Phase
	summary, detail, err := apply()
	if err != nil {
		return Status{}, err
	}
	if err := w.record(ctx, actor, action, before, summary, detail); err != nil {
		return Status{}, err
	}
	return w.status(), nil
}

// enter moves the case to phase p and starts or stops the phase's clocks.
func (w *caseWorkflow) enter(ctx workflow.Context, p care.Phase) {
	now := workflow.Now(ctx)
	if p == w.state.Phase {
		return
	}
	w.state.Phase = p
	w.state.PhaseSince = now
	switch p {
	case care.PhaseFollowUp:
		w.startCalls(now)
	case care.PhasePostTransition:
		if w.state.NextCallAt.IsZero() {
			w.startCalls(now)
		}
	default:
		// Calls and re-assessments run only in follow-up and after a
		// transition; leaving those phases stops them.
		w.state.NextCallAt, w.state.NextReassessAt = time.Time{}, time.Time{}
		w.cancelTasks(now, "phase "+string(p), care.TaskCall, care.TaskReassess)
	}
}

func (w *caseWorkflow) screen(ctx workflow.Context, actor string, s care.Screening) (Status, error) {
	return w.act(ctx, actor, UpdateScreen, func() error { return w.canScreen(actor, s) }, func() (string, any, error) {
		w.state.Screening = &s
		if !s.Eligible {
			w.closeWith(ctx, care.Closure{Reason: care.ClosureIneligible, Notes: s.Reason})
			return "not eligible: case closed", s, nil
		}
		w.enter(ctx, care.PhaseAssessment)
		return "eligible", s, nil
	})
}

func (w *caseWorkflow) assess(ctx workflow.Context, actor string, as care.Assessment) (Status, error) {
	return w.act(ctx, actor, UpdateAssess, func() error { return w.canAssess(actor, as) }, func() (string, any, error) {
		var p care.RiskProposal
		// The rules live in an activity; if it cannot run, the action fails
		// and the case stays where it was.
		if err := w.execute(ctx, "propose risk level", a.ProposeRisk, &p, as); err != nil {
			return "", nil, err
		}
		w.state.Assessment = &as
		w.state.Proposal = &p
		w.completeTasks(workflow.Now(ctx), "assessed", care.TaskReassess)
		w.enter(ctx, care.PhaseStratification)
		return fmt.Sprintf("assessed; rules %s propose %s risk (score %d)", p.Rules, p.Level, p.Score), struct {
			Assessment care.Assessment   `json:"assessment"`
			Proposal   care.RiskProposal `json:"proposal"`
		}{as, p}, nil
	})
}

func (w *caseWorkflow) stratify(ctx workflow.Context, actor string, s care.Stratification) (Status, error) {
	return w.act(ctx, actor, UpdateStratify, func() error { return w.canStratify(actor, s) }, func() (string, any, error) {
		risk := s.Risk
		summary := fmt.Sprintf("risk %s as proposed, %s care", w.state.Proposal.Level, s.Category)
		if risk == care.RiskUnknown {
			risk = w.state.Proposal.Level
		} else if risk != w.state.Proposal.Level {
			summary = fmt.Sprintf("risk %s (overrides proposed %s), %s care", risk, w.state.Proposal.Level, s.Category)
		}
		w.state.Risk = risk
		w.state.Category = s.Category
		w.enter(ctx, care.PhasePlanning)
		return summary, s, nil
	})
}

func (w *caseWorkflow) plan(ctx workflow.Context, actor string, p care.CarePlan) (Status, error) {
	return w.act(ctx, actor, UpdatePlan, func() error { return w.canPlan(actor, p) }, func() (string, any, error) {
		w.cancelServices(ctx)
		w.state.Plan = &p
		w.state.PlanVersion++
		w.state.Services = nil
		w.state.Coordinate = true
		w.enter(ctx, care.PhaseImplementation)
		return fmt.Sprintf("care plan approved: %d goals, %d services", len(p.Goals), len(p.Services)), p, nil
	})
}

// coordinate runs step 5 for the approved plan and moves the case on to
// follow-up.
func (w *caseWorkflow) coordinate(ctx workflow.Context) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	if !w.state.Coordinate || w.state.Phase != care.PhaseImplementation {
		w.state.Coordinate = false // the case was closed meanwhile
		return nil
	}
	var services []care.ServiceState
	if err := w.execute(ctx, "coordinate planned services", a.CoordinateServices, &services, w.state.Case.ID, w.state.Plan.Services); err != nil {
		return err
	}
	w.state.Services = services
	// Version 1 coordinates each service in a ServiceWorkflow child; cases
	// recorded before only saved the services' initial status.
	if workflow.GetVersion(ctx, versionServiceWorkflows, workflow.DefaultVersion, 1) == 1 {
		if err := w.startServices(ctx); err != nil {
			return err
		}
	}
	w.state.Coordinate = false
	w.state.LastContactAt = time.Time{}
	w.enter(ctx, care.PhaseFollowUp)
	return w.record(ctx, care.ActorSystem, "coordinated", care.PhaseImplementation,
		fmt.Sprintf("coordination of %d services started; follow-up calls every %s", len(services), care.FormatDuration(w.callInterval())), services)
}

func (w *caseWorkflow) contact(ctx workflow.Context, actor string, c care.Contact) (Status, error) {
	return w.act(ctx, actor, UpdateContact, func() error { return w.canContact(actor, c) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		w.state.LastContactAt = now
		summary := "contact with " + string(c.With)
		if c.FaceToFace {
			summary = "face-to-face visit with " + string(c.With)
		}
		if c.With != care.PartyProvider {
			w.completeTasks(now, summary, care.TaskTCMContact, care.TaskContact)
			if c.FaceToFace {
				w.completeTasks(now, summary, care.TaskTCMVisit)
			}
		}
		if c.BackTo != "" {
			w.enter(ctx, c.BackTo)
			summary += "; back to " + string(c.BackTo)
		}
		return summary, c, nil
	})
}

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

func (w *caseWorkflow) transition(ctx workflow.Context, actor string, t care.Transition) (Status, error) {
	return w.act(ctx, actor, UpdateTransition, func() error { return w.canTransition(actor, t) }, func() (string, any, error) {
		summary, err := w.applyTransition(ctx, t)
		return summary, t, err
	})
}

// onTransitionSignal applies a transition reported by an external system, or
// records why it could not.
func (w *caseWorkflow) onTransitionSignal(ctx workflow.Context, t care.Transition) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	before := w.state.Phase
	if err := w.canTransition(care.ActorSystem, t); err != nil {
		return w.record(ctx, care.ActorSystem, "transition-ignored", before, "external transition ignored: "+err.Error(), t)
	}
	summary, err := w.applyTransition(ctx, t)
	if err != nil {
		return err
	}
	return w.record(ctx, care.ActorSystem, UpdateTransition, before, summary, t)
}

func (w *caseWorkflow) evaluate(ctx workflow.Context, actor string, e care.Evaluation) (Status, error) {
	return w.act(ctx, actor, UpdateEvaluate, func() error { return w.canEvaluate(actor, e) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		w.state.Evaluation = &e
		w.enter(ctx, care.PhaseEvaluation)
		improved, worse := 0, 0
		base := w.state.Assessment.Baseline.Domains()
		for i, d := range e.Scores.Domains() {
			switch {
			case d.Score > base[i].Score:
				improved++
			case d.Score < base[i].Score:
				worse++
			}
		}
		w.outcomes = &care.Outcomes{Baseline: w.state.Assessment.Baseline, Evaluation: e.Scores, At: now}
		return fmt.Sprintf("outcomes evaluated: %d domains improved, %d worse than baseline", improved, worse), struct {
			Baseline care.OutcomeScores `json:"baseline"`
			Scores   care.OutcomeScores `json:"scores"`
			Notes    string             `json:"notes,omitempty"`
		}{w.state.Assessment.Baseline, e.Scores, e.Notes}, nil
	})
}

func (w *caseWorkflow) close(ctx workflow.Context, actor string, c care.Closure) (Status, error) {
	return w.act(ctx, actor, UpdateClose, func() error { return w.canClose(actor, c) }, func() (string, any, error) {
		w.closeWith(ctx, c)
		return "closed: " + string(c.Reason), c, nil
	})
}

func (w *caseWorkflow) closeWith(ctx workflow.Context, c care.Closure) {
	w.cancelServices(ctx)
	w.state.Closure = &c
	w.state.ClosedAt = workflow.Now(ctx)
	w.state.Coordinate = false
	w.state.Paused = false
	w.enter(ctx, care.PhaseClosed)
	w.cancelTasks(w.state.ClosedAt, "case closed")
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
	}
	w.changed, w.alerts, w.outcomes, w.pause, w.services = nil, nil, nil, nil, nil
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
	return w.execute(ctx, "record "+action, a.RecordStep, nil, step)
}

func (w *caseWorkflow) upsertSearchAttributes(ctx workflow.Context) error {
	updates := []temporal.SearchAttributeUpdate{AttrPhase.ValueSet(string(w.state.Phase))}
	if w.state.Risk == care.RiskUnknown {
		updates = append(updates, AttrRisk.ValueUnset())
	} else {
		updates = append(updates, AttrRisk.ValueSet(string(w.state.Risk)))
	}
	if due := w.nextDue(); due != nil {
		updates = append(updates, AttrNextDue.ValueSet(*due))
	} else {
		updates = append(updates, AttrNextDue.ValueUnset())
	}
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

// currentDetails is what the Web UI shows as the case's current details:
// phase, risk and the next due action. Opaque ids and enums only.
func (w *caseWorkflow) currentDetails() string {
	s := w.state
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
	s := w.state
	snap := care.Snapshot{
		CaseID: s.Case.ID, PatientID: s.Case.PatientID, Program: s.Case.Program, Model: s.Case.Model,
		Manager: s.Case.Manager, Source: s.Case.Source, Phase: s.Phase, Risk: s.Risk, Category: s.Category,
		OpenedAt: s.Case.OpenedAt, NextDueAt: w.nextDue(), LastEventSeq: s.Seq,
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

// openItems is the case's worklist: the step the phase waits for, and the
// open tasks.
func (w *caseWorkflow) openItems() []Item {
	s, p := w.state, w.state.Policy
	owner := s.Case.Manager
	var items []Item
	step := func(kind, desc string, due time.Time) {
		items = append(items, Item{Kind: kind, Description: desc, Owner: owner, Due: due})
	}
	switch s.Phase {
	case care.PhaseScreening:
		step("screen", "screen the client for eligibility", s.PhaseSince.Add(p.Steps.Screening.D()))
	case care.PhaseAssessment:
		step("assess", "assess the client and record the outcome baseline", s.PhaseSince.Add(p.Steps.Assessment.D()))
	case care.PhaseStratification:
		step("stratify", fmt.Sprintf("confirm risk level (rules propose %s) and care category", s.Proposal.Level), s.PhaseSince.Add(p.Steps.Stratification.D()))
	case care.PhasePlanning:
		step("plan", "agree the care plan with the physician", s.PhaseSince.Add(p.Steps.Planning.D()))
	case care.PhaseImplementation:
		step("coordinate", "coordinate the planned services", s.PhaseSince)
	case care.PhaseEvaluation:
		step("close", "close the case with a closure reason", s.PhaseSince)
	}
	for _, t := range s.Tasks {
		if t.Status == care.TaskOpen && t.Kind != care.TaskReadmissionWatch {
			items = append(items, Item{TaskID: t.ID, Kind: string(t.Kind), Description: t.Description, Owner: t.Owner, Due: t.Due})
		}
	}
	if !s.NextCallAt.IsZero() && !s.Paused {
		step("next-call", "next follow-up call falls due", s.NextCallAt)
	}
	return items
}

func withSummary(ctx workflow.Context, summary string) workflow.Context {
	opts := activityOptions // handlers get the root context, so set them all here
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

func openedSummary(c care.Case) string {
	return fmt.Sprintf("opened in program %s (%s model, from %s), manager %s", c.Program, c.Model, c.Source, c.Manager)
}
