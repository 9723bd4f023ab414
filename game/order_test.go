package game_test

import (
	"slices"
	"testing"

	"github.com/bullpen/bullpen/game"
)

func buy(room int64, sym string, qty int64) game.PlaceOrderInput {
	return game.PlaceOrderInput{BullPenID: room, Symbol: sym, Side: game.SideBuy, Quantity: qty}
}

func sell(room int64, sym string, qty int64) game.PlaceOrderInput {
	return game.PlaceOrderInput{BullPenID: room, Symbol: sym, Side: game.SideSell, Quantity: qty}
}

func limit(in game.PlaceOrderInput, price string) game.PlaceOrderInput {
	in.Type, in.LimitPrice = ptr(game.OrderTypeLimit), decp(price)
	return in
}

func stop(in game.PlaceOrderInput, price string) game.PlaceOrderInput {
	in.Type, in.StopPrice = ptr(game.OrderTypeStop), decp(price)
	return in
}

func TestPlaceOrderMalformedStoresNothing(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	before := h.lastSeq(room.ID)
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name  string
		in    game.PlaceOrderInput
		field string
	}{
		{"ZeroQuantity", buy(room.ID, "AAPL", 0), "quantity"},
		{"NegativeQuantity", buy(room.ID, "AAPL", -5), "quantity"},
		{"HugeQuantity", buy(room.ID, "AAPL", 1_000_000_001), "quantity"},
		{"LimitWithoutPrice", func() game.PlaceOrderInput {
			in := buy(room.ID, "AAPL", 1)
			in.Type = ptr(game.OrderTypeLimit)
			return in
		}(), "limitPrice"},
		{"StopWithoutPrice", func() game.PlaceOrderInput {
			in := buy(room.ID, "AAPL", 1)
			in.Type = ptr(game.OrderTypeStop)
			return in
		}(), "stopPrice"},
		{"StopLimitWithoutStop", func() game.PlaceOrderInput {
			in := limit(buy(room.ID, "AAPL", 1), "10")
			in.Type = ptr(game.OrderTypeStopLimit)
			return in
		}(), "stopPrice"},
		{"ZeroPrice", limit(buy(room.ID, "AAPL", 1), "0"), "limitPrice"},
		{"NegativePrice", limit(buy(room.ID, "AAPL", 1), "-1"), "limitPrice"},
		{"FiveDecimals", limit(buy(room.ID, "AAPL", 1), "10.00001"), "limitPrice"},
		{"StopFiveDecimals", stop(sell(room.ID, "AAPL", 1), "10.12345"), "stopPrice"},
		{"ClientOrderIDTooLong", func() game.PlaceOrderInput {
			in := buy(room.ID, "AAPL", 1)
			in.ClientOrderID = ptr(string(long))
			return in
		}(), "clientOrderId"},
		{"MalformedSymbol", buy(room.ID, "$$$", 1), "symbol"},
		{"MarketWithLimitPrice", func() game.PlaceOrderInput { in := buy(room.ID, "AAPL", 1); in.LimitPrice = decp("5"); return in }(), "limitPrice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.PlaceOrder(h.ctx, alice, tt.in)
			assertCode(t, err, game.EINVALID)
			var ge *game.Error
			if e, ok := err.(*game.Error); ok {
				ge = e
			}
			if ge == nil || ge.Field != tt.field {
				t.Errorf("error %v should name field %q", err, tt.field)
			}
		})
	}
	if got := h.lastSeq(room.ID); got != before {
		t.Errorf("events were written: last sequence %d, want %d", got, before)
	}
	orders, total, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: room.ID, Limit: 10})
	if err != nil || total != 0 || len(orders) != 0 {
		t.Errorf("orders stored for malformed input: %d (%v)", total, err)
	}
}

