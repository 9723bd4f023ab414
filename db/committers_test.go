package db_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
)

// TestPostgresCommitters: on PostgreSQL, Apply runs rooms' changes through
// several committers, so a change stuck in one room's transaction holds up
// no other room, while one room's changes still commit in the order they
// were queued; Close stops every committer.
func TestPostgresCommitters(t *testing.T) {
	const committers = 3
	ctx := context.Background()
	s := mustOpenWith(t, postgresBackend, db.Options{Committers: committers})
	if n := db.Committers(s); n != committers {
		t.Fatalf("%d committers, want %d", n, committers)
	}
	owner := addUser(t, s, "owner")
	// Consecutive ids fall to different committers (id modulo their number).
	roomA := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic).ID
	roomB := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic).ID

	appendIn := func(room int64, m marker) game.Change {
		return game.Change{Rooms: []int64{room}, Run: func(ctx context.Context, tx game.Tx) error {
			if _, err := tx.LockBullPen(ctx, room); err != nil {
				return err
			}
			_, err := tx.AppendEvent(ctx, room, game.EventOrder, nil, m)
			return err
		}}
	}

	// A change in room A waits inside Run, its transaction open.
	started, gate, heldDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		heldDone <- s.Apply(ctx, game.Change{Rooms: []int64{roomA}, Run: func(ctx context.Context, tx game.Tx) error {
			if _, err := tx.LockBullPen(ctx, roomA); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(ctx, roomA, game.EventOrder, nil, marker{0, 1}); err != nil {
				return err
			}
			close(started)
			<-gate
			return nil
		}})
	}()
	<-started

	t.Run("OtherRoomsCommitMeanwhile", func(t *testing.T) {
		// Were room B's change behind room A's, Apply would not return
		// until gate closes, and the test would time out.
		if err := s.Apply(ctx, appendIn(roomB, marker{1, 1})); err != nil {
			t.Fatalf("room B's change: %v", err)
		}
		events, err := s.Events(ctx, roomB, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 {
			t.Errorf("room B has %d events while room A's change is open, want 1", len(events))
		}
	})

	t.Run("OneRoomKeepsItsOrder", func(t *testing.T) {
		// Queue changes of room A one after another behind the held one:
		// they commit in that order, after it.
		const queued = 8
		var wg sync.WaitGroup
		errs := make([]error, queued)
		for i := range queued {
			wg.Go(func() { errs[i] = s.Apply(ctx, appendIn(roomA, marker{i + 1, 1})) })
			waitQueued(t, s, i+1)
		}
		close(gate)
		wg.Wait()
		if err := <-heldDone; err != nil {
			t.Fatalf("held change: %v", err)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("change %d: %v", i+1, err)
			}
		}
		events, err := s.Events(ctx, roomA, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range events {
			var m marker
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d:%d", ev.Sequence, m.Change))
		}
		if want := "[1:0 2:1 3:2 4:3 5:4 6:5 7:6 8:7 9:8]"; fmt.Sprint(got) != want {
			t.Errorf("room A's events (sequence:change) %v, want %s", got, want)
		}
	})

	t.Run("CloseStopsEveryCommitter", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := db.Running(s); n != 0 {
			t.Errorf("%d committers still running after Close", n)
		}
		for _, room := range []int64{roomA, roomB} {
			if err := s.Apply(ctx, appendIn(room, marker{99, 1})); err == nil {
				t.Errorf("Apply in room %d after Close succeeded", room)
			}
		}
	})
}

// TestSQLiteHasOneCommitter: SQLite has a single writer, whatever the
// options ask.
func TestSQLiteHasOneCommitter(t *testing.T) {
	s := mustOpenWith(t, sqliteBackend, db.Options{Committers: 8})
	if n := db.Committers(s); n != 1 {
		t.Errorf("%d committers on SQLite, want 1", n)
	}
}

// TestOpenRefusesCommitters: a number of committers out of range is
// refused before anything is opened.
func TestOpenRefusesCommitters(t *testing.T) {
	for _, n := range []int{-1, db.MaxCommitters + 1} {
		if err := db.CheckCommitters(n); err == nil {
			t.Errorf("CheckCommitters(%d) = nil, want an error", n)
		}
	}
	for _, n := range []int{0, 1, db.MaxCommitters} {
		if err := db.CheckCommitters(n); err != nil {
			t.Errorf("CheckCommitters(%d) = %v", n, err)
		}
	}
}
