package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

// a is used only to name activities; the worker registers the real value.
var a *activities.Activities

// CaseWorkflow runs one patient case from screening to closing. Staff drive it
// with updates; it coordinates an approved plan by itself, records every step
// through activities, keeps its search attributes current, and continues as
// new when its history grows large.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	w := &caseWorkflow{lock: workflow.NewMutex(ctx)}
	if in.State != nil {
		w.state = *in.State
	} else {
		w.state = CaseState{Case: in.Case, Policy: in.Policy, Phase: care.PhaseScreening, PhaseSince: workflow.Now(ctx)}
	}
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
	discharges := workflow.GetSignalChannel(ctx, SignalDischarge)
	for {
		err := workflow.Await(ctx, func() bool {
			return w.state.Phase == care.PhaseClosed || w.state.Coordinate || discharges.Len() > 0 ||
				workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		})
		if err != nil {
			return CaseResult{}, err
		}
		for {
			var t care.Transition
			if !discharges.ReceiveAsync(&t) {
				break
			}
			if err := w.onDischargeSignal(ctx, t); err != nil {
				return CaseResult{}, err
			}
		}
		if w.state.Coordinate {
			if err := w.coordinate(ctx); err != nil {
				return CaseResult{}, err
			}
		}
		if w.state.Phase == care.PhaseClosed {
			// Let staff actions in flight answer before the workflow ends.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return CaseResult{}, err
			}
			return CaseResult{CaseID: w.state.Case.ID, Reason: w.state.Closure.Reason}, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return CaseResult{}, err
			}
			if discharges.Len() > 0 {
				continue // handle them first; nothing is lost across runs
			}
			state := w.state
			return CaseResult{}, workflow.NewContinueAsNewError(ctx, CaseWorkflow, CaseInput{Case: state.Case, Policy: state.Policy, State: &state})
		}
	}
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
}

func (w *caseWorkflow) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		return w.status(), nil
	}, workflow.QueryHandlerOptions{Description: "Phase, risk, care category, model, plan, open items and timeline of the case"}); err != nil {
		return err
	}
	handlers := []struct {
		name, description  string
		handler, validator any
	}{
		{UpdateScreen, "Record the screening decision: eligible moves to assessment, not eligible closes the case",
			w.screen, func(actor string, s care.Screening) error { return w.canScreen(actor, s) }},
		{UpdateAssess, "Record the assessment and its outcome baseline; the risk rules propose a level",
			w.assess, func(actor string, as care.Assessment) error { return w.canAssess(actor, as) }},
		{UpdateStratify, "Confirm or override the proposed risk level and set the care category",
			w.stratify, func(actor string, s care.Stratification) error { return w.canStratify(actor, s) }},
		{UpdatePlan, "Approve the care plan (goals and services); coordination starts",
			w.plan, func(actor string, p care.CarePlan) error { return w.canPlan(actor, p) }},
		{UpdateContact, "Record a contact with client, family or provider; may send the case back to assessment or planning",
			w.contact, func(actor string, c care.Contact) error { return w.canContact(actor, c) }},
		{UpdateTransition, "Record a transition of care (discharge, transfer, change of level)",
			w.transition, func(actor string, t care.Transition) error { return w.canTransition(actor, t) }},
		{UpdateEvaluate, "Score the six outcome domains against the assessment baseline",
			w.evaluate, func(actor string, e care.Evaluation) error { return w.canEvaluate(actor, e) }},
		{UpdateClose, "Close the case with a closure reason",
			w.close, func(actor string, c care.Closure) error { return w.canClose(actor, c) }},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{
			Validator: h.validator, Description: h.description,
		}); err != nil {
			return err
		}
	}
	return nil
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

// enter moves the case to phase p.
func (w *caseWorkflow) enter(ctx workflow.Context, p care.Phase) {
	w.state.Phase = p
	w.state.PhaseSince = workflow.Now(ctx)
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
		if err := workflow.ExecuteActivity(withSummary(ctx, "propose risk level"), a.ProposeRisk, as).Get(ctx, &p); err != nil {
			return "", nil, err
		}
		w.state.Assessment = &as
		w.state.Proposal = &p
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
		w.state.Plan = &p
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
	if err := workflow.ExecuteActivity(withSummary(ctx, "coordinate planned services"), a.CoordinateServices,
		w.state.Case.ID, w.state.Plan.Services).Get(ctx, &services); err != nil {
		return err
	}
	w.state.Services = services
	w.state.Coordinate = false
	w.enter(ctx, care.PhaseFollowUp)
	w.state.LastContactAt = time.Time{}
	return w.record(ctx, care.ActorSystem, "coordinated", care.PhaseImplementation,
		fmt.Sprintf("%d services coordinated; follow-up every %s", len(services), care.FormatDuration(w.state.Policy.Cadence(w.state.Risk))), services)
}

func (w *caseWorkflow) contact(ctx workflow.Context, actor string, c care.Contact) (Status, error) {
	return w.act(ctx, actor, UpdateContact, func() error { return w.canContact(actor, c) }, func() (string, any, error) {
		w.state.LastContactAt = workflow.Now(ctx)
		summary := "contact with " + string(c.With)
		if c.BackTo != "" {
			w.enter(ctx, c.BackTo)
			summary += "; back to " + string(c.BackTo)
		}
		return summary, c, nil
	})
}

func (w *caseWorkflow) transition(ctx workflow.Context, actor string, t care.Transition) (Status, error) {
	return w.act(ctx, actor, UpdateTransition, func() error { return w.canTransition(actor, t) }, func() (string, any, error) {
		return w.applyTransition(ctx, t), t, nil
	})
}

