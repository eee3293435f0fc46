package workflows

// The staff actions that carry a case through the steps of care management
// (screen, assess, stratify, plan, contact, evaluate, close), and the
// workflow's own step from implementation to follow-up (coordinate).

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

func (w *caseWorkflow) screen(ctx workflow.Context, actor string, s care.Screening) (Status, error) {
	return w.act(ctx, actor, UpdateScreen, func() error { return w.canScreen(actor, s) }, func() (string, any, error) {
		w.state.Screening = &s
		if !s.Eligible {
			w.closeWith(ctx, care.ActionScreen, s.Branch(), care.Closure{Reason: care.ClosureIneligible, Notes: s.Reason})
			return "not eligible: case closed", s, nil
		}
		w.follow(ctx, care.ActionScreen, s.Branch())
		return "eligible", s, nil
	})
}

func (w *caseWorkflow) assess(ctx workflow.Context, actor string, as care.Assessment) (Status, error) {
	return w.act(ctx, actor, UpdateAssess, func() error { return w.canAssess(actor, as) }, func() (string, any, error) {
		var p care.RiskProposal
		// The rules live in an activity; if it cannot run, the action fails
		// and the case stays where it was.
		if rules := w.state.Policy.RiskRules; rules != nil && workflow.GetVersion(ctx, versionRiskRulesData, workflow.DefaultVersion, 1) == 1 {
			if err := w.compute(ctx, "propose risk level", a.ProposeRiskWith, "ProposeRiskWith", &p, *rules, as); err != nil {
				return "", nil, err
			}
		} else if err := w.compute(ctx, "propose risk level", a.ProposeRisk, "ProposeRisk", &p, as); err != nil {
			return "", nil, err
		}
		c := &w.state.Clocks
		switch {
		case w.state.Assessment == nil:
			c.Intake = &as.Baseline
		case c.Intake == nil: // a case assessed before intake baselines were kept
			c.Intake = &w.state.Assessment.Baseline
		}
		if w.state.Assessment != nil {
			c.Reassessed, c.ReassessedAt = &as.Baseline, workflow.Now(ctx)
		}
		w.state.Assessment = &as
		w.state.Proposal = &p
		w.completeTasks(workflow.Now(ctx), "assessed", care.TaskReassess)
		w.follow(ctx, care.ActionAssess, care.BranchAny)
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
		w.follow(ctx, care.ActionStratify, care.BranchAny)
		return summary, s, nil
	})
}

