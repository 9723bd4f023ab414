package game_test

import (
	"testing"

	"github.com/bullpen/bullpen/game"
)

// BenchmarkPlaceMarketOrder measures one market order end to end through
// the service on a real SQLite file: lock the room, check buying power,
// fill, write the order, cash, position and two events, commit.
func BenchmarkPlaceMarketOrder(b *testing.B) {
	h := newHarness(b)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice)
	h.price("AAPL", "100")
	side := []game.Side{game.SideBuy, game.SideSell}
	i := 0
	for b.Loop() {
		in := buy(room.ID, "AAPL", 1)
		in.Side = side[i%2]
		i++
		if o := h.order(alice, in); o.Status != game.OrderStatusFilled {
			b.Fatalf("order %s", o.Status)
		}
	}
}

// BenchmarkTickWithRestingOrders measures a price change that checks 200
// resting limit orders none of which it crosses.
func BenchmarkTickWithRestingOrders(b *testing.B) {
	h := newHarness(b)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice)
	h.price("AAPL", "100")
	for range 200 {
		h.order(alice, limit(buy(room.ID, "AAPL", 1), "50"))
	}
	prices := []string{"100.01", "100.02"}
	i := 0
	for b.Loop() {
		h.price("AAPL", prices[i%2])
		i++
	}
}

// BenchmarkTickFillingRestingOrders measures a price change that crosses
// and fills 50 resting limit buys of two participants (the orders are
// placed outside the timer, and the price moved back, each round).
func BenchmarkTickFillingRestingOrders(b *testing.B) {
	h := newHarness(b)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice, bob)
	h.price("AAPL", "100")
	for b.Loop() {
		b.StopTimer()
		for i := range 50 {
			who := alice
			if i%2 == 1 {
				who = bob
			}
			h.order(who, limit(buy(room.ID, "AAPL", 1), "99"))
		}
		b.StartTimer()
		h.price("AAPL", "98")
		b.StopTimer()
		h.price("AAPL", "100")
		b.StartTimer()
	}
}
