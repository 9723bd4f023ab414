// Package server assembles and runs the Bullpen server: flags and the
// environment into a config, the store, the market, the game, the
// GraphQL handler and the listener, and a graceful shutdown. The bullpen
// command (server.go at the repository root) calls Main.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
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

// leaderKey is the advisory lock the instance that runs the price feed and
// the periodic snapshots holds.
const leaderKey = 0x42554c4c50454e // "BULLPEN"

// Hooks lets tests reach inside a running server. Every field is
// optional.
type Hooks struct {
	// Clock replaces the real clock (tests inject a fake one).
	Clock clockwork.Clock
	// Started is called once the server listens.
	Started func(addr string, svc *game.Service, query *graph.Handler, events *hub.Hub)
	// Configure adjusts the transports after the flags have (tests
	// shorten write timeouts and queues).
	Configure func(ws *realtime.WebSocket, sse *realtime.SSE)
	// ListenControl, if set, is the public listener's
	// net.ListenConfig.Control: it sets options of the listening socket,
	// which the connections it accepts inherit. Tests bound the send
	// buffer with it, so that a peer that stops reading fills its socket
	// after kilobytes, not the megabytes Linux grows the buffer to.
	ListenControl func(network, address string, c syscall.RawConn) error
}

// Run is the bullpen command: `bullpen admin …` manages the admin role,
// anything else serves until ctx is done and then shuts down: stop
// accepting, finish requests, stop background work, close the database,
// in that order. Each step below is one part of that story.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, h *Hooks) error {
	if len(args) > 0 && args[0] == "admin" {
		return runAdmin(ctx, args[1:], getenv, stdout)
	}
	c, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	if h == nil {
		h = &Hooks{}
	}
	s := &server{c: c, h: h, log: slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo})), clock: h.Clock}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if c.clockOffset != 0 {
		s.clock = shiftedClock{Clock: s.clock, offset: c.clockOffset}
	}
	defer s.closeAll()
	for _, step := range []func(context.Context) error{
		s.startMarket,  // a replay file with a bad row stops the server before anything else
		s.listen,       // a busy port fails at once
		s.openStore,    // one server per SQLite file; migrations applied
		s.startGame,    // the rules, sessions, admins
		s.startHub,     // committed events and prices to subscribers
		s.buildHandler, // GraphQL on every transport, the pages, the exports, metrics
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	s.startBackground(ctx)
	return s.serve(ctx)
}

// server is what Run assembles, step by step.
type server struct {
	c     config
	h     *Hooks
	log   *slog.Logger
	clock clockwork.Clock
	// closers undo the steps, newest first (closeAll).
	closers []func()

	feed        market.Feed
	ln, pln     net.Listener // the public listener; the profiler's, apart
	store       *db.Store
	secret      []byte
	svc         *game.Service
	tokens      *auth.Tokens
	instruments []market.Instrument
	events      *hub.Hub
	quotes      *hub.Quotes
	query       *graph.Handler
	reg         *prometheus.Registry
	srv         *http.Server
	conns       *connlimit.Listener

	// Background work: each goroutine stops when work is cancelled.
	work     context.Context
	stopWork context.CancelFunc
	wg       sync.WaitGroup
}

func (s *server) onClose(f func()) { s.closers = append(s.closers, f) }

func (s *server) closeAll() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// startMarket builds the price feed (simulated, manual or a replay).
func (s *server) startMarket(context.Context) error {
	seed := s.c.seed
	if seed == 0 {
		seed = s.clock.Now().UnixNano()
	}
	feed, err := market.Parse(s.c.market, s.clock, seed)
	if err != nil {
		return fmt.Errorf("%s: %w", s.c.source("market"), err)
	}
	s.feed = feed
	return nil
}

// listen takes the public address, and the profiler's if -pprof is set.
func (s *server) listen(ctx context.Context) error {
	lc := net.ListenConfig{Control: s.h.ListenControl}
	ln, err := lc.Listen(ctx, "tcp", s.c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.c.addr, err)
	}
	s.ln = ln
	s.onClose(func() { ln.Close() })
	if s.c.pprof != "" {
		if s.pln, err = net.Listen("tcp", s.c.pprof); err != nil {
			return fmt.Errorf("-pprof: listen on %s: %w", s.c.pprof, err)
		}
		s.onClose(func() { s.pln.Close() })
	}
	return nil
}

