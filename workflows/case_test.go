package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

var acts *activities.Activities

// caseEnv is a test environment running one case with the store stubbed out:
// every recorded step lands in steps (its event in events). Pure activities
// (risk rules, discharge clocks) run for real.
type caseEnv struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	policy care.Policy
	model  care.Model
	steps  []care.Step
	events []care.Event
	at     time.Duration
	// onService, if set, sees the input of every service coordination started.
	onService func(workflows.ServiceInput)
	// cancelled lists the service workflows the case asked to cancel.
	cancelled []string
	// reported is what each ServiceWorkflow (by workflow id) answers when
	// the case re-reads its services; absent ones are not found.
	reported map[string]care.ServiceState
	// rereads counts the times the case re-read its services.
	rereads int
	// recordErr, if set, fails a RecordStep attempt when it returns an error
	// (the step is not recorded).
	recordErr func(context.Context, care.Step) error
	// policyReads counts the LoadPolicy calls.
	policyReads int
	mu          sync.Mutex
}

// testStart is when a test's case starts unless the test says otherwise:
// a Tuesday, 09:00 in New York, the policies' zone.
var testStart = time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)

func newCaseEnv(t *testing.T) *caseEnv {
	return newCaseEnvWith(t, "complex-case", care.ModelClinical)
}

func newCaseEnvWith(t *testing.T, program string, model care.Model) *caseEnv {
	c := &caseEnv{t: t, policy: loadPolicy(t, program), model: model}
	c.env = c.newEnv()
	return c
}

func (c *caseEnv) newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	// The tests write dates (a discharge on 2026-12-01): a case starts on a
	// fixed day, so that they hold on whatever day they run. A test that
	// needs another day sets its own.
	env.SetStartTime(testStart)
	env.RegisterActivity(acts)
	// Services are coordinated by child workflows, tested on their own.
	env.RegisterWorkflow(workflows.ServiceWorkflow)
	env.OnWorkflow(workflows.ServiceWorkflow, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.ServiceInput) error {
			if c.onService != nil {
				c.onService(in)
			}
			return nil
		})
	env.OnRequestCancelExternalWorkflow(mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _ string) error {
			c.mu.Lock() // the test environment runs these mocks concurrently
			defer c.mu.Unlock()
			c.cancelled = append(c.cancelled, workflowID)
			return nil
		})
	env.OnActivity(acts.RecordStep, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, st care.Step) error {
			if st.Snapshot.LastEventSeq != st.Event.Seq || st.Snapshot.Phase != st.Event.PhaseAfter {
				return errors.New("snapshot does not match event")
			}
			if c.recordErr != nil {
				if err := c.recordErr(ctx, st); err != nil {
					return err
				}
			}
			c.steps = append(c.steps, st)
			c.events = append(c.events, st.Event)
			return nil
		})
	c.servePolicy(env)
	env.OnActivity(acts.ServiceStates, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []string) ([]activities.ReportedService, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.rereads++
			out := make([]activities.ReportedService, len(ids))
			for i, id := range ids {
				st, ok := c.reported[id]
				out[i] = activities.ReportedService{WorkflowID: id, Found: ok, State: st}
			}
			return out, nil
		})
	env.OnActivity(acts.CoordinateServices, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ string, services []care.Service) ([]care.ServiceState, error) {
			out := make([]care.ServiceState, len(services))
			for i, s := range services {
				out[i] = care.ServiceState{Service: s, Status: care.ServiceReadyToBook}
			}
			return out, nil
		})
	return env
}

// servePolicy answers the LoadPolicy local activity of env's case with
// c.policy, the only version there is (change policy-by-reference).
func (c *caseEnv) servePolicy(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.LoadPolicy, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, program string, version int) (care.Policy, error) {
			if program != c.policy.Program || version != c.policy.Version {
				return care.Policy{}, fmt.Errorf("policy %s v%d: %w", program, version, care.ErrNotFound)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.policyReads++
			return c.policy, nil
		})
}

func loadPolicy(t *testing.T, program string) care.Policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "policies", program+".json"))
	require.NoError(t, err)
	var p care.Policy
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

// result is what an update returned.
type result struct {
	status   workflows.Status
	err      error
	rejected bool
	done     bool
}

