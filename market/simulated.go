package market

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
)

// pcgStream is the fixed second PCG seed word; the first is the user's seed.
const pcgStream = 0x9E3779B97F4A7C15

var (
	minPrice = decimal.New(1, -2) // 0.01
	bpDenom  = int32(-4)          // shifting by -4 divides by 10000 exactly
)

// simulated is a seeded random walk over the catalogue.
type simulated struct {
	clock    clockwork.Clock
	seed     int64
	interval time.Duration
	start    func(context.Context) map[string]decimal.Decimal
	splits   func(context.Context) map[string]decimal.Decimal
}

// Resumer is a feed that can continue from the prices already known (for
// example when another instance's feed stopped) instead of its references.
type Resumer interface {
	// ResumeFrom sets where each Run starts: fn's prices, where it has one
	// for a symbol, else the reference.
	ResumeFrom(fn func(context.Context) map[string]decimal.Decimal)
}

var _ Resumer = (*simulated)(nil)

// ResumeFrom implements Resumer.
func (s *simulated) ResumeFrom(fn func(context.Context) map[string]decimal.Decimal) { s.start = fn }

// The simulated market around each price: half the spread is 1 to 4 basis
// points of the price (uniform, rounded up to the cent, so never less than
// a cent), and the volume 5,000 to 15,000 shares (uniform), drawn from a
// second stream of the same seed, so that the prices are those the seed
// gave before the market had two sides.
const (
	minHalfSpreadBP = 1
	maxHalfSpreadBP = 4
	minTickVolume   = 5_000
	maxTickVolume   = 15_000
)

// sides returns the bid, ask and volume around price, drawn from r.
func sides(r *rand.Rand, price decimal.Decimal) (bid, ask decimal.Decimal, volume int64) {
	bp := int64(minHalfSpreadBP + r.IntN(maxHalfSpreadBP-minHalfSpreadBP+1))
	half := price.Mul(decimal.NewFromInt(bp)).Shift(bpDenom).RoundUp(2)
	if half.LessThan(minPrice) {
		half = minPrice
	}
	bid = price.Sub(half)
	if bid.LessThan(minPrice) {
		bid = price
	}
	volume = int64(minTickVolume + r.IntN(maxTickVolume-minTickVolume+1))
	return bid, price.Add(half), volume
}

// Splitter is a feed that keeps prices of its own, which a split must
// rescale: otherwise its next tick would undo the split of the stored
// quote.
type Splitter interface {
	// SplitsFrom sets where the feed learns of applied splits: fn gives
	// each symbol's cumulative split ratio (the product of the ratios of
	// its splits applied so far; 1 when none). Before each batch the feed
	// divides its price of a symbol by how much that product grew since
	// it last looked.
	SplitsFrom(fn func(context.Context) map[string]decimal.Decimal)
}

var _ Splitter = (*simulated)(nil)

// SplitsFrom implements Splitter.
func (s *simulated) SplitsFrom(fn func(context.Context) map[string]decimal.Decimal) { s.splits = fn }

// splitTracker follows the cumulative split ratios a feed has applied to
// its prices.
type splitTracker struct {
	read  func(context.Context) map[string]decimal.Decimal
	known map[string]decimal.Decimal
}

// newSplitTracker starts from the ratios as they stand (the prices a Run
// starts from are the stored ones, split already).
func newSplitTracker(ctx context.Context, read func(context.Context) map[string]decimal.Decimal) *splitTracker {
	t := &splitTracker{read: read}
	if read != nil {
		t.known = read(ctx)
	}
	return t
}

// unchanged reads the ratios again and reports whether they are what the
// tracker knew, which it then knows.
func (t *splitTracker) unchanged(ctx context.Context) bool {
	if t.read == nil {
		return true
	}
	now := t.read(ctx)
	same := len(now) == len(t.known)
	for sym, r := range now {
		if k, ok := t.known[sym]; !ok || !k.Equal(r) {
			same = false
		}
	}
	t.known = now
	return same
}

