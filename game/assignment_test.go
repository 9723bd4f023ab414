package game_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// classAssignments are the assignments of the scripted room below.
var classAssignments = []game.AssignmentInput{
	{Kind: game.AssignmentOrdersOfType, Count: 2, OrderType: ptr(game.OrderTypeLimit)},
	{Kind: game.AssignmentOrdersOfType, Count: 3, OrderType: ptr(game.OrderTypeMarket)},
	{Kind: game.AssignmentDistinctSymbols, Count: 3},
	{Kind: game.AssignmentNotesWritten, Count: 2},
	{Kind: game.AssignmentMaxDrawdownBelow, Count: 5},
}

// progressOf renders a participant's progress as the owner sees it,
// "done/required met" per assignment: "2/2 true".
func (h *harness) progressOf(owner *game.User, roomID int64, p *game.Participant) string {
	h.t.Helper()
	v, err := h.svc.View(h.ctx, owner, roomID)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := v.AssignmentProgress(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	ps, ok := b.Of(p.ID)
	if !ok {
		h.t.Fatalf("%s may not see participant %d's progress", owner.Username, p.ID)
	}
	out := make([]string, len(ps))
	for i, g := range ps {
		if g.Kind != b.Assignments[i].Kind || g.Required != b.Assignments[i].Count {
			h.t.Errorf("progress %d is %s of %d, assignment %s of %d", i, g.Kind, g.Required, b.Assignments[i].Kind, b.Assignments[i].Count)
		}
		out[i] = fmt.Sprintf("%d/%d %t", g.Done, g.Required, g.Met)
	}
	return strings.Join(out, ", ")
}

// TestAssignmentsHandComputed plays a scripted class on both engines and
// checks each assignment's progress against this hand-computed log.
//
// Starting cash 1000000, shorts allowed, one order filling at most 10% of
// a tick's volume (10000: 1000 shares), FRICTIONLESS otherwise (fills at
// the price). Prices AAPL 100, MSFT 200, KO 50, GOOGL 150. Assignments:
// LIMIT orders filled >= 2, MARKET >= 3, 3 symbols at once, 2 notes,
// drawdown below 5%.
//
// alice (L: LIMIT filled, M: MARKET filled, held: symbols held after)
//
//	1 buy 10 AAPL MARKET, note "entry"   FILLED     M1      held AAPL            1  notes 1
//	2 buy 5 MSFT MARKET                  FILLED     M2      held AAPL MSFT       2
//	3 sell 10 AAPL MARKET                FILLED     M3      held MSFT            1
//	4 sell 4 KO LIMIT 49 (a short)       FILLED 50  L1      held MSFT KO         2
//	5 buy 1 AAPL LIMIT 90, note "dip"    OPEN, then cancelled                       notes 2
//	6 buy 3 GOOGL MARKET                 FILLED     M4      held MSFT KO GOOGL   3
//	7 buy 4 KO LIMIT 51 (cover)          FILLED 50  L2      held MSFT GOOGL      2
//	8 buy 100000 AAPL MARKET, note "yolo"  REJECTED (10000000 > cash)               notes 3
//
// Four symbols traded, at most three held at once (and two at the end):
// LIMIT 2/2 met, MARKET 4/3 met (not capped), symbols 3/3 met, notes 3/2
// met. Every fill at the price, so her value stays 1000000: drawdown 0,
// done 0 of 5, met.
//
// bob buys 1500 AAPL MARKET: 1000 fill, PARTIALLY_FILLED, which counts
// for no MARKET order yet (0/3) while he holds one symbol; the next AAPL
// price at 100 fills the other 500: FILLED, MARKET 1/3. Cash 850000. AAPL
// at 72 and a snapshot: value 850000 + 1500 x 72 = 958000, drawdown
// 42000/1000000 = 4.2%: done 5 (rounded up), met (4.2 < 5). AAPL at 60:
// 940000, 6%: done 6, not met.
func TestAssignmentsHandComputed(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			for sym, p := range map[string]string{"AAPL": "100", "MSFT": "200", "KO": "50", "GOOGL": "150"} {
				h.price(sym, p)
			}
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling = decp("1000000"), ptr(true)
				in.Execution = &game.ExecutionInput{VolumeLimitPercent: decp("10")}
				in.Assignments = classAssignments
			}, alice, bob)
			pa, pb := h.participant(room.ID, alice), h.participant(room.ID, bob)
			if got := h.progressOf(owner, room.ID, pa); got != "0/2 false, 0/3 false, 0/3 false, 0/2 false, 0/5 true" {
				t.Errorf("alice before trading: %s", got)
			}

			order := func(u *game.User, in game.PlaceOrderInput, note string, want game.OrderStatus) *game.Order {
				t.Helper()
				in.BullPenID = room.ID
				if note != "" {
					in.Note = ptr(note)
				}
				o := h.order(u, in)
				if o.Status != want {
					t.Fatalf("%s's %s %d %s: %s, want %s", u.Username, o.Side, o.Quantity, o.Symbol, o.Status, want)
				}
				return o
			}
			order(alice, buy(0, "AAPL", 10), "entry", game.OrderStatusFilled)
			order(alice, buy(0, "MSFT", 5), "", game.OrderStatusFilled)
			order(alice, sell(0, "AAPL", 10), "", game.OrderStatusFilled)
			order(alice, limit(sell(0, "KO", 4), "49"), "", game.OrderStatusFilled)
			dip := order(alice, limit(buy(0, "AAPL", 1), "90"), "dip", game.OrderStatusOpen)
			if _, err := h.svc.CancelOrder(h.ctx, alice, dip.ID); err != nil {
				t.Fatal(err)
			}
			if got := h.progressOf(owner, room.ID, pa); got != "1/2 false, 3/3 true, 2/3 false, 2/2 true, 0/5 true" {
				t.Errorf("alice after her short: %s", got)
			}
			order(alice, buy(0, "GOOGL", 3), "", game.OrderStatusFilled)
			order(alice, limit(buy(0, "KO", 4), "51"), "", game.OrderStatusFilled)
			order(alice, buy(0, "AAPL", 100000), "yolo", game.OrderStatusRejected)
			if got := h.position(room.ID, alice, "KO").Quantity; got != 0 {
				t.Fatalf("alice's KO after covering: %d", got)
			}

			order(bob, buy(0, "AAPL", 1500), "", game.OrderStatusPartiallyFilled)
			if got := h.progressOf(owner, room.ID, pb); got != "0/2 false, 0/3 false, 1/3 false, 0/2 false, 0/5 true" {
				t.Errorf("bob part-filled: %s", got)
			}
			h.price("AAPL", "100")
			if h.lastOrder(room.ID).Status != game.OrderStatusFilled {
				t.Fatalf("bob's order after the next price: %s", h.lastOrder(room.ID).Status)
			}
			if got := h.progressOf(owner, room.ID, pb); got != "0/2 false, 1/3 false, 1/3 false, 0/2 false, 0/5 true" {
				t.Errorf("bob filled: %s", got)
			}

			for _, c := range []struct{ price, drawdown, bob string }{
				{"72", "4.2", "0/2 false, 1/3 false, 1/3 false, 0/2 false, 5/5 true"},
				{"60", "6", "0/2 false, 1/3 false, 1/3 false, 0/2 false, 6/5 false"},
			} {
				h.price("AAPL", c.price)
				h.clock.Advance(time.Second)
				if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
					t.Fatal(err)
				}
				track, err := h.store.Track(h.ctx, pb.ID)
				if err != nil {
					t.Fatal(err)
				}
				assertDec(t, "bob's maxDrawdownPercent at "+c.price, track.MaxDrawdownPercent, c.drawdown)
				if got := h.progressOf(owner, room.ID, pb); got != c.bob {
					t.Errorf("bob at AAPL %s: %s, want %s", c.price, got, c.bob)
				}
			}
			if got := h.progressOf(owner, room.ID, pa); got != "2/2 true, 4/3 true, 3/3 true, 3/2 true, 0/5 true" {
				t.Errorf("alice at the end: %s", got)
			}

			// Seen as the orders are: alice (trades PRIVATE) her own only,
			// a spectator nobody's.
			v, err := h.svc.View(h.ctx, alice, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			b, err := v.AssignmentProgress(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if own, ok := b.Of(pa.ID); !ok || len(own) != 5 || own[1].Done != 4 {
				t.Errorf("alice's own progress: %v, %t", own, ok)
			}
			if other, ok := b.Of(pb.ID); ok || other != nil {
				t.Errorf("alice sees bob's progress: %v", other)
			}
			anon, err := h.svc.View(h.ctx, nil, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			if b, err = anon.AssignmentProgress(h.ctx); err != nil || len(b.Assignments) != 5 {
				t.Fatalf("a spectator's board: %v, %v", b, err)
			}
			for _, p := range []*game.Participant{pa, pb} {
				if got, ok := b.Of(p.ID); ok || got != nil {
					t.Errorf("a spectator sees participant %d's progress: %v", p.ID, got)
				}
			}
		})
	}
}

