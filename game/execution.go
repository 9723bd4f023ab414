package game

import (
	"time"

	"github.com/shopspring/decimal"
)

// ExecutionPreset names a room's execution model; explicit fields of an
// ExecutionInput override its values.
type ExecutionPreset string

const (
	// ExecutionFrictionless fills every order in full at the last price:
	// the feed's bid and ask are not used, nothing is charged but the
	// commission.
	ExecutionFrictionless ExecutionPreset = "FRICTIONLESS"
	// ExecutionRealistic trades at the bid and ask of a liquid stock.
	ExecutionRealistic ExecutionPreset = "REALISTIC"
	// ExecutionThinBook trades at the bid and ask of a small cap.
	ExecutionThinBook ExecutionPreset = "THIN_BOOK"
)

// Execution is how a room's orders fill (see Execution.plan).
type Execution struct {
	Preset ExecutionPreset `db:"execution_preset" json:"preset"`
	// SpreadBps is the least spread a fill pays, in basis points of the
	// mid price: half of it on each side.
	SpreadBps int `db:"spread_bps" json:"spreadBps"`
	// SlippageBps is charged on every fill, in basis points of the mid.
	SlippageBps int `db:"slippage_bps" json:"slippageBps"`
	// PriceImpact is the square-law impact coefficient: a fill of q shares
	// against a tick's volume v moves its price by PriceImpact*(q/v)^2 of
	// the mid.
	PriceImpact decimal.Decimal `db:"price_impact" json:"priceImpact"`
	// VolumeLimitPercent caps one order's fill at this share of a tick's
	// volume; nil: no cap.
	VolumeLimitPercent *decimal.Decimal `db:"volume_limit_percent" json:"volumeLimitPercent,omitempty"`
}

// ExecutionInput is a room's execution model as sent: a preset
// (FRICTIONLESS when nil) and the fields that override it.
type ExecutionInput struct {
	Preset             *ExecutionPreset `json:"preset"`
	SpreadBps          *int             `json:"spreadBps"`
	SlippageBps        *int             `json:"slippageBps"`
	PriceImpact        *decimal.Decimal `json:"priceImpact"`
	VolumeLimitPercent *decimal.Decimal `json:"volumeLimitPercent"`
}

// Presets are the execution models' values.
var (
	realisticVolume = decimal.NewFromInt(10)
	thinVolume      = decimal.NewFromInt(2)
	presets         = map[ExecutionPreset]Execution{
		ExecutionFrictionless: {Preset: ExecutionFrictionless, PriceImpact: decimal.Zero},
		ExecutionRealistic: {Preset: ExecutionRealistic, SpreadBps: 10, SlippageBps: 2,
			PriceImpact: decimal.RequireFromString("0.5"), VolumeLimitPercent: &realisticVolume},
		ExecutionThinBook: {Preset: ExecutionThinBook, SpreadBps: 50, SlippageBps: 10,
			PriceImpact: decimal.NewFromInt(5), VolumeLimitPercent: &thinVolume},
	}
)

// maxBps bounds spreadBps and slippageBps: 10%.
const maxBps = 1000

var maxImpact = decimal.NewFromInt(100)

// resolveExecution returns the model in describes, checked; in nil is
// FRICTIONLESS.
func resolveExecution(in *ExecutionInput) (Execution, error) {
	if in == nil {
		return presets[ExecutionFrictionless], nil
	}
	preset := ExecutionFrictionless
	if in.Preset != nil {
		preset = *in.Preset
	}
	e, ok := presets[preset]
	if !ok {
		return Execution{}, Invalid("execution.preset", "must be FRICTIONLESS, REALISTIC or THIN_BOOK")
	}
	if n := in.SpreadBps; n != nil {
		if *n < 0 || *n > maxBps {
			return Execution{}, Invalid("execution.spreadBps", "must be between 0 and %d basis points, got %d", maxBps, *n)
		}
		e.SpreadBps = *n
	}
	if n := in.SlippageBps; n != nil {
		if *n < 0 || *n > maxBps {
			return Execution{}, Invalid("execution.slippageBps", "must be between 0 and %d basis points, got %d", maxBps, *n)
		}
		e.SlippageBps = *n
	}
	if p := in.PriceImpact; p != nil {
		if p.IsNegative() || p.GreaterThan(maxImpact) || !p.Equal(p.Truncate(4)) {
			return Execution{}, Invalid("execution.priceImpact", "must be between 0 and %s, with at most 4 decimal places, got %s", maxImpact.String(), p.String())
		}
		e.PriceImpact = *p
	}
	if p := in.VolumeLimitPercent; p != nil {
		if err := validPercent("execution.volumeLimitPercent", p); err != nil {
			return Execution{}, err
		}
		v := *p
		e.VolumeLimitPercent = &v
	}
	return e, nil
}

