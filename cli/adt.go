package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/adt"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/connect"
	"github.com/caseflow/caseflow/postgres"
)

func (a *app) adtCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "adt",
		Short: "Take a hospital's HL7 v2 ADT feed (admissions, discharges, transfers)",
		Long: `caseflow takes HL7 v2.x ADT messages over MLLP: A01 admit, A02 transfer,
A03 discharge, A04 register, A08 update, A11/A13 cancels. See docs/interop.md.`,
	}
	cmd.AddCommand(a.adtListenCommand(), a.adtInboxCommand())
	return cmd
}

func (a *app) adtListenCommand() *cobra.Command {
	var f struct {
		addr, cert, key string
		cfg             adt.Config
	}
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Run the MLLP listener: store each ADT message, acknowledge it, apply it to the cases",
		Long: `Listen for HL7 v2 ADT messages over MLLP. Each message is stored in the
PostgreSQL inbox (keyed by sending facility MSH-4 and control id MSH-10)
before it is acknowledged, then applied in the background, in the order
received, with retries: a message acknowledged while Temporal is down is
applied once it is back, and a message the sender resends is applied once.

ACKs: AA stored (it will be applied); AE understood but cannot be applied
(unknown patient, missing PID-3 or event date, over --max-frame) with an ERR
segment; AR not parsed, not ADT, an event caseflow does not take, or the
inbox could not be written (resend it).

Patients are matched by PID-3: an identifier with assigning authority AUTH
(CX.4; without one, the sending facility, MSH-4) matches the patient whose
reference is AUTH:ID, or ID itself when AUTH is one of --authority (your own
MRNs, as entered with case open). A hospital that sends its MRNs without
CX.4 needs its MSH-4 in --authority.
A01 within a readmission watch records a readmission; A03 discharges with
the discharge date (PV1-45, else EVN-6/EVN-2). A01/A04 for a patient with
no open case opens one in each --program whose policy has adt.open_cases.

Messages are PHI: they are stored in PostgreSQL only and never logged.
Ctrl-C (or SIGTERM) stops the listener.`,
		Example: `  caseflow adt listen --authority CITYHOSP --program transitional-care
  caseflow adt listen --addr 0.0.0.0:2575 --tls-cert feed.crt --tls-key feed.key --authority CITYHOSP`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.cert == "") != (f.key == "") {
				return care.Invalidf("--tls-cert", "give both --tls-cert and --tls-key, or neither")
			}
			logger := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
			ctx := cmd.Context()
			dbCtx, cancel := context.WithTimeout(ctx, a.timeout)
			store, err := a.db(dbCtx)
			cancel()
			if err != nil {
				return err
			}
			var ln net.Listener
			if f.cert != "" {
				pair, err := tls.LoadX509KeyPair(f.cert, f.key)
				if err != nil {
					return care.Invalidf("--tls-cert", "cannot load the certificate and key: %v", err)
				}
				ln, err = tls.Listen("tcp", f.addr, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
				if err != nil {
					return care.Invalidf("--addr", "cannot listen on %s: %v", f.addr, rootCause(err))
				}
			} else if ln, err = net.Listen("tcp", f.addr); err != nil {
				return care.Invalidf("--addr", "cannot listen on %s: %v; pick a free address, e.g. --addr 127.0.0.1:2576", f.addr, rootCause(err))
			}
			if !isLoopback(ln.Addr()) && f.cert == "" {
				logger.Warn("the ADT listener takes PHI beyond loopback without TLS; use --tls-cert/--tls-key or a VPN", "addr", ln.Addr().String())
			}
			applier := adt.NewApplier(store, a.adtCases(logger), f.cfg, logger)
			listener := adt.NewListener(store, f.cfg, logger, applier.Wake)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); applier.Run(ctx) }()
			logger.Info("ADT listener ready", "addr", ln.Addr().String(), "tls", f.cert != "", "programs", fmt.Sprint(f.cfg.Programs))
			if a.json() {
				if err := a.printJSON(map[string]any{"addr": ln.Addr().String(), "tls": f.cert != ""}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.out, "ADT listener on %s (MLLP%s); Ctrl-C stops it\n", ln.Addr(), map[bool]string{true: " over TLS"}[f.cert != ""])
			}
			err = listener.Serve(ctx, ln)
			wg.Wait()
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:2575", "address to listen on (MLLP); beyond loopback use TLS")
	fl.StringVar(&f.cert, "tls-cert", "", "PEM certificate file: serve MLLP over TLS (with --tls-key)")
	fl.StringVar(&f.key, "tls-key", "", "PEM private key file of --tls-cert")
	fl.StringSliceVar(&f.cfg.LocalAuthorities, "authority", nil, "PID-3 assigning authority whose identifiers are your patient references as they are (repeatable)")
	fl.StringSliceVar(&f.cfg.Programs, "program", nil, "program whose policy may open cases from the feed (adt.open_cases), and whose cases get its transitions (repeatable)")
	fl.IntVar(&f.cfg.MaxFrame, "max-frame", 1<<20, "largest message accepted, in bytes (larger ones get AE)")
	fl.DurationVar(&f.cfg.ReadTimeout, "read-timeout", 2*time.Minute, "close a connection that sends no complete message for this long")
	return cmd
}

