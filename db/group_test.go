package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestApply checks group commit on each backend: changes queued together
// share one transaction, yet each keeps its own outcome and events.
func TestApply(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, backend string)
	}{
		{"EachChangeKeepsItsOwnOutcome", testApplyEachChangeKeepsItsOwnOutcome},
		{"PanicReachesOnlyItsCaller", testApplyPanicReachesOnlyItsCaller},
		{"CancelledWhileQueuedNeverRuns", testApplyCancelledWhileQueuedNeverRuns},
		{"DeadlockRunsAgainAlone", testApplyDeadlockRunsAgainAlone},
		{"FailedChangeLeavesNoneOfItsRows", testApplyFailedChangeLeavesNoneOfItsRows},
		{"LoneFailedChangeLeavesNoneOfItsRows", testApplyLoneFailedChangeLeavesNoneOfItsRows},
		{"RowRefusedAtCommitFailsOnlyItsChange", testApplyRowRefusedAtCommitFailsOnlyItsChange},
	}
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbtest.Open(t, backend)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, backend) })
			}
		})
	}
}

// holdCommitter occupies the committer of changes that name no room or
// symbol (the only one, on SQLite) with a change that waits until the
// returned release is called, then waits until want more changes are
// queued behind it: those make the next batch, all together.
func holdCommitter(t *testing.T, s *db.Store, queue func()) (release func()) {
	t.Helper()
	started, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Apply(context.Background(), game.Change{Run: func(ctx context.Context, tx game.Tx) error {
			close(started)
			<-gate
			return nil
		}})
	}()
	<-started
	queue()
	return func() {
		close(gate)
		if err := <-done; err != nil {
			t.Errorf("holding change: %v", err)
		}
	}
}