// TestAssignmentSymbolsAcrossASplit: DISTINCT_SYMBOLS replays the
// positions with the splits applied between the fills. carol buys 10
// AAPL, AAPL splits 2 for 1 (20 shares), she sells 20 (none left) and
// buys MSFT: one symbol at a time, done 1. Replayed from the fills alone
// she would be 10 short of AAPL while holding MSFT: 2.
func TestAssignmentSymbolsAcrossASplit(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, carol, admin := h.user("owner"), h.user("carol"), h.admin()
			h.price("AAPL", "100")
			h.price("MSFT", "200")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.Assignments = []game.AssignmentInput{{Kind: game.AssignmentDistinctSymbols, Count: 2}}
			}, carol)
			h.order(carol, buy(room.ID, "AAPL", 10))
			h.clock.Advance(time.Second)
			h.split(admin, "AAPL", "2", h.clock.Now())
			h.applyActions()
			if got := h.position(room.ID, carol, "AAPL").Quantity; got != 20 {
				t.Fatalf("carol's AAPL after the split: %d", got)
			}
			h.clock.Advance(time.Second)
			h.order(carol, sell(room.ID, "AAPL", 20))
			h.order(carol, buy(room.ID, "MSFT", 1))
			if got := h.progressOf(owner, room.ID, h.participant(room.ID, carol)); got != "1/2 false" {
				t.Errorf("carol: %s, want 1/2 false", got)
			}
		})
	}
}

