package graph

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bullpen/bullpen/graph/realtime"
)

// Run serves an anonymous spectator's subscription from the stream of
// identical ones (see anonymousKey), starting it with execute if none
// runs; any other subscription is left to the transport.
func (f *Sharing) Run(ctx context.Context, rc *graphql.OperationContext, execute realtime.Execution, send func(json.RawMessage) bool) (gqlerror.List, bool) {
	key, ok := anonymousKey(ctx, rc)
	if !ok {
		return nil, false
	}
	return f.streams.serve(ctx, key, execute, send), true
}

// anonymousKey lets anonymous spectators' identical live subscriptions
// share one stream: what they may see does not depend on who they are, and
// a stream without afterSequence does not depend on when they joined.
// Signed-in users see their own trades, so their subscriptions never share
// a stream (a group may serve them, see Sharing).
func anonymousKey(ctx context.Context, rc *graphql.OperationContext) (string, bool) {
	if u, err := currentUser(ctx); err != nil || u != nil {
		return "", false
	}
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return "", false
	}
	switch f := fields[0]; f.Name {
	case "leaderboardUpdates", "roomStateChanged", "quotes":
	case "bullPenEvents":
		if f.ArgumentMap(rc.Variables)["afterSequence"] != nil {
			return "", false // a replay depends on when it starts
		}
	default:
		return "", false
	}
	vars, err := json.Marshal(rc.Variables) // map keys come out sorted
	if err != nil {
		return "", false
	}
	return "anonymous\x00" + rc.OperationName + "\x00" + rc.RawQuery + "\x00" + string(vars), true
}

// streams run identical subscriptions once: the first spectator of a key
// starts one execution, every result is encoded once and handed to each
// spectator's bounded queue, and the execution stops with its last
// spectator. A spectator that falls queue results behind is dropped with
// an error, without slowing the others. A thousand anonymous spectators of
// one room's leaderboard cost one execution, not a thousand.
type streams struct {
	queue int // results a spectator may have waiting

	mu      sync.Mutex
	running map[string]*stream
	wg      sync.WaitGroup
}

func newStreams() *streams {
	return &streams{queue: 1024, running: map[string]*stream{}}
}

// stream is one shared execution and its spectators.
type stream struct {
	cancel context.CancelFunc
	limit  int // results a spectator may have waiting

	mu         sync.Mutex
	spectators map[*spectator]struct{}
}

// spectator is one subscriber of a stream. Its queue is a slice that
// grows only as results wait (a channel of streams.queue slots would cost
// every idle spectator its full size).
type spectator struct {
	mu    sync.Mutex
	queue []json.RawMessage
	ready chan struct{} // cap 1: results are waiting
	done  chan struct{} // closed when the stream ends or drops this spectator
	errs  gqlerror.List // why, set before done closes
	once  sync.Once
}

// push queues b unless limit results are waiting.
func (p *spectator) push(b json.RawMessage, limit int) bool {
	p.mu.Lock()
	if len(p.queue) >= limit {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, b)
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the waiting results.
func (p *spectator) take() []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queue
	p.queue = nil
	return q
}

func (p *spectator) finish(errs gqlerror.List) {
	p.once.Do(func() {
		p.errs = errs
		close(p.done)
	})
}

// count reports how many streams' executions are running.
func (s *streams) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// spectators reports how many subscriptions streams serve.
func (s *streams) spectators() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.running {
		st.mu.Lock()
		n += len(st.spectators)
		st.mu.Unlock()
	}
	return n
}

// wait waits (until ctx is done) for every stream's execution to stop.
func (s *streams) wait(ctx context.Context) {
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

// serve joins (or starts) the stream of key and forwards its results to
// send until ctx is done, the stream ends, or this spectator is dropped.
func (s *streams) serve(ctx context.Context, key string, start realtime.Execution, send func(json.RawMessage) bool) gqlerror.List {
	p := &spectator{ready: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	st, ok := s.running[key]
	if ok {
		st.mu.Lock()
		st.spectators[p] = struct{}{}
		st.mu.Unlock()
	} else {
		// The execution outlives whoever started it: it keeps the
		// starter's values (who is asking, the operation) but not its
		// cancellation, and stops with its last spectator.
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		st = &stream{cancel: cancel, limit: s.queue, spectators: map[*spectator]struct{}{p: {}}}
		s.running[key] = st
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			errs := start(runCtx, st.broadcast)
			s.mu.Lock()
			if s.running[key] == st {
				delete(s.running, key)
			}
			s.mu.Unlock()
			st.end(errs)
		}()
	}
	s.mu.Unlock()

	defer s.leave(key, st, p)
	sendAll := func() bool {
		for _, b := range p.take() {
			if !send(b) {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-p.ready:
			if !sendAll() {
				return nil
			}
		case <-p.done:
			if !sendAll() {
				return nil
			}
			return p.errs
		case <-ctx.Done():
			return nil
		}
	}
}

// leave removes p, stopping the execution with its last spectator.
func (s *streams) leave(key string, st *stream, p *spectator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.mu.Lock()
	delete(st.spectators, p)
	empty := len(st.spectators) == 0
	st.mu.Unlock()
	if empty {
		if s.running[key] == st {
			delete(s.running, key)
		}
		st.cancel()
	}
}

// broadcast hands one encoded result to every spectator without waiting.
func (st *stream) broadcast(b json.RawMessage) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for p := range st.spectators {
		if !p.push(b, st.limit) {
			delete(st.spectators, p)
			p.finish(gqlerror.List{{
				Message:    "subscriber too slow: results were dropped; subscribe again (bullPenEvents with afterSequence replays what was missed)",
				Extensions: map[string]any{"code": "RATE_LIMITED", "reason": "SLOW_CONSUMER"},
			}})
		}
	}
	return true
}

// end tells every spectator the stream is over.
func (st *stream) end(errs gqlerror.List) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for p := range st.spectators {
		p.finish(errs)
	}
}