// waitQueued waits until n changes wait for the committer.
func waitQueued(t *testing.T, s *db.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for db.QueuedChanges(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d changes queued, want %d", db.QueuedChanges(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type marker struct {
	Change int `json:"change"`
	Part   int `json:"part"`
}

func testApplyEachChangeKeepsItsOwnOutcome(t *testing.T, backend string) {
	const changes, rooms = 40, 4
	ctx := context.Background()
	// One committer, so that every room's changes queue behind the held one.
	s := mustOpenWith(t, backend, db.Options{Committers: 1})
	owner := addUser(t, s, "owner")
	var roomIDs []int64
	for range rooms {
		roomIDs = append(roomIDs, addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic).ID)
	}
	var (
		mu        sync.Mutex
		announced []map[int64]int64
		txOf      = map[int]string{}
	)
	s.OnCommit(func(r map[int64]int64) {
		mu.Lock()
		defer mu.Unlock()
		announced = append(announced, r)
	})

	// Every fifth change is refused with a domain error, the next one
	// fails with an internal error; both after appending an event. The
	// others append two events each.
	errs := make([]error, changes)
	var wg sync.WaitGroup
	release := holdCommitter(t, s, func() {
		for i := range changes {
			room := roomIDs[i%rooms]
			wg.Go(func() {
				errs[i] = s.Apply(ctx, game.Change{Rooms: []int64{room}, Run: func(ctx context.Context, tx game.Tx) error {
					mu.Lock()
					txOf[i] = fmt.Sprintf("%p", tx)
					mu.Unlock()
					if _, err := tx.LockBullPen(ctx, room); err != nil {
						return err
					}
					if _, err := tx.AppendEvent(ctx, room, game.EventOrder, nil, marker{i, 1}); err != nil {
						return err
					}
					switch i % 5 {
					case 0:
						return game.Errorf(game.ECONFLICT, "change %d refused", i)
					case 1:
						return fmt.Errorf("change %d: %w", i, errBoom)
					}
					_, err := tx.AppendEvent(ctx, room, game.EventOrder, nil, marker{i, 2})
					return err
				}})
			})
		}
		waitQueued(t, s, changes)
	})
	release()
	wg.Wait()

	batches := map[string]bool{}
	for i := range changes {
		batches[txOf[i]] = true
		switch i % 5 {
		case 0:
			var ge *game.Error
			if !errors.As(errs[i], &ge) || ge.Code != game.ECONFLICT || ge.Message != fmt.Sprintf("change %d refused", i) {
				t.Errorf("change %d: err = %v, want its own CONFLICT", i, errs[i])
			}
		case 1:
			if !errors.Is(errs[i], errBoom) || errs[i].Error() != fmt.Sprintf("change %d: %v", i, errBoom) {
				t.Errorf("change %d: err = %v, want its own failure", i, errs[i])
			}
		default:
			if errs[i] != nil {
				t.Errorf("change %d: %v", i, errs[i])
			}
		}
	}
	if len(batches) != 1 {
		t.Errorf("%d changes queued together ran in %d transactions, want 1", changes, len(batches))
	}

	final := map[int64]int64{}
	for _, room := range roomIDs {
		events, err := s.Events(ctx, room, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[marker]bool{}
		for n, ev := range events {
			if ev.Sequence != int64(n+1) {
				t.Fatalf("room %d: event %d has sequence %d", room, n, ev.Sequence)
			}
			var m marker
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				t.Fatal(err)
			}
			if m.Change%5 < 2 {
				t.Errorf("room %d: event %d of failed change %d was committed", room, ev.Sequence, m.Change)
			}
			seen[m] = true
		}
		for i := range changes {
			if roomIDs[i%rooms] == room && i%5 >= 2 && (!seen[marker{i, 1}] || !seen[marker{i, 2}]) {
				t.Errorf("room %d: events of change %d missing", room, i)
			}
		}
		b, err := s.BullPen(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if b.LastSequence != int64(len(events)) {
			t.Errorf("room %d: last sequence %d, %d events", room, b.LastSequence, len(events))
		}
		final[room] = b.LastSequence
	}
	// One announcement for the batch, naming every room at its committed
	// sequence: never a sequence that a rolled-back change took.
	mu.Lock()
	defer mu.Unlock()
	if len(announced) != 1 {
		t.Fatalf("announced %v, want one announcement", announced)
	}
	if fmt.Sprint(announced[0]) != fmt.Sprint(final) {
		t.Errorf("announced %v, committed %v", announced[0], final)
	}
}

func testApplyPanicReachesOnlyItsCaller(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	var (
		wg        sync.WaitGroup
		recovered any
		errs      [2]error
	)
	release := holdCommitter(t, s, func() {
		wg.Go(func() {
			defer func() { recovered = recover() }()
			_ = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error {
				if _, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, marker{0, 1}); err != nil {
					return err
				}
				panic("change 0 panicked")
			}})
		})
		waitQueued(t, s, 1)
		for i := range errs {
			wg.Go(func() {
				errs[i] = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error {
					_, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, marker{i + 1, 1})
					return err
				}})
			})
		}
		waitQueued(t, s, 3)
	})
	release()
	wg.Wait()
	if recovered != "change 0 panicked" {
		t.Errorf("the panicking caller recovered %v", recovered)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("change %d: %v", i+1, err)
		}
	}
	events, err := s.Events(ctx, room.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		got = append(got, fmt.Sprintf("%d:%s", ev.Sequence, ev.Payload))
	}
	if len(events) != 2 || string(events[0].Payload) == `{"change":0,"part":1}` || string(events[1].Payload) == `{"change":0,"part":1}` {
		t.Errorf("events %v, want those of changes 1 and 2 only", got)
	}
}

func testApplyCancelledWhileQueuedNeverRuns(t *testing.T, backend string) {
	s := mustOpen(t, backend)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	done := make(chan error, 1)
	release := holdCommitter(t, s, func() {
		go func() {
			done <- s.Apply(ctx, game.Change{Run: func(context.Context, game.Tx) error { ran = true; return nil }})
		}()
		waitQueued(t, s, 1)
		cancel()
	})
	release()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Apply = %v, want context.Canceled", err)
	}
	if ran {
		t.Error("a change cancelled while queued ran")
	}
}

func testApplyDeadlockRunsAgainAlone(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	var (
		runs int
		wg   sync.WaitGroup
		errs [2]error
	)
	release := holdCommitter(t, s, func() {
		wg.Go(func() {
			errs[0] = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error {
				runs++
				if _, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, marker{0, runs}); err != nil {
					return err
				}
				if runs == 1 {
					return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
				}
				return nil
			}})
		})
		waitQueued(t, s, 1)
		wg.Go(func() {
			errs[1] = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error {
				_, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, marker{1, 1})
				return err
			}})
		})
		waitQueued(t, s, 2)
	})
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
	if runs != 2 {
		t.Errorf("the deadlocked change ran %d times, want 2", runs)
	}
	events, err := s.Events(ctx, room.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		var m marker
		_ = json.Unmarshal(ev.Payload, &m)
		got = append(got, fmt.Sprintf("%d:%d/%d", ev.Sequence, m.Change, m.Part))
	}
	if fmt.Sprint(got) != "[1:1/1 2:0/2]" {
		t.Errorf("events %v, want change 1, then change 0's second run", got)
	}
}

