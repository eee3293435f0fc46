package workflows

import (
	"fmt"
	"reflect"
	"sync"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/caseflow/caseflow/care"
)

// loadPolicyActivity is the registered name of
// (*activities.Activities).LoadPolicy, run as a local activity by name (as
// recordStepActivity).
const loadPolicyActivity = "LoadPolicy"

// loadPolicy reads the case's pinned policy when its input names it by
// version (change policy-by-reference) instead of carrying it: with the
// LoadPolicy local activity, in the run's first workflow task, before
// anything else the run does. The result is recorded in the history, so a
// replay reads the same policy whatever PostgreSQL holds by then. A case
// whose input carries its policy (opened before the change) keeps it.
func (w *caseWorkflow) loadPolicy(ctx workflow.Context, version int) error {
	if w.state.Policy.Version != 0 {
		return nil
	}
	program := w.state.Case.Program
	if version <= 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("case %s: its input names no policy version of program %s (set CaseInput.PolicyVersion)", w.state.Case.ID, program),
			string(care.KindInvalid), nil)
	}
	w.policyPending = true
	defer func() { w.policyPending = false }()
	var p care.Policy
	if err := w.executeLocal(ctx, fmt.Sprintf("read policy %s v%d", program, version), loadPolicyActivity, &p, program, version); err != nil {
		return err
	}
	w.state.Policy = sharePolicy(p)
	return nil
}

// sharedPolicies holds one decoded copy of each policy version the
// worker's cases have read, for all of them: a worker with 10,000 cases of
// a program keeps its policy once, not 10,000 times. A shared policy is
// never written to (workflow code copies a Policy before changing a field
// of its own, as bookVisit does).
var sharedPolicies = struct {
	sync.Mutex
	m map[policyKey]care.Policy
}{m: map[policyKey]care.Policy{}}

type policyKey struct {
	program string
	version int
}

// sharePolicy returns the shared copy of p's version when it is equal to p
// (it always is outside tests: a loaded version never changes), else makes
// p the shared copy. Either way the result is equal to p, so a case behaves
// exactly as with its own copy, on every worker and in every replay.
func sharePolicy(p care.Policy) care.Policy {
	k := policyKey{p.Program, p.Version}
	sharedPolicies.Lock()
	defer sharedPolicies.Unlock()
	// reflect.DeepEqual is deterministic on plain data like a Policy;
	// workflowcheck flags it only for the stack walk of reflect's panics.
	//workflowcheck:ignore
	if q, ok := sharedPolicies.m[k]; ok && reflect.DeepEqual(q, p) {
		return q
	}
	sharedPolicies.m[k] = p
	return p
}