// adtCases dials Temporal for the applier, again after each failure, so the
// listener starts and stores messages while Temporal is down.
func (a *app) adtCases(logger *slog.Logger) func(context.Context) (adt.Cases, error) {
	return func(ctx context.Context) (adt.Cases, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		tc, err := connect.Temporal(ctx, slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelError})))
		if err != nil {
			return nil, err
		}
		logger.Info("ADT applier connected to Temporal")
		a.temporal = tc
		return caseclient.New(tc, a.taskQueue), nil
	}
}

func (a *app) adtInboxCommand() *cobra.Command {
	var limit int
	var purge string
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "List the latest ADT messages received and what was done with each (never their content)",
		Long: `List the latest ADT messages in the inbox, newest first: sender, control id,
event, status (pending, applied, ignored, rejected, failed), attempts, the
cases and the reason. The messages' text (PHI) is never shown.

Messages are applied in the order received: a pending message with many
attempts holds back the ones behind it. Its reason says why; "set-aside"
takes it out of the feed, and "retry" puts a failed message back.

--purge-before blanks the text of the messages received before a date that
are done with; their key, digest, status and reason stay, so a late resend is
still recognised (by the digest of its segments) and the audit remains.`,
		Example: `  caseflow adt inbox --limit 20
  caseflow adt inbox --purge-before 2026-06-01
  caseflow adt inbox set-aside CITYHOSP MSG00042 --reason "the case rejects it; ticket OPS-118"
  caseflow adt inbox retry CITYHOSP MSG00042`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
				if purge != "" {
					before, err := time.Parse(time.DateOnly, purge)
					if err != nil {
						return care.Invalidf("--purge-before", "must be a date YYYY-MM-DD, got %q", purge)
					}
					n, err := store.PurgeInbound(ctx, before)
					if err != nil {
						return err
					}
					if a.json() {
						return a.printJSON(map[string]int64{"purged": n})
					}
					fmt.Fprintf(a.out, "blanked the text of %d messages received before %s\n", n, purge)
					return nil
				}
				rows, err := store.Inbox(ctx, limit)
				if err != nil {
					return err
				}
				return printRows(a, rows, func() error {
					w := tabwriter.NewWriter(a.out, 0, 2, 2, ' ', 0)
					fmt.Fprintln(w, "RECEIVED\tFACILITY\tCONTROL ID\tEVENT\tSTATUS\tATTEMPTS\tCASES\tREASON")
					for _, r := range rows {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%v\t%s\n", r.ReceivedAt.UTC().Format(time.RFC3339), r.SendingFacility, r.ControlID, r.Event, r.Status, r.Attempts, []string(r.CaseIDs), r.Reason)
					}
					return w.Flush()
				})
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many messages to list, newest first")
	cmd.Flags().StringVar(&purge, "purge-before", "", "blank the text (PHI) of messages done with and received before this date, YYYY-MM-DD, instead of listing")
	cmd.AddCommand(a.adtSetAsideCommand(), a.adtRetryCommand())
	return cmd
}

