package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/bench"
)

// TestBenchmarkSmoke runs every scenario of the benchmark suite (make bench)
// at a tiny size: its own dev server, database, payer simulator and workers,
// as the full run. It checks that the table has every scenario with sane
// numbers, not what the numbers are: docs/BENCHMARKS.md has those.
func TestBenchmarkSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev server of its own")
	}
	build := exec.Command("go", "build", "-o", binDir+"/", "./bench/cmd/caseflow-bench")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build caseflow-bench: %s", out)

	temporalBin := os.Getenv("CASEFLOW_TEMPORAL_BIN")
	if temporalBin == "" {
		temporalBin = filepath.Join(root, "bin", "temporal")
	}
	var progress bytes.Buffer
	cfg := bench.Config{
		Root: root, BinDir: binDir, TemporalBin: temporalBin, BenchBin: filepath.Join(binDir, "caseflow-bench"),
		Persistence: "file", SQLitePragmas: []string{"journal_mode=WAL"},
		Cases: 30, Concurrency: 8, Open: 10, RTCases: 2, Updates: 10,
		SteadyRate: 5, Cadence: time.Second, Duration: 2 * time.Second,
		Wave: 30, YearDays: 14, Day: 150 * time.Millisecond, Replays: 3, Settle: 300 * time.Millisecond, ImportRows: 2000,
		Progress: &progress, Command: "go test ./e2e -run TestBenchmarkSmoke",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	rep, err := bench.Run(ctx, cfg)
	require.NoError(t, err, "progress:\n%s", &progress)
	var table bytes.Buffer
	rep.WriteText(&table)
	t.Logf("smoke run in %s\n%s", time.Since(start).Round(time.Second), &table)
	require.False(t, rep.Failed(), "a scenario failed:\n%s\nprogress:\n%s", &table, &progress)

	for _, s := range bench.Scenarios {
		found := false
		for _, r := range rep.Rows {
			found = found || bench.ScenarioOf(r.ID) == s
		}
		require.True(t, found, "no row for scenario %s:\n%s", s, &table)
	}
	positive := func(id string, keys ...string) {
		t.Helper()
		r := rep.Row(id)
		require.NotNil(t, r, "row %s", id)
		for _, k := range keys {
			require.Greater(t, r.Values[k], 0.0, "row %s: %s = %v", id, k, r.Values[k])
		}
		require.NotEmpty(t, r.Caseflow)
		require.NotEmpty(t, r.Result)
	}
	positive("1", "cases_per_s", "baseline_per_s", "ratio")
	positive("2", "p50_ms", "p99_ms", "baseline_p50_ms", "baseline_p99_ms")
	positive("3a", "calls", "ran_p99_ms", "baseline_ran_p99_ms")
	positive("3b", "drain_s", "baseline_drain_s", "wave")
	positive("4a", "events", "bytes")
	positive("4b", "runs", "events_per_run_max", "calls")
	positive("4c", "events_per_call", "baseline_events")
	positive("5a", "rss", "baseline_rss", "cached")
	positive("5b", "rss", "cached")
	positive("6", "mean_ms", "events", "baseline_mean_ms")
	positive("8", "dry_small_peak", "dry_peak", "dry_ratio")
	require.Equal(t, 2000.0, rep.Row("8").Values["rows"])
	require.Equal(t, 10.0, rep.Row("3a").Values["calls"], "5 calls a second for 2 s")
	require.Equal(t, 30.0, rep.Row("3b").Values["wave"])
	for _, r := range rep.Rows {
		require.False(t, strings.HasPrefix(r.Result, "MISSED (setup overran"), "row %s: %s", r.ID, r.Result)
	}
	md := rep.Markdown()
	require.Contains(t, md, "| 3b |")
	require.Contains(t, md, "SQLite file")
}
