package graph

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/overlap"
	"github.com/bullpen/bullpen/graph/realtime"
)

// MaxRequestBytes bounds an HTTP request body.
const MaxRequestBytes = 1 << 20

// Options tune the /query handler.
type Options struct {
	// AllowedOrigins are extra browser origins (scheme://host[:port], or
	// "*") that may open WebSockets, beyond the same host and localhost.
	AllowedOrigins []string
	Clock          clockwork.Clock
	Log            *slog.Logger
	Registerer     prometheus.Registerer
	// Configure, if set, adjusts the transports (tests shorten timeouts).
	Configure func(ws *realtime.WebSocket, sse *realtime.SSE)
	// Limits bounds every operation's tokens, fields per selection set,
	// depth, aliases and complexity (zero values: no limit).
	Limits QueryLimits
	// OperationTimeout bounds each query's and mutation's execution (0:
	// no limit).
	OperationTimeout time.Duration
	// MaxWSPerUser and MaxWSPerAddress bound the open WebSockets of one
	// signed-in user and of one client address (0: no limit).
	MaxWSPerUser, MaxWSPerAddress int
	// MaxSSEPerAddress bounds the open SSE streams of one client address
	// (0: no limit).
	MaxSSEPerAddress int
	// ClientIPHeader, if set, names the header a trusted reverse proxy
	// puts the client's address in (see ClientAddress).
	ClientIPHeader string
	// SubscriptionTimeout bounds one execution of a subscription's
	// document for one event (0: no bound; see SubscriptionBounds).
	SubscriptionTimeout time.Duration
}

// Handler serves /query: GraphQL over HTTP POST and GET, WebSocket (both
// protocols) and SSE, with authentication from the Authorization header or
// the WebSocket connection_init payload.
type Handler struct {
	http.Handler
	WS  *realtime.WebSocket
	SSE *realtime.SSE
	// Sharing runs a subscription's document once for many subscribers.
	Sharing *Sharing

	r          *Resolver
	queries    *boundedCache[*ast.QueryDocument]
	persisted  *boundedCache[string]
	validation *overlap.Check
}

// QueryCacheBytes is what the cache of parsed documents holds (at most
// QueryCacheBytes).
func (h *Handler) QueryCacheBytes() int { return h.queries.Bytes() }

// APQCacheBytes is what the cache of persisted queries holds (at most
// APQCacheBytes).
func (h *Handler) APQCacheBytes() int { return h.persisted.Bytes() }

// ValidationSteps counts the steps of every validation's overlap check
// (see package overlap): zero for a document refused before validation.
func (h *Handler) ValidationSteps() int64 { return h.validation.Steps() }

// WatchedStreams counts the WebSocket connections and SSE streams that
// end when their session does.
func (h *Handler) WatchedStreams() int { return h.r.sessions().watchedStreams() }

// Shutdown completes every subscription, closes every socket (1001) and
// waits for shared executions to stop.
func (h *Handler) Shutdown(ctx context.Context) {
	h.SSE.Shutdown(ctx)
	h.WS.Shutdown(ctx)
	h.Sharing.Close(ctx)
}

// NewHandler returns the /query handler.
func NewHandler(r *Resolver, o Options) *Handler {
	log, reg := o.Log, o.Registerer
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	ws := realtime.NewWebSocket(r.initConnection, o.Clock, log)
	// A socket upgraded with a token is closed when its session ends, also
	// before connection_init (which would otherwise take the token as it
	// was at the upgrade).
	ws.Upgraded = r.sessions().watchLive
	ws.CheckOrigin = realtime.SameOriginOrLocalhost(o.AllowedOrigins)
	sse := realtime.NewSSE(o.Clock, log)
	bounds := &SubscriptionBounds{Timeout: o.SubscriptionTimeout, Resolvers: DefaultSubscriptionResolvers, Clock: o.Clock}
	sharing := NewSharing(r, bounds)
	ws.Sharing, sse.Sharing = sharing, sharing
	ws.MaxPerUser, ws.MaxPerAddress = o.MaxWSPerUser, o.MaxWSPerAddress
	ws.Address = func(r *http.Request) string { return game.ClientAddress(r.Context()) }
	sse.MaxPerAddress, sse.Address = o.MaxSSEPerAddress, ws.Address
	ws.User = func(ctx context.Context) string {
		if u, _ := currentUser(ctx); u != nil {
			return strconv.FormatInt(u.ID, 10)
		}
		return ""
	}
	if o.Configure != nil {
		o.Configure(ws, sse)
	}
	srv.AddTransport(sse)
	srv.AddTransport(ws)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{sse: sse}) // last: it answers whatever the others do not take
	queries, persisted, validation := prepareOperations(srv, o)
	srv.Use(responseCache{})
	srv.Use(bounds)
	srv.SetErrorPresenter(ErrorPresenter(log))
	srv.SetRecoverFunc(Recover(log))
	if reg != nil {
		srv.Use(newMetrics(reg))
		r.ordersPlaced = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bullpen_orders_placed_total", Help: "Orders placed, by the status placeOrder answered (FILLED, OPEN, REJECTED).",
		}, []string{"status"})
		reg.MustRegister(r.ordersPlaced)
	}
	limited := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, MaxRequestBytes)
		// Operations over every transport (a WebSocket's too) run under
		// this context: sign-ups are counted per address from it.
		req = req.WithContext(game.WithClientAddress(req.Context(), ClientAddress(req, o.ClientIPHeader)))
		srv.ServeHTTP(w, req)
	})
	h := CORS(ws.CheckOrigin, r.authenticate(sse.Supports, limited))
	if log != nil {
		h = logRefusedOrigins(log, ws.CheckOrigin, h)
	}
	return &Handler{Handler: h, WS: ws, SSE: sse, Sharing: sharing, r: r,
		queries: queries, persisted: persisted, validation: validation}
}

