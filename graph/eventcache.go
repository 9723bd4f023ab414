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
//
// It holds at most size events and at most maxBytes of their stored
// payloads: a leaderboard of 5,000 entries is about a megabyte stored and
// several decoded, and a count alone let a big room's snapshots pile up
// (a snapshot every two seconds kept for 4,096 events is gigabytes).
type eventCache struct {
	mu       sync.Mutex
	m        map[eventKey]cachedEvent
	order    []eventKey // oldest first, for eviction
	size     int
	maxBytes int
	bytes    int // payload bytes of what is held
}

type eventKey struct{ room, seq int64 }

type cachedEvent struct {
	ev    model.BullPenEvent
	bytes int
}

// Default bounds of the event cache.
const (
	eventCacheSize  = 4096
	eventCacheBytes = 8 << 20
)

func newEventCache(size, maxBytes int) *eventCache {
	return &eventCache{m: make(map[eventKey]cachedEvent, size), size: size, maxBytes: maxBytes}
}

func (c *eventCache) get(k eventKey) (model.BullPenEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e.ev, ok
}

// put keeps ev, whose stored payload is payloadBytes long, evicting the
// oldest events while either bound is passed (the newest always stays).
func (c *eventCache) put(k eventKey, ev model.BullPenEvent, payloadBytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = cachedEvent{ev: ev, bytes: payloadBytes}
	c.order = append(c.order, k)
	c.bytes += payloadBytes
	for len(c.order) > 1 && (len(c.order) > c.size || c.bytes > c.maxBytes) {
		old := c.order[0]
		c.bytes -= c.m[old].bytes
		delete(c.m, old)
		c.order[0] = eventKey{}
		c.order = c.order[1:]
	}
}

// cachedModelEvent is modelEvent through the cache.
func (r *Resolver) cachedModelEvent(ctx context.Context, ev *game.Event) (model.BullPenEvent, error) {
	r.eventsOnce.Do(func() { r.events = newEventCache(eventCacheSize, eventCacheBytes) })
	k := eventKey{ev.BullPenID, ev.Sequence}
	if m, ok := r.events.get(k); ok {
		return m, nil
	}
	m, err := r.modelEvent(ctx, ev)
	if err != nil {
		return nil, err
	}
	r.events.put(k, m, len(ev.Payload))
	return m, nil
}
