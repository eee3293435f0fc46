package adt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
	"github.com/caseflow/caseflow/hl7"
	"github.com/caseflow/caseflow/postgres"
)

// memStore is an in-memory Store.
type memStore struct {
	mu       sync.Mutex
	rows     []postgres.InboxMessage
	patients map[string]string // ref → id
	open     map[string][]postgres.OpenCase
	policies map[string]care.Policy
	names    map[string]string
	storeErr error           // StoreInbound fails with it
	standby  bool            // another listener applies the inbox
	recorded map[string]bool // case id → recorded in PostgreSQL (open or closed)
}

func (s *memStore) Case(_ context.Context, caseID string) (care.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded[caseID] {
		return care.Snapshot{CaseID: caseID}, nil
	}
	return care.Snapshot{}, care.ErrNotFound
}

func newMemStore() *memStore {
	return &memStore{patients: map[string]string{}, open: map[string][]postgres.OpenCase{}, policies: map[string]care.Policy{}, names: map[string]string{}}
}

func (s *memStore) StoreInbound(_ context.Context, m postgres.InboxMessage) (postgres.InboxMessage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.storeErr != nil {
		return m, false, s.storeErr
	}
	if m.Status == "" {
		m.Status = postgres.InboxPending
	}
	for i, r := range s.rows {
		if r.SendingFacility == m.SendingFacility && r.ControlID == m.ControlID {
			if r.Status != postgres.InboxRejected {
				return r, false, nil
			}
			m.Seq = r.Seq
			s.rows[i] = m
			return m, true, nil
		}
	}
	m.Seq = int64(len(s.rows) + 1)
	s.rows = append(s.rows, m)
	return m, true, nil
}

func (s *memStore) ApplierTurn(context.Context) (bool, error) { return !s.standby, nil }
func (s *memStore) ReleaseApplier()                           {}

func (s *memStore) PatientIDByRef(_ context.Context, ref string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.patients[ref]; ok {
		return id, nil
	}
	return "", care.ErrNotFound
}

func (s *memStore) PolicyFor(_ context.Context, program string, _ time.Time) (care.Policy, error) {
	if p, ok := s.policies[program]; ok {
		return p, nil
	}
	return care.Policy{}, care.ErrNotFound
}

func (s *memStore) NextPending(context.Context) (postgres.InboxMessage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.Status == postgres.InboxPending {
			return r, true, nil
		}
	}
	return postgres.InboxMessage{}, false, nil
}

func (s *memStore) row(seq int64) *postgres.InboxMessage {
	for i := range s.rows {
		if s.rows[i].Seq == seq {
			return &s.rows[i]
		}
	}
	return nil
}

func (s *memStore) RetryInbound(_ context.Context, seq int64, next time.Time, reason string, done []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.row(seq)
	r.Attempts++
	r.NextAttemptAt, r.Reason, r.CaseIDs = next, reason, done
	return nil
}

func (s *memStore) FinishInbound(_ context.Context, seq int64, status postgres.InboxStatus, reason string, cases []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.row(seq)
	r.Attempts++
	r.Status, r.Reason, r.CaseIDs = status, reason, cases
	return nil
}

func (s *memStore) OpenCases(_ context.Context, patient string) ([]postgres.OpenCase, error) {
	return s.open[patient], nil
}

func (s *memStore) UpsertPatient(_ context.Context, ref, name string, _ *time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "p-" + strings.ToLower(strings.ReplaceAll(ref, ":", "-"))
	s.patients[ref], s.names[id] = id, name
	return id, nil
}

func (s *memStore) UpdatePatientDemographics(_ context.Context, id, name string, _ *time.Time) error {
	s.names[id] = name
	return nil
}

type signalled struct {
	caseID string
	t      care.Transition
}

// fakeCases records signals and opens; down makes them fail as Temporal
// not answering.
type fakeCases struct {
	mu      sync.Mutex
	down    bool
	running map[string]bool
	signals []signalled
	opened  []care.Case
}

func (c *fakeCases) SignalTransition(_ context.Context, id string, t care.Transition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return &care.Error{Kind: care.KindUnavailable, Message: "no answer"}
	}
	if !c.running[id] {
		return &care.Error{Kind: care.KindNotFound, Message: "not found", Err: caseclient.ErrNotFound}
	}
	c.signals = append(c.signals, signalled{id, t})
	return nil
}

