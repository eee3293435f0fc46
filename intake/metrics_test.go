package intake

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestImportMetricsFileIsAValidExposition(t *testing.T) {
	s := Summary{Rows: 9, Opened: 4, AlreadyExisted: 2, Failed: 1, InvalidRows: 2, DurationSeconds: 1.5}
	path := filepath.Join(t.TempDir(), "import.prom")
	if err := s.WriteMetricsFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("not a Prometheus text exposition: %v", err)
	}
	got := map[string]float64{}
	for _, m := range families["caseflow_import_rows"].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	want := map[string]float64{"opened": 4, "already-existed": 2, "failed": 1, "not-started": 0, "invalid": 2, "duplicate": 0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("rows %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if d := families["caseflow_import_duration_seconds"].GetMetric()[0].GetGauge().GetValue(); d != 1.5 {
		t.Errorf("duration = %v", d)
	}
}
