package game_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

func expiring(in game.PlaceOrderInput, at time.Time) game.PlaceOrderInput {
	in.ExpiresAt = &at
	return in
}

// expiredEvents counts the EXPIRED events of each order in a room.
func (h *harness) expiredEvents(roomID int64) map[int64]int {
	h.t.Helper()
	n := map[int64]int{}
	for _, ev := range h.events(roomID) {
		if ev.Kind != game.EventOrder {
			continue
		}
		var p game.OrderPayload
		mustUnmarshal(h.t, ev.Payload, &p)
		if p.Kind == game.OrderEventExpired {
			n[p.Order.ID]++
			if p.Order.Status != game.OrderStatusExpired {
				h.t.Errorf("EXPIRED event of order %d carries status %s", p.Order.ID, p.Order.Status)
			}
		}
	}
	return n
}

func TestExpiresAtValidation(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	before := h.lastSeq(room.ID)
	tests := []struct {
		name string
		in   game.PlaceOrderInput
	}{
		{"OnMarket", expiring(buy(room.ID, "AAPL", 1), t0.Add(time.Hour))},
		{"Now", expiring(limit(buy(room.ID, "AAPL", 1), "90"), t0)},
		{"Past", expiring(limit(buy(room.ID, "AAPL", 1), "90"), t0.Add(-time.Second))},
		{"WithinTheMillisecond", expiring(limit(buy(room.ID, "AAPL", 1), "90"), t0.Add(time.Microsecond))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.PlaceOrder(h.ctx, alice, tt.in)
			assertCode(t, err, game.EINVALID)
			if e, ok := err.(*game.Error); !ok || e.Field != "expiresAt" {
				t.Errorf("error %v should name expiresAt", err)
			}
		})
	}
	if got := h.lastSeq(room.ID); got != before {
		t.Errorf("events were written: last sequence %d, want %d", got, before)
	}
	// Every resting type takes one.
	for _, in := range []game.PlaceOrderInput{
		limit(buy(room.ID, "AAPL", 1), "90"), stop(buy(room.ID, "AAPL", 1), "110"),
		func() game.PlaceOrderInput {
			in := limit(buy(room.ID, "AAPL", 1), "120")
			in.Type, in.StopPrice = ptr(game.OrderTypeStopLimit), decp("115")
			return in
		}(),
		trailing(buy(room.ID, "AAPL", 1), "5", ""),
	} {
		o := h.order(alice, expiring(in, t0.Add(time.Hour)))
		if o.Status != game.OrderStatusOpen || o.ExpiresAt == nil || !o.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s: %s expiresAt %v", *in.Type, o.Status, o.ExpiresAt)
		}
		if got, _ := h.store.Order(h.ctx, o.ID); got.ExpiresAt == nil || !got.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s: stored expiresAt %v", *in.Type, got.ExpiresAt)
		}
	}
}

// TestRunSchedulerExpiresOrdersAndStops: the scheduler, on the fake clock,
// expires an order at its expiresAt (not before), once, releasing what it
// held back, and stops when its context ends.
func TestRunSchedulerExpiresOrdersAndStops(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000") }, alice)
	h.price("AAPL", "100")
	o := h.order(alice, expiring(limit(buy(room.ID, "AAPL", 10), "90"), t0.Add(10*time.Second)))
	keep := h.order(alice, expiring(limit(buy(room.ID, "AAPL", 1), "50"), t0.Add(time.Hour)))
	before := h.lastSeq(room.ID)

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunScheduler(ctx) }()
	status := func(id int64) game.OrderStatus {
		got, err := h.store.Order(h.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(9 * time.Second)
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if s := status(o.ID); s != game.OrderStatusOpen {
		t.Fatalf("at 9s the order is %s, want OPEN", s)
	}
	h.clock.Advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for status(o.ID) == game.OrderStatusOpen && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // waiting for the scheduler goroutine, not for a timer
	}
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil { // its pass is complete
		t.Fatal(err)
	}
	got, _ := h.store.Order(h.ctx, o.ID)
	if got.Status != game.OrderStatusExpired || !got.UpdatedAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("order = %s updated %v, want EXPIRED at %v", got.Status, got.UpdatedAt, t0.Add(10*time.Second))
	}
	assertDec(t, "reserved", got.Reserved, "0")
	if k := h.kinds(room.ID, before); !slices.Equal(k, []string{"ORDER:EXPIRED"}) {
		t.Errorf("events = %v, want one ORDER:EXPIRED", k)
	}
	if s := status(keep.ID); s != game.OrderStatusOpen {
		t.Errorf("the order due in an hour is %s", s)
	}
	// What it held back (900) is free again: 10 at 95 fits only now.
	if o := h.order(alice, limit(buy(room.ID, "AAPL", 10), "95")); o.Status != game.OrderStatusOpen {
		t.Errorf("after expiry: %s %v", o.Status, o.RejectMessage)
	}
	// More passes expire nothing more.
	h.clock.Advance(time.Second)
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := h.expiredEvents(room.ID); n[o.ID] != 1 || len(n) != 1 {
		t.Errorf("EXPIRED events per order = %v, want one for order %d", n, o.ID)
	}

	stopAndWait(t, cancel, done, "RunScheduler")
}