// openStore claims the SQLite file (one server per file: it alone writes
// there, with its caches), opens the database, applies its migrations and
// loads the secret that signs tokens.
func (s *server) openStore(ctx context.Context) error {
	release, err := db.ClaimSQLite(s.c.db)
	if err != nil {
		return err
	}
	s.onClose(release)
	if s.store, err = db.OpenWith(ctx, s.c.db, s.clock, s.log, db.Options{Committers: s.c.pgCommitters}); err != nil {
		return err
	}
	s.onClose(func() { s.store.Close() })
	s.secret, err = auth.LoadSecret(ctx, s.store, s.c.secret)
	return err
}

// startGame makes the game's service over the store and the market, and
// gives -admins their role.
func (s *server) startGame(ctx context.Context) error {
	if r, ok := s.feed.(market.Resumer); ok {
		// A feed taking over from another instance (or a restart) goes on
		// from the last prices rather than jumping back to references.
		r.ResumeFrom(func(ctx context.Context) map[string]decimal.Decimal {
			known := map[string]decimal.Decimal{}
			if qs, err := s.store.Quotes(ctx); err == nil {
				for _, q := range qs {
					known[q.Symbol] = q.Price
				}
			}
			return known
		})
	}
	if as, ok := s.feed.(market.ActionSource); ok {
		// A replay's corporate actions: announced when the replay reaches
		// them (once per row, however often the file is replayed) and
		// applied before its next price.
		as.OnAction(func(ctx context.Context, a market.Action) error {
			if _, err := s.svc.AnnounceFromFeed(ctx, game.CorporateActionKind(a.Kind), a.Symbol, a.Value, a.PayAfter, a.Source); err != nil && ctx.Err() == nil {
				s.log.Error("replay: corporate action", "source", a.Source, "err", err)
			}
			return nil
		})
	}
	if sp, ok := s.feed.(market.Splitter); ok {
		// A split rescales the stored quote; a feed walking prices of its
		// own rescales them too, whichever instance applied the split.
		sp.SplitsFrom(s.splitRatios)
	}
	s.instruments = s.feed.Instruments()
	symbols := make(map[string]string, len(s.instruments))
	for _, in := range s.instruments {
		symbols[in.Symbol] = in.Name
	}
	admins := map[string]bool{}
	for _, a := range splitList(s.c.admins) {
		admins[a] = true
	}
	c := s.c
	s.svc = game.NewService(game.Config{
		Store: s.store, Clock: s.clock, Log: s.log, Instruments: symbols, ManualMarket: s.feed.Name() == market.NameManual,
		Admins: admins, Passwords: auth.Bcrypt{Cost: c.bcryptCost},
		OrdersPerSecond: c.ordersPerSecond, SignUpsPerHour: c.signUpsPerHour,
		CacheSessions:     s.store.Dialect() == db.SQLite, // SQLite: this process is the only writer
		LeaderboardPeriod: c.leaderboardPeriod,
		AddressKey:        auth.AddressKey(s.secret),
	})
	s.tokens = auth.NewTokens(s.secret, s.clock, c.tokenTTL)
	// -admins reaches only accounts that exist now: one signed up later
	// under a listed name gets nothing (grant it with bullpen admin).
	missing, err := s.svc.ApplyAdmins(ctx)
	if err != nil {
		return fmt.Errorf("-admins: %w", err)
	}
	for _, name := range missing {
		s.log.Warn("-admins names an account that does not exist, or did not when a server first started with the name listed: it gets no admin role (use bullpen admin grant)", "username", name)
	}
	return nil
}

// startHub makes the hub that fans committed events and prices out to
// subscribers.
func (s *server) startHub(context.Context) error {
	s.events = hub.New(s.store, s.clock, s.log)
	s.onClose(s.events.Close)
	s.store.OnCommit(s.events.Notify)
	s.quotes = hub.NewQuotes(hub.DefaultQueueSize)
	if s.store.Dialect() == db.SQLite {
		s.svc.OnQuote(s.quotes.Publish)
	} // on PostgreSQL every instance, this one too, hears prices through NOTIFY
	return nil
}