func (c *fakeCases) Open(_ context.Context, cs care.Case, _ care.Policy) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return false, &care.Error{Kind: care.KindUnavailable, Message: "no answer"}
	}
	if _, exists := c.running[cs.ID]; exists { // open, or closed (false)
		return false, nil
	}
	c.opened = append(c.opened, cs)
	c.running[cs.ID] = true
	return true, nil
}

func msg(event, control, pid3, extra string) []byte {
	return []byte("MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|20261201083000||ADT^" + event + "|" + control + "|P|2.5.1\r" +
		"EVN|" + event + "|20261201083000\r" +
		"PID|1||" + pid3 + "||Quinn^River||19910402\r" + extra)
}

func pv1Discharge(date string) string {
	f := make([]string, 46)
	f[0], f[3], f[37], f[45] = "PV1", "W4^402^1^CITYHOSP", "HOME", date
	return strings.Join(f, "|") + "\r"
}

func ack(t *testing.T, b []byte) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatalf("ACK does not parse: %v", err)
	}
	return m
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func setup() (*memStore, *fakeCases, *Listener, *Applier, *bytes.Buffer) {
	store := newMemStore()
	store.patients["MRN-0042"] = "p-1"
	store.open["p-1"] = []postgres.OpenCase{{CaseID: "c-1", Program: "demo", Phase: care.PhaseFollowUp}}
	store.policies["demo"] = care.Policy{Program: "demo", ADT: care.ADTPolicy{OpenCases: true, Model: care.ModelClinical, Manager: "cm-ana"}}
	cases := &fakeCases{running: map[string]bool{"c-1": true}}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{LocalAuthorities: []string{"CITYHOSP"}, Programs: []string{"demo"}}
	ap := NewApplier(store, func(context.Context) (Cases, error) { return cases, nil }, cfg, log)
	ap.MaxBackoff = 10 * time.Millisecond
	return store, cases, NewListener(store, cfg, log, ap.Wake), ap, &logs
}