// prepareOperations sets up what every operation goes through before and
// while it executes, whatever its transport: the caches, in bytes; the
// limits on its text (before parsing), on its validation (a budget) and on
// its shape (after validation); and its timeout.
func prepareOperations(srv *handler.Server, o Options) (*boundedCache[*ast.QueryDocument], *boundedCache[string], *overlap.Check) {
	queries := newBoundedCache(QueryCacheBytes, MaxCachedDocumentBytes, documentBytes)
	srv.SetQueryCache(queries)
	persisted := newBoundedCache(APQCacheBytes, MaxPersistedQueryBytes, textBytes)
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: persisted})
	limits := o.Limits
	limits.known = queries.has
	srv.Use(&limits) // after persisted queries: it checks the text they put in place
	// A second guard, in case a document reached the parser unchecked.
	srv.SetParserTokenLimit(max(limits.MaxTokens, 0))
	validation := &overlap.Check{Budget: ValidationBudget, Exceeded: validationBudgetExceeded}
	srv.SetValidationRulesFn(func() *rules.Rules {
		rs := validationRules()
		rs.ReplaceRule(overlap.Name, validation.Rule().RuleFunc)
		return rs
	})
	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	srv.Use(operationTimeout{d: o.OperationTimeout, clock: clock})
	return queries, persisted, validation
}

// initConnection authenticates a WebSocket from its connection_init
// payload: {"authorization": "Bearer <token>"} or {"authToken": "<token>"}
// (a "headers" object with Authorization works too). No token keeps the
// connection anonymous (or as the upgrade request's Authorization header
// said, if that session is still live); a bad or ended one is refused. A
// connection of a session that ends later (signOut, signOutEverywhere, on
// any instance) is closed with 4403.
func (r *Resolver) initConnection(ctx context.Context, payload map[string]any) (context.Context, error) {
	token := ""
	for _, key := range []string{"authorization", "Authorization", "authToken", "token"} {
		if v, ok := payload[key].(string); ok && v != "" {
			token = BearerToken(v)
			break
		}
	}
	if h, ok := payload["headers"].(map[string]any); ok && token == "" {
		for _, key := range []string{"authorization", "Authorization"} {
			if v, ok := h[key].(string); ok && v != "" {
				token = BearerToken(v)
			}
		}
	}
	if token != "" {
		ctx = r.withToken(ctx, token)
	}
	if _, err := currentUser(ctx); err != nil {
		return nil, err
	}
	// The connection closes (4403) when its session ends: the transport
	// closes it when the context returned here is done. The session is
	// looked up again now, whichever token names it: the upgrade
	// request's was checked when the socket opened, maybe long ago.
	ctx = r.sessions().watchLive(ctx)
	if ctx.Err() != nil {
		return nil, errBadToken
	}
	return ctx, nil
}

// metrics counts operations and their errors by code.
type metrics struct {
	ops      *prometheus.CounterVec
	errs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bullpen_graphql_operations_total", Help: "GraphQL operations by type.",
		}, []string{"type"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bullpen_graphql_errors_total", Help: "GraphQL errors by extensions.code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bullpen_graphql_operation_seconds", Help: "Time to execute a GraphQL query or mutation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"type"}),
	}
	reg.MustRegister(m.ops, m.errs, m.duration)
	return m
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*metrics)(nil)

func (m *metrics) ExtensionName() string                   { return "BullpenMetrics" }
func (m *metrics) Validate(graphql.ExecutableSchema) error { return nil }
func (m *metrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	typ := "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	start := time.Now()
	resp := next(ctx)
	if typ != string(ast.Subscription) {
		m.ops.WithLabelValues(typ).Inc()
		m.duration.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	}
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			if code == "" {
				code = game.EINTERNAL
			}
			m.errs.WithLabelValues(code).Inc()
		}
	}
	return resp
}
