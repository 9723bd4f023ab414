package graph

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
)

// MaxComplexity bounds how much work one operation may ask for.
const MaxComplexity = 5000

// NewHandler returns the /query handler: GraphQL over HTTP POST and GET,
// with authentication from the Authorization header.
func NewHandler(r *Resolver, log *slog.Logger, reg prometheus.Registerer) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	srv.SetErrorPresenter(ErrorPresenter(log))
	srv.SetRecoverFunc(Recover(log))
	if reg != nil {
		srv.Use(newMetrics(reg))
	}
	return Authenticate(r.Tokens, r.Svc.Store(), srv)
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
