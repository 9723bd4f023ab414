package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestConcurrentOrdersKeepTheBooks fires many orders at once from several
// participants through /query (while prices move and orders are
// cancelled), then checks the books: no negative cash, cash equal to the
// fills to the cent, reservations covered, positions equal to the fills,
// a gap-free sequence, and exactly the events each order's life produced.
func TestConcurrentOrdersKeepTheBooks(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { raceOrders(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func raceOrders(t *testing.T, ts *testServer) {
	admin, owner := ts.signUpAdmin("admin"), ts.signUp("owner")
	const players, ordersEach = 6, 40
	tokens := make([]string, players)
	for i := range tokens {
		tokens[i] = ts.signUp(fmt.Sprintf("player%d", i))
	}
	symbols := []string{"AAPL", "MSFT", "NVDA"}
	ts.must(admin, `mutation { a: setQuote(symbol: "AAPL", price: "100") { price } b: setQuote(symbol: "MSFT", price: "50.5") { price } c: setQuote(symbol: "NVDA", price: "20.25") { price } }`, nil, nil)
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($s: Time!, $e: Time!) { createBullPen(input: {name: "Race", startsAt: $s, endsAt: $e, startingCash: "5000", commission: "0.35"}) { id } }`,
		map[string]any{"s": fmtTime(t0.Add(time.Hour)), "e": fmtTime(t0.Add(48 * time.Hour))}, &created)
	roomID := created.CreateBullPen.ID
	for _, tok := range tokens {
		ts.must(tok, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": roomID}, nil)
	}
	ts.must(owner, `mutation($id: ID!) { startBullPen(id: $id) { state } }`, map[string]any{"id": roomID}, nil)

	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`
	var wg sync.WaitGroup
	for p, tok := range tokens {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 7))
			var open []string
			for i := range ordersEach {
				in := map[string]any{"bullPenId": roomID, "symbol": symbols[rng.IntN(3)], "quantity": 1 + rng.IntN(30)}
				in["side"] = []string{"BUY", "SELL"}[rng.IntN(2)]
				switch rng.IntN(4) {
				case 1:
					in["type"], in["limitPrice"] = "LIMIT", fmt.Sprintf("%d.%02d", 15+rng.IntN(90), rng.IntN(100))
				case 2:
					in["type"], in["stopPrice"] = "STOP", fmt.Sprintf("%d", 15+rng.IntN(90))
				}
				if i%5 == 0 {
					in["clientOrderId"] = fmt.Sprintf("p%d-%d", p, i/10) // every other one repeats
				}
				r := ts.do(tok, place, map[string]any{"in": in})
				if len(r.Errors) > 0 {
					t.Errorf("place: %+v", r.Errors)
					return
				}
				var o struct{ PlaceOrder struct{ ID, Status string } }
				_ = json.Unmarshal(r.Data, &o)
				if o.PlaceOrder.Status == "OPEN" {
					open = append(open, o.PlaceOrder.ID)
				}
				if len(open) > 0 && rng.IntN(4) == 0 {
					id := open[rng.IntN(len(open))]
					r := ts.do(tok, `mutation($id: ID!) { cancelOrder(orderId: $id) { status } }`, map[string]any{"id": id})
					if len(r.Errors) > 0 && r.Errors[0].Extensions["code"] != game.ECONFLICT {
						t.Errorf("cancel: %+v", r.Errors)
					}
				}
			}
		})
	}
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(99, 1))
		for range 60 {
			price := fmt.Sprintf("%d.%02d", 15+rng.IntN(90), rng.IntN(100))
			r := ts.do(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`,
				map[string]any{"s": symbols[rng.IntN(3)], "p": price})
			if len(r.Errors) > 0 {
				t.Errorf("setQuote: %+v", r.Errors)
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	var id int64
	fmt.Sscan(roomID, &id)
	checkBooks(t, ts.openStore(t), id)
}

// checkBooks checks a room's books and event log once trading has stopped.
func checkBooks(t *testing.T, store game.Queries, roomID int64) {
	t.Helper()
	ctx := context.Background()
	room, err := store.BullPen(ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	events, err := store.Events(ctx, roomID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(events)) != room.LastSequence {
		t.Errorf("%d events, last sequence %d", len(events), room.LastSequence)
	}
	life := map[int64][]game.OrderEventKind{}
	for i, ev := range events {
		if ev.Sequence != int64(i+1) {
			t.Fatalf("event %d has sequence %d", i, ev.Sequence)
		}
		if ev.Kind == game.EventOrder {
			var p game.OrderPayload
			mustJSON(t, ev.Payload, &p)
			life[p.Order.ID] = append(life[p.Order.ID], p.Kind)
			if p.Kind == game.OrderEventFilled {
				if i+1 >= len(events) || events[i+1].Kind != game.EventPosition || *events[i+1].ParticipantID != p.Order.ParticipantID {
					t.Errorf("fill of order %d is not followed by its position event", p.Order.ID)
				}
			}
		}
	}
	ps, err := store.Participants(ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	fills := 0
	for _, p := range ps {
		orders, _, err := store.Orders(ctx, game.OrderFilter{BullPenID: roomID, ParticipantID: p.ID, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		cash := room.StartingCash
		reserved := decimal.Zero
		held := map[string]int64{}
		for _, o := range orders {
			want := []game.OrderEventKind{}
			switch o.Status {
			case game.OrderStatusFilled:
				fills++
				if o.Type == game.OrderTypeMarket || life[o.ID][0] == game.OrderEventFilled {
					want = append(want, game.OrderEventFilled)
				} else {
					want = append(want, game.OrderEventAccepted, game.OrderEventFilled)
				}
				amount := o.FilledPrice.Mul(decimal.NewFromInt(o.FilledQuantity))
				if o.Side == game.SideBuy {
					cash = cash.Sub(amount)
					held[o.Symbol] += o.FilledQuantity
				} else {
					cash = cash.Add(amount)
					held[o.Symbol] -= o.FilledQuantity
				}
				cash = cash.Sub(o.Commission)
			case game.OrderStatusRejected:
				if len(life[o.ID]) == 2 {
					want = append(want, game.OrderEventAccepted)
				}
				want = append(want, game.OrderEventRejected)
			case game.OrderStatusOpen:
				want = append(want, game.OrderEventAccepted)
				reserved = reserved.Add(o.Reserved)
			case game.OrderStatusCancelled:
				want = append(want, game.OrderEventAccepted, game.OrderEventCancelled)
			default:
				t.Errorf("order %d is %s", o.ID, o.Status)
			}
			if fmt.Sprint(life[o.ID]) != fmt.Sprint(want) {
				t.Errorf("order %d (%s %s) has events %v, want %v", o.ID, o.Type, o.Status, life[o.ID], want)
			}
		}
		if p.Cash.IsNegative() {
			t.Errorf("participant %d has negative cash %s", p.ID, p.Cash)
		}
		if !cash.Equal(p.Cash) {
			t.Errorf("participant %d: cash %s, fills say %s", p.ID, p.Cash, cash)
		}
		if reserved.GreaterThan(p.Cash) {
			t.Errorf("participant %d: %s reserved of %s cash", p.ID, reserved, p.Cash)
		}
		positions, _ := store.Positions(ctx, p.ID)
		for _, pos := range positions {
			if pos.Quantity != held[pos.Symbol] || pos.Quantity < 0 {
				t.Errorf("participant %d %s: position %d, fills say %d", p.ID, pos.Symbol, pos.Quantity, held[pos.Symbol])
			}
		}
	}
	if fills == 0 {
		t.Errorf("no order filled: the test exercised nothing")
	}
	t.Logf("%d events, %d fills checked", len(events), fills)
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
