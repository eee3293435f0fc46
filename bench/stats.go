package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// dist summarises a sample of durations.
type dist struct {
	n                   int
	p50, p99, max, mean time.Duration
}

func summarize(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return dist{n: len(s), p50: percentile(s, 50), p99: percentile(s, 99), max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

// percentile of a sorted sample, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms formats a duration in milliseconds, or seconds from 10 s up.
func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// secs formats a duration in seconds.
func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func (d dist) latencies() string {
	return fmt.Sprintf("p50 %s · p99 %s · max %s", ms(d.p50), ms(d.p99), ms(d.max))
}

// kb formats bytes as KiB or MiB.
func kb(b float64) string {
	switch {
	case b >= 10<<20:
		return fmt.Sprintf("%.0f MiB", b/(1<<20))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.1f KiB", b/(1<<10))
}

// count formats an integer with thousands separators.
func count[T int | int64](n T) string {
	s := fmt.Sprint(int64(n))
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.Inf(1)
	}
	return a / b
}

func metIf(ok bool, detail string) string {
	if ok {
		return ResultMet + " (" + detail + ")"
	}
	return ResultMissed + " (" + detail + ")"
}
