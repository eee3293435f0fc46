package fhir

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// NDJSON writes resources as FHIR Bulk Data output: one file per resource
// type (Patient.ndjson, ...), one resource per line, and a manifest.json in
// the shape of a bulk export's completion response. It holds one buffered
// writer per type, never the resources.
//
// The files are written under temporary names in the directory (hidden,
// .Patient.ndjson.*.tmp, mode 0600) and take their names only when Close
// succeeds: the manifest last, so a manifest.json always describes a
// complete export. Abort, or a Close that fails, removes the temporary
// files and writes no manifest.
type NDJSON struct {
	dir    string
	files  map[string]*os.File
	bufs   map[string]*bufio.Writer
	counts map[string]int
	done   bool
}

// NewNDJSON writes into dir, which it creates (mode 0700: the files are PHI)
// if it does not exist.
func NewNDJSON(dir string) (*NDJSON, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &NDJSON{dir: dir, files: map[string]*os.File{}, bufs: map[string]*bufio.Writer{}, counts: map[string]int{}}, nil
}

// Write appends one resource to its type's file.
func (w *NDJSON) Write(r Resource) error {
	if w.done {
		return errors.New("NDJSON writer already closed")
	}
	t := r.Type()
	b, ok := w.bufs[t]
	if !ok {
		f, err := os.CreateTemp(w.dir, "."+t+".ndjson.*.tmp") // mode 0600
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

// Abort closes and removes the temporary files: nothing of the export is
// left and what the directory held before stays as it was. It is a no-op
// after Close.
func (w *NDJSON) Abort() {
	if w.done {
		return
	}
	w.done = true
	for _, f := range w.files {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
}

// Close flushes the files to disk and moves them into place with
// manifest.json, naming request (what was asked, e.g. "caseflow export
// --since 2026-11-01") and at, the transactionTime (a client asks the next
// export for changes since it). The manifest of an earlier export is removed
// first and the new one written last. Files of an earlier export named for a
// resource type (Types) this one has none of are removed, so the directory
// holds what the manifest lists; other files are left alone. On error no
// manifest is written and the temporary files are removed; the earlier
// export stays as it was unless the error came while the files were being
// renamed (then the directory has no manifest.json, the sign of an
// incomplete export).
func (w *NDJSON) Close(request string, at time.Time) (Manifest, error) {
	m := Manifest{TransactionTime: at.UTC().Format(time.RFC3339), Request: request, Output: []Output{}, Error: []Output{}}
	if w.done {
		return m, errors.New("NDJSON writer already closed")
	}
	types := make([]string, 0, len(w.files))
	for t := range w.files {
		types = append(types, t)
	}
	slices.Sort(types)
	var tmpManifest string
	fail := func(err error) (Manifest, error) {
		w.Abort()
		if tmpManifest != "" {
			_ = os.Remove(tmpManifest)
		}
		return m, err
	}
	for _, t := range types {
		f := w.files[t]
		if err := w.bufs[t].Flush(); err != nil {
			return fail(fmt.Errorf("write %s: %w", f.Name(), err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("write %s: %w", f.Name(), err))
		}
		// a file the export replaces must be a file, checked before
		// anything moves, so that a failure leaves the earlier export
		if err := replaceable(filepath.Join(w.dir, t+".ndjson")); err != nil {
			return fail(err)
		}
		m.Output = append(m.Output, Output{Type: t, URL: t + ".ndjson", Count: w.counts[t]})
	}
	manifest := filepath.Join(w.dir, "manifest.json")
	if err := replaceable(manifest); err != nil {
		return fail(err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(err)
	}
	if tmpManifest, err = writeTemp(w.dir, "manifest.json", append(b, '\n')); err != nil {
		return fail(err)
	}
	if err := os.Remove(manifest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	for _, t := range types {
		f := w.files[t]
		if err := f.Close(); err != nil {
			return fail(fmt.Errorf("write %s: %w", f.Name(), err))
		}
		if err := os.Rename(f.Name(), filepath.Join(w.dir, t+".ndjson")); err != nil {
			return fail(err)
		}
	}
	for _, t := range Types {
		if w.files[t] != nil {
			continue
		}
		stale := filepath.Join(w.dir, t+".ndjson")
		if fi, err := os.Lstat(stale); err == nil && fi.Mode().IsRegular() {
			if err := os.Remove(stale); err != nil {
				return fail(err)
			}
		}
	}
	if err := os.Rename(tmpManifest, manifest); err != nil {
		return fail(err)
	}
	w.done = true
	syncDir(w.dir)
	return m, nil
}

// WriteFile writes data to path as a PHI file: to a temporary file (mode
// 0600) in the same directory, flushed to disk, then renamed over path, so
// that path is either as it was or complete, and always 0600 however it was
// before.
func WriteFile(path string, data []byte) error {
	if err := replaceable(path); err != nil {
		return err
	}
	tmp, err := writeTemp(filepath.Dir(path), filepath.Base(path), data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// writeTemp writes data to a new hidden file of dir named after name, mode
// 0600, and returns its path.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// replaceable reports an error unless path is missing or a file (or a link)
// a rename can replace.
func replaceable(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// syncDir flushes a directory's entries (the renames) to disk, where the
// system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
