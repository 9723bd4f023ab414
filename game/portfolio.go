package game

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// MoneyPlaces is the number of decimal places money amounts derived by
// division (removed cost, average cost, return percent) are rounded to.
const MoneyPlaces = 4

// ApplyFill returns the position after a fill of qty shares (qty > 0) on
// side at price, and the profit realized by this fill (zero when it only
// opens or adds to the position).
//
// Rules:
//   - Adding to a position in the same direction (or opening from flat):
//     Quantity moves by qty (BUY +, SELL -) and CostBasis += qty*price.
//   - Reducing: closed = min(qty, |Quantity|). The cost removed is
//     CostBasis*closed/|Quantity| rounded half-even to 4 decimal places,
//     except that closing every share removes exactly the whole CostBasis,
//     so over a position's life the removed cost sums exactly to what was
//     paid. Realized for a long closed by a SELL is closed*price - removed;
//     for a short closed by a BUY it is removed - closed*price.
//     RealizedPnL += realized.
//   - Flipping through zero (e.g. long 10, SELL 15): the 10 are closed as
//     above, then the remaining 5 are opened in the other direction with
//     CostBasis = 5*price.
//   - MarketPrice is kept as is; UpdatedAt is not touched (the caller sets
//     it).
//
// ApplyFill panics if qty <= 0 or side is neither Buy nor Sell: both are
// programming errors in the caller, never user input.
func ApplyFill(pos Position, side Side, qty int64, price decimal.Decimal) (Position, decimal.Decimal) {
	if qty <= 0 {
		panic(fmt.Sprintf("game.ApplyFill: quantity must be positive, got %d", qty))
	}
	var dir int64 // +1 for a buy, -1 for a sell
	switch side {
	case SideBuy:
		dir = 1
	case SideSell:
		dir = -1
	default:
		panic(fmt.Sprintf("game.ApplyFill: unknown side %q", side))
	}

	// Opening from flat or adding in the same direction.
	if pos.Quantity == 0 || (pos.Quantity > 0) == (dir > 0) {
		pos.Quantity += dir * qty
		pos.CostBasis = pos.CostBasis.Add(decimal.NewFromInt(qty).Mul(price))
		return pos, decimal.Zero
	}

	// Reducing (and possibly flipping through zero).
	open := abs64(pos.Quantity)
	closed := min(qty, open)
	var removed decimal.Decimal
	if closed == open {
		removed = pos.CostBasis
	} else {
		removed = divRoundHalfEven(pos.CostBasis.Mul(decimal.NewFromInt(closed)), decimal.NewFromInt(open), MoneyPlaces)
	}
	proceeds := decimal.NewFromInt(closed).Mul(price)
	var realized decimal.Decimal
	if pos.Quantity > 0 { // long closed by a sell
		realized = proceeds.Sub(removed)
	} else { // short covered by a buy
		realized = removed.Sub(proceeds)
	}
	pos.RealizedPnL = pos.RealizedPnL.Add(realized)
	pos.Quantity += dir * closed
	pos.CostBasis = pos.CostBasis.Sub(removed)

	if rest := qty - closed; rest > 0 {
		// Flat now: open the rest in the direction of the fill.
		pos.Quantity = dir * rest
		pos.CostBasis = decimal.NewFromInt(rest).Mul(price)
	}
	return pos, realized
}

// AverageCost is CostBasis/|Quantity| rounded half-even to 4 decimal
// places; zero when flat.
func (p Position) AverageCost() decimal.Decimal {
	if p.Quantity == 0 {
		return decimal.Zero
	}
	return divRoundHalfEven(p.CostBasis, decimal.NewFromInt(abs64(p.Quantity)), MoneyPlaces)
}

// MarketValue is Quantity*MarketPrice (negative for a short).
func (p Position) MarketValue() decimal.Decimal {
	return decimal.NewFromInt(p.Quantity).Mul(p.MarketPrice)
}

// UnrealizedPnL is, for a long, MarketValue - CostBasis; for a short,
// CostBasis + MarketValue (MarketValue being negative); zero when flat.
func (p Position) UnrealizedPnL() decimal.Decimal {
	switch {
	case p.Quantity > 0:
		return p.MarketValue().Sub(p.CostBasis)
	case p.Quantity < 0:
		return p.CostBasis.Add(p.MarketValue())
	default:
		return decimal.Zero
	}
}

// PortfolioValue is cash plus the market value of every position.
func PortfolioValue(cash decimal.Decimal, positions []Position) decimal.Decimal {
	v := cash
	for _, p := range positions {
		v = v.Add(p.MarketValue())
	}
	return v
}

// TotalReturn is value - startingCash.
func TotalReturn(value, startingCash decimal.Decimal) decimal.Decimal {
	return value.Sub(startingCash)
}

// ReturnPercent is TotalReturn/startingCash*100 rounded half-even to 4
// decimal places; zero when startingCash is zero.
func ReturnPercent(value, startingCash decimal.Decimal) decimal.Decimal {
	if startingCash.IsZero() {
		return decimal.Zero
	}
	return divRoundHalfEven(TotalReturn(value, startingCash).Mul(decimal.NewFromInt(100)), startingCash, MoneyPlaces)
}

// CashDelta returns what a fill moves in cash, as a signed amount to add to
// cash: for a BUY -(qty*price) - commission; for a SELL qty*price -
// commission. It panics if side is neither Buy nor Sell.
func CashDelta(side Side, qty int64, price, commission decimal.Decimal) decimal.Decimal {
	gross := decimal.NewFromInt(qty).Mul(price)
	switch side {
	case SideBuy:
		return gross.Neg().Sub(commission)
	case SideSell:
		return gross.Sub(commission)
	default:
		panic(fmt.Sprintf("game.CashDelta: unknown side %q", side))
	}
}

// divRoundHalfEven returns num/den rounded half-even to places decimal
// places, computed exactly (no intermediate rounding, unlike Div followed
// by RoundBank). den must not be zero.
func divRoundHalfEven(num, den decimal.Decimal, places int32) decimal.Decimal {
	// q is num/den truncated toward zero to places; num = den*q + r with
	// |r| < |den|*10^-places and r carrying the sign of num.
	q, r := num.QuoRem(den, places)
	if r.IsZero() {
		return q
	}
	unit := decimal.New(1, -places)
	twiceRem := r.Abs().Mul(decimal.NewFromInt(2))
	c := twiceRem.Cmp(den.Abs().Mul(unit))
	if c < 0 || (c == 0 && q.Shift(places).BigInt().Bit(0) == 0) {
		return q // below half, or exactly half with q already even
	}
	if num.Sign()*den.Sign() < 0 {
		return q.Sub(unit)
	}
	return q.Add(unit)
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
