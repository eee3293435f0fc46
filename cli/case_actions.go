package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/workflows"
)

// act sends the staff action to a case as a Temporal update and prints the
// case's new status. A refused action comes back as an error and writes
// nothing.
func act[T any](a *app, cmd *cobra.Command, caseID string, action workflows.Action[T], arg T) error {
	if err := care.ValidateOpaqueID("case", caseID); err != nil {
		return err
	}
	if err := caseclient.CheckSize(arg); err != nil { // before dialing anything
		return inputField(cmd, err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
	defer cancel()
	if err := a.checkActor(ctx); err != nil {
		return err
	}
	cases, err := a.cases(ctx)
	if err != nil {
		return err
	}
	st, err := caseclient.Act(ctx, cases, caseID, a.actor, action, arg)
	if err != nil {
		return a.caseError(caseID, inputField(cmd, err))
	}
	first := st
	if action.Name == workflows.UpdatePlan {
		st = awaitCoordination(ctx, cases, caseID, st)
	}
	if a.json() {
		return a.printJSON(st)
	}
	if first.Seq != st.Seq {
		fmt.Fprintf(a.out, "case %s: %s (phase %s)\n", caseID, first.Timeline[len(first.Timeline)-1].Summary, first.Phase)
	}
	last := st.Timeline[len(st.Timeline)-1]
	fmt.Fprintf(a.out, "case %s: %s (phase %s)\n", caseID, last.Summary, st.Phase)
	for _, it := range st.OpenItems {
		fmt.Fprintf(a.out, "next: %s, due %s\n", it.Description, formatTime(it.Due))
	}
	if action.Name == workflows.UpdatePlan && st.Phase == care.PhaseImplementation {
		fmt.Fprintf(a.out, "note: the plan's services are still being coordinated; the case moves on to follow-up by itself, and contacts and transitions wait until it has (check with \"caseflow case show %s\")\n", caseID)
	}
	return nil
}

// awaitCoordination waits, for a few seconds at most, until the case has
// set up the coordination of its approved plan and moved on to follow-up,
// so that the next command staff type (a contact, a transition) finds the
// case where they expect it. It returns the last status it saw; a case
// still coordinating when the wait ends is reported as it is.
func awaitCoordination(ctx context.Context, cases *caseclient.Client, caseID string, st workflows.Status) workflows.Status {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for st.Phase == care.PhaseImplementation {
		select {
		case <-ctx.Done():
			return st
		case <-tick.C:
		}
		next, err := cases.Status(ctx, caseID)
		if err != nil {
			return st
		}
		st = next
	}
	return st
}

// caseError adds to an error of the case client what staff can do about it.
// The error keeps its kind.
func (a *app) caseError(caseID string, err error) error {
	kind := care.KindOf(err)
	switch {
	case errors.Is(err, caseclient.ErrNotFound):
		return care.Errorf(kind, "%w; check the id with \"caseflow case list\"", err)
	case errors.Is(err, caseclient.ErrClosed):
		return care.Errorf(kind, "%w (see \"caseflow case show %s\")", err, caseID)
	case kind == care.KindUnavailable && !errors.As(err, new(*serviceerror.Unavailable)): // the worker did not answer
		return care.Errorf(kind, "case %s: no answer within %s; is the caseflow worker running (make run)? The action may still complete: check with \"caseflow case show %s\"", caseID, humanDuration(a.timeout), caseID)
	}
	return err
}

func (a *app) screenCommand() *cobra.Command {
	var s care.Screening
	var notEligible bool
	cmd := &cobra.Command{
		Use:   "screen <case>",
		Short: "Record the screening decision (step 1)",
		Long: `Record whether the client needs and is eligible for case management. An
eligible client moves on to assessment; an ineligible one closes the case
with the reason given.`,
		Example: `  caseflow case screen c-1a2b3c4d5e6f7a8b --eligible --notes "two admissions this year"
  caseflow case screen c-1a2b3c4d5e6f7a8b --not-eligible --reason "already enrolled with another agency"`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Eligible == notEligible {
				return care.Invalidf("--eligible", "say either --eligible or --not-eligible")
			}
			return act(a, cmd, args[0], workflows.Screen, s)
		},
	}
	cmd.Flags().BoolVar(&s.Eligible, "eligible", false, "the client is eligible: move on to assessment")
	cmd.Flags().BoolVar(&notEligible, "not-eligible", false, "the client is not eligible: close the case (needs --reason)")
	cmd.Flags().StringVar(&s.Reason, "reason", "", "why the client is not eligible")
	cmd.Flags().StringVar(&s.Notes, "notes", "", "screening notes (home, self-management, finances, claims, prior services, support)")
	return cmd
}

func (a *app) assessCommand() *cobra.Command {
	var file, baseline string
	var as care.Assessment
	var homeSafe bool
	cmd := &cobra.Command{
		Use:   "assess <case>",
		Short: "Record the assessment and outcome baseline (step 2)",
		Long: `Record the detailed picture of the client: service utilisation, insurance
plan, prior services, housing and safety, support network, readiness to change,
engagement, the risk factors of step 3, and the baseline of the six outcome
domains (1 poor .. 5 good). Take it from a JSON file, from flags, or both
(flags win). The risk rules then propose a risk level for "case stratify".

JSON fields: admissions_12m, ed_visits_6m, insurance_plan, prior_services,
housing (stable|unstable|homeless), home_safe, support_network
(none|limited|strong), readiness (precontemplation|contemplation|preparation|
action|maintenance), engagement (1-5), age, chronic_conditions, medications,
nutrition_concern, behavioural_concern, substance_use, financial_hardship,
baseline {physical_function, clinical_results, financial, satisfaction,
knowledge, psychosocial}, notes.`,
		Example: `  caseflow case assess c-1a2b3c4d5e6f7a8b --file demo/river/assessment.json
  caseflow case assess c-1a2b3c4d5e6f7a8b --age 34 --admissions 1 --housing stable --home-safe \
      --support strong --readiness action --engagement 4 --conditions 2 --medications 6 \
      --baseline physical_function=1,clinical_results=2,financial=2,satisfaction=3,knowledge=2,psychosocial=2`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			flags := as
			flags.HomeSafe = &homeSafe
			merged := care.Assessment{}
			if file != "" {
				if err := readJSONFile(file, &merged); err != nil {
					return err
				}
			}
			overlay(cmd.Flags(), &merged, &flags)
			if baseline != "" {
				if err := parseScores("--baseline", baseline, &merged.Baseline); err != nil {
					return err
				}
			}
			return act(a, cmd, args[0], workflows.Assess, merged)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "file", "", "JSON file with the assessment (- for stdin)")
	fl.IntVar(&as.Admissions12m, "admissions", 0, "hospital admissions in the last 12 months")
	fl.IntVar(&as.EDVisits6m, "ed-visits", 0, "emergency department visits in the last 6 months")
	fl.StringVar(&as.InsurancePlan, "insurance-plan", "", "insurance plan and what it covers")
	fl.StringSliceVar(&as.PriorServices, "prior-service", nil, "a service received before (repeatable)")
	fl.StringVar((*string)(&as.Housing), "housing", "", "housing status: stable, unstable, homeless")
	fl.BoolVar(&homeSafe, "home-safe", false, "the home is safe (--home-safe=false: not safe; left out: not asked)")
	fl.StringVar((*string)(&as.SupportNetwork), "support", "", "support network: none, limited, strong")
	fl.StringVar((*string)(&as.Readiness), "readiness", "", "readiness to change: precontemplation, contemplation, preparation, action, maintenance")
	fl.IntVar(&as.Engagement, "engagement", 0, "engagement with own health, 1 (disengaged) to 5 (fully engaged)")
	fl.IntVar(&as.Age, "age", 0, "age in years")
	fl.IntVar(&as.ChronicConditions, "conditions", 0, "number of chronic medical conditions")
	fl.IntVar(&as.Medications, "medications", 0, "number of current medications")
	fl.BoolVar(&as.NutritionConcern, "nutrition-concern", false, "nutrition or exercise is a concern")
	fl.BoolVar(&as.BehaviouralConcern, "behavioural-concern", false, "emotional or behavioural health is a concern")
	fl.BoolVar(&as.SubstanceUse, "substance-use", false, "substance, alcohol or tobacco use")
	fl.BoolVar(&as.FinancialHardship, "financial-hardship", false, "the client has financial hardship")
	fl.StringVar(&baseline, "baseline", "", "outcome baseline as domain=score pairs, e.g. physical_function=2,clinical_results=3,...")
	fl.StringVar(&as.Notes, "notes", "", "assessment notes")
	return cmd
}

// overlay copies into dst the assessment fields whose flags were set.
func overlay(fl *pflag.FlagSet, dst, src *care.Assessment) {
	set := map[string]func(){
		"admissions": func() { dst.Admissions12m = src.Admissions12m }, "ed-visits": func() { dst.EDVisits6m = src.EDVisits6m },
		"insurance-plan": func() { dst.InsurancePlan = src.InsurancePlan }, "prior-service": func() { dst.PriorServices = src.PriorServices },
		"housing": func() { dst.Housing = src.Housing }, "home-safe": func() { v := *src.HomeSafe; dst.HomeSafe = &v },
		"support": func() { dst.SupportNetwork = src.SupportNetwork }, "readiness": func() { dst.Readiness = src.Readiness },
		"engagement": func() { dst.Engagement = src.Engagement }, "age": func() { dst.Age = src.Age },
		"conditions": func() { dst.ChronicConditions = src.ChronicConditions }, "medications": func() { dst.Medications = src.Medications },
		"nutrition-concern": func() { dst.NutritionConcern = src.NutritionConcern }, "behavioural-concern": func() { dst.BehaviouralConcern = src.BehaviouralConcern },
		"substance-use": func() { dst.SubstanceUse = src.SubstanceUse }, "financial-hardship": func() { dst.FinancialHardship = src.FinancialHardship },
		"notes": func() { dst.Notes = src.Notes },
	}
	fl.Visit(func(f *pflag.Flag) {
		if copyField, ok := set[f.Name]; ok {
			copyField()
		}
	})
}

func (a *app) stratifyCommand() *cobra.Command {
	var s care.Stratification
	cmd := &cobra.Command{
		Use:   "stratify <case>",
		Short: "Confirm the risk level and set the care category (step 3)",
		Long: `After the assessment the risk rules propose a level (see "case show").
Accept it by leaving out --risk, or override it with --risk and an
--override-reason. The care category is acute (short term, highest priority),
intermediate (help with daily activities) or long-term (round-the-clock care).`,
		Example: `  caseflow case stratify c-1a2b3c4d5e6f7a8b --category acute
  caseflow case stratify c-1a2b3c4d5e6f7a8b --risk high --override-reason "lives alone since the accident" --category acute`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Risk != "" {
				if _, err := care.ParseEnum("--risk", string(s.Risk), care.RiskLevels); err != nil {
					return err
				}
			}
			if _, err := care.ParseEnum("--category", string(s.Category), care.CareCategories); err != nil {
				return err
			}
			return act(a, cmd, args[0], workflows.Stratify, s)
		},
	}
	cmd.Flags().StringVar((*string)(&s.Risk), "risk", "", "risk level: low, moderate, high (default: the proposed level)")
	cmd.Flags().StringVar((*string)(&s.Category), "category", "", "care category: acute, intermediate, long-term (required)")
	cmd.Flags().StringVar(&s.OverrideReason, "override-reason", "", "why the risk level differs from the proposal")
	return cmd
}