func TestPlaceOrderBusinessRejections(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	h.price("AAPL", "100")
	h.price("MSFT", "400")
	active := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.StartingCash = decp("1000")
		in.AllowedSymbols = []string{"AAPL", "NVDA"}
	}, alice)
	scheduled := h.room(owner, nil)
	h.join(alice, scheduled.ID)

	tests := []struct {
		name   string
		in     game.PlaceOrderInput
		reason string
	}{
		{"RoomNotActive", buy(scheduled.ID, "AAPL", 1), game.RejectRoomNotActive},
		{"UnknownSymbol", buy(active.ID, "ZZZZ", 1), game.RejectUnknownSymbol},
		{"SymbolNotAllowed", buy(active.ID, "MSFT", 1), game.RejectSymbolNotAllowed},
		{"NoPrice", buy(active.ID, "NVDA", 1), game.RejectNoPrice},
		{"InsufficientCash", buy(active.ID, "AAPL", 11), game.RejectInsufficientFunds},
		{"LimitInsufficientCash", limit(buy(active.ID, "AAPL", 20), "90"), game.RejectInsufficientFunds},
		{"SellNotHeld", sell(active.ID, "AAPL", 1), game.RejectInsufficientShares},
		{"RestingSellNotHeld", limit(sell(active.ID, "AAPL", 1), "150"), game.RejectInsufficientShares},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.lastSeq(tt.in.BullPenID)
			o := h.order(alice, tt.in)
			if o.Status != game.OrderStatusRejected || o.RejectReason == nil || *o.RejectReason != tt.reason {
				t.Fatalf("order = %s reason %v, want REJECTED %s", o.Status, o.RejectReason, tt.reason)
			}
			if o.RejectMessage == nil || *o.RejectMessage == "" {
				t.Errorf("no reject message")
			}
			stored, err := h.store.Order(h.ctx, o.ID)
			if err != nil || stored.Status != game.OrderStatusRejected {
				t.Fatalf("stored order %+v, %v", stored, err)
			}
			if got := h.kinds(tt.in.BullPenID, before); !slices.Equal(got, []string{"ORDER:REJECTED"}) {
				t.Errorf("events = %v, want [ORDER:REJECTED]", got)
			}
		})
	}
	assertDec(t, "cash", h.participant(active.ID, alice).Cash, "1000")
}

func TestMarketOrdersFillAtOnce(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.StartingCash = decp("10000")
		in.Commission = decp("1.5")
	}, alice)
	h.price("AAPL", "100.25")
	before := h.lastSeq(room.ID)

	o := h.order(alice, buy(room.ID, "AAPL", 10))
	if o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("100.25")) || o.FilledQuantity != 10 || o.FilledAt == nil {
		t.Fatalf("buy = %+v", o)
	}
	assertDec(t, "commission", o.Commission, "1.5")
	assertDec(t, "cash after buy", h.participant(room.ID, alice).Cash, "8996")
	pos := h.position(room.ID, alice, "AAPL")
	if pos.Quantity != 10 {
		t.Fatalf("quantity = %d", pos.Quantity)
	}
	assertDec(t, "cost basis", pos.CostBasis, "1002.5")

	h.price("AAPL", "110")
	o = h.order(alice, sell(room.ID, "AAPL", 4))
	if o.Status != game.OrderStatusFilled {
		t.Fatalf("sell = %s", o.Status)
	}
	assertDec(t, "cash after sell", h.participant(room.ID, alice).Cash, "9434.5") // 8996 + 440 - 1.5
	pos = h.position(room.ID, alice, "AAPL")
	assertDec(t, "realized", pos.RealizedPnL, "39") // 4*(110-100.25)
	if pos.Quantity != 6 {
		t.Errorf("quantity = %d, want 6", pos.Quantity)
	}
	want := []string{"ORDER:FILLED", "POSITION", "ORDER:FILLED", "POSITION"}
	if got := h.kinds(room.ID, before); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestPositionEventKeepsThePositionAsItWas(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	h.order(alice, buy(room.ID, "AAPL", 3))
	h.order(alice, buy(room.ID, "AAPL", 5))
	var quantities []int64
	for _, ev := range h.events(room.ID) {
		if ev.Kind == game.EventPosition {
			var p game.PositionPayload
			mustUnmarshal(t, ev.Payload, &p)
			quantities = append(quantities, p.Position.Quantity)
		}
	}
	if len(quantities) != 2 || quantities[0] != 3 || quantities[1] != 8 {
		t.Errorf("position events carry quantities %v, want [3 8]", quantities)
	}
}

