// Package schema holds caseflow's PostgreSQL migrations, embedded in the
// binaries, and applies them.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every pending migration to db and returns the versions it
// applied. Concurrent callers are serialised by a PostgreSQL advisory lock.
func Migrate(ctx context.Context, db *sql.DB) ([]int64, error) {
	p, err := provider(db, true)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Version returns the newest applied migration and the newest one embedded.
// It only reads: it takes no lock (binaries check it at every start, several
// at once) and creates nothing on a database that was never migrated.
func Version(ctx context.Context, db *sql.DB) (current, latest int64, err error) {
	p, err := provider(db, false)
	if err != nil {
		return 0, 0, err
	}
	if sources := p.ListSources(); len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	var table sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
		return 0, 0, err
	}
	if !table.Valid {
		return 0, latest, nil
	}
	err = db.QueryRowContext(ctx, `SELECT COALESCE(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&current)
	return current, latest, err
}

func provider(db *sql.DB, locked bool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if !locked {
		return goose.NewProvider(goose.DialectPostgres, db, sub)
	}
	locker, err := newLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
}

// EnsureDatabase creates the database named in dsn if it does not exist yet,
// connecting to the server's "postgres" database to do so. It reports whether
// it created the database.
func EnsureDatabase(ctx context.Context, dsn string) (bool, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return false, errors.New("DATABASE_URL must be a URL like postgres://user@host:5432/caseflow?sslmode=disable")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return false, errors.New("DATABASE_URL names no database: add one, e.g. postgres://postgres@127.0.0.1:5432/caseflow?sslmode=disable")
	}
	admin := *u
	admin.Path = "/postgres"
	db, err := sql.Open("postgres", admin.String())
	if err != nil {
		return false, err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, err
	}
	if exists {
		return false, nil
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		var pqErr *pq.Error
		// Created by a concurrent caller: PostgreSQL reports it as a duplicate
		// database or, in a tighter race, as a unique violation on pg_database.
		if errors.As(err, &pqErr) && (pqErr.Code == "42P04" || pqErr.Code == "23505") {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
