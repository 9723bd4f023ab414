package hub_test

import (
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
)

// recorder is a Sink that keeps what it is given; with limit > 0 it takes
// at most that many events, like a full connection queue.
type recorder struct {
	mu    sync.Mutex
	seqs  []int64
	limit int
	ended chan error
	ends  int
}

func newRecorder(limit int) *recorder { return &recorder{limit: limit, ended: make(chan error, 1)} }

func (r *recorder) Deliver(ev *game.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.limit > 0 && len(r.seqs) >= r.limit {
		return false
	}
	r.seqs = append(r.seqs, ev.Sequence)
	return true
}

func (r *recorder) End(err error) {
	r.mu.Lock()
	r.ends++
	r.mu.Unlock()
	r.ended <- err
}

func (r *recorder) got() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.seqs...)
}

func (r *recorder) wait(t *testing.T, n int) []int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := r.got(); len(got) >= n {
			return got
		} else if time.Now().After(deadline) {
			t.Fatalf("got %v, want %d events", got, n)
		}
		time.Sleep(time.Millisecond) // waiting for the pump, not a timer
	}
}

func TestFollowersGetEveryEventInOrder(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	recs := follow(t, h, f.room, 3)
	if n := h.Stats().Subscribers; n != 3 {
		t.Errorf("Stats().Subscribers = %d, want 3", n)
	}
	f.appendEvents(t, 20)
	for i, r := range recs {
		if seqs := r.wait(t, 20); len(seqs) != 20 || !consecutive(seqs, 1) {
			t.Errorf("follower %d got %v", i, seqs)
		}
	}
}

func TestFollowResumesWithoutGapOrDuplicate(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	f.appendEvents(t, 30)
	// A live follower keeps the pump reading while the others replay.
	live := newRecorder(0)
	stopLive, err := h.Follow(f.room, nil, nil, live)
	if err != nil {
		t.Fatal(err)
	}
	defer stopLive()
	var wg sync.WaitGroup
	wg.Go(func() { f.appendEvents(t, 25) }) // commits while the replays run
	var recs []*recorder
	for _, after := range []int64{0, 12, 29} {
		r := newRecorder(0)
		stop, err := h.Follow(f.room, ptr(after), nil, r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		recs = append(recs, r)
	}
	wg.Wait()
	// One more event is the barrier: events arrive in sequence order, so
	// a duplicate of any of the first 55 would come before it.
	f.appendEvents(t, 1)
	for i, after := range []int64{0, 12, 29} {
		r := recs[i]
		r.wait(t, int(56-after))
		if seqs := r.got(); len(seqs) != int(56-after) || !consecutive(seqs, after+1) {
			t.Errorf("after %d: got %v, want %d..56 once each", after, seqs, after+1)
		}
	}
}

func TestFollowFiltersButKeepsOrder(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	r := newRecorder(0)
	stop, err := h.Follow(f.room, ptr(int64(0)), func(ev *game.Event) bool { return ev.Sequence%2 == 0 }, r)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	f.appendEvents(t, 10)
	if seqs := r.wait(t, 5); len(seqs) != 5 || seqs[0] != 2 || seqs[4] != 10 {
		t.Errorf("got %v, want the even ones", seqs)
	}
}

func TestFollowerThatCannotTakeMoreIsDroppedAlone(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	slow, fast := newRecorder(7), newRecorder(0)
	for _, r := range []*recorder{slow, fast} {
		stop, err := h.Follow(f.room, nil, nil, r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	f.appendEvents(t, 20)
	if seqs := fast.wait(t, 20); !consecutive(seqs, 1) {
		t.Errorf("fast follower got %v", seqs)
	}
	var dropped *hub.DroppedError
	if err := <-slow.ended; !errors.As(err, &dropped) || !errors.Is(err, hub.ErrSlowConsumer) {
		t.Fatalf("slow follower ended with %v", err)
	}
	if dropped.Delivered != 7 || !consecutive(slow.got(), 1) || len(slow.got()) != 7 {
		t.Errorf("dropped after %d having %v, want after 7", dropped.Delivered, slow.got())
	}
	if n := h.Stats().Subscribers; n != 1 {
		t.Errorf("%d subscribers left, want 1", n)
	}
}

func TestFollowStopsAndHubCloseEndsFollowers(t *testing.T) {
	f := newFixture(t)
	h := hub.New(f.store, f.clock, slog.New(slog.DiscardHandler))
	f.store.OnCommit(h.Notify)
	stopped := newRecorder(0)
	stop, err := h.Follow(f.room, nil, nil, stopped)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop() // twice is fine
	open := newRecorder(0)
	if _, err := h.Follow(f.room, ptr(int64(0)), nil, open); err != nil {
		t.Fatal(err)
	}
	f.appendEvents(t, 3)
	open.wait(t, 3)
	h.Close()
	if err := <-open.ended; err != nil {
		t.Errorf("ended with %v at Close, want nil", err)
	}
	if stopped.ends != 0 || len(stopped.got()) != 0 {
		t.Errorf("a stopped follower got %v and %d ends", stopped.got(), stopped.ends)
	}
	if _, err := h.Follow(f.room, nil, nil, newRecorder(0)); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Follow after Close: %v", err)
	}
}

// TestFollowersNeedNoGoroutines: live followers cost no goroutine each.
func TestFollowersNeedNoGoroutines(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	first := newRecorder(0)
	stop, err := h.Follow(f.room, nil, nil, first) // starts the room's pump
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	before := runtime.NumGoroutine()
	recs := follow(t, h, f.room, 1000)
	if after := runtime.NumGoroutine(); after-before > 10 {
		t.Errorf("1000 followers started %d goroutines", after-before)
	}
	f.appendEvents(t, 2)
	for _, r := range recs {
		r.wait(t, 2)
	}
}

// flushRecorder is a recorder that is also a Flusher: it notes how many
// events it held at each Flush.
type flushRecorder struct {
	*recorder
	flushes []int
}

func (r *flushRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes = append(r.flushes, len(r.seqs))
}

func (r *flushRecorder) lastFlush() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.flushes) == 0 {
		return 0
	}
	return r.flushes[len(r.flushes)-1]
}

