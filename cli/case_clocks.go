package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/workflows"
)

func (a *app) callCommand() *cobra.Command {
	var c care.CallResult
	var at string
	cmd := &cobra.Command{
		Use:   "call <case> <call>",
		Short: "Record the outcome of a follow-up call (step 6)",
		Long: `Follow-up calls fall due by themselves at the case's cadence (by risk level and
case-management model, from the program policy); each appears as a task such as
call-7 in "case show" and "worklist". Record what happened:
  reached     the client was reached (it also meets a pending post-discharge contact)
  no-answer   repeated no-answers alert the supervisor
  declined    the client declined the call
--deteriorated (with reached) sends the case back to assessment.
A call entered after it was made takes --at, the time it was made, with its
UTC offset: it is in time when made within the call's window, and its
--minutes count toward the month it was made in.`,
		Example: `  caseflow case call c-1a2b3c4d5e6f7a8b call-7 --outcome reached --notes "pain down, walking with crutches"
  caseflow case call c-1a2b3c4d5e6f7a8b call-7 --outcome no-answer --at 2026-12-04T09:15:00-05:00
  caseflow case call c-1a2b3c4d5e6f7a8b call-8 --outcome reached --deteriorated --notes "fell at home"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("expected a case id and a call id (e.g. call-7), got %d argument(s); see the case's open calls with \"caseflow case show <case>\"", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c.TaskID = args[1]
			if _, err := care.ParseEnum("--outcome", string(c.Outcome), care.CallOutcomes); err != nil {
				return err
			}
			if err := c.Validate(); err != nil {
				return flagError(err)
			}
			var err error
			if c.At, err = parseHappenedAt(at); err != nil {
				return err
			}
			return act(a, cmd, args[0], workflows.Call, c)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "when the call was made, if earlier than now (RFC 3339 with its offset, e.g. 2026-12-04T09:15:00-05:00)")
	cmd.Flags().StringVar((*string)(&c.Outcome), "outcome", "", "reached, no-answer or declined (required)")
	cmd.Flags().BoolVar(&c.Deteriorated, "deteriorated", false, "the client's condition got worse: back to assessment")
	cmd.Flags().StringVar(&c.Notes, "notes", "", "what was said")
	cmd.Flags().IntVar(&c.Minutes, "minutes", 0, "care-management minutes the call took (CCM 99490)")
	return cmd
}

func (a *app) doneCommand() *cobra.Command {
	var c care.TaskCompletion
	cmd := &cobra.Command{
		Use:   "done <case> <task>",
		Short: "Mark a task done (visit, medication reconciliation, re-assessment, ...)",
		Long: `Mark one of the case's open tasks done: a post-discharge face-to-face visit
(tcm-visit-N), a medication reconciliation (med-reconciliation-N), a
re-assessment (reassess-N) or a lost-to-contact decision. Clocks done by
their due time count as met; a missed one is recorded done late.
Calls are recorded with "case call"; the readmission watch ends by itself.
The clocks only a record meets are refused: the CCM month (ccm-minutes-N)
by its minutes ("case contact --minutes", "case call --minutes"), the TCM
contact (tcm-contact-N) and the post-transition contact (contact-N) by a
contact ("case contact"; for the TCM contact also two "--attempt"s) or a
reached call ("case call").`,
		Example: `  caseflow case done c-1a2b3c4d5e6f7a8b med-reconciliation-9 --notes "list reconciled with the GP"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("expected a case id and a task id (e.g. tcm-visit-9), got %d argument(s); see the case's open tasks with \"caseflow case show <case>\"", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c.TaskID = args[1]
			return act(a, cmd, args[0], workflows.Complete, c)
		},
	}
	cmd.Flags().StringVar(&c.Notes, "notes", "", "notes")
	return cmd
}

func (a *app) pauseCommands() []*cobra.Command {
	mk := func(use string, action workflows.Action[care.Pause], short, reason string) *cobra.Command {
		var p care.Pause
		cmd := &cobra.Command{
			Use:     use + " <case>",
			Short:   short,
			Example: fmt.Sprintf("  caseflow case %s c-1a2b3c4d5e6f7a8b --reason %q", use, reason),
			Args:    exactlyOneCase,
			RunE: func(cmd *cobra.Command, args []string) error {
				if p.Reason == "" {
					return care.Invalidf("--reason", "is required: say why, e.g. --reason %q", reason)
				}
				if err := p.Validate(); err != nil {
					return flagError(err)
				}
				return act(a, cmd, args[0], action, p)
			},
		}
		cmd.Flags().StringVar(&p.Reason, "reason", "", "why (required)")
		return cmd
	}
	return []*cobra.Command{
		mk("pause", workflows.Pause, "Pause a case's outreach (follow-up calls, cadence, reminders); TCM, readmission and authorization deadlines keep running",
			"re-admitted to city hospital"),
		mk("resume", workflows.Resume, "Resume a paused case's outreach; the calls move by the paused time, deadlines never do",
			"discharged home"),
	}
}