// TestCloseStopsTheCommitter: Close answers a change still queued, later
// changes fail at once, and (TestMain's goleak) no goroutine is left.
func TestCloseStopsTheCommitter(t *testing.T) {
	ctx := context.Background()
	s, err := db.Open(ctx, dbtest.SQLite(t), clockwork.NewRealClock(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	closed := make(chan error, 1)
	release := holdCommitter(t, s, func() {
		go func() {
			queued <- s.Apply(ctx, game.Change{Run: func(context.Context, game.Tx) error {
				t.Error("a change queued when Close began ran")
				return nil
			}})
		}()
		waitQueued(t, s, 1)
		go func() { closed <- s.Close() }()
		// Close waits for the running batch: release it once Close has
		// begun (marked the committer shut), not after a guess of a sleep.
		deadline := time.Now().Add(waitTimeout)
		for !db.Closing(s) {
			if time.Now().After(deadline) {
				t.Fatal("Close did not begin")
			}
			time.Sleep(time.Millisecond) // polling another goroutine's progress
		}
	})
	release()
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-queued; err == nil {
		t.Error("the queued change succeeded after Close")
	}
	if err := s.Apply(ctx, game.Change{Run: func(context.Context, game.Tx) error { return nil }}); err == nil {
		t.Error("Apply after Close succeeded")
	}
}

// TestApplyTakesLocksInOrder (PostgreSQL): a price change holds symbol X
// and room B and then wants room A, while a batch holds two orders: one in
// room A on symbol Y, one in room B on symbol X. Were the batch to lock as
// it goes (A, then wait for X), the two would deadlock and one of them
// would be aborted; the batch takes X and Y, then A and B, before any
// change runs, so it waits for the price change instead, and nothing is
// aborted or run twice.
func TestApplyTakesLocksInOrder(t *testing.T) {
	ctx := context.Background()
	// One committer, so that both orders share the batch.
	s := mustOpenWith(t, postgresBackend, db.Options{Committers: 1})
	owner := addUser(t, s, "owner")
	roomA := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic).ID
	roomB := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic).ID

	tickHolds, aLocked := make(chan struct{}), make(chan struct{})
	tickDone := make(chan error, 1)
	go func() {
		tickDone <- s.Update(ctx, func(tx game.Tx) error {
			if err := tx.LockSymbol(ctx, "X", true); err != nil {
				return err
			}
			if _, err := tx.LockBullPen(ctx, roomB); err != nil {
				return err
			}
			close(tickHolds)
			// Let the batch lock room A first, if it is going to.
			select {
			case <-aLocked:
			case <-time.After(300 * time.Millisecond):
			}
			_, err := tx.LockBullPen(ctx, roomA)
			return err
		})
	}()
	<-tickHolds

	var (
		wg         sync.WaitGroup
		runs       [2]int
		errs       [2]error
		markLocked sync.Once
	)
	orders := []struct {
		room   int64
		symbol string
	}{{roomA, "Y"}, {roomB, "X"}}
	release := holdCommitter(t, s, func() {
		for i, o := range orders {
			wg.Go(func() {
				errs[i] = s.Apply(ctx, game.Change{Symbols: []string{o.symbol}, Rooms: []int64{o.room}, Run: func(ctx context.Context, tx game.Tx) error {
					runs[i]++
					if err := tx.LockSymbol(ctx, o.symbol, false); err != nil {
						return err
					}
					if _, err := tx.LockBullPen(ctx, o.room); err != nil {
						return err
					}
					if o.room == roomA {
						markLocked.Do(func() { close(aLocked) })
					}
					return nil
				}})
			})
			waitQueued(t, s, i+1)
		}
	})
	release()
	wg.Wait()
	if err := <-tickDone; err != nil {
		t.Errorf("price change: %v", err)
	}
	for i := range orders {
		if errs[i] != nil || runs[i] != 1 {
			t.Errorf("order %d: ran %d times, err %v; want once, no error", i, runs[i], errs[i])
		}
	}
}

