package adt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/hl7"
	"github.com/caseflow/caseflow/postgres"
)

// Store is what the applier needs of PostgreSQL.
type Store interface {
	Inbox
	NextPending(ctx context.Context) (postgres.InboxMessage, bool, error)
	RetryInbound(ctx context.Context, seq int64, next time.Time, reason string, done []string) error
	FinishInbound(ctx context.Context, seq int64, status postgres.InboxStatus, reason string, caseIDs []string) error
	OpenCases(ctx context.Context, patientID string) ([]postgres.OpenCase, error)
	// Case is a case's snapshot, open or closed, or care.ErrNotFound.
	Case(ctx context.Context, caseID string) (care.Snapshot, error)
	UpsertPatient(ctx context.Context, externalRef, name string, birthDate *time.Time) (string, error)
	UpdatePatientDemographics(ctx context.Context, patientID, name string, birthDate *time.Time) error
	// ApplierTurn reports whether this listener applies the inbox (it
	// holds the one applier's lock); ReleaseApplier lets it go.
	ApplierTurn(ctx context.Context) (bool, error)
	ReleaseApplier()
}

// Cases is what the applier needs of the case workflows (caseclient).
type Cases interface {
	SignalTransition(ctx context.Context, caseID string, t care.Transition) error
	Open(ctx context.Context, c care.Case, p care.Policy) (bool, error)
}

// Applier applies the inbox's pending messages to the cases, one at a time
// in the order received, retrying one that fails for a passing reason
// (Temporal or PostgreSQL unavailable) until it succeeds: a message
// acknowledged while Temporal is down is applied when it is back.
type Applier struct {
	store Store
	cases func(context.Context) (Cases, error)
	cfg   Config
	log   *slog.Logger
	wake  chan struct{}
	// MaxBackoff caps the wait between attempts (default 30 s).
	MaxBackoff time.Duration
	// HandOverAfter is how long the applier keeps the inbox's lock while
	// it cannot apply a message for a passing reason (Temporal does not
	// answer it) before it lets the lock go for another listener, which
	// may reach Temporal, and stands aside for StandAside (defaults 2 min
	// and 15 s). Alone, it takes the lock again after standing aside.
	HandOverAfter, StandAside time.Duration
}

// NewApplier returns an applier; cases dials the case client, and is
// called again after it fails.
func NewApplier(store Store, cases func(context.Context) (Cases, error), cfg Config, log *slog.Logger) *Applier {
	return &Applier{store: store, cases: cases, cfg: cfg.withDefaults(), log: log, wake: make(chan struct{}, 1), MaxBackoff: 30 * time.Second,
		HandOverAfter: 2 * time.Minute, StandAside: 15 * time.Second}
}

// Wake tells the applier a message is waiting.
func (a *Applier) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run applies messages until ctx ends, while this listener is the one that
// applies the inbox: of several listeners on one database (a rolling
// deploy, a second host) one applies, in order, and the others stand by.
func (a *Applier) Run(ctx context.Context) {
	defer a.store.ReleaseApplier()
	var client Cases
	standby := false
	var failingSince time.Time // since when no attempt reached Temporal
	failing := func() {
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if time.Since(failingSince) < a.HandOverAfter {
			return
		}
		a.log.Warn("adt: cannot apply the inbox; letting another listener apply it",
			"failing_for", time.Since(failingSince).Round(time.Second).String(), "stand_aside", a.StandAside.String())
		a.store.ReleaseApplier()
		client, failingSince = nil, time.Time{}
		a.sleepFor(ctx, a.StandAside)
	}
	for ctx.Err() == nil {
		turn, err := a.store.ApplierTurn(ctx)
		if err != nil {
			a.log.Warn("adt: inbox unavailable; retrying", "error", postgres.SafeError(err))
			a.sleep(ctx, 2*time.Second)
			continue
		}
		if !turn {
			if !standby {
				a.log.Info("adt: another listener applies this inbox; standing by (messages received here are stored and applied by it)")
				standby = true
			}
			a.sleep(ctx, 2*time.Second)
			continue
		}
		if standby {
			a.log.Info("adt: this listener applies the inbox now")
			standby = false
		}
		m, ok, err := a.store.NextPending(ctx)
		if err != nil {
			a.log.Warn("adt: inbox unavailable; retrying", "error", postgres.SafeError(err))
			a.sleep(ctx, 2*time.Second)
			continue
		}
		if !ok {
			a.sleep(ctx, time.Second)
			continue
		}
		if wait := time.Until(m.NextAttemptAt); wait > 0 {
			a.sleepFor(ctx, wait)
			continue
		}
		if client == nil {
			if client, err = a.cases(ctx); err != nil {
				client = nil
				a.retry(ctx, m, "Temporal unavailable: "+oneLine(err))
				failing()
				continue
			}
		}
		res := a.apply(ctx, client, m)
		if res.retry {
			a.retry(ctx, m, res.reason, res.cases...)
			failing()
			continue
		}
		failingSince = time.Time{}
		if err := a.store.FinishInbound(ctx, m.Seq, res.status, res.reason, res.cases); err != nil {
			a.log.Warn("adt: could not record an outcome; retrying", "facility", m.SendingFacility, "control_id", m.ControlID, "error", postgres.SafeError(err))
			a.sleep(ctx, 2*time.Second)
			continue
		}
		a.log.Info("adt: message applied", "facility", m.SendingFacility, "control_id", m.ControlID, "event", m.Event,
			"status", res.status, "reason", res.reason, "cases", strings.Join(res.cases, ","))
	}
}

