// Package configtest opens real, migrated stores for tests: a SQLite file
// in the test's temp directory always, and a fresh PostgreSQL database when
// OMSTIL_TEST_POSTGRES names a server (a postgres:// URL whose user may
// create databases).
package configtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omstil/omstil/config"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for creating test databases
)

// Backend is one store under test.
type Backend struct {
	Name  string // "sqlite" or "postgres"
	DSN   string
	Store *config.Store
}

// SQLite returns a migrated store on a new SQLite file.
func SQLite(t testing.TB, opts config.Options) *config.Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "omstil.db"), opts)
}

// Backends returns a migrated SQLite store and, when OMSTIL_TEST_POSTGRES
// is set, a migrated store on a new PostgreSQL database. When it is not
// set the test log says so, once per test.
func Backends(t testing.TB, opts config.Options) []Backend {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "omstil.db")
	out := []Backend{{Name: "sqlite", DSN: dsn, Store: open(t, dsn, opts)}}
	if pg := PostgresDSN(t); pg != "" {
		out = append(out, Backend{Name: "postgres", DSN: pg, Store: open(t, pg, opts)})
	}
	return out
}

// PostgresDSN creates a fresh database on the server named by
// OMSTIL_TEST_POSTGRES, drops it when the test ends, and returns its URL.
// It returns "" (and logs why) when the variable is not set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("OMSTIL_TEST_POSTGRES")
	if base == "" {
		t.Log("OMSTIL_TEST_POSTGRES not set: PostgreSQL part of this test not run")
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("OMSTIL_TEST_POSTGRES: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "omstil_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("postgres: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}

func open(t testing.TB, dsn string, opts config.Options) *config.Store {
	t.Helper()
	ctx := context.Background()
	s, err := config.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
