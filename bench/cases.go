package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/workflows"
)

// Cases the benchmark opens directly take the path of "caseflow case open"
// after its checks: the patient is in PostgreSQL, the case workflow is
// started with the program policy pinned in its input and the same start
// options (id policy, search attributes).

// addPatients registers n patients p-<prefix>-<i> in one statement.
func (e *env) addPatients(ctx context.Context, prefix string, n int) error {
	_, err := e.db.ExecContext(ctx, `
		INSERT INTO patients (patient_id, external_ref)
		SELECT 'p-' || $1 || '-' || lpad(i::text, 6, '0'), 'BENCH-' || upper($1) || '-' || lpad(i::text, 6, '0')
		FROM generate_series(0, $2 - 1) AS i
		ON CONFLICT DO NOTHING`, prefix, n)
	return err
}

func patientID(prefix string, i int) string { return fmt.Sprintf("p-%s-%06d", prefix, i) }
func caseID(prefix string, i int) string    { return fmt.Sprintf("c-%s-%06d", prefix, i) }

func (e *env) benchCase(prefix string, i int, program, manager string) care.Case {
	return care.Case{ID: caseID(prefix, i), PatientID: patientID(prefix, i), Program: program, Model: care.ModelClinical,
		Manager: manager, Source: care.SourceClaims, OpenedBy: Actor, OpenedAt: time.Now().UTC().Truncate(time.Second)}
}

// startCase starts a case workflow on queue, through the case client as the
// CLI does. With state it starts the way a run continued as new starts: from
// the state the previous run carried.
func (e *env) startCase(ctx context.Context, queue string, c care.Case, p care.Policy, state *workflows.CaseState) error {
	cases := caseclient.New(e.c, queue)
	var err error
	if state != nil {
		_, err = cases.OpenFromState(ctx, c, p, *state)
	} else {
		_, err = cases.Open(ctx, c, p)
	}
	return err
}

// cases is the case client for the cases of the benchmark's scenarios (the
// queue only matters for starting them).
func (e *env) cases() *caseclient.Client { return caseclient.New(e.c, mainQueue) }

// act sends a staff action to a case as the benchmark's actor.
func act[T any](ctx context.Context, e *env, caseID string, a workflows.Action[T], arg T) error {
	_, err := caseclient.Act(ctx, e.cases(), caseID, Actor, a, arg)
	return err
}

// demoRecords are the River demo case's records from demo/river.
type demoRecords struct {
	assessment care.Assessment
	plan       care.CarePlan
	evaluation care.Evaluation
}

func (e *env) demo() (demoRecords, error) {
	var d demoRecords
	dir := filepath.Join(e.cfg.Root, "demo", "river")
	for name, v := range map[string]any{"assessment.json": &d.assessment, "plan.json": &d.plan, "evaluation.json": &d.evaluation} {
		if err := readJSON(filepath.Join(dir, name), v); err != nil {
			return d, err
		}
	}
	return d, nil
}

// benchPlan is the care plan of the benchmark's synthetic cases: the demo
// plan's goals, no services (coordination of services runs in workflows of
// its own, which these scenarios do not measure).
func benchPlan(d demoRecords) care.CarePlan {
	return care.CarePlan{Goals: d.plan.Goals, Notes: "benchmark case"}
}

// driveToFollowUp takes an open case through screening, assessment, high
// risk stratification and planning (the normal updates), and waits until
// coordination moved it to follow-up.
func (e *env) driveToFollowUp(ctx context.Context, caseID string, plan care.CarePlan) error {
	d, err := e.demo()
	if err != nil {
		return err
	}
	if err := act(ctx, e, caseID, workflows.Screen, care.Screening{Eligible: true}); err != nil {
		return err
	}
	st, err := caseclient.Act(ctx, e.cases(), caseID, Actor, workflows.Assess, d.assessment)
	if err != nil {
		return err
	}
	strat := care.Stratification{Risk: care.RiskHigh, Category: care.CategoryAcute}
	if st.Proposal != nil && st.Proposal.Level != care.RiskHigh {
		strat.OverrideReason = "benchmark: high-risk cadence"
	}
	if err := act(ctx, e, caseID, workflows.Stratify, strat); err != nil {
		return err
	}
	if err := act(ctx, e, caseID, workflows.Plan, plan); err != nil {
		return err
	}
	return e.waitPhase(ctx, caseID, care.PhaseFollowUp, 60*time.Second)
}

// waitPhase waits until PostgreSQL has the case in phase.
func (e *env) waitPhase(ctx context.Context, caseID string, phase care.Phase, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var p string
		err := e.db.GetContext(ctx, &p, `SELECT phase FROM cases WHERE case_id = $1`, caseID)
		if err == nil && p == string(phase) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("case %s is not in %s after %s (phase %q, %v)", caseID, phase, timeout, p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// terminate ends workflows the benchmark no longer needs, so that their
// timers do not load the server during the next scenario.
func (e *env) terminate(ctx context.Context, ids []string) error {
	return parallel(ctx, len(ids), e.cfg.Concurrency, func(ctx context.Context, i int) error {
		err := e.c.TerminateWorkflow(ctx, ids[i], "", "benchmark scenario done")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) { // already closed
			return nil
		}
		return err
	})
}
