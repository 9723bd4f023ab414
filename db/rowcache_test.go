package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bullpen/bullpen/game"
)

// testLockBullPenAsCommitted: LockBullPen shows a room as committed (and
// as changed within its own transaction), whatever it read before: on
// SQLite it keeps rooms' rows for the writers, and a move, a rollback or
// an event must never leave it showing a state, or a last sequence, that
// is not the committed one.
func testLockBullPenAsCommitted(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	u := addUser(t, s, "u")
	b := addRoom(t, s, u.ID, game.RoomScheduled, game.VisibilityPublic)
	errUndo := errors.New("undo")
	lock := func(tx game.Tx) *game.BullPen {
		t.Helper()
		r, err := tx.LockBullPen(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	locked := func() *game.BullPen {
		t.Helper()
		var r *game.BullPen
		mustUpdate(t, s, func(tx game.Tx) error { r = lock(tx); return nil })
		return r
	}
	undone := func(fn func(tx game.Tx)) {
		t.Helper()
		if err := s.Update(ctx, func(tx game.Tx) error { fn(tx); return errUndo }); !errors.Is(err, errUndo) {
			t.Fatalf("Update: %v, want the rollback", err)
		}
	}
	move := func(tx game.Tx, from, to game.RoomState) {
		t.Helper()
		if moved, err := tx.MoveBullPen(ctx, b.ID, from, to, b.StartsAt, b.EndsAt); err != nil || !moved {
			t.Fatalf("move %s -> %s: %v, %v", from, to, moved, err)
		}
	}
	event := func(tx game.Tx) {
		t.Helper()
		if _, err := tx.AppendEvent(ctx, b.ID, game.EventRoomState, nil, map[string]string{"x": "y"}); err != nil {
			t.Fatal(err)
		}
	}

	eq(t, "state first read", locked().State, game.RoomScheduled)
	// A move rolled back: seen inside its transaction, never after.
	undone(func(tx game.Tx) {
		move(tx, game.RoomScheduled, game.RoomActive)
		eq(t, "state in the moving transaction", lock(tx).State, game.RoomActive)
	})
	eq(t, "state after a rolled-back move", locked().State, game.RoomScheduled)
	// A move committed.
	mustUpdate(t, s, func(tx game.Tx) error { move(tx, game.RoomScheduled, game.RoomActive); return nil })
	eq(t, "state after a committed move", locked().State, game.RoomActive)

	// Events committed advance the last sequence; rolled back, they do not.
	mustUpdate(t, s, func(tx game.Tx) error { event(tx); event(tx); return nil })
	eq(t, "last sequence after two events", locked().LastSequence, int64(2))
	undone(func(tx game.Tx) {
		event(tx)
		eq(t, "last sequence in the event's transaction", lock(tx).LastSequence, int64(3))
	})
	eq(t, "last sequence after a rolled-back event", locked().LastSequence, int64(2))
	// The same through group commit.
	if err := s.Apply(ctx, game.Change{Rooms: []int64{b.ID}, Run: func(ctx context.Context, tx game.Tx) error { lock(tx); event(tx); return nil }}); err != nil {
		t.Fatal(err)
	}
	eq(t, "last sequence after a grouped event", locked().LastSequence, int64(3))

	// Within one transaction that holds the row (PostgreSQL keeps it as
	// read): a move and an event rolled back to their savepoint, then an
	// event and a move that stay.
	mustUpdate(t, s, func(tx game.Tx) error {
		eq(t, "state held", lock(tx).State, game.RoomActive)
		err := tx.Savepoint(ctx, func() error {
			event(tx)
			move(tx, game.RoomActive, game.RoomPaused)
			eq(t, "state in the moving savepoint", lock(tx).State, game.RoomPaused)
			eq(t, "last sequence in the savepoint", lock(tx).LastSequence, int64(4))
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			t.Fatalf("Savepoint: %v, want the rollback", err)
		}
		eq(t, "state after a move rolled back to its savepoint", lock(tx).State, game.RoomActive)
		eq(t, "last sequence after an event rolled back to its savepoint", lock(tx).LastSequence, int64(3))
		event(tx)
		eq(t, "last sequence after an event", lock(tx).LastSequence, int64(4))
		move(tx, game.RoomActive, game.RoomPaused)
		eq(t, "state after a move", lock(tx).State, game.RoomPaused)
		event(tx)
		eq(t, "last sequence after a move and an event", lock(tx).LastSequence, int64(5))
		move(tx, game.RoomPaused, game.RoomActive)
		return nil
	})
	b2 := locked()
	eq(t, "state after the holding transaction", b2.State, game.RoomActive)
	eq(t, "last sequence after the holding transaction", b2.LastSequence, int64(5))
	events, err := s.Events(ctx, b.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "events", len(events), 5)

	// A caller's change to what it got reaches nobody else.
	r := locked()
	r.State, r.AllowedSymbols = game.RoomEnded, []string{"XYZ"}
	if again := locked(); again.State != game.RoomActive || again.AllowedSymbols != nil {
		t.Errorf("after a caller changed its copy: state %s, allowed %v; want ACTIVE, nil", again.State, again.AllowedSymbols)
	}
}

// testQuoteAsCommitted: a write transaction's Quote shows the quote as
// committed (and as saved within that transaction): on SQLite the
// writers keep quotes, and a rolled-back save or a caller's change to
// what it got must never show.
func testQuoteAsCommitted(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	errUndo := errors.New("undo")
	save := func(tx game.Tx, price string) {
		t.Helper()
		if err := tx.SaveQuote(ctx, &game.Quote{Symbol: "AAPL", Price: dec(price), Open: dec("100"), At: ms(0)}); err != nil {
			t.Fatal(err)
		}
	}
	quote := func(tx game.Tx) *game.Quote {
		t.Helper()
		q, err := tx.Quote(ctx, "AAPL")
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	price := func() string {
		t.Helper()
		var q *game.Quote
		mustUpdate(t, s, func(tx game.Tx) error { q = quote(tx); return nil })
		return q.Price.String()
	}
	mustUpdate(t, s, func(tx game.Tx) error { save(tx, "100"); return nil })
	eq(t, "price first read", price(), "100")
	err := s.Update(ctx, func(tx game.Tx) error {
		save(tx, "105")
		eq(t, "price in the saving transaction", quote(tx).Price.String(), "105")
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatalf("Update: %v, want the rollback", err)
	}
	eq(t, "price after a rolled-back save", price(), "100")
	mustUpdate(t, s, func(tx game.Tx) error { save(tx, "110"); return nil })
	eq(t, "price after a committed save", price(), "110")
	mustUpdate(t, s, func(tx game.Tx) error { quote(tx).Price = dec("1"); return nil })
	eq(t, "price after a caller changed its copy", price(), "110")

	// Under the symbol's lock (PostgreSQL keeps the quote it read then):
	// a save rolled back to a savepoint, a save, a caller's change.
	mustUpdate(t, s, func(tx game.Tx) error {
		if err := tx.LockSymbol(ctx, "AAPL", true); err != nil {
			return err
		}
		eq(t, "price under the lock", quote(tx).Price.String(), "110")
		err := tx.Savepoint(ctx, func() error {
			save(tx, "120")
			eq(t, "price in the saving savepoint", quote(tx).Price.String(), "120")
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			t.Fatalf("Savepoint: %v, want the rollback", err)
		}
		eq(t, "price after a save rolled back to its savepoint", quote(tx).Price.String(), "110")
		quote(tx).Price = dec("1")
		eq(t, "price after a caller changed its copy under the lock", quote(tx).Price.String(), "110")
		save(tx, "130")
		eq(t, "price after a save under the lock", quote(tx).Price.String(), "130")
		return nil
	})
	eq(t, "price after the locked transaction", price(), "130")
}
