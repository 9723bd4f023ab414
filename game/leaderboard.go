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
	// Track is the participant's history so far (zero: none yet).
	Track Track
}

// Rank ranks by return (RankBy with RankReturn), observing each value.
func Rank(startingCash decimal.Decimal, standings []Standing) []LeaderboardEntry {
	return RankBy(RankReturn, startingCash, standings, true)
}

// RankBy orders participants, ties sharing a rank with standard
// competition ranking (1, 1, 3):
//   - RankReturn: by portfolio value, highest first;
//   - RankSharpe: by sharpeRatio, highest first, participants without one
//     last; then by portfolio value. A tie is equal on both.
//
// Within a tie, entries are ordered by JoinedAt then ParticipantID so the
// output is deterministic. It fills PortfolioValue, Cash, TotalReturn,
// ReturnPercent and Metrics of each LeaderboardEntry against startingCash;
// when observe is true each standing's Track takes the value as its next
// observation first, and the entry's Track is the result (the caller
// stores it). Pure: it does not modify its input. It returns an empty,
// non-nil slice when there are no standings.
func RankBy(by RankMetric, startingCash decimal.Decimal, standings []Standing, observe bool) []LeaderboardEntry {
	entries := make([]LeaderboardEntry, len(standings))
	joined := make([]time.Time, len(standings))
	for i, s := range standings {
		value := PortfolioValue(s.Cash, s.Positions)
		track := s.Track.Fresh(startingCash)
		if observe {
			track = track.Observe(value)
		}
		track.ParticipantID = s.ParticipantID
		m := track.Metrics(value, startingCash)
		entries[i] = LeaderboardEntry{
			ParticipantID:  s.ParticipantID,
			UserID:         s.UserID,
			PortfolioValue: value,
			Cash:           s.Cash,
			TotalReturn:    m.TotalReturn,
			ReturnPercent:  m.ReturnPercent,
			Metrics:        m,
			Track:          track,
		}
		joined[i] = s.JoinedAt
	}

	// Sort on keys computed once: decimal.Cmp rescales (and allocates) on
	// every comparison, which made it most of the cost of a large room.
	values := make([]decimal.Decimal, len(entries))
	for i, e := range entries {
		values[i] = e.PortfolioValue
	}
	keys := sortKeys(values)
	// For SHARPE: hasSharpe first, then the ratio, then the value.
	var sharpe valueKeys
	has := make([]bool, len(entries))
	if by == RankSharpe {
		ratios := make([]decimal.Decimal, len(entries))
		for i, e := range entries {
			if e.Metrics.SharpeRatio != nil {
				has[i], ratios[i] = true, *e.Metrics.SharpeRatio
			}
		}
		sharpe = sortKeys(ratios)
	}
	primary := func(a, b int) int {
		if by == RankSharpe {
			if has[a] != has[b] {
				if has[a] {
					return 1
				}
				return -1
			}
			if has[a] {
				if c := sharpe.cmp(a, b); c != 0 {
					return c
				}
			}
		}
		return keys.cmp(a, b)
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := primary(a, b); c != 0 {
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
		if i > 0 && primary(idx, order[i-1]) == 0 {
			e.Rank = ranked[i-1].Rank
		} else {
			e.Rank = i + 1
		}
		ranked[i] = e
	}
	return ranked
}

// valueKeys are decimals (portfolio values, ratios) scaled to one
// exponent: int64s when every value fits, big.Ints otherwise.
type valueKeys struct {
	small []int64
	large []*big.Int
}

func sortKeys(values []decimal.Decimal) valueKeys {
	exp := int32(0)
	for _, v := range values {
		exp = min(exp, v.Exponent())
	}
	large := make([]*big.Int, len(values))
	fits := true
	for i, v := range values {
		large[i] = v.Shift(-exp).BigInt()
		fits = fits && large[i].IsInt64()
	}
	if !fits {
		return valueKeys{large: large}
	}
	small := make([]int64, len(values))
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