func (a *app) planCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "plan <case>",
		Short: "Approve the care plan: goals and services (step 4)",
		Long: `Approve the care plan agreed with the physician. Coordination of its
services (step 5) starts at once, then the case moves to follow-up.

The file is JSON: {"goals": [{"id", "description", "target", "due"}],
"services": [{"id", "code", "name", "frequency", "occurrences",
"requires_authorization"}], "notes", "payer_type"}. Service codes must be
offered by a provider (caseflow providers load) or allowed by the program's
policy without providers.

Approving a plan again (after "case contact --back-to planning") compares it
with the current one, service by service: an unchanged service keeps its
authorization, appointment and reminders; a changed one is amended in place;
a removed one is cancelled; a new one starts.`,
		Example: `  caseflow case plan c-1a2b3c4d5e6f7a8b --file demo/river/plan.json`,
		Args:    exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return care.Invalidf("--file", "is required: a JSON file with the plan's goals and services")
			}
			var p care.CarePlan
			if err := readJSONFile(file, &p); err != nil {
				return err
			}
			if err := p.Validate(); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			if err := a.checkCatalog(ctx, args[0], p); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return act(a, cmd, args[0], workflows.Plan, p)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSON file with the care plan (- for stdin) (required)")
	return cmd
}

// parseHappenedAt reads the --at of a contact or call: empty, or a time
// with its UTC offset.
func parseHappenedAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, care.Invalidf("--at", "%q is not a time with its UTC offset: use RFC 3339, e.g. 2026-12-04T15:30:00-05:00 or 2026-12-04T20:30:00Z", s)
	}
	return t, nil
}

