package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
)

// The authorization matrix's rows for corporate actions (issue 19): the
// CorporateActionEvent is public to whoever sees the room, the
// PositionEvents a split writes follow tradeVisibility as a fill's do,
// corporateActions is public market data, and only admins announce.

// authzCorporateRows read the rooms where TSLA was split (see
// authzWorld.corporate), set up after the liquidation rows.
var authzCorporateRows = []authzRow{
	{name: "CorporateActionEvent in Query.bullPenEventLog", want: corporateEventCells, rule: corporateEventRule, check: checkCorporateEvents},
	{name: "PositionEvent(SPLIT) in Query.bullPenEventLog", want: liquidatedCells, rule: liquidatedRule, check: checkSplitPositionEvents},
	{name: "Query.corporateActions", want: publicEverywhere, rule: func(roomKind, role) string { return object }, check: checkCorporateActionsQuery},
}

// authzCorporateWriteRows: announcing is for admins, as setQuote is.
var authzCorporateWriteRows = []authzRow{
	{name: "Mutation.announceSplit", want: adminOnly, rule: adminOnlyRule, check: checkAnnounceCorporate("split")},
	{name: "Mutation.announceDividend", want: adminOnly, rule: adminOnlyRule, check: checkAnnounceCorporate("dividend")},
}

var corporateEventCells = grid(
	by("corp", "corp", "corp", "corp", "corp", "corp"),
	by("corp", "corp", "corp", "corp", "corp", "corp"),
	by(notFound, notFound, "corp", "corp", "corp", notFound),
)

func corporateEventRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return "corp"
}

var publicEverywhere = grid(
	by(object, object, object, object, object, object),
	by(object, object, object, object, object, object),
	by(object, object, object, object, object, object),
)

var adminOnly = grid(
	by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
	by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
	by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
)

func adminOnlyRule(_ roomKind, r role) string {
	switch r {
	case roleAnonymous:
		return unauthed
	case roleAdmin:
		return allowed
	}
	return forbidden
}

// corporate sets up w.split: in a room of each kind P1 buys 3 TSLA and
// P2 5 at 100, then TSLA splits two-for-one (exDate now): one
// CorporateActionEvent and a PositionEvent of each. No other room trades
// TSLA.
func (w *authzWorld) corporate(t *testing.T) {
	t.Helper()
	ts := w.ts.with(t)
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "TSLA", price: "100") { price } }`, nil, nil)
	for _, k := range allKinds {
		room := w.newRoom(t, k, "ACTIVE")
		for p, n := range map[role]int{roleP1: 3, roleP2: 5} {
			var out struct{ PlaceOrder struct{ Status string } }
			ts.must(w.tokens[p], placeOrderMutation, map[string]any{"in": map[string]any{
				"bullPenId": room.id, "symbol": "TSLA", "side": "BUY", "quantity": n}}, &out)
			if out.PlaceOrder.Status != "FILLED" {
				t.Fatalf("buy of %s in %s: %s", p, k, out.PlaceOrder.Status)
			}
		}
		w.split[k] = room
	}
	ts.must(w.tokens[roleAdmin], `mutation($at: Time!) { announceSplit(symbol: "TSLA", ratio: "2", exDate: $at) { id } }`,
		map[string]any{"at": fmtTime(ts.clock.Now())}, nil)
	if _, err := ts.svc.ApplyCorporateActions(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, room := range w.split {
		room.events = w.rawEvents(t, room, 0)
		if n := len(corporateEvents(room)); n != 1 {
			t.Fatalf("room %s: %d CORPORATE_ACTION events, want 1 (log: %s)", room.kind, n, room.describe(room.events))
		}
		if n := len(splitPositionEvents(room)); n != 2 {
			t.Fatalf("room %s: %d POSITION events after the split, want P1's and P2's (log: %s)", room.kind, n, room.describe(room.events))
		}
	}
}

// corporateEvents lists the sequences of the room's CORPORATE_ACTION
// events, from the raw log.
func corporateEvents(room *authzRoom) []int64 {
	var out []int64
	for _, ev := range room.events {
		if ev.Kind == game.EventCorporateAction {
			out = append(out, ev.Sequence)
		}
	}
	return out
}

// splitPositionEvents lists "<sequence> <class>" of the POSITION events
// after the room's CORPORATE_ACTION event, from the raw log.
func splitPositionEvents(room *authzRoom) []string {
	var out []string
	after := false
	for _, ev := range room.events {
		if ev.Kind == game.EventCorporateAction {
			after = true
		} else if after && ev.Kind == game.EventPosition {
			out = append(out, strconv.FormatInt(ev.Sequence, 10)+" "+room.class(ev))
		}
	}
	return out
}

const corporateLogQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, limit: 1000) {
	sequence __typename ... on CorporateActionEvent { action { kind symbol ratio appliedAt } } } }`

