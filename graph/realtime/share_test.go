package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source is a shared execution the test drives by hand.
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

// collect follows key and gathers what it receives until the follow ends.
type collected struct {
	mu   sync.Mutex
	got  []string
	errs gqlerror.List
	done chan struct{}
}

func follow(ctx context.Context, sh *Sharing, key string, src *source, read <-chan struct{}) *collected {
	c := &collected{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		errs := sh.follow(ctx, key, src.start, func(b json.RawMessage) bool {
			if read != nil {
				<-read // a follower that reads only when told
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

func TestSharingRunsOneExecutionForManyFollowers(t *testing.T) {
	sh := NewSharing(nil)
	src := newSource()
	ctx, cancel := context.WithCancel(context.Background())
	var cs []*collected
	for range 50 {
		cs = append(cs, follow(ctx, sh, "k", src, nil))
	}
	emit := <-src.emit
	<-src.ctxs
	waitFor(t, "50 followers", func() bool { return sh.Followers() == 50 })
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
	sh.Wait(context.Background())
	if sh.Streams() != 0 {
		t.Errorf("%d streams left after every follower left", sh.Streams())
	}
}

func TestSharingDropsASlowFollowerOnly(t *testing.T) {
	sh := NewSharing(nil)
	sh.FollowerQueue = 4
	src := newSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate := make(chan struct{})
	slow := follow(ctx, sh, "k", src, gate)
	emit := <-src.emit
	ctxRun := <-src.ctxs
	fast := follow(ctx, sh, "k", src, nil)
	waitFor(t, "2 followers", func() bool { return sh.Followers() == 2 })
	for i := range 20 {
		emit(json.RawMessage(fmt.Sprint(i)))
		waitFor(t, "the fast follower", func() bool { fast.mu.Lock(); defer fast.mu.Unlock(); return len(fast.got) == i+1 })
	}
	close(gate) // the slow one reads what it has, then learns it was dropped
	<-slow.done
	if len(slow.errs) != 1 || slow.errs[0].Extensions["code"] != "RATE_LIMITED" || slow.errs[0].Extensions["reason"] != "SLOW_CONSUMER" {
		t.Fatalf("slow follower ended with %v", slow.errs)
	}
	if len(slow.got) >= 20 {
		t.Errorf("slow follower got all %d results", len(slow.got))
	}
	if ctxRun.Err() != nil {
		t.Error("the execution stopped while a follower remained")
	}
	cancel()
	<-fast.done
	sh.Wait(context.Background())
}

func TestSharingEndsEveryFollowerWithTheStreamsErrors(t *testing.T) {
	sh := NewSharing(nil)
	src := newSource()
	ctx := context.Background()
	a, b := follow(ctx, sh, "k", src, nil), follow(ctx, sh, "k", src, nil)
	<-src.emit
	<-src.ctxs
	waitFor(t, "2 followers", func() bool { return sh.Followers() == 2 })
	src.stop <- gqlerror.List{{Message: "forbidden", Extensions: map[string]any{"code": "FORBIDDEN"}}}
	for _, c := range []*collected{a, b} {
		<-c.done
		if len(c.errs) != 1 || c.errs[0].Message != "forbidden" {
			t.Errorf("follower ended with %v", c.errs)
		}
	}
	sh.Wait(context.Background())
	// The next follower of the key starts a new execution.
	c := follow(ctx, sh, "k", src, nil)
	<-src.emit
	<-src.ctxs
	src.stop <- nil
	<-c.done
	if n := src.starts.Load(); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
	sh.Wait(context.Background())
}

func TestSharingKeepsKeysApart(t *testing.T) {
	sh := NewSharing(nil)
	a, b := newSource(), newSource()
	ctx, cancel := context.WithCancel(context.Background())
	ca, cb := follow(ctx, sh, "a", a, nil), follow(ctx, sh, "b", b, nil)
	emitA, emitB := <-a.emit, <-b.emit
	<-a.ctxs
	<-b.ctxs
	waitFor(t, "2 followers", func() bool { return sh.Followers() == 2 })
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
	sh.Wait(context.Background())
}
