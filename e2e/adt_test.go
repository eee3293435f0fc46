package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/hl7"
	"github.com/caseflow/caseflow/workflows"
)

// adtListener is a running "caseflow adt listen".
type adtListener struct {
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
}

// startADTListener starts "caseflow adt listen" on a free loopback port,
// with extra environment (e.g. TEMPORAL_ADDRESS of a server that is down).
func (e *env) startADTListener(extraEnv ...string) *adtListener {
	return e.startADTListenerArgs(nil, extraEnv...)
}

func (e *env) startADTListenerArgs(extraArgs []string, extraEnv ...string) *adtListener {
	e.t.Helper()
	args := append([]string{"adt", "listen", "--addr", "127.0.0.1:0",
		"--authority", "CITYHOSP", "--program", "demo", "--read-timeout", "5s", "--output", "json"}, extraArgs...)
	cmd := exec.Command(filepath.Join(binDir, "caseflow"), args...)
	cmd.Dir = root
	cmd.Env = e.environ(extraEnv...)
	l := &adtListener{cmd: cmd, log: &syncBuffer{}}
	cmd.Stderr = l.log
	out, err := cmd.StdoutPipe()
	require.NoError(e.t, err)
	require.NoError(e.t, cmd.Start())
	var ready struct {
		Addr string `json:"addr"`
	}
	dec := json.NewDecoder(out)
	require.NoError(e.t, dec.Decode(&ready), "listener did not start: %s", l.log)
	go func() { _, _ = io.Copy(io.Discard, io.MultiReader(dec.Buffered(), out)) }()
	l.addr = ready.Addr
	e.t.Cleanup(func() { l.stop(e.t) })
	return l
}

func (l *adtListener) stop(t *testing.T) {
	if l.cmd == nil {
		return
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ADT listener did not stop cleanly: %v\n%s", err, l.log)
		}
	case <-time.After(20 * time.Second):
		_ = l.cmd.Process.Kill()
		t.Errorf("ADT listener did not stop within 20 s of SIGTERM")
	}
	l.cmd = nil
}

// ack is an ACK as the outside HL7 client read it.
type ack struct {
	MSA1 string `json:"msa1"`
	MSA2 string `json:"msa2"`
	Err3 string `json:"err3"`
	Err8 string `json:"err8"`
}

// hl7Send sends messages to addr with node-hl7-client (tools/hl7send), an
// HL7 client that is not caseflow's code, and returns the ACKs it read.
func (e *env) hl7Send(addr string, msgs ...string) []ack {
	e.t.Helper()
	dir := filepath.Join(root, "tools", "hl7send")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-hl7-client")); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			e.t.Skip("npm is not installed: make test installs it (apt-get install nodejs npm)")
		}
		ci := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		ci.Dir = dir
		out, err := ci.CombinedOutput()
		require.NoError(e.t, err, "npm ci in tools/hl7send: %s", out)
	}
	host, port, err := net.SplitHostPort(addr)
	require.NoError(e.t, err)
	args := []string{"send.mjs", "--host", host, "--port", port}
	for i, m := range msgs {
		f := filepath.Join(e.t.TempDir(), fmt.Sprintf("m%d.hl7", i))
		require.NoError(e.t, os.WriteFile(f, []byte(m), 0o600))
		args = append(args, f)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(e.t, err, "hl7send: %s", out)
	var acks []ack
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a ack
		require.NoError(e.t, json.Unmarshal([]byte(line), &a), "hl7send printed %q", line)
		acks = append(acks, a)
	}
	require.Len(e.t, acks, len(msgs))
	return acks
}