func TestRestingOrders(t *testing.T) {
	t.Run("LimitBuyRestsThenFillsWhenPriceCrosses", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, nil, alice)
		h.price("AAPL", "100")
		o := h.order(alice, limit(buy(room.ID, "AAPL", 10), "95"))
		if o.Status != game.OrderStatusOpen {
			t.Fatalf("status %s, want OPEN", o.Status)
		}
		h.price("AAPL", "96")
		if got, _ := h.store.Order(h.ctx, o.ID); got.Status != game.OrderStatusOpen {
			t.Fatalf("filled above the limit at 96")
		}
		h.price("AAPL", "94.5")
		got, _ := h.store.Order(h.ctx, o.ID)
		if got.Status != game.OrderStatusFilled || !got.FilledPrice.Equal(dec("94.5")) {
			t.Fatalf("order = %s at %v, want FILLED at 94.5", got.Status, got.FilledPrice)
		}
		assertDec(t, "reserved after fill", got.Reserved, "0")
		assertDec(t, "cash", h.participant(room.ID, alice).Cash, "99055")
	})
	t.Run("MarketableLimitFillsAtOnce", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, nil, alice)
		h.price("AAPL", "100")
		o := h.order(alice, limit(buy(room.ID, "AAPL", 1), "101"))
		if o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("100")) {
			t.Fatalf("order = %s at %v", o.Status, o.FilledPrice)
		}
	})
	t.Run("StopSellTriggersOnDrop", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, nil, alice)
		h.price("AAPL", "100")
		h.order(alice, buy(room.ID, "AAPL", 10))
		o := h.order(alice, stop(sell(room.ID, "AAPL", 10), "90"))
		if o.Status != game.OrderStatusOpen {
			t.Fatalf("status %s", o.Status)
		}
		h.price("AAPL", "91")
		h.price("AAPL", "89.9")
		got, _ := h.store.Order(h.ctx, o.ID)
		if got.Status != game.OrderStatusFilled || !got.FilledPrice.Equal(dec("89.9")) {
			t.Fatalf("order = %s at %v", got.Status, got.FilledPrice)
		}
		if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != 0 {
			t.Errorf("quantity = %d, want 0", pos.Quantity)
		}
	})
	t.Run("StopLimitTriggersThenWaitsForLimit", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, nil, alice)
		h.price("AAPL", "100")
		in := buy(room.ID, "AAPL", 5)
		in.Type, in.StopPrice, in.LimitPrice = ptr(game.OrderTypeStopLimit), decp("105"), decp("104")
		o := h.order(alice, in)
		h.price("AAPL", "106") // triggers, but above the limit
		got, _ := h.store.Order(h.ctx, o.ID)
		if got.Status != game.OrderStatusOpen || !got.Triggered {
			t.Fatalf("after 106: %s triggered=%v, want OPEN triggered", got.Status, got.Triggered)
		}
		h.price("AAPL", "103.5")
		got, _ = h.store.Order(h.ctx, o.ID)
		if got.Status != game.OrderStatusFilled || !got.FilledPrice.Equal(dec("103.5")) {
			t.Fatalf("after 103.5: %s at %v", got.Status, got.FilledPrice)
		}
	})
	t.Run("ReservedCashCannotBeSpentTwice", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000") }, alice)
		h.price("AAPL", "150")
		if o := h.order(alice, limit(buy(room.ID, "AAPL", 5), "140")); o.Status != game.OrderStatusOpen {
			t.Fatalf("limit = %s", o.Status)
		}
		o := h.order(alice, buy(room.ID, "AAPL", 3)) // 450 > 1000 - 700
		if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectInsufficientFunds {
			t.Fatalf("second buy = %s %v, want REJECTED INSUFFICIENT_BUYING_POWER", o.Status, o.RejectReason)
		}
		o = h.order(alice, limit(buy(room.ID, "AAPL", 3), "100")) // exactly the 300 left
		if o.Status != game.OrderStatusOpen {
			t.Fatalf("third = %s %v, want OPEN", o.Status, o.RejectReason)
		}
		o = h.order(alice, limit(buy(room.ID, "AAPL", 1), "0.01"))
		if o.Status != game.OrderStatusRejected {
			t.Fatalf("fourth = %s, want REJECTED", o.Status)
		}
	})
	t.Run("SharesOnSaleCannotBeSoldTwice", func(t *testing.T) {
		h := newHarness(t)
		owner, alice := h.user("owner"), h.user("alice")
		room := h.activeRoom(owner, nil, alice)
		h.price("AAPL", "100")
		h.order(alice, buy(room.ID, "AAPL", 10))
		h.order(alice, limit(sell(room.ID, "AAPL", 7), "120"))
		o := h.order(alice, sell(room.ID, "AAPL", 4))
		if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectInsufficientShares {
			t.Fatalf("sell = %s %v", o.Status, o.RejectReason)
		}
		if o := h.order(alice, sell(room.ID, "AAPL", 3)); o.Status != game.OrderStatusFilled {
			t.Fatalf("sell 3 = %s", o.Status)
		}
	})
}

