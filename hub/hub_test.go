package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type fixture struct {
	ctx   context.Context
	store *db.Store
	clock *clockwork.FakeClock
	room  int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "hub.db"), clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{ctx: ctx, store: store, clock: clock}
	err = store.Update(ctx, func(tx game.Tx) error {
		u := &game.User{Username: "owner", DisplayName: "owner", PasswordHash: "x", CreatedAt: tx.Now()}
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		b := &game.BullPen{Name: "r", OwnerID: u.ID, State: game.RoomActive, StartsAt: tx.Now(), EndsAt: tx.Now().Add(time.Hour),
			Visibility: game.VisibilityPublic, TradeVisibility: game.TradesPrivate, CreatedAt: tx.Now()}
		if err := tx.InsertBullPen(ctx, b); err != nil {
			return err
		}
		f.room = b.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// appendEvents commits n events to the room, one transaction each.
func (f *fixture) appendEvents(t testing.TB, n int) {
	t.Helper()
	for range n {
		err := f.store.Update(f.ctx, func(tx game.Tx) error {
			_, err := tx.AppendEvent(f.ctx, f.room, game.EventRoomState, nil, game.RoomStatePayload{State: game.RoomActive})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newHub(t *testing.T, f *fixture, opts ...hub.Option) *hub.Hub {
	h := hub.New(f.store, f.clock, slog.New(slog.DiscardHandler), opts...)
	f.store.OnCommit(h.Notify)
	t.Cleanup(h.Close)
	return h
}

// receive reads n events or fails.
func receive(t *testing.T, ch <-chan hub.Item, n int) []int64 {
	t.Helper()
	var seqs []int64
	timeout := time.After(10 * time.Second)
	for len(seqs) < n {
		select {
		case it, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed after %v", seqs)
			}
			if it.Err != nil {
				t.Fatalf("stream error after %v: %v", seqs, it.Err)
			}
			seqs = append(seqs, it.Event.Sequence)
		case <-timeout:
			t.Fatalf("got %v, want %d events", seqs, n)
		}
	}
	return seqs
}

func consecutive(seqs []int64, from int64) bool {
	for i, s := range seqs {
		if s != from+int64(i) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func TestLiveSubscribersGetEveryEventInOrder(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	var chans []<-chan hub.Item
	for range 3 {
		ch, err := h.Subscribe(ctx, f.room, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	f.appendEvents(t, 20)
	for i, ch := range chans {
		if seqs := receive(t, ch, 20); !consecutive(seqs, 1) {
			t.Errorf("subscriber %d got %v", i, seqs)
		}
	}
}

func TestResumeReplaysThenContinuesWithoutGapOrDuplicate(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	f.appendEvents(t, 30)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := h.Subscribe(ctx, f.room, ptr(int64(12)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Events commit while the replay runs.
	var wg sync.WaitGroup
	wg.Go(func() { f.appendEvents(t, 25) })
	seqs := receive(t, ch, 43)
	wg.Wait()
	if !consecutive(seqs, 13) {
		t.Errorf("got %v, want 13..55 once each", seqs)
	}
}

func TestFilterSkipsButKeepsOrder(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := h.Subscribe(ctx, f.room, ptr(int64(0)), func(ev *game.Event) bool { return ev.Sequence%2 == 0 })
	if err != nil {
		t.Fatal(err)
	}
	f.appendEvents(t, 10)
	if seqs := receive(t, ch, 5); seqs[0] != 2 || seqs[4] != 10 {
		t.Errorf("got %v, want the even ones", seqs)
	}
}

func TestLostSignalIsCaughtUpByPolling(t *testing.T) {
	f := newFixture(t)
	h := hub.New(f.store, f.clock, slog.New(slog.DiscardHandler), hub.WithPoll(time.Second))
	defer h.Close() // no OnCommit: every signal is "lost"
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.appendEvents(t, 3)
	if err := f.clock.BlockUntilContext(f.ctx, 1); err != nil { // the pump's ticker
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if seqs := receive(t, ch, 3); !consecutive(seqs, 1) {
		t.Errorf("got %v", seqs)
	}
}

func TestSlowSubscriberIsDroppedWithoutSlowingOthers(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f, hub.WithQueueSize(128))
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	slow, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []int64)
	go func() {
		var seqs []int64
		for it := range fast {
			if it.Err != nil {
				t.Errorf("fast subscriber: %v", it.Err)
				break
			}
			seqs = append(seqs, it.Event.Sequence)
			if len(seqs) == 400 {
				break
			}
		}
		done <- seqs
	}()
	f.appendEvents(t, 400) // nobody reads `slow`
	if seqs := <-done; !consecutive(seqs, 1) || len(seqs) != 400 {
		t.Fatalf("fast subscriber got %d events", len(seqs))
	}
	// The slow one gets what was queued, then an error saying where to resume.
	var last int64
	var dropped *hub.DroppedError
	for it := range slow {
		if it.Err != nil {
			if !errors.As(it.Err, &dropped) {
				t.Fatalf("error %v, want DroppedError", it.Err)
			}
			continue
		}
		if it.Event.Sequence != last+1 {
			t.Fatalf("slow subscriber got %d after %d", it.Event.Sequence, last)
		}
		last = it.Event.Sequence
	}
	if dropped == nil || dropped.Delivered != last || last >= 400 {
		t.Fatalf("dropped = %v after delivering %d", dropped, last)
	}
	if !errors.Is(dropped, hub.ErrSlowConsumer) {
		t.Errorf("not ErrSlowConsumer")
	}
}

func TestSubscriptionEndsWithItsContextAndHubStops(t *testing.T) {
	f := newFixture(t)
	h := hub.New(f.store, f.clock, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(f.ctx)
	ch, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range ch {
	}
	// A subscription still open when the hub closes ends too.
	ch2, err := h.Subscribe(f.ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	for range ch2 {
	}
	if _, err := h.Subscribe(f.ctx, f.room, nil, nil); err == nil {
		t.Error("subscribe after Close succeeded")
	}
	// goleak (TestMain) checks that no pump or stream goroutine is left.
}

func TestUnknownRoom(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	_, err := h.Subscribe(f.ctx, 999, nil, nil)
	if game.ErrorCode(err) != game.ENOTFOUND {
		t.Errorf("err = %v, want NOT_FOUND", err)
	}
}

func TestQuotesFanOutAndDropSlowSubscribers(t *testing.T) {
	q := hub.NewQuotes(2)
	all, _, unsubAll := q.Subscribe(nil)
	defer unsubAll()
	aapl, _, unsubAAPL := q.Subscribe([]string{"AAPL"})
	defer unsubAAPL()
	_, slowDropped, unsubSlow := q.Subscribe(nil)
	defer unsubSlow()
	q.Publish(game.Quote{Symbol: "AAPL"})
	q.Publish(game.Quote{Symbol: "MSFT"})
	if got := (<-all).Symbol + (<-all).Symbol; got != "AAPLMSFT" {
		t.Errorf("all got %s", got)
	}
	if got := (<-aapl).Symbol; got != "AAPL" {
		t.Errorf("aapl got %s", got)
	}
	q.Publish(game.Quote{Symbol: "NVDA"}) // third for the slow one: queue of 2 overflows
	select {
	case <-slowDropped:
	default:
		t.Error("slow quote subscriber not dropped")
	}
}
