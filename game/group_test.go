package game_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestConcurrentOrdersAcrossRooms races orders in several rooms and
// symbols (so that they share transactions: group commit) against price
// moves that fill resting orders in several rooms at once. No caller may
// see an error that is not its own (a deadlock, a failure of another order
// in its batch), and every room's books and log must add up.
func TestConcurrentOrdersAcrossRooms(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			raceRooms(t, openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0)))
		})
	}
}

func raceRooms(t *testing.T, h *harness) {
	const rooms, traders, ordersEach, ticks = 6, 4, 25, 150
	symbols := []string{"AAPL", "MSFT", "NVDA"}
	owner, outsider := h.user("owner"), h.user("outsider")
	type seat struct {
		user *game.User
		room int64
	}
	var (
		seats   []seat
		roomIDs []int64
	)
	for r := range rooms {
		players := make([]*game.User, traders)
		for i := range players {
			players[i] = h.user(fmt.Sprintf("trader%d-%d", r, i))
		}
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("20000") }, players...)
		roomIDs = append(roomIDs, room.ID)
		for _, p := range players {
			seats = append(seats, seat{p, room.ID})
		}
	}
	for _, sym := range symbols {
		h.price(sym, "60")
	}
	batches0, changes0 := h.store.GroupCommits()

	var wg sync.WaitGroup
	for n, s := range seats {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			var open []int64
			for range ordersEach {
				in := buy(s.room, symbols[rng.IntN(len(symbols))], int64(1+rng.IntN(40)))
				if rng.IntN(2) == 0 {
					in.Side = game.SideSell
				}
				if rng.IntN(2) == 0 {
					in = limit(in, fmt.Sprintf("%d.%02d", 40+rng.IntN(40), rng.IntN(100)))
				}
				o, err := h.svc.PlaceOrder(h.ctx, s.user, in)
				if err != nil {
					t.Errorf("place %+v: %v", in, err)
					return
				}
				if o.Status == game.OrderStatusOpen {
					open = append(open, o.ID)
				}
				if len(open) > 0 && rng.IntN(3) == 0 {
					_, err := h.svc.CancelOrder(h.ctx, s.user, open[rng.IntN(len(open))])
					if err != nil && game.ErrorCode(err) != game.ECONFLICT {
						t.Errorf("cancel: %v", err)
					}
				}
			}
		})
	}
	// Orders that fail inside the shared transaction: their batches'
	// other orders must not notice.
	wg.Go(func() {
		for i := range rooms * 10 {
			_, err := h.svc.PlaceOrder(h.ctx, outsider, buy(roomIDs[i%rooms], "AAPL", 1))
			if game.ErrorCode(err) != game.EFORBIDDEN {
				t.Errorf("outsider's order: %v, want FORBIDDEN", err)
			}
		}
	})
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(42, 1))
		for range ticks {
			price := decimal.New(int64(4000+rng.IntN(4000)), -2)
			if _, err := h.svc.Tick(h.ctx, symbols[rng.IntN(len(symbols))], price); err != nil {
				t.Errorf("tick: %v", err)
			}
		}
	})
	wg.Wait()
	batches, changes := h.store.GroupCommits()
	t.Logf("%d orders and cancels in %d shared transactions", changes-changes0, batches-batches0)
	if changes-changes0 <= batches-batches0 {
		t.Errorf("%d changes in %d transactions: nothing was grouped", changes-changes0, batches-batches0)
	}
	for _, room := range roomIDs {
		h.checkBooks(room)
	}
	// A price and the fills it triggers are one step: no order rests
	// across the last price of its symbol.
	for _, sym := range symbols {
		q, err := h.store.Quote(h.ctx, sym)
		if err != nil {
			t.Fatal(err)
		}
		open, err := h.store.OpenOrdersBySymbol(h.ctx, sym)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range open {
			if o.Side == game.SideBuy && !q.Price.GreaterThan(*o.LimitPrice) || o.Side == game.SideSell && !q.Price.LessThan(*o.LimitPrice) {
				t.Errorf("order %d (%s %s limit %s) rests OPEN at price %s", o.ID, o.Side, sym, o.LimitPrice, q.Price)
			}
		}
	}
}

// checkBooks checks a room once trading has stopped: a gap-free log whose
// order events match each order's life, cash equal to the fills to the
// cent and never negative, positions equal to the fills.
func (h *harness) checkBooks(roomID int64) {
	t := h.t
	t.Helper()
	room, err := h.store.BullPen(h.ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	events := h.events(roomID)
	if int64(len(events)) != room.LastSequence {
		t.Errorf("room %d: %d events, last sequence %d", roomID, len(events), room.LastSequence)
	}
	life := map[int64][]game.OrderEventKind{}
	for i, ev := range events {
		if ev.Sequence != int64(i+1) {
			t.Fatalf("room %d: event %d has sequence %d", roomID, i, ev.Sequence)
		}
		if ev.Kind == game.EventOrder {
			var p game.OrderPayload
			mustUnmarshal(t, ev.Payload, &p)
			life[p.Order.ID] = append(life[p.Order.ID], p.Kind)
		}
	}
	ps, err := h.store.Participants(h.ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		orders, _, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: roomID, ParticipantID: p.ID, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		cash := room.StartingCash
		held := map[string]int64{}
		for _, o := range orders {
			kinds := life[o.ID]
			if len(kinds) == 0 {
				t.Errorf("order %d (%s) has no event", o.ID, o.Status)
				continue
			}
			last := kinds[len(kinds)-1]
			want := map[game.OrderStatus]game.OrderEventKind{game.OrderStatusFilled: game.OrderEventFilled, game.OrderStatusOpen: game.OrderEventAccepted,
				game.OrderStatusRejected: game.OrderEventRejected, game.OrderStatusCancelled: game.OrderEventCancelled}[o.Status]
			if last != want || len(kinds) > 2 {
				t.Errorf("order %d is %s with events %v", o.ID, o.Status, kinds)
			}
			if o.Status == game.OrderStatusFilled {
				amount := o.FilledPrice.Mul(decimal.NewFromInt(o.FilledQuantity))
				if o.Side == game.SideBuy {
					cash, held[o.Symbol] = cash.Sub(amount), held[o.Symbol]+o.FilledQuantity
				} else {
					cash, held[o.Symbol] = cash.Add(amount), held[o.Symbol]-o.FilledQuantity
				}
				cash = cash.Sub(o.Commission)
			}
		}
		if p.Cash.IsNegative() || !cash.Equal(p.Cash) {
			t.Errorf("participant %d: cash %s, fills say %s", p.ID, p.Cash, cash)
		}
		positions, err := h.store.Positions(h.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, pos := range positions {
			if pos.Quantity != held[pos.Symbol] || pos.Quantity < 0 {
				t.Errorf("participant %d %s: position %d, fills say %d", p.ID, pos.Symbol, pos.Quantity, held[pos.Symbol])
			}
		}
	}
	h.checkLedger(roomID)
}
