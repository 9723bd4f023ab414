package game_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/game"
)

func TestCanMove(t *testing.T) {
	states := []game.RoomState{game.RoomScheduled, game.RoomActive, game.RoomPaused, game.RoomEnded, game.RoomCancelled}
	allowed := map[[2]game.RoomState]bool{
		{game.RoomScheduled, game.RoomActive}: true, {game.RoomScheduled, game.RoomCancelled}: true,
		{game.RoomActive, game.RoomPaused}: true, {game.RoomActive, game.RoomEnded}: true,
		{game.RoomPaused, game.RoomActive}: true, {game.RoomPaused, game.RoomEnded}: true,
	}
	for _, from := range states {
		for _, to := range states {
			if got := game.CanMove(from, to); got != allowed[[2]game.RoomState{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
}

func TestCreateBullPenValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	tests := []createCase{
		{"EmptyName", func(in *game.CreateBullPenInput) { in.Name = "  " }, "name"},
		{"EndsBeforeStart", func(in *game.CreateBullPenInput) {
			in.StartsAt = ptr(t0.Add(2 * time.Hour))
			in.EndsAt = t0.Add(time.Hour)
		}, "endsAt"},
		{"EndsInThePast", func(in *game.CreateBullPenInput) {
			in.StartsAt = ptr(t0.Add(-2 * time.Hour))
			in.EndsAt = t0.Add(-time.Hour)
		}, "endsAt"},
		{"ZeroCash", func(in *game.CreateBullPenInput) { in.StartingCash = decp("0") }, "startingCash"},
		{"NegativeCash", func(in *game.CreateBullPenInput) { in.StartingCash = decp("-5") }, "startingCash"},
		{"NegativeCommission", func(in *game.CreateBullPenInput) { in.Commission = decp("-1") }, "commission"},
		{"UnknownSymbol", func(in *game.CreateBullPenInput) { in.AllowedSymbols = []string{"AAPL", "NOPE"} }, "allowedSymbols"},
		{"NoSymbols", func(in *game.CreateBullPenInput) { in.AllowedSymbols = []string{} }, "allowedSymbols"},
		{"ZeroMaxParticipants", func(in *game.CreateBullPenInput) { in.MaxParticipants = ptr(0) }, "maxParticipants"},
	}
	assertCreateRefused(t, h, owner, tests)
	rooms, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10})
	if err != nil || total != 0 || len(rooms) != 0 {
		t.Errorf("rooms stored: %d, %v", total, err)
	}
	_, err = h.svc.CreateBullPen(h.ctx, nil, game.CreateBullPenInput{Name: "x", EndsAt: t0.Add(time.Hour)})
	assertCode(t, err, game.EUNAUTHENTICATED)
}

func TestManualMoves(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.room(owner, func(in *game.CreateBullPenInput) { in.StartsAt = ptr(t0.Add(time.Hour)) })
	if room.State != game.RoomScheduled {
		t.Fatalf("new room is %s", room.State)
	}
	_, err := h.svc.Move(h.ctx, alice, room.ID, game.RoomActive)
	assertCode(t, err, game.EFORBIDDEN)

	steps := []struct {
		to   game.RoomState
		code string
	}{
		{game.RoomPaused, game.ECONFLICT},
		{game.RoomEnded, game.ECONFLICT},
		{game.RoomActive, ""},
		{game.RoomActive, game.ECONFLICT},
		{game.RoomCancelled, game.ECONFLICT},
		{game.RoomPaused, ""},
		{game.RoomPaused, game.ECONFLICT},
		{game.RoomActive, ""},
		{game.RoomEnded, ""},
		{game.RoomActive, game.ECONFLICT},
	}
	for i, s := range steps {
		b, err := h.svc.Move(h.ctx, owner, room.ID, s.to)
		if game.ErrorCode(err) != s.code {
			t.Fatalf("step %d: move to %s: %v, want code %q", i, s.to, err, s.code)
		}
		if err == nil && b.State != s.to {
			t.Fatalf("step %d: state %s, want %s", i, b.State, s.to)
		}
		if err != nil {
			cur, _ := h.store.BullPen(h.ctx, room.ID)
			if msg := game.ErrorMessage(err); !strings.Contains(msg, string(cur.State)) {
				t.Errorf("step %d: message %q does not name the state %s", i, msg, cur.State)
			}
		}
	}
	want := []string{"ROOM_STATE:ACTIVE:MANUAL", "ROOM_STATE:PAUSED:MANUAL", "ROOM_STATE:ACTIVE:MANUAL", "ROOM_STATE:ENDED:MANUAL", "LEADERBOARD:FINAL"}
	if got := h.kinds(room.ID, 0); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	b, _ := h.store.BullPen(h.ctx, room.ID)
	if !b.StartsAt.Equal(t0) || !b.EndsAt.Equal(t0) {
		t.Errorf("an early start and end move the times to now: %v %v", b.StartsAt, b.EndsAt)
	}
}

func TestEndingExpiresOpenOrdersAndTakesFinalLeaderboard(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, nil, alice, bob)
	h.price("AAPL", "100")
	h.order(alice, buy(room.ID, "AAPL", 10))
	o := h.order(bob, limit(buy(room.ID, "AAPL", 10), "50"))
	before := h.lastSeq(room.ID)
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
		t.Fatal(err)
	}
	want := []string{"ROOM_STATE:ENDED:MANUAL", "ORDER:EXPIRED", "LEADERBOARD:FINAL"}
	if got := h.kinds(room.ID, before); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	got, _ := h.store.Order(h.ctx, o.ID)
	if got.Status != game.OrderStatusExpired {
		t.Errorf("open order is %s, want EXPIRED", got.Status)
	}
	snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil || !snap.Final || len(snap.Entries) != 2 {
		t.Fatalf("final snapshot %+v, %v", snap, err)
	}
	// Both are worth 100000 at the last price: a tie shares rank 1.
	if snap.Entries[0].Rank != 1 || snap.Entries[1].Rank != 1 {
		t.Errorf("ranks = %d, %d; want 1, 1", snap.Entries[0].Rank, snap.Entries[1].Rank)
	}
	h.price("AAPL", "120")
	if _, err := h.svc.PlaceOrder(h.ctx, alice, sell(room.ID, "AAPL", 1)); err != nil {
		t.Fatal(err)
	}
	if o := h.lastOrder(room.ID); o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectRoomNotActive {
		t.Errorf("order after end: %s", o.Status)
	}
}