func (w *caseWorkflow) plan(ctx workflow.Context, actor string, p care.CarePlan) (Status, error) {
	return w.act(ctx, actor, UpdatePlan, func() error { return w.canPlan(actor, p) }, func() (string, any, error) {
		// Version 1 approves the plan as a diff of the current one: only
		// what changed is cancelled, amended or started.
		if workflow.GetVersion(ctx, versionPlanDiff, workflow.DefaultVersion, 1) == 1 {
			change := w.replan(ctx, p)
			w.state.Plan = &p
			w.state.Coordinate = true
			w.follow(ctx, care.ActionPlan, care.BranchAny)
			return fmt.Sprintf("care plan approved: %d goals, %d services; %s", len(p.Goals), len(p.Services), change.Summary()), struct {
				care.CarePlan
				Change care.PlanChange `json:"change"`
			}{p, change}, nil
		}
		w.cancelServices(ctx)
		w.state.Plan = &p
		w.state.PlanVersion++
		w.state.Services = nil
		w.state.Coordinate = true
		w.follow(ctx, care.ActionPlan, care.BranchAny)
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
	if !w.state.Coordinate || !care.Machine.Allows(w.state.Phase, care.ActionCoordinated) {
		w.state.Coordinate = false // the case was closed meanwhile
		return nil
	}
	var services []care.ServiceState
	if w.state.Diffed {
		var err error
		if services, err = w.coordinateChanges(ctx); err != nil {
			return err
		}
	} else {
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
	}
	w.state.Coordinate = false
	w.state.LastContactAt = time.Time{}
	w.follow(ctx, care.ActionCoordinated, care.BranchAny)
	return w.record(ctx, care.ActorSystem, string(care.ActionCoordinated), care.PhaseImplementation,
		fmt.Sprintf("coordination of %d services started; follow-up calls every %s", len(services), care.FormatDuration(w.callInterval())), services)
}

func (w *caseWorkflow) contact(ctx workflow.Context, actor string, c care.Contact) (Status, error) {
	return w.act(ctx, actor, UpdateContact, func() error { return w.canContact(time.Time{}, actor, c) }, func() (string, any, error) {
		now := workflow.Now(ctx)
		at, timed := w.happenedAt(ctx, c.At, now)
		var summary string
		if c.Attempt {
			summary = w.contactAttempt(now, at, timed, c)
		} else {
			summary = w.contactMade(ctx, at, timed, c)
		}
		if timed {
			summary += " (made " + at.UTC().Format(time.RFC3339) + ", entered later)"
		}
		var detail any = c
		if m, counted, err := w.addMinutes(ctx, at, c.Minutes); err != nil {
			return "", nil, err
		} else if m != "" {
			summary += "; " + m
			if !counted {
				detail = contactNotCounted{Contact: c, MinutesNotCounted: true}
			}
		}
		if to := w.follow(ctx, care.ActionContact, c.Branch()); to != "" {
			summary += "; back to " + string(to)
		}
		return summary, detail, nil
	})
}

// contactNotCounted is the event detail of a contact whose minutes did not
// count: the CCM month it was made in had closed (change contact-times).
type contactNotCounted struct {
	care.Contact
	MinutesNotCounted bool `json:"minutes_not_counted"`
}

// happenedAt is when a contact or call recorded at now was made: at, when
// it is given and earlier (change contact-times), else now. timed says
// which.
func (w *caseWorkflow) happenedAt(ctx workflow.Context, at, now time.Time) (time.Time, bool) {
	if at.IsZero() || !at.Before(now) || workflow.GetVersion(ctx, versionContactTimes, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return now, false
	}
	return at, true
}

// contactMade records a contact that reached the client, family or a
// provider, made at now (timed: at the time staff gave, under change
// contact-times). A contact with the client or family meets the interactive
// contact clocks; a face-to-face visit meets the TCM visit clock only with
// the patient present (change tcm-as-billed; before, a face-to-face contact
// with the family met it too). A missed clock met afterwards is recorded
// done late; a timed contact completes only the tasks that had started by
// its time, and one made by a clock's due time meets it even when the clock
// fired missed before the entry.
func (w *caseWorkflow) contactMade(ctx workflow.Context, now time.Time, timed bool, c care.Contact) string {
	if !timed || now.After(w.state.LastContactAt) {
		w.state.LastContactAt = now
	}
	summary := "contact with " + string(c.With)
	if c.FaceToFace {
		summary = "face-to-face visit with " + string(c.With)
	}
	if c.With == care.PartyProvider {
		return summary
	}
	cs := &w.state.Clocks
	if now.After(cs.ClientContactAt) {
		cs.ClientContactAt = now
	}
	if c.FaceToFace && c.With == care.PartyClient && now.After(cs.ClientVisitAt) {
		cs.ClientVisitAt = now
	}
	asBilled := w.state.Discharge != nil && workflow.GetVersion(ctx, versionTCMAsBilled, workflow.DefaultVersion, 1) == 1
	complete := func(late bool, kinds ...care.TaskKind) {
		if timed {
			w.doneAt(now, summary, late, kinds...)
			return
		}
		w.completeTasks(now, summary, kinds...)
		if late {
			w.completeLate(now, summary, kinds...)
		}
	}
	// The contact clock of a transfer or level change is kept while missed
	// only under change transition-contact: one kept can be met or done late.
	transition := w.state.Clocks.TransitionContact != nil
	if timed {
		w.doneAt(now, summary, transition, care.TaskContact)
		w.doneAt(now, summary, asBilled, care.TaskTCMContact)
	} else {
		w.completeTasks(now, summary, care.TaskTCMContact, care.TaskContact)
		if asBilled {
			w.completeLate(now, summary, care.TaskTCMContact)
		}
		if transition {
			w.completeLate(now, summary, care.TaskContact)
		}
	}
	switch {
	case !c.FaceToFace:
	case !asBilled:
		complete(false, care.TaskTCMVisit)
	case c.With == care.PartyClient:
		visit := w.dischargeTask(care.TaskTCMVisit)
		open := visit != nil && visit.Status != care.TaskDone
		complete(true, care.TaskTCMVisit)
		// Only the visit that meets the latest discharge's visit clock (in
		// time or late) sets when the medication reconciliation is due: not
		// one before the discharge, nor one after the clock was met.
		met := open && visit.Status == care.TaskDone
		if met || !w.medRecMovedBy(now) || workflow.GetVersion(ctx, versionVisitMetMedRec, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			w.visitDone(ctx, now)
		}
	default:
		for _, t := range w.state.Tasks {
			if t.Kind == care.TaskTCMVisit && t.Status == care.TaskOpen {
				summary += " (the patient was not present: " + t.ID + " stays open)"
			}
		}
	}
	return summary
}

// contactAttempt records an interactive-contact attempt that did not reach
// the client, made at now. Two documented attempts within the TCM contact
// window meet that clock: "met by attempts". A timed attempt (change
// contact-times) counts when it was made within the window, also toward a
// clock that fired missed before it was entered.
func (w *caseWorkflow) contactAttempt(entered, now time.Time, timed bool, c care.Contact) string {
	s := &w.state
	summary := fmt.Sprintf("contact attempt with %s: %s", c.With, c.Outcome)
	d := s.Discharge
	if d == nil || c.With == care.PartyProvider {
		return summary
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.Kind != care.TaskTCMContact || now.After(t.Due) {
			continue
		}
		if timed {
			if !w.startedBy(*t, now) || (t.Status != care.TaskOpen && !w.lateDoable(*t)) {
				continue
			}
		} else if t.Status != care.TaskOpen {
			continue
		}
		if d.Attempts > 0 && d.LastAttemptAt.IsZero() {
			// Counted before the time of attempts was kept: it was made by
			// now, within the window.
			d.LastAttemptAt = minTime(entered, t.Due)
		}
		d.Attempts++
		if now.After(d.LastAttemptAt) {
			d.LastAttemptAt = now
		}
		summary += fmt.Sprintf(" (attempt %d within the contact window)", d.Attempts)
		if d.Attempts >= 2 {
			outcome := fmt.Sprintf("met by attempts: %d documented attempts within the window", d.Attempts)
			if t.Status != care.TaskOpen {
				outcome += " (entered after its clock fired; it had been recorded missed)"
			}
			// Met when the latest of the attempts it needed was made.
			w.finishTask(t, d.LastAttemptAt, care.TaskDone, outcome)
			summary += "; " + t.ID + " met by attempts"
		}
	}
	return summary
}

func (w *caseWorkflow) evaluate(ctx workflow.Context, actor string, e care.Evaluation) (Status, error) {
	return w.act(ctx, actor, UpdateEvaluate, func() error {
		if workflow.GetVersion(ctx, versionEvaluationRules, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return w.allowed(care.ActionEvaluate, care.BranchAny, actor, e.Validate)
		}
		return w.canEvaluate(actor, e)
	}, func() (string, any, error) {
		now := workflow.Now(ctx)
		w.state.Evaluation = &e
		w.follow(ctx, care.ActionEvaluate, care.BranchAny)
		c := w.state.Clocks
		intake := w.state.Assessment.Baseline
		if c.Intake != nil {
			intake = *c.Intake
		}
		improved, worse := compareScores(intake, e.Scores)
		summary := fmt.Sprintf("outcomes evaluated: %d domains improved, %d worse than the intake baseline", improved, worse)
		if c.Reassessed != nil {
			i, w := compareScores(*c.Reassessed, e.Scores)
			summary += fmt.Sprintf("; since the latest re-assessment %d improved, %d worse", i, w)
		}
		if e.WithoutTransition {
			summary += "; evaluated without a transition: " + e.Reason
		}
		w.outcomes = &care.Outcomes{Baseline: intake, Evaluation: e.Scores, At: now, Reassessed: c.Reassessed}
		return summary, struct {
			Baseline   care.OutcomeScores  `json:"baseline"`
			Reassessed *care.OutcomeScores `json:"reassessed,omitempty"`
			Scores     care.OutcomeScores  `json:"scores"`
			Notes      string              `json:"notes,omitempty"`
			Reason     string              `json:"without_transition_reason,omitempty"`
		}{intake, c.Reassessed, e.Scores, e.Notes, e.Reason}, nil
	})
}

// compareScores counts the domains of now better and worse than base.
func compareScores(base, now care.OutcomeScores) (improved, worse int) {
	b := base.Domains()
	for i, d := range now.Domains() {
		switch {
		case d.Score > b[i].Score:
			improved++
		case d.Score < b[i].Score:
			worse++
		}
	}
	return improved, worse
}

func (w *caseWorkflow) close(ctx workflow.Context, actor string, c care.Closure) (Status, error) {
	return w.act(ctx, actor, UpdateClose, func() error {
		if c.Reason == care.ClosureGoalsMet && workflow.GetVersion(ctx, versionEvaluationRules, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return w.canCloseAnyReason(actor, c)
		}
		return w.canClose(actor, c)
	}, func() (string, any, error) {
		w.closeWith(ctx, care.ActionClose, care.BranchAny, c)
		return "closed: " + string(c.Reason), c, nil
	})
}

// versionCloseEndsPause: closing a paused case ends its pause, as resume
// does: the step records the pause ended at the close (case_pauses.resumed_at,
// which the reminders read as "paused" while NULL) and the pause's fields
// are cleared. Before, the pause stayed open in the store. Asked only when
// a paused case closes.
const versionCloseEndsPause = "close-ends-pause"

// closeWith closes the case, which branch b of action a does.
func (w *caseWorkflow) closeWith(ctx workflow.Context, a care.Action, b care.Branch, c care.Closure) {
	w.cancelServices(ctx)
	w.state.Closure = &c
	w.state.ClosedAt = workflow.Now(ctx)
	w.state.Coordinate = false
	if s := &w.state; s.Paused && workflow.GetVersion(ctx, versionCloseEndsPause, workflow.DefaultVersion, 1) == 1 {
		w.pause = &care.PauseRecord{PausedAt: s.PausedAt, ResumedAt: s.ClosedAt, Reason: s.PauseReason}
		s.PausedAt, s.PauseReason, s.Clocks.PauseKeepsDeadlines = time.Time{}, "", false
	}
	w.state.Paused = false
	if to := w.follow(ctx, a, b); to != care.PhaseClosed {
		panic(fmt.Sprintf("phase machine: %s (%q) leads to %q, not closed", a, b, to))
	}
	w.cancelTasks(w.state.ClosedAt, "case closed")
}