// splitLog reads the log of the cell's split room, or checks the error
// the cell wants and returns ok false.
func (c *authzCell) splitLog() (room *authzRoom, evs []struct {
	Sequence int64
	Typename string `json:"__typename"`
	Action   *struct{ Kind, Symbol, Ratio, AppliedAt string }
}, ok bool) {
	room = c.w.split[c.kind]
	data := c.roomRead(corporateLogQuery, room.id)
	if data == nil {
		return room, nil, false
	}
	var out struct {
		Ev []struct {
			Sequence int64
			Typename string `json:"__typename"`
			Action   *struct{ Kind, Symbol, Ratio, AppliedAt string }
		}
	}
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("decode %s: %v", data, err)
	}
	return room, out.Ev, true
}

func checkCorporateEvents(c *authzCell) {
	room, evs, ok := c.splitLog()
	if !ok {
		return
	}
	var got []int64
	for _, e := range evs {
		if e.Typename == "CorporateActionEvent" {
			got = append(got, e.Sequence)
			if a := e.Action; a == nil || a.Kind != "SPLIT" || a.Symbol != "TSLA" || !decimalIs(&a.Ratio, "2") || a.AppliedAt == "" {
				c.t.Errorf("event %d: action %+v, want the applied TSLA split of 2", e.Sequence, a)
			}
		}
	}
	if want := corporateEvents(room); !slices.Equal(got, want) {
		c.t.Errorf("CorporateActionEvents at %v, want %v", got, want)
	}
}

func checkSplitPositionEvents(c *authzCell) {
	room, evs, ok := c.splitLog()
	if !ok {
		return
	}
	corp := corporateEvents(room)[0]
	var got []int64
	for _, e := range evs {
		if e.Typename == "PositionEvent" && e.Sequence > corp {
			got = append(got, e.Sequence)
		}
	}
	var want []int64
	for _, l := range splitPositionEvents(room) {
		seq, class, _ := strings.Cut(l, " ")
		if slices.Contains(strings.Fields(c.want), class) {
			n, _ := strconv.ParseInt(seq, 10, 64)
			want = append(want, n)
		}
	}
	if !slices.Equal(got, want) {
		c.t.Errorf("PositionEvents after the split at %v, want %v (%s)", got, want, c.want)
	}
}

func checkCorporateActionsQuery(c *authzCell) {
	r := c.do(`{ corporateActions(symbol: "tsla") { totalCount edges { node { kind symbol ratio appliedAt } } } }`, nil)
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want the TSLA split", r.Errors)
	}
	var out struct {
		CorporateActions struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Kind, Symbol, Ratio, AppliedAt string }
			}
		}
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		c.t.Fatal(err)
	}
	ca := out.CorporateActions
	if ca.TotalCount != 1 || len(ca.Edges) != 1 || ca.Edges[0].Node.Kind != "SPLIT" || ca.Edges[0].Node.AppliedAt == "" {
		c.t.Errorf("corporateActions(TSLA) %s, want the one applied split", r.Data)
	}
}

// checkAnnounceCorporate announces a split (ratio) or a dividend (amount) of KO
// with a number unique to the cell, a day ahead, and finds it stored
// exactly when the cell allows it.
func checkAnnounceCorporate(what string) func(c *authzCell) {
	return func(c *authzCell) {
		n := strconv.Itoa(2 + 10*int(c.kind) + int(c.role))
		at := fmtTime(c.ts.clock.Now().Add(24 * 60 * 60 * 1e9))
		query := `mutation($n: Decimal!, $at: Time!) { m: announceSplit(symbol: "KO", ratio: $n, exDate: $at) { kind ratio } }`
		if what == "dividend" {
			query = `mutation($n: Decimal!, $at: Time!) { m: announceDividend(symbol: "KO", amountPerShare: $n, exDate: $at, payDate: $at) { kind amountPerShare } }`
		}
		_, errs := c.mutate(query, map[string]any{"n": n, "at": at})
		if c.want == allowed {
			if len(errs) > 0 {
				c.t.Fatalf("errors %+v, want the %s announced", errs, what)
			}
		} else {
			c.expectError(errs, "", nil)
		}
		as, _, err := c.w.store.CorporateActions(c.t.Context(), game.CorporateActionFilter{Symbol: "KO", Limit: 1000})
		if err != nil {
			c.t.Fatal(err)
		}
		stored := slices.ContainsFunc(as, func(a *game.CorporateAction) bool {
			v := a.Ratio
			if what == "dividend" {
				v = a.AmountPerShare
			}
			return v != nil && v.Equal(decimal.RequireFromString(n))
		})
		if stored != (c.want == allowed) {
			c.t.Errorf("%s of %s stored: %v (%s)", what, n, stored, c.want)
		}
	}
}
