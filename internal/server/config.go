package server

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/internal/connlimit"
	"github.com/bullpen/bullpen/market"
)

// config is what flags and environment set.
type config struct {
	addr, db, market, admins, secret string
	allowedOrigins                   string
	seed                             int64
	bcryptCost                       int
	wsInitTimeout, keepAlive         time.Duration
	tokenTTL                         time.Duration
	pprof                            string
	pgCommitters                     int
	accessLog                        bool
	leaderboardPeriod                time.Duration
	// clockOffset shifts the server's clock (tests only; see shiftedClock).
	clockOffset time.Duration
	// Limits (0 turns one off); see docs/operations.md "Limits".
	maxDepth, maxAliases, maxComplexity int
	maxTokens, maxSelectionFields       int
	operationTimeout                    time.Duration
	maxWSPerUser, maxWSPerAddress       int
	ordersPerSecond, signUpsPerHour     int
	clientIPHeader                      string
	subscriptionTimeout                 time.Duration

	// Connections (see conns.go). HTTP timeouts: a request's headers, its
	// body, and a keep-alive connection's wait for the next request.
	readHeaderTimeout, readTimeout, idleTimeout    time.Duration
	maxSSEPerAddress, maxConns, maxConnsPerAddress int
	// connsPerAddressOff: -client-ip-header turned the per-address
	// connection limit off (behind a proxy every connection is the
	// proxy's).
	connsPerAddressOff bool
	// openFiles is the open-file limit -max-conns leaves room below
	// (0: unknown).
	openFiles uint64

	// envErrs holds environment values that are not numbers, by flag.
	envErrs map[string]error
	// source names where a flag's value came from, for error messages:
	// "-market", or "BULLPEN_MARKET (-market)" when the environment set it.
	source func(flag string) string
}

