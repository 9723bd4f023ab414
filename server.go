// Command bullpen is a GraphQL server for real-time paper-trading
// competitions. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/hub"
	"github.com/bullpen/bullpen/internal/connlimit"
	"github.com/bullpen/bullpen/market"
	"github.com/bullpen/bullpen/web"
)

//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); errors.Is(err, flag.ErrHelp) {
		return // -help: the usage is printed
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "bullpen:", err)
		os.Exit(1)
	}
}

// leaderKey is the advisory lock the instance that runs the price feed and
// the periodic snapshots holds.
const leaderKey = 0x42554c4c50454e // "BULLPEN"

// config is what flags and environment set.
type config struct {
	addr, db, market, admins, secret string
	allowedOrigins                   string
	seed                             int64
	bcryptCost                       int
	wsInitTimeout, keepAlive         time.Duration
	tokenTTL                         time.Duration
	pprof                            string
	accessLog                        bool
	leaderboardPeriod                time.Duration
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
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", 0, "bcrypt cost of password hashes, 4 to 31 (default 10; lower only for tests)")
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

// hooks lets tests reach inside a running server.
type hooks struct {
	clock   clockwork.Clock
	started func(addr string, svc *game.Service, query *graph.Handler, events *hub.Hub)
	// configure, if set, adjusts the transports after the flags have
	// (tests shorten write timeouts and queues).
	configure func(ws *realtime.WebSocket, sse *realtime.SSE)
}

// run starts the server and blocks until ctx is done, then shuts down:
// stop accepting, finish requests, stop background work, close the
// database, in that order.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, h *hooks) error {
	if len(args) > 0 && args[0] == "admin" {
		return runAdmin(ctx, args[1:], getenv, stdout)
	}
	c, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	clock := clockwork.NewRealClock()
	if h != nil && h.clock != nil {
		clock = h.clock
	}
	seed := c.seed
	if seed == 0 {
		seed = clock.Now().UnixNano()
	}
	// Built before the database is touched: a replay file with a bad row
	// stops the server here.
	feed, err := market.Parse(c.market, clock, seed)
	if err != nil {
		return fmt.Errorf("%s: %w", c.source("market"), err)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	defer ln.Close()
	var pln net.Listener // the profiler's, never the public listener
	if c.pprof != "" {
		if pln, err = net.Listen("tcp", c.pprof); err != nil {
			return fmt.Errorf("-pprof: listen on %s: %w", c.pprof, err)
		}
		defer pln.Close()
	}

	// One server per SQLite file: it alone writes there, with its caches.
	release, err := db.ClaimSQLite(c.db)
	if err != nil {
		return err
	}
	defer release()
	store, err := db.Open(ctx, c.db, clock, log)
	if err != nil {
		return err
	}
	defer store.Close()
	secret, err := auth.LoadSecret(ctx, store, c.secret)
	if err != nil {
		return err
	}
	if r, ok := feed.(market.Resumer); ok {
		// A feed taking over from another instance (or a restart) goes on
		// from the last prices rather than jumping back to references.
		r.ResumeFrom(func(ctx context.Context) map[string]decimal.Decimal {
			known := map[string]decimal.Decimal{}
			if qs, err := store.Quotes(ctx); err == nil {
				for _, q := range qs {
					known[q.Symbol] = q.Price
				}
			}
			return known
		})
	}
	instruments := feed.Instruments()
	symbols := make(map[string]string, len(instruments))
	for _, in := range instruments {
		symbols[in.Symbol] = in.Name
	}
	admins := map[string]bool{}
	for _, a := range splitList(c.admins) {
		admins[a] = true
	}
	svc := game.NewService(game.Config{
		Store: store, Clock: clock, Log: log, Instruments: symbols, ManualMarket: feed.Name() == market.NameManual,
		Admins: admins, Passwords: auth.Bcrypt{Cost: c.bcryptCost},
		OrdersPerSecond: c.ordersPerSecond, SignUpsPerHour: c.signUpsPerHour,
		CacheSessions:     store.Dialect() == db.SQLite, // SQLite: this process is the only writer
		LeaderboardPeriod: c.leaderboardPeriod,
	})
	tokens := auth.NewTokens(secret, clock, c.tokenTTL)
	// -admins reaches only accounts that exist now: one signed up later
	// under a listed name gets nothing (grant it with bullpen admin).
	missing, err := svc.ApplyAdmins(ctx)
	if err != nil {
		return fmt.Errorf("-admins: %w", err)
	}
	for _, name := range missing {
		log.Warn("-admins names an account that does not exist, or did not when a server first started with the name listed: it gets no admin role (use bullpen admin grant)", "username", name)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	events := hub.New(store, clock, log)
	defer events.Close()
	store.OnCommit(events.Notify)
	quotes := hub.NewQuotes(hub.DefaultQueueSize)
	if store.Dialect() == db.SQLite {
		svc.OnQuote(quotes.Publish)
	} // on PostgreSQL every instance, this one too, hears prices through NOTIFY

	resolver := &graph.Resolver{Svc: svc, Tokens: tokens, Catalogue: instruments, Hub: events, Quotes: quotes, Log: log}
	query := graph.NewHandler(resolver, graph.Options{AllowedOrigins: splitList(c.allowedOrigins), Clock: clock, Log: log, Registerer: reg,
		Limits: graph.QueryLimits{MaxDepth: c.maxDepth, MaxAliases: c.maxAliases, MaxComplexity: c.maxComplexity,
			MaxTokens: c.maxTokens, MaxFields: c.maxSelectionFields},
		OperationTimeout: c.operationTimeout,
		MaxWSPerUser:     c.maxWSPerUser, MaxWSPerAddress: c.maxWSPerAddress, MaxSSEPerAddress: c.maxSSEPerAddress, ClientIPHeader: c.clientIPHeader,
		SubscriptionTimeout: c.subscriptionTimeout,
		Configure: func(ws *realtime.WebSocket, sse *realtime.SSE) {
			ws.InitTimeout, ws.KeepAlive, sse.KeepAlive = c.wsInitTimeout, c.keepAlive, c.keepAlive
			if h != nil && h.configure != nil {
				h.configure(ws, sse)
			}
		}})
	registerMetrics(reg, events, query)
	mux := http.NewServeMux()
	mux.Handle("/query", query)
	mux.Handle("/", web.Handler()) // GraphiQL, every asset embedded
	// The live room page; /rooms/{id}/… stays free for other routes.
	mux.Handle("GET /rooms/{id}", web.Room())
	mux.HandleFunc("GET /schema.graphql", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, graph.SDL())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ready(ctx); err != nil {
			log.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	exports := query.Exports() // results export, as the caller may see it
	for _, path := range []string{graph.ResultsCSVPath, graph.TradesCSVPath} {
		mux.Handle("GET "+path, exports)
		mux.Handle("OPTIONS "+path, exports) // CORS preflight
	}

	var handler http.Handler = mux
	if c.accessLog {
		handler = accessLog(log, mux)
	}
	// ReadTimeout bounds reading a request, headers and body; net/http
	// lifts it once the body is read (it then reads the connection only to
	// notice a client that goes), so a long answer, an SSE stream or a
	// WebSocket outlives it.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: c.readHeaderTimeout, ReadTimeout: c.readTimeout, IdleTimeout: c.idleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	conns := listenLimited(ln, srv, c, log)
	registerConnMetrics(reg, conns, query)
	// On shutdown, complete every subscription and close sockets with 1001
	// while the server stops accepting and drains requests.
	shutdownCtx, cancelShutdown := context.WithCancel(context.Background())
	defer cancelShutdown()
	srv.RegisterOnShutdown(func() { query.Shutdown(shutdownCtx) })

	// Background work: each goroutine stops when work is cancelled.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	goRun := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			if err := fn(work); err != nil && work.Err() == nil {
				log.Error("background task failed", "task", name, "err", err)
			}
		})
	}
	goRun("scheduler", svc.RunScheduler)
	goRun("leaderboards", svc.RunLeaderboards)
	goRun("listener", func(ctx context.Context) error {
		return store.Listen(ctx, db.Listener{
			Rooms: func(rooms map[int64]int64) {
				if rooms == nil {
					events.NotifyAll()
				} else {
					events.Notify(rooms)
				}
			},
			Quote: func(symbol string) {
				if q, err := store.Quote(ctx, symbol); err == nil {
					quotes.Publish(*q)
				}
			},
			// Another instance signed someone out: close the connections
			// of theirs that this instance holds.
			Sessions: svc.SessionsEnded,
		})
	})
	runFeed := func(ctx context.Context) error {
		return feed.Run(ctx, func(ctx context.Context, t market.Tick) error {
			if _, err := svc.Tick(ctx, t.Symbol, t.Price); err != nil && ctx.Err() == nil {
				log.Error("tick", "symbol", t.Symbol, "err", err)
			}
			return nil
		})
	}
	// Clock-driven singletons: with several instances on PostgreSQL one
	// leader (an advisory lock) produces prices and takes the periodic
	// leaderboard snapshots; another takes over when it dies.
	svc.SetPeriodicSnapshots(false)
	goRun("leader", func(ctx context.Context) error {
		return store.Leader(ctx, leaderKey, 2*time.Second, func(ctx context.Context) error {
			svc.SetPeriodicSnapshots(true)
			defer svc.SetPeriodicSnapshots(false)
			if err := runFeed(ctx); err != nil {
				return err
			}
			<-ctx.Done() // a replay has ended: stay leader, replay nothing twice
			return nil
		})
	})

	if pln != nil {
		psrv := &http.Server{Handler: profiler(), ReadHeaderTimeout: 10 * time.Second}
		goRun("pprof", func(ctx context.Context) error {
			stop := context.AfterFunc(ctx, func() { _ = psrv.Close() })
			defer stop()
			log.Info("profiler listening", "addr", pln.Addr().String())
			if err := psrv.Serve(pln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(conns) }()
	base := "http://" + displayAddr(ln.Addr())
	log.Info("bullpen listening", "addr", ln.Addr().String(), "db", redactDSN(c.db), "market", feed.Name(),
		"graphiql", base+"/", "room_page", base+"/rooms/{id}")
	if h != nil && h.started != nil {
		h.started(ln.Addr().String(), svc, query, events)
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return err
	}
	log.Info("shutting down")
	drainCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(drainCtx)
	query.Shutdown(drainCtx) // also waits for the sockets the server no longer tracks
	<-serveErr
	stopWork()
	wg.Wait()
	events.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// profiler serves net/http/pprof's handlers.
func profiler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// registerMetrics exposes the real-time layer's gauges and counters.
func registerMetrics(reg *prometheus.Registry, events *hub.Hub, query *graph.Handler) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_subscriptions", Help: "Open room event subscriptions."},
			func() float64 { return float64(events.Stats().Subscribers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_subscribed_rooms", Help: "Rooms with subscribers on this instance."},
			func() float64 { return float64(events.Stats().Rooms) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_events_fanned_out_total", Help: "Events read from the log and fanned out."},
			func() float64 { return float64(events.Stats().Events) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_slow_subscribers_dropped_total", Help: "Subscribers dropped for falling behind."},
			func() float64 { return float64(events.Stats().Dropped + query.Sharing.Dropped()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_websocket_connections", Help: "Open WebSocket connections."},
			func() float64 { return float64(query.WS.Connections()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_websocket_refused_total", Help: "WebSocket connections refused (4429) over the per-user or per-address limit."},
			func() float64 { return float64(query.WS.Refused()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_websocket_cut_off_total", Help: "WebSocket connections closed because a write failed or took longer than the write timeout (a peer that stopped reading)."},
			func() float64 { return float64(query.WS.CutOff()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_shared_subscriptions", Help: "Executions shared by identical anonymous subscriptions."},
			func() float64 { return float64(query.Sharing.Streams()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_shared_subscription_followers", Help: "Anonymous subscriptions served by an execution they share."},
			func() float64 { return float64(query.Sharing.Spectators()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_room_subscription_groups", Help: "Room subscriptions grouped by (room, document, variables), each executed once per event."},
			func() float64 { return float64(query.Sharing.Groups()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_room_subscription_group_members", Help: "Room subscriptions served by a shared execution, signed in or not."},
			func() float64 { return float64(query.Sharing.Members()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_room_subscription_executions_total", Help: "Executions run for subscription groups (one per group per event its members may see)."},
			func() float64 { return float64(query.Sharing.Executions()) }),
	)
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

func displayAddr(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && (t.IP == nil || t.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", t.Port)
	}
	return a.String()
}

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			return dsn[:i+3] + "…" + dsn[i+3+j:]
		}
	}
	return dsn
}
