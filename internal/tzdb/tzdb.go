// Package tzdb is the IANA time zone database built into caseflow, and the
// one place caseflow loads a time zone from.
//
// Workflow code computes end-of-day deadlines, business days and calendar
// months in a program's time zone, and a replay must compute them as the
// first run did, on whichever worker replays it. time.LoadLocation reads
// the host's zone database first (the image's, where it has one, as
// distroless does) and falls back on time/tzdata only where there is none,
// so two workers built alike could disagree after a host's tzdata update.
// Here every binary reads the same database, the one in this package, and
// changing it is a reviewed change like any other rule.
//
// zoneinfo.zip is Go's lib/time/zoneinfo.zip; to update it, copy a newer
// one over it ("make tzdb") and set Version and sha256Digest to match (the test
// checks them).
package tzdb

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Version is the IANA release of zoneinfo.zip.
const Version = "2025c"

// sha256Digest is zoneinfo.zip's digest, so that the file and Version change
// together.
const sha256Digest = "8f55634d05f8bca1f7bc7c69c5933428c69357e0bdf565e5ba224e3f88ff12e8"

//go:embed zoneinfo.zip
var zipData []byte

var (
	openOnce sync.Once
	files    map[string]*zip.File
	openErr  error
	loaded   sync.Map // name -> *time.Location
)

// ErrUnknownZone is the error of a name that is not a zone of the database.
var ErrUnknownZone = errors.New("not a time zone of the IANA database")

// Load returns the time zone of an IANA name (America/New_York) from the
// built-in database; "UTC" is UTC. Unlike time.LoadLocation it never
// reads the host and refuses "" and "Local", whose meaning depends on the
// machine. A loaded zone is kept for the life of the process.
func Load(name string) (*time.Location, error) {
	if name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := loaded.Load(name); ok {
		return l.(*time.Location), nil
	}
	openOnce.Do(func() {
		r, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
		if err != nil {
			openErr = fmt.Errorf("the built-in time zone database: %w", err)
			return
		}
		files = make(map[string]*zip.File, len(r.File))
		for _, f := range r.File {
			files[f.Name] = f
		}
	})
	if openErr != nil {
		return nil, openErr
	}
	f, ok := files[name]
	if !ok || name == "" || name == "Local" {
		return nil, fmt.Errorf("%q: %w", name, ErrUnknownZone)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	l, _ := loaded.LoadOrStore(name, loc)
	return l.(*time.Location), nil
}
