package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// Shell completion is cobra's dynamic completion: the shell asks
// "caseflow __complete <args> <partial word>" and prints what comes back.
// Arguments are completed by the placeholder their command's Use names
// (<case>, <call>, <task>, <appointment>), so a new command taking "<case>"
// completes case ids with no code of its own; enum flags by their name
// (enumFlags), or by enumFlag for a flag of one command.

// completionTimeout bounds the Temporal round trips of one completion: a
// shell waits for it.
const completionTimeout = 3 * time.Second

// completionHelp is the long help of "caseflow completion".
const completionHelp = `Print a shell completion script for caseflow. It completes commands and
flags, case ids (open cases first, soonest due first), the task ids of a case
("case done", "case call"), its appointment ids ("case appointment"), and the
values of every enum flag (--reason of "case close", --model, --outcome,
--risk, --category, --kind, --with, --phase, ...). Ids come from Temporal, so
completing them needs the same environment as the command itself
(TEMPORAL_ADDRESS, the codec keys).

bash (needs the bash-completion package):
  source <(caseflow completion bash)                       # this shell
  caseflow completion bash > ~/.local/share/bash-completion/completions/caseflow

zsh:
  autoload -U compinit; compinit                           # once, in ~/.zshrc
  source <(caseflow completion zsh)                        # this shell
  caseflow completion zsh > "${fpath[1]}/_caseflow"        # every new shell

fish:
  caseflow completion fish | source                        # this shell
  caseflow completion fish > ~/.config/fish/completions/caseflow.fish

Try it: "caseflow case show <TAB>", "caseflow case close c-1a2b <TAB>",
"caseflow case close c-1a2b --reason <TAB>". What the shell asks can be seen
with "caseflow __complete case close c-1a2b --reason ''".`

// enumFlags are the values of enum flags, by flag name. A flag of the same
// name that takes free text on some command lists it in freeText.
var enumFlags = map[string][]string{
	"output":    {"table", "json"},
	"reason":    enumStrings(care.ClosureReasons),
	"model":     enumStrings(care.Models),
	"outcome":   enumStrings(care.CallOutcomes),
	"risk":      enumStrings(care.RiskLevels),
	"category":  enumStrings(care.CareCategories),
	"kind":      enumStrings(care.TransitionKinds),
	"with":      enumStrings(care.ContactParties),
	"back-to":   {string(care.PhaseAssessment), string(care.PhasePlanning)},
	"phase":     enumStrings(care.Phases),
	"source":    enumStrings(care.Sources),
	"housing":   enumStrings(care.HousingStatuses),
	"support":   enumStrings(care.SupportNetworks),
	"readiness": enumStrings(care.ReadinessStages),
	"due":       {"today"},
}

// enumOn limits an enum flag to the commands (by name) where it is one;
// elsewhere a flag of that name is free text (--reason of "case pause").
var enumOn = map[string][]string{
	"reason": {"close"},
}

func enumStrings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// enumFlag registers the completion of an enum flag of one command, for a
// flag enumFlags does not name.
func enumFlag(cmd *cobra.Command, flag string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return matching(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// registerCompletions walks the command tree and registers the completion
// of each command's arguments and enum flags. Completions a command
// registered itself are kept.
func (a *app) registerCompletions(cmd *cobra.Command) {
	if cmd.ValidArgsFunction == nil && len(cmd.ValidArgs) == 0 {
		if places := placeholders(cmd.Use); len(places) > 0 {
			cmd.ValidArgsFunction = a.completeArgs(places)
		}
	}
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) { a.registerFlag(cmd, f.Name) })
	if !cmd.HasParent() {
		cmd.PersistentFlags().VisitAll(func(f *pflag.Flag) { a.registerFlag(cmd, f.Name) })
	}
	for _, sub := range cmd.Commands() {
		a.registerCompletions(sub)
	}
}

func (a *app) registerFlag(cmd *cobra.Command, name string) {
	if _, ok := cmd.GetFlagCompletionFunc(name); ok {
		return
	}
	f := cmd.Flags().Lookup(name)
	if f == nil {
		f = cmd.PersistentFlags().Lookup(name)
	}
	if f == nil {
		return
	}
	values, ok := enumFlags[name]
	if only, limited := enumOn[name]; limited && !slices.Contains(only, cmd.Name()) {
		ok = false
	}
	switch {
	case ok:
		enumFlag(cmd, name, values)
	case name == "file" || strings.HasSuffix(name, "-file"):
		_ = cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveDefault
		})
	case f.Value.Type() != "bool":
		// Free text or a number: nothing to offer, and no file names.
		_ = cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// placeholders are the argument names of a command's Use line, e.g.
