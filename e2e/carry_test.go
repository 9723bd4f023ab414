package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestCarryingCostsOverGraphQL plays a day of carrying costs as clients
// see it, on both engines: each setting is refused out of range (naming
// the field) and read back, by a spectator too; at 00:00 UTC on the
// server's clock its scheduler books the day, and each participant reads
// their INTEREST and BORROW_FEE lines, linked to no order, in their
// ledger, with cash and buying power to match.
func TestCarryingCostsOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playCarryingCosts(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playCarryingCosts(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice, bob := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice"), ts.signUp("bob")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	const fields = `cashInterestPercent marginInterestPercent borrowFeePercent`
	create := `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id ` + fields + ` } }`
	in := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "Carry", "endsAt": fmtTime(t0.Add(72 * time.Hour)), "startingCash": "10000", "allowShortSelling": true}
		for k, v := range extra {
			m[k] = v
		}
		return map[string]any{"in": m}
	}
	for _, field := range []string{"cashInterestPercent", "marginInterestPercent", "borrowFeePercent"} {
		for _, bad := range []string{"-1", "100.5", "1.23456"} {
			e := ts.fails(owner, create, in(map[string]any{field: bad}), game.EINVALID)
			if e.Extensions["field"] != field {
				t.Errorf("%s %s: error %q (field %v) should name it", field, bad, e.Message, e.Extensions["field"])
			}
		}
	}
	type settings struct{ CashInterestPercent, MarginInterestPercent, BorrowFeePercent *string }
	var created struct {
		CreateBullPen struct {
			ID string
			settings
		}
	}
	ts.must(owner, create, in(map[string]any{"cashInterestPercent": "3.65", "marginInterestPercent": "7.3", "borrowFeePercent": "10.95"}), &created)
	room := created.CreateBullPen.ID
	var seen struct{ BullPen settings }
	ts.must("", `query($id: ID!) { bullPen(id: $id) { `+fields+` } }`, map[string]any{"id": room}, &seen)
	for _, s := range []settings{created.CreateBullPen.settings, seen.BullPen} {
		if !decimalIs(s.CashInterestPercent, "3.65") || !decimalIs(s.MarginInterestPercent, "7.3") || !decimalIs(s.BorrowFeePercent, "10.95") {
			t.Errorf("carrying costs read back %v %v %v, want 3.65 7.3 10.95", s.CashInterestPercent, s.MarginInterestPercent, s.BorrowFeePercent)
		}
	}
	for _, u := range []string{alice, bob} {
		ts.must(u, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil)
	}
	var out struct{ PlaceOrder struct{ Status string } }
	ts.must(bob, placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "SELL", "quantity": 100}}, &out)
	if out.PlaceOrder.Status != "FILLED" {
		t.Fatalf("bob's short is %s", out.PlaceOrder.Status)
	}
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "120") { price } }`, nil, nil)

	type me struct {
		BullPen struct {
			Me struct {
				Cash, BuyingPower string
				Ledger            ledgerConn
			}
		}
	}
	carry := func(token string) (lines []string, m me) {
		ts.must(token, ledgerPage, map[string]any{"id": room, "first": 500}, &m)
		for _, e := range m.BullPen.Me.Ledger.Edges {
			if e.Node.Kind == "INTEREST" || e.Node.Kind == "BORROW_FEE" {
				lines = append(lines, e.Node.line())
			}
		}
		return lines, m
	}
	if lines, _ := carry(alice); len(lines) != 0 {
		t.Fatalf("lines before 00:00: %q", lines)
	}
	// To 00:00 UTC on the server's clock: its scheduler books the day.
	ts.clock.Advance(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC).Sub(ts.clock.Now()))
	eventually(t, "the day's interest", func() bool { lines, _ := carry(alice); return len(lines) > 0 })
	lines, m := carry(alice)
	if want := []string{"INTEREST 1 10001 10001 -"}; !slices.Equal(lines, want) {
		t.Errorf("alice's carrying costs %q, want %q", lines, want)
	}
	if !decimalIs(&m.BullPen.Me.Cash, "10001") || !decimalIs(&m.BullPen.Me.BuyingPower, "10001") {
		t.Errorf("alice's cash %s, buying power %s, want 10001", m.BullPen.Me.Cash, m.BullPen.Me.BuyingPower)
	}
	// Bob: 20,000 of cash at 3.65% and 100 x 120 short at 10.95%, for a
	// day; his ledger sum was 20,000 - 15,000 of short margin.
	lines, m = carry(bob)
	if want := []string{"INTEREST 2 20002 5002 -", "BORROW_FEE -3.6 19998.4 4998.4 -"}; !slices.Equal(lines, want) {
		t.Errorf("bob's carrying costs %q, want %q", lines, want)
	}
	if !decimalIs(&m.BullPen.Me.Cash, "19998.4") {
		t.Errorf("bob's cash %s, want 19998.4", m.BullPen.Me.Cash)
	}
}