// TestAssignmentsSkipForcedOrders: a margin call's forced MARKET orders
// are the system's, not the player's, so ORDERS_OF_TYPE leaves them out
// (they are FILLED MARKET orders of the player in the log). dave shorts
// with a LIMIT order; AAPL jumps and his short is covered by a forced
// MARKET BUY: MARKET orders filled stay 0 of 1, LIMIT 1 of 1. Both
// engines.
func TestAssignmentsSkipForcedOrders(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, dave := h.user("owner"), h.user("dave")
			h.price("AAPL", "100")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling = decp("10000"), ptr(true)
				in.MaintenanceMarginPercent = decp("25")
				in.Assignments = []game.AssignmentInput{
					{Kind: game.AssignmentOrdersOfType, Count: 1, OrderType: ptr(game.OrderTypeMarket)},
					{Kind: game.AssignmentOrdersOfType, Count: 1, OrderType: ptr(game.OrderTypeLimit)},
				}
			}, dave)
			if o := h.order(dave, limit(sell(room.ID, "AAPL", 50), "100")); o.Status != game.OrderStatusFilled {
				t.Fatalf("short: %s", why(o))
			}
			h.price("AAPL", "250") // margin equity 15,000 - 12,500 < 25% of 12,500
			if liq := h.countLiquidations(room.ID); len(liq) != 1 {
				t.Fatalf("liquidations %v, want one forced order", liq)
			}
			if got := h.progressOf(owner, room.ID, h.participant(room.ID, dave)); got != "0/1 false, 1/1 true" {
				t.Errorf("dave: %s, want 0/1 false, 1/1 true", got)
			}
		})
	}
}

// TestAssignmentsStoredAndCloned: a room's assignments are read back in
// the order given (with the room they are created with), a room without
// gets none, and a clone carries them. Both engines.
func TestAssignmentsStoredAndCloned(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.user("owner")
			want := []game.Assignment{
				{Kind: game.AssignmentNotesWritten, Count: 4},
				{Kind: game.AssignmentOrdersOfType, Count: 1, OrderType: ptr(game.OrderTypeStop)},
				{Kind: game.AssignmentMaxDrawdownBelow, Count: 100},
				{Kind: game.AssignmentOrdersOfType, Count: 3, OrderType: ptr(game.OrderTypeLimit)},
			}
			room := h.room(owner, func(in *game.CreateBullPenInput) {
				for _, a := range want {
					in.Assignments = append(in.Assignments, game.AssignmentInput(a))
				}
			})
			plain := h.room(owner, nil)
			clone, err := h.svc.CloneBullPen(h.ctx, owner, room.ID, nil, room.EndsAt.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				id   int64
				want []game.Assignment
			}{{"room", room.ID, want}, {"plain", plain.ID, []game.Assignment{}}, {"clone", clone.ID, want}} {
				v, err := h.svc.View(h.ctx, nil, c.id)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.Assignments(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(render(got)) != fmt.Sprint(render(c.want)) || got == nil {
					t.Errorf("%s's assignments: %v, want %v", c.name, render(got), render(c.want))
				}
			}
		})
	}
}

