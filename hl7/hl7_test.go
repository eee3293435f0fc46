package hl7

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var a03 = "MSH|^~\\&|ADT1|CITYHOSP|CASEFLOW|CARE|20261201083000||ADT^A03^ADT_A03|MSG00001|P|2.5.1\r" +
	"EVN|A03|20261201083000|||nurse^Jones|20261201080000\r" +
	"PID|1||MRN-0042^^^CITYHOSP^MR~998877^^^STATE^SS||Quinn^River^J||19910402|F\r" +
	"PV1|1|I|W4^402^1^CITYHOSP" + strings.Repeat("|", 32) + "|01|H^Home" + strings.Repeat("|", 7) + "|20261201075900\r"

func TestParseFieldsComponentsRepetitions(t *testing.T) {
	m, err := Parse([]byte(a03))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"MSH-1": "|", "MSH-2": "^~\\&", "MSH-3": "ADT1", "MSH-4": "CITYHOSP", "MSH-9": "ADT", "MSH-9.2": "A03",
		"MSH-10": "MSG00001", "MSH-12": "2.5.1", "EVN-2": "20261201083000", "EVN-6": "20261201080000",
		"PID-3": "MRN-0042", "PID-3.4": "CITYHOSP", "PID-5.2": "River", "PID-7": "19910402",
		"PV1-3.1": "W4", "PV1-3.4": "CITYHOSP", "PV1-45": "20261201075900", "PV1-37.2": "Home", "PV1-36": "01", "PV1-37": "H",
		"PID-99": "", "ZZZ-1": "", "PID-x": "",
	} {
		if got := m.Get(path); got != want {
			t.Errorf("Get(%s) = %q, want %q", path, got, want)
		}
	}
	pid3 := m.Segment("PID").Field(3)
	if len(pid3) != 2 || pid3[1].Comp(1) != "998877" || pid3[1].Comp(4) != "STATE" {
		t.Errorf("PID-3 repetitions = %v", pid3)
	}
	if got := m.Segment("PID").Field(3).String(); got != "MRN-0042" {
		t.Errorf("Field.String = %q", got)
	}
}

func TestParseSubcomponentsAndLineEndings(t *testing.T) {
	raw := "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.3\nPID|1||42^^^HOSP&1.2.3&ISO^MR\r\n\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 2 {
		t.Fatalf("segments = %d, want 2", len(m.Segments))
	}
	if got := m.Get("PID-3.4.2"); got != "1.2.3" {
		t.Errorf("PID-3.4.2 = %q", got)
	}
	if got := m.Get("PID-3.4.1"); got != "HOSP" {
		t.Errorf("PID-3.4.1 = %q", got)
	}
}