func (a *app) contactCommand() *cobra.Command {
	var c care.Contact
	var at string
	cmd := &cobra.Command{
		Use:   "contact <case>",
		Short: "Record a follow-up or post-transition contact (steps 6 and 8)",
		Long: `Record a contact made with the client, the family or a provider. When the
contact shows the plan no longer fits, --back-to sends the case back to
assessment or planning.

After a discharge, a contact with the client or family meets the interactive
contact clock; only a face-to-face visit with the client (the patient present)
meets the visit clock. An attempt that did not reach the client is recorded
with --attempt --outcome no-answer: two documented attempts within the contact
window meet the contact clock ("met by attempts"). --minutes records the
care-management time of the contact (CCM 99490: the month's minutes count
against the program's target).

A contact entered after it was made takes --at, the time it was made, with
its UTC offset: the clocks count it then (a contact made by its clock's due
time meets it, even a TCM clock that fired missed before the entry), and its
minutes count toward the month it was made in (not at all once that month's
clock has closed: the case history says so). Without --at it counts when it
is recorded. A time in the future, or more than the policy's max_before_opened
before the case opened, is refused.`,
		Example: `  caseflow case contact c-1a2b3c4d5e6f7a8b --with client --notes "walking with crutches" --minutes 15
  caseflow case contact c-1a2b3c4d5e6f7a8b --with client --at 2026-12-04T15:30:00-05:00
  caseflow case contact c-1a2b3c4d5e6f7a8b --with client --face-to-face
  caseflow case contact c-1a2b3c4d5e6f7a8b --attempt --outcome no-answer
  caseflow case contact c-1a2b3c4d5e6f7a8b --with provider --back-to planning`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := care.ParseEnum("--with", string(c.With), care.ContactParties); err != nil {
				return err
			}
			if err := c.Validate(); err != nil {
				return flagError(err)
			}
			var err error
			if c.At, err = parseHappenedAt(at); err != nil {
				return err
			}
			return act(a, cmd, args[0], workflows.Contact, c)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "when the contact was made, if earlier than now (RFC 3339 with its offset, e.g. 2026-12-04T15:30:00-05:00)")
	cmd.Flags().StringVar((*string)(&c.With), "with", "client", "who the contact was with: client, family, provider")
	cmd.Flags().BoolVar(&c.FaceToFace, "face-to-face", false, "an in-person visit (meets the post-discharge visit clock)")
	cmd.Flags().StringVar(&c.Notes, "notes", "", "what was learnt")
	cmd.Flags().StringVar((*string)(&c.BackTo), "back-to", "", "send the case back to: assessment or planning")
	cmd.Flags().BoolVar(&c.Attempt, "attempt", false, "an interactive-contact attempt that did not reach the client (needs --outcome)")
	cmd.Flags().StringVar((*string)(&c.Outcome), "outcome", "", "outcome of an attempt: no-answer or declined")
	cmd.Flags().IntVar(&c.Minutes, "minutes", 0, "care-management minutes the contact took (CCM 99490)")
	return cmd
}