func (a *app) worklistCommand() *cobra.Command {
	var manager, due string
	var overdue bool
	cmd := &cobra.Command{
		Use:   "worklist",
		Short: "What is due across cases: calls, visits, contacts, reconciliations",
		Long: `List open tasks across all cases, soonest due first, from PostgreSQL: follow-up
calls, post-discharge contacts and visits, medication reconciliations,
re-assessments, lost-to-contact decisions.`,
		Example: `  caseflow worklist --manager cm-ana --due today
  caseflow worklist --overdue --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			f := postgres.WorklistFilter{Owner: manager, Overdue: overdue, Now: now}
			switch due {
			case "":
			case "today":
				y, m, d := now.Date()
				f.DueBy = time.Date(y, m, d, 23, 59, 59, 0, now.Location())
			default:
				return care.Invalidf("--due", "unknown value %q; use today (or --overdue)", due)
			}
			if manager != "" {
				if err := care.ValidateOpaqueID("--manager", manager); err != nil {
					return err
				}
			}
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				tasks, err := store.Worklist(ctx, f)
				if err != nil {
					return err
				}
				return printRows(a, tasks, func() error {
					if len(tasks) == 0 {
						fmt.Fprintln(a.out, "nothing due")
						return nil
					}
					w := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "DUE\tCASE\tTASK\tOWNER\tWHAT")
					for _, t := range tasks {
						mark := ""
						if t.Due.Before(now) {
							mark = " (overdue)"
						}
						if !t.EscalatedAt.IsZero() {
							mark += " (escalated)"
						}
						if t.CasePaused {
							mark += " (case paused)"
						}
						fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\n", formatTime(t.Due), mark, t.CaseID, t.ID, t.Owner, t.Description)
					}
					return w.Flush()
				})
			})
		},
	}
	cmd.Flags().StringVar(&manager, "manager", "", "only tasks owned by this staff member")
	cmd.Flags().StringVar(&due, "due", "", "today: only tasks due by the end of today")
	cmd.Flags().BoolVar(&overdue, "overdue", false, "only tasks past their due time")
	return cmd
}

func (a *app) appointmentCommand() *cobra.Command {
	var attended, noShow, cancel bool
	var notes string
	cmd := &cobra.Command{
		Use:   "appointment <case> <appointment>",
		Short: "Record the attendance of an appointment (step 5)",
		Long: `Appointments are booked by themselves once a service is authorized (see the
services in "case show"). Record what happened:
  --attended   the client came; a recurring service books its next occurrence
  --no-show    the client did not come; the service is rebooked (up to the
               program's limit, then a task for the case manager)
  --cancel     cancel the appointment: its pending reminders are cancelled
               and the service is rebooked`,
		Example: `  caseflow case appointment c-1a2b3c4d5e6f7a8b ap-3f2a1b0c9d8e7f6a --attended
  caseflow case appointment c-1a2b3c4d5e6f7a8b ap-3f2a1b0c9d8e7f6a --no-show --notes "phone off"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("expected a case id and an appointment id, got %d argument(s); see the case's appointments with \"caseflow case show <case>\"", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			at := care.Attendance{AppointmentID: args[1], Notes: notes}
			n := 0
			for _, f := range []struct {
				set    bool
				status care.AppointmentStatus
			}{{attended, care.AppointmentAttended}, {noShow, care.AppointmentNoShow}, {cancel, care.AppointmentCancelled}} {
				if f.set {
					n++
					at.Status = f.status
				}
			}
			if n != 1 {
				return care.Invalidf("--attended", "say exactly one of --attended, --no-show or --cancel")
			}
			return act(a, cmd, args[0], workflows.Appointment, at)
		},
	}
	cmd.Flags().BoolVar(&attended, "attended", false, "the client attended")
	cmd.Flags().BoolVar(&noShow, "no-show", false, "the client did not come")
	cmd.Flags().BoolVar(&cancel, "cancel", false, "cancel the appointment")
	cmd.Flags().StringVar(&notes, "notes", "", "notes")
	return cmd
}