// adtMessage is an ADT message from CITYHOSP for the patient with the MRN.
// PV1-44/45 carry the admission or discharge date, EVN-2 the recording time.
func adtMessage(event, controlID, mrn, eventDate string) string {
	pv1 := make([]string, 46)
	pv1[0], pv1[3] = "PV1", "W4^402^1^CITYHOSP"
	switch event {
	case "A03":
		pv1[37], pv1[45] = "HOME", eventDate
	case "A01", "A04":
		pv1[6], pv1[44] = "HOME", eventDate
	}
	now := time.Now().UTC().Format("20060102150405")
	return strings.Join([]string{
		"MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|" + now + "||ADT^" + event + "^ADT_A01|" + controlID + "|P|2.5.1",
		"EVN|" + event + "|" + now,
		"PID|1||" + mrn + "^^^CITYHOSP^MR||Quinn^River||19910402|F",
		strings.Join(pv1, "|"),
	}, "\r") + "\r"
}

// TestADTFeedOverMLLP sends ADT messages with an outside HL7 client to
// "caseflow adt listen" on the real dev server and PostgreSQL: a discharge
// moves the case with the message's own date, a resent message is applied
// once, an admission within the readmission watch is a readmission, a
// message acknowledged while Temporal is unreachable is applied once the
// listener reaches it, and an admission of a new patient opens a case.
func TestADTFeedOverMLLP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.planDemoCase("MRN-ADT-1")
	var st workflows.Status
	e.waitFor("follow-up", 30*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	})
	l := e.startADTListener()

	// Bad input: each gets its ACK code, and the listener keeps serving.
	bad := e.hl7Send(l.addr,
		"MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|20261201||ORU^R01|BAD-1|P|2.5.1\rPID|1||MRN-ADT-1^^^CITYHOSP\r",
		adtMessage("A03", "BAD-2", "MRN-UNKNOWN", "20261128"),
		"MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|20261201||ADT^A03|BAD-3|P|2.5.1\rEVN|A03|20261201\rPID|1||\r")
	require.Equal(t, []string{"AR", "AE", "AE"}, []string{bad[0].MSA1, bad[1].MSA1, bad[2].MSA1})
	require.Equal(t, []string{"200", "204", "101"}, []string{bad[0].Err3, bad[1].Err3, bad[2].Err3})

	// A discharge dated 28 November (PV1-45), recorded today (EVN-2),
	// sent twice as a sender does after a lost ACK.
	// Dates are relative to now: a discharge's clocks run from its own time,
	// and the demo program's readmission watch is minutes long.
	const hl7Minute = "200601021504"
	dischargedAt, readmittedAt := time.Now().UTC().Add(-2*time.Minute), time.Now().UTC().Add(-time.Minute)
	discharge := adtMessage("A03", "DIS-1", "MRN-ADT-1", dischargedAt.Format(hl7Minute))
	acks := e.hl7Send(l.addr, discharge, discharge)
	require.Equal(t, "AA", acks[0].MSA1)
	require.Equal(t, "DIS-1", acks[0].MSA2)
	require.Equal(t, "AA", acks[1].MSA1)
	e.waitFor("the discharge to be applied", 30*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhasePostTransition
	})
	require.Equal(t, care.TransitionDischarge, st.Transition.Kind)
	require.Equal(t, dischargedAt.Format(time.DateOnly), st.Transition.Date, "the discharge date is the message's PV1-45")
	require.Equal(t, "HOME", st.Transition.To)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM adt_inbox WHERE control_id = 'DIS-1'`))
	e.waitFor("the inbox to record it", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM adt_inbox WHERE control_id = 'DIS-1' AND status = 'applied' AND $1 = ANY(case_ids)`, id) == 1
	})

	// An admission within the readmission watch: a readmission.
	e.waitFor("the readmission watch", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'readmission-watch' AND status = 'open'`, id) == 1
	})
	require.Equal(t, "AA", e.hl7Send(l.addr, adtMessage("A01", "ADM-1", "MRN-ADT-1", readmittedAt.Format(hl7Minute)))[0].MSA1)
	e.waitFor("the readmission", 30*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseTransition
	})
	require.Equal(t, care.TransitionReadmission, st.Transition.Kind)
	require.Equal(t, readmittedAt.Format(time.DateOnly), st.Transition.Date)
	e.waitFor("the readmission watch to be recorded unmet", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'readmission-watch' AND met = false`, id) == 1
	})

	// Temporal unreachable: the listener still stores and acknowledges;
	// the message is applied once the listener reaches Temporal.
	l.stop(t)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := down.Addr().String()
	require.NoError(t, down.Close())
	l = e.startADTListener("TEMPORAL_ADDRESS=" + deadAddr)
	dischargedAgain := time.Now().UTC()
	require.Equal(t, "AA", e.hl7Send(l.addr, adtMessage("A03", "DIS-2", "MRN-ADT-1", dischargedAgain.Format(hl7Minute)))[0].MSA1)
	e.waitFor("a failed attempt", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM adt_inbox WHERE control_id = 'DIS-2' AND status = 'pending' AND attempts >= 1`) == 1
	})
	e.okJSON(&st, "case", "show", id)
	require.Equal(t, care.PhaseTransition, st.Phase, "nothing applied while Temporal is unreachable")
	l.stop(t)
	l = e.startADTListener()
	e.waitFor("the stored discharge to be applied", 60*time.Second, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhasePostTransition
	})
	require.Equal(t, dischargedAgain.Format(time.DateOnly), st.Transition.Date)

	// A new patient's admission opens a case in screening (demo policy:
	// adt.open_cases), registered under the hospital's identifier.
	require.Equal(t, "AA", e.hl7Send(l.addr, adtMessage("A04", "REG-1", "MRN-ADT-NEW", "20261201"))[0].MSA1)
	e.waitFor("a case opened from the feed", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM cases c JOIN patients p USING (patient_id)
			WHERE p.external_ref = 'MRN-ADT-NEW' AND c.source = 'adt' AND c.phase = 'screening' AND c.manager = 'cm-ana'`) == 1
	})

	// The audit: every message has a status and reason; no PHI in the log.
	var inbox []struct {
		ControlID string `json:"control_id"`
		Status    string `json:"status"`
		Reason    string `json:"reason"`
	}
	e.okJSON(&inbox, "adt", "inbox")
	require.Len(t, inbox, 6)
	for _, m := range inbox {
		require.NotEmpty(t, m.Reason, m.ControlID)
	}
	for _, phi := range []string{"Quinn", "River", "19910402", "MRN-ADT"} {
		require.NotContains(t, l.log.String(), phi)
	}
}

