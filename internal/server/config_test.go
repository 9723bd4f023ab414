package server

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/hub"
	"github.com/bullpen/bullpen/internal/connlimit"
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
		{"NegativeDepth", []string{"-max-query-depth", "-1"}, nil, []string{"-max-query-depth: ", "-1 is negative", "0 for no limit"}},
		{"NegativeAliases", []string{"-max-aliases", "-2"}, nil, []string{"-max-aliases: ", "negative"}},
		{"NegativeComplexity", []string{"-max-complexity", "-3"}, nil, []string{"-max-complexity: ", "negative"}},
		{"NegativeWSPerUser", []string{"-max-ws-per-user", "-1"}, nil, []string{"-max-ws-per-user: ", "negative"}},
		{"NegativeWSPerAddress", []string{"-max-ws-per-address", "-1"}, nil, []string{"-max-ws-per-address: ", "negative"}},
		{"NegativeOrderRate", []string{"-orders-per-second", "-5"}, nil, []string{"-orders-per-second: ", "negative"}},
		{"NegativeSignUpRate", []string{"-signups-per-hour", "-5"}, nil, []string{"-signups-per-hour: ", "negative"}},
		{"NotANumberFlag", []string{"-max-query-depth", "deep"}, nil, []string{"-max-query-depth", "deep"}},
		{"NotANumberFromEnvironment", nil, map[string]string{"BULLPEN_ORDERS_PER_SECOND": "ten"}, []string{"BULLPEN_ORDERS_PER_SECOND (-orders-per-second): ", `"ten" is not a whole number`}},
		{"NegativeFromEnvironment", nil, map[string]string{"BULLPEN_MAX_WS_PER_USER": "-4"}, []string{"BULLPEN_MAX_WS_PER_USER (-max-ws-per-user): ", "negative"}},
		{"BadClientIPHeader", []string{"-client-ip-header", "X Real IP"}, nil, []string{"-client-ip-header: ", "not a header name"}},
		{"ForwardedHeader", nil, map[string]string{"BULLPEN_CLIENT_IP_HEADER": "Forwarded"}, []string{"BULLPEN_CLIENT_IP_HEADER (-client-ip-header): ", "not supported"}},
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
	return Run(ctx, args, getenv, io.Discard, &Hooks{
		Started: func(string, *game.Service, *graph.Handler, *hub.Hub) { cancel() },
	})
}