// update sends a staff action an hour after the previous one.
func (c *caseEnv) update(name string, args ...any) *result {
	r := &result{}
	c.at += time.Hour
	c.env.RegisterDelayedCallback(func() {
		c.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { r.err, r.rejected, r.done = err, true, true },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				r.done, r.err = true, err
				if err == nil {
					r.status = v.(workflows.Status)
				}
			},
		}, args...)
	}, c.at)
	return r
}

// queryStatus queries the case's status a minute after the last update
// scheduled so far; the status is filled in once the run has passed it.
func (c *caseEnv) queryStatus() *workflows.Status {
	st := &workflows.Status{}
	c.env.RegisterDelayedCallback(func() {
		v, err := c.env.QueryWorkflow(workflows.QueryStatus)
		require.NoError(c.t, err)
		require.NoError(c.t, v.Get(st))
	}, c.at+time.Minute)
	return st
}

func (c *caseEnv) run() {
	rc := riverCase()
	rc.Model = c.model
	rc.Program = c.policy.Program
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: rc, PolicyVersion: c.policy.Version})
}

func riverCase() care.Case {
	return care.Case{ID: "c-river", PatientID: "p-river", Program: "complex-case", Model: care.ModelClinical,
		Manager: "cm-ana", Source: care.SourceReferral, OpenedBy: "cm-ana"}
}

func riverAssessment() care.Assessment {
	return care.Assessment{Admissions12m: 1, EDVisits6m: 1, Housing: care.HousingStable, HomeSafe: care.Known(true),
		SupportNetwork: care.SupportStrong, Readiness: care.ReadinessAction, Engagement: 4, Age: 34,
		ChronicConditions: 2, Medications: 6, BehaviouralConcern: true, FinancialHardship: true,
		Baseline: care.OutcomeScores{PhysicalFunction: 1, ClinicalResults: 2, Financial: 2, Satisfaction: 3, Knowledge: 2, Psychosocial: 2}}
}

func riverPlan() care.CarePlan {
	return care.CarePlan{
		Goals: []care.Goal{{ID: "walk", Description: "walk unaided", Due: "2027-03-01"}},
		Services: []care.Service{
			{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy", Frequency: "weekly", RequiresAuthorization: true},
			{ID: "np", Code: "neuropsychology", Name: "Neuropsychology"},
		},
	}
}

func finalScores() care.Evaluation {
	return care.Evaluation{Scores: care.OutcomeScores{PhysicalFunction: 5, ClinicalResults: 4, Financial: 3, Satisfaction: 5, Knowledge: 4, Psychosocial: 4}}
}

func itemKinds(st workflows.Status) []string {
	var out []string
	for _, it := range st.OpenItems {
		out = append(out, it.Kind)
	}
	return out
}

func actions(evs []care.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action+":"+string(e.PhaseAfter))
	}
	return out
}