func render(as []game.Assignment) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ColumnName(len(out)+1))
	}
	return out
}

// TestAssignmentValidation: bad assignments are BAD_USER_INPUT naming the
// field with its index, and no room is stored.
func TestAssignmentValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	set := func(as ...game.AssignmentInput) func(*game.CreateBullPenInput) {
		return func(in *game.CreateBullPenInput) { in.Assignments = as }
	}
	notes := func(n int) game.AssignmentInput {
		return game.AssignmentInput{Kind: game.AssignmentNotesWritten, Count: n}
	}
	orders := func(t game.OrderType, n int) game.AssignmentInput {
		return game.AssignmentInput{Kind: game.AssignmentOrdersOfType, Count: n, OrderType: &t}
	}
	many := make([]game.AssignmentInput, game.MaxAssignments+1)
	for i := range many {
		many[i] = orders(game.OrderType(fmt.Sprint(i)), 1)
	}
	assertCreateRefused(t, h, owner, []createCase{
		{"TooMany", set(many...), "assignments"},
		{"ZeroCount", set(notes(0)), "assignments[0].count"},
		{"SecondCountNegative", set(notes(1), game.AssignmentInput{Kind: game.AssignmentDistinctSymbols, Count: -1}), "assignments[1].count"},
		{"CountTooBig", set(notes(game.MaxAssignmentCount + 1)), "assignments[0].count"},
		{"DrawdownOver100", set(game.AssignmentInput{Kind: game.AssignmentMaxDrawdownBelow, Count: 101}), "assignments[0].count"},
		{"DrawdownZero", set(game.AssignmentInput{Kind: game.AssignmentMaxDrawdownBelow, Count: 0}), "assignments[0].count"},
		{"OrdersWithoutType", set(game.AssignmentInput{Kind: game.AssignmentOrdersOfType, Count: 1}), "assignments[0].orderType"},
		{"UnknownOrderType", set(orders("ICEBERG", 1)), "assignments[0].orderType"},
		{"TypeOnNotes", set(notes(1), game.AssignmentInput{Kind: game.AssignmentNotesWritten, Count: 1, OrderType: ptr(game.OrderTypeLimit)}), "assignments[1].orderType"},
		{"TypeOnDrawdown", set(game.AssignmentInput{Kind: game.AssignmentMaxDrawdownBelow, Count: 5, OrderType: ptr(game.OrderTypeMarket)}), "assignments[0].orderType"},
		{"UnknownKind", set(game.AssignmentInput{Kind: "PROFIT", Count: 1}), "assignments[0].kind"},
		{"DuplicateType", set(orders(game.OrderTypeLimit, 1), notes(2), orders(game.OrderTypeLimit, 3)), "assignments[2]"},
		{"DuplicateKind", set(notes(1), notes(2)), "assignments[1]"},
		{"MoreSymbolsThanAllowed", func(in *game.CreateBullPenInput) {
			in.AllowedSymbols = []string{"AAPL", "MSFT"}
			in.Assignments = []game.AssignmentInput{{Kind: game.AssignmentDistinctSymbols, Count: 3}}
		}, "assignments[0].count"},
	})
	rooms, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10})
	if err != nil || total != 0 || len(rooms) != 0 {
		t.Errorf("rooms stored: %d, %v", total, err)
	}

	// The bounds themselves are fine, as are two types of ORDERS_OF_TYPE
	// and as many symbols as the room allows.
	ok := []game.AssignmentInput{orders(game.OrderTypeLimit, game.MaxAssignmentCount), orders(game.OrderTypeMarket, 1),
		{Kind: game.AssignmentMaxDrawdownBelow, Count: 100}, {Kind: game.AssignmentDistinctSymbols, Count: 2}, notes(1)}
	room := h.room(owner, func(in *game.CreateBullPenInput) {
		in.AllowedSymbols = []string{"AAPL", "MSFT"}
		in.Assignments = ok
	})
	v, err := h.svc.View(h.ctx, owner, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Assignments(h.ctx); err != nil || len(got) != len(ok) ||
		!slices.EqualFunc(got, ok, func(a game.Assignment, b game.AssignmentInput) bool {
			return a.ColumnName(1) == game.Assignment(b).ColumnName(1)
		}) {
		t.Errorf("stored %v, %v; want %v", got, err, ok)
	}
}