// bookAll writes one row of each kind PostgreSQL keeps for the commit
// (see db/deferred.go): an event, a ledger entry and a fill count, for
// participant p, marked with change i.
func bookAll(ctx context.Context, tx game.Tx, p *game.Participant, i int) error {
	pid := p.ID
	if _, err := tx.AppendEvent(ctx, p.BullPenID, game.EventOrder, &pid, marker{i, 1}); err != nil {
		return err
	}
	reason := fmt.Sprint(i)
	if err := tx.InsertLedger(ctx, []*game.LedgerEntry{{ParticipantID: p.ID, Kind: game.LedgerAdjustment, Amount: dec("1"),
		CashAfter: dec("1"), BuyingPowerAfter: dec("1"), At: tx.Now(), Reason: &reason}}); err != nil {
		return err
	}
	return tx.RecordFill(ctx, p.ID, true, false)
}

// ledgerReasons lists the reasons of p's ledger entries, oldest first.
func ledgerReasons(ctx context.Context, q game.Queries, p *game.Participant) ([]string, error) {
	es, _, err := q.Ledger(ctx, p.ID, 0, 100)
	var out []string
	for _, e := range es {
		out = append(out, *e.Reason)
	}
	return out, err
}

// Three changes of one batch write an event, a ledger entry and a fill
// count each; the second reads them back, which writes the first's rows
// and its own, and then fails. The third reads each table back in the
// transaction after writing to it and sees the first's rows and its own,
// not the second's; after the commit so does everyone.
func testApplyFailedChangeLeavesNoneOfItsRows(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpenWith(t, backend, db.Options{Committers: 1})
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	p := addParticipant(t, s, room.ID, owner.ID)
	var (
		wg      sync.WaitGroup
		errs    [3]error
		txs     [3]string
		inTx    []string // the ledger as the third change read it
		inTrack *game.Track
		inCount int // the events the third change read
	)
	changes := []func(ctx context.Context, tx game.Tx) error{
		func(ctx context.Context, tx game.Tx) error { return bookAll(ctx, tx, p, 0) },
		// Its read writes the first change's rows, and its own, inside
		// its savepoint; its failure undoes them all, yet the first's
		// must still commit.
		func(ctx context.Context, tx game.Tx) error {
			if err := bookAll(ctx, tx, p, 1); err != nil {
				return err
			}
			if _, err := ledgerReasons(ctx, tx, p); err != nil {
				return err
			}
			return errBoom
		},
		// Each read follows rows of its own, kept for the commit.
		func(ctx context.Context, tx game.Tx) error {
			if err := bookAll(ctx, tx, p, 2); err != nil {
				return err
			}
			var err error
			if inTrack, err = tx.Track(ctx, p.ID); err != nil {
				return err
			}
			if err := bookAll(ctx, tx, p, 3); err != nil {
				return err
			}
			events, err := tx.Events(ctx, room.ID, 0, 100)
			if err != nil {
				return err
			}
			inCount = len(events)
			if err := bookAll(ctx, tx, p, 4); err != nil {
				return err
			}
			inTx, err = ledgerReasons(ctx, tx, p)
			return err
		},
	}
	release := holdCommitter(t, s, func() {
		for i, run := range changes {
			wg.Go(func() {
				errs[i] = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error {
					txs[i] = fmt.Sprintf("%p", tx)
					return run(ctx, tx)
				}})
			})
			waitQueued(t, s, i+1) // in this order
		}
	})
	release()
	wg.Wait()
	if txs[0] != txs[1] || txs[1] != txs[2] {
		t.Fatalf("the changes ran in transactions %v, want one", txs)
	}
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errBoom) {
		t.Fatalf("errors %v, want only the second change's", errs)
	}
	eq(t, "fills counted in the transaction", inTrack.Fills, 2)
	eq(t, "events read in the transaction", inCount, 3)
	eq(t, "ledger read in the transaction", fmt.Sprint(inTx), "[0 2 3 4]")

	reasons, err := ledgerReasons(ctx, s, p)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "ledger", fmt.Sprint(reasons), "[0 2 3 4]")
	track, err := s.Track(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "fills counted", track.Fills, 4)
	eq(t, "closing fills counted", track.ClosingFills, 4)
	events, err := s.Events(ctx, room.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for n, ev := range events {
		var m marker
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			t.Fatal(err)
		}
		eq(t, "sequence", ev.Sequence, int64(n+1))
		got = append(got, m.Change)
	}
	eq(t, "events' changes", fmt.Sprint(got), "[0 2 3 4]")
	b, err := s.BullPen(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "last sequence", b.LastSequence, int64(4))
}