// parseConfig reads flags over environment variables over defaults and
// checks every value (see validate).
func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bullpen", flag.ContinueOnError)
	envOf := map[string]string{} // flag name -> its environment variable
	str := func(p *string, name, key, def, usage string) {
		envOf[name] = key
		if v := getenv(key); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ("+key+")")
	}
	str(&c.addr, "addr", "BULLPEN_ADDR", ":8080", "listen address")
	str(&c.db, "db", "BULLPEN_DB", "sqlite:bullpen.db", "database: sqlite:PATH, sqlite::memory: or a postgres:// URL")
	str(&c.market, "market", "BULLPEN_MARKET", "simulated", "price feed: simulated, manual or replay:FILE.csv")
	str(&c.admins, "admins", "BULLPEN_ADMINS", "", "comma-separated usernames given the admin role while the server runs, if their accounts exist when it starts (see also: bullpen admin grant)")
	str(&c.secret, "secret", "BULLPEN_SECRET", "", "key that signs session tokens, at least 16 characters; generated once and kept in the database when empty")
	str(&c.allowedOrigins, "allowed-origins", "BULLPEN_ALLOWED_ORIGINS", "", "comma-separated extra browser origins allowed to call /query and the exports (CORS) and to open WebSockets, e.g. https://game.example.com; * for any")
	str(&c.clientIPHeader, "client-ip-header", "BULLPEN_CLIENT_IP_HEADER", "", "header a trusted reverse proxy sets to the client's address (e.g. X-Forwarded-For, X-Real-IP); per-address limits use the connection's address when empty")
	c.envErrs = map[string]error{}
	num := func(p *int, name, key string, def int, usage string) {
		envOf[name] = key
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				c.envErrs[name] = fmt.Errorf("%q is not a whole number", v)
			} else {
				def = n
			}
		}
		fs.IntVar(p, name, def, usage+"; 0 for no limit ("+key+")")
	}
	num(&c.maxDepth, "max-query-depth", "BULLPEN_MAX_QUERY_DEPTH", graph.DefaultMaxDepth, "deepest nesting of fields one operation may have")
	num(&c.maxAliases, "max-aliases", "BULLPEN_MAX_ALIASES", graph.DefaultMaxAliases, "most aliased fields one operation may have")
	num(&c.maxComplexity, "max-complexity", "BULLPEN_MAX_COMPLEXITY", graph.DefaultMaxComplexity, "highest complexity (fields, fragments expanded) one operation may have")
	num(&c.maxTokens, "max-tokens", "BULLPEN_MAX_TOKENS", graph.DefaultMaxTokens, "most tokens (names, punctuation, values, comments) one document may have")
	num(&c.maxSelectionFields, "max-selection-fields", "BULLPEN_MAX_SELECTION_FIELDS", graph.DefaultMaxFields, "most fields (and fragments) one selection set may have")
	num(&c.maxWSPerUser, "max-ws-per-user", "BULLPEN_MAX_WS_PER_USER", realtime.DefaultMaxPerUser, "most open WebSockets of one signed-in user")
	num(&c.maxWSPerAddress, "max-ws-per-address", "BULLPEN_MAX_WS_PER_ADDRESS", realtime.DefaultMaxPerAddress, "most open WebSockets of one client address")
	num(&c.maxSSEPerAddress, "max-sse-per-address", "BULLPEN_MAX_SSE_PER_ADDRESS", realtime.DefaultMaxPerAddress, "most open SSE streams of one client address")
	num(&c.maxConnsPerAddress, "max-conns-per-address", "BULLPEN_MAX_CONNS_PER_ADDRESS", DefaultMaxConnsPerAddress, "most open TCP connections of one client address (its IP, not -client-ip-header's: off by default with that flag)")
	c.openFiles, _, _ = connlimit.OpenFileLimit()
	num(&c.maxConns, "max-conns", "BULLPEN_MAX_CONNS", connlimit.MaxForLimit(c.openFiles), fmt.Sprintf("most open TCP connections; the default is the open-file limit less %d descriptors kept for the database and files, and higher values are lowered to it", connlimit.Reserve))
	num(&c.ordersPerSecond, "orders-per-second", "BULLPEN_ORDERS_PER_SECOND", game.DefaultOrdersPerSecond, "most orders one participant may place a second")
	num(&c.signUpsPerHour, "signups-per-hour", "BULLPEN_SIGNUPS_PER_HOUR", game.DefaultSignUpsPerHour, "most sign-ups one client address may make an hour")
	opTimeout := graph.DefaultOperationTimeout.String()
	str(&opTimeout, "operation-timeout", "BULLPEN_OPERATION_TIMEOUT", opTimeout, "longest one query or mutation may run before it is stopped; 0 for no limit")
	subTimeout := graph.DefaultSubscriptionTimeout.String()
	str(&subTimeout, "subscription-timeout", "BULLPEN_SUBSCRIPTION_TIMEOUT", subTimeout, "longest one execution of a subscription's document for one event may take before the subscription ends with SLOW_CONSUMER; 0 for no limit")
	ttl := auth.DefaultTokenTTL.String()
	str(&ttl, "token-ttl", "BULLPEN_TOKEN_TTL", ttl, "lifetime of a session token, 1m to 8760h (renewToken gives a fresh one)")
	fs.DurationVar(&c.wsInitTimeout, "ws-init-timeout", 10*time.Second, "close WebSockets that send no connection_init within this time; 0 waits forever")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second, "close a connection whose request headers take longer; 0 waits forever")
	fs.DurationVar(&c.readTimeout, "read-timeout", 30*time.Second, "close a connection whose request (headers and body) takes longer to arrive; an answer, an SSE stream or a WebSocket being served is not affected; 0 waits forever")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", time.Minute, "close a keep-alive connection that sends no next request within this time; 0 waits forever")
	fs.DurationVar(&c.keepAlive, "keepalive", 15*time.Second, "interval of WebSocket and SSE keep-alive pings; 0 sends none")
	fs.StringVar(&c.pprof, "pprof", "", "serve Go's profiler (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060; off when empty")
	fs.BoolVar(&c.accessLog, "access-log", true, "log one line per HTTP request (method, path, status, bytes, duration, remote address); -access-log=false turns it off")
	fs.DurationVar(&c.leaderboardPeriod, "leaderboard-period", game.DefaultLeaderboardPeriod, "how often ACTIVE rooms whose leaderboard changed without fills get a snapshot, whole seconds from 1s to 1h")
	fs.Int64Var(&c.seed, "seed", 0, "seed of the simulated market; 0 picks one from the clock")
	fs.IntVar(&c.pgCommitters, "pg-committers", db.DefaultCommitters, fmt.Sprintf("on PostgreSQL, how many group committers write orders concurrently, each room's always through the same one; 1 to %d (SQLite always has one writer)", db.MaxCommitters))
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", 0, "bcrypt cost of password hashes, 4 to 31 (default 10; lower only for tests)")
	fs.DurationVar(&c.clockOffset, "clock-offset", 0, "run the server's clock this far ahead of the real time (negative: behind); only for tests, e.g. the crash loop crossing 00:00 UTC")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  bullpen [flags]                  serve\n  bullpen admin grant|revoke NAME  give or take the admin role of an account (-db as below)\n  bullpen admin list               list the accounts with the admin role\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (the only subcommand is admin: bullpen admin grant|revoke|list)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true; delete(c.envErrs, f.Name) })
	// A value from the environment is reported under the variable's name,
	// which is where the operator has to fix it.
	c.source = func(name string) string {
		if key := envOf[name]; key != "" && !set[name] && getenv(key) != "" {
			return key + " (-" + name + ")"
		}
		return "-" + name
	}
	var err error
	if c.clientIPHeader != "" && !set["max-conns-per-address"] && getenv(envOf["max-conns-per-address"]) == "" {
		c.maxConnsPerAddress, c.connsPerAddressOff = 0, true
	}
	if c.operationTimeout, err = time.ParseDuration(opTimeout); err != nil {
		return c, fmt.Errorf("%s: %q is not a duration: want one such as 10s, or 0 for no limit", c.source("operation-timeout"), opTimeout)
	}
	if c.subscriptionTimeout, err = time.ParseDuration(subTimeout); err != nil {
		return c, fmt.Errorf("%s: %q is not a duration: want one such as 2s, or 0 for no limit", c.source("subscription-timeout"), subTimeout)
	}
	if c.tokenTTL, err = time.ParseDuration(ttl); err != nil {
		return c, fmt.Errorf("%s: %q is not a duration: want one such as 168h or 30m", c.source("token-ttl"), ttl)
	}
	return c, c.validate()
}