func (a *app) transitionCommand() *cobra.Command {
	var t care.Transition
	cmd := &cobra.Command{
		Use:   "transition <case>",
		Short: "Record a transition of care (step 7)",
		Long: `Record a move between levels of care: a hospital discharge, a transfer to
a facility, a change of care level (e.g. weekly to monthly physiotherapy), or a
readmission, with the date (and --time, when known) it happened: every clock
runs from it, not from when it is entered. A discharge starts the
transitional-care clocks of the program policy (see docs/policies.md): the
interactive contact, the face-to-face visit (--complexity high: the policy's
visit_high, CPT 99496; moderate: visit_moderate, 99495; default from the risk
level), medication reconciliation by the visit, the readmission watch and the
TCM period. A discharge entered late records the clocks already past as missed
at their due times. Dates in the future are refused: record a planned
discharge once it has happened. A readmission is counted from the discharge
date (day 0) and is accepted in every open phase after a discharge; the case
waits in transition until the next discharge. A second discharge needs an
admission (readmission or transfer) in between. Hospital ADT feeds send the
same as the "adt-transition" signal.`,
		Example: `  caseflow case transition c-1a2b3c4d5e6f7a8b --kind discharge --from "city hospital" --to home --date 2026-12-04 --time 14:30 --complexity high
  caseflow case transition c-1a2b3c4d5e6f7a8b --kind readmission --from home --to "city hospital" --date 2026-12-16`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := t.Validate(); err != nil {
				return flagError(err)
			}
			return act(a, cmd, args[0], workflows.Transition, t)
		},
	}
	cmd.Flags().StringVar((*string)(&t.Kind), "kind", "", "discharge, transfer, level-change or readmission (required)")
	cmd.Flags().StringVar(&t.From, "from", "", "level or place of care left (required)")
	cmd.Flags().StringVar(&t.To, "to", "", "level or place of care entered (required)")
	cmd.Flags().StringVar(&t.Date, "date", "", "date of the transition, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&t.Time, "time", "", "time of the transition, HH:MM in the program's time zone")
	cmd.Flags().StringVar((*string)(&t.Complexity), "complexity", "", "discharge: medical decision-making complexity, moderate or high (default from the risk level)")
	return cmd
}

