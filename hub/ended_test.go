package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
)

// endRoom ends the room in one transaction of its ROOM_STATE event and n
// events more (an ending writes expiries and the final leaderboard).
func (f *fixture) endRoom(t *testing.T, n int) {
	t.Helper()
	err := f.store.Update(f.ctx, func(tx game.Tx) error {
		b, err := tx.BullPen(f.ctx, f.room)
		if err != nil {
			return err
		}
		if _, err := tx.MoveBullPen(f.ctx, f.room, b.State, game.RoomEnded, b.StartsAt, tx.Now()); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(f.ctx, f.room, game.EventRoomState, nil, game.RoomStatePayload{PreviousState: b.State, State: game.RoomEnded}); err != nil {
			return err
		}
		for range n {
			if _, err := tx.AppendEvent(f.ctx, f.room, game.EventLeaderboard, nil, game.LeaderboardPayload{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// completed waits for r to end and checks that it completed having had
// want.
func (r *recorder) completed(t *testing.T, name string, want []int64) {
	t.Helper()
	select {
	case err := <-r.ended:
		if err != nil {
			t.Errorf("%s ended with %v, want complete", name, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never ended, having %v", name, short(r.got()))
	}
	if got := r.got(); !equal(got, want) {
		t.Errorf("%s got %d events %v, want %d", name, len(got), short(got), len(want))
	}
}

// drained reads ch to its end and checks that it closed without an error
// having delivered want.
func drained(t *testing.T, name string, ch <-chan hub.Item, want []int64) {
	t.Helper()
	var got []int64
	timeout := time.After(10 * time.Second)
	for {
		select {
		case it, ok := <-ch:
			if !ok {
				if !equal(got, want) {
					t.Errorf("%s got %d events %v, want %d", name, len(got), short(got), len(want))
				}
				return
			}
			if it.Err != nil {
				t.Errorf("%s ended with %v, want complete", name, it.Err)
			} else {
				got = append(got, it.Event.Sequence)
			}
		case <-timeout:
			t.Fatalf("%s never closed, having %v", name, short(got))
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func short(s []int64) []int64 {
	if len(s) > 6 {
		return append(append([]int64(nil), s[:3]...), s[len(s)-3:]...)
	}
	return s
}

func span(from, to int64, keep func(int64) bool) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func even(s int64) bool { return s%2 == 0 }

// TestStreamsCompleteOnceTheRoomIsOver: nothing is written to an ENDED
// room, so every stream of it completes after its last event: live ones
// when the room ends (the ending's transaction spanning more than one of
// the pump's pages), and those that start afterwards once they have
// replayed what they asked for, whether the room's pump still runs or a
// hub meets the room for the first time.
func TestStreamsCompleteOnceTheRoomIsOver(t *testing.T) {
	f := newFixture(t)
	h := newHub(t, f)
	f.appendEvents(t, 3)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()

	live, resumed, filtered := newRecorder(0), newRecorder(0), newRecorder(0)
	for _, c := range []struct {
		r      *recorder
		after  *int64
		filter hub.Filter
	}{{live, nil, nil}, {resumed, ptr(int64(1)), nil}, {filtered, nil, func(ev *game.Event) bool { return even(ev.Sequence) }}} {
		stop, err := h.Follow(f.room, c.after, c.filter, c.r)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	subscribed, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// held is not read until the end: it keeps the room's pump running.
	held, err := h.Subscribe(ctx, f.room, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	f.endRoom(t, 600)
	const last = 604
	live.completed(t, "a live follower", span(4, last, nil))
	resumed.completed(t, "a resumed follower", span(2, last, nil))
	filtered.completed(t, "a filtering follower", span(4, last, even))
	drained(t, "a live subscriber", subscribed, span(4, last, nil))

	// The room's pump, still running for held, knows the room is over.
	afterStart := func(h *hub.Hub, name string) {
		t.Helper()
		for _, after := range []*int64{nil, ptr(int64(last)), ptr(int64(600)), ptr(int64(0))} {
			want := []int64{}
			if after != nil {
				want = span(*after+1, last, nil)
			}
			r := newRecorder(0)
			stop, err := h.Follow(f.room, after, nil, r)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			r.completed(t, name+" follower", want)
			ch, err := h.Subscribe(ctx, f.room, after, nil)
			if err != nil {
				t.Fatal(err)
			}
			drained(t, name+" subscriber", ch, want)
		}
	}
	afterStart(h, "a late")
	drained(t, "a held subscriber", held, span(4, last, nil))
	// A hub that has never followed the room reads that it is over.
	afterStart(newHub(t, f), "a new hub's")
}
