package schema_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/schema"
)

// lockID is the advisory lock key of schema/lock.go. It must never change:
// binaries of two versions migrating at once must take the same lock.
const lockID int64 = 0x636173656657

// openEmpty opens a fresh database of its own with no schema.
func openEmpty(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", testdb.NewEmpty(t))
	require.NoError(t, err)
	// Registered after testdb's cleanup, so it runs before the database is dropped.
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func appliedCount(t *testing.T, db *sql.DB, version int64) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id = $1 AND is_applied`, version).Scan(&n))
	return n
}

func TestMigrateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)

	applied, err := schema.Migrate(ctx, db)
	require.NoError(t, err)
	require.Equal(t, allVersions(t), applied)
	require.Subset(t, tables(t, db), []string{"case_events", "case_services", "cases", "goose_db_version", "patients", "policies", "tasks", "alerts"})

	applied, err = schema.Migrate(ctx, db)
	require.NoError(t, err)
	require.Empty(t, applied, "a second Migrate applies nothing")
	require.Equal(t, 1, appliedCount(t, db, 1))

	current, latest, err := schema.Version(ctx, db)
	require.NoError(t, err)
	require.Equal(t, latestVersion(t), current)
	require.Equal(t, latestVersion(t), latest)
}

func TestVersionBeforeMigrate(t *testing.T) {
	t.Parallel()
	current, latest, err := schema.Version(context.Background(), openEmpty(t))
	require.NoError(t, err)
	require.Equal(t, int64(0), current)
	require.Equal(t, latestVersion(t), latest)
}

func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testdb.NewEmpty(t)

	const callers = 2
	applied := make([][]int64, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		// Each caller has its own pool, as two processes would.
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		wg.Go(func() {
			<-start
			applied[i], errs[i] = schema.Migrate(ctx, db)
		})
	}
	close(start)
	wg.Wait()

	var all []int64
	for i := range callers {
		require.NoError(t, errs[i], "caller %d", i)
		all = append(all, applied[i]...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	require.Equal(t, allVersions(t), all, "exactly one caller applies each version")

	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Equal(t, 1, appliedCount(t, db, 1))
	current, latest, err := schema.Version(ctx, db)
	require.NoError(t, err)
	require.Equal(t, latest, current)
}

// TestMigrateWaitsForLock holds caseflow's advisory lock from another session
// and checks that Migrate does not touch the database until it is released.
func TestMigrateWaitsForLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)

	holder, err := db.Conn(ctx)
	require.NoError(t, err)
	defer holder.Close()
	var locked bool
	require.NoError(t, holder.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockID).Scan(&locked))
	require.True(t, locked)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	applied, err := schema.Migrate(short, db)
	require.Error(t, err, "Migrate must wait for the lock")
	require.Empty(t, applied)
	// goose may create its own version table without the lock, but no
	// migration runs while another session holds it.
	require.NotContains(t, tables(t, db), "patients", "no migration runs while another session holds the lock")

	var unlocked bool
	require.NoError(t, holder.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, lockID).Scan(&unlocked))
	require.True(t, unlocked)

	applied, err = schema.Migrate(ctx, db)
	require.NoError(t, err)
	require.Equal(t, allVersions(t), applied)
}

// randomDatabase returns the URL of a database that does not exist yet and
// drops it when the test ends.
func randomDatabase(t *testing.T) (dsn, name string) {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	name = "caseflow_test_ensure_" + hex.EncodeToString(b)
	u, err := url.Parse(testdb.ServerURL())
	require.NoError(t, err)
	admin, err := sql.Open("postgres", u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String(), name
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, name := randomDatabase(t)

	created, err := schema.EnsureDatabase(ctx, dsn)
	require.NoError(t, err)
	require.True(t, created)

	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	var current string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&current))
	require.Equal(t, name, current)

	created, err = schema.EnsureDatabase(ctx, dsn)
	require.NoError(t, err)
	require.False(t, created, "an existing database is not created again")
}

func TestEnsureDatabaseBadURL(t *testing.T) {
	t.Parallel()
	const notURL = "DATABASE_URL must be a URL like postgres://user@host:5432/caseflow?sslmode=disable"
	const noName = "DATABASE_URL names no database: add one, e.g. postgres://postgres@127.0.0.1:5432/caseflow?sslmode=disable"
	for _, tc := range []struct {
		dsn, want string
	}{
		{"localhost/caseflow", notURL},
		{"127.0.0.1:5432/caseflow", notURL},
		{"host=127.0.0.1 dbname=caseflow", notURL},
		{"", notURL},
		{"postgres://postgres@127.0.0.1:5432", noName},
		{"postgres://postgres@127.0.0.1:5432/", noName},
		{"postgres://postgres@127.0.0.1:5432/?sslmode=disable", noName},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			created, err := schema.EnsureDatabase(context.Background(), tc.dsn)
			require.EqualError(t, err, tc.want)
			require.False(t, created)
		})
	}
}

func TestVersionOnANeverMigratedDatabaseCreatesNothing(t *testing.T) {
	db := openEmpty(t)
	current, latest, err := schema.Version(context.Background(), db)
	require.NoError(t, err)
	require.Equal(t, int64(0), current)
	require.Equal(t, latestVersion(t), latest)
	require.Empty(t, tables(t, db))
}

func TestEnsureDatabaseConcurrently(t *testing.T) {
	dsn, _ := randomDatabase(t)
	var wg sync.WaitGroup
	results := make([]bool, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = schema.EnsureDatabase(context.Background(), dsn)
		}()
	}
	wg.Wait()
	created := 0
	for i := range results {
		require.NoError(t, errs[i])
		if results[i] {
			created++
		}
	}
	require.Equal(t, 1, created, "exactly one caller creates the database")
}

// allVersions lists the versions of the migration files, in order.
func allVersions(t *testing.T) []int64 {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []int64
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

func latestVersion(t *testing.T) int64 {
	v := allVersions(t)
	return v[len(v)-1]
}
