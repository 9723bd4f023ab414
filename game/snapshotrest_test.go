package game_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
)

// TestSnapshotsRestAfterASlowOne: a room whose snapshot ranked n
// participants is not snapshotted again, however stale, before n ×
// SnapshotRestPerParticipant from when that snapshot began, and then is,
// once; the fills in between are in it.
func TestSnapshotsRestAfterASlowOne(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	// A second service on the same store that rests a second per
	// participant: the room of two (owner's room, alice and bob) rests 2 s.
	bob := h.user("bob")
	if _, err := h.svc.JoinBullPen(h.ctx, bob, room.ID, nil); err != nil {
		t.Fatal(err)
	}
	svc := game.NewService(game.Config{
		Store: h.store, Clock: h.clock, Log: slog.New(slog.DiscardHandler),
		Instruments: map[string]string{"AAPL": "Apple"}, ManualMarket: true, SnapshotRestPerParticipant: time.Second,
	})
	refresh := func() {
		t.Helper()
		if err := svc.RefreshLeaderboards(h.ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	place := func() {
		t.Helper()
		if _, err := svc.PlaceOrder(h.ctx, alice, buy(room.ID, "AAPL", 1)); err != nil {
			t.Fatal(err)
		}
	}
	before := h.snapshots(room.ID)
	place()
	refresh()
	if n := h.snapshots(room.ID); n != before+1 {
		t.Fatalf("first stale round: %d snapshots, want %d", n, before+1)
	}
	rest := 2 * time.Second
	place()
	h.clock.Advance(rest - time.Millisecond)
	refresh()
	if n := h.snapshots(room.ID); n != before+1 {
		t.Errorf("%s after a snapshot of 2: %d snapshots, want still %d", rest-time.Millisecond, n, before+1)
	}
	place()
	h.clock.Advance(time.Millisecond)
	refresh()
	if n := h.snapshots(room.ID); n != before+2 {
		t.Fatalf("%s after: %d snapshots, want %d (the room stayed stale)", rest, n, before+2)
	}
	latest, err := h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.store.ParticipantByUser(h.ctx, room.ID, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range latest.Entries {
		if e.ParticipantID == p.ID && !e.Cash.Equal(p.Cash) {
			t.Errorf("the rested snapshot shows cash %s, want %s (all three fills)", e.Cash, p.Cash)
		}
	}
	// Nothing stale now: the next round takes none.
	h.clock.Advance(time.Hour)
	refresh()
	if n := h.snapshots(room.ID); n != before+2 {
		t.Errorf("a round with nothing stale: %d snapshots, want %d", n, before+2)
	}
}
