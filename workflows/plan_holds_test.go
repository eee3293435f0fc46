package workflows_test

// A case's plan holds against its services' coordination: a re-read at a
// new run keeps an amendment the coordination has not taken yet
// (reconcile-keeps-service), and approving the plan again starts a service
// whose coordination ended without completing (replan-restarts-ended).
// Found by a review pass.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// reapproveAfterNeedsStaff ends pt's coordination needs-staff (repeated
// no-show), approves the same plan again and returns the service
// workflows started and the second plan's summary.
func reapproveAfterNeedsStaff(t *testing.T, old bool) ([]string, string, *caseEnv) {
	c := newCaseEnv(t)
	if old {
		c.env.OnGetVersion("replan-restarts-ended", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	var started []string
	c.onService = func(in workflows.ServiceInput) {
		started = append(started, workflows.ServiceWorkflowID(in.CaseID, in.Service.ID, in.PlanVersion))
	}
	c.toFollowUp(care.RiskModerate)
	c.env.RegisterDelayedCallback(func() {
		c.env.SignalWorkflow(workflows.SignalServiceUpdate, care.ServiceUpdate{PlanVersion: 1,
			Summary:    "pt: no-show after 3 bookings of occurrence 1; not rebooked again",
			NeedsStaff: "Physiotherapy: repeated no-show of occurrence 1: talk to the client and rebook or change the plan",
			State:      care.ServiceState{Service: riverPlan().Services[0], Status: care.ServiceNeedsStaff, PlanVersion: 1}})
	}, c.at+10*time.Minute)
	c.wait(2 * time.Hour)
	c.update(workflows.UpdateContact, "cm-ana", care.Contact{With: care.PartyClient, BackTo: care.PhasePlanning})
	again := c.update(workflows.UpdatePlan, "cm-ana", riverPlan())
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.run()
	require.NoError(t, c.env.GetWorkflowError())
	require.NoError(t, again.err)
	var plan2 string
	for _, e := range c.events {
		if e.Action == "plan" {
			plan2 = e.Summary
		}
	}
	return started, plan2, c
}

// A service that ended needs-staff is told "change the plan to start it
// again"; approving the plan again with that service as it was replaces it:
// its coordination starts again under plan version 2 and its staff item
// closes.
func TestReapprovingAPlanRestartsAnEndedService(t *testing.T) {
	started, plan2, c := reapproveAfterNeedsStaff(t, false)
	require.Contains(t, started, "case-c-river-svc-pt-p2", "started %v; %s", started, plan2)
	require.Contains(t, plan2, "pt replaced")
	item := c.lastTaskOfKind(care.TaskCoordination)
	require.Equal(t, "pt", item.ServiceID)
	require.Equal(t, "plan v2: service replaced", item.Outcome, "the needs-staff item closes with the new plan")
}

// Before replan-restarts-ended the service stays unchanged and ended.
func TestReapprovingAPlanBeforeReplanRestartsEndedKeepsItEnded(t *testing.T) {
	started, plan2, _ := reapproveAfterNeedsStaff(t, true)
	require.NotContains(t, started, "case-c-river-svc-pt-p2", "started %v; %s", started, plan2)
	require.Contains(t, plan2, "pt unchanged")
}

// reReadAmended runs a new run whose case amended pt weekly → monthly while
// pt's coordination, still waiting for a free slot, answers its re-read
// with the weekly definition, and returns the reconcile step's services.
func reReadAmended(t *testing.T, old bool) []care.ServiceState {
	c := newCaseEnv(t)
	if old {
		c.env.OnGetVersion("reconcile-keeps-service", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	weekly := riverPlan().Services[0]
	monthly := weekly
	monthly.Frequency = "monthly"
	plan := riverPlan()
	plan.Services = []care.Service{monthly}
	state := workflows.CaseState{Case: riverCase(), Policy: c.policy, Phase: care.PhaseFollowUp, PhaseSince: serviceStart,
		Plan: &plan, PlanVersion: 1, ServicesStarted: true, Diffed: true, Seq: 10,
		Services: []care.ServiceState{{Service: monthly, PlanVersion: 1, Status: care.ServiceReadyToBook}}}
	c.reported = map[string]care.ServiceState{
		workflows.ServiceWorkflowID("c-river", "pt", 1): {Service: weekly, PlanVersion: 1, Status: care.ServiceNoSlot},
	}
	c.env.SetStartTime(serviceStart)
	c.update(workflows.UpdateClose, "cm-ana", care.Closure{Reason: care.ClosureTransferred})
	c.env.ExecuteWorkflow(workflows.CaseWorkflow, &workflows.CaseInput{Case: state.Case, Policy: state.Policy, State: &state})
	require.NoError(t, c.env.GetWorkflowError())
	require.Equal(t, "reconcile", c.events[0].Action)
	require.Len(t, c.steps[0].Services, 1)
	require.Equal(t, care.ServiceNoSlot, c.steps[0].Services[0].Status)
	return c.steps[0].Services
}

// The re-read takes the coordination's progress (no free slot) and keeps
// the case's own definition of the service (monthly): case_services keeps
// the amendment, and a later re-plan to weekly is an amendment again.
func TestAReReadKeepsTheCasesAmendment(t *testing.T) {
	services := reReadAmended(t, false)
	require.Equal(t, "monthly", services[0].Frequency, "case_services loses the amendment")
}

// Before reconcile-keeps-service the re-read took the service's state
// whole, its definition included.
func TestAReReadBeforeReconcileKeepsServiceTakesItsDefinition(t *testing.T) {
	services := reReadAmended(t, true)
	require.Equal(t, "weekly", services[0].Frequency)
}
