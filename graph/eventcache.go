package graph

import (
	"context"
	"sync"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
)

// eventCache keeps the GraphQL form of recent events, so an event fanned
// out to many subscribers is decoded (and its actor looked up) once, not
// once per subscriber. Events never change, so entries never go stale.
type eventCache struct {
	mu    sync.Mutex
	m     map[eventKey]model.BullPenEvent
	order []eventKey // oldest first, for eviction
	size  int
}

type eventKey struct{ room, seq int64 }

func newEventCache(size int) *eventCache {
	return &eventCache{m: make(map[eventKey]model.BullPenEvent, size), size: size}
}

func (c *eventCache) get(k eventKey) (model.BullPenEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev, ok := c.m[k]
	return ev, ok
}

func (c *eventCache) put(k eventKey, ev model.BullPenEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) >= c.size {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = ev
	c.order = append(c.order, k)
}

// cachedModelEvent is modelEvent through the cache.
func (r *Resolver) cachedModelEvent(ctx context.Context, ev *game.Event) (model.BullPenEvent, error) {
	r.eventsOnce.Do(func() { r.events = newEventCache(4096) })
	k := eventKey{ev.BullPenID, ev.Sequence}
	if m, ok := r.events.get(k); ok {
		return m, nil
	}
	m, err := r.modelEvent(ctx, ev)
	if err != nil {
		return nil, err
	}
	r.events.put(k, m)
	return m, nil
}
