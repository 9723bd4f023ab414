package game

import (
	"cmp"
	"math/big"
	"slices"
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

	// Sort on keys computed once: decimal.Cmp rescales (and allocates) on
	// every comparison, which made it most of the cost of a large room.
	keys := sortKeys(entries)
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := keys.cmp(a, b); c != 0 {
			return -c
		}
		if c := joined[a].Compare(joined[b]); c != 0 {
			return c
		}
		return cmp.Compare(entries[a].ParticipantID, entries[b].ParticipantID)
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

// valueKeys are the entries' portfolio values scaled to one exponent:
// int64s when every value fits, big.Ints otherwise.
type valueKeys struct {
	small []int64
	large []*big.Int
}

func sortKeys(entries []LeaderboardEntry) valueKeys {
	exp := int32(0)
	for _, e := range entries {
		exp = min(exp, e.PortfolioValue.Exponent())
	}
	large := make([]*big.Int, len(entries))
	fits := true
	for i, e := range entries {
		large[i] = e.PortfolioValue.Shift(-exp).BigInt()
		fits = fits && large[i].IsInt64()
	}
	if !fits {
		return valueKeys{large: large}
	}
	small := make([]int64, len(entries))
	for i, k := range large {
		small[i] = k.Int64()
	}
	return valueKeys{small: small}
}

func (k valueKeys) cmp(a, b int) int {
	if k.small != nil {
		return cmp.Compare(k.small[a], k.small[b])
	}
	return k.large[a].Cmp(k.large[b])
}
