package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/caseflow/caseflow/hl7"
)

// adtFeed is scenario 7: a stream of A03 discharges sent over one MLLP
// connection, each after the ACK of the one before (as a hospital's
// integration engine sends), to "caseflow adt listen", against an MLLP echo
// server on the same machine that parses each message and answers AA at
// once. caseflow's ACK includes what makes it durable: the patient lookup
// and the inbox row written before the ACK. The patients have no open case,
// so the applier behind the listener records each discharge as ignored
// without a Temporal signal; the row also reports how long the applier took
// to work through the stream.
func (e *env) adtFeed(ctx context.Context) error {
	n := e.cfg.ADTMessages
	if _, err := e.db.ExecContext(ctx, `INSERT INTO patients (patient_id, external_ref)
		SELECT 'p-bench-adt-' || i, 'BENCH-ADT-' || i FROM generate_series(0, $1 - 1) AS i ON CONFLICT DO NOTHING`, n); err != nil {
		return err
	}
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = []byte(discharge(i))
	}

	// Baseline: parse and acknowledge, nothing else.
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer echo.Close()
	go serveEcho(echo)
	blRate, blLat, err := sendStream(ctx, echo.Addr().String(), msgs)
	if err != nil {
		return fmt.Errorf("echo server: %w", err)
	}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	l, err := e.startProc(ctx, "adt-listen", filepath.Join(e.cfg.BinDir, "caseflow"),
		[]string{"adt", "listen", "--addr", addr, "--authority", "BENCHHOSP"}, e.environ(""), nil)
	if err != nil {
		return err
	}
	defer l.stop()
	if err := waitListening(ctx, addr, 30*time.Second); err != nil {
		return err
	}
	t0 := time.Now()
	cfRate, cfLat, err := sendStream(ctx, addr, msgs)
	if err != nil {
		return fmt.Errorf("caseflow adt listen: %w", err)
	}
	if err := e.waitCount(ctx, "discharges worked through by the applier", n, 10*time.Minute,
		`SELECT count(*) FROM adt_inbox WHERE control_id LIKE 'BENCH-%' AND status <> 'pending'`); err != nil {
		return err
	}
	drained := time.Since(t0)
	r := cfRate / blRate
	e.rep.add(Row{ID: "7", Scenario: fmt.Sprintf("ADT feed: %s A03 discharges over one MLLP connection, each sent after the previous ACK, to `caseflow adt listen`; baseline: an MLLP echo server that parses and answers AA", count(n)),
		Caseflow: fmt.Sprintf("%.0f messages/s, ACK p50 %s p99 %s (stored before each ACK; all applied after %s)", cfRate, ms(cfLat.p50), ms(cfLat.p99), secs(drained)),
		Baseline: fmt.Sprintf("%.0f messages/s, ACK p50 %s p99 %s", blRate, ms(blLat.p50), ms(blLat.p99)),
		Goal:     "-", Result: ResultInfo,
		Values: map[string]float64{"messages_per_s": cfRate, "baseline_per_s": blRate, "ratio": r, "p99_ms": float64(cfLat.p99) / 1e6,
			"baseline_p99_ms": float64(blLat.p99) / 1e6, "applied_s": drained.Seconds(), "messages": float64(n)}})
	e.logf("7: caseflow %.0f msg/s (p99 %s), echo %.0f msg/s (p99 %s)", cfRate, ms(cfLat.p99), blRate, ms(blLat.p99))
	return nil
}

// discharge is the i-th message of the stream.
func discharge(i int) string {
	pv1 := make([]string, 46)
	pv1[0], pv1[3], pv1[37], pv1[45] = "PV1", "W4^402^1^BENCHHOSP", "HOME", "20261201080000"
	return strings.Join([]string{
		fmt.Sprintf("MSH|^~\\&|EPIC|BENCHHOSP|CASEFLOW|CARE|20261201083000||ADT^A03^ADT_A03|BENCH-%07d|P|2.5.1", i),
		"EVN|A03|20261201083000",
		fmt.Sprintf("PID|1||BENCH-ADT-%d^^^BENCHHOSP^MR||Doe^Pat||19800101|U", i),
		strings.Join(pv1, "|"),
	}, "\r") + "\r"
}

// serveEcho answers every frame with an AA built from the message.
func serveEcho(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			r := hl7.NewFrameReader(conn, 1<<20)
			for {
				frame, err := r.Read()
				if err != nil {
					return
				}
				m, _ := hl7.Parse(frame)
				if hl7.WriteFrame(conn, hl7.Ack(m, hl7.AA, nil, "ECHO", time.Now())) != nil {
					return
				}
			}
		}()
	}
}

// sendStream sends msgs in order on one connection, each after the ACK of
// the one before, and returns messages a second and the ACK latencies.
func sendStream(ctx context.Context, addr string, msgs [][]byte) (float64, dist, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, dist{}, err
	}
	defer conn.Close()
	r := hl7.NewFrameReader(conn, 1<<20)
	lat := make([]time.Duration, 0, len(msgs))
	t0 := time.Now()
	for _, m := range msgs {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		s := time.Now()
		if err := hl7.WriteFrame(conn, m); err != nil {
			return 0, dist{}, err
		}
		frame, err := r.Read()
		if err != nil {
			return 0, dist{}, err
		}
		lat = append(lat, time.Since(s))
		ack, err := hl7.Parse(frame)
		if err != nil {
			return 0, dist{}, err
		}
		if code := ack.Get("MSA-1"); code != string(hl7.AA) {
			return 0, dist{}, fmt.Errorf("ACK %s (%s %s)", code, ack.Get("ERR-3"), ack.Get("ERR-8"))
		}
	}
	return float64(len(msgs)) / time.Since(t0).Seconds(), summarize(lat), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(fmt.Errorf("caseflow adt listen is not listening on %s", addr), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
