package game_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

func TestCreateBullPenRulesValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	tests := []createCase{
		{"NegativeMaxPositionPercent", func(in *game.CreateBullPenInput) { in.MaxPositionPercent = decp("-1") }, "maxPositionPercent"},
		{"ZeroMaxPositionPercent", func(in *game.CreateBullPenInput) { in.MaxPositionPercent = decp("0") }, "maxPositionPercent"},
		{"MaxPositionPercentOver100", func(in *game.CreateBullPenInput) { in.MaxPositionPercent = decp("100.01") }, "maxPositionPercent"},
		{"MaxPositionPercentFiveDecimals", func(in *game.CreateBullPenInput) { in.MaxPositionPercent = decp("10.00001") }, "maxPositionPercent"},
		{"ZeroMinSharePrice", func(in *game.CreateBullPenInput) { in.MinSharePrice = decp("0") }, "minSharePrice"},
		{"NegativeMinSharePrice", func(in *game.CreateBullPenInput) { in.MinSharePrice = decp("-5") }, "minSharePrice"},
		{"MinSharePriceFiveDecimals", func(in *game.CreateBullPenInput) { in.MinSharePrice = decp("1.00001") }, "minSharePrice"},
		{"ZeroMaxOrdersPerMinute", func(in *game.CreateBullPenInput) { in.MaxOrdersPerMinute = ptr(0) }, "maxOrdersPerMinute"},
		{"NegativeMaxOrdersPerMinute", func(in *game.CreateBullPenInput) { in.MaxOrdersPerMinute = ptr(-3) }, "maxOrdersPerMinute"},
		{"HugeMaxOrdersPerMinute", func(in *game.CreateBullPenInput) { in.MaxOrdersPerMinute = ptr(100001) }, "maxOrdersPerMinute"},
		{"ZeroMaxOpenOrders", func(in *game.CreateBullPenInput) { in.MaxOpenOrders = ptr(0) }, "maxOpenOrders"},
		{"NegativeMaxOpenOrders", func(in *game.CreateBullPenInput) { in.MaxOpenOrders = ptr(-1) }, "maxOpenOrders"},
	}
	assertCreateRefused(t, h, owner, tests)
	rooms, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10})
	if err != nil || total != 0 || len(rooms) != 0 {
		t.Errorf("rooms stored: %d, %v", total, err)
	}

	// Valid rules are stored and read back exactly; left out, they are nil.
	b := h.room(owner, func(in *game.CreateBullPenInput) {
		in.MaxPositionPercent, in.MinSharePrice = decp("25.5"), decp("1.25")
		in.MaxOrdersPerMinute, in.MaxOpenOrders = ptr(30), ptr(7)
	})
	got, err := h.store.BullPen(h.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxPositionPercent == nil || !got.MaxPositionPercent.Equal(dec("25.5")) || got.MinSharePrice == nil || !got.MinSharePrice.Equal(dec("1.25")) ||
		got.MaxOrdersPerMinute == nil || *got.MaxOrdersPerMinute != 30 || got.MaxOpenOrders == nil || *got.MaxOpenOrders != 7 {
		t.Errorf("stored rules = %+v", got.Rules)
	}
	plain, err := h.store.BullPen(h.ctx, h.room(owner, nil).ID)
	if err != nil || plain.Rules != (game.Rules{}) {
		t.Errorf("a room without rules has %+v, %v", plain.Rules, err)
	}
}

// ruleRejection is one rule refusing an order: what it says, and that
// nothing but the REJECTED order and its event was written.
type ruleRejection struct {
	h      *harness
	room   *game.BullPen
	user   *game.User
	cash   string
	held   map[string]int64
	open   int
	before int64
}