func (h *harness) lastOrder(roomID int64) *game.Order {
	h.t.Helper()
	os, _, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: roomID, Limit: 1})
	if err != nil || len(os) == 0 {
		h.t.Fatalf("no orders: %v", err)
	}
	return os[0]
}

func TestJoinRules(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob, carol := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol")
	private := h.room(owner, func(in *game.CreateBullPenInput) {
		in.Visibility = ptr(game.VisibilityPrivate)
		in.MaxParticipants = ptr(2)
	})
	t.Run("PrivateNeedsInviteCode", func(t *testing.T) {
		_, err := h.svc.JoinBullPen(h.ctx, alice, private.ID, nil)
		assertCode(t, err, game.ENOTFOUND)
		_, err = h.svc.JoinBullPen(h.ctx, alice, private.ID, ptr("WRONG"))
		assertCode(t, err, game.ENOTFOUND)
		p, err := h.svc.JoinBullPen(h.ctx, alice, private.ID, &private.InviteCode)
		if err != nil {
			t.Fatal(err)
		}
		assertDec(t, "cash", p.Cash, "100000")
	})
	t.Run("JoinTwiceReturnsTheSameSeat", func(t *testing.T) {
		a, _ := h.svc.JoinBullPen(h.ctx, alice, private.ID, nil)
		b, _ := h.svc.JoinBullPen(h.ctx, alice, private.ID, &private.InviteCode)
		if a == nil || b == nil || a.ID != b.ID {
			t.Fatalf("seats %v %v", a, b)
		}
	})
	t.Run("FullRoom", func(t *testing.T) {
		if _, err := h.svc.JoinBullPen(h.ctx, bob, private.ID, &private.InviteCode); err != nil {
			t.Fatal(err)
		}
		_, err := h.svc.JoinBullPen(h.ctx, carol, private.ID, &private.InviteCode)
		assertCode(t, err, game.ECONFLICT)
	})
	t.Run("EndedOrCancelledRoom", func(t *testing.T) {
		r := h.room(owner, nil)
		if _, err := h.svc.Move(h.ctx, owner, r.ID, game.RoomCancelled); err != nil {
			t.Fatal(err)
		}
		_, err := h.svc.JoinBullPen(h.ctx, carol, r.ID, nil)
		assertCode(t, err, game.ECONFLICT)
		r = h.activeRoom(owner, nil)
		if _, err := h.svc.Move(h.ctx, owner, r.ID, game.RoomEnded); err != nil {
			t.Fatal(err)
		}
		_, err = h.svc.JoinBullPen(h.ctx, carol, r.ID, nil)
		assertCode(t, err, game.ECONFLICT)
	})
	t.Run("UnknownRoom", func(t *testing.T) {
		_, err := h.svc.JoinBullPen(h.ctx, carol, 9999, nil)
		assertCode(t, err, game.ENOTFOUND)
	})
}

