package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestMarginOverGraphQL plays issue 17's short as a client sees it, on
// both engines: maintenanceMarginPercent is refused out of range (naming
// the field) and read back; a short under water is reduced by a BUY of 1
// that fills; then a price that takes the margin equity below 25% of the
// short's value liquidates it, which the participant reads as an
// OrderEvent LIQUIDATED in the event log, a LIQUIDATION line in the
// ledger and no position left.
func TestMarginOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playMargin(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playMargin(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice")
	setPrice := func(p string) {
		ts.must(admin, `mutation($p: Decimal!) { setQuote(symbol: "AAPL", price: $p) { price } }`, map[string]any{"p": p}, nil)
	}
	setPrice("100")
	create := `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id maintenanceMarginPercent } }`
	in := func(pct any) map[string]any {
		return map[string]any{"in": map[string]any{"name": "Margin", "endsAt": fmtTime(t0.Add(time.Hour)), "startingCash": "10000",
			"allowShortSelling": true, "maintenanceMarginPercent": pct}}
	}
	for _, bad := range []any{"0", "-5", "100.5", "12.34567"} {
		e := ts.fails(owner, create, in(bad), game.EINVALID)
		if e.Extensions["field"] != "maintenanceMarginPercent" {
			t.Errorf("%v: error %q (field %v) should name maintenanceMarginPercent", bad, e.Message, e.Extensions["field"])
		}
	}
	var created struct {
		CreateBullPen struct {
			ID                       string
			MaintenanceMarginPercent *string
		}
	}
	ts.must(owner, create, in("25"), &created)
	room := created.CreateBullPen.ID
	if !decimalIs(created.CreateBullPen.MaintenanceMarginPercent, "25") {
		t.Fatalf("maintenanceMarginPercent %v, want 25", created.CreateBullPen.MaintenanceMarginPercent)
	}
	ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil)
	place := func(side string, qty int) (id, status string) {
		var out struct{ PlaceOrder struct{ ID, Status string } }
		ts.must(alice, placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": side, "quantity": qty}}, &out)
		return out.PlaceOrder.ID, out.PlaceOrder.Status
	}
	if _, st := place("SELL", 200); st != "FILLED" {
		t.Fatalf("short 200 is %s", st)
	}
	// Cash 30,000; at 101 the margin wants 30,300: under water, yet a
	// BUY of 1 fills, and so it does at 110.
	for _, p := range []string{"101", "110"} {
		setPrice(p)
		if _, st := place("BUY", 1); st != "FILLED" {
			t.Fatalf("BUY 1 at %s is %s, want FILLED", p, st)
		}
	}
	// Cash 29,789, short 198: 29,789 - 198p < 25% of 198p from p = 120.36.
	setPrice("120.36")
	var log struct {
		BullPenEventLog []struct {
			Typename string `json:"__typename"`
			Kind     string
			Order    struct {
				Side, Status, FilledPrice string
				Quantity                  int
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPenEventLog(bullPenId: $id, kinds: [ORDER], limit: 1000) {
		__typename ... on OrderEvent { kind order { side status quantity filledPrice } } } }`, map[string]any{"id": room}, &log)
	var kinds []string
	for _, e := range log.BullPenEventLog {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"FILLED", "FILLED", "FILLED", "LIQUIDATED"}; !slices.Equal(kinds, want) {
		t.Fatalf("order events %v, want %v", kinds, want)
	}
	if o := log.BullPenEventLog[3].Order; o.Side != "BUY" || o.Status != "FILLED" || o.Quantity != 198 || !decimalIs(&o.FilledPrice, "120.36") {
		t.Errorf("liquidation order %+v, want BUY 198 FILLED at 120.36", o)
	}
	var me struct {
		BullPen struct {
			Me struct {
				Cash, BuyingPower string
				Positions         []struct{ Quantity int }
				Ledger            ledgerConn
			}
		}
	}
	ts.must(alice, ledgerPage, map[string]any{"id": room, "first": 500}, &me)
	m := me.BullPen.Me
	// 29,789 - 198 x 120.36 = 5,957.72.
	if !decimalIs(&m.Cash, "5957.72") || !decimalIs(&m.BuyingPower, "5957.72") {
		t.Errorf("cash %s, buying power %s, want 5957.72", m.Cash, m.BuyingPower)
	}
	var tail []string
	for _, e := range m.Ledger.Edges[len(m.Ledger.Edges)-2:] {
		n := e.Node
		n.Order = nil
		tail = append(tail, n.line())
	}
	// The RELEASE: 1.5 x the 19,800 of cost basis of the 198 short.
	if want := []string{"LIQUIDATION -23831.28 5957.72 -23742.28 -", "RELEASE 29700 5957.72 5957.72 -"}; !slices.Equal(tail, want) {
		t.Errorf("ledger ends %q, want %q", tail, want)
	}
	for _, p := range m.Positions {
		if p.Quantity != 0 {
			t.Errorf("a position of %d is left", p.Quantity)
		}
	}
}