// buildHandler makes /query (every transport), the pages, the exports,
// health and metrics, and the HTTP server with its timeouts and
// connection limits.
func (s *server) buildHandler(ctx context.Context) error {
	c, h := s.c, s.h
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	resolver := &graph.Resolver{Svc: s.svc, Tokens: s.tokens, Catalogue: s.instruments, Hub: s.events, Quotes: s.quotes, Log: s.log}
	s.query = graph.NewHandler(resolver, graph.Options{AllowedOrigins: splitList(c.allowedOrigins), Clock: s.clock, Log: s.log, Registerer: s.reg,
		Limits: graph.QueryLimits{MaxDepth: c.maxDepth, MaxAliases: c.maxAliases, MaxComplexity: c.maxComplexity,
			MaxTokens: c.maxTokens, MaxFields: c.maxSelectionFields},
		OperationTimeout: c.operationTimeout,
		MaxWSPerUser:     c.maxWSPerUser, MaxWSPerAddress: c.maxWSPerAddress, MaxSSEPerAddress: c.maxSSEPerAddress, ClientIPHeader: c.clientIPHeader,
		SubscriptionTimeout: c.subscriptionTimeout,
		Configure: func(ws *realtime.WebSocket, sse *realtime.SSE) {
			ws.InitTimeout, ws.KeepAlive, sse.KeepAlive = c.wsInitTimeout, c.keepAlive, c.keepAlive
			if h.Configure != nil {
				h.Configure(ws, sse)
			}
		}})
	registerMetrics(s.reg, s.events, s.query)
	var handler http.Handler = s.routes()
	if c.accessLog {
		handler = accessLog(s.log, handler)
	}
	// ReadTimeout bounds reading a request, headers and body; net/http
	// lifts it once the body is read (it then reads the connection only to
	// notice a client that goes), so a long answer, an SSE stream or a
	// WebSocket outlives it.
	s.srv = &http.Server{Handler: handler, ReadHeaderTimeout: c.readHeaderTimeout, ReadTimeout: c.readTimeout, IdleTimeout: c.idleTimeout,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.conns = listenLimited(s.ln, s.srv, c, s.log)
	registerConnMetrics(s.reg, s.conns, s.query)
	// On shutdown, complete every subscription and close sockets with 1001
	// while the server stops accepting and drains requests.
	shutdownCtx, cancelShutdown := context.WithCancel(context.Background())
	s.onClose(cancelShutdown)
	s.srv.RegisterOnShutdown(func() { s.query.Shutdown(shutdownCtx) })
	return nil
}

// routes are the paths of the one listener.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/query", s.query)
	mux.Handle("/", web.Handler()) // GraphiQL, every asset embedded
	// The live room page; /rooms/{id}/… stays free for other routes.
	mux.Handle("GET /rooms/{id}", web.Room())
	// A league's live standings page.
	mux.Handle("GET /leagues/{id}", web.League())
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
		if err := s.store.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	exports := s.query.Exports() // results export, as the caller may see it
	for _, path := range []string{graph.ResultsCSVPath, graph.TradesCSVPath, graph.IntegrityCSVPath} {
		mux.Handle("GET "+path, exports)
		mux.Handle("OPTIONS "+path, exports) // CORS preflight
	}
	return mux
}