func TestSchedulerCatchesUpAndMovesOnce(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	a := h.room(owner, func(in *game.CreateBullPenInput) {
		in.StartsAt = ptr(t0.Add(time.Hour))
		in.EndsAt = t0.Add(2 * time.Hour)
	})
	b := h.room(owner, func(in *game.CreateBullPenInput) {
		in.StartsAt = ptr(t0.Add(time.Hour))
		in.EndsAt = t0.Add(5 * time.Hour)
	})
	next, err := h.svc.AdvanceDue(h.ctx)
	if err != nil || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next due %v, %v; want %v", next, err, t0.Add(time.Hour))
	}
	// The server was "down" for three hours: a should start and end, b start.
	h.clock.Advance(3 * time.Hour)

	// Two instances sharing the database race to make the moves.
	other := openHarness(t, h.path, h.clock)
	var wg sync.WaitGroup
	for _, s := range []*game.Service{h.svc, other.svc} {
		wg.Go(func() {
			if _, err := s.AdvanceDue(h.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := h.kinds(a.ID, 0), []string{"ROOM_STATE:ACTIVE:SCHEDULE", "ROOM_STATE:ENDED:SCHEDULE", "LEADERBOARD:FINAL"}; !slices.Equal(got, want) {
		t.Errorf("room a events = %v, want %v", got, want)
	}
	if got, want := h.kinds(b.ID, 0), []string{"ROOM_STATE:ACTIVE:SCHEDULE"}; !slices.Equal(got, want) {
		t.Errorf("room b events = %v, want %v", got, want)
	}
	next, err = h.svc.AdvanceDue(h.ctx)
	if err != nil || !next.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("next due %v, %v; want b's end", next, err)
	}
	var rs game.RoomStatePayload
	ev := h.events(a.ID)[1]
	mustUnmarshal(t, ev.Payload, &rs)
	if rs.PreviousState != game.RoomActive || rs.ElapsedSeconds != 3600 || rs.RemainingSeconds != 0 || rs.ActorID != nil {
		t.Errorf("end event = %+v", rs)
	}
}

func TestRunSchedulerMovesAtDueTimeAndStops(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	room := h.room(owner, func(in *game.CreateBullPenInput) {
		in.StartsAt = ptr(t0.Add(10 * time.Second))
		in.EndsAt = t0.Add(20 * time.Second)
	})
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunScheduler(ctx) }()

	waitState := func(want game.RoomState) {
		t.Helper()
		// The scheduler waits on one timer between passes: once it is
		// waiting again, its pass is complete.
		if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
			t.Fatal(err)
		}
		b, _ := h.store.BullPen(h.ctx, room.ID)
		if b.State != want {
			t.Fatalf("state %s, want %s", b.State, want)
		}
	}
	waitState(game.RoomScheduled)
	h.clock.Advance(9 * time.Second)
	waitState(game.RoomScheduled)
	h.clock.Advance(time.Second)
	waitState(game.RoomActive)
	h.clock.Advance(10 * time.Second)
	waitState(game.RoomEnded)

	stopAndWait(t, cancel, done, "RunScheduler")
}

