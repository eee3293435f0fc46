package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/workflows"
)

// humanDuration writes a duration the way staff say it: "7d", "36h",
// "90m", "1m30s"; never "1m29.978108314s". Durations of a minute or more
// are rounded to the second, shorter ones to the millisecond.
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Minute || d <= -time.Minute:
		d = d.Round(time.Second)
	case d >= time.Second || d <= -time.Second:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	return care.FormatDuration(d)
}

// formatRange writes the window from..to: dates when it spans a day or more,
// dates and times when it is shorter.
func formatRange(from, to time.Time) string {
	if to.Sub(from) >= 24*time.Hour && isMidnight(from) && isMidnight(to) {
		return from.Local().Format(time.DateOnly) + " to " + to.Local().Format(time.DateOnly)
	}
	if to.Sub(from) < 24*time.Hour && sameDay(from, to) {
		return formatTime(from) + " to " + to.Local().Format("15:04")
	}
	return formatTime(from) + " to " + formatTime(to)
}

func isMidnight(t time.Time) bool {
	t = t.Local()
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0
}

func sameDay(a, b time.Time) bool {
	return a.Local().Format(time.DateOnly) == b.Local().Format(time.DateOnly)
}

// dueMark is " (overdue)" for a due time that has passed, as in the
// worklist.
func dueMark(due time.Time, now time.Time) string {
	if !due.IsZero() && due.Before(now) {
		return " (overdue)"
	}
	return ""
}

// renderPause prints the pause of a paused case, right under its phase.
func renderPause(row func(k, v string), st workflows.Status) {
	if !st.Paused {
		return
	}
	v := "paused since " + formatTime(st.PausedAt)
	if st.PauseReason != "" {
		v += ": " + st.PauseReason
	}
	row("Clocks", v+` (resume with "caseflow case resume `+st.Case.ID+` --reason ...")`)
}

// renderOpenItems prints a case's open items with the task ids that
// "case done", "case call" and "case appointment" take.
func (a *app) renderOpenItems(w *tabwriter.Writer, st workflows.Status) {
	fmt.Fprintln(a.out, "\nOpen items")
	if len(st.OpenItems) == 0 {
		fmt.Fprintln(a.out, "  none")
		return
	}
	now := time.Now()
	for _, it := range st.OpenItems {
		due := "due " + formatTime(it.Due) + dueMark(it.Due, now)
		if st.Paused && it.TaskID != "" {
			due += " (paused)"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", orDash(it.TaskID), it.Kind, it.Description, due, it.Owner)
	}
	w.Flush()
}

// renderTimeline prints the timeline the workflow keeps (the last
// workflows.TimelineLimit entries) and says when it is cut.
func (a *app) renderTimeline(w *tabwriter.Writer, st workflows.Status) {
	fmt.Fprintln(a.out, "\nTimeline")
	for _, e := range st.Timeline {
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, formatTime(e.At), e.Actor, e.Action, e.Phase, e.Summary)
	}
	w.Flush()
	if n := len(st.Timeline); n > 0 && st.Seq > n {
		fmt.Fprintf(a.out, "  %d of %d entries; see \"caseflow case history %s\" for all\n", n, st.Seq, st.Case.ID)
	}
}

// maxNoteChars is how much of a note "case show" prints; the whole note is
// in "case history --output json".
const maxNoteChars = 160

// notesTimeout bounds the wait for the notes: the rest of "case show" is
// already there.
const notesTimeout = 5 * time.Second

// renderNotes prints the notes staff wrote (screening, assessment,
// contacts, calls, tasks, closing) from the audit trail in PostgreSQL. The
// workflow keeps only the latest of each record, so the trail is the
// source; when PostgreSQL cannot be reached the section says so and the
// rest of "case show" stands.
func (a *app) renderNotes(ctx context.Context, w *tabwriter.Writer, caseID string) {
	type noted struct {
		Notes string `json:"notes"`
	}
	var rows [][3]string
	ctx, cancel := context.WithTimeout(ctx, min(a.timeout, notesTimeout))
	defer cancel()
	store, err := a.db(ctx)
	if err == nil {
		var evs []care.Event
		evs, err = store.Events(ctx, caseID)
		for _, e := range evs {
			raw, ok := e.Detail.(json.RawMessage)
			if !ok || len(raw) == 0 {
				continue
			}
			var n noted
			if json.Unmarshal(raw, &n) != nil || strings.TrimSpace(n.Notes) == "" {
				continue
			}
			rows = append(rows, [3]string{fmt.Sprint(e.Seq), formatTime(e.At), e.Action + "\t" + shorten(n.Notes, maxNoteChars)})
		}
	}
	if err != nil {
		fmt.Fprintf(a.out, "\nNotes\n  not available: %s\n", oneLine(err))
		return
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(a.out, "\nNotes")
	for _, r := range rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", r[0], r[1], r[2])
	}
	w.Flush()
}

// shorten keeps s on one line and at most n characters.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// defaultUIURL is the Temporal Web UI of "make run".
const defaultUIURL = "http://localhost:8233"

// webURL is the address of a case's workflow in the Temporal Web UI:
// CASEFLOW_UI_URL (default http://localhost:8233) and TEMPORAL_NAMESPACE
// (default "default").
func webURL(caseID string) string {
	base := strings.TrimRight(envOr("CASEFLOW_UI_URL", defaultUIURL), "/")
	ns := envOr("TEMPORAL_NAMESPACE", "default")
	return base + "/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(care.WorkflowID(caseID))
}

// WebLink is what "case show --web" prints with --output json.
type WebLink struct {
	CaseID string `json:"case_id"`
	URL    string `json:"url"`
}

// printWeb prints the Web UI address of a case.
func (a *app) printWeb(caseID string) error {
	link := WebLink{CaseID: caseID, URL: webURL(caseID)}
	if a.json() {
		return a.printJSON(link)
	}
	_, err := fmt.Fprintln(a.out, link.URL)
	return err
}
