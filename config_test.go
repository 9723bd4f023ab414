package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/hub"
)

// A bad setting stops run with an error naming the flag (or the
// environment variable that set it) before the database is created.
func TestBadConfigFailsBeforeTheDatabase(t *testing.T) {
	dir := t.TempDir()
	badReplay := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badReplay, []byte("timestamp,symbol,price\n2026-03-02T14:30:00Z,AAPL,-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"UnknownMarket", []string{"-market", "foo"}, nil, []string{"-market: ", `unknown market "foo"`}},
		{"ReplayWithoutPath", []string{"-market", "replay:"}, nil, []string{"-market: ", "needs a file path"}},
		{"MissingReplayFile", []string{"-market", "replay:" + filepath.Join(dir, "none.csv")}, nil, []string{"-market: ", "no such file"}},
		{"ReplayDirectory", []string{"-market", "replay:" + dir}, nil, []string{"-market: ", "is a directory"}},
		{"BadReplayRow", []string{"-market", "replay:" + badReplay}, nil, []string{"-market: ", "line 2"}},
		{"MarketFromEnvironment", nil, map[string]string{"BULLPEN_MARKET": "foo"}, []string{"BULLPEN_MARKET (-market): ", "unknown market"}},
		{"ShortSecret", []string{"-secret", "tooshort"}, nil, []string{"-secret: ", "at least 16 characters (got 8)"}},
		{"ShortSecretFromEnvironment", nil, map[string]string{"BULLPEN_SECRET": "tooshort"}, []string{"BULLPEN_SECRET (-secret): ", "at least 16"}},
		{"UnsupportedDatabase", []string{"-db", "mysql://u:hunter2@host/db"}, nil, []string{"-db: ", `unsupported database "mysql"`}},
		{"SQLiteWithoutPath", []string{"-db", "sqlite:"}, nil, []string{"-db: ", "needs a path"}},
		{"BadPostgresURL", []string{"-db", "postgres://u:hunter2@host:port/db"}, nil, []string{"-db: ", "postgres"}},
		{"NegativeKeepAlive", []string{"-keepalive", "-1s"}, nil, []string{"-keepalive: ", "negative"}},
		{"NegativeInitTimeout", []string{"-ws-init-timeout", "-5s"}, nil, []string{"-ws-init-timeout: ", "negative"}},
		{"BadDuration", []string{"-keepalive", "soon"}, nil, []string{"-keepalive", "soon"}},
		{"BcryptCostTooLow", []string{"-bcrypt-cost", "3"}, nil, []string{"-bcrypt-cost: ", "out of range"}},
		{"BcryptCostTooHigh", []string{"-bcrypt-cost", "32"}, nil, []string{"-bcrypt-cost: ", "out of range"}},
		{"OriginWithoutScheme", []string{"-allowed-origins", "https://ok.example.com, game.example.com"}, nil, []string{"-allowed-origins: ", `"game.example.com" is not an origin`}},
		{"OriginWithPath", []string{"-allowed-origins", "https://game.example.com/play"}, nil, []string{"-allowed-origins: ", "not an origin"}},
		{"OriginNotHTTP", []string{"-allowed-origins", "ftp://game.example.com"}, nil, []string{"-allowed-origins: ", "not an origin"}},
		{"TokenTTLZero", []string{"-token-ttl", "0"}, nil, []string{"-token-ttl: ", "out of range", "1m0s to 8760h0m0s"}},
		{"TokenTTLTooLong", []string{"-token-ttl", "9000h"}, nil, []string{"-token-ttl: ", "out of range"}},
		{"TokenTTLNotADuration", []string{"-token-ttl", "7d"}, nil, []string{"-token-ttl: ", `"7d" is not a duration`}},
		{"TokenTTLFromEnvironment", nil, map[string]string{"BULLPEN_TOKEN_TTL": "30s"}, []string{"BULLPEN_TOKEN_TTL (-token-ttl): ", "out of range"}},
		{"AddrWithoutPort", []string{"-addr", "8080"}, nil, []string{"-addr: ", "not host:port"}},
		{"AddrBadPort", []string{"-addr", ":99999"}, nil, []string{"-addr: ", "bad port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bullpen.db")
			err := runOnce(t, path, tc.args, tc.env)
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("database file created before the error (stat: %v)", statErr)
			}
		})
	}
	// The control: good settings of every kind create the database.
	t.Run("GoodSettingsStart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bullpen.db")
		err := runOnce(t, path, []string{"-keepalive", "0", "-ws-init-timeout", "0", "-bcrypt-cost", "4",
			"-allowed-origins", "https://game.example.com, http://localhost:5173/, *", "-secret", "0123456789abcdef"},
			map[string]string{"BULLPEN_MARKET": "manual", "BULLPEN_TOKEN_TTL": "24h"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database not created: %v", err)
		}
	})
}

// runOnce runs the server on a SQLite file at path and stops it as soon as
// it has started.
func runOnce(t *testing.T, path string, args []string, env map[string]string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	args = append([]string{"-addr", "127.0.0.1:0", "-db", "sqlite:" + path}, args...)
	getenv := func(k string) string { return env[k] }
	return run(ctx, args, getenv, io.Discard, &hooks{
		started: func(string, *game.Service, *graph.Handler, *hub.Hub) { cancel() },
	})
}
