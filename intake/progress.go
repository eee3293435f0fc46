package intake

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress display modes (Options.Progress).
const (
	ProgressAuto  = "auto"  // bar on a terminal, lines otherwise
	progressBar   = "bar"   // one line redrawn in place
	progressLines = "lines" // a plain line every few seconds, for logs
	progressNone  = "none"
)

var progressModes = []string{ProgressAuto, progressBar, progressLines, progressNone}

// progress reports how far a batch of case openings has got, on stderr. It
// never writes to stdout, which belongs to the result.
type progress struct {
	w     io.Writer
	mode  string
	total int
	start time.Time
	every time.Duration

	opened, existed, invalid, failed atomic.Int64
	stopping                         atomic.Bool // no more cases will start: no time left to tell

	mu      sync.Mutex // serialises writes to w
	drawn   bool       // a bar is on the current line
	stop    chan struct{}
	stopped sync.WaitGroup
}

// newProgress resolves mode "auto" against w: a bar when w is a terminal
// (a character device, and TERM is not "dumb"), plain lines otherwise.
func newProgress(w io.Writer, mode string, total int) *progress {
	if mode == ProgressAuto {
		mode = progressLines
		if isTerminal(w) {
			mode = progressBar
		}
	}
	every := 2 * time.Second
	if mode == progressBar {
		every = 200 * time.Millisecond
	}
	return &progress{w: w, mode: mode, total: total, every: every, stop: make(chan struct{})}
}

// terminalColumns is $COLUMNS, or 80.
func terminalColumns() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 20 {
		return n
	}
	return 80
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// begin says what is about to happen and starts the periodic report.
func (p *progress) begin(what string) {
	p.start = time.Now()
	if p.mode == progressNone {
		return
	}
	p.note(what)
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.report()
			}
		}
	}()
}

// done counts one finished case: status is "opened", "already-exists",
// "invalid" or "failed".
func (p *progress) done(status string) {
	switch status {
	case "opened":
		p.opened.Add(1)
	case "already-exists":
		p.existed.Add(1)
	case "invalid":
		p.invalid.Add(1)
	default:
		p.failed.Add(1)
	}
}

// note writes one line of its own, moving a bar out of the way.
func (p *progress) note(line string) {
	if p.mode == progressNone {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, "import: "+line)
}

// finish stops the periodic report and leaves the final state on screen.
func (p *progress) finish() {
	if p.mode == progressNone {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	p.report()
	p.mu.Lock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
	p.mu.Unlock()
}

func (p *progress) report() {
	opened, existed, invalid, failed := p.opened.Load(), p.existed.Load(), p.invalid.Load(), p.failed.Load()
	n := int(opened + existed + invalid + failed)
	elapsed := time.Since(p.start)
	rate := float64(n) / max(elapsed.Seconds(), 0.001)
	left := ""
	if n > 0 && n < p.total && !p.stopping.Load() {
		if d := time.Duration(float64(p.total-n) / rate * float64(time.Second)).Round(time.Second); d > 0 {
			left = fmt.Sprintf(", about %s left", d)
		}
	}
	counts := fmt.Sprintf("opened %d, already existed %d, failed %d", opened, existed, failed)
	if invalid > 0 {
		counts = fmt.Sprintf("opened %d, already existed %d, invalid %d, failed %d", opened, existed, invalid, failed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == progressBar {
		const width = 16
		filled := width
		if p.total > 0 {
			filled = width * n / p.total
		}
		line := fmt.Sprintf("[%s%s] %d/%d  opened %d  existed %d  failed %d  %.0f/s%s", strings.Repeat("=", filled),
			strings.Repeat(" ", width-filled), n, p.total, opened, existed, invalid+failed, rate, strings.TrimPrefix(left, ","))
		// A line longer than the terminal would wrap, and "\r" could not
		// redraw it in place.
		if cols := terminalColumns(); len(line) >= cols {
			line = line[:cols-1]
		}
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "import: %d/%d done (%s), %.1f cases/s%s\n", n, p.total, counts, rate, left)
}

// limiter spaces out starts to at most perSecond a second (0: no limit). It
// is used by one goroutine.
type limiter struct {
	interval time.Duration
	next     time.Time
}

func newLimiter(perSecond float64) *limiter {
	if perSecond <= 0 {
		return &limiter{}
	}
	return &limiter{interval: time.Duration(float64(time.Second) / perSecond)}
}

// wait blocks until the next start is due, or done is closed (false).
func (l *limiter) wait(done <-chan struct{}) bool {
	if l.interval == 0 {
		return true
	}
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