// TestFlushFollowsEveryDelivery: a Flusher sink is flushed after what it
// was handed, live and replayed, so nothing it buffers is left unsent.
func TestFlushFollowsEveryDelivery(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	f.appendEvents(t, 10)
	live := &flushRecorder{recorder: newRecorder(0)}
	replay := &flushRecorder{recorder: newRecorder(0)}
	for _, c := range []struct {
		r     *flushRecorder
		after *int64
	}{{live, nil}, {replay, ptr(int64(0))}} {
		stop, err := h.Follow(f.room, c.after, nil, c.r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	f.appendEvents(t, 20)
	live.wait(t, 20)
	replay.wait(t, 30)
	deadline := time.Now().Add(10 * time.Second)
	for live.lastFlush() != 20 || replay.lastFlush() != 30 {
		if time.Now().After(deadline) {
			t.Fatalf("last flushes at %d and %d events, want 20 and 30", live.lastFlush(), replay.lastFlush())
		}
		time.Sleep(time.Millisecond) // waiting for the pump, not a timer
	}
}

// TestFlushOnlyWhenDelivered: a follower whose filter passes none of a
// round's events is not flushed for it (in a room with 10,000 spectators,
// an order's events would otherwise wake 10,000 connections with nothing
// to send); it is flushed once for the one event it takes.
func TestFlushOnlyWhenDelivered(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	all := &flushRecorder{recorder: newRecorder(0)}
	last := &flushRecorder{recorder: newRecorder(0)}
	const lastSeq = 21
	for _, c := range []struct {
		r      *flushRecorder
		filter hub.Filter
	}{{all, nil}, {last, func(ev *game.Event) bool { return ev.Sequence == lastSeq }}} {
		stop, err := h.Follow(f.room, nil, c.filter, c.r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	f.appendEvents(t, lastSeq-1) // one commit, and so at least one round, each
	all.wait(t, lastSeq-1)
	f.appendEvents(t, 1)
	last.wait(t, 1)
	deadline := time.Now().Add(10 * time.Second)
	for last.lastFlush() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the follower was not flushed after the event it took")
		}
		time.Sleep(time.Millisecond) // waiting for the pump, not a timer
	}
	last.mu.Lock()
	defer last.mu.Unlock()
	if len(last.flushes) != 1 {
		t.Errorf("flushed %d times (at %v events), want once", len(last.flushes), last.flushes)
	}
}

// TestAudienceSharesOneFilter: followers in one audience have one filter
// asked per event for all of them, and each still gets exactly what the
// filter passes; a follower outside the audience is asked for itself.
func TestAudienceSharesOneFilter(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	var asked atomic.Int64
	even := func(ev *game.Event) bool { asked.Add(1); return ev.Sequence%2 == 0 }
	const n = 50
	var recs []*recorder
	for range n {
		r := newRecorder(0)
		stop, err := h.FollowAudience(f.room, nil, "spectators", even, r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		recs = append(recs, r)
	}
	var alone atomic.Int64
	solo := newRecorder(0)
	stop, err := h.Follow(f.room, nil, func(ev *game.Event) bool { alone.Add(1); return true }, solo)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	f.appendEvents(t, 10)
	solo.wait(t, 10)
	for _, r := range recs {
		r.wait(t, 5)
		if got := r.got(); !slices.Equal(got, []int64{2, 4, 6, 8, 10}) {
			t.Fatalf("an audience member got %v, want the even sequences", got)
		}
	}
	if got := asked.Load(); got != 10 {
		t.Errorf("the audience's filters were asked %d times for 10 events, want 10 (once per event)", got)
	}
	if got := alone.Load(); got != 10 {
		t.Errorf("the lone follower's filter was asked %d times, want 10", got)
	}
}

// follow starts n recorders following room until the test ends.
func follow(t *testing.T, h *hub.Hub, room int64, n int) []*recorder {
	t.Helper()
	var recs []*recorder
	for range n {
		r := newRecorder(0)
		stop, err := h.Follow(room, nil, nil, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		recs = append(recs, r)
	}
	return recs
}