// TestExpiryAfterRestartAndAcrossInstances: orders that came due while the
// server was down expire when a new service on the same database starts
// (its first pass); two services racing on one database expire each
// order once; a price reaching a due order expires it rather than fill it.
func TestExpiryAfterRestartAndAcrossInstances(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			rooms := []*game.BullPen{h.activeRoom(owner, nil, alice, bob), h.activeRoom(owner, nil, alice, bob)}
			h.price("AAPL", "100")
			var ids []int64
			for i := range 12 {
				u := []*game.User{alice, bob}[i%2]
				room := rooms[i%2]
				o := h.order(u, expiring(limit(buy(room.ID, "AAPL", 1), fmt.Sprint(50+i)), t0.Add(time.Duration(i+1)*time.Minute)))
				ids = append(ids, o.ID)
			}
			later := h.order(alice, expiring(limit(buy(rooms[0].ID, "AAPL", 1), "10"), t0.Add(48*time.Hour)))
			next, err := h.svc.ExpireDue(h.ctx)
			if err != nil || !next.Equal(t0.Add(time.Minute)) {
				t.Fatalf("next expiry %v, %v; want %v", next, err, t0.Add(time.Minute))
			}

			// "Down" for an hour: a new service on the same database
			// catches up in its first pass.
			clock.Advance(time.Hour)
			restarted := openHarnessDSN(t, dsn, clock)
			other := openHarnessDSN(t, dsn, clock)
			var wg sync.WaitGroup
			for _, s := range []*game.Service{restarted.svc, other.svc, restarted.svc, other.svc} {
				wg.Go(func() {
					if _, err := s.ExpireDue(h.ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			counts := map[int64]int{}
			for _, r := range rooms {
				for id, n := range h.expiredEvents(r.ID) {
					counts[id] += n
				}
			}
			for _, id := range ids {
				if counts[id] != 1 {
					t.Errorf("order %d: %d EXPIRED events, want 1", id, counts[id])
				}
				if o, _ := h.store.Order(h.ctx, id); o.Status != game.OrderStatusExpired {
					t.Errorf("order %d is %s", id, o.Status)
				}
			}
			if len(counts) != len(ids) {
				t.Errorf("%d orders expired, want %d", len(counts), len(ids))
			}
			// Each expiry released what its order held back in the ledger,
			// in the transaction that expired it.
			for _, r := range rooms {
				h.checkLedger(r.ID)
			}
			if o, _ := h.store.Order(h.ctx, later.ID); o.Status != game.OrderStatusOpen {
				t.Errorf("the order due in two days is %s", o.Status)
			}
			if next, err := restarted.svc.ExpireDue(h.ctx); err != nil || !next.Equal(t0.Add(48*time.Hour)) {
				t.Errorf("next expiry %v, %v; want %v", next, err, t0.Add(48*time.Hour))
			}

			// Due, not yet expired, and the price crosses it: it expires.
			clock.Advance(48 * time.Hour)
			before := h.lastSeq(rooms[0].ID)
			h.price("AAPL", "9")
			if o, _ := h.store.Order(h.ctx, later.ID); o.Status != game.OrderStatusExpired || o.FilledPrice != nil {
				t.Errorf("due order crossed by a price: %s at %v, want EXPIRED", o.Status, o.FilledPrice)
			}
			if k := h.kinds(rooms[0].ID, before); !slices.Equal(k, []string{"ORDER:EXPIRED"}) {
				t.Errorf("events = %v", k)
			}
			if next, err := other.svc.ExpireDue(h.ctx); err != nil || !next.IsZero() {
				t.Errorf("next expiry %v, %v; want none", next, err)
			}
			if n := h.expiredEvents(rooms[0].ID); n[later.ID] != 1 {
				t.Errorf("order %d: %d EXPIRED events", later.ID, n[later.ID])
			}
		})
	}
}

// TestEndingRoomStillExpiresRestingOrders: an order with a later expiresAt
// expires with its room, once, and the scheduler has nothing left to do.
func TestEndingRoomStillExpiresRestingOrders(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	o := h.order(alice, expiring(limit(buy(room.ID, "AAPL", 1), "90"), t0.Add(time.Hour)))
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	if next, err := h.svc.ExpireDue(h.ctx); err != nil || !next.IsZero() {
		t.Errorf("ExpireDue = %v, %v", next, err)
	}
	if n := h.expiredEvents(room.ID); n[o.ID] != 1 || len(n) != 1 {
		t.Errorf("EXPIRED events = %v, want one for order %d", n, o.ID)
	}
}
