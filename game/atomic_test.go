package game_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
)

func TestRoomWithoutStartsAtIsActiveAtOnce(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	b, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "Now", EndsAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if b.State != game.RoomActive {
		t.Errorf("createBullPen answered %s, want ACTIVE", b.State)
	}
	stored, err := h.store.BullPen(h.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != game.RoomActive || stored.LastSequence != 1 || b.LastSequence != 1 {
		t.Errorf("stored %s at sequence %d (answered %d), want ACTIVE at 1", stored.State, stored.LastSequence, b.LastSequence)
	}
	if got, want := h.kinds(b.ID, 0), []string{"ROOM_STATE:ACTIVE:SCHEDULE"}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	later, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "Later", StartsAt: ptr(t0.Add(time.Minute)), EndsAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if later.State != game.RoomScheduled || len(h.events(later.ID)) != 0 {
		t.Errorf("a room with a future startsAt is %s with %d events, want SCHEDULED with none", later.State, len(h.events(later.ID)))
	}
}

// TestTickFillsEveryOrderItCanAndSkipsABrokenOne breaks one participant's
// row in the real database: the tick still stores the price and fills the
// other orders it crosses, in the same transaction.
func TestTickFillsEveryOrderItCanAndSkipsABrokenOne(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, nil, alice, bob)
	h.price("AAPL", "100")
	first := h.order(alice, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Type: ptr(game.OrderTypeLimit), Quantity: 1, LimitPrice: decp("95")})
	second := h.order(bob, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Type: ptr(game.OrderTypeLimit), Quantity: 1, LimitPrice: decp("95")})
	if _, err := h.store.DB().Exec(`UPDATE participants SET cash = 'not a number' WHERE id = ?`, first.ParticipantID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Tick(h.ctx, "AAPL", dec("90")); err != nil {
		t.Fatalf("tick: %v", err)
	}
	q, err := h.store.Quote(h.ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	assertDec(t, "stored price", q.Price, "90")
	if o, _ := h.store.Order(h.ctx, second.ID); o.Status != game.OrderStatusFilled {
		t.Errorf("the healthy order after the broken one is %s, want FILLED", o.Status)
	}
	if o, _ := h.store.Order(h.ctx, first.ID); o.Status != game.OrderStatusOpen {
		t.Errorf("the broken order is %s, want OPEN (left as it was)", o.Status)
	}
}

// TestLeaderboardRefreshRetriesAFailedRoom: a room whose snapshot failed
// stays stale and is snapshotted on the next round.
func TestLeaderboardRefreshRetriesAFailedRoom(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	before := h.lastSeq(room.ID)
	p := h.participant(room.ID, alice)
	h.order(alice, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Quantity: 1})
	if _, err := h.store.DB().Exec(`UPDATE participants SET cash = 'broken' WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	afterFail := h.lastSeq(room.ID)
	if _, err := h.store.DB().Exec(`UPDATE participants SET cash = '99900' WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	evs := h.events(room.ID)
	last := evs[len(evs)-1]
	if last.Kind != game.EventLeaderboard || last.Sequence <= afterFail {
		t.Errorf("after the failed snapshot (sequence %d, order events from %d) the next refresh wrote %s at %d, want a LEADERBOARD snapshot", afterFail, before, last.Kind, last.Sequence)
	}
}

// TestValueIsOneConsistentRead values a participant while market buys at
// an unchanging price fill: with commission 0 every consistent state is
// worth exactly the starting cash, so any other figure mixed two states.
func TestValueIsOneConsistentRead(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	p := h.participant(room.ID, alice)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for range 60 {
			if _, err := h.svc.PlaceOrder(h.ctx, alice, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Quantity: 1}); err != nil {
				t.Errorf("order: %v", err)
				return
			}
		}
	})
	values := 0
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		v, err := h.svc.Value(h.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		values++
		if !v.PortfolioValue.Equal(dec("100000")) {
			t.Fatalf("valuation %d mixed two states: portfolio value %s (cash %s), want 100000", values, v.PortfolioValue, v.Cash)
		}
	}
	wg.Wait()
	t.Logf("%d consistent valuations", values)
}
