package game_test

import (
	"slices"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

func trailing(in game.PlaceOrderInput, amount, percent string) game.PlaceOrderInput {
	in.Type = ptr(game.OrderTypeTrailingStop)
	if amount != "" {
		in.TrailAmount = decp(amount)
	}
	if percent != "" {
		in.TrailPercent = decp(percent)
	}
	return in
}

// TestTrailingStops moves the price under trailing stops and checks, after
// every price, the stored stopPrice (exact) and status; the last price
// triggers the order, which fills there.
func TestTrailingStops(t *testing.T) {
	type step struct{ price, stop string }
	tests := []struct {
		name            string
		side            game.Side
		amount, percent string
		start, stop     string // price when placed, stopPrice it starts at
		steps           []step // each price and the stop after it, while it rests
		fill            string // the price that triggers it
	}{
		{name: "SellByAmount", side: game.SideSell, amount: "2.5", start: "100", stop: "97.5",
			steps: []step{{"101", "98.5"}, {"100", "98.5"}, {"103.25", "100.75"}, {"101", "100.75"}}, fill: "100.75"},
		{name: "SellByPercent", side: game.SideSell, percent: "5", start: "100", stop: "95",
			steps: []step{{"120", "114"}, {"115", "114"}, {"114.0001", "114"}}, fill: "113.99"},
		// 3.3333% of 101.01 is 3.36696633: the trail is 3.3670, and of
		// 101.02 it is 3.36729966, so 3.3673.
		{name: "SellByPercentRounds", side: game.SideSell, percent: "3.3333", start: "101.01", stop: "97.643",
			steps: []step{{"101.02", "97.6527"}, {"97.7", "97.6527"}}, fill: "97.6527"},
		{name: "BuyByAmount", side: game.SideBuy, amount: "1", start: "50", stop: "51",
			steps: []step{{"48", "49"}, {"48.5", "49"}, {"47.9999", "48.9999"}}, fill: "49"},
		{name: "BuyByPercent", side: game.SideBuy, percent: "10", start: "200", stop: "220",
			steps: []step{{"150", "165"}, {"160", "165"}, {"164.9999", "165"}}, fill: "170"},
	}
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.user("owner")
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u := h.user("trader" + string(rune('a'+i)))
					room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.AllowShortSelling = ptr(true) }, u)
					sym := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"}[i]
					h.price(sym, tt.start)
					before := h.lastSeq(room.ID)
					in := trailing(game.PlaceOrderInput{BullPenID: room.ID, Symbol: sym, Side: tt.side, Quantity: 10}, tt.amount, tt.percent)
					o := h.order(u, in)
					if o.Status != game.OrderStatusOpen || o.StopPrice == nil || !o.StopPrice.Equal(dec(tt.stop)) {
						t.Fatalf("placed: %s stop %v (%v), want OPEN stop %s", o.Status, o.StopPrice, o.RejectMessage, tt.stop)
					}
					check := func(when, wantStop string) {
						t.Helper()
						got, err := h.store.Order(h.ctx, o.ID)
						if err != nil {
							t.Fatal(err)
						}
						if got.Status != game.OrderStatusOpen || got.StopPrice == nil || !got.StopPrice.Equal(dec(wantStop)) {
							t.Fatalf("after %s: %s stop %v, want OPEN stop %s", when, got.Status, got.StopPrice, wantStop)
						}
					}
					check("placing", tt.stop)
					for _, s := range tt.steps {
						h.price(sym, s.price)
						check(s.price, s.stop)
					}
					h.price(sym, tt.fill)
					got, err := h.store.Order(h.ctx, o.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != game.OrderStatusFilled || !got.FilledPrice.Equal(dec(tt.fill)) || got.FilledQuantity != 10 {
						t.Fatalf("after %s: %s at %v, want FILLED at %s", tt.fill, got.Status, got.FilledPrice, tt.fill)
					}
					// Trailing writes no events: accepted, then filled.
					if k := h.kinds(room.ID, before); !slices.Equal(k, []string{"ORDER:ACCEPTED", "ORDER:FILLED", "POSITION"}) {
						t.Errorf("events = %v", k)
					}
					want := int64(10)
					if tt.side == game.SideSell {
						want = -10
					}
					if pos := h.position(room.ID, u, sym); pos.Quantity != want {
						t.Errorf("position %d, want %d", pos.Quantity, want)
					}
				})
			}
		})
	}
}

func TestTrailingStopValidation(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	before := h.lastSeq(room.ID)
	b := buy(room.ID, "AAPL", 1)
	s := sell(room.ID, "AAPL", 1)
	tests := []struct {
		name  string
		in    game.PlaceOrderInput
		field string
	}{
		{"Neither", trailing(b, "", ""), "trailAmount"},
		{"Both", trailing(b, "1", "1"), "trailPercent"},
		{"ZeroAmount", trailing(b, "0", ""), "trailAmount"},
		{"AmountFiveDecimals", trailing(b, "0.00001", ""), "trailAmount"},
		{"ZeroPercent", trailing(b, "", "0"), "trailPercent"},
		{"HundredPercent", trailing(b, "", "100"), "trailPercent"},
		{"PercentFiveDecimals", trailing(b, "", "1.00001"), "trailPercent"},
		{"WithStopPrice", func() game.PlaceOrderInput { in := trailing(b, "1", ""); in.StopPrice = decp("99"); return in }(), "stopPrice"},
		{"WithLimitPrice", func() game.PlaceOrderInput { in := trailing(b, "1", ""); in.LimitPrice = decp("99"); return in }(), "limitPrice"},
		{"AmountOnStop", func() game.PlaceOrderInput { in := stop(b, "101"); in.TrailAmount = decp("1"); return in }(), "trailAmount"},
		{"PercentOnLimit", func() game.PlaceOrderInput { in := limit(b, "99"); in.TrailPercent = decp("1"); return in }(), "trailPercent"},
		// Depends on the price: decided in the order's transaction, and
		// still nothing is stored.
		{"SellTrailAtOrAbovePrice", trailing(s, "100", ""), "trailAmount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.PlaceOrder(h.ctx, alice, tt.in)
			assertCode(t, err, game.EINVALID)
			if e, ok := err.(*game.Error); !ok || e.Field != tt.field {
				t.Errorf("error %v should name %q", err, tt.field)
			}
		})
	}
	if got := h.lastSeq(room.ID); got != before {
		t.Errorf("events were written: last sequence %d, want %d", got, before)
	}
	if _, total, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: room.ID, Limit: 10}); err != nil || total != 0 {
		t.Errorf("orders stored for malformed input: %d (%v)", total, err)
	}
	// No price to trail from: a stored rejection like a market order's.
	o := h.order(alice, trailing(buy(room.ID, "NVDA", 1), "1", ""))
	if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectNoPrice {
		t.Errorf("trailing stop without a price = %s %v, want REJECTED NO_PRICE", o.Status, o.RejectReason)
	}
}
