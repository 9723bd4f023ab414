package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
)

// countingLog counts reads of the event log.
type countingLog struct {
	hub.Log
	reads atomic.Int64
}

func (l *countingLog) Events(ctx context.Context, room, after int64, limit int) ([]*game.Event, error) {
	l.reads.Add(1)
	return l.Log.Events(ctx, room, after, limit)
}

// fanOut subscribes n live subscribers, commits one event and waits until
// every subscriber has it. It returns the log reads and the time taken.
func fanOut(tb testing.TB, f *fixture, n int) (int64, time.Duration) {
	log := &countingLog{Log: f.store}
	h := hub.New(log, f.clock, slog.New(slog.DiscardHandler))
	defer h.Close()
	f.store.OnCommit(h.Notify)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	var ready, got sync.WaitGroup
	for range n {
		ch, err := h.Subscribe(ctx, f.room, nil, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ready.Add(1)
		got.Add(1)
		go func() {
			ready.Done()
			it := <-ch
			if it.Err != nil || it.Event == nil {
				tb.Errorf("subscriber got %+v", it)
			}
			got.Done()
			for range ch {
			}
		}()
	}
	ready.Wait()
	before := log.reads.Load()
	start := time.Now()
	err := f.store.Update(f.ctx, func(tx game.Tx) error {
		_, err := tx.AppendEvent(f.ctx, f.room, game.EventRoomState, nil, game.RoomStatePayload{State: game.RoomPaused})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	got.Wait()
	return log.reads.Load() - before, time.Since(start)
}

func TestFanOutReadsTheLogOnce(t *testing.T) {
	f := newFixture(t)
	reads, took := fanOut(t, f, 5000)
	// The pump reads the new event, then once more to see there is no more.
	if reads > 2 {
		t.Errorf("5000 subscribers caused %d log reads, want at most 2", reads)
	}
	t.Logf("one event to 5000 subscribers: %d log reads, %v", reads, took)
}

func BenchmarkFanOut5000(b *testing.B) {
	f := newFixture(b)
	for b.Loop() {
		_, took := fanOut(b, f, 5000)
		b.ReportMetric(float64(took.Microseconds()), "us/fanout")
	}
}

// BenchmarkFollowFanOut is BenchmarkFanOut5000 through Follow, to 5,000
// and to 10,000 followers: the pump hands the event to each follower
// itself, with no goroutine or channel per subscriber.
func BenchmarkFollowFanOut(b *testing.B) {
	for _, n := range []int{5000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFollowFanOut(b, n) })
	}
}

func benchFollowFanOut(b *testing.B, n int) {
	f := newFixture(b)
	h := hub.New(f.store, f.clock, slog.New(slog.DiscardHandler))
	defer h.Close()
	f.store.OnCommit(h.Notify)
	var got sync.WaitGroup
	for range n {
		stop, err := h.Follow(f.room, nil, nil, countSink{&got})
		if err != nil {
			b.Fatal(err)
		}
		defer stop()
	}
	for b.Loop() {
		got.Add(n)
		start := time.Now()
		err := f.store.Update(f.ctx, func(tx game.Tx) error {
			_, err := tx.AppendEvent(f.ctx, f.room, game.EventRoomState, nil, game.RoomStatePayload{State: game.RoomPaused})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		got.Wait()
		b.ReportMetric(float64(time.Since(start).Microseconds()), "us/fanout")
	}
}

type countSink struct{ got *sync.WaitGroup }

func (s countSink) Deliver(*game.Event) bool { s.got.Done(); return true }
func (s countSink) End(error)                {}
