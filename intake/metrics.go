package intake

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteMetrics writes the summary as a Prometheus text exposition: the rows
// of this import by result, for node_exporter's textfile collector (an
// import is a short-lived batch job, so nothing scrapes it while it runs).
// Counts only: no row content, no ids.
func (s *Summary) WriteMetrics(w io.Writer) error {
	_, err := fmt.Fprintf(w, `# HELP caseflow_import_rows The rows of the last "caseflow case import", by result.
# TYPE caseflow_import_rows gauge
caseflow_import_rows{result="opened"} %d
caseflow_import_rows{result="already-existed"} %d
caseflow_import_rows{result="failed"} %d
caseflow_import_rows{result="not-started"} %d
caseflow_import_rows{result="invalid"} %d
caseflow_import_rows{result="duplicate"} %d
# HELP caseflow_import_duration_seconds How long the last import took.
# TYPE caseflow_import_duration_seconds gauge
caseflow_import_duration_seconds %g
`, s.Opened, s.AlreadyExisted, s.Failed, s.NotStarted, s.InvalidRows, s.DuplicateRows, s.DurationSeconds)
	return err
}

// WriteMetricsFile writes WriteMetrics to path atomically (a temporary file
// in the same folder, then a rename), so a collector never reads half a
// file.
func (s *Summary) WriteMetricsFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".caseflow-import-*.prom")
	if err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	defer os.Remove(f.Name())
	if err := s.WriteMetrics(f); err != nil {
		f.Close()
		return fmt.Errorf("--metrics-file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return nil
}
