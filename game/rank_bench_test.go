package game_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
)

// BenchmarkRank10000 ranks 10,000 participants holding three positions
// each: the pure part of every leaderboard snapshot of a large room.
func BenchmarkRank10000(b *testing.B) {
	standings := make([]game.Standing, 10_000)
	for i := range standings {
		s := game.Standing{ParticipantID: int64(i + 1), UserID: int64(i + 1), JoinedAt: t0.Add(time.Duration(i%97) * time.Second),
			Cash: decimal.New(int64(50_000+i%1000), 0)}
		for j, sym := range []string{"AAPL", "MSFT", "NVDA"} {
			qty := int64((i*7+j*13)%200 + 1)
			price := decimal.RequireFromString(fmt.Sprintf("%d.%02d", 100+j*50, i%100))
			s.Positions = append(s.Positions, game.Position{Symbol: sym, Quantity: qty, CostBasis: price.Mul(decimal.NewFromInt(qty)),
				RealizedPnL: decimal.Zero, MarketPrice: price.Add(decimal.New(int64(i%7), -1))})
		}
		standings[i] = s
	}
	start := decimal.New(100_000, 0)
	for b.Loop() {
		if got := game.Rank(start, standings); len(got) != len(standings) {
			b.Fatalf("%d entries", len(got))
		}
	}
}
