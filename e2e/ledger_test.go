package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
)

const ledgerPage = `query($id: ID!, $first: Int, $after: String) { bullPen(id: $id) { me { cash buyingPower
	ledger(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
		edges { cursor node { id at kind amount cashAfter buyingPowerAfter order { id status } } } } } } }`

type ledgerNode struct {
	ID, At, Kind                        string
	Amount, CashAfter, BuyingPowerAfter string
	Order                               *struct{ ID, Status string }
}

// line is an entry as "KIND amount cashAfter buyingPowerAfter order" with
// the decimals normalised (the order "-" when it has none).
func (n ledgerNode) line() string {
	order := "-"
	if n.Order != nil {
		order = n.Order.ID
	}
	norm := func(s string) string { return decimal.RequireFromString(s).String() }
	return strings.Join([]string{n.Kind, norm(n.Amount), norm(n.CashAfter), norm(n.BuyingPowerAfter), order}, " ")
}

type ledgerConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []struct {
		Cursor string
		Node   ledgerNode
	}
}

// TestLedgerPagesOverGraphQL reads a participant's ledger page by page
// (first/after) on both engines: every entry once, oldest first, each
// linked to its order, totalCount the whole ledger on every page, the
// last page saying there is no next; and checks the entries one order
// makes, from rest to fill, and a cancel's release.
func TestLedgerPagesOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { ledgerPages(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func ledgerPages(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice")
	setPrice := func(p string) {
		ts.must(admin, `mutation($p: Decimal!) { setQuote(symbol: "AAPL", price: $p) { price } }`, map[string]any{"p": p}, nil)
	}
	setPrice("100")
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Ledger", endsAt: $e, startingCash: "10000", commission: "0.5"}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &created)
	room := created.CreateBullPen.ID
	ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil)
	place := func(in map[string]any) (id, status string) {
		in["bullPenId"], in["symbol"] = room, "AAPL"
		var out struct{ PlaceOrder struct{ ID, Status string } }
		ts.must(alice, placeOrderMutation, map[string]any{"in": in}, &out)
		return out.PlaceOrder.ID, out.PlaceOrder.Status
	}
	// A resting limit buy that fills when the price comes down: RESERVE,
	// then RELEASE, BUY and COMMISSION, all linked to it.
	rest, st := place(map[string]any{"side": "BUY", "type": "LIMIT", "limitPrice": "90", "quantity": 10})
	if st != "OPEN" {
		t.Fatalf("limit buy is %s, want OPEN", st)
	}
	setPrice("89.5")
	// A cancelled one: RESERVE, RELEASE.
	cancelled, _ := place(map[string]any{"side": "BUY", "type": "LIMIT", "limitPrice": "50", "quantity": 2})
	ts.must(alice, `mutation($id: ID!) { cancelOrder(orderId: $id) { status } }`, map[string]any{"id": cancelled}, nil)
	// Market sells: SELL and COMMISSION each.
	var sells []string
	for range 4 {
		id, st := place(map[string]any{"side": "SELL", "quantity": 1})
		if st != "FILLED" {
			t.Fatalf("market sell is %s", st)
		}
		sells = append(sells, id)
	}
	want := []string{
		"STARTING_CASH 10000 10000 10000 -",
		"RESERVE -900.5 10000 9099.5 " + rest, // 10 x 90 + commission
		"RELEASE 900.5 10000 10000 " + rest,
		"BUY -895 9105 9105 " + rest,
		"COMMISSION -0.5 9104.5 9104.5 " + rest,
		"RESERVE -100.5 9104.5 9004 " + cancelled,
		"RELEASE 100.5 9104.5 9104.5 " + cancelled,
	}
	cash := decimal.RequireFromString("9104.5")
	for _, s := range sells {
		cash = cash.Add(decimal.RequireFromString("89.5"))
		want = append(want, fmt.Sprintf("SELL 89.5 %s %s %s", cash, cash, s))
		cash = cash.Sub(decimal.RequireFromString("0.5"))
		want = append(want, fmt.Sprintf("COMMISSION -0.5 %s %s %s", cash, cash, s))
	}

	var (
		got    []string
		ids    []string
		after  *string
		pages  int
		lastAt string
	)
	for {
		var out struct {
			BullPen struct {
				Me struct {
					Cash, BuyingPower string
					Ledger            ledgerConn
				}
			}
		}
		ts.must(alice, ledgerPage, map[string]any{"id": room, "first": 4, "after": after}, &out)
		me := out.BullPen.Me
		l := me.Ledger
		pages++
		if l.TotalCount != len(want) {
			t.Errorf("page %d: totalCount %d, want %d", pages, l.TotalCount, len(want))
		}
		if len(l.Edges) == 0 || len(l.Edges) > 4 {
			t.Fatalf("page %d: %d edges", pages, len(l.Edges))
		}
		for _, e := range l.Edges {
			n := e.Node
			got = append(got, n.line())
			ids = append(ids, n.ID)
			if n.At < lastAt {
				t.Errorf("entry %s at %s, before the one above it (%s)", n.ID, n.At, lastAt)
			}
			lastAt = n.At
		}
		if l.PageInfo.EndCursor == nil || *l.PageInfo.EndCursor != l.Edges[len(l.Edges)-1].Cursor {
			t.Errorf("page %d: endCursor %v is not the last edge's cursor", pages, l.PageInfo.EndCursor)
		}
		if !l.PageInfo.HasNextPage {
			if !decimalIs(&me.Cash, cash.String()) || !decimalIs(&me.BuyingPower, cash.String()) {
				t.Errorf("cash %s and buyingPower %s, want both %s (the ledger's sums; nothing rests)", me.Cash, me.BuyingPower, cash)
			}
			break
		}
		after = l.PageInfo.EndCursor
	}
	if wantPages := (len(want) + 3) / 4; pages != wantPages {
		t.Errorf("%d pages of 4, want %d", pages, wantPages)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ledger\n got %q\nwant %q", got, want)
	}
	for i := 1; i < len(ids); i++ {
		prev, _ := strconv.ParseInt(ids[i-1], 10, 64)
		if id, _ := strconv.ParseInt(ids[i], 10, 64); id <= prev {
			t.Errorf("entry %d follows entry %d: ids must rise (each entry once, oldest first)", id, prev)
		}
	}

	// Bad arguments are named; another engine's or list's cursor is not a
	// ledger cursor.
	for _, tc := range []struct {
		vars  map[string]any
		field string
	}{
		{map[string]any{"id": room, "first": 0}, "first"},
		{map[string]any{"id": room, "first": 501}, "first"},
		{map[string]any{"id": room, "after": "bm90LWEtY3Vyc29y"}, "after"},
	} {
		e := ts.fails(alice, ledgerPage, tc.vars, "BAD_USER_INPUT")
		if e.Extensions["field"] != tc.field {
			t.Errorf("%v: error %q names field %v, want %s", tc.vars, e.Message, e.Extensions["field"], tc.field)
		}
	}
}
