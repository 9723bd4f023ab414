package game_test

import (
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
	"github.com/jonboulle/clockwork"
)

// TestPreparedSnapshot: a leaderboard round reads and ranks a room outside
// any write, then stores the result in a short one. An order between the
// two does not stop it (the snapshot shows the room as read, and the
// order's own round follows); another snapshot or a state change in
// between does, so the running aggregates never advance twice from one
// point and a snapshot never carries a state the room has left.
func TestPreparedSnapshot(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, nil, alice)
			h.price("AAPL", "100")
			refresh := func() {
				t.Helper()
				if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
					t.Fatal(err)
				}
			}
			prepare := func() *game.PreparedSnapshot {
				t.Helper()
				p, err := h.svc.PrepareSnapshot(h.ctx, room.ID, true)
				if err != nil || p == nil {
					t.Fatalf("PrepareSnapshot: %v, %v", p, err)
				}
				return p
			}
			store := func(p *game.PreparedSnapshot, want bool) {
				t.Helper()
				if stored, err := h.svc.StorePrepared(h.ctx, p); err != nil || stored != want {
					t.Fatalf("StorePrepared: stored %v, %v; want %v", stored, err, want)
				}
			}
			aliceCash := func() string {
				t.Helper()
				s, err := h.store.LatestSnapshot(h.ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range s.Entries {
					if e.UserID == alice.ID {
						return e.Cash.String()
					}
				}
				t.Fatal("alice is not on the board")
				return ""
			}
			observed := func() int {
				t.Helper()
				tr, err := h.store.Track(h.ctx, h.participant(room.ID, alice).ID)
				if err != nil {
					t.Fatal(err)
				}
				return int(tr.Observed)
			}
			h.order(alice, buy(room.ID, "AAPL", 10)) // cash 100000 -> 99000
			refresh()
			obs, n := observed(), h.snapshots(room.ID)

			// An order between read and write: stored as read.
			h.clock.Advance(1500*time.Microsecond + 123) // a time no engine stores as it is
			p := prepare()
			h.order(alice, buy(room.ID, "AAPL", 10)) // 99000 -> 98000
			store(p, true)
			stored, err := h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			evs := h.events(room.ID)
			var payload game.LeaderboardPayload
			mustUnmarshal(t, evs[len(evs)-1].Payload, &payload)
			if !payload.Snapshot.TakenAt.Equal(stored.TakenAt) || payload.Snapshot.ID != stored.ID {
				t.Errorf("the event shows snapshot %d taken at %s, the store %d at %s", payload.Snapshot.ID, payload.Snapshot.TakenAt, stored.ID, stored.TakenAt)
			}
			if got := aliceCash(); got != "99000" {
				t.Errorf("snapshot prepared before the second order shows cash %s, want 99000", got)
			}
			if observed() != obs+1 || h.snapshots(room.ID) != n+1 {
				t.Errorf("observed %d, snapshots %d; want %d, %d", observed(), h.snapshots(room.ID), obs+1, n+1)
			}
			refresh() // the order marked the room stale
			if got := aliceCash(); got != "98000" {
				t.Errorf("the order's own round shows cash %s, want 98000", got)
			}

			// Another snapshot between read and write: not stored.
			obs, n = observed(), h.snapshots(room.ID)
			p = prepare()
			h.order(alice, buy(room.ID, "AAPL", 1))
			refresh()
			store(p, false)
			if observed() != obs+1 || h.snapshots(room.ID) != n+1 {
				t.Errorf("after a stale prepared snapshot: observed %d, snapshots %d; want %d, %d (one round only)", observed(), h.snapshots(room.ID), obs+1, n+1)
			}

			// A state change between read and write: not stored.
			p = prepare()
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			n = h.snapshots(room.ID)
			store(p, false)
			if h.snapshots(room.ID) != n {
				t.Errorf("a snapshot prepared while ACTIVE was stored after the pause")
			}
		})
	}
}