// TestADTListenerOverTLS serves MLLP over TLS with --tls-cert/--tls-key: a
// TLS client gets its ACK, a plain-TCP client gets none.
func TestADTListenerOverTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "caseflow-adt"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, "feed.crt"), filepath.Join(dir, "feed.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	l := e.startADTListenerArgs([]string{"--tls-cert", certFile, "--tls-key", keyFile})

	pool := x509.NewCertPool()
	pool.AddCert(must(x509.ParseCertificate(der)))
	conn, err := tls.Dial("tcp", l.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, hl7.WriteFrame(conn, []byte(adtMessage("A03", "TLS-1", "MRN-NOBODY", "20261128"))))
	frame, err := hl7.NewFrameReader(conn, 1<<20).Read()
	require.NoError(t, err)
	ack, err := hl7.Parse(frame)
	require.NoError(t, err)
	require.Equal(t, "AE", ack.Get("MSA-1"), "an unknown patient, answered over TLS")
	require.Equal(t, "TLS-1", ack.Get("MSA-2"))

	plain, err := net.Dial("tcp", l.addr)
	require.NoError(t, err)
	defer plain.Close()
	require.NoError(t, hl7.WriteFrame(plain, []byte(adtMessage("A03", "PLAIN-1", "MRN-NOBODY", "20261128"))))
	_ = plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = hl7.NewFrameReader(plain, 1<<20).Read()
	require.Error(t, err, "a plain-TCP sender gets no ACK from a TLS listener")

	r := e.cli("adt", "listen", "--tls-cert", certFile)
	require.Equal(t, 2, r.code, "--tls-cert without --tls-key: %s", r.stderr)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
