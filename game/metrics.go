package game

import (
	"math/big"
	"time"

	"github.com/shopspring/decimal"
)

// Risk and performance from a participant's valuation history: the
// portfolio values of the leaderboard snapshots they appear in.
//
// The history starts at the starting cash (the value at joining) and takes
// one observation per snapshot once the room has started (SCHEDULED rooms'
// snapshots are not observed). Every figure is exact Decimal arithmetic:
//
//   - totalReturn, returnPercent: as on the leaderboard (value - starting
//     cash; that over starting cash x 100, 4 places).
//   - per-snapshot return r_i = (V_i - V_(i-1)) / V_(i-1), rounded half-even
//     to ReturnPlaces; a step from a value <= 0 gives no return.
//   - maxDrawdownPercent: the largest (peak - V)/peak x 100 over the
//     history, peak being the highest value so far (starting cash
//     included), each rounded half-even to 4 places; 0 when the value
//     never fell.
//   - volatilityPercent: the sample standard deviation of the returns
//     (n - 1 in the denominator) x 100, per snapshot, not annualised: every
//     participant of a room is observed at the same snapshots, so figures
//     compare within a room. The variance is exact; its square root is
//     truncated to SqrtPlaces (integer square root of the scaled variance),
//     then x 100 is rounded half-even to 4 places. Null with fewer than 2
//     returns.
//   - sharpeRatio: mean return / that standard deviation (risk-free rate
//     0, same period), rounded half-even to 4 places. Null with fewer than
//     2 returns or a standard deviation of 0.
//   - tradeCount: fills. winRate: the share of closing fills (fills that
//     reduce or close a position) with a positive realized P&L, as a
//     percentage (0-100, 4 places); null before the first closing fill.
//
// Only running aggregates are kept (Track), updated in the transaction of
// each snapshot and each fill, so every figure is O(1) per participant.

// ReturnPlaces is the precision of each per-snapshot return; SqrtPlaces
// that of the standard deviation (truncated) the ratios are computed from.
const (
	ReturnPlaces = 10
	SqrtPlaces   = 12
)

// RankMetric is what a room ranks its leaderboard by.
type RankMetric string

const (
	RankReturn RankMetric = "RETURN"
	RankSharpe RankMetric = "SHARPE"
)

// Track is a participant's running aggregates: everything the metrics need
// without re-reading the history.
type Track struct {
	ParticipantID int64 `db:"participant_id"`
	// Observed counts the snapshot values taken in; while it is 0, Peak
	// and LastValue are the starting cash (see Fresh).
	Observed           int64           `db:"observed"`
	Returns            int64           `db:"returns"`
	SumReturns         decimal.Decimal `db:"sum_returns"`
	SumSquares         decimal.Decimal `db:"sum_squares"`
	Peak               decimal.Decimal `db:"peak"`
	LastValue          decimal.Decimal `db:"last_value"`
	MaxDrawdownPercent decimal.Decimal `db:"max_drawdown_percent"`
	Fills              int64           `db:"fills"`
	ClosingFills       int64           `db:"closing_fills"`
	Wins               int64           `db:"wins"`
}

// Fresh returns t with the starting cash as its last value and peak when it
// has observed nothing yet.
func (t Track) Fresh(startingCash decimal.Decimal) Track {
	if t.Observed == 0 {
		t.Peak, t.LastValue = startingCash, startingCash
	}
	return t
}

// Observe returns t after the next snapshot value (t must be Fresh).
func (t Track) Observe(value decimal.Decimal) Track {
	if t.LastValue.IsPositive() {
		r := divRoundHalfEven(value.Sub(t.LastValue), t.LastValue, ReturnPlaces)
		t.Returns++
		t.SumReturns = t.SumReturns.Add(r)
		t.SumSquares = t.SumSquares.Add(r.Mul(r))
	}
	if value.GreaterThan(t.Peak) {
		t.Peak = value // a new peak: no drawdown now
	} else if value.LessThan(t.Peak) && t.Peak.IsPositive() {
		dd := divRoundHalfEven(t.Peak.Sub(value).Mul(hundred), t.Peak, MoneyPlaces)
		if dd.GreaterThan(t.MaxDrawdownPercent) {
			t.MaxDrawdownPercent = dd
		}
	}
	t.LastValue = value
	t.Observed++
	return t
}