// A change alone in its batch runs without a savepoint: when it fails,
// after writing and reading back rows of every deferred kind and a row of
// its own (a user), or panics, none of what it wrote is left, and the
// room's next change numbers its event from where the room was.
func testApplyLoneFailedChangeLeavesNoneOfItsRows(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpenWith(t, backend, db.Options{Committers: 1})
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	p := addParticipant(t, s, room.ID, owner.ID)
	fail := func(ctx context.Context, tx game.Tx, i int) error {
		if err := bookAll(ctx, tx, p, i); err != nil {
			return err
		}
		if _, err := ledgerReasons(ctx, tx, p); err != nil {
			return err
		}
		if err := tx.InsertUser(ctx, &game.User{Username: fmt.Sprint("lone", i), DisplayName: "x", PasswordHash: "x", CreatedAt: tx.Now()}); err != nil {
			return err
		}
		return errBoom
	}
	if err := s.Apply(ctx, game.Change{Rooms: []int64{room.ID}, Run: func(ctx context.Context, tx game.Tx) error { return fail(ctx, tx, 1) }}); !errors.Is(err, errBoom) {
		t.Fatalf("failing change: %v, want %v", err, errBoom)
	}
	func() {
		defer func() {
			if p := recover(); p == nil {
				t.Fatal("the panicking change's caller did not panic")
			}
		}()
		_ = s.Apply(ctx, game.Change{Rooms: []int64{room.ID}, Run: func(ctx context.Context, tx game.Tx) error {
			if err := fail(ctx, tx, 2); !errors.Is(err, errBoom) {
				return err
			}
			panic("lone change")
		}})
	}()
	if err := s.Apply(ctx, game.Change{Rooms: []int64{room.ID}, Run: func(ctx context.Context, tx game.Tx) error { return bookAll(ctx, tx, p, 3) }}); err != nil {
		t.Fatal(err)
	}
	batches, changes := s.GroupCommits()
	eq(t, "committed batches and changes", fmt.Sprint(batches, changes), "1 1")
	reasons, err := ledgerReasons(ctx, s, p)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "ledger", fmt.Sprint(reasons), "[3]")
	track, err := s.Track(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "fills counted", track.Fills, 1)
	for _, name := range []string{"lone1", "lone2"} {
		if _, err := s.UserByUsername(ctx, name); game.ErrorCode(err) != game.ENOTFOUND {
			t.Fatalf("user %s written by a failed change: %v", name, err)
		}
	}
	events, err := s.Events(ctx, room.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Sequence != 1 {
		t.Fatalf("events %v, want the third change's alone, sequence 1", events)
	}
	b, err := s.BullPen(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "last sequence", b.LastSequence, int64(1))
}

// A row the database refuses only when it is written (a ledger entry of
// no participant: its foreign key) fails its own change, never the
// others of its batch, even when it was kept for the commit.
func testApplyRowRefusedAtCommitFailsOnlyItsChange(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpenWith(t, backend, db.Options{Committers: 1})
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	p := addParticipant(t, s, room.ID, owner.ID)
	nobody := &game.Participant{ID: p.ID + 1000, BullPenID: room.ID}
	var (
		wg   sync.WaitGroup
		errs [2]error
	)
	release := holdCommitter(t, s, func() {
		for i, who := range []*game.Participant{p, nobody} {
			wg.Go(func() {
				errs[i] = s.Apply(ctx, game.Change{Run: func(ctx context.Context, tx game.Tx) error { return bookAll(ctx, tx, who, i) }})
			})
			waitQueued(t, s, i+1)
		}
	})
	release()
	wg.Wait()
	if errs[0] != nil {
		t.Errorf("the good change: %v", errs[0])
	}
	if errs[1] == nil {
		t.Errorf("the change booking for no participant succeeded")
	}
	reasons, err := ledgerReasons(ctx, s, p)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "ledger", fmt.Sprint(reasons), "[0]")
	events, err := s.Events(ctx, room.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "events", len(events), 1)
}
