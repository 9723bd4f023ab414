package realtime

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// KeyFunc says whether a subscription's results may be shared with every
// other subscription of the same key: its output must not depend on who
// asks (beyond what the key holds) nor on when one joins.
type KeyFunc func(ctx context.Context, rc *graphql.OperationContext) (key string, ok bool)

// Sharing runs identical subscriptions once: the first subscriber of a key
// starts one execution, every result is encoded once and handed to each
// follower's bounded queue, and the execution stops with its last
// follower. A follower that falls FollowerQueue results behind is dropped
// with an error, without slowing the others. A thousand anonymous
// spectators of one room's leaderboard cost one execution, not a thousand.
type Sharing struct {
	Key           KeyFunc
	FollowerQueue int

	mu      sync.Mutex
	streams map[string]*sharedStream
	wg      sync.WaitGroup
}

// NewSharing returns a Sharing that shares what key allows.
func NewSharing(key KeyFunc) *Sharing {
	return &Sharing{Key: key, FollowerQueue: 1024, streams: map[string]*sharedStream{}}
}

func (s *Sharing) key(ctx context.Context, rc *graphql.OperationContext) (string, bool) {
	if s.Key == nil {
		return "", false
	}
	return s.Key(ctx, rc)
}

type sharedStream struct {
	cancel context.CancelFunc
	limit  int // results a follower may have waiting

	mu        sync.Mutex
	followers map[*follower]struct{}
}

// follower is one subscriber of a shared execution. Its queue is a slice
// that grows only as results wait (a channel of FollowerQueue slots would
// cost every idle spectator its full size).
type follower struct {
	mu    sync.Mutex
	queue []json.RawMessage
	ready chan struct{} // cap 1: results are waiting
	done  chan struct{} // closed when the stream ends or drops this follower
	errs  gqlerror.List // why, set before done closes
	once  sync.Once
}

// push queues b unless limit results are waiting.
func (f *follower) push(b json.RawMessage, limit int) bool {
	f.mu.Lock()
	if len(f.queue) >= limit {
		f.mu.Unlock()
		return false
	}
	f.queue = append(f.queue, b)
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the waiting results.
func (f *follower) take() []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queue
	f.queue = nil
	return q
}

func (f *follower) finish(errs gqlerror.List) {
	f.once.Do(func() {
		f.errs = errs
		close(f.done)
	})
}

// Streams reports how many shared executions are running.
func (s *Sharing) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// Followers reports how many subscriptions follow shared executions.
func (s *Sharing) Followers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.streams {
		st.mu.Lock()
		n += len(st.followers)
		st.mu.Unlock()
	}
	return n
}

// Wait waits (until ctx is done) for every shared execution to stop.
func (s *Sharing) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// follow joins (or starts) the execution of key and forwards its results
// to send until ctx is done, the stream ends, or this follower is dropped.
func (s *Sharing) follow(ctx context.Context, key string, start func(context.Context, func(json.RawMessage) bool) gqlerror.List, send func(json.RawMessage) bool) gqlerror.List {
	f := &follower{ready: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	st, ok := s.streams[key]
	if ok {
		st.mu.Lock()
		st.followers[f] = struct{}{}
		st.mu.Unlock()
	} else {
		// The execution outlives whoever started it: it keeps the
		// starter's values (who is asking, the operation) but not its
		// cancellation, and stops with its last follower.
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		st = &sharedStream{cancel: cancel, limit: s.FollowerQueue, followers: map[*follower]struct{}{f: {}}}
		s.streams[key] = st
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			errs := start(runCtx, st.broadcast)
			s.mu.Lock()
			if s.streams[key] == st {
				delete(s.streams, key)
			}
			s.mu.Unlock()
			st.end(errs)
		}()
	}
	s.mu.Unlock()

	defer s.unfollow(key, st, f)
	sendAll := func() bool {
		for _, b := range f.take() {
			if !send(b) {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-f.ready:
			if !sendAll() {
				return nil
			}
		case <-f.done:
			if !sendAll() {
				return nil
			}
			return f.errs
		case <-ctx.Done():
			return nil
		}
	}
}

// unfollow removes f, stopping the execution with its last follower.
func (s *Sharing) unfollow(key string, st *sharedStream, f *follower) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.mu.Lock()
	delete(st.followers, f)
	empty := len(st.followers) == 0
	st.mu.Unlock()
	if empty {
		if s.streams[key] == st {
			delete(s.streams, key)
		}
		st.cancel()
	}
}

// broadcast hands one encoded result to every follower without waiting.
func (st *sharedStream) broadcast(b json.RawMessage) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for f := range st.followers {
		if !f.push(b, st.limit) {
			delete(st.followers, f)
			f.finish(gqlerror.List{{
				Message:    "subscriber too slow: results were dropped; subscribe again (bullPenEvents with afterSequence replays what was missed)",
				Extensions: map[string]any{"code": "RATE_LIMITED", "reason": "SLOW_CONSUMER"},
			}})
		}
	}
	return true
}

// end tells every follower the stream is over.
func (st *sharedStream) end(errs gqlerror.List) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for f := range st.followers {
		f.finish(errs)
	}
}