func (h *harness) expectRejection(room *game.BullPen, u *game.User) *ruleRejection {
	h.t.Helper()
	r := &ruleRejection{h: h, room: room, user: u, held: map[string]int64{}, before: h.lastSeq(room.ID)}
	p := h.participant(room.ID, u)
	r.cash = p.Cash.String()
	ps, err := h.store.Positions(h.ctx, p.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, pos := range ps {
		if pos.Quantity != 0 {
			r.held[pos.Symbol] = pos.Quantity
		}
	}
	open, err := h.store.OpenOrders(h.ctx, p.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	r.open = len(open)
	return r
}

// check asserts o (placed, or worked by a price, since expectRejection)
// was rejected with reason and message, and that only that was written.
func (r *ruleRejection) check(t *testing.T, o *game.Order, reason, message string) {
	t.Helper()
	h := r.h
	stored, err := h.store.Order(h.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != game.OrderStatusRejected || stored.RejectReason == nil || *stored.RejectReason != reason {
		t.Fatalf("order %d = %s %v, want REJECTED %s", o.ID, stored.Status, stored.RejectReason, reason)
	}
	if stored.RejectMessage == nil || *stored.RejectMessage != message {
		t.Errorf("rejectMessage = %v, want %q", stored.RejectMessage, message)
	}
	assertDec(t, "reserved", stored.Reserved, "0")
	if got := h.kinds(r.room.ID, r.before); !slices.Equal(got, []string{"ORDER:REJECTED"}) {
		t.Errorf("events = %v, want [ORDER:REJECTED]", got)
	}
	p := h.participant(r.room.ID, r.user)
	assertDec(t, "cash", p.Cash, r.cash)
	ps, err := h.store.Positions(h.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]int64{}
	for _, pos := range ps {
		if pos.Quantity != 0 {
			held[pos.Symbol] = pos.Quantity
		}
	}
	if fmt.Sprint(held) != fmt.Sprint(r.held) {
		t.Errorf("positions = %v, want %v", held, r.held)
	}
	open, err := h.store.OpenOrders(h.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := r.open
	if o.CreatedAt.Before(h.clock.Now()) || o.Status == game.OrderStatusOpen {
		want-- // a resting order rejected when it came to fill
	}
	if len(open) != want {
		t.Errorf("%d open orders, want %d", len(open), want)
	}
}

// TestRoomRulesReject shows each rule's rejection, at placement and, for
// the price rules, when a resting buy comes to fill.
func TestRoomRulesReject(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			testRoomRules(t, h)
		})
	}
}

func testRoomRules(t *testing.T, h *harness) {
	owner, alice := h.user("owner"), h.user("alice")
	h.price("AAPL", "100")
	h.price("MSFT", "50")

	t.Run("PositionConcentration", func(t *testing.T) {
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
			in.StartingCash, in.MaxPositionPercent = decp("10000"), decp("25")
		}, alice)
		// 20 AAPL at 100 of a 10000 portfolio: 20%. Shares of other
		// symbols count toward the portfolio, not against AAPL.
		if o := h.order(alice, buy(room.ID, "AAPL", 20)); o.Status != game.OrderStatusFilled {
			t.Fatalf("buy 20 = %s %v", o.Status, o.RejectMessage)
		}
		if o := h.order(alice, buy(room.ID, "MSFT", 40)); o.Status != game.OrderStatusFilled {
			t.Fatalf("buy 40 MSFT = %s %v", o.Status, o.RejectMessage)
		}
		r := h.expectRejection(room, alice)
		o := h.order(alice, buy(room.ID, "AAPL", 6)) // 2600 of 10000: 26%
		r.check(t, o, game.RejectConcentration, fmt.Sprintf("maxPositionPercent is 25%% in bull pen %d: buying 6 AAPL at 100 would make AAPL 26%% of the portfolio value", room.ID))
		// Exactly 25% is allowed.
		if o := h.order(alice, buy(room.ID, "AAPL", 5)); o.Status != game.OrderStatusFilled {
			t.Fatalf("buy to exactly 25%% = %s %v", o.Status, o.RejectMessage)
		}
		// A resting buy is checked at its limit price when placed...
		r = h.expectRejection(room, alice)
		o = h.order(alice, limit(buy(room.ID, "AAPL", 1), "99"))
		r.check(t, o, game.RejectConcentration, fmt.Sprintf("maxPositionPercent is 25%% in bull pen %d: buying 1 AAPL at 99 would make AAPL 25.8%% of the portfolio value", room.ID))
		// ...and again at the price it fills at.
		if o := h.order(alice, sell(room.ID, "AAPL", 5)); o.Status != game.OrderStatusFilled {
			t.Fatalf("sell 5 = %s", o.Status)
		}
		// 20 AAPL, 40 MSFT, cash 6000; a stop buy of 4 at 105: 2520 of
		// 10100 (24.95%) when placed, 2640 of 10200 (25.88%) at 110.
		rest := h.order(alice, stop(buy(room.ID, "AAPL", 4), "105"))
		if rest.Status != game.OrderStatusOpen {
			t.Fatalf("stop buy = %s %v", rest.Status, rest.RejectMessage)
		}
		h.clock.Advance(time.Second)
		r = h.expectRejection(room, alice)
		h.price("AAPL", "110")
		r.check(t, rest, game.RejectConcentration, fmt.Sprintf("maxPositionPercent is 25%% in bull pen %d: buying 4 AAPL at 110 would make AAPL 25.88%% of the portfolio value", room.ID))
		h.price("AAPL", "100")
	})

	t.Run("BelowMinPrice", func(t *testing.T) {
		bob := h.user("bob")
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MinSharePrice = decp("5") }, bob)
		h.price("NVDA", "4.99")
		r := h.expectRejection(room, bob)
		o := h.order(bob, buy(room.ID, "NVDA", 10))
		r.check(t, o, game.RejectBelowMinPrice, fmt.Sprintf("minSharePrice is 5 in bull pen %d: buying NVDA at 4.99 is below it", room.ID))
		// A limit below the minimum could only fill below it.
		h.price("NVDA", "8")
		r = h.expectRejection(room, bob)
		o = h.order(bob, limit(buy(room.ID, "NVDA", 10), "4.5"))
		r.check(t, o, game.RejectBelowMinPrice, fmt.Sprintf("minSharePrice is 5 in bull pen %d: buying NVDA at 4.5 is below it", room.ID))
		// At the minimum it fills; selling is never limited.
		h.price("NVDA", "5")
		if o := h.order(bob, buy(room.ID, "NVDA", 10)); o.Status != game.OrderStatusFilled {
			t.Fatalf("buy at 5 = %s %v", o.Status, o.RejectMessage)
		}
		h.price("NVDA", "4")
		if o := h.order(bob, sell(room.ID, "NVDA", 5)); o.Status != game.OrderStatusFilled {
			t.Fatalf("sell at 4 = %s %v", o.Status, o.RejectMessage)
		}
		// A resting limit at 6 placed at 7 fills only when the price falls
		// to 6 or below: at 4.5 that is below the minimum.
		h.price("NVDA", "7")
		rest := h.order(bob, limit(buy(room.ID, "NVDA", 10), "6"))
		if rest.Status != game.OrderStatusOpen {
			t.Fatalf("limit buy = %s %v", rest.Status, rest.RejectMessage)
		}
		h.clock.Advance(time.Second)
		r = h.expectRejection(room, bob)
		h.price("NVDA", "4.5")
		r.check(t, rest, game.RejectBelowMinPrice, fmt.Sprintf("minSharePrice is 5 in bull pen %d: buying NVDA at 4.5 is below it", room.ID))
	})

	t.Run("OrderRateLimit", func(t *testing.T) {
		carol := h.user("carol")
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MaxOrdersPerMinute = ptr(2) }, carol)
		start := h.clock.Now()
		h.order(carol, buy(room.ID, "AAPL", 1))
		h.clock.Advance(30 * time.Second)
		h.order(carol, limit(buy(room.ID, "AAPL", 1), "1")) // any order counts, resting or not
		r := h.expectRejection(room, carol)
		o := h.order(carol, buy(room.ID, "AAPL", 1))
		msg := fmt.Sprintf("maxOrdersPerMinute is 2 in bull pen %d: 2 orders placed in the last minute", room.ID)
		r.check(t, o, game.RejectOrderRate, msg)
		// A minute less a millisecond after the first: still two.
		h.clock.Advance(start.Add(time.Minute - time.Millisecond).Sub(h.clock.Now()))
		r = h.expectRejection(room, carol)
		r.check(t, h.order(carol, buy(room.ID, "AAPL", 1)), game.RejectOrderRate, msg)
		// A minute after the first it has left the window, and the
		// rejections by this rule never counted.
		h.clock.Advance(time.Millisecond)
		if o := h.order(carol, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled {
			t.Fatalf("after a minute: %s %v", o.Status, o.RejectMessage)
		}
		// Other participants have their own count.
		dave := h.user("dave")
		h.join(dave, room.ID)
		if o := h.order(dave, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled {
			t.Fatalf("dave: %s %v", o.Status, o.RejectMessage)
		}
	})

	t.Run("TooManyOpenOrders", func(t *testing.T) {
		erin := h.user("erin")
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MaxOpenOrders = ptr(2) }, erin)
		first := h.order(erin, limit(buy(room.ID, "AAPL", 1), "90"))
		h.order(erin, limit(buy(room.ID, "AAPL", 1), "91"))
		r := h.expectRejection(room, erin)
		o := h.order(erin, limit(buy(room.ID, "AAPL", 1), "92"))
		r.check(t, o, game.RejectTooManyOpen, fmt.Sprintf("maxOpenOrders is 2 in bull pen %d: 2 orders are open already", room.ID))
		// An order that fills at once never opens: it is allowed.
		if o := h.order(erin, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled {
			t.Fatalf("market buy = %s %v", o.Status, o.RejectMessage)
		}
		if _, err := h.svc.CancelOrder(h.ctx, erin, first.ID); err != nil {
			t.Fatal(err)
		}
		if o := h.order(erin, limit(buy(room.ID, "AAPL", 1), "92")); o.Status != game.OrderStatusOpen {
			t.Fatalf("after a cancel: %s %v", o.Status, o.RejectMessage)
		}
	})
}

