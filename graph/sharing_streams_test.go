package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// source is a stream's execution the test drives by hand.
type source struct {
	starts atomic.Int32
	emit   chan func(json.RawMessage) bool
	stop   chan gqlerror.List
	ctxs   chan context.Context
}

func newSource() *source {
	return &source{emit: make(chan func(json.RawMessage) bool, 1), stop: make(chan gqlerror.List, 1), ctxs: make(chan context.Context, 1)}
}

func (s *source) start(ctx context.Context, emit func(json.RawMessage) bool) gqlerror.List {
	s.starts.Add(1)
	s.emit <- emit
	s.ctxs <- ctx
	select {
	case <-ctx.Done():
		return nil
	case errs := <-s.stop:
		return errs
	}
}

// collected is what a spectator of a key receives until its stream ends.
type collected struct {
	mu   sync.Mutex
	got  []string
	errs gqlerror.List
	done chan struct{}
}

func spectate(ctx context.Context, sh *streams, key string, src *source, read <-chan struct{}) *collected {
	c := &collected{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		errs := sh.serve(ctx, key, src.start, func(b json.RawMessage) bool {
			if read != nil {
				<-read // a spectator that reads only when told
			}
			c.mu.Lock()
			c.got = append(c.got, string(b))
			c.mu.Unlock()
			return true
		})
		c.mu.Lock()
		c.errs = errs
		c.mu.Unlock()
	}()
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // waiting for goroutines, not a timer
	}
}

func TestStreamsRunsOneExecutionForManySpectators(t *testing.T) {
	sh := newStreams()
	src := newSource()
	ctx, cancel := context.WithCancel(context.Background())
	var cs []*collected
	for range 50 {
		cs = append(cs, spectate(ctx, sh, "k", src, nil))
	}
	emit := <-src.emit
	<-src.ctxs
	waitFor(t, "50 spectators", func() bool { return sh.spectators() == 50 })
	for i := range 10 {
		emit(json.RawMessage(fmt.Sprint(i)))
	}
	for _, c := range cs {
		waitFor(t, "10 results", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.got) == 10 })
	}
	if n := src.starts.Load(); n != 1 {
		t.Errorf("%d executions for 50 identical subscriptions, want 1", n)
	}
	cancel()
	for _, c := range cs {
		<-c.done
	}
	sh.wait(context.Background())
	if sh.count() != 0 {
		t.Errorf("%d streams left after every spectator left", sh.count())
	}
}

func TestStreamsDropsASlowSpectatorOnly(t *testing.T) {
	sh := newStreams()
	sh.queue = 4
	src := newSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate := make(chan struct{})
	slow := spectate(ctx, sh, "k", src, gate)
	emit := <-src.emit
	ctxRun := <-src.ctxs
	fast := spectate(ctx, sh, "k", src, nil)
	waitFor(t, "2 spectators", func() bool { return sh.spectators() == 2 })
	for i := range 20 {
		emit(json.RawMessage(fmt.Sprint(i)))
		waitFor(t, "the fast spectator", func() bool { fast.mu.Lock(); defer fast.mu.Unlock(); return len(fast.got) == i+1 })
	}
	close(gate) // the slow one reads what it has, then learns it was dropped
	<-slow.done
	if len(slow.errs) != 1 || slow.errs[0].Extensions["code"] != "RATE_LIMITED" || slow.errs[0].Extensions["reason"] != "SLOW_CONSUMER" {
		t.Fatalf("slow spectator ended with %v", slow.errs)
	}
	if len(slow.got) >= 20 {
		t.Errorf("slow spectator got all %d results", len(slow.got))
	}
	if ctxRun.Err() != nil {
		t.Error("the execution stopped while a spectator remained")
	}
	cancel()
	<-fast.done
	sh.wait(context.Background())
}

func TestStreamsEndsEverySpectatorWithTheStreamsErrors(t *testing.T) {
	sh := newStreams()
	src := newSource()
	ctx := context.Background()
	a, b := spectate(ctx, sh, "k", src, nil), spectate(ctx, sh, "k", src, nil)
	<-src.emit
	<-src.ctxs
	waitFor(t, "2 spectators", func() bool { return sh.spectators() == 2 })
	src.stop <- gqlerror.List{{Message: "forbidden", Extensions: map[string]any{"code": "FORBIDDEN"}}}
	for _, c := range []*collected{a, b} {
		<-c.done
		if len(c.errs) != 1 || c.errs[0].Message != "forbidden" {
			t.Errorf("spectator ended with %v", c.errs)
		}
	}
	sh.wait(context.Background())
	// The next spectator of the key starts a new execution.
	c := spectate(ctx, sh, "k", src, nil)
	<-src.emit
	<-src.ctxs
	src.stop <- nil
	<-c.done
	if n := src.starts.Load(); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
	sh.wait(context.Background())
}

func TestStreamsKeepsKeysApart(t *testing.T) {
	sh := newStreams()
	a, b := newSource(), newSource()
	ctx, cancel := context.WithCancel(context.Background())
	ca, cb := spectate(ctx, sh, "a", a, nil), spectate(ctx, sh, "b", b, nil)
	emitA, emitB := <-a.emit, <-b.emit
	<-a.ctxs
	<-b.ctxs
	waitFor(t, "2 spectators", func() bool { return sh.spectators() == 2 })
	emitA(json.RawMessage(`"a"`))
	emitB(json.RawMessage(`"b"`))
	waitFor(t, "results", func() bool {
		ca.mu.Lock()
		defer ca.mu.Unlock()
		cb.mu.Lock()
		defer cb.mu.Unlock()
		return len(ca.got) == 1 && len(cb.got) == 1
	})
	if ca.got[0] != `"a"` || cb.got[0] != `"b"` {
		t.Errorf("a got %v, b got %v", ca.got, cb.got)
	}
	cancel()
	<-ca.done
	<-cb.done
	sh.wait(context.Background())
}
