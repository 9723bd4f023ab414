package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/bullpen/bullpen/game"
)

// A participant's cash, buyingPower, positions, portfolioValue,
// totalReturn and returnPercent all come from one valuation; this cache
// computes it once per participant per response (a query's, or one
// subscription event's) instead of once per field.
type valuationsKey struct{}

type valuations struct {
	mu sync.Mutex
	m  map[int64]*valuation
}

type valuation struct {
	once sync.Once
	v    *game.Valuation
	err  error
}

// valuationOf values p, once per response.
func (r *Resolver) valuationOf(ctx context.Context, p *game.Participant) (*game.Valuation, error) {
	c, ok := ctx.Value(valuationsKey{}).(*valuations)
	if !ok {
		return r.Svc.Value(ctx, p)
	}
	c.mu.Lock()
	e, ok := c.m[p.ID]
	if !ok {
		e = &valuation{}
		c.m[p.ID] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v, e.err = r.Svc.Value(ctx, p) })
	return e.v, e.err
}

// responseCache gives every response its own valuation cache.
type responseCache struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = responseCache{}

func (responseCache) ExtensionName() string                   { return "BullpenResponseCache" }
func (responseCache) Validate(graphql.ExecutableSchema) error { return nil }
func (responseCache) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, valuationsKey{}, &valuations{m: map[int64]*valuation{}}))
}
