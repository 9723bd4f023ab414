package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestRulesTrailingStopsAndExpiryOverGraphQL: the room rules are set on
// createBullPen and shown on BullPen; a trailing stop shows its trail,
// expiry and the stopPrice as it moves; a rule's rejection reads as the
// contract says; the running scheduler expires the order at its time.
func TestRulesTrailingStopsAndExpiryOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playRulesAndTrailing(t, startServerOn(t, dbtest.Open(t, backend))) })
	}
}

func playRulesAndTrailing(t *testing.T, ts *testServer) {
	admin, alice := ts.signUpAdmin("admin"), ts.signUp("alice")
	setQuote := `mutation($p: Decimal!) { setQuote(symbol: "AAPL", price: $p) { price } }`
	ts.must(admin, setQuote, map[string]any{"p": "100"}, nil)

	create := `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) {
		id state maxPositionPercent minSharePrice maxOrdersPerMinute maxOpenOrders } }`
	in := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "Rules cup", "endsAt": fmtTime(t0.Add(24 * time.Hour)), "startingCash": "10000"}
		for k, v := range extra {
			m[k] = v
		}
		return map[string]any{"in": m}
	}
	for field, bad := range map[string]any{"maxPositionPercent": "-1", "minSharePrice": "0", "maxOrdersPerMinute": 0, "maxOpenOrders": -2} {
		e := ts.fails(alice, create, in(map[string]any{field: bad}), game.EINVALID)
		if want := field + ": "; len(e.Message) < len(want) || e.Message[:len(want)] != want {
			t.Errorf("%s %v: message %q should name the field", field, bad, e.Message)
		}
	}
	var created struct {
		CreateBullPen struct {
			ID, State                         string
			MaxPositionPercent, MinSharePrice *string
			MaxOrdersPerMinute, MaxOpenOrders *int
		}
	}
	ts.must(alice, create, in(map[string]any{"maxPositionPercent": "25", "minSharePrice": "1.5", "maxOrdersPerMinute": 30, "maxOpenOrders": 5}), &created)
	room := created.CreateBullPen
	if room.State != "ACTIVE" || room.MaxPositionPercent == nil || *room.MaxPositionPercent != "25.00" || room.MinSharePrice == nil || *room.MinSharePrice != "1.50" ||
		room.MaxOrdersPerMinute == nil || *room.MaxOrdersPerMinute != 30 || room.MaxOpenOrders == nil || *room.MaxOpenOrders != 5 {
		t.Fatalf("created %+v", room)
	}
	var plain struct {
		CreateBullPen struct{ MaxPositionPercent, MinSharePrice *string }
	}
	ts.must(alice, create, in(nil), &plain)
	if plain.CreateBullPen.MaxPositionPercent != nil || plain.CreateBullPen.MinSharePrice != nil {
		t.Errorf("a room without rules shows %+v, want nulls", plain.CreateBullPen)
	}
	ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room.ID}, nil)

	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) {
		id type status stopPrice trailAmount trailPercent expiresAt rejectReason rejectMessage } }`
	type order struct {
		ID, Type, Status                       string
		StopPrice, TrailAmount, TrailPercent   *string
		ExpiresAt, RejectReason, RejectMessage *string
	}
	order1 := map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "type": "TRAILING_STOP", "quantity": 10,
		"trailPercent": "5", "expiresAt": fmtTime(t0.Add(time.Hour))}
	var placed struct{ PlaceOrder order }
	ts.must(alice, place, map[string]any{"in": order1}, &placed)
	o := placed.PlaceOrder
	if o.Type != "TRAILING_STOP" || o.Status != "OPEN" || o.StopPrice == nil || *o.StopPrice != "105.00" || o.TrailPercent == nil || *o.TrailPercent != "5.00" ||
		o.TrailAmount != nil || o.ExpiresAt == nil || *o.ExpiresAt != "2026-03-02T15:30:00.000Z" {
		t.Fatalf("placed %+v", o)
	}

	// The stop follows the price down, and the query shows where it is.
	ts.must(admin, setQuote, map[string]any{"p": "90.1"}, nil)
	read := func() order {
		var out struct {
			BullPen struct {
				Orders struct{ Edges []struct{ Node order } }
			}
		}
		ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders(first: 10) { edges { node {
			id type status stopPrice trailAmount trailPercent expiresAt rejectReason rejectMessage } } } } }`, map[string]any{"id": room.ID}, &out)
		for _, e := range out.BullPen.Orders.Edges {
			if e.Node.ID == o.ID {
				return e.Node
			}
		}
		t.Fatalf("order %s not listed", o.ID)
		return order{}
	}
	if got := read(); got.Status != "OPEN" || got.StopPrice == nil || *got.StopPrice != "94.605" { // 90.1 + 4.505
		t.Fatalf("after 90.1: %+v", got)
	}

	// A rule's rejection: 30 shares of a 10000 portfolio at 90.1 is 27.03%.
	ts.must(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "quantity": 30}}, &placed)
	want := fmt.Sprintf("maxPositionPercent is 25%% in bull pen %s: buying 30 AAPL at 90.1 would make AAPL 27.03%% of the portfolio value", room.ID)
	if r := placed.PlaceOrder; r.Status != "REJECTED" || r.RejectReason == nil || *r.RejectReason != "POSITION_CONCENTRATION" || r.RejectMessage == nil || *r.RejectMessage != want {
		t.Errorf("concentrated buy = %+v, want REJECTED POSITION_CONCENTRATION %q", placed.PlaceOrder, want)
	}
	// expiresAt on a MARKET order, or in the past, is bad input.
	ts.fails(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "quantity": 1,
		"expiresAt": fmtTime(t0.Add(time.Hour))}}, game.EINVALID)
	ts.fails(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "type": "LIMIT",
		"limitPrice": "80", "quantity": 1, "expiresAt": fmtTime(t0.Add(-time.Hour))}}, game.EINVALID)
	ts.fails(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "type": "TRAILING_STOP",
		"quantity": 1, "trailAmount": "1", "trailPercent": "1"}}, game.EINVALID)

	// At its expiresAt the running server's scheduler expires it.
	ts.clock.Advance(time.Hour)
	eventually(t, "the trailing stop to expire", func() bool { return read().Status == "EXPIRED" })
	var log struct {
		BullPenEventLog []struct {
			Typename string `json:"__typename"`
			Kind     string
			Order    struct{ ID, Status string }
		}
	}
	ts.must(alice, `query($id: ID!) { bullPenEventLog(bullPenId: $id, kinds: [ORDER]) { __typename ... on OrderEvent { kind order { id status } } } }`,
		map[string]any{"id": room.ID}, &log)
	expired := 0
	for _, ev := range log.BullPenEventLog {
		if ev.Kind == "EXPIRED" && ev.Order.ID == o.ID && ev.Order.Status == "EXPIRED" {
			expired++
		}
	}
	if expired != 1 {
		t.Errorf("%d EXPIRED events for the order, want 1: %+v", expired, log.BullPenEventLog)
	}
}