func TestCancelOrder(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000") }, alice, bob)
	h.price("AAPL", "100")
	o := h.order(alice, limit(buy(room.ID, "AAPL", 10), "90"))
	if _, err := h.svc.CancelOrder(h.ctx, bob, o.ID); game.ErrorCode(err) != game.ENOTFOUND {
		t.Fatalf("bob cancelling alice's order: %v, want NOT_FOUND", err)
	}
	before := h.lastSeq(room.ID)
	c, err := h.svc.CancelOrder(h.ctx, alice, o.ID)
	if err != nil || c.Status != game.OrderStatusCancelled {
		t.Fatalf("cancel = %v, %v", c, err)
	}
	if got := h.kinds(room.ID, before); !slices.Equal(got, []string{"ORDER:CANCELLED"}) {
		t.Errorf("events = %v", got)
	}
	_, err = h.svc.CancelOrder(h.ctx, alice, o.ID)
	assertCode(t, err, game.ECONFLICT)
	// The reservation is released: the whole cash can be spent again.
	if o := h.order(alice, buy(room.ID, "AAPL", 10)); o.Status != game.OrderStatusFilled {
		t.Fatalf("buy after cancel = %s %v", o.Status, o.RejectMessage)
	}
	_, err = h.svc.CancelOrder(h.ctx, alice, 999)
	assertCode(t, err, game.ENOTFOUND)
}

func TestClientOrderIDIsIdempotent(t *testing.T) {
	h := newHarness(t)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, nil, alice, bob)
	h.price("AAPL", "100")
	in := buy(room.ID, "AAPL", 10)
	in.ClientOrderID = ptr("abc-1")
	first := h.order(alice, in)
	seq := h.lastSeq(room.ID)
	again := h.order(alice, in)
	if again.ID != first.ID || again.Status != game.OrderStatusFilled {
		t.Fatalf("second = %d %s, want %d FILLED", again.ID, again.Status, first.ID)
	}
	if h.lastSeq(room.ID) != seq {
		t.Errorf("repeat wrote events")
	}
	if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != 10 {
		t.Errorf("quantity = %d, want 10 (executed once)", pos.Quantity)
	}
	// The key is per participant: bob may use it too.
	if o := h.order(bob, in); o.ID == first.ID {
		t.Errorf("bob got alice's order")
	}
}

func TestShortSelling(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.StartingCash = decp("1000")
		in.AllowShortSelling = ptr(true)
	}, alice)
	h.price("AAPL", "100")
	o := h.order(alice, sell(room.ID, "AAPL", 10))
	if o.Status != game.OrderStatusFilled {
		t.Fatalf("short = %s %v", o.Status, o.RejectMessage)
	}
	assertDec(t, "cash after short", h.participant(room.ID, alice).Cash, "2000")
	pos := h.position(room.ID, alice, "AAPL")
	if pos.Quantity != -10 {
		t.Fatalf("quantity = %d, want -10", pos.Quantity)
	}
	// Margin: 150% of 1000 = 1500 locked of 2000 cash; 10 more needs 3000 of 3000.
	if o := h.order(alice, sell(room.ID, "AAPL", 10)); o.Status != game.OrderStatusFilled {
		t.Fatalf("second short = %s %v", o.Status, o.RejectMessage)
	}
	if o := h.order(alice, sell(room.ID, "AAPL", 1)); o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectInsufficientFunds {
		t.Fatalf("third short = %s, want REJECTED INSUFFICIENT_BUYING_POWER", o.Status)
	}
	h.price("AAPL", "90")
	if o := h.order(alice, buy(room.ID, "AAPL", 20)); o.Status != game.OrderStatusFilled {
		t.Fatalf("cover = %s %v", o.Status, o.RejectMessage)
	}
	assertDec(t, "cash after cover", h.participant(room.ID, alice).Cash, "1200")
	pos = h.position(room.ID, alice, "AAPL")
	assertDec(t, "realized", pos.RealizedPnL, "200")
	if pos.Quantity != 0 {
		t.Errorf("quantity = %d", pos.Quantity)
	}
}

func TestOrdersNeedMembership(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil)
	h.price("AAPL", "100")
	_, err := h.svc.PlaceOrder(h.ctx, alice, buy(room.ID, "AAPL", 1))
	assertCode(t, err, game.EFORBIDDEN)
	_, err = h.svc.PlaceOrder(h.ctx, nil, buy(room.ID, "AAPL", 1))
	assertCode(t, err, game.EUNAUTHENTICATED)
	_, err = h.svc.PlaceOrder(h.ctx, alice, buy(room.ID+100, "AAPL", 1))
	assertCode(t, err, game.ENOTFOUND)
}

func TestPositionLimit(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000") }, alice)
	h.price("AAPL", "0.0001")
	for range 2 {
		if o := h.order(alice, buy(room.ID, "AAPL", game.MaxQuantity)); o.Status != game.OrderStatusFilled {
			t.Fatalf("buy = %s %v", o.Status, o.RejectMessage)
		}
	}
	o := h.order(alice, buy(room.ID, "AAPL", 1))
	if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectPositionLimit {
		t.Fatalf("buy past the limit = %s %v, want REJECTED POSITION_LIMIT", o.Status, o.RejectReason)
	}
}
