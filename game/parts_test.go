package game_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
	"github.com/jonboulle/clockwork"
)

// TestSnapshotInParts: a snapshot bigger than a part is stored in short
// writes of its own (its row, incomplete, then its entries a part at a
// time, then the mark that it is complete with its aggregates and event).
// Between parts no reader sees it and orders go on; when another snapshot
// or the room's end comes in between, its parts are deleted and the room
// is ranked again in the write; and the parts a stopped writer left are
// never seen and are deleted by the room's next snapshot once abandoned.
func TestSnapshotInParts(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.user("owner")
			players := []*game.User{h.user("alice"), h.user("bob"), h.user("carol"), h.user("dave"), h.user("erin")}
			room := h.activeRoom(owner, nil, players...)
			h.price("AAPL", "100")
			alice := h.participant(room.ID, players[0])
			var hook func(id int64)
			parts := 0
			h.svc.StoreInParts(2, func(id int64) {
				parts++
				if hook != nil {
					hook(id)
				}
			})
			refresh := func(ctx context.Context) error { return h.svc.RefreshLeaderboards(ctx, false) }
			latest := func() *game.LeaderboardSnapshot {
				t.Helper()
				s, err := h.store.LatestSnapshot(h.ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			equity := func() int {
				t.Helper()
				ps, err := h.store.EquityHistory(h.ctx, alice.ID, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				return len(ps)
			}
			// incomplete counts the room's incomplete snapshots, deleting
			// nothing (the write is rolled back).
			errCounted := errors.New("counted")
			incomplete := func() int {
				t.Helper()
				var n int
				err := h.store.Update(h.ctx, func(tx game.Tx) error {
					var err error
					if n, err = tx.DiscardSnapshots(h.ctx, room.ID, h.clock.Now().Add(time.Hour), 0); err != nil {
						return err
					}
					return errCounted
				})
				if !errors.Is(err, errCounted) {
					t.Fatal(err)
				}
				return n
			}
			observed := func() int64 {
				t.Helper()
				tr, err := h.store.Track(h.ctx, alice.ID)
				if err != nil {
					t.Fatal(err)
				}
				return tr.Observed
			}

			h.order(players[0], buy(room.ID, "AAPL", 10))
			if err := refresh(h.ctx); err != nil {
				t.Fatal(err)
			}
			if parts != 3 {
				t.Fatalf("a snapshot of 5 in parts of 2 took %d parts, want 3", parts)
			}

			// Between parts: nothing of it is seen, and orders go on.
			before, n, points, obs := latest(), h.snapshots(room.ID), equity(), observed()
			parts = 0
			hook = func(int64) {
				if id, err := h.store.LatestSnapshotID(h.ctx, room.ID); err != nil || id != before.ID {
					t.Errorf("after part %d: LatestSnapshotID %d, %v; want %d", parts, id, err, before.ID)
				}
				if got := latest(); got.ID != before.ID || h.snapshots(room.ID) != n || equity() != points {
					t.Errorf("after part %d: latest snapshot %d, %d snapshots, %d equity points; want %d, %d, %d (the incomplete one unseen)",
						parts, got.ID, h.snapshots(room.ID), equity(), before.ID, n, points)
				}
				if parts == 1 {
					h.order(players[1], buy(room.ID, "AAPL", 5))
				}
			}
			h.order(players[0], buy(room.ID, "AAPL", 1))
			if err := refresh(h.ctx); err != nil {
				t.Fatal(err)
			}
			got := latest()
			if parts != 3 || h.snapshots(room.ID) != n+1 || len(got.Entries) != 5 || equity() != points+1 || observed() != obs+1 {
				t.Errorf("stored in %d parts: %d snapshots, %d entries, %d equity points, observed %d; want 3, %d, 5, %d, %d",
					parts, h.snapshots(room.ID), len(got.Entries), equity(), observed(), n+1, points+1, obs+1)
			}
			for i, e := range got.Entries {
				if i > 0 && e.Rank < got.Entries[i-1].Rank {
					t.Errorf("entries out of rank order: %v", got.Entries)
				}
			}
			evs := h.events(room.ID)
			var payload game.LeaderboardPayload
			mustUnmarshal(t, evs[len(evs)-1].Payload, &payload)
			if payload.Snapshot.ID != got.ID || len(payload.Snapshot.Entries) != 5 {
				t.Errorf("the event shows snapshot %d with %d entries, the store %d", payload.Snapshot.ID, len(payload.Snapshot.Entries), got.ID)
			}

			// Another snapshot between parts: the parts are deleted and
			// the room ranked again in the write, advancing the
			// aggregates once per stored snapshot.
			n, obs, parts = h.snapshots(room.ID), observed(), 0
			hook = func(int64) {
				if parts == 1 {
					if err := h.svc.SnapshotInWrite(h.ctx, room.ID); err != nil {
						t.Error(err)
					}
				}
			}
			h.order(players[2], buy(room.ID, "AAPL", 1))
			if err := refresh(h.ctx); err != nil {
				t.Fatal(err)
			}
			if h.snapshots(room.ID) != n+2 || observed() != obs+2 || incomplete() != 0 {
				t.Errorf("after a snapshot between parts: %d snapshots, observed %d, %d incomplete; want %d, %d, 0",
					h.snapshots(room.ID), observed(), incomplete(), n+2, obs+2)
			}

			// A writer that stops between parts leaves an incomplete
			// snapshot no reader sees; the room's next snapshot in parts
			// deletes it once abandoned, not before.
			n, points = h.snapshots(room.ID), equity()
			ctx, stop := context.WithCancel(h.ctx)
			hook = func(int64) { stop() }
			h.order(players[3], buy(room.ID, "AAPL", 1))
			if err := refresh(ctx); err == nil {
				t.Fatal("a round stopped between parts reported no error")
			}
			hook = nil
			if incomplete() != 1 || h.snapshots(room.ID) != n || equity() != points {
				t.Errorf("after a stopped round: %d incomplete, %d snapshots, %d equity points; want 1, %d, %d",
					incomplete(), h.snapshots(room.ID), equity(), n, points)
			}
			if err := refresh(h.ctx); err != nil { // the room is still stale
				t.Fatal(err)
			}
			if incomplete() != 1 || h.snapshots(room.ID) != n+1 {
				t.Errorf("a round within a minute: %d incomplete, %d snapshots; want 1 (not yet abandoned), %d", incomplete(), h.snapshots(room.ID), n+1)
			}
			h.clock.Advance(2 * time.Minute)
			h.order(players[3], buy(room.ID, "AAPL", 1))
			if err := refresh(h.ctx); err != nil {
				t.Fatal(err)
			}
			if incomplete() != 0 || h.snapshots(room.ID) != n+2 {
				t.Errorf("a round after the writer's abandoned parts: %d incomplete, %d snapshots; want 0, %d", incomplete(), h.snapshots(room.ID), n+2)
			}

			// The room ends between parts: the parts are deleted, and the
			// end's final snapshot is the last.
			hook = func(int64) {
				if parts == 1 {
					if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
						t.Error(err)
					}
				}
			}
			parts = 0
			h.order(players[4], buy(room.ID, "AAPL", 1))
			if err := refresh(h.ctx); err != nil {
				t.Fatal(err)
			}
			if !latest().Final || incomplete() != 0 {
				t.Errorf("after the end between parts: latest final %v, %d incomplete; want true, 0", latest().Final, incomplete())
			}
		})
	}
}