func (a *app) evaluateCommand() *cobra.Command {
	var file, scores string
	var e care.Evaluation
	cmd := &cobra.Command{
		Use:   "evaluate <case>",
		Short: "Score the outcome domains against the baseline (step 9)",
		Long: `Score the six outcome domains (1 poor .. 5 good): physical_function,
clinical_results, financial, satisfaction, knowledge, psychosocial. They are
compared with the intake assessment's baseline, and with the latest
re-assessment's when there was one. A case in follow-up that never had a
transition of care is evaluated only with --without-transition --reason. Then
close the case with "case close" (goals-met needs this evaluation).
The file is JSON: {"scores": {...}, "notes": "..."}.`,
		Example: `  caseflow case evaluate c-1a2b3c4d5e6f7a8b --scores physical_function=5,clinical_results=4,financial=3,satisfaction=5,knowledge=4,psychosocial=4
  caseflow case evaluate c-1a2b3c4d5e6f7a8b --file demo/river/evaluation.json`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" && scores == "" {
				return care.Invalidf("--scores", "is required (or --file): e.g. --scores physical_function=5,clinical_results=4,financial=3,satisfaction=5,knowledge=4,psychosocial=4")
			}
			var ev care.Evaluation
			if file != "" {
				if err := readJSONFile(file, &ev); err != nil {
					return err
				}
			}
			if scores != "" {
				if err := parseScores("--scores", scores, &ev.Scores); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("notes") {
				ev.Notes = e.Notes
			}
			if e.WithoutTransition {
				ev.WithoutTransition, ev.Reason = true, e.Reason
			}
			if err := ev.Validate(); err != nil {
				return flagError(err)
			}
			return act(a, cmd, args[0], workflows.Evaluate, ev)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSON file with the evaluation (- for stdin)")
	cmd.Flags().StringVar(&scores, "scores", "", "outcome scores as domain=score pairs")
	cmd.Flags().StringVar(&e.Notes, "notes", "", "evaluation notes")
	cmd.Flags().BoolVar(&e.WithoutTransition, "without-transition", false, "evaluate from follow-up a case that had no transition of care (needs --reason)")
	cmd.Flags().StringVar(&e.Reason, "reason", "", "why the case is evaluated without a transition")
	return cmd
}

func (a *app) closeCommand() *cobra.Command {
	var c care.Closure
	cmd := &cobra.Command{
		Use:   "close <case>",
		Short: "Close a case with a reason (from any phase)",
		Example: `  caseflow case close c-1a2b3c4d5e6f7a8b --reason goals-met
  caseflow case close c-1a2b3c4d5e6f7a8b --reason lost-to-contact --notes "no answer since March"`,
		Args: exactlyOneCase,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := care.ParseEnum("--reason", string(c.Reason), care.ClosureReasons); err != nil {
				return err
			}
			return act(a, cmd, args[0], workflows.Close, c)
		},
	}
	cmd.Flags().StringVar((*string)(&c.Reason), "reason", "", "goals-met, consent-withdrawn, transferred, ineligible, lost-to-contact, deceased (required)")
	cmd.Flags().StringVar(&c.Notes, "notes", "", "closing notes")
	return cmd
}

// exactlyOneCase checks that a command got one case id.
func exactlyOneCase(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("expected one case id, got %d argument(s) (%s); find ids with \"caseflow case list\"", len(args), strings.Join(args, " "))
	}
	return nil
}