func TestLeaderboards(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob, carol := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("10000") }, alice, bob, carol)
	h.price("AAPL", "100")
	h.price("MSFT", "50")
	h.order(alice, buy(room.ID, "AAPL", 10))
	h.order(bob, buy(room.ID, "MSFT", 20))
	h.price("AAPL", "110") // alice 10100
	h.price("MSFT", "45")  // bob 9900, carol 10000
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	users := []int64{alice.ID, carol.ID, bob.ID}
	values := []string{"10100", "10000", "9900"}
	for i, e := range snap.Entries {
		if e.UserID != users[i] || e.Rank != i+1 || !e.PortfolioValue.Equal(dec(values[i])) {
			t.Errorf("entry %d = user %d rank %d value %s; want user %d rank %d value %s", i, e.UserID, e.Rank, e.PortfolioValue, users[i], i+1, values[i])
		}
	}
	assertDec(t, "alice return %", snap.Entries[0].ReturnPercent, "1")
	// Nothing stale: no new snapshot unless periodic.
	seq := h.lastSeq(room.ID)
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	if h.lastSeq(room.ID) != seq {
		t.Errorf("a snapshot was taken with nothing stale")
	}
	// Nothing moved: a periodic refresh takes no snapshot either.
	if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := h.kinds(room.ID, seq); len(got) != 0 {
		t.Errorf("periodic refresh of an unchanged board gave %v, want nothing", got)
	}
	// A price that moves a value: the periodic refresh takes one.
	h.price("AAPL", "111")
	if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := h.kinds(room.ID, seq); !slices.Equal(got, []string{"LEADERBOARD"}) {
		t.Errorf("periodic refresh after a price move gave %v, want one LEADERBOARD", got)
	}
	snap, err = h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertDec(t, "alice's value after the move", snap.Entries[0].PortfolioValue, "10110")
}

// The periodic snapshots of RunLeaderboards: an idle ACTIVE room adds
// nothing to its log however long it runs; a price change that moves the
// board adds one snapshot at the next period (Config.LeaderboardPeriod).
func TestRunLeaderboardsSnapshotsOnlyChangedBoards(t *testing.T) {
	h := newHarness(t)
	const period = 10 * time.Second
	h.svc = game.NewService(game.Config{Store: h.store, Clock: h.clock, Instruments: map[string]string{"AAPL": "Apple"},
		ManualMarket: true, Passwords: auth.Bcrypt{Cost: bcrypt.MinCost}, LeaderboardPeriod: period})
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, nil, alice)
	probe := h.activeRoom(owner, nil, bob) // made stale on purpose to see the worker's rounds
	h.price("AAPL", "100")
	h.order(alice, buy(room.ID, "AAPL", 10))
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil { // the fill's snapshot
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunLeaderboards(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	// settle returns once every round started before it has finished: a
	// round that snapshots the probe room (stale by a fill) starts after
	// the previous one ended, and doing it twice covers a round that
	// took the probe together with earlier work.
	settle := func() {
		t.Helper()
		for range 2 {
			before := h.lastSeq(probe.ID)
			h.order(bob, buy(probe.ID, "AAPL", 1))
			afterFill := h.lastSeq(probe.ID)
			h.clock.Advance(game.LeaderboardInterval)
			deadline := time.Now().Add(10 * time.Second)
			for h.lastSeq(probe.ID) == afterFill && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // waiting for the worker goroutine, not for a timer
			}
			if got := h.kinds(probe.ID, before); len(got) == 0 || got[len(got)-1] != "LEADERBOARD" {
				t.Fatalf("probe room: %v, want its fill then a LEADERBOARD", got)
			}
		}
	}
	idle := h.lastSeq(room.ID)
	for range 4 {
		h.clock.Advance(period)
		settle()
	}
	if got := h.kinds(room.ID, idle); len(got) != 0 {
		t.Fatalf("an idle room took %v over four periods, want nothing", got)
	}
	h.price("AAPL", "101") // alice's value moves to 100010
	h.clock.Advance(period)
	settle()
	if got := h.kinds(room.ID, idle); !slices.Equal(got, []string{"LEADERBOARD"}) {
		t.Fatalf("a period after a price move: %v, want one LEADERBOARD", got)
	}
	snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertDec(t, "alice's value", snap.Entries[0].PortfolioValue, "100010")
	moved := h.lastSeq(room.ID)
	for range 2 {
		h.clock.Advance(period)
		settle()
	}
	if got := h.kinds(room.ID, moved); len(got) != 0 {
		t.Errorf("the board is still again, yet the log got %v", got)
	}
}

