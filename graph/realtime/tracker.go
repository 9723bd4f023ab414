package realtime

import (
	"context"
	"sync"
)

// stream is a live connection or event stream that shutdown must end.
type stream interface {
	comparable
	// stop asks the stream to complete its operations and close.
	stop()
	// done is closed once the stream has finished.
	done() <-chan struct{}
}

// tracker keeps the live streams of a transport so shutdown can end them.
type tracker[S stream] struct {
	mu       sync.Mutex
	live     map[S]struct{}
	shutdown bool
}

// add registers s; it reports false once shutdown has begun.
func (t *tracker[S]) add(s S) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutdown {
		return false
	}
	if t.live == nil {
		t.live = map[S]struct{}{}
	}
	t.live[s] = struct{}{}
	return true
}

func (t *tracker[S]) remove(s S) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, s)
}

func (t *tracker[S]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live)
}

// stopAll refuses new streams, stops every live one and waits (until ctx
// is done) for them to finish.
func (t *tracker[S]) stopAll(ctx context.Context) {
	t.mu.Lock()
	t.shutdown = true
	t.mu.Unlock()
	all := t.snapshot()
	for _, s := range all {
		s.stop()
	}
	for _, s := range all {
		select {
		case <-s.done():
		case <-ctx.Done():
			return
		}
	}
}

// each calls f for every live stream (a snapshot: f runs without the
// tracker's lock).
func (t *tracker[S]) each(f func(S)) {
	for _, s := range t.snapshot() {
		f(s)
	}
}

// filter returns the live streams that keep says to, asked under the
// tracker's lock.
func (t *tracker[S]) filter(keep func(S) bool) []S {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []S
	for s := range t.live {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// snapshot returns the live streams.
func (t *tracker[S]) snapshot() []S {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]S, 0, len(t.live))
	for s := range t.live {
		all = append(all, s)
	}
	return all
}

// counts counts open connections per key (a client address, a user) so
// that each key may hold at most a given number.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes one connection for key; it reports false, and takes
// nothing, when key holds limit already. A limit of 0 or less (or an
// empty key) admits everything and counts nothing.
func (c *counts) acquire(key string, limit int) bool {
	if limit <= 0 || key == "" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= limit {
		return false
	}
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
	return true
}

// release gives back one connection of key taken by acquire.
func (c *counts) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] <= 1 {
		delete(c.n, key)
		return
	}
	c.n[key]--
}

// get reports the connections key holds.
func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}
