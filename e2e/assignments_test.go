package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestAssignmentsOverGraphQL: a room's assignments through a real server,
// on both engines. Bad assignments are BAD_USER_INPUT naming the field
// with its index, and no room is made; BullPen.assignments reads them
// back in order, to a spectator too; Participant.assignments shows each
// player's progress to the owner and to the player, and an empty list to
// the other player (trades PRIVATE) and to a spectator; results.csv ends
// with the assignment columns, filled for the owner, for a player only in
// their own row.
//
// AAPL 100, MSFT 200. alice buys 10 AAPL (note "first") and 1 MSFT:
// 2 MARKET orders, 2 symbols at once, 1 note; bob buys 900 AAPL: 1 order,
// 1 symbol, no note. AAPL falls to 80 and the room ends: alice's value
// 98800 + 800 + 200 = 99800, a drawdown of 0.2% (done 1, rounded up, met:
// below 10); bob's 10000 + 72000 = 82000, 18% (done 18, not met).
func TestAssignmentsOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playAssignments(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playAssignments(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice, bob := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice"), ts.signUp("bob")
	for _, q := range []string{`mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, `mutation { setQuote(symbol: "MSFT", price: "200") { price } }`} {
		ts.must(admin, q, nil, nil)
	}
	const create = `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id assignments { kind count orderType } } }`
	in := func(as ...map[string]any) map[string]any {
		return map[string]any{"in": map[string]any{"name": "Class", "endsAt": fmtTime(t0.Add(time.Hour)), "assignments": as}}
	}
	for _, c := range []struct {
		name  string
		as    []map[string]any
		field string
	}{
		{"CountZero", []map[string]any{{"kind": "NOTES_WRITTEN", "count": 1}, {"kind": "DISTINCT_SYMBOLS", "count": 0}}, "assignments[1].count"},
		{"NoOrderType", []map[string]any{{"kind": "ORDERS_OF_TYPE", "count": 1}}, "assignments[0].orderType"},
		{"OrderTypeOnNotes", []map[string]any{{"kind": "NOTES_WRITTEN", "count": 1, "orderType": "LIMIT"}}, "assignments[0].orderType"},
		{"Percent", []map[string]any{{"kind": "MAX_DRAWDOWN_BELOW", "count": 101}}, "assignments[0].count"},
		{"Twice", []map[string]any{{"kind": "NOTES_WRITTEN", "count": 1}, {"kind": "NOTES_WRITTEN", "count": 2}}, "assignments[1]"},
	} {
		if e := ts.fails(owner, create, in(c.as...), game.EINVALID); e.Extensions["field"] != c.field {
			t.Errorf("%s: %q (field %v), want %s", c.name, e.Message, e.Extensions["field"], c.field)
		}
	}
	var none struct{ BullPens struct{ TotalCount int } }
	ts.must(owner, `{ bullPens { totalCount } }`, nil, &none)
	if none.BullPens.TotalCount != 0 {
		t.Fatalf("refused rooms were made: %d", none.BullPens.TotalCount)
	}

	var created struct {
		CreateBullPen struct {
			ID          string
			Assignments []assignmentJSON
		}
	}
	ts.must(owner, create, in(
		map[string]any{"kind": "ORDERS_OF_TYPE", "count": 2, "orderType": "MARKET"},
		map[string]any{"kind": "DISTINCT_SYMBOLS", "count": 2},
		map[string]any{"kind": "NOTES_WRITTEN", "count": 1},
		map[string]any{"kind": "MAX_DRAWDOWN_BELOW", "count": 10},
	), &created)
	room := created.CreateBullPen.ID
	rules := "ORDERS_OF_TYPE 2 MARKET, DISTINCT_SYMBOLS 2 -, NOTES_WRITTEN 1 -, MAX_DRAWDOWN_BELOW 10 -"
	if got := renderAssignments(created.CreateBullPen.Assignments); got != rules {
		t.Errorf("created with %s, want %s", got, rules)
	}
	var public struct {
		BullPen struct{ Assignments []assignmentJSON }
	}
	ts.must("", `query($id: ID!) { bullPen(id: $id) { assignments { kind count orderType } } }`, map[string]any{"id": room}, &public)
	if got := renderAssignments(public.BullPen.Assignments); got != rules {
		t.Errorf("a spectator reads %s, want %s", got, rules)
	}

	seat := map[string]string{}
	for who, token := range map[string]string{"alice": alice, "bob": bob} {
		var j struct{ JoinBullPen struct{ ID string } }
		ts.must(token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, &j)
		seat[j.JoinBullPen.ID] = who
	}
	order := func(token, symbol string, qty int, note string) {
		t.Helper()
		in := map[string]any{"bullPenId": room, "symbol": symbol, "side": "BUY", "quantity": qty}
		if note != "" {
			in["note"] = note
		}
		var o struct{ PlaceOrder struct{ Status string } }
		ts.must(token, placeOrderMutation, map[string]any{"in": in}, &o)
		if o.PlaceOrder.Status != "FILLED" {
			t.Fatalf("%d %s: %s", qty, symbol, o.PlaceOrder.Status)
		}
	}
	order(alice, "AAPL", 10, "first")
	order(alice, "MSFT", 1, "")
	order(bob, "AAPL", 900, "")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "80") { price } }`, nil, nil)
	if err := ts.svc.RefreshLeaderboards(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"alice": "ORDERS_OF_TYPE 2/2 true, DISTINCT_SYMBOLS 2/2 true, NOTES_WRITTEN 1/1 true, MAX_DRAWDOWN_BELOW 1/10 true",
		"bob":   "ORDERS_OF_TYPE 1/2 false, DISTINCT_SYMBOLS 1/2 false, NOTES_WRITTEN 0/1 false, MAX_DRAWDOWN_BELOW 18/10 false",
	}
	for viewer, token := range map[string]string{"owner": owner, "alice": alice, "bob": bob, "anonymous": ""} {
		var q struct {
			BullPen struct {
				Participants []struct {
					ID          string
					Assignments []progressJSON
				}
				Me *struct{ Assignments []progressJSON }
			}
		}
		ts.must(token, `query($id: ID!) { bullPen(id: $id) { participants { id assignments { kind required done met } }
			me { assignments { kind required done met } } } }`, map[string]any{"id": room}, &q)
		for _, p := range q.BullPen.Participants {
			who := seat[p.ID]
			w := ""
			if viewer == "owner" || viewer == who {
				w = want[who]
			}
			if got := renderProgress(p.Assignments); got != w || p.Assignments == nil {
				t.Errorf("%s reads %s's assignments %q, want %q", viewer, who, got, w)
			}
		}
		if me := q.BullPen.Me; (me != nil) != (viewer == "alice" || viewer == "bob") || me != nil && renderProgress(me.Assignments) != want[viewer] {
			t.Errorf("%s's me: %+v", viewer, me)
		}
	}

	ts.must(owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": room}, nil)
	header := slices.Concat(resultsHeader, []string{"a1_ORDERS_OF_TYPE_MARKET_2", "a1_met", "a2_DISTINCT_SYMBOLS_2", "a2_met",
		"a3_NOTES_WRITTEN_1", "a3_met", "a4_MAX_DRAWDOWN_BELOW_10", "a4_met", "assignmentsMet"})
	grades := map[string]string{
		"alice": "2 true 2 true 1 true 1 true 4/4",
		"bob":   "1 false 1 false 0 false 18 false 0/4",
	}
	for viewer, token := range map[string]string{"owner": owner, "alice": alice, "anonymous": ""} {
		rows := ts.getCSV(t, token, "/rooms/"+room+"/results.csv").records(t, "bullpen-"+room+"-results.csv", header)
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows, want 2", viewer, len(rows))
		}
		for _, row := range rows {
			who, got := row[1], strings.Join(row[len(resultsHeader):], " ")
			w := strings.Repeat(" ", 8) // nine empty cells
			if viewer == "owner" || viewer == who {
				w = grades[who]
			}
			if got != w {
				t.Errorf("%s's results.csv grades %s %q, want %q", viewer, who, got, w)
			}
		}
	}
}

type assignmentJSON struct {
	Kind      string
	Count     int
	OrderType *string
}

func renderAssignments(as []assignmentJSON) string {
	var out []string
	for _, a := range as {
		t := "-"
		if a.OrderType != nil {
			t = *a.OrderType
		}
		out = append(out, a.Kind+" "+strconv.Itoa(a.Count)+" "+t)
	}
	return strings.Join(out, ", ")
}

type progressJSON struct {
	Kind           string
	Required, Done int
	Met            bool
}

func renderProgress(ps []progressJSON) string {
	var out []string
	for _, p := range ps {
		met := "false"
		if p.Met {
			met = "true"
		}
		out = append(out, p.Kind+" "+strconv.Itoa(p.Done)+"/"+strconv.Itoa(p.Required)+" "+met)
	}
	return strings.Join(out, ", ")
}
