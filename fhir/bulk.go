package fhir

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// NDJSON writes resources as FHIR Bulk Data output: one file per resource
// type (Patient.ndjson, ...), one resource per line, and a manifest.json in
// the shape of a bulk export's completion response. It holds one buffered
// writer per type, never the resources.
type NDJSON struct {
	dir    string
	files  map[string]*os.File
	bufs   map[string]*bufio.Writer
	counts map[string]int
}

// NewNDJSON writes into dir, which it creates (mode 0700: the files are PHI).
func NewNDJSON(dir string) (*NDJSON, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &NDJSON{dir: dir, files: map[string]*os.File{}, bufs: map[string]*bufio.Writer{}, counts: map[string]int{}}, nil
}

// Write appends one resource to its type's file.
func (w *NDJSON) Write(r Resource) error {
	t := r.Type()
	b, ok := w.bufs[t]
	if !ok {
		f, err := os.OpenFile(filepath.Join(w.dir, t+".ndjson"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		w.files[t], b = f, bufio.NewWriter(f)
		w.bufs[t] = b
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Ref(), err)
	}
	line = append(line, '\n')
	if _, err := b.Write(line); err != nil {
		return err
	}
	w.counts[t]++
	return nil
}

// Output is one file of the manifest.
type Output struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
}

// Manifest is the bulk export's completion response.
type Manifest struct {
	TransactionTime     string   `json:"transactionTime"`
	Request             string   `json:"request"`
	RequiresAccessToken bool     `json:"requiresAccessToken"`
	Output              []Output `json:"output"`
	Error               []Output `json:"error"`
}

// Close flushes and closes the files and writes manifest.json, naming
// request (what was asked, e.g. "caseflow export --since 2026-11-01").
func (w *NDJSON) Close(request string, at time.Time) (Manifest, error) {
	m := Manifest{TransactionTime: at.UTC().Format(time.RFC3339), Request: request, Output: []Output{}, Error: []Output{}}
	var first error
	types := make([]string, 0, len(w.files))
	for t := range w.files {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		if err := w.bufs[t].Flush(); err != nil && first == nil {
			first = err
		}
		if err := w.files[t].Close(); err != nil && first == nil {
			first = err
		}
		m.Output = append(m.Output, Output{Type: t, URL: t + ".ndjson", Count: w.counts[t]})
	}
	if first != nil {
		return m, first
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, os.WriteFile(filepath.Join(w.dir, "manifest.json"), append(b, '\n'), 0o600)
}
