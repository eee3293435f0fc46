package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"
)

// callTask is a call task of case c-1 as a step writes it.
func callTask(status, outcome string) string {
	return fmt.Sprintf(`[{"case_id": "c-1", "task_id": "call-1", "kind": "call", "description": "call the client",
		"owner": "cm-ana", "started_at": "2025-03-14T09:02:00Z", "due_at": "2025-03-15T09:00:00Z",
		"status": %q, "outcome": %q, "clock": false}]`, status, outcome)
}

func taskStatus(t *testing.T, db *sql.DB, taskID string) string {
	t.Helper()
	var status string
	err := db.QueryRow(`SELECT status FROM tasks WHERE case_id = 'c-1' AND task_id = $1`, taskID).Scan(&status)
	if err == sql.ErrNoRows {
		return "(none)"
	}
	require.NoError(t, err)
	return status
}

// Migration 15: each step's task writes are kept, and a reset restores the
// tasks a superseded step wrote. A task written before the migration is
// kept as it stood then, the earliest state known, so a reset after it
// restores that and never removes the task.
func TestMigration15KeepsTaskWritesForAReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 14)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO patients (patient_id, external_ref) VALUES ('p-1', 'p-1')`)
	require.NoError(t, err)

	// At version 14: the call is opened by step 2.
	recordStep(t, db, "c-1", "run-1", 1, "open")
	recordStepWith(t, db, "c-1", "run-1", 2, "note", callTask("open", ""))
	_, err = p.UpTo(ctx, 15)
	require.NoError(t, err)
	var seeded int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM task_writes WHERE case_id = 'c-1' AND run_id = '' AND seq = 0
		AND task->>'status' = 'open' AND (task->>'started_at')::timestamptz = '2025-03-14T09:02:00Z'`).Scan(&seeded))
	require.Equal(t, 1, seeded, "the task as it stood is its first write")

	// At version 15: step 3 closes the call and step 4 opens another task;
	// a reset to after event 2 restores the call and removes the other.
	recordStepWith(t, db, "c-1", "run-1", 3, "note", callTask("done", "reached"))
	recordStepWith(t, db, "c-1", "run-1", 4, "note", `[{"case_id": "c-1", "task_id": "lost-to-contact-1", "kind": "lost-to-contact",
		"description": "decide", "owner": "sup-bo", "started_at": "2025-03-14T09:04:00Z", "due_at": "2025-03-16T09:00:00Z",
		"status": "open", "outcome": "", "clock": false}]`)
	require.Equal(t, "done", taskStatus(t, db, "call-1"))
	recordStep(t, db, "c-1", "run-2", 3, "note")
	require.Equal(t, "open", taskStatus(t, db, "call-1"), "as the live steps left it")
	require.Equal(t, "(none)", taskStatus(t, db, "lost-to-contact-1"), "only a superseded step wrote it")
	// A reset to before the task was written keeps it as it stood at the
	// migration: no write before then is known.
	recordStep(t, db, "c-1", "run-3", 2, "note")
	require.Equal(t, "open", taskStatus(t, db, "call-1"))

	// Down restores 00013's function and drops the writes; Up again.
	_, err = p.DownTo(ctx, 14)
	require.NoError(t, err)
	recordStepWith(t, db, "c-1", "run-3", 3, "note", callTask("done", "reached"))
	require.Equal(t, "done", taskStatus(t, db, "call-1"))
	_, err = p.Up(ctx)
	require.NoError(t, err)
}