// fillable is how many of remaining shares one fill may take from a tick
// of volume shares: all of them without a volume limit, else at most
// volumeLimitPercent of volume, rounded down (possibly none).
func (e Execution) fillable(remaining, volume int64) int64 {
	if e.VolumeLimitPercent == nil {
		return remaining
	}
	limit := decimal.NewFromInt(volume).Mul(*e.VolumeLimitPercent).Div(hundred).IntPart()
	return min(remaining, max(limit, 0))
}

// plan is one fill worked out: its quantity, price and what the price is
// made of. Every amount but Price is for the whole quantity; exactly,
// Price = Mid + (Spread+Slippage+Impact)/Quantity for a buy, Mid - that
// for a sell.
type plan struct {
	Quantity                 int64
	Price, Mid               decimal.Decimal
	Spread, Slippage, Impact decimal.Decimal
	// QuoteAt is the time of the quote the fill is priced against (nil:
	// none, a forced fill), stored with the fill for the integrity report.
	QuoteAt *time.Time
}

var (
	bpsDenom = decimal.NewFromInt(10_000)
	twiceBps = decimal.NewFromInt(20_000)
	halfOf   = decimal.RequireFromString("0.5")
	tick4    = decimal.New(1, -4) // the smallest price step
)

// priceStep is the decimal places of a price.
const priceStep = 4

// ceil4 rounds a per-share amount up to the 4 decimal places prices have:
// a fill's costs are never rounded in the trader's favour.
func ceil4(d decimal.Decimal) decimal.Decimal { return d.RoundCeil(priceStep) }

// plan works out a fill of quantity shares on side against quote q:
//   - the mid: the last price under FRICTIONLESS, else the quote's
//     (bid+ask)/2 rounded half-even to 4 places;
//   - the spread, per share: the distance from the mid to the ask (a buy)
//     or the bid (a sell), or SpreadBps/2 of the mid (rounded up to 4
//     places) when that is more;
//   - slippage, per share: SlippageBps of the mid, rounded up;
//   - impact, per share: PriceImpact*(quantity/volume)^2 of the mid,
//     rounded up;
//
// a buy pays the mid plus all three, a sell gets the mid less them, but
// never less than 0.0001 (impact, then slippage, then spread give way).
func (e Execution) plan(side Side, q *Quote, quantity int64) plan {
	mid := q.Price
	spread := decimal.Zero
	if e.Preset != ExecutionFrictionless {
		mid = q.Bid.Add(q.Ask).Mul(halfOf).RoundBank(priceStep)
		if side == SideBuy {
			spread = q.Ask.Sub(mid)
		} else {
			spread = mid.Sub(q.Bid)
		}
	}
	if e.SpreadBps > 0 {
		spread = decimal.Max(spread, ceil4(mid.Mul(decimal.NewFromInt(int64(e.SpreadBps))).Div(twiceBps)))
	}
	slip := decimal.Zero
	if e.SlippageBps > 0 {
		slip = ceil4(mid.Mul(decimal.NewFromInt(int64(e.SlippageBps))).Div(bpsDenom))
	}
	impact := decimal.Zero
	if e.PriceImpact.IsPositive() && q.Volume > 0 {
		// mid*k*q^2/v^2, exact up to its rounding up: QuoRem gives the
		// quotient truncated to 4 places and a remainder.
		qty := decimal.NewFromInt(quantity)
		num := mid.Mul(e.PriceImpact).Mul(qty).Mul(qty)
		vol := decimal.NewFromInt(q.Volume)
		quo, rem := num.QuoRem(vol.Mul(vol), priceStep)
		if !rem.IsZero() {
			quo = quo.Add(tick4)
		}
		impact = quo
	}
	if side == SideSell {
		// A sale's price stays positive.
		room := mid.Sub(tick4)
		for _, c := range []*decimal.Decimal{&spread, &slip, &impact} {
			if c.GreaterThan(room) {
				*c = decimal.Max(room, decimal.Zero)
			}
			room = room.Sub(*c)
		}
	}
	cost := spread.Add(slip).Add(impact)
	price := mid.Add(cost)
	if side == SideSell {
		price = mid.Sub(cost)
	}
	n := decimal.NewFromInt(quantity)
	at := q.At
	return plan{Quantity: quantity, Price: price, Mid: mid, Spread: spread.Mul(n), Slippage: slip.Mul(n), Impact: impact.Mul(n), QuoteAt: &at}
}
