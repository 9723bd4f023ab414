package graph

import (
	"context"
	"sync"

	"github.com/bullpen/bullpen/game"
)

// userCache keeps users' public profiles: a user never changes, so a
// leaderboard of a thousand entries (fanned out to every subscriber) reads
// each name from the database once, not once per entry per response.
type userCache struct {
	mu sync.RWMutex
	m  map[int64]*game.User
}

// maxCachedUsers bounds the cache (about 200 bytes a user); past it the
// cache starts over.
const maxCachedUsers = 100_000

// cachedUsers finds users through the resolver's cache (for Authenticate).
type cachedUsers struct{ r *Resolver }

func (c cachedUsers) User(ctx context.Context, id int64) (*game.User, error) {
	return c.r.userByID(ctx, id)
}

// userByID returns user id through the cache.
func (r *Resolver) userByID(ctx context.Context, id int64) (*game.User, error) {
	r.usersOnce.Do(func() { r.users = &userCache{m: map[int64]*game.User{}} })
	c := r.users
	c.mu.RLock()
	u, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := r.Svc.User(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedUsers {
		clear(c.m)
	}
	c.m[id] = u
	c.mu.Unlock()
	return u, nil
}