// validate checks every setting, so that a bad one stops the server before
// it listens or touches the database, with an error that names the flag
// (as c.source spells it) and what is wrong. It reuses the checks of the
// packages that use each value.
func (c config) validate() error {
	// A number the environment got wrong, unless a flag overrode it.
	limit := func(name string, n int) error {
		if err := c.envErrs[name]; err != nil {
			return err
		}
		return checkLimit(n)
	}
	checks := []struct {
		flag string
		err  error
	}{
		{"addr", checkAddr(c.addr)},
		{"db", db.CheckDSN(c.db)},
		{"market", market.Check(c.market)},
		{"secret", auth.CheckSecret(c.secret)},
		{"allowed-origins", checkOrigins(c.allowedOrigins)},
		{"ws-init-timeout", checkDuration(c.wsInitTimeout)},
		{"keepalive", checkDuration(c.keepAlive)},
		{"read-header-timeout", checkDuration(c.readHeaderTimeout)},
		{"read-timeout", checkDuration(c.readTimeout)},
		{"idle-timeout", checkDuration(c.idleTimeout)},
		{"subscription-timeout", checkDuration(c.subscriptionTimeout)},
		{"token-ttl", auth.CheckTTL(c.tokenTTL)},
		{"bcrypt-cost", auth.CheckCost(c.bcryptCost)},
		{"pprof", checkOptionalAddr(c.pprof)},
		{"pg-committers", checkCommitters(c.pgCommitters)},
		{"leaderboard-period", game.CheckLeaderboardPeriod(c.leaderboardPeriod)},
		{"max-query-depth", limit("max-query-depth", c.maxDepth)},
		{"max-aliases", limit("max-aliases", c.maxAliases)},
		{"max-complexity", limit("max-complexity", c.maxComplexity)},
		{"max-tokens", limit("max-tokens", c.maxTokens)},
		{"max-selection-fields", limit("max-selection-fields", c.maxSelectionFields)},
		{"operation-timeout", checkDuration(c.operationTimeout)},
		{"max-ws-per-user", limit("max-ws-per-user", c.maxWSPerUser)},
		{"max-ws-per-address", limit("max-ws-per-address", c.maxWSPerAddress)},
		{"max-sse-per-address", limit("max-sse-per-address", c.maxSSEPerAddress)},
		{"max-conns", limit("max-conns", c.maxConns)},
		{"max-conns-per-address", limit("max-conns-per-address", c.maxConnsPerAddress)},
		{"orders-per-second", limit("orders-per-second", c.ordersPerSecond)},
		{"signups-per-hour", limit("signups-per-hour", c.signUpsPerHour)},
		{"client-ip-header", graph.CheckClientIPHeader(c.clientIPHeader)},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%s: %w", c.source(ch.flag), ch.err)
		}
	}
	return nil
}

// checkAddr accepts what net.Listen("tcp", addr) can parse: host:port,
// with an empty host for every interface and port 0 for any free port.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080): %v", addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q: bad port: %v", addr, err)
	}
	return nil
}

func checkOptionalAddr(addr string) error {
	if addr == "" {
		return nil
	}
	return checkAddr(addr)
}

func checkOrigins(list string) error {
	for _, o := range splitList(list) {
		if err := realtime.CheckAllowedOrigin(o); err != nil {
			return err
		}
	}
	return nil
}

// checkDuration accepts the timeouts and intervals that 0 turns off.
func checkDuration(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%v is negative: want a duration such as 10s, or 0 to turn it off", d)
	}
	return nil
}

// checkLimit accepts a limit: a count, or 0 for none.
func checkLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("%d is negative: want a whole number, or 0 for no limit", n)
	}
	return nil
}

// splitList reads a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkCommitters refuses 0 as well: the flag's default is the number.
func checkCommitters(n int) error {
	if n < 1 || n > db.MaxCommitters {
		return fmt.Errorf("%d: want 1 to %d", n, db.MaxCommitters)
	}
	return nil
}