// adtSetAsideCommand takes a message that keeps failing out of the feed.
func (a *app) adtSetAsideCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "set-aside FACILITY CONTROL-ID --reason TEXT",
		Short: "Take a pending ADT message that keeps failing out of the feed, so the messages behind it are applied",
		Long: `Messages are applied strictly in the order received, so a pending message
that keeps failing (caseflow adt inbox shows its attempts and last reason)
holds back every message behind it. set-aside marks it failed, with your
reason and actor, and the listener goes on with the next one. Nothing is
deleted: the message keeps its place, its text and the cases it reached, and
"caseflow adt inbox retry" puts it back once the cause is fixed.

A set-aside discharge or transfer is not applied to its cases until it is
put back: review them (caseflow case show) or enter the transition by hand.
Give a reason that does not name the patient: it is listed by adt inbox.`,
		Example: `  caseflow adt inbox set-aside CITYHOSP MSG00042 --reason "case rejects the transition; ticket OPS-118" --actor ops-kim`,
		Args:    facilityAndControlID,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return care.Invalidf("--reason", "say why the message is set aside (without naming the patient), e.g. --reason \"the case rejects it; ticket OPS-118\"")
			}
			return a.moveInbound(cmd, args, func(ctx context.Context, store *postgres.Store) (postgres.InboxMessage, error) {
				return store.SetAsideInbound(ctx, args[0], args[1], a.actor, oneLineText(reason))
			}, "set aside; the messages behind it are applied next")
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the message is set aside (required; never the patient's name)")
	return cmd
}

// adtRetryCommand puts a failed message back in the feed.
func (a *app) adtRetryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "retry FACILITY CONTROL-ID",
		Short: "Put a failed ADT message back in the feed, to be applied next",
		Long: `Put back a message that failed, or was set aside, once its cause is fixed
(a patient registered since, a program's policy loaded, a case fixed). It is
applied next, ahead of later messages, as received; cases it reached before
are not signalled again. A message whose text was purged cannot be put back:
ask the sender to resend it.`,
		Example: `  caseflow adt inbox retry CITYHOSP MSG00042 --actor ops-kim`,
		Args:    facilityAndControlID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.moveInbound(cmd, args, func(ctx context.Context, store *postgres.Store) (postgres.InboxMessage, error) {
				return store.RetryFailedInbound(ctx, args[0], args[1], a.actor)
			}, "put back in the feed; it is applied next")
		},
	}
}

func (a *app) moveInbound(cmd *cobra.Command, args []string, move func(context.Context, *postgres.Store) (postgres.InboxMessage, error), done string) error {
	if err := care.ValidateOpaqueID("--actor", a.actor); err != nil {
		return err
	}
	return a.withStore(cmd, func(ctx context.Context, store *postgres.Store) error {
		m, err := move(ctx, store)
		if err != nil {
			return err
		}
		if a.json() {
			return a.printJSON(m)
		}
		fmt.Fprintf(a.out, "ADT message %s/%s (%s, received %s): %s\n", args[0], args[1], m.Event, m.ReceivedAt.UTC().Format(time.RFC3339), done)
		return nil
	})
}

// facilityAndControlID are the arguments naming an inbox message.
func facilityAndControlID(_ *cobra.Command, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("expected the sending facility (MSH-4) and control id (MSH-10) as caseflow adt inbox lists them, got %d argument(s)", len(args))
	}
	return nil
}

// oneLineText is text on one line, its runs of white space one space.
func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
