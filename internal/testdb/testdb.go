// Package testdb gives each test its own PostgreSQL database on the local
// server, migrated to the current schema, and drops it when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/caseflow/caseflow/schema"
)

// ServerURL is the PostgreSQL server tests use: CASEFLOW_TEST_POSTGRES, or
// the local server with trust authentication.
func ServerURL() string {
	if u := os.Getenv("CASEFLOW_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// New creates an empty, migrated database and returns its URL. The database
// is dropped when the test ends.
func New(t testing.TB) string {
	t.Helper()
	dsn := NewEmpty(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := schema.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return dsn
}

// NewEmpty creates an empty database with no schema and returns its URL. It
// is dropped when the test ends.
func NewEmpty(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "caseflow_test_" + hex.EncodeToString(b)
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	dsn := u.String()
	if _, err := schema.EnsureDatabase(context.Background(), dsn); err != nil {
		t.Fatalf("create test database (is PostgreSQL running at %s?): %v", ServerURL(), err)
	}
	return dsn
}