// rescale divides prices (by instrument) by how much each symbol's ratio
// grew since the last look, rounded to cents like the walk, never below
// 0.01.
func (t *splitTracker) rescale(ctx context.Context, ins []Instrument, prices []decimal.Decimal) {
	if t.read == nil {
		return
	}
	now := t.read(ctx)
	if now == nil {
		return // unreadable this time: look again next batch
	}
	if t.known == nil { // unreadable until now: start from here
		t.known = now
		return
	}
	one := decimal.NewFromInt(1)
	for i, in := range ins {
		was, ok := t.known[in.Symbol]
		if !ok {
			was = one
		}
		is, ok := now[in.Symbol]
		if !ok {
			is = one
		}
		if is.Equal(was) || !is.IsPositive() {
			continue
		}
		p := prices[i].Mul(was).DivRound(is, 2)
		if p.LessThan(minPrice) {
			p = minPrice
		}
		prices[i] = p
	}
	t.known = now
}

// NewSimulated returns a seeded random walk over the catalogue: first, at Run
// start, it emits one tick per instrument at its Reference price (at
// clock.Now()); then every interval (measured with clock) it emits one tick
// per instrument, each moving the price by a small random step. Same seed =>
// same sequence of prices. Each step is an integer number of basis points in
// -50..+50 (the sum of two uniform draws in -25..+25, so biased toward zero);
// new price = price * (10000+bp) / 10000 rounded to 2 decimals, never below
// 0.01. Each tick carries a bid, an ask and a volume (see sides). interval
// <= 0 means DefaultInterval (one second).
//
// Every Run starts the walk afresh from the references and the seed, so Run
// may be called more than once (even concurrently) with identical results.
func NewSimulated(clock clockwork.Clock, seed int64, interval time.Duration) Feed {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &simulated{clock: clock, seed: seed, interval: interval}
}

func (s *simulated) Name() string              { return NameSimulated }
func (s *simulated) Instruments() []Instrument { return Catalogue() }

// stepBP draws one price step in basis points, in -50..+50, triangular.
func stepBP(r *rand.Rand) int64 {
	return int64(r.IntN(51)-25) + int64(r.IntN(51)-25)
}

// walk applies a basis-point step to price, exactly, rounded to cents.
func walk(price decimal.Decimal, bp int64) decimal.Decimal {
	p := price.Mul(decimal.NewFromInt(10000 + bp)).Shift(bpDenom).Round(2)
	if p.LessThan(minPrice) {
		return minPrice
	}
	return p
}

func (s *simulated) Run(ctx context.Context, emit func(context.Context, Tick) error) error {
	ins := Catalogue()
	prices := make([]decimal.Decimal, len(ins))
	// The known prices and the splits they reflect are read apart: read
	// them again while a split lands in between (at most a few times).
	splits := newSplitTracker(ctx, s.splits)
	for range 3 {
		var known map[string]decimal.Decimal
		if s.start != nil {
			known = s.start(ctx)
		}
		for i, in := range ins {
			prices[i] = in.Reference.Round(2)
			if p, ok := known[in.Symbol]; ok && p.IsPositive() {
				prices[i] = p
			}
		}
		if splits.unchanged(ctx) {
			break
		}
	}
	r := rand.New(rand.NewPCG(uint64(s.seed), pcgStream))
	rs := rand.New(rand.NewPCG(uint64(s.seed), pcgStream+1)) // the sides

	// The ticker is anchored at Run start so the cadence does not drift with
	// the time spent emitting.
	ticker := s.clock.NewTicker(s.interval)
	defer ticker.Stop()

	emitBatch := func() error {
		at := s.clock.Now()
		for i, in := range ins {
			if ctx.Err() != nil {
				return nil
			}
			bid, ask, volume := sides(rs, prices[i])
			if err := emit(ctx, Tick{Symbol: in.Symbol, Price: prices[i], Bid: bid, Ask: ask, Volume: volume, At: at}); err != nil {
				return runEnd(ctx, err)
			}
		}
		return nil
	}

	if err := emitBatch(); err != nil || ctx.Err() != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.Chan():
		}
		splits.rescale(ctx, ins, prices)
		for i := range prices {
			prices[i] = walk(prices[i], stepBP(r))
		}
		if err := emitBatch(); err != nil || ctx.Err() != nil {
			return err
		}
	}
}