func (w *caseWorkflow) applyTransition(ctx workflow.Context, t care.Transition) string {
	w.state.Transition = &t
	w.state.TransitionAt = workflow.Now(ctx)
	w.enter(ctx, care.PhaseTransition)
	w.enter(ctx, care.PhasePostTransition)
	return fmt.Sprintf("%s on %s", t.Kind, t.Date)
}

// onDischargeSignal applies a transition reported by an external system, or
// records why it could not.
func (w *caseWorkflow) onDischargeSignal(ctx workflow.Context, t care.Transition) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	before := w.state.Phase
	if err := w.canTransition(care.ActorSystem, t); err != nil {
		return w.record(ctx, care.ActorSystem, "transition-ignored", before, "external transition ignored: "+err.Error(), t)
	}
	return w.record(ctx, care.ActorSystem, UpdateTransition, before, w.applyTransition(ctx, t), t)
}

func (w *caseWorkflow) evaluate(ctx workflow.Context, actor string, e care.Evaluation) (Status, error) {
	return w.act(ctx, actor, UpdateEvaluate, func() error { return w.canEvaluate(actor, e) }, func() (string, any, error) {
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
	w.state.Closure = &c
	w.state.ClosedAt = workflow.Now(ctx)
	w.state.Coordinate = false
	w.enter(ctx, care.PhaseClosed)
}

// record appends an event to the timeline, keeps the search attributes
// current and writes event and snapshot to the store.
func (w *caseWorkflow) record(ctx workflow.Context, actor, action string, before care.Phase, summary string, detail any) error {
	w.state.Seq++
	now := workflow.Now(ctx)
	ev := care.Event{
		CaseID: w.state.Case.ID, Seq: w.state.Seq, At: now, Actor: actor, Action: action,
		PhaseBefore: before, PhaseAfter: w.state.Phase, Summary: summary, Detail: detail,
	}
	w.state.Timeline = append(w.state.Timeline, TimelineEntry{
		Seq: ev.Seq, At: now, Actor: actor, Action: action, Phase: w.state.Phase, Summary: summary,
	})
	if n := len(w.state.Timeline); n > TimelineLimit {
		w.state.Timeline = append([]TimelineEntry(nil), w.state.Timeline[n-TimelineLimit:]...)
	}
	if err := w.upsertSearchAttributes(ctx); err != nil {
		return err
	}
	return workflow.ExecuteActivity(withSummary(ctx, "record "+action), a.RecordEvent, ev, w.snapshot()).Get(ctx, nil)
}

func (w *caseWorkflow) upsertSearchAttributes(ctx workflow.Context) error {
	updates := []temporal.SearchAttributeUpdate{
		AttrPhase.ValueSet(string(w.state.Phase)),
		AttrRisk.ValueSet(string(w.state.Risk)),
	}
	if due := w.nextDue(); due != nil {
		updates = append(updates, AttrNextDue.ValueSet(*due))
	} else {
		updates = append(updates, AttrNextDue.ValueUnset())
	}
	if w.state.Risk == care.RiskUnknown {
		updates[1] = AttrRisk.ValueUnset()
	}
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
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

// openItems derives the case's worklist from its state and policy.
func (w *caseWorkflow) openItems() []Item {
	s, p := w.state, w.state.Policy
	owner := s.Case.Manager
	item := func(kind, desc string, due time.Time) Item {
		return Item{Kind: kind, Description: desc, Owner: owner, Due: due}
	}
	switch s.Phase {
	case care.PhaseScreening:
		return []Item{item("screen", "screen the client for eligibility", s.PhaseSince.Add(p.ScreeningWithin))}
	case care.PhaseAssessment:
		return []Item{item("assess", "assess the client and record the outcome baseline", s.PhaseSince.Add(p.AssessmentWithin))}
	case care.PhaseStratification:
		return []Item{item("stratify", fmt.Sprintf("confirm risk level (rules propose %s) and care category", s.Proposal.Level), s.PhaseSince.Add(p.ScreeningWithin))}
	case care.PhasePlanning:
		return []Item{item("plan", "agree the care plan with the physician", s.PhaseSince.Add(p.PlanningWithin))}
	case care.PhaseImplementation:
		return []Item{item("coordinate", "coordinate the planned services", s.PhaseSince)}
	case care.PhaseFollowUp:
		return []Item{item("follow-up", "follow-up contact with the client", lastOr(s.LastContactAt, s.PhaseSince).Add(p.Cadence(s.Risk)))}
	case care.PhasePostTransition:
		if s.LastContactAt.Before(s.TransitionAt) {
			return []Item{item("post-transition-contact", "contact the client after the "+string(s.Transition.Kind), s.TransitionAt.Add(p.PostTransitionContactWithin))}
		}
		return []Item{item("follow-up", "follow-up contact with the client", s.LastContactAt.Add(p.Cadence(s.Risk)))}
	case care.PhaseEvaluation:
		return []Item{item("close", "close the case with a closure reason", s.PhaseSince)}
	}
	return nil
}

func lastOr(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

func withSummary(ctx workflow.Context, summary string) workflow.Context {
	opts := activityOptions // handlers get the root context, so set them all here
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

func openedSummary(c care.Case) string {
	return fmt.Sprintf("opened in program %s (%s model, from %s), manager %s", c.Program, c.Model, c.Source, c.Manager)
}