func TestCaseRunsAllNineStepsToClosed(t *testing.T) {
	c := newCaseEnv(t)
	screen := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	assess := c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	strat := c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Category: care.CategoryAcute})
	plan := c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	contact := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient})
	trans := c.update(workflows.UpdateTransition, "cm-ana", care.Transition{Kind: care.TransitionDischarge, From: "hospital", To: "home", Date: "2026-12-01"})
	contact2 := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyFamily})
	eval := c.update(workflows.UpdateEvaluate, "cm-ana", finalScores())
	closeR := c.update(workflows.UpdateClose, "sup-bo", care.Closure{Reason: care.ClosureGoalsMet})
	c.run()

	require.True(t, c.env.IsWorkflowCompleted())
	require.NoError(t, c.env.GetWorkflowError())
	var res workflows.CaseResult
	require.NoError(t, c.env.GetWorkflowResult(&res))
	require.Equal(t, workflows.CaseResult{CaseID: "c-river", Reason: care.ClosureGoalsMet}, res)

	for _, r := range []*result{screen, assess, strat, plan, contact, trans, contact2, eval, closeR} {
		require.True(t, r.done)
		require.NoError(t, r.err)
	}
	require.Equal(t, care.PhaseAssessment, screen.status.Phase)
	require.Equal(t, care.PhaseStratification, assess.status.Phase)
	require.Equal(t, care.RiskModerate, assess.status.Proposal.Level, "score %d", assess.status.Proposal.Score)
	require.Equal(t, care.RiskModerate, strat.status.Risk)
	require.Equal(t, care.PhaseImplementation, plan.status.Phase)
	require.Equal(t, care.PhaseFollowUp, contact.status.Phase)
	require.Len(t, contact.status.Services, 2)
	require.Equal(t, care.PhasePostTransition, trans.status.Phase)
	require.Equal(t, []string{"tcm-contact", "tcm-visit", "med-reconciliation", "next-call"}, itemKinds(trans.status))
	require.Equal(t, []string{"tcm-visit", "med-reconciliation", "next-call"}, itemKinds(contact2.status), "the family contact meets the TCM contact clock")
	require.Equal(t, care.PhaseEvaluation, eval.status.Phase)
	require.Equal(t, care.PhaseClosed, closeR.status.Phase)
	require.Empty(t, closeR.status.OpenItems)

	require.Equal(t, []string{
		"opened:screening", "screen:assessment", "assess:risk-stratification", "stratify:planning",
		"plan:implementation", "coordinated:follow-up", "contact:follow-up", "transition:post-transition",
		"contact:post-transition", "evaluate:evaluation", "close:closed",
	}, actions(c.events))
	for i, e := range c.events {
		require.Equal(t, i+1, e.Seq)
	}
	require.Equal(t, "sup-bo", c.events[len(c.events)-1].Actor)
	require.ElementsMatch(t, []string{"case-c-river-svc-pt-p1", "case-c-river-svc-np-p1", "case-c-river-svc-tcm-visit-2-p1"}, c.cancelled,
		"closing the case stops its services and the post-discharge visit booking")
	require.Contains(t, c.events[9].Summary, "6 domains improved")
}

func TestIneligibleScreeningClosesTheCase(t *testing.T) {
	c := newCaseEnv(t)
	r := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: false, Reason: "already enrolled elsewhere"})
	c.run()
	require.True(t, c.env.IsWorkflowCompleted())
	var res workflows.CaseResult
	require.NoError(t, c.env.GetWorkflowResult(&res))
	require.Equal(t, care.ClosureIneligible, res.Reason)
	require.NoError(t, r.err)
	require.Equal(t, []string{"opened:screening", "screen:closed"}, actions(c.events))
}

func TestFollowUpLoopsBackToAssessmentAndPlanning(t *testing.T) {
	c := newCaseEnv(t)
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Category: care.CategoryAcute})
	c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	back := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyProvider, BackTo: care.PhaseAssessment})
	reassess := c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Risk: care.RiskHigh, Category: care.CategoryAcute, OverrideReason: "new fall at home"})
	c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	replan := c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhasePlanning})
	plan2 := c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, care.PhaseAssessment, back.status.Phase)
	require.Equal(t, care.PhaseStratification, reassess.status.Phase)
	require.Equal(t, care.PhasePlanning, replan.status.Phase)
	require.Equal(t, care.RiskHigh, replan.status.Risk)
	require.Equal(t, care.PhaseImplementation, plan2.status.Phase)
	require.Contains(t, actions(c.events), "stratify:planning")
	require.Equal(t, "close:closed", actions(c.events)[len(c.events)-1])
}