// waitApplied waits up to 5 s for the store's first message to be applied
// by a running applier; logs, if set, says what to print when it is not.
func waitApplied(t *testing.T, store *memStore, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		store.mu.Lock()
		row := store.rows[0]
		store.mu.Unlock()
		if row.Status == postgres.InboxApplied {
			return
		}
		if time.Now().After(deadline) {
			log := ""
			if logs != nil {
				log = logs()
			}
			t.Fatalf("not applied: %+v\n%s", row, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drain applies what is pending, as Run does, without its waits.
func drain(t *testing.T, ap *Applier, store *memStore, cases Cases) {
	t.Helper()
	for i := 0; i < 20; i++ {
		m, ok, _ := store.NextPending(context.Background())
		if !ok {
			return
		}
		res := ap.apply(context.Background(), cases, m)
		if res.retry {
			_ = store.RetryInbound(context.Background(), m.Seq, time.Now(), res.reason, res.cases)
			continue
		}
		_ = store.FinishInbound(context.Background(), m.Seq, res.status, res.reason, res.cases)
	}
}

func TestDischargeAckedStoredAppliedOnce(t *testing.T) {
	store, cases, l, ap, logs := setup()
	raw := msg("A03", "M1", "MRN-0042^^^CITYHOSP^MR", pv1Discharge("20261130143000"))
	a := ack(t, l.Receive(context.Background(), raw, "test"))
	if a.Get("MSA-1") != "AA" || a.Get("MSA-2") != "M1" {
		t.Fatalf("ACK %s %s", a.Get("MSA-1"), a.Get("MSA-2"))
	}
	// resent after a lost ACK: acknowledged again, stored once
	if a := ack(t, l.Receive(context.Background(), raw, "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("resend ACK %s", a.Get("MSA-1"))
	}
	if len(store.rows) != 1 {
		t.Fatalf("rows = %d", len(store.rows))
	}
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 {
		t.Fatalf("signals = %+v", cases.signals)
	}
	s := cases.signals[0]
	want := care.Transition{Kind: care.TransitionDischarge, From: "CITYHOSP W4 402 1", To: "HOME", Date: "2026-11-30", Message: "CITYHOSP/M1"}
	if s.caseID != "c-1" || s.t != want {
		t.Errorf("signal = %+v, want %+v", s, want)
	}
	if r := store.rows[0]; r.Status != postgres.InboxApplied || len(r.CaseIDs) != 1 {
		t.Errorf("row = %+v", r)
	}
	_ = ack(t, l.Receive(context.Background(), raw, "test"))
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 {
		t.Errorf("resent message applied again")
	}
	if strings.Contains(logs.String(), "Quinn") || strings.Contains(logs.String(), "MRN-0042") || strings.Contains(logs.String(), "19910402") {
		t.Errorf("PHI in logs:\n%s", logs)
	}
}

func TestAckCodes(t *testing.T) {
	store, _, l, _, logs := setup()
	for name, tc := range map[string]struct {
		raw       string
		code, err string
	}{
		"not ADT":         {"MSH|^~\\&|A|CITYHOSP|||||ORU^R01|X1|P|2.5\rPID|1||MRN-0042^^^CITYHOSP\r", "AR", "200"},
		"unknown event":   {"MSH|^~\\&|A|CITYHOSP|||||ADT^A05|X2|P|2.5\rPID|1||MRN-0042^^^CITYHOSP\r", "AR", "201"},
		"no control id":   {"MSH|^~\\&|A|CITYHOSP|||||ADT^A03||P|2.5\rPID|1||MRN-0042^^^CITYHOSP\r", "AR", "101"},
		"malformed":       {"MSH|^~\\&|A|CITYHOSP|||||ADT^A03|X3|P|2.5\rP1D X\r", "AR", "100"},
		"no MSH":          {"PID|1||MRN-0042\r", "AR", "100"},
		"missing PID-3":   {string(msg("A03", "X4", "", pv1Discharge("20261130"))), "AE", "101"},
		"no PID":          {"MSH|^~\\&|A|CITYHOSP|||||ADT^A03|X5|P|2.5\rEVN|A03|20261201\r", "AE", "100"},
		"unknown patient": {string(msg("A03", "X6", "NOPE^^^CITYHOSP", pv1Discharge("20261130"))), "AE", "204"},
		"bad date":        {string(msg("A03", "X7", "MRN-0042^^^CITYHOSP", pv1Discharge("2026-11-30"))), "AE", "102"},
		"other authority": {string(msg("A03", "X8", "MRN-0042^^^OTHERHOSP", pv1Discharge("20261130"))), "AE", "204"},
	} {
		a := ack(t, l.Receive(context.Background(), []byte(tc.raw), "test"))
		if a.Get("MSA-1") != tc.code || a.Get("ERR-3") != tc.err {
			t.Errorf("%s: ACK %s ERR %s, want %s %s (%s)", name, a.Get("MSA-1"), a.Get("ERR-3"), tc.code, tc.err, a.Get("ERR-8"))
		}
	}
	for _, r := range store.rows {
		if r.Status != postgres.InboxRejected || r.Reason == "" {
			t.Errorf("audit row %s: %s %q", r.ControlID, r.Status, r.Reason)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 10 {
		t.Errorf("log lines = %d, want one per message:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "MRN-0042") || strings.Contains(logs.String(), "Quinn") {
		t.Errorf("PHI in logs:\n%s", logs)
	}
}

func TestRetriedWhileTemporalIsDown(t *testing.T) {
	store, cases, l, ap, _ := setup()
	cases.down = true
	_ = l.Receive(context.Background(), msg("A03", "M1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test")
	_ = l.Receive(context.Background(), msg("A08", "M2", "MRN-0042^^^CITYHOSP", ""), "test")
	m, _, _ := store.NextPending(context.Background())
	if res := ap.apply(context.Background(), cases, m); !res.retry {
		t.Fatalf("apply while down = %+v, want a retry", res)
	}
	_ = store.RetryInbound(context.Background(), m.Seq, time.Now(), "down", nil)
	cases.down = false
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 || store.rows[0].Status != postgres.InboxApplied || store.rows[0].Attempts != 2 {
		t.Fatalf("after Temporal is back: signals %v, row %+v", cases.signals, store.rows[0])
	}
	if store.rows[1].Status != postgres.InboxApplied {
		t.Errorf("A08 = %+v", store.rows[1])
	}
}

func TestRunAppliesInBackground(t *testing.T) {
	store, cases, l, ap, _ := setup()
	dials := 0
	ap.cases = func(context.Context) (Cases, error) {
		if dials++; dials < 3 {
			return nil, errors.New("connection refused")
		}
		return cases, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ap.Run(ctx); close(done) }()
	_ = l.Receive(ctx, msg("A03", "M1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test")
	waitApplied(t, store, nil)
	cancel()
	<-done
}

func TestAdmissions(t *testing.T) {
	store, cases, l, ap, _ := setup()
	// readmission within the watch
	store.open["p-1"][0].ReadmissionOpen = true
	_ = l.Receive(context.Background(), msg("A01", "M1", "MRN-0042^^^CITYHOSP", ""), "test")
	// a new patient: registered, case opened in screening
	a := ack(t, l.Receive(context.Background(), msg("A04", "M2", "X-9^^^OTHERHOSP^MR", ""), "test"))
	if a.Get("MSA-1") != "AA" {
		t.Fatalf("A04 of a new patient: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	// cancel of a discharge: audited, not applied
	_ = l.Receive(context.Background(), msg("A13", "M3", "MRN-0042^^^CITYHOSP", ""), "test")
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 || cases.signals[0].t.Kind != care.TransitionReadmission || cases.signals[0].t.Date != "2026-12-01" {
		t.Errorf("readmission signals = %+v", cases.signals)
	}
	if len(cases.opened) != 1 || cases.opened[0].Source != care.SourceADT || cases.opened[0].PatientID != "p-otherhosp-x-9" || cases.opened[0].Manager != "cm-ana" {
		t.Errorf("opened = %+v", cases.opened)
	}
	if store.rows[2].Status != postgres.InboxIgnored {
		t.Errorf("A13 = %+v", store.rows[2])
	}
	// ADT detection off: an unknown patient's admission is refused
	store.policies["demo"] = care.Policy{Program: "demo"}
	if a := ack(t, l.Receive(context.Background(), msg("A01", "M4", "NEW^^^OTHERHOSP", ""), "test")); a.Get("MSA-1") != "AE" {
		t.Errorf("A01 of an unknown patient with detection off: %s", a.Get("MSA-1"))
	}
}

func TestListenerOverTCP(t *testing.T) {
	_, _, l, _, _ := setup()
	l.cfg.MaxFrame = 2048
	l.cfg.ReadTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Serve(ctx, ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := hl7.NewFrameReader(conn, 1<<20)
	send := func(b []byte) *hl7.Message {
		t.Helper()
		if err := hl7.WriteFrame(conn, b); err != nil {
			t.Fatal(err)
		}
		f, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		return ack(t, f)
	}
	big := msg("A03", "BIG", "MRN-0042^^^CITYHOSP", "NTE|1||"+strings.Repeat("x", 4096)+"\r")
	if a := send(big); a.Get("MSA-1") != "AE" || a.Get("MSA-2") != "BIG" {
		t.Errorf("oversized: %s %s", a.Get("MSA-1"), a.Get("MSA-2"))
	}
	if a := send(msg("A03", "OK1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130"))); a.Get("MSA-1") != "AA" {
		t.Errorf("after the oversized one: %s", a.Get("MSA-1"))
	}
	// a half-open connection is closed after the read timeout
	_, _ = conn.Write([]byte{hl7.StartBlock, 'M', 'S', 'H'})
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("a stalled connection stayed open")
	}
	conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// flaky fails the signals to one case until told otherwise.
type flaky struct {
	*fakeCases
	failFor string
}

func (f *flaky) SignalTransition(ctx context.Context, id string, t care.Transition) error {
	if id == f.failFor {
		return &care.Error{Kind: care.KindUnavailable, Message: "no answer"}
	}
	return f.fakeCases.SignalTransition(ctx, id, t)
}

func TestRetryDoesNotSignalACaseTwice(t *testing.T) {
	store, cases, l, ap, _ := setup()
	store.open["p-1"] = append(store.open["p-1"], postgres.OpenCase{CaseID: "c-2", Program: "other"})
	cases.running["c-2"] = true
	_ = l.Receive(context.Background(), msg("A03", "M1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test")
	f := &flaky{fakeCases: cases, failFor: "c-2"}
	m, _, _ := store.NextPending(context.Background())
	res := ap.apply(context.Background(), f, m)
	if !res.retry || len(res.cases) != 1 || res.cases[0] != "c-1" {
		t.Fatalf("first attempt = %+v", res)
	}
	_ = store.RetryInbound(context.Background(), m.Seq, time.Now(), res.reason, res.cases)
	f.failFor = ""
	drain(t, ap, store, f)
	if len(cases.signals) != 2 || cases.signals[0].caseID != "c-1" || cases.signals[1].caseID != "c-2" {
		t.Errorf("signals = %+v, want c-1 once then c-2", cases.signals)
	}
	if r := store.rows[0]; r.Status != postgres.InboxApplied || len(r.CaseIDs) != 2 {
		t.Errorf("row = %+v", r)
	}
}

// A control id reused for a different message is refused (AR, error 205),
// never acknowledged as a resend: the discharge would be lost. A resend
// stamped with a new message time (MSH-7) is still a resend.
func TestAControlIDReusedForAnotherMessageIsRefused(t *testing.T) {
	store, cases, l, ap, logs := setup()
	admit := msg("A01", "M7", "MRN-0042^^^CITYHOSP^MR", "")
	if a := ack(t, l.Receive(context.Background(), admit, "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("admission ACK %s", a.Get("MSA-1"))
	}
	restamped := []byte(strings.Replace(string(admit), "|20261201083000||ADT", "|20261201090000||ADT", 1))
	if a := ack(t, l.Receive(context.Background(), restamped, "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("resend with a new MSH-7: ACK %s", a.Get("MSA-1"))
	}
	discharge := msg("A03", "M7", "MRN-0042^^^CITYHOSP^MR", pv1Discharge("20261130143000"))
	a := ack(t, l.Receive(context.Background(), discharge, "test"))
	if a.Get("MSA-1") != "AR" || a.Get("ERR-3") == "" || !strings.Contains(string(l.Receive(context.Background(), discharge, "test")), "205") {
		t.Fatalf("reused control id: ACK %s, ERR %q", a.Get("MSA-1"), a.Get("ERR-3"))
	}
	if len(store.rows) != 1 || store.rows[0].Event != "A01" {
		t.Fatalf("rows = %+v", store.rows)
	}
	drain(t, ap, store, cases)
	if len(cases.signals) != 0 {
		t.Errorf("signals = %+v", cases.signals)
	}
	if !strings.Contains(logs.String(), "control id reused") || strings.Contains(logs.String(), "Quinn") || strings.Contains(logs.String(), "MRN-0042") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestSameMessageIgnoresOnlyLineEndingsAndTheMessageTime(t *testing.T) {
	a := "MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|20261201083000||ADT^A03|M1|P|2.5.1\rPID|1||MRN-1"
	if !sameMessage(a, strings.ReplaceAll(strings.Replace(a, "20261201083000", "20261201090000", 1), "\r", "\r\n")) {
		t.Error("a resend with a new MSH-7 and other line endings is the same message")
	}
	if sameMessage(a, strings.Replace(a, "MRN-1", "MRN-2", 1)) {
		t.Error("another patient is another message")
	}
	hash := strings.ReplaceAll(a, "|", "#")
	if !sameMessage(hash, strings.Replace(hash, "20261201083000", "20261201090000", 1)) {
		t.Error("MSH-7 is found with the message's own field separator")
	}
}

// An identifier without an assigning authority (CX.4) is the sending
// facility's: another hospital's bare 4711 is not the local patient 4711,
// and the patient it registers is found again by the same message form.
func TestAnIdentifierWithoutAuthorityIsTheSendingFacilitys(t *testing.T) {
	store, cases, l, ap, _ := setup()
	store.patients["4711"] = "p-local" // a local MRN, as staff entered it
	other := func(event, control, extra string) []byte {
		return bytes.Replace(msg(event, control, "4711", extra), []byte("|EPIC|CITYHOSP|"), []byte("|EPIC|OTHERHOSP|"), 1)
	}
	if a := ack(t, l.Receive(context.Background(), other("A04", "O1", ""), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("A04 from another hospital: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	drain(t, ap, store, cases)
	if len(cases.opened) != 1 || cases.opened[0].PatientID == "p-local" {
		t.Fatalf("the other hospital's 4711 opened a case for %+v", cases.opened)
	}
	if _, ok := store.patients["OTHERHOSP:4711"]; !ok {
		t.Fatalf("registered under %v, want OTHERHOSP:4711", store.patients)
	}
	if store.names["p-local"] != "" {
		t.Errorf("the local patient's name was overwritten: %q", store.names["p-local"])
	}
	// The same hospital's discharge of that patient reaches their case.
	opened := cases.opened[0].ID
	if a := ack(t, l.Receive(context.Background(), other("A03", "O2", pv1Discharge("20261203")), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("A03 from another hospital: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 || cases.signals[0].caseID != opened {
		t.Errorf("discharge signals = %+v, want one to %s", cases.signals, opened)
	}
	// From the local hospital, a bare id is its own MRN.
	m, err := Read(mustParse(t, msg("A08", "L1", "4711", "")))
	if err != nil {
		t.Fatal(err)
	}
	if refs := m.Refs([]string{"CITYHOSP"}); len(refs) != 2 || refs[1] != "4711" {
		t.Errorf("refs of the local hospital's bare id = %v", refs)
	}
}

func mustParse(t *testing.T, b []byte) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A message the inbox cannot store is answered AR, which the sender may
// resend as it is, and the log line names the database error by its code:
// PostgreSQL's message can quote the row (here a part of the patient's name).
func TestAnInboxDownIsAnsweredARAndLoggedWithoutTheRow(t *testing.T) {
	store, _, l, _, logs := setup()
	store.storeErr = &pq.Error{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0xe7 0x61 0x6c Quinn`}
	a := ack(t, l.Receive(context.Background(), msg("A03", "D1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test"))
	if a.Get("MSA-1") != "AR" || a.Get("ERR-3") != "207" {
		t.Errorf("inbox down: %s %s", a.Get("MSA-1"), a.Get("ERR-3"))
	}
	if strings.Contains(logs.String(), "Quinn") || strings.Contains(logs.String(), "0xe7") || !strings.Contains(logs.String(), "22021") {
		t.Errorf("log line: %s", logs.String())
	}
}

// A message in ISO-8859-1 is stored and read as UTF-8: the patient's name
// arrives whole.
func TestALatin1MessageIsReadAsUTF8(t *testing.T) {
	store, cases, l, ap, _ := setup()
	raw := bytes.Replace(msg("A04", "L1", "X-7^^^OTHERHOSP^MR", ""), []byte("Quinn^River"), []byte("Gon\xe7alves^Ana"), 1)
	if a := ack(t, l.Receive(context.Background(), raw, "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("Latin-1 A04: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	drain(t, ap, store, cases)
	if got := store.names["p-otherhosp-x-7"]; got != "Ana Gonçalves" {
		t.Errorf("name = %q", got)
	}
	if !strings.Contains(store.rows[0].Raw, "Gonçalves") {
		t.Errorf("stored raw is not UTF-8: %q", store.rows[0].Raw)
	}
}

// A registration of a patient whose case in the program is closed opens
// nothing (a case's id is never reused), and the inbox says so instead of
// "case opened".
func TestARegistrationOfAPatientWithAClosedCaseSaysNoneOpened(t *testing.T) {
	store, cases, l, ap, _ := setup()
	store.open["p-1"] = nil
	cases.running[care.CaseID("p-1", "demo")] = false // closed
	if a := ack(t, l.Receive(context.Background(), msg("A04", "R1", "MRN-0042^^^CITYHOSP", ""), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("A04: %s", a.Get("MSA-1"))
	}
	drain(t, ap, store, cases)
	row := store.rows[0]
	if len(cases.opened) != 0 || row.Status != postgres.InboxIgnored || !strings.Contains(row.Reason, "exists already") {
		t.Errorf("opened %v; inbox %s: %s", cases.opened, row.Status, row.Reason)
	}
}

// Once Temporal's retention has removed a closed case's workflow, its id
// could be started again: PostgreSQL, which keeps the case, says it exists.
func TestARegistrationOfAPatientWhoseClosedCaseTemporalForgotOpensNone(t *testing.T) {
	store, cases, l, ap, _ := setup()
	store.open["p-1"] = nil
	store.recorded = map[string]bool{care.CaseID("p-1", "demo"): true} // closed, and gone from Temporal
	if a := ack(t, l.Receive(context.Background(), msg("A04", "R2", "MRN-0042^^^CITYHOSP", ""), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("A04: %s", a.Get("MSA-1"))
	}
	drain(t, ap, store, cases)
	row := store.rows[0]
	if len(cases.opened) != 0 || row.Status != postgres.InboxIgnored || !strings.Contains(row.Reason, "exists already") {
		t.Errorf("opened %v; inbox %s: %s", cases.opened, row.Status, row.Reason)
	}
}

// A listener whose applier does not hold the inbox's lock stores and
// acknowledges, and leaves applying to the listener that holds it.
func TestAListenerStandsByWhileAnotherApplies(t *testing.T) {
	store, cases, l, ap, logs := setup()
	store.standby = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ap.Run(ctx); close(done) }()
	if a := ack(t, l.Receive(ctx, msg("A03", "S1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("stored and acknowledged: %s", a.Get("MSA-1"))
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	if len(cases.signals) != 0 || store.rows[0].Status != postgres.InboxPending {
		t.Errorf("applied while standing by: %+v, %s", cases.signals, store.rows[0].Status)
	}
	if !strings.Contains(logs.String(), "standing by") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestHL7Time(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		in, date string
		at       time.Time // zero: no offset
		bad      bool
	}{
		{in: "20261201", date: "2026-12-01"},
		{in: "202612010830", date: "2026-12-01"},
		{in: "20261201083000.1234", date: "2026-12-01"},
		{in: "20261201033000+0000", date: "2026-12-01", at: time.Date(2026, 11, 30, 22, 30, 0, 0, ny)},
		{in: "202611302230-0500", date: "2026-11-30", at: time.Date(2026, 11, 30, 22, 30, 0, 0, ny)},
		{in: "20261201+0000", date: "2026-12-01"}, // a date alone: as written
		{in: "2026113099", bad: true},
		{in: "20261232", bad: true},
		{in: "202612011", bad: true},
		{in: "20261201+05", bad: true},
		{in: "20261201x", bad: true},
	} {
		date, at, err := hl7Time(c.in)
		switch {
		case c.bad:
			if err == nil {
				t.Errorf("%s: accepted as %s", c.in, date)
			}
		case err != nil || date != c.date || (at == nil) != c.at.IsZero() || (at != nil && !at.Equal(c.at)):
			t.Errorf("%s: %s %v %v; want %s %v", c.in, date, at, err, c.date, c.at)
		}
	}
}

// A discharge whose time carries a UTC offset is dated on the calendar of
// the case's program: 03:30 UTC on 1 December is 30 November in New York.
func TestAnEventTimeWithAnOffsetIsDatedInTheProgramsZone(t *testing.T) {
	store, cases, l, ap, _ := setup()
	p := store.policies["demo"]
	p.Timezone = "America/New_York"
	store.policies["demo"] = p
	if a := ack(t, l.Receive(context.Background(), msg("A03", "Z1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261201033000+0000")), "test")); a.Get("MSA-1") != "AA" {
		t.Fatalf("A03: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	drain(t, ap, store, cases)
	if len(cases.signals) != 1 || cases.signals[0].t.Date != "2026-11-30" {
		t.Errorf("signals = %+v, want one dated 2026-11-30", cases.signals)
	}
	if r := store.rows[0].Reason; !strings.Contains(r, "2026-12-01 (2026-11-30 on the program's calendar)") {
		t.Errorf("reason %q does not name the date signalled", r)
	}
}

// A registration that opened a case in one program and failed in the next
// opens the rest on its retry, although the patient has an open case now.
func TestARegistrationRetriedAfterAPartialOpenOpensTheRest(t *testing.T) {
	store, cases, l, ap, _ := setup()
	store.open["p-1"] = nil
	store.policies["tcm"] = care.Policy{Program: "tcm", ADT: care.ADTPolicy{OpenCases: true, Model: care.ModelClinical, Manager: "cm-ana"}}
	ap.cfg.Programs = []string{"demo", "tcm"}
	_ = l.Receive(context.Background(), msg("A04", "P1", "MRN-0042^^^CITYHOSP", ""), "test")
	m, _, _ := store.NextPending(context.Background())
	// The first attempt opened demo's case; tcm's Open failed.
	demo := care.CaseID("p-1", "demo")
	cases.running[demo] = true
	_ = store.RetryInbound(context.Background(), m.Seq, time.Now(), "Temporal unavailable", []string{demo})
	store.open["p-1"] = []postgres.OpenCase{{CaseID: demo, Program: "demo", Phase: care.PhaseScreening}}
	drain(t, ap, store, cases)
	if len(cases.opened) != 1 || cases.opened[0].ID != care.CaseID("p-1", "tcm") {
		t.Errorf("opened %+v, want tcm's case; inbox: %s %s", cases.opened, store.rows[0].Status, store.rows[0].Reason)
	}
}

// A late resend of a message whose text was purged is recognised by its
// digest; another message under its control id is still refused.
func TestALateResendOfAPurgedMessageIsAResend(t *testing.T) {
	store, _, l, _, _ := setup()
	first := msg("A03", "P1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130"))
	_ = l.Receive(context.Background(), first, "test")
	store.rows[0].Raw = ""                                                                            // caseflow adt inbox --purge-before
	resent := bytes.Replace(first, []byte("|20261201083000||ADT"), []byte("|20261215090000||ADT"), 1) // a new MSH-7
	if a := ack(t, l.Receive(context.Background(), resent, "test")); a.Get("MSA-1") != "AA" {
		t.Errorf("late resend: %s %s", a.Get("MSA-1"), a.Get("ERR-8"))
	}
	other := msg("A03", "P1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261201"))
	if a := ack(t, l.Receive(context.Background(), other, "test")); a.Get("MSA-1") != "AR" || a.Get("ERR-3") != "205" {
		t.Errorf("another message under a purged one's control id: %s %s", a.Get("MSA-1"), a.Get("ERR-3"))
	}
	if len(store.rows) != 1 {
		t.Errorf("rows = %d", len(store.rows))
	}
}

// memLock is the inbox applier's lock shared by the listeners of one
// database (PostgreSQL's advisory lock).
type memLock struct {
	mu     sync.Mutex
	holder int
}

// lockedStore is a listener's view of a shared store: its own session of
// the applier's lock.
type lockedStore struct {
	*memStore
	lock *memLock
	id   int
}

func (s lockedStore) ApplierTurn(context.Context) (bool, error) {
	s.lock.mu.Lock()
	defer s.lock.mu.Unlock()
	if s.lock.holder == 0 {
		s.lock.holder = s.id
	}
	return s.lock.holder == s.id, nil
}

func (s lockedStore) ReleaseApplier() {
	s.lock.mu.Lock()
	defer s.lock.mu.Unlock()
	if s.lock.holder == s.id {
		s.lock.holder = 0
	}
}

// A listener that holds the applier's lock but cannot reach Temporal lets
// it go after a while, and one that can applies the messages; before, the
// feed waited on the broken one for as long as it ran.
func TestAListenerThatCannotReachTemporalHandsTheInboxOver(t *testing.T) {
	store, cases, l, _, _ := setup()
	lock := &memLock{}
	cfg := Config{LocalAuthorities: []string{"CITYHOSP"}, Programs: []string{"demo"}}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	broken := NewApplier(lockedStore{store, lock, 1}, func(context.Context) (Cases, error) {
		return nil, errors.New("connection refused")
	}, cfg, log)
	healthy := NewApplier(lockedStore{store, lock, 2}, func(context.Context) (Cases, error) { return cases, nil }, cfg, log)
	for _, ap := range []*Applier{broken, healthy} {
		ap.MaxBackoff, ap.HandOverAfter, ap.StandAside = 10*time.Millisecond, 200*time.Millisecond, time.Second
	}
	if ok, _ := (lockedStore{store, lock, 1}).ApplierTurn(context.Background()); !ok {
		t.Fatal("the broken listener takes the lock first")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, ap := range []*Applier{broken, healthy} {
		wg.Add(1)
		go func() { defer wg.Done(); ap.Run(ctx) }()
	}
	_ = l.Receive(ctx, msg("A03", "H1", "MRN-0042^^^CITYHOSP", pv1Discharge("20261130")), "test")
	waitApplied(t, store, logs.String)
	cancel()
	wg.Wait()
	if len(cases.signals) != 1 || !strings.Contains(logs.String(), "letting another listener apply it") {
		t.Errorf("signals %v; log:\n%s", cases.signals, logs.String())
	}
}

// lockedBuffer is a log that two appliers write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
