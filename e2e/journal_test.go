package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestTradeJournalOverGraphQL: the trade journal as clients see it, on
// both engines. requireNote is read back (false when left out); in a room
// that requires notes an order without one, or with only spaces, is
// BAD_USER_INPUT naming note and leaves nothing (no order, no event);
// a note too long or with an escape sequence is refused in any room; a
// note is answered trimmed by placeOrder and read back on the order.
func TestTradeJournalOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playTradeJournal(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playTradeJournal(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	create := func(extra map[string]any) string {
		in := map[string]any{"name": "Journal", "endsAt": fmtTime(t0.Add(time.Hour))}
		for k, v := range extra {
			in[k] = v
		}
		var out struct{ CreateBullPen struct{ ID string } }
		ts.must(owner, `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id } }`, map[string]any{"in": in}, &out)
		ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": out.CreateBullPen.ID}, nil)
		return out.CreateBullPen.ID
	}
	journal, free := create(map[string]any{"requireNote": true}), create(nil)
	type state struct {
		BullPen struct {
			RequireNote  bool
			LastSequence int
			Orders       struct{ TotalCount int }
		}
	}
	read := func(room string) state {
		var s state
		ts.must(owner, `query($id: ID!) { bullPen(id: $id) { requireNote lastSequence orders { totalCount } } }`, map[string]any{"id": room}, &s)
		return s
	}
	var spectator struct{ BullPen struct{ RequireNote bool } }
	ts.must("", `query($id: ID!) { bullPen(id: $id) { requireNote } }`, map[string]any{"id": journal}, &spectator)
	if !spectator.BullPen.RequireNote || read(free).BullPen.RequireNote {
		t.Errorf("requireNote read back %v (a spectator, the journal room) and %v (left out)", spectator.BullPen.RequireNote, read(free).BullPen.RequireNote)
	}

	const place = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status note } }`
	order := func(room string, note any) map[string]any {
		in := map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": 1}
		if note != nil {
			in["note"] = note
		}
		return map[string]any{"in": in}
	}
	before := read(journal)
	for _, c := range []struct {
		room string
		note any
		says string
	}{
		{journal, nil, "required"},
		{journal, "  \n ", "required"},
		{free, strings.Repeat("n", 501), "at most 500"},
		{free, "buy \x1b[2Jnow", "control characters"},
	} {
		e := ts.fails(alice, place, order(c.room, c.note), game.EINVALID)
		if e.Extensions["field"] != "note" || !strings.Contains(e.Message, c.says) {
			t.Errorf("note %q: error %q (field %v), want one naming note that says %q", c.note, e.Message, e.Extensions["field"], c.says)
		}
	}
	if after := read(journal); after != before {
		t.Errorf("refused orders left %+v, before %+v", after.BullPen, before.BullPen)
	}
	if s := read(free).BullPen; s.Orders.TotalCount != 0 {
		t.Errorf("refused notes stored %d orders", s.Orders.TotalCount)
	}

	var placed struct {
		PlaceOrder struct{ ID, Status, Note string }
	}
	ts.must(alice, place, order(journal, "  momentum, earnings next week\n"), &placed)
	if placed.PlaceOrder.Status != "FILLED" || placed.PlaceOrder.Note != "momentum, earnings next week" {
		t.Errorf("placed %+v, want FILLED with the note trimmed", placed.PlaceOrder)
	}
	var mine struct {
		BullPen struct {
			Orders struct {
				Edges []struct{ Node struct{ ID, Note string } }
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders { edges { node { id note } } } } }`, map[string]any{"id": journal}, &mine)
	if e := mine.BullPen.Orders.Edges; len(e) != 1 || e[0].Node.ID != placed.PlaceOrder.ID || e[0].Node.Note != placed.PlaceOrder.Note {
		t.Errorf("alice's orders %+v, want %s with its note", e, placed.PlaceOrder.ID)
	}
}
