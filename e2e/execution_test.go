package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestExecutionOverGraphQL plays a THIN_BOOK room as a client sees it, on
// both engines: setQuote's bid, ask and volume are read back on the
// quote; a bad execution field is refused naming it; a market buy of 500
// against a tick of 10,000 shares fills 200 (2%), 200 and 100 on three
// ticks, and a WebSocket subscriber sees one OrderEvent per fill
// (PARTIALLY_FILLED, PARTIALLY_FILLED, FILLED), each carrying the fills so
// far, on bullPenEvents resumed from before the order; the order's fills explain each price, its averageFillPrice is their
// mean, and trades.csv has a row per fill with the breakdown.
func TestExecutionOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playExecution(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playExecution(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice")
	tick := func() {
		var q struct {
			SetQuote struct {
				Bid, Ask string
				Volume   int
			}
		}
		ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100.00", bid: "99.98", ask: "100.04", volume: 10000) { bid ask volume } }`, nil, &q)
		if !decimalIs(&q.SetQuote.Bid, "99.98") || !decimalIs(&q.SetQuote.Ask, "100.04") || q.SetQuote.Volume != 10000 {
			t.Fatalf("setQuote read back %+v, want bid 99.98, ask 100.04, volume 10000", q.SetQuote)
		}
	}
	tick()
	e := ts.fails(admin, `mutation { setQuote(symbol: "AAPL", price: "100", bid: "100.5") { bid } }`, nil, game.EINVALID)
	if e.Extensions["field"] != "bid" {
		t.Errorf("a bid above the price: %q (field %v), want BAD_USER_INPUT naming bid", e.Message, e.Extensions["field"])
	}

	create := `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id execution { preset spreadBps slippageBps priceImpact volumeLimitPercent } } }`
	in := func(exec map[string]any) map[string]any {
		return map[string]any{"in": map[string]any{"name": "Thin", "endsAt": fmtTime(t0.Add(time.Hour)), "execution": exec}}
	}
	e = ts.fails(owner, create, in(map[string]any{"preset": "THIN_BOOK", "slippageBps": -1}), game.EINVALID)
	if e.Extensions["field"] != "execution.slippageBps" {
		t.Errorf("slippageBps -1: %q (field %v), want BAD_USER_INPUT naming execution.slippageBps", e.Message, e.Extensions["field"])
	}
	var created struct {
		CreateBullPen struct {
			ID        string
			Execution struct {
				Preset                 string
				SpreadBps, SlippageBps int
				PriceImpact            string
				VolumeLimitPercent     *string
			}
		}
	}
	ts.must(owner, create, in(map[string]any{"preset": "THIN_BOOK"}), &created)
	room, ex := created.CreateBullPen.ID, created.CreateBullPen.Execution
	if ex.Preset != "THIN_BOOK" || ex.SpreadBps != 50 || ex.SlippageBps != 10 || !decimalIs(&ex.PriceImpact, "5") || !decimalIs(ex.VolumeLimitPercent, "2") {
		t.Fatalf("execution %+v, want THIN_BOOK 50, 10, 5, 2", ex)
	}
	ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil)

	m := ts.openWS(t, alice)
	if !m.waitAck() {
		t.Fatalf("no connection_ack (close code %d)", m.code)
	}
	// From the room's sequence before the order: the stream replays what
	// it missed while it was being set up, then goes on live, so every
	// fill's event reaches it whenever the server registers it.
	var before struct{ BullPen struct{ LastSequence int } }
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room}, &before)
	op := m.subscribe(`subscription($id: ID!, $after: Int) { ev: bullPenEvents(bullPenId: $id, afterSequence: $after) {
		... on OrderEvent { kind order { status filledQuantity fills { quantity price } } } } }`,
		map[string]any{"id": room, "after": before.BullPen.LastSequence})
	var placed struct{ PlaceOrder struct{ ID, Status string } }
	ts.must(alice, placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": 500}}, &placed)
	if placed.PlaceOrder.Status != "PARTIALLY_FILLED" {
		t.Fatalf("a buy of 500 against 10,000 shares in THIN_BOOK is %s, want PARTIALLY_FILLED", placed.PlaceOrder.Status)
	}
	tick()
	tick()

	type event struct {
		Ev struct {
			Kind  string
			Order struct {
				Status         string
				FilledQuantity int
				Fills          []struct {
					Quantity int
					Price    string
				}
			}
		}
	}
	want := []string{"PARTIALLY_FILLED PARTIALLY_FILLED 200 1", "PARTIALLY_FILLED PARTIALLY_FILLED 400 2", "FILLED FILLED 500 3"}
	var got []string
	orderEvents := func(s streamSnapshot) []string {
		var out []string
		for _, raw := range s.events {
			var ev event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Ev.Kind != "" { // an OrderEvent; the stream has the room's other events too
				out = append(out, ev.Ev.Kind+" "+ev.Ev.Order.Status+" "+strconv.Itoa(ev.Ev.Order.FilledQuantity)+" "+strconv.Itoa(len(ev.Ev.Order.Fills)))
			}
		}
		return out
	}
	op.waitUntil(streamWait, func(s streamSnapshot) bool { return len(orderEvents(s)) >= len(want) || s.ended || len(s.errs) > 0 })
	if s := op.snapshot(); len(s.errs) > 0 {
		t.Fatalf("bullPenEvents: %+v", s.errs)
	}
	got = orderEvents(op.snapshot())
	if !slices.Equal(got, want) {
		t.Errorf("order events %q, want %q", got, want)
	}

	var order struct {
		Node struct {
			Status, AverageFillPrice, FilledPrice string
			Fills                                 []struct {
				Quantity                                                          int
				Price, MidPrice, SpreadCost, SlippageCost, ImpactCost, Commission string
			}
		}
	}
	var q struct {
		BullPen struct {
			Orders struct {
				Edges []struct{ Node json.RawMessage }
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders(first: 1) { edges { node { status averageFillPrice filledPrice
		fills { quantity price midPrice spreadCost slippageCost impactCost commission } } } } } }`, map[string]any{"id": room}, &q)
	if len(q.BullPen.Orders.Edges) != 1 {
		t.Fatalf("%d orders, want 1", len(q.BullPen.Orders.Edges))
	}
	if err := json.Unmarshal(q.BullPen.Orders.Edges[0].Node, &order.Node); err != nil {
		t.Fatal(err)
	}
	// 200 at 100.01 + 0.2501 + 0.1001 + 0.2001 = 100.5603 (twice), then 100
	// with impact 5 x (100/10000)^2 x 100.01 = 0.050005 -> 0.0501:
	// 100.4103; on average 50265.15 / 500 = 100.5303.
	var fills []string
	for _, f := range order.Node.Fills {
		fills = append(fills, strconv.Itoa(f.Quantity)+"@"+f.Price+" mid "+f.MidPrice+" "+f.SpreadCost+" "+f.SlippageCost+" "+f.ImpactCost+" "+f.Commission)
	}
	wantFills := []string{
		"200@100.5603 mid 100.01 50.02 20.02 40.02 0.00",
		"200@100.5603 mid 100.01 50.02 20.02 40.02 0.00",
		"100@100.4103 mid 100.01 25.01 10.01 5.01 0.00",
	}
	if !slices.Equal(fills, wantFills) || order.Node.Status != "FILLED" || !decimalIs(&order.Node.AverageFillPrice, "100.5303") || !decimalIs(&order.Node.FilledPrice, "100.4103") {
		t.Errorf("order %s, average %s, last %s, fills %q; want FILLED, 100.5303, 100.4103, %q", order.Node.Status, order.Node.AverageFillPrice, order.Node.FilledPrice, fills, wantFills)
	}

	rows := ts.getCSV(t, alice, "/rooms/"+room+"/trades.csv").records(t, "bullpen-"+room+"-trades.csv", tradesHeader)
	var csvFills []string
	for _, r := range rows {
		csvFills = append(csvFills, r[4]+"@"+r[5]+" mid "+r[8]+" "+r[9]+" "+r[10]+" "+r[11]+" "+r[6])
	}
	if !slices.Equal(csvFills, wantFills) {
		t.Errorf("trades.csv %q, want a row per fill %q", csvFills, wantFills)
	}
}