func TestRejectedActionsWriteNothing(t *testing.T) {
	c := newCaseEnv(t)
	cases := []struct {
		name, update string
		arg          any
		want         string
	}{
		{"assess before screening", workflows.UpdateAssess, riverAssessment(), "assess is not allowed while the case is in screening: screen the client first"},
		{"plan before screening", workflows.UpdatePlan, riverPlan(), "plan is not allowed while the case is in screening"},
		{"ineligible without reason", workflows.UpdateScreen, care.Screening{}, "reason: is required"},
		{"unknown closure reason", workflows.UpdateClose, care.Closure{Reason: "bored"}, `reason: unknown value "bored"`},
		{"evaluate in screening", workflows.UpdateEvaluate, finalScores(), "evaluate is not allowed"},
		{"transition in screening", workflows.UpdateTransition, care.Transition{Kind: care.TransitionDischarge, From: "a", To: "b", Date: "2026-01-01"}, "transition is not allowed"},
		{"contact in screening", workflows.UpdateContact, care.Contact{With: care.PartyClient}, "contact is not allowed"},
	}
	results := make([]*result, len(cases))
	for i, tc := range cases {
		results[i] = c.update(tc.update, "cm-ana", tc.arg)
	}
	badActor := c.update(workflows.UpdateScreen, "Ana Lopez", care.Screening{Eligible: true})
	screen := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	badAssessment := riverAssessment()
	badAssessment.Housing = "castle"
	badAssess := c.update(workflows.UpdateAssess, "cm-ana", badAssessment)
	noBaseline := riverAssessment()
	noBaseline.Baseline = care.OutcomeScores{}
	noBase := c.update(workflows.UpdateAssess, "cm-ana", noBaseline)
	c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	override := c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Risk: care.RiskLow, Category: care.CategoryAcute})
	emptyPlan := func() *result {
		c.update(workflows.UpdateStratify, "cm-ana", care.Stratification{Category: care.CategoryIntermediate})
		return c.update(workflows.UpdatePlan, "cm-ana", care.CarePlan{})
	}()
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureConsentWithdrawn})
	closeAgain := c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()

	for i, tc := range cases {
		require.True(t, results[i].rejected, tc.name)
		require.ErrorContains(t, results[i].err, tc.want, tc.name)
	}
	require.True(t, badActor.rejected)
	require.ErrorContains(t, badActor.err, "actor")
	require.NoError(t, screen.err)
	require.ErrorContains(t, badAssess.err, `housing: unknown value "castle"`)
	require.ErrorContains(t, noBase.err, "baseline.physical_function")
	require.ErrorContains(t, override.err, "override-reason: is required")
	require.ErrorContains(t, emptyPlan.err, "goals")
	// The update after close never reaches a running workflow.
	require.False(t, closeAgain.done && closeAgain.err == nil)
	require.Equal(t, []string{"opened:screening", "screen:assessment", "assess:risk-stratification",
		"stratify:planning", "close:closed"}, actions(c.events))
}

func TestDischargeSignalOutsideFollowUpIsRecordedAndIgnored(t *testing.T) {
	c := newCaseEnv(t)
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalTransition, care.Transition{Kind: care.TransitionDischarge, From: "hospital", To: "home", Date: "2026-12-01"})
	}, 30*time.Minute)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureLostToContact})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	got := actions(c.events)
	require.Equal(t, []string{"opened:screening", "transition-ignored:screening", "close:closed"}, got)
	require.True(t, strings.Contains(c.events[1].Summary, "not allowed"))
}

func TestStatusQueryShowsOpenItemsDueByPolicy(t *testing.T) {
	c := newCaseEnv(t)
	c.env.RegisterDelayedCallback(func() {
		v, err := c.env.QueryWorkflow(workflows.QueryStatus)
		require.NoError(t, err)
		var st workflows.Status
		require.NoError(t, v.Get(&st))
		require.Equal(t, care.PhaseScreening, st.Phase)
		require.Len(t, st.OpenItems, 1)
		require.Equal(t, st.PhaseSince.Add(48*time.Hour), st.OpenItems[0].Due)
		require.Equal(t, "cm-ana", st.OpenItems[0].Owner)
		require.Len(t, st.Timeline, 1)
	}, time.Minute)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureDeceased})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
}

func TestActionArrivingWithTheFirstTaskIsRecordedAfterOpened(t *testing.T) {
	c := newCaseEnv(t)
	c.at = -time.Hour // the first update goes at time zero
	screen := c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, screen.err)
	require.Equal(t, []string{"opened:screening", "screen:assessment", "close:closed"}, actions(c.events))
	require.Equal(t, care.PhaseScreening, c.events[0].PhaseBefore)
}

// A staff action answers with the steps it recorded, not the whole
// timeline, which the status query gives.
func TestAStaffActionAnswersWithItsOwnSteps(t *testing.T) {
	c := newCaseEnv(t)
	c.update(workflows.UpdateScreen, "cm-ana", care.Screening{Eligible: true})
	assess := c.update(workflows.UpdateAssess, "cm-ana", riverAssessment())
	queried := c.queryStatus()
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, assess.err)
	require.Len(t, assess.status.Timeline, 1)
	require.Equal(t, "assess", assess.status.Timeline[0].Action)
	require.Equal(t, assess.status.Seq, assess.status.Timeline[0].Seq)
	require.Equal(t, care.PhaseStratification, assess.status.Phase)
	require.NotEmpty(t, assess.status.OpenItems)
	require.Len(t, queried.Timeline, 3, "opened, screen, assess")
}
