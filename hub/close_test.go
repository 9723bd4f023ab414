package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
)

// memLog is a room with an empty event log, answered from memory so a test
// can build many hubs quickly.
type memLog struct{}

func (memLog) BullPen(ctx context.Context, id int64) (*game.BullPen, error) {
	return &game.BullPen{ID: id}, nil
}

func (memLog) Events(ctx context.Context, room, after int64, limit int) ([]*game.Event, error) {
	return nil, ctx.Err()
}

// TestSubscribeRacingCloseFailsCleanlyOrIsWaitedFor races subscribers on
// an open room (join's fast path) and on a new room (the slow path)
// against Close. Each Subscribe must either fail with ErrClosed or return a
// stream whose goroutine Close waited for: under -race a WaitGroup Add
// after or concurrent with Close's Wait is reported.
func TestSubscribeRacingCloseFailsCleanlyOrIsWaitedFor(t *testing.T) {
	const rounds, racers = 200, 8
	log := slog.New(slog.DiscardHandler)
	for range rounds {
		h := hub.New(memLog{}, clockwork.NewFakeClock(), log)
		ctx, cancel := context.WithCancel(context.Background())
		// An open room makes the racers below take join's fast path.
		first, err := h.Subscribe(ctx, 1, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		streams := make(chan (<-chan hub.Item), racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				room := int64(1 + i%2) // room 2 is new: the slow path
				ch, err := h.Subscribe(ctx, room, nil, nil)
				if err != nil {
					if !errors.Is(err, hub.ErrClosed) {
						t.Errorf("Subscribe racing Close: %v, want ErrClosed", err)
					}
					return
				}
				streams <- ch
			})
		}
		close(start)
		h.Close()
		// Close has returned: every stream that started has ended, so its
		// channel is closed (Close waited for its goroutine).
		wg.Wait()
		close(streams)
		for ch := range streams {
			assertEnded(t, ch)
		}
		assertEnded(t, first)
		if _, err := h.Subscribe(ctx, 1, nil, nil); !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
		}
		cancel()
		if t.Failed() {
			return
		}
	}
}

// assertEnded fails unless ch is closed (after at most one final item).
func assertEnded(t *testing.T, ch <-chan hub.Item) {
	t.Helper()
	for range 2 {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-time.After(time.Second):
			t.Error("stream still open after Close returned")
			return
		}
	}
	t.Error("stream still delivering after Close returned")
}