// retry sets when to try m again; done are the cases it reached already,
// which the next attempt skips.
func (a *Applier) retry(ctx context.Context, m postgres.InboxMessage, reason string, done ...string) {
	wait := min(time.Duration(1<<min(m.Attempts, 10))*time.Second/2, a.MaxBackoff)
	a.log.Warn("adt: message not applied yet; will retry", "facility", m.SendingFacility, "control_id", m.ControlID,
		"attempt", m.Attempts+1, "retry_in", wait.String(), "reason", reason)
	if done == nil {
		done = m.CaseIDs
	}
	if err := a.store.RetryInbound(ctx, m.Seq, time.Now().Add(wait), reason, done); err != nil {
		a.sleep(ctx, 2*time.Second)
	}
}

// sleep waits d or until woken.
func (a *Applier) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-a.wake:
	}
}

// sleepFor waits d, not woken by new messages (they queue behind).
func (a *Applier) sleepFor(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type result struct {
	status postgres.InboxStatus
	reason string
	cases  []string
	retry  bool
}

func failed(reason string) result { return result{status: postgres.InboxFailed, reason: reason} }
func ignored(reason string, cases ...string) result {
	return result{status: postgres.InboxIgnored, reason: reason, cases: cases}
}
func transient(err error) result { return result{retry: true, reason: oneLine(err)} }

// transientAfter is transient for a message that reached the cases done
// before err: the next attempt skips them.
func transientAfter(err error, done []string) result {
	r := transient(err)
	r.cases = done
	return r
}

// apply applies one stored message. Reasons name events, dates and opaque
// ids only, never the patient.
func (a *Applier) apply(ctx context.Context, client Cases, m postgres.InboxMessage) result {
	parsed, err := hl7.Parse([]byte(m.Raw))
	if err != nil {
		return failed("stored message does not parse: " + err.Error())
	}
	msg, err := Read(parsed)
	if err != nil {
		return failed(err.Error())
	}
	patient, err := findPatient(ctx, a.store, msg, a.cfg.LocalAuthorities)
	if err != nil && !errors.Is(err, care.ErrNotFound) {
		return transient(err)
	}
	if patient == "" {
		if msg.Event != A01 && msg.Event != A04 {
			return failed("no patient is registered with a PID-3 identifier of this message")
		}
		return a.openCases(ctx, client, msg, "", m.CaseIDs)
	}
	open, err := a.store.OpenCases(ctx, patient)
	if err != nil {
		return transient(err)
	}
	switch msg.Event {
	case A03:
		return a.signal(ctx, client, a.targets(patient, open), m.CaseIDs, msg, care.TransitionDischarge)
	case A02:
		return a.signal(ctx, client, a.targets(patient, open), m.CaseIDs, msg, care.TransitionTransfer)
	case A01:
		var watched []postgres.OpenCase
		for _, c := range open {
			if c.ReadmissionOpen {
				watched = append(watched, c)
			}
		}
		if len(watched) > 0 {
			return a.signal(ctx, client, watched, m.CaseIDs, msg, care.TransitionReadmission)
		}
		if len(open) > 0 {
			return ignored("admission: no readmission watch is open", caseIDs(open)...)
		}
		return a.openCases(ctx, client, msg, patient, m.CaseIDs)
	case A04:
		if len(open) > 0 && len(m.CaseIDs) == 0 { // else an earlier attempt opened some: open the rest
			return ignored("registration of a patient with an open case", caseIDs(open)...)
		}
		return a.openCases(ctx, client, msg, patient, m.CaseIDs)
	case A08:
		if err := a.store.UpdatePatientDemographics(ctx, patient, msg.Name, msg.BirthDate); err != nil {
			return transient(err)
		}
		return result{status: postgres.InboxApplied, reason: "patient name and birth date updated", cases: caseIDs(open)}
	case A11, A13:
		what := map[string]string{A11: "admission", A13: "discharge"}[msg.Event]
		return ignored(fmt.Sprintf("cancel of an %s: caseflow does not undo a transition; review the case", what), caseIDs(open)...)
	}
	return failed("event " + msg.Event + " is not applied")
}

// targets are the cases a transition goes to: the patient's open cases in
// PostgreSQL and, for a case opened from the feed moments ago whose first
// step is not recorded yet, the case each program would have opened.
func (a *Applier) targets(patient string, open []postgres.OpenCase) []postgres.OpenCase {
	out := slices.Clone(open)
	ids := caseIDs(open)
	for _, p := range a.cfg.Programs {
		if id := care.CaseID(patient, p); !slices.Contains(ids, id) {
			out = append(out, postgres.OpenCase{CaseID: id, Program: p})
		}
	}
	return out
}

// signal sends a transition to each case, but those an earlier attempt
// reached (done). A case that does not run (not found, or closed since) is
// skipped; Temporal not answering is retried, from the first case not
// reached.
func (a *Applier) signal(ctx context.Context, client Cases, targets []postgres.OpenCase, done []string, msg Message, kind care.TransitionKind) result {
	sent := slices.Clone(done)
	t := msg.Transition(kind)
	var dates []string // the dates signalled, when a program's calendar gave another
	for _, c := range targets {
		id := c.CaseID
		if slices.Contains(done, id) {
			continue
		}
		ct := t
		if msg.DateAt != nil {
			// The sender gave the event's time with its offset: its date is
			// the one on the calendar of the case's program (as written when
			// the program has no policy in force).
			p, err := a.store.PolicyFor(ctx, c.Program, time.Now())
			switch {
			case err == nil:
				ct.Date = msg.DateAt.In(p.Location()).Format(time.DateOnly)
			case !errors.Is(err, care.ErrNotFound):
				return transientAfter(err, sent)
			}
		}
		if ct.Date != t.Date && !slices.Contains(dates, ct.Date) {
			dates = append(dates, ct.Date)
		}
		err := client.SignalTransition(ctx, id, ct)
		switch {
		case err == nil:
			sent = append(sent, id)
		case errors.Is(err, caseclient.ErrNotFound), errors.Is(err, caseclient.ErrClosed):
		default:
			res := transient(err)
			res.cases = sent
			return res
		}
	}
	if len(sent) == 0 {
		return ignored(fmt.Sprintf("%s on %s: the patient has no open case", t.Kind, t.Date))
	}
	on := t.Date
	if len(dates) > 0 {
		on = fmt.Sprintf("%s (%s on the program's calendar)", t.Date, strings.Join(dates, ", "))
	}
	return result{status: postgres.InboxApplied, reason: fmt.Sprintf("%s on %s signalled", t.Kind, on), cases: sent}
}

// openCases opens a case in screening, source adt, in each program whose
// policy in force has ADT-sourced detection on, registering a patient first
// seen on the feed.
func (a *Applier) openCases(ctx context.Context, client Cases, msg Message, patient string, done []string) result {
	var opened, existed []string
	for _, program := range a.cfg.Programs {
		p, err := a.store.PolicyFor(ctx, program, time.Now())
		if errors.Is(err, care.ErrNotFound) {
			continue
		}
		if err != nil {
			return transientAfter(err, opened)
		}
		if !p.ADT.OpenCases {
			continue
		}
		if patient == "" {
			if patient, err = a.store.UpsertPatient(ctx, msg.NewRef(a.cfg.LocalAuthorities), msg.Name, msg.BirthDate); err != nil {
				return transient(err)
			}
		}
		c := care.Case{ID: care.CaseID(patient, program), PatientID: patient, Program: program, Model: p.ADT.Model,
			Manager: p.ADT.Manager, Source: care.SourceADT, OpenedBy: care.ActorSystem}
		if err := c.Validate(); err != nil {
			return failed("cannot open a case: " + postgres.SafeError(err))
		}
		if slices.Contains(done, c.ID) { // opened by an earlier attempt of this message
			opened = append(opened, c.ID)
			continue
		}
		// A case PostgreSQL recorded, open or closed, is never started
		// again, also once Temporal's retention removed its workflow.
		started := false
		switch _, err := a.store.Case(ctx, c.ID); {
		case errors.Is(err, care.ErrNotFound):
			if started, err = client.Open(ctx, c, p); err != nil {
				return transientAfter(err, opened)
			}
		case err != nil:
			return transientAfter(err, opened)
		}
		if !started {
			// A case's id is its patient's and program's, never reused: a
			// closed case of the program is not opened again.
			existed = append(existed, c.ID)
			continue
		}
		opened = append(opened, c.ID)
	}
	switch {
	case len(opened) == 0 && len(existed) > 0:
		return ignored(fmt.Sprintf("%s: the patient's case %s exists already (opened before, or closed: case ids are not reused); none opened",
			msg.Event, strings.Join(existed, ", ")), existed...)
	case len(opened) == 0 && patient == "":
		return failed("no patient is registered with a PID-3 identifier of this message, and no program opens cases from the feed")
	case len(opened) == 0:
		return ignored(msg.Event + ": the patient has no open case and no program opens cases from the feed")
	}
	reason := "case opened in screening from the ADT feed"
	if len(existed) > 0 {
		reason += fmt.Sprintf("; %s exists already, not opened again", strings.Join(existed, ", "))
	}
	return result{status: postgres.InboxApplied, reason: reason, cases: opened}
}

func caseIDs(cs []postgres.OpenCase) []string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.CaseID)
	}
	return ids
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(postgres.SafeError(err)), " ")
}
