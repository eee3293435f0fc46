package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caseflow/caseflow/intake"
)

// flatRatio is how much the import process's peak memory may grow from an
// early point of an import to its end and still count as flat (scenario 8).
const flatRatio = 1.25

// memSampler follows the resident memory of a process from /proc while it
// runs: VmHWM is the kernel's own peak of VmRSS, so that a sample every
// few milliseconds misses no peak.
type memSampler struct {
	pid  int
	mu   sync.Mutex
	peak int64 // VmHWM at the last sample, bytes
	stop chan struct{}
	done chan struct{}
}

func sampleMemory(pid int) *memSampler {
	s := &memSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *memSampler) sample() {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return // exited
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"VmHWM:", "VmRSS:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						s.mu.Lock()
						s.peak = max(s.peak, kb*1024)
						s.mu.Unlock()
					}
				}
			}
		}
	}
}

// Peak is the highest resident memory seen so far.
func (s *memSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// finish stops sampling (call it once the process has exited; the last
// sample it took while the process lived holds the peak).
func (s *memSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.Peak()
}

// importMem is the memory of scenario 1's import, for scenario 8: peak RSS
// by the time 10 % of the rows were done, and by the end.
type importMem struct {
	rows            int
	early, end      int64
	earlyDone       int
	measured, valid bool
}

// progressLine is a line of "case import --progress lines".
var progressLine = regexp.MustCompile(`^import: (\d+)/(\d+) done`)

// watchImportProgress reads the import's stderr: it logs each line, and
// notes the peak memory when the first progress line reports 10 % done.
func (e *env) watchImportProgress(r io.Reader, s *memSampler, m *importMem) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		e.logf("1:   import: %s", line)
		if mm := progressLine.FindStringSubmatch(line); mm != nil && m.earlyDone == 0 {
			done, _ := strconv.Atoi(mm[1])
			total, _ := strconv.Atoi(mm[2])
			if total > 0 && done*10 >= total {
				m.early, m.earlyDone = s.Peak(), done
			}
		}
	}
}

// writeCandidates writes a CSV file of n valid rows for manager.
func writeCandidates(path, prefix string, n int, manager string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString("patient_ref,program,source,model,manager\n")
	for i := range n {
		fmt.Fprintf(w, "%s-%07d,complex-case,claims,clinical,%s\n", prefix, i, manager)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dryRunPeak runs "caseflow case import --dry-run" on a generated file of
// rows rows and returns the process's peak resident memory and how long
// it took. A dry run reads and checks every row as a real import does
// before it starts any case, and connects to nothing.
func (e *env) dryRunPeak(ctx context.Context, rows int) (int64, time.Duration, error) {
	csv := filepath.Join(e.tmp, fmt.Sprintf("memory-%d.csv", rows))
	if _, err := os.Stat(csv); err != nil {
		if err := writeCandidates(csv, "BENCH-MEM", rows, intakeManager); err != nil {
			return 0, 0, err
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.cfg.BinDir, "caseflow"), "case", "import", csv, "--dry-run", "--output", "json")
	cmd.Env = e.environ("")
	cmd.Dir = e.cfg.Root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	s := sampleMemory(cmd.Process.Pid)
	runErr := cmd.Wait()
	elapsed := time.Since(t0)
	peak := s.finish()
	var sum intake.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || runErr != nil || sum.ToOpen != rows {
		return 0, 0, fmt.Errorf("case import --dry-run of %d rows: %v (to open %d); stderr %q", rows, runErr, sum.ToOpen, errOut.String())
	}
	return peak, elapsed, nil
}

// importMemory is scenario 8: does "caseflow case import" stream its file,
// its memory flat however many rows it has? Importing 100,000 cases end to
// end would take longer than the whole benchmark on 2 cores, so it
// measures what grows with the rows in two parts: the reading and checking
// of every row, by --dry-run on the full-size file against a tenth of it;
// and the starting of cases, by scenario 1's real import, from 10 % of its
// rows done to the end.
func (e *env) importMemory(ctx context.Context) error {
	n := e.cfg.ImportRows
	small := max(1, n/10)
	e.logf("8: caseflow case import --dry-run of %d rows and of %d rows, RSS sampled from /proc", small, n)
	// The peak of a process that runs a second depends on when its garbage
	// collector ran: the median of three runs of each.
	median := func(rows int) (int64, time.Duration, error) {
		var peaks []int64
		var took []time.Duration
		for range 3 {
			p, t, err := e.dryRunPeak(ctx, rows)
			if err != nil {
				return 0, 0, err
			}
			peaks, took = append(peaks, p), append(took, t)
		}
		slices.Sort(peaks)
		slices.Sort(took)
		return peaks[1], took[1], nil
	}
	smallPeak, smallTook, err := median(small)
	if err != nil {
		return err
	}
	bigPeak, bigTook, err := median(n)
	if err != nil {
		return err
	}
	dry := ratio(float64(bigPeak), float64(smallPeak))
	desc := fmt.Sprintf("`--dry-run` (every row read and checked; median of 3 runs): peak RSS %s at %s rows (%s), %s at %s rows (%s): %.2f× (%.0f bytes a row)",
		kb(float64(smallPeak)), count(small), secs(smallTook), kb(float64(bigPeak)), count(n), secs(bigTook), dry, float64(bigPeak-smallPeak)/float64(max(1, n-small)))
	values := map[string]float64{"rows": float64(n), "dry_small_peak": float64(smallPeak), "dry_peak": float64(bigPeak), "dry_ratio": dry}
	ok := dry <= flatRatio
	m := e.importMem
	if m.measured && m.valid {
		r := ratio(float64(m.end), float64(m.early))
		perRow := float64(m.end-m.early) / float64(m.rows-m.earlyDone)
		desc += fmt.Sprintf("<br>real import (scenario 1, %s rows started): peak RSS %s by %s rows done (%.0f %%), %s at the end: %.2f× (%.0f bytes a row from there)",
			count(m.rows), kb(float64(m.early)), count(m.earlyDone), 100*float64(m.earlyDone)/float64(m.rows), kb(float64(m.end)), r, perRow)
		values["import_early_peak"], values["import_peak"], values["import_ratio"], values["import_bytes_per_row"] = float64(m.early), float64(m.end), r, perRow
		ok = ok && r <= flatRatio
	} else if m.measured {
		desc += "<br>real import (scenario 1): too short for a progress line at 10 % of its rows; not measured"
	}
	e.rep.add(Row{ID: "8", Scenario: fmt.Sprintf("Import memory: RSS of the `caseflow case import` process (sampled from /proc) on a %s-row file, and over scenario 1's import", count(n)),
		Caseflow: desc, Baseline: "-", Goal: fmt.Sprintf("flat: peak at 100 %% of rows ≤ %.2f× the peak at 10 %%", flatRatio),
		Result: metIf(ok, fmt.Sprintf("%.2f×", max(dry, values["import_ratio"]))), Values: values})
	e.logf("8: %s", strings.ReplaceAll(desc, "<br>", "; "))
	return nil
}