// PerformanceMetrics are a participant's risk and performance figures
// (see the top of this file for their definitions).
type PerformanceMetrics struct {
	TotalReturn        decimal.Decimal  `json:"totalReturn"`
	ReturnPercent      decimal.Decimal  `json:"returnPercent"`
	MaxDrawdownPercent decimal.Decimal  `json:"maxDrawdownPercent"`
	VolatilityPercent  *decimal.Decimal `json:"volatilityPercent"`
	SharpeRatio        *decimal.Decimal `json:"sharpeRatio"`
	TradeCount         int              `json:"tradeCount"`
	WinRate            *decimal.Decimal `json:"winRate"`
}

// Metrics computes the figures of t, with the return of value against
// startingCash.
func (t Track) Metrics(value, startingCash decimal.Decimal) PerformanceMetrics {
	m := PerformanceMetrics{
		TotalReturn:        TotalReturn(value, startingCash),
		ReturnPercent:      ReturnPercent(value, startingCash),
		MaxDrawdownPercent: t.MaxDrawdownPercent,
		TradeCount:         int(min(t.Fills, 1<<31-1)),
	}
	if t.ClosingFills > 0 {
		w := divRoundHalfEven(decimal.NewFromInt(t.Wins*100), decimal.NewFromInt(t.ClosingFills), MoneyPlaces)
		m.WinRate = &w
	}
	if t.Returns < 2 {
		return m
	}
	sd := stddev(t.Returns, t.SumReturns, t.SumSquares)
	vol := sd.Mul(hundred).RoundBank(MoneyPlaces)
	m.VolatilityPercent = &vol
	if sd.IsPositive() {
		// mean / sd = sum / (n * sd)
		sharpe := divRoundHalfEven(t.SumReturns, sd.Mul(decimal.NewFromInt(t.Returns)), MoneyPlaces)
		m.SharpeRatio = &sharpe
	}
	return m
}

// stddev is the sample standard deviation of n >= 2 values with the given
// sum and sum of squares, truncated to SqrtPlaces: the variance
// (n*sumSq - sum^2) / (n(n-1)) is exact, and floor(sqrt(floor(x))) =
// floor(sqrt(x)) lets the integer square root of the variance scaled by
// 10^(2*SqrtPlaces) give the truncated root exactly.
func stddev(n int64, sum, sumSq decimal.Decimal) decimal.Decimal {
	nd := decimal.NewFromInt(n)
	num := nd.Mul(sumSq).Sub(sum.Mul(sum))
	if !num.IsPositive() {
		return decimal.Zero
	}
	// num / (n(n-1)) * 10^(2P), as an integer (floor): num = c * 10^e.
	scaled := num.Shift(2 * SqrtPlaces)
	c := new(big.Int).Set(scaled.Coefficient())
	if e := scaled.Exponent(); e > 0 {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
	} else if e < 0 {
		c.Quo(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-e)), nil))
	}
	c.Quo(c, new(big.Int).Mul(big.NewInt(n), big.NewInt(n-1)))
	return decimal.NewFromBigInt(c.Sqrt(c), -SqrtPlaces)
}

// EquityPoint is a participant's portfolio value at one snapshot.
type EquityPoint struct {
	At             time.Time       `db:"at"`
	PortfolioValue decimal.Decimal `db:"portfolio_value"`
}

// MaxEquityPoints bounds equityHistory's points argument.
const MaxEquityPoints = 1000

// Downsample keeps at most n points of ps (oldest first) for a chart by
// bucket last-value: the first and last points stay; the points between
// are split in order into n-2 buckets of (nearly) equal count and each
// bucket keeps its last point. Fewer than n points come back as they are.
func Downsample(ps []EquityPoint, n int) []EquityPoint {
	if len(ps) <= n {
		return ps
	}
	if n == 1 {
		return ps[len(ps)-1:]
	}
	out := make([]EquityPoint, 0, n)
	out = append(out, ps[0])
	inner := ps[1 : len(ps)-1]
	buckets := n - 2
	for b := range buckets {
		// Bucket b holds inner[b*len/buckets : (b+1)*len/buckets].
		end := (b + 1) * len(inner) / buckets
		out = append(out, inner[end-1])
	}
	return append(out, ps[len(ps)-1])
}
