package schema_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"
)

// recordStep calls caseflow_record_step as the store does, for a step that
// carries no tasks.
func recordStep(t *testing.T, db *sql.DB, caseID, run string, seq int, action string) {
	t.Helper()
	recordStepWith(t, db, caseID, run, seq, action, "[]")
}

// recordStepWith is recordStep for a step that writes tasks (a JSON array
// as the store sends it).
func recordStepWith(t *testing.T, db *sql.DB, caseID, run string, seq int, action, tasks string) {
	t.Helper()
	opened := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	at := opened.Add(time.Duration(seq) * time.Minute)
	var res string
	require.NoError(t, db.QueryRow(`SELECT caseflow_record_step($1, 'p-1', 'chf', 'clinical', 'cm-ana', 'referral',
		'follow-up', '', 0, '', '', $2, NULL, NULL, $3::integer, false,
		$4, $3::integer, $6::timestamptz, 'cm-ana', $5, 'follow-up', 'follow-up', $5, '{}'::jsonb,
		'system', 'reset', $7::jsonb)`, caseID, opened, seq, run, action, at, tasks).Scan(&res), "%s %s %d", caseID, run, seq)
}

func fromSeqs(t *testing.T, db *sql.DB, caseID string) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT run_id, from_seq FROM superseded_runs WHERE case_id = $1`, caseID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var run string
		var seq int
		require.NoError(t, rows.Scan(&run, &seq))
		out[run] = seq
	}
	require.NoError(t, rows.Err())
	return out
}

// Migration 13: a reset to before an earlier reset's point also supersedes
// the steps the run the earlier reset replaced had from there; the resets
// recorded before it are repaired.
func TestMigration13SupersedesFromAnEarlierReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 12)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO patients (patient_id, external_ref) VALUES ('p-1', 'p-1')`)
	require.NoError(t, err)
	twoResets := func(caseID string) {
		recordStep(t, db, caseID, "run-1", 1, "open")
		recordStep(t, db, caseID, "run-1", 2, "contact")
		recordStep(t, db, caseID, "run-1", 3, "note")
		recordStep(t, db, caseID, "run-2", 3, "note")    // reset 1: run-1 from 3
		recordStep(t, db, caseID, "run-3", 2, "contact") // reset 2: run-2 from 2, and run-1 too
	}
	oneLaterReset := func(caseID string) {
		for seq := 1; seq <= 4; seq++ {
			recordStep(t, db, caseID, "run-1", seq, "note")
		}
		recordStep(t, db, caseID, "run-2", 2, "note") // run-1 from 2
		recordStep(t, db, caseID, "run-2", 3, "note")
		recordStep(t, db, caseID, "run-3", 3, "note") // run-2 from 3; run-1 stays from 2
	}

	// Recorded at version 12: run-1's step 2 stays live.
	twoResets("c-old")
	oneLaterReset("c-old-later")
	require.Equal(t, map[string]int{"run-1": 3, "run-2": 2}, fromSeqs(t, db, "c-old"))

	_, err = p.UpTo(ctx, 13)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"run-1": 2, "run-2": 2}, fromSeqs(t, db, "c-old"), "the trail's resets repaired")
	require.Equal(t, map[string]int{"run-1": 2, "run-2": 3}, fromSeqs(t, db, "c-old-later"), "a later reset lowers nothing")

	// Recorded at version 13.
	twoResets("c-new")
	require.Equal(t, map[string]int{"run-1": 2, "run-2": 2}, fromSeqs(t, db, "c-new"))
	var live int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM case_events e WHERE case_id = 'c-new' AND action = 'contact'
		AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id AND e.seq >= r.from_seq)`).Scan(&live))
	require.Equal(t, 1, live, "only run-3's contact is live")
	oneLaterReset("c-new-later")
	require.Equal(t, map[string]int{"run-1": 2, "run-2": 3}, fromSeqs(t, db, "c-new-later"))

	// Down restores 00011's function; Up again.
	_, err = p.DownTo(ctx, 12)
	require.NoError(t, err)
	_, err = p.Up(ctx)
	require.NoError(t, err)
}
