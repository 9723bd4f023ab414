// Package dbtest gives tests real databases: a SQLite file in a temporary
// folder, and a fresh PostgreSQL database on the server named by
// BULLPEN_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test).
//
// Without a reachable PostgreSQL the PostgreSQL tests skip with a message,
// unless BULLPEN_REQUIRE_POSTGRES=1 (as in CI), which makes them fail.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is the server tried when BULLPEN_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SQLite returns the DSN of a new SQLite file removed after the test.
func SQLite(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "bullpen.db")
}

// Postgres creates a fresh database for the test, drops it afterwards, and
// returns its URL; it skips (or fails under BULLPEN_REQUIRE_POSTGRES=1)
// when no PostgreSQL server answers.
func Postgres(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("BULLPEN_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("BULLPEN_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL required but not reachable at %s: %v", redact(admin), err)
		}
		tb.Skipf("no PostgreSQL at %s (%v): set BULLPEN_TEST_POSTGRES to run the PostgreSQL tests", redact(admin), err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "bullpen_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Backends lists the databases a suite should run against, by name.
func Backends() []string { return []string{"sqlite", "postgres"} }

// Open returns a fresh DSN for the named backend.
func Open(tb testing.TB, backend string) string {
	tb.Helper()
	if backend == "postgres" {
		return Postgres(tb)
	}
	return SQLite(tb)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
