package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestCorporateActions runs a split and a dividend through a real server
// on its scheduler and fake clock: a 3-for-2 split of AAPL at 90 (alice
// long 7 -> 10 and 30 in lieu, her buy 5 @ 84 -> 7 @ 56; bob short 3 ->
// -4 and -30), then a dividend of 0.25 recorded at its exDate and paid at
// its payDate (alice +2.5, bob -1). Alice's bullPenEvents stream gets
// each CorporateActionEvent and her own PositionEvents, never bob's (the
// room's trades are PRIVATE).
func TestCorporateActions(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playCorporateActions(t, startServerOn(t, dbtest.Open(t, backend))) })
	}
}

func playCorporateActions(t *testing.T, ts *testServer) {
	admin, owner, alice, bob := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice"), ts.signUp("bob")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "90") { price } }`, nil, nil)
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Splits", endsAt: $e, startingCash: "10000", allowShortSelling: true}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(24 * time.Hour))}, &created)
	id := created.CreateBullPen.ID
	for _, u := range []string{alice, bob} {
		ts.must(u, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": id}, nil)
	}
	place := func(token string, in map[string]any) string {
		in["bullPenId"], in["symbol"] = id, "AAPL"
		var out struct{ PlaceOrder struct{ ID string } }
		ts.must(token, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`, map[string]any{"in": in}, &out)
		return out.PlaceOrder.ID
	}
	place(alice, map[string]any{"side": "BUY", "quantity": 7})
	resting := place(alice, map[string]any{"side": "BUY", "quantity": 5, "type": "LIMIT", "limitPrice": "84"})
	place(bob, map[string]any{"side": "SELL", "quantity": 3})

	var seq struct{ BullPen struct{ LastSequence int } }
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": id}, &seq)
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{"authorization": "Bearer " + alice})
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename sequence
			... on CorporateActionEvent { action { kind symbol ratio amountPerShare appliedAt } }
			... on PositionEvent { participantId position { quantity costBasis averageCost } } } }`,
		"variables": map[string]any{"id": id, "after": seq.BullPen.LastSequence},
	}})
	// nextEvents reads n events of alice's stream, as "<typename> <detail>",
	// leaderboard snapshots aside (the clock takes them as it moves).
	nextEvents := func(n int) []string {
		t.Helper()
		var out []string
		for len(out) < n {
			m := c.next()
			if m.Type != "next" {
				t.Fatalf("got %s %s, want an event", m.Type, m.Payload)
			}
			var p struct {
				Data struct {
					BullPenEvents struct {
						Typename string `json:"__typename"`
						Action   *struct{ Kind, Symbol string }
						Position *struct{ Quantity int }
					}
				}
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatal(err)
			}
			e := p.Data.BullPenEvents
			switch {
			case e.Action != nil:
				out = append(out, e.Typename+" "+e.Action.Kind)
			case e.Position != nil:
				out = append(out, e.Typename+" "+strconv.Itoa(e.Position.Quantity))
			case e.Typename != "LeaderboardEvent":
				out = append(out, e.Typename)
			}
		}
		return out
	}

	// Bad input: BAD_USER_INPUT naming the field, nothing stored.
	later, past := fmtTime(t0.Add(time.Minute)), fmtTime(t0.Add(-time.Second))
	for _, bad := range []struct {
		query, field string
		ex, pay      string
	}{
		{`announceSplit(symbol: "AAPL", ratio: "1", exDate: $ex)`, "ratio", later, ""},
		{`announceSplit(symbol: "NOPE", ratio: "2", exDate: $ex)`, "symbol", later, ""},
		{`announceSplit(symbol: "AAPL", ratio: "2", exDate: $ex)`, "exDate", past, ""},
		{`announceDividend(symbol: "AAPL", amountPerShare: "-1", exDate: $ex, payDate: $pay)`, "amountPerShare", later, later},
		{`announceDividend(symbol: "AAPL", amountPerShare: "1", exDate: $ex, payDate: $pay)`, "payDate", later, fmtTime(t0)},
	} {
		query, vars := `mutation($ex: Time!) { `+bad.query+` { id } }`, map[string]any{"ex": bad.ex}
		if bad.pay != "" {
			query, vars["pay"] = `mutation($ex: Time!, $pay: Time!) { `+bad.query+` { id } }`, bad.pay
		}
		e := ts.fails(admin, query, vars, "BAD_USER_INPUT")
		if field, _ := e.Extensions["field"].(string); field != bad.field && !strings.HasPrefix(e.Message, bad.field+":") {
			t.Errorf("%s: error %q (%v) should name %s", bad.query, e.Message, e.Extensions, bad.field)
		}
	}
	var none struct{ CorporateActions struct{ TotalCount int } }
	ts.must("", `{ corporateActions { totalCount } }`, nil, &none)
	if none.CorporateActions.TotalCount != 0 {
		t.Fatalf("%d actions stored after bad input", none.CorporateActions.TotalCount)
	}

	ts.must(admin, `mutation($at: Time!) { announceSplit(symbol: "aapl", ratio: "1.5", exDate: $at) { id appliedAt } }`,
		map[string]any{"at": fmtTime(t0.Add(time.Minute))}, nil)
	ts.must(admin, `mutation($ex: Time!, $pay: Time!) { announceDividend(symbol: "AAPL", amountPerShare: "0.25", exDate: $ex, payDate: $pay) { id } }`,
		map[string]any{"ex": fmtTime(t0.Add(2 * time.Minute)), "pay": fmtTime(t0.Add(3 * time.Minute))}, nil)

	ts.clock.Advance(time.Minute)
	if got, want := nextEvents(2), []string{"CorporateActionEvent SPLIT", "PositionEvent 10"}; !slices.Equal(got, want) {
		t.Fatalf("after the split's exDate alice got %v, want %v", got, want)
	}
	type me struct {
		Cash      string
		Positions []struct {
			Symbol                 string
			Quantity               int
			CostBasis, AverageCost string
		}
		Ledger struct {
			Edges []struct {
				Node struct {
					Kind, Amount string
					Order        *struct{ ID string }
				}
			}
		}
	}
	read := func(token string) me {
		t.Helper()
		var out struct{ BullPen struct{ Me me } }
		ts.must(token, `query($id: ID!) { bullPen(id: $id) { me { cash positions { symbol quantity costBasis averageCost }
			ledger(first: 100) { edges { node { kind amount order { id } } } } } } }`, map[string]any{"id": id}, &out)
		return out.BullPen.Me
	}
	// orderless lists "<kind> <amount>" of the ledger lines with no order
	// but the starting cash.
	orderless := func(m me) []string {
		var out []string
		for _, e := range m.Ledger.Edges {
			if e.Node.Order == nil && e.Node.Kind != "STARTING_CASH" {
				out = append(out, e.Node.Kind+" "+decimal.RequireFromString(e.Node.Amount).String())
			}
		}
		return out
	}
	a := read(alice)
	if !decimalIs(&a.Cash, "9400") || len(a.Positions) != 1 || a.Positions[0].Quantity != 10 ||
		!decimalIs(&a.Positions[0].CostBasis, "600") || !decimalIs(&a.Positions[0].AverageCost, "60") {
		t.Errorf("alice after the split: %+v, want cash 9400, 10 AAPL costing 600 (average 60)", a)
	}
	if got := orderless(a); !slices.Equal(got, []string{"SELL 30"}) {
		t.Errorf("alice's corporate ledger lines %v, want SELL 30", got)
	}
	var o struct {
		BullPen struct {
			Orders struct {
				Edges []struct {
					Node struct {
						ID, Status, LimitPrice string
						Quantity               int
					}
				}
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders(status: OPEN) { edges { node { id status quantity limitPrice } } } } }`, map[string]any{"id": id}, &o)
	if es := o.BullPen.Orders.Edges; len(es) != 1 || es[0].Node.ID != resting || es[0].Node.Quantity != 7 || !decimalIs(&es[0].Node.LimitPrice, "56") {
		t.Errorf("alice's resting order after the split: %+v, want 7 @ 56", es)
	}
	b := read(bob)
	if !decimalIs(&b.Cash, "10240") || len(b.Positions) != 1 || b.Positions[0].Quantity != -4 || !decimalIs(&b.Positions[0].CostBasis, "240") {
		t.Errorf("bob after the split: %+v, want cash 10240, -4 AAPL costing 240", b)
	}
	var q struct{ Quote struct{ Price string } }
	ts.must(alice, `{ quote(symbol: "AAPL") { price } }`, nil, &q)
	if !decimalIs(&q.Quote.Price, "60") {
		t.Errorf("AAPL after the split: %s, want 60", q.Quote.Price)
	}

	ts.clock.Advance(time.Minute)
	if got, want := nextEvents(1), []string{"CorporateActionEvent DIVIDEND"}; !slices.Equal(got, want) {
		t.Fatalf("at the dividend's exDate alice got %v, want %v", got, want)
	}
	if a := read(alice); !decimalIs(&a.Cash, "9400") {
		t.Errorf("alice's cash at the exDate %s, want 9400 (paid at the payDate)", a.Cash)
	}
	ts.clock.Advance(time.Minute)
	if got, want := nextEvents(1), []string{"PositionEvent 10"}; !slices.Equal(got, want) {
		t.Fatalf("at the payDate alice got %v, want %v", got, want)
	}
	if a := read(alice); !decimalIs(&a.Cash, "9402.5") || !slices.Contains(orderless(a), "DIVIDEND 2.5") {
		t.Errorf("alice at the payDate: cash %s, lines %v; want 9402.5 and DIVIDEND 2.5", a.Cash, orderless(a))
	}
	if b := read(bob); !decimalIs(&b.Cash, "10239") || !slices.Contains(orderless(b), "DIVIDEND -1") {
		t.Errorf("bob at the payDate: cash %s, lines %v; want 10239 and DIVIDEND -1", b.Cash, orderless(b))
	}
	var log struct {
		BullPenEventLog []struct {
			Typename string `json:"__typename"`
			Action   struct{ Kind string }
		}
	}
	ts.must("", `query($id: ID!) { bullPenEventLog(bullPenId: $id, kinds: [CORPORATE_ACTION]) { __typename ... on CorporateActionEvent { action { kind } } } }`,
		map[string]any{"id": id}, &log)
	if evs := log.BullPenEventLog; len(evs) != 2 || evs[0].Action.Kind != "SPLIT" || evs[1].Action.Kind != "DIVIDEND" {
		t.Errorf("the log's CORPORATE_ACTION events, to a spectator: %+v, want the split's and the dividend's", evs)
	}
	var list struct {
		CorporateActions struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Kind, AppliedAt, PaidAt *string }
			}
		}
	}
	ts.must("", `{ corporateActions(symbol: "AAPL") { totalCount edges { node { kind appliedAt paidAt } } } }`, nil, &list)
	if ca := list.CorporateActions; ca.TotalCount != 2 || len(ca.Edges) != 2 || ca.Edges[1].Node.PaidAt == nil || ca.Edges[0].Node.AppliedAt == nil {
		t.Errorf("corporateActions %+v, want the split applied and the dividend paid", ca)
	}
}

// TestReplayCarriesCorporateActions: a replay file's SPLIT row splits the
// holdings of a room when the replay reaches it, before the file's next
// price, and the action is listed like an announced one.
func TestReplayCarriesCorporateActions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prices.csv")
	csv := "timestamp,symbol,price\n" +
		"2025-01-02T14:30:00Z,AAPL,100\n" +
		"2025-01-02T14:30:01Z,AAPL,SPLIT:2\n" +
		"2025-01-02T14:30:02Z,AAPL,50.5\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServerOn(t, dbtest.SQLite(t), "-market", "replay:"+path)
	quotes := make(chan string, 16)
	ts.svc.OnQuote(func(q game.Quote) { quotes <- q.Symbol + " " + q.Price.String() })
	// waitQuote waits for the price of AAPL to be want: stored already, or
	// when the feed stores it.
	waitQuote := func(want string) {
		t.Helper()
		var q struct{ Quote *struct{ Price string } }
		ts.must("", `{ quote(symbol: "AAPL") { price } }`, nil, &q)
		if q.Quote != nil && decimalIs(&q.Quote.Price, want) {
			return
		}
		for {
			select {
			case got := <-quotes:
				if got == "AAPL "+want {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("AAPL never became %s", want)
			}
		}
	}
	owner, alice := ts.signUp("owner"), ts.signUp("alice")
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Replay", endsAt: $e}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &created)
	id := created.CreateBullPen.ID
	ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": id}, nil)
	waitQuote("100")
	ts.must(alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 3}) { id } }`, map[string]any{"id": id}, nil)

	ts.clock.Advance(time.Second)
	waitQuote("50") // the split's quote, stored with the split
	var me struct {
		BullPen struct {
			Me struct {
				Positions []struct {
					Quantity  int
					CostBasis string
				}
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { me { positions { quantity costBasis } } } }`, map[string]any{"id": id}, &me)
	if ps := me.BullPen.Me.Positions; len(ps) != 1 || ps[0].Quantity != 6 || !decimalIs(&ps[0].CostBasis, "300") {
		t.Errorf("alice after the replay's split: %+v, want 6 costing 300", ps)
	}
	ts.clock.Advance(time.Second)
	waitQuote("50.5") // the file's next price, as it is
	var list struct {
		CorporateActions struct {
			Edges []struct {
				Node struct{ Kind, Ratio, AppliedAt string }
			}
		}
	}
	ts.must("", `{ corporateActions(symbol: "AAPL") { edges { node { kind ratio appliedAt } } } }`, nil, &list)
	if es := list.CorporateActions.Edges; len(es) != 1 || es[0].Node.Kind != "SPLIT" || !decimalIs(&es[0].Node.Ratio, "2") || es[0].Node.AppliedAt == "" {
		t.Errorf("corporateActions %+v, want the file's split, applied", es)
	}
}