// TestRuleCountsHoldAcrossInstances: two services on one database place
// orders for one participant at once; the per-minute and open-order counts
// are read in each order's transaction under the room's lock, so exactly
// the limit gets through, never more.
func TestRuleCountsHoldAcrossInstances(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			other := openHarnessDSN(t, dsn, clock)
			owner, alice := h.user("owner"), h.user("alice")
			h.price("AAPL", "100")
			for _, tc := range []struct {
				name   string
				fn     func(*game.CreateBullPenInput)
				in     func(room int64) game.PlaceOrderInput
				reason string
			}{
				{"OrdersPerMinute", func(in *game.CreateBullPenInput) { in.MaxOrdersPerMinute = ptr(5) },
					func(room int64) game.PlaceOrderInput { return buy(room, "AAPL", 1) }, game.RejectOrderRate},
				{"OpenOrders", func(in *game.CreateBullPenInput) { in.MaxOpenOrders = ptr(5) },
					func(room int64) game.PlaceOrderInput { return limit(buy(room, "AAPL", 1), "50") }, game.RejectTooManyOpen},
			} {
				t.Run(tc.name, func(t *testing.T) {
					room := h.activeRoom(owner, tc.fn, alice)
					var wg sync.WaitGroup
					for i := range 20 {
						s := []*game.Service{h.svc, other.svc}[i%2]
						wg.Go(func() {
							if _, err := s.PlaceOrder(h.ctx, alice, tc.in(room.ID)); err != nil {
								t.Error(err)
							}
						})
					}
					wg.Wait()
					orders, total, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: room.ID, Limit: 100})
					if err != nil || total != 20 {
						t.Fatalf("%d orders stored, %v", total, err)
					}
					passed, refused := 0, 0
					for _, o := range orders {
						if o.RejectReason != nil && *o.RejectReason == tc.reason {
							refused++
						} else if o.Status != game.OrderStatusRejected {
							passed++
						}
					}
					if passed != 5 || refused != 15 {
						t.Errorf("%d orders passed and %d were refused %s, want 5 and 15", passed, refused, tc.reason)
					}
				})
			}
		})
	}
}
