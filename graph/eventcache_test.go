package graph

import (
	"testing"

	"github.com/bullpen/bullpen/graph/model"
)

// TestEventCacheBounds: the cache keeps at most size events and at most
// maxBytes of payload, evicting the oldest first; one event larger than
// the byte bound is still kept (alone) until the next arrives.
func TestEventCacheBounds(t *testing.T) {
	c := newEventCache(3, 100)
	ev := func(seq int64) model.BullPenEvent { return &model.RoomStateEvent{Sequence: int(seq)} }
	has := func(seqs ...int64) {
		t.Helper()
		for _, s := range seqs {
			if _, ok := c.get(eventKey{1, s}); !ok {
				t.Errorf("event %d was evicted", s)
			}
		}
	}
	hasNot := func(seqs ...int64) {
		t.Helper()
		for _, s := range seqs {
			if _, ok := c.get(eventKey{1, s}); ok {
				t.Errorf("event %d is still held", s)
			}
		}
	}
	for s := int64(1); s <= 4; s++ {
		c.put(eventKey{1, s}, ev(s), 10)
	}
	hasNot(1)
	has(2, 3, 4) // by count
	c.put(eventKey{1, 5}, ev(5), 85)
	hasNot(2, 3)
	has(4, 5) // 10 + 85 bytes: 3 went too, by bytes
	c.put(eventKey{1, 6}, ev(6), 500)
	hasNot(4, 5)
	has(6) // over the bound alone: kept
	if c.bytes != 500 || len(c.m) != 1 || len(c.order) != 1 {
		t.Errorf("bytes %d, %d entries, order %v; want 500, 1, 1", c.bytes, len(c.m), c.order)
	}
}