// Every limit has the documented default, an environment variable, and a
// flag that wins over it (even over an environment value that is wrong).
func TestLimitSettings(t *testing.T) {
	get := func(c config) []int {
		return []int{c.maxDepth, c.maxAliases, c.maxComplexity, c.maxWSPerUser, c.maxWSPerAddress, c.ordersPerSecond, c.signUpsPerHour}
	}
	c, err := parseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := get(c), []int{12, 50, 5000, 32, 256, 10, 30}; !slices.Equal(got, want) {
		t.Errorf("defaults %v, want %v (as README says)", got, want)
	}
	if c.clientIPHeader != "" {
		t.Errorf("client-ip-header defaults to %q, want none", c.clientIPHeader)
	}
	env := map[string]string{
		"BULLPEN_MAX_QUERY_DEPTH": "7", "BULLPEN_MAX_ALIASES": "3", "BULLPEN_MAX_COMPLEXITY": "100",
		"BULLPEN_MAX_WS_PER_USER": "2", "BULLPEN_MAX_WS_PER_ADDRESS": "0", "BULLPEN_ORDERS_PER_SECOND": "oops",
		"BULLPEN_SIGNUPS_PER_HOUR": "1", "BULLPEN_CLIENT_IP_HEADER": "X-Real-IP",
	}
	c, err = parseConfig([]string{"-orders-per-second", "4", "-max-aliases", "9"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := get(c), []int{7, 9, 100, 2, 0, 4, 1}; !slices.Equal(got, want) {
		t.Errorf("from environment and flags: %v, want %v", got, want)
	}
	if c.clientIPHeader != "X-Real-IP" {
		t.Errorf("client-ip-header %q, want X-Real-IP", c.clientIPHeader)
	}
}

// The connection limits and timeouts have their documented defaults and
// flags (and environment variables, the limits); -client-ip-header turns
// the per-address connection limit off unless it is given too.
func TestConnectionSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none)
	if err != nil {
		t.Fatal(err)
	}
	soft, _, err := connlimit.OpenFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []int{c.maxSSEPerAddress, c.maxConnsPerAddress, c.maxConns}, []int{256, 512, int(soft) - 128}; !slices.Equal(got, want) {
		t.Errorf("defaults %v, want %v (as README says; the open-file limit is %d)", got, want, soft)
	}
	if got, want := []time.Duration{c.readHeaderTimeout, c.readTimeout, c.idleTimeout}, []time.Duration{10 * time.Second, 30 * time.Second, time.Minute}; !slices.Equal(got, want) {
		t.Errorf("timeouts %v, want %v", got, want)
	}
	env := map[string]string{"BULLPEN_MAX_SSE_PER_ADDRESS": "3", "BULLPEN_MAX_CONNS_PER_ADDRESS": "4", "BULLPEN_MAX_CONNS": "50"}
	c, err = parseConfig([]string{"-max-conns", "60", "-read-timeout", "1s", "-idle-timeout", "0"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []int{c.maxSSEPerAddress, c.maxConnsPerAddress, c.maxConns}, []int{3, 4, 60}; !slices.Equal(got, want) {
		t.Errorf("from environment and flags: %v, want %v", got, want)
	}
	if c.readTimeout != time.Second || c.idleTimeout != 0 {
		t.Errorf("read-timeout %v, idle-timeout %v; want 1s and 0", c.readTimeout, c.idleTimeout)
	}
	if _, err := parseConfig([]string{"-idle-timeout", "-1s"}, none); err == nil || !strings.Contains(err.Error(), "-idle-timeout") {
		t.Errorf("negative -idle-timeout: %v", err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{[]string{"-client-ip-header", "X-Real-IP"}, nil, 0},
		{[]string{"-client-ip-header", "X-Real-IP", "-max-conns-per-address", "9"}, nil, 9},
		{[]string{"-client-ip-header", "X-Real-IP"}, map[string]string{"BULLPEN_MAX_CONNS_PER_ADDRESS": "8"}, 8},
	} {
		c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.maxConnsPerAddress != tc.want {
			t.Errorf("%v %v: %d connections per address, want %d", tc.args, tc.env, c.maxConnsPerAddress, tc.want)
		}
	}
}

func TestConfigLeaderboardPeriodAndHelp(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parseConfig(nil, env)
	if err != nil || c.leaderboardPeriod != game.DefaultLeaderboardPeriod || !c.accessLog {
		t.Fatalf("defaults: %v, period %v, access log %v", err, c.leaderboardPeriod, c.accessLog)
	}
	if c, err = parseConfig([]string{"-leaderboard-period", "30s", "-access-log=false"}, env); err != nil || c.leaderboardPeriod != 30*time.Second || c.accessLog {
		t.Fatalf("-leaderboard-period 30s -access-log=false: %v, %v, %v", err, c.leaderboardPeriod, c.accessLog)
	}
	for _, bad := range []string{"0", "-5s", "1500ms", "2h"} {
		_, err := parseConfig([]string{"-leaderboard-period", bad}, env)
		if err == nil || !strings.HasPrefix(err.Error(), "-leaderboard-period: ") {
			t.Errorf("-leaderboard-period %s: %v, want an error naming the flag", bad, err)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}} {
		if _, err := parseConfig(args, env); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: %v, want flag.ErrHelp (main exits 0)", args, err)
		}
	}
}

// The new limits have flags, environment variables and defaults, and bad
// values stop the server naming the setting.
func TestQueryCostSettings(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []any{c.maxTokens, c.maxSelectionFields, c.operationTimeout}, []any{15_000, 200, 10 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("defaults %v, want %v (as README says)", got, want)
	}
	env := map[string]string{"BULLPEN_MAX_TOKENS": "900", "BULLPEN_MAX_SELECTION_FIELDS": "30", "BULLPEN_OPERATION_TIMEOUT": "2s"}
	c, err = parseConfig([]string{"-max-selection-fields", "40"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []any{c.maxTokens, c.maxSelectionFields, c.operationTimeout}, []any{900, 40, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("from environment and flags: %v, want %v", got, want)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-max-tokens", "-1"}, nil, "-max-tokens: -1 is negative"},
		{[]string{"-max-selection-fields", "-1"}, nil, "-max-selection-fields: -1 is negative"},
		{nil, map[string]string{"BULLPEN_MAX_TOKENS": "many"}, `BULLPEN_MAX_TOKENS (-max-tokens): "many" is not a whole number`},
		{[]string{"-operation-timeout", "-1s"}, nil, "-operation-timeout: -1s is negative"},
		{nil, map[string]string{"BULLPEN_OPERATION_TIMEOUT": "soon"}, `BULLPEN_OPERATION_TIMEOUT (-operation-timeout): "soon" is not a duration`},
	} {
		if _, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}