func TestEscapes(t *testing.T) {
	d := DefaultDelimiters
	for in, want := range map[string]string{
		`a\F\b`: "a|b", `a\S\b\T\c\R\d\E\e`: "a^b&c~d\\e", `line\.br\two`: "line\ntwo",
		`\X41424A\`: "ABJ", `\H\bold\N\`: "bold", "plain": "plain",
	} {
		got, err := d.Unescape(in)
		if err != nil || got != want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`a\F`, `\\`, `\X4\`, `\XZZ\`} {
		if _, err := d.Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) = nil error", bad)
		}
	}
	orig := "a|b^c&d~e\\f\rg"
	if got, _ := d.Unescape(d.Encode(orig)); got != strings.ReplaceAll(orig, "\r", "\n") {
		t.Errorf("round trip = %q", got)
	}
	m, err := Parse([]byte("MSH|^~\\&|A|F|||||ADT^A08|1|P|2.5\rPID|1||X\\T\\Y^^^H\r"))
	if err != nil || m.Get("PID-3") != "X&Y" {
		t.Errorf("escaped field: %v, %q", err, m.Get("PID-3"))
	}
}

func TestCustomDelimiters(t *testing.T) {
	m, err := Parse([]byte("MSH#$*!@#A#F#####ADT$A03#9#P#2.4\rPID#1##7$$$H*7$$$Q\r"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Get("MSH-9.2") != "A03" || m.Get("PID-3.4") != "H" || m.Segment("PID").Field(3)[1].Comp(4) != "Q" {
		t.Errorf("custom delimiters: %q %q", m.Get("MSH-9.2"), m.Get("PID-3.4"))
	}
}

func TestParseErrors(t *testing.T) {
	for name, raw := range map[string]string{
		"no MSH":          "PID|1||42\r",
		"empty":           "",
		"short MSH-2":     "MSH|^~|A\r",
		"same delimiters": "MSH|^^\\&|A\r",
		"bad name":        "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rpid|1\r",
		"short name":      "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rPI\r",
		"no separator":    "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rPIDX1\r",
		"second MSH":      "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rMSH|^~\\&|A\r",
		"bad escape":      "MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rPID|1||4\\X2\r",
	} {
		_, err := Parse([]byte(raw))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "42") {
			t.Errorf("%s: error quotes the message: %v", name, err)
		}
	}
	_, err := Parse([]byte("MSH|^~\\&|A|F|||||ADT^A01|1|P|2.5\rPID|1||4\\X2\r"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Segment != 2 || pe.Name != "PID" {
		t.Errorf("ParseError = %#v", err)
	}
}

func TestAck(t *testing.T) {
	m, _ := Parse([]byte(a03))
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ack, err := Parse(Ack(m, AE, &Error{Code: "204", Text: "Unknown key identifier", Location: "PID^1^3", Diagnostic: "no patient has this identifier"}, "ACK1", now))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"MSH-3": "CASEFLOW", "MSH-4": "CARE", "MSH-5": "ADT1", "MSH-6": "CITYHOSP", "MSH-7": "20261201090000",
		"MSH-9": "ACK", "MSH-9.2": "A03", "MSH-9.3": "ACK", "MSH-10": "ACK1", "MSH-12": "2.5.1",
		"MSA-1": "AE", "MSA-2": "MSG00001", "ERR-2": "PID", "ERR-2.3": "3", "ERR-3": "204", "ERR-3.3": "HL70357", "ERR-4": "E",
		"ERR-8": "no patient has this identifier",
	} {
		if got := ack.Get(path); got != want {
			t.Errorf("ACK %s = %q, want %q", path, got, want)
		}
	}
	bare, err := Parse(Ack(nil, AR, &ErrSegmentSequence, "ACK2", now))
	if err != nil || bare.Get("MSA-1") != "AR" || bare.Get("MSH-9") != "ACK" || bare.Get("MSA-2") != "" {
		t.Errorf("ACK of nothing: %v %q", err, bare.Get("MSA-1"))
	}
	ok, _ := Parse(Ack(m, AA, nil, "ACK3", now))
	if ok.Get("MSA-1") != "AA" || ok.Segment("ERR") != nil {
		t.Errorf("AA ack has ERR or wrong code")
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	_ = WriteFrame(&buf, []byte("one"))
	buf.WriteString("noise")
	_ = WriteFrame(&buf, []byte(strings.Repeat("x", 50)))
	_ = WriteFrame(&buf, []byte("two"))
	buf.Write([]byte{StartBlock, 'a', StartBlock, 'b', EndBlock, CR}) // restarted frame
	buf.Write([]byte{StartBlock, 'c'})                                // cut off
	r := NewFrameReader(&buf, 10)
	if f, err := r.Read(); err != nil || string(f) != "one" {
		t.Fatalf("frame 1 = %q, %v", f, err)
	}
	if f, err := r.Read(); !errors.Is(err, ErrFrameTooLarge) || len(f) != 10 {
		t.Fatalf("frame 2 = %d bytes, %v", len(f), err)
	}
	if f, err := r.Read(); err != nil || string(f) != "two" {
		t.Fatalf("frame 3 = %q, %v", f, err)
	}
	if f, err := r.Read(); err != nil || string(f) != "b" {
		t.Fatalf("frame 4 = %q, %v", f, err)
	}
	if _, err := r.Read(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut-off frame: %v", err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
}

func TestToUTF8(t *testing.T) {
	header := func(cs string) string {
		return "MSH|^~\\&|EPIC|CITYHOSP|CASEFLOW|CARE|20261201083000||ADT^A08|M1|P|2.5.1||||||" + cs + "\rPID|1||X-1||"
	}
	for _, c := range []struct {
		name, in, want, err string
	}{
		{"ISO-8859-1 named", header("8859/1") + "Gon\xe7alves^Ana\r", header("8859/1") + "Gonçalves^Ana\r", ""},
		{"none named, Latin-1 sent", header("") + "Gon\xe7alves^Ana\r", header("") + "Gonçalves^Ana\r", ""},
		{"none named, UTF-8 sent", header("") + "Gonçalves^Ana\r", header("") + "Gonçalves^Ana\r", ""},
		{"UTF-8 named", header("UNICODE UTF-8") + "Gonçalves^Ana\r", header("UNICODE UTF-8") + "Gonçalves^Ana\r", ""},
		{"UTF-8 named, Latin-1 sent", header("UNICODE UTF-8") + "Gon\xe7alves^Ana\r", "", "MSH-18 says UNICODE UTF-8 but the message is not valid UTF-8"},
		{"another set", header("8859/2") + "Gon\xe7alves^Ana\r", "", `MSH-18 character set "8859/2" is not supported`},
		{"another set, ASCII only", header("8859/2") + "Goncalves^Ana\r", header("8859/2") + "Goncalves^Ana\r", ""},
		{"UNICODE named", header("UNICODE") + "Gonçalves^Ana\r", header("UNICODE") + "Gonçalves^Ana\r", ""},
		{"another label, UTF-8 sent", header("UTF-8") + "Gonçalves^Ana\r", header("UTF-8") + "Gonçalves^Ana\r", ""},
		{"8859/1 with a Windows-1252 quote", header("8859/1") + "O\x92Brien^Ana\r", header("8859/1") + "O’Brien^Ana\r", ""},
	} {
		got, err := ToUTF8([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "Gon") {
				t.Errorf("%s: error %v, want %q (and no part of the message)", c.name, err, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// A frame that ends at <FS>, its <CR> not sent (or not yet), is returned
// at once: the sender waits for its ACK.
func TestAFrameEndingAtFSIsReadWithoutWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := NewFrameReader(pr, 1<<20)
	go func() { _, _ = pw.Write([]byte{StartBlock, 'M', 'S', 'H', EndBlock}) }()
	got := make(chan []byte, 1)
	go func() {
		f, _ := r.Read()
		got <- f
	}()
	select {
	case f := <-got:
		if string(f) != "MSH" {
			t.Errorf("frame %q", f)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the frame was not returned until more bytes came")
	}
	// The CR that comes later is skipped before the next frame.
	go func() { _, _ = pw.Write([]byte{CR, StartBlock, 'E', 'V', 'N', EndBlock, CR}) }()
	if f, err := r.Read(); err != nil || string(f) != "EVN" {
		t.Errorf("next frame %q, %v", f, err)
	}
}
