package game

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Standing is one participant's input to ranking.
type Standing struct {
	ParticipantID int64
	UserID        int64
	JoinedAt      time.Time
	Cash          decimal.Decimal
	Positions     []Position // MarketPrice set by the caller
}

// Rank orders participants by portfolio value, highest first, ties sharing a
// rank with standard competition ranking (1, 1, 3). Within a tie, entries
// are ordered by JoinedAt then ParticipantID so the output is
// deterministic. It fills PortfolioValue, Cash, TotalReturn and
// ReturnPercent of each LeaderboardEntry against startingCash. Pure: it
// does not modify its input. It returns an empty, non-nil slice when there
// are no standings.
func Rank(startingCash decimal.Decimal, standings []Standing) []LeaderboardEntry {
	entries := make([]LeaderboardEntry, len(standings))
	joined := make([]time.Time, len(standings))
	for i, s := range standings {
		value := PortfolioValue(s.Cash, s.Positions)
		entries[i] = LeaderboardEntry{
			ParticipantID:  s.ParticipantID,
			UserID:         s.UserID,
			PortfolioValue: value,
			Cash:           s.Cash,
			TotalReturn:    TotalReturn(value, startingCash),
			ReturnPercent:  ReturnPercent(value, startingCash),
		}
		joined[i] = s.JoinedAt
	}

	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ea, eb := entries[order[a]], entries[order[b]]
		if c := ea.PortfolioValue.Cmp(eb.PortfolioValue); c != 0 {
			return c > 0
		}
		if c := joined[order[a]].Compare(joined[order[b]]); c != 0 {
			return c < 0
		}
		return ea.ParticipantID < eb.ParticipantID
	})

	ranked := make([]LeaderboardEntry, len(entries))
	for i, idx := range order {
		e := entries[idx]
		if i > 0 && e.PortfolioValue.Equal(ranked[i-1].PortfolioValue) {
			e.Rank = ranked[i-1].Rank
		} else {
			e.Rank = i + 1
		}
		ranked[i] = e
	}
	return ranked
}