// startBackground starts the clock-driven work: the scheduler, the
// periodic leaderboards, the listener for other instances' changes, and
// the leader's price feed; and the profiler if asked for.
func (s *server) startBackground(ctx context.Context) {
	s.work, s.stopWork = context.WithCancel(context.WithoutCancel(ctx))
	s.onClose(s.stopWork)
	goRun := func(name string, fn func(context.Context) error) {
		s.wg.Go(func() {
			if err := fn(s.work); err != nil && s.work.Err() == nil {
				s.log.Error("background task failed", "task", name, "err", err)
			}
		})
	}
	goRun("scheduler", s.svc.RunScheduler)
	goRun("leaderboards", s.svc.RunLeaderboards)
	goRun("listener", func(ctx context.Context) error {
		return s.store.Listen(ctx, db.Listener{
			Rooms: func(rooms map[int64]int64) {
				if rooms == nil {
					s.events.NotifyAll()
				} else {
					s.events.Notify(rooms)
				}
			},
			Quote: func(symbol string) {
				if q, err := s.store.Quote(ctx, symbol); err == nil {
					s.quotes.Publish(*q)
				}
			},
			// Another instance signed someone out: close the connections
			// of theirs that this instance holds.
			Sessions: s.svc.SessionsEnded,
		})
	})
	// Clock-driven singletons: with several instances on PostgreSQL one
	// leader (an advisory lock) produces prices and takes the periodic
	// leaderboard snapshots; another takes over when it dies.
	s.svc.SetPeriodicSnapshots(false)
	goRun("leader", func(ctx context.Context) error {
		return s.store.Leader(ctx, leaderKey, 2*time.Second, func(ctx context.Context) error {
			s.svc.SetPeriodicSnapshots(true)
			defer s.svc.SetPeriodicSnapshots(false)
			if err := s.runFeed(ctx); err != nil {
				return err
			}
			<-ctx.Done() // a replay has ended: stay leader, replay nothing twice
			return nil
		})
	})
	if s.pln != nil {
		psrv := &http.Server{Handler: profiler(), ReadHeaderTimeout: 10 * time.Second}
		goRun("pprof", func(ctx context.Context) error {
			stop := context.AfterFunc(ctx, func() { _ = psrv.Close() })
			defer stop()
			s.log.Info("profiler listening", "addr", s.pln.Addr().String())
			if err := psrv.Serve(s.pln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
}

// splitRatios is each symbol's cumulative split ratio (the product of
// its applied splits' ratios), or nil when the store cannot say now.
func (s *server) splitRatios(ctx context.Context) map[string]decimal.Decimal {
	splits, err := s.store.AppliedSplits(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("reading applied splits", "err", err)
		}
		return nil
	}
	out := map[string]decimal.Decimal{}
	for _, a := range splits {
		r, ok := out[a.Symbol]
		if !ok {
			r = decimal.NewFromInt(1)
		}
		out[a.Symbol] = r.Mul(*a.Ratio)
	}
	return out
}

// runFeed stores each price the market produces, with the fills it
// triggers, until ctx is done.
func (s *server) runFeed(ctx context.Context) error {
	return s.feed.Run(ctx, func(ctx context.Context, t market.Tick) error {
		if _, err := s.svc.TickQuote(ctx, game.PriceTick{Symbol: t.Symbol, Price: t.Price, Bid: t.Bid, Ask: t.Ask, Volume: t.Volume}); err != nil && ctx.Err() == nil {
			s.log.Error("tick", "symbol", t.Symbol, "err", err)
		}
		return nil
	})
}

// serve answers requests until ctx is done (or the listener fails), then
// shuts down.
func (s *server) serve(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.srv.Serve(s.conns) }()
	base := "http://" + displayAddr(s.ln.Addr())
	s.log.Info("bullpen listening", "addr", s.ln.Addr().String(), "db", RedactDSN(s.c.db), "market", s.feed.Name(),
		"graphiql", base+"/", "room_page", base+"/rooms/{id}", "league_page", base+"/leagues/{id}")
	if s.h.Started != nil {
		s.h.Started(s.ln.Addr().String(), s.svc, s.query, s.events)
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		s.stopWork()
		s.wg.Wait()
		return err
	}
	return s.shutdown(serveErr)
}

// shutdown stops accepting and drains requests, completes every
// subscription, stops the background work and the hub; closeAll then
// closes the database.
func (s *server) shutdown(serveErr <-chan error) error {
	s.log.Info("shutting down")
	drainCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(drainCtx)
	s.query.Shutdown(drainCtx) // also waits for the sockets the server no longer tracks
	<-serveErr
	s.stopWork()
	s.wg.Wait()
	s.events.Close()
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

func displayAddr(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && (t.IP == nil || t.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", t.Port)
	}
	return a.String()
}

// RedactDSN hides a password in a database URL before it is logged.
func RedactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			return dsn[:i+3] + "…" + dsn[i+3+j:]
		}
	}
	return dsn
}