func TestCheckLeaderboardPeriod(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 5 * time.Second, time.Hour} {
		if err := game.CheckLeaderboardPeriod(d); err != nil {
			t.Errorf("%v: %v", d, err)
		}
	}
	for _, d := range []time.Duration{0, -time.Second, 500 * time.Millisecond, 1500 * time.Millisecond, time.Hour + time.Second} {
		if err := game.CheckLeaderboardPeriod(d); err == nil {
			t.Errorf("%v accepted", d)
		}
	}
}

func TestRunLeaderboardsCoalescesAndStops(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunLeaderboards(ctx) }()
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		h.order(alice, buy(room.ID, "AAPL", 1))
	}
	before := h.lastSeq(room.ID)
	h.clock.Advance(game.LeaderboardInterval)
	deadline := time.Now().Add(5 * time.Second)
	for h.lastSeq(room.ID) == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // waiting for the worker goroutine, not for a timer
	}
	if got := h.kinds(room.ID, before); !slices.Equal(got, []string{"LEADERBOARD"}) {
		t.Errorf("five fills in one interval gave %v, want one LEADERBOARD", got)
	}
	stopAndWait(t, cancel, done, "RunLeaderboards")
}

func TestSignInAttemptsAreLimited(t *testing.T) {
	h := newHarness(t)
	h.user("alice")
	for i := range 10 {
		_, err := h.svc.SignIn(h.ctx, "alice", "wrong password")
		if game.ErrorCode(err) != game.EUNAUTHENTICATED {
			t.Fatalf("attempt %d: %v, want UNAUTHENTICATED", i+1, err)
		}
	}
	_, err := h.svc.SignIn(h.ctx, "ALICE", "password123")
	assertCode(t, err, game.ERATELIMITED)
	// Another username is not affected.
	h.user("bob")
	if _, err := h.svc.SignIn(h.ctx, "bob", "password123"); err != nil {
		t.Fatalf("bob: %v", err)
	}
	h.clock.Advance(6 * time.Second)
	if u, err := h.svc.SignIn(h.ctx, "alice", "password123"); err != nil || u.Username != "alice" {
		t.Fatalf("after waiting: %v, %v", u, err)
	}
	_, err = h.svc.SignIn(h.ctx, "alice", "password123")
	assertCode(t, err, game.ERATELIMITED)
}

func TestStartAndResumeAreDistinctMoves(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	room := h.activeRoom(owner, nil)
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
		t.Fatal(err)
	}
	_, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive, game.RoomScheduled) // startBullPen
	assertCode(t, err, game.ECONFLICT)
	if msg := game.ErrorMessage(err); !strings.Contains(msg, "cannot start") || !strings.Contains(msg, "PAUSED") {
		t.Errorf("message %q", msg)
	}
	if b, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive, game.RoomPaused); err != nil || b.State != game.RoomActive { // resumeBullPen
		t.Fatalf("resume: %v, %v", b, err)
	}
	_, err = h.svc.Move(h.ctx, owner, room.ID, game.RoomActive, game.RoomPaused)
	assertCode(t, err, game.ECONFLICT)
}

// stopAndWait cancels a Run loop's context and waits for it to return,
// failing the test if it returns an error or does not stop.
func stopAndWait(t *testing.T, cancel context.CancelFunc, done <-chan error, name string) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not stop", name)
	}
}

// createCase is a createBullPen input made bad in one field.
type createCase struct {
	name  string
	fn    func(*game.CreateBullPenInput)
	field string
}

// assertCreateRefused checks each case is refused with BAD_USER_INPUT
// naming its field.
func assertCreateRefused(t *testing.T, h *harness, owner *game.User, tests []createCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := game.CreateBullPenInput{Name: "Room", EndsAt: t0.Add(time.Hour)}
			tt.fn(&in)
			_, err := h.svc.CreateBullPen(h.ctx, owner, in)
			assertCode(t, err, game.EINVALID)
			if e, ok := err.(*game.Error); !ok || e.Field != tt.field {
				t.Errorf("error %v should name %q", err, tt.field)
			}
		})
	}
}