// ["case", "call"] for "call <case> <call>".
func placeholders(use string) []string {
	var out []string
	for _, f := range strings.Fields(use)[1:] {
		if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") {
			out = append(out, strings.Trim(f, "<>"))
		}
	}
	return out
}

// completeArgs completes the argument at each position by its placeholder.
func (a *app) completeArgs(places []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(places) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), min(a.timeout, completionTimeout))
		defer cancel()
		var values []cobra.Completion
		var err error
		switch place := places[len(args)]; place {
		case "case":
			values, err = a.completeCases(ctx, toComplete)
		case "call", "task":
			values, err = a.completeTasks(ctx, args[0], place == "call", toComplete)
		case "appointment":
			values, err = a.completeAppointments(ctx, args[0], toComplete)
		default:
			return nil, cobra.ShellCompDirectiveDefault // a file
		}
		if err != nil {
			cobra.CompDebugln("caseflow: "+oneLine(err), true)
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		return values, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeCases lists case ids from Temporal visibility: open cases first,
// soonest due first, then closed ones, newest first. Each case is offered
// once: the earlier runs of a case that continued as new are not cases of
// their own, and a case closed between the two queries stays listed open.
func (a *app) completeCases(ctx context.Context, prefix string) ([]cobra.Completion, error) {
	tc, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	for _, open := range []bool{true, false} {
		status := "ExecutionStatus = 'Running'"
		if !open {
			status = "ExecutionStatus != 'Running' AND ExecutionStatus != 'ContinuedAsNew'"
		}
		// The cases of this command line's task queue (--task-queue).
		q := fmt.Sprintf("WorkflowType = 'CaseWorkflow' AND TaskQueue = '%s' AND %s", strings.ReplaceAll(a.taskQueue, "'", ""), status)
		rows, _, err := listCases(ctx, tc, q, 500, time.Now())
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if !strings.HasPrefix(r.CaseID, prefix) || seen[r.CaseID] {
				continue
			}
			seen[r.CaseID] = true
			desc := r.Phase
			if !open {
				desc = "closed"
			} else {
				desc += ", " + r.Manager
				if r.NextDue != nil {
					desc += ", due " + formatTime(*r.NextDue) + dueMark(*r.NextDue, time.Now())
				}
			}
			out = append(out, cobra.CompletionWithDesc(r.CaseID, desc))
		}
	}
	return out, nil
}

// completeTasks lists the open task ids of a case (only calls for "case
// call").
func (a *app) completeTasks(ctx context.Context, caseID string, calls bool, prefix string) ([]cobra.Completion, error) {
	st, err := a.statusFor(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var out []cobra.Completion
	for _, it := range st.OpenItems {
		if it.TaskID == "" || !strings.HasPrefix(it.TaskID, prefix) || (calls && it.Kind != string(care.TaskCall)) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(it.TaskID, it.Description+", due "+formatTime(it.Due)))
	}
	return out, nil
}

// completeAppointments lists the appointment ids of a case's services,
// booked ones first.
func (a *app) completeAppointments(ctx context.Context, caseID, prefix string) ([]cobra.Completion, error) {
	st, err := a.statusFor(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var booked, other []cobra.Completion
	for _, s := range st.Services {
		ap := s.Appointment
		if ap == nil || !strings.HasPrefix(ap.ID, prefix) {
			continue
		}
		c := cobra.CompletionWithDesc(ap.ID, fmt.Sprintf("%s %s, %s", s.Code, formatTime(ap.StartsAt), ap.Status))
		if ap.Status == care.AppointmentBooked {
			booked = append(booked, c)
		} else {
			other = append(other, c)
		}
	}
	return append(booked, other...), nil
}

func (a *app) statusFor(ctx context.Context, caseID string) (workflows.Status, error) {
	if err := care.ValidateOpaqueID("case", caseID); err != nil {
		return workflows.Status{}, err
	}
	cases, err := a.cases(ctx)
	if err != nil {
		return workflows.Status{}, err
	}
	return cases.Status(ctx, caseID)
}

// matching are the values that start with prefix.
func matching(values []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// documentCompletion gives "caseflow completion" its help.
func documentCompletion(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Long = completionHelp
			c.Example = "  source <(caseflow completion bash)\n  caseflow completion fish | source"
		}
	}
}
