package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/bullpen/bullpen/game"
)

// Per-response memo: a participant's money fields all come from one
// valuation, and every participant's rank from the room's latest
// snapshot; each is read once per response (a query's, or one subscription
// event's) instead of once per field or per participant.
type memoKey struct{}

type memo struct {
	mu sync.Mutex
	m  map[any]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
	err  error
}

// remember returns fn's result for key, computing it once per response.
func remember[T any](ctx context.Context, key any, fn func() (T, error)) (T, error) {
	m, ok := ctx.Value(memoKey{}).(*memo)
	if !ok {
		return fn()
	}
	m.mu.Lock()
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry{}
		m.m[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v, e.err = fn() })
	v, _ := e.v.(T)
	return v, e.err
}

type (
	valuationKey struct{ participant int64 }
	snapshotKey  struct{ room int64 }
	viewKey      struct{ room int64 }
)

// valuationOf values p as the caller may see it, once per response.
func (r *Resolver) valuationOf(ctx context.Context, p *game.Participant) (*game.Valuation, error) {
	return remember(ctx, valuationKey{p.ID}, func() (*game.Valuation, error) {
		v, err := r.view(ctx, p.BullPenID)
		if err != nil {
			return nil, err
		}
		return v.Standing(ctx, p)
	})
}

// latestSnapshot is the room's newest leaderboard, or nil, once per response.
func (r *Resolver) latestSnapshot(ctx context.Context, v *game.View) (*game.LeaderboardSnapshot, error) {
	return remember(ctx, snapshotKey{v.Room.ID}, func() (*game.LeaderboardSnapshot, error) {
		return v.Leaderboard(ctx)
	})
}

// responseCache gives every response its own memo.
type responseCache struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = responseCache{}

func (responseCache) ExtensionName() string                   { return "BullpenResponseCache" }
func (responseCache) Validate(graphql.ExecutableSchema) error { return nil }
func (responseCache) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, memoKey{}, &memo{m: map[any]*memoEntry{}}))
}
