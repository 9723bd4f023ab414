// Package market produces prices: a built-in instrument catalogue and feeds (simulated, manual, replay).
package market

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
)

// Instrument is a tradable symbol.
type Instrument struct {
	Symbol    string
	Name      string
	Reference decimal.Decimal // realistic reference price, 2 decimals
}

// Tick is one new price, with the market around it: the best bid and ask
// (zero: the price itself) and the shares traded since the previous tick
// (zero: not given; the game then takes its default). When given, Bid <=
// Price <= Ask.
type Tick struct {
	Symbol string
	Price  decimal.Decimal
	Bid    decimal.Decimal
	Ask    decimal.Decimal
	Volume int64
	At     time.Time
}

// MaxVolume bounds a tick's volume, so that it fits GraphQL's Int.
const MaxVolume = 2_000_000_000

// Feed produces ticks until ctx is done.
type Feed interface {
	// Name is "simulated", "manual" or "replay".
	Name() string
	// Instruments lists what this feed can price (simulated and manual: the
	// catalogue; replay: the catalogue plus any other symbol found in the
	// file, with Name = Symbol and Reference = its first price).
	Instruments() []Instrument
	// Run calls emit for every tick, in order, from the calling goroutine,
	// until ctx is done (returns nil then) or the feed is exhausted (replay:
	// returns nil after the last row) or emit returns an error (Run returns
	// that error). Run blocks; it starts no goroutine that outlives it.
	Run(ctx context.Context, emit func(context.Context, Tick) error) error
}

// Feed names, as accepted by Parse and returned by Feed.Name.
const (
	NameSimulated = "simulated"
	NameManual    = "manual"
	NameReplay    = "replay"
)

// DefaultInterval is the simulated feed's tick interval when none is given.
const DefaultInterval = time.Second

// Parse builds a feed from the -market flag: "simulated", "manual" or
// "replay:PATH". Unknown spec -> error naming the spec and the accepted
// values. seed is for the simulated feed.
func Parse(spec string, clock clockwork.Clock, seed int64) (Feed, error) {
	name, path, err := splitSpec(spec)
	if err != nil {
		return nil, err
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	switch name {
	case NameSimulated:
		return NewSimulated(clock, seed, DefaultInterval), nil
	case NameManual:
		return NewManual(), nil
	default:
		return NewReplay(clock, path)
	}
}

// Check reports whether Parse would accept spec, without building the
// feed: for replay:PATH it checks that the file can be opened, and leaves
// reading its rows to Parse.
func Check(spec string) error {
	name, path, err := splitSpec(spec)
	if err != nil || name != NameReplay {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("replay: %w", err)
	} else if fi.IsDir() {
		return fmt.Errorf("replay: %s is a directory, not a CSV file", path)
	}
	return nil
}

// splitSpec reads a -market value into a feed name and, for replay, a path.
func splitSpec(spec string) (name, path string, err error) {
	switch {
	case spec == NameSimulated, spec == NameManual:
		return spec, "", nil
	case strings.HasPrefix(spec, NameReplay+":"):
		path := strings.TrimPrefix(spec, NameReplay+":")
		if strings.TrimSpace(path) == "" {
			return "", "", fmt.Errorf("market %q: replay needs a file path (replay:PATH)", spec)
		}
		return NameReplay, path, nil
	default:
		return "", "", fmt.Errorf("unknown market %q: want %q, %q or %q", spec, NameSimulated, NameManual, NameReplay+":PATH")
	}
}

// ValidSymbol reports whether s looks like a ticker (^[A-Z][A-Z0-9.]{0,9}$).
func ValidSymbol(s string) bool {
	if len(s) < 1 || len(s) > 10 {
		return false
	}
	if s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

// runEnd turns an error returned by emit into Run's result: if ctx is done
// and the error is just ctx's own error, Run ends normally (nil).
func runEnd(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return nil
	}
	return err
}

// manual is a feed that never emits.
type manual struct{}

// NewManual returns a feed that never emits on its own: prices come only
// from the API's setQuote. Run blocks until ctx is done and returns nil.
func NewManual() Feed { return manual{} }

func (manual) Name() string              { return NameManual }
func (manual) Instruments() []Instrument { return Catalogue() }

func (manual) Run(ctx context.Context, _ func(context.Context, Tick) error) error {
	<-ctx.Done()
	return nil
}

// sortInstruments sorts by symbol.
func sortInstruments(ins []Instrument) {
	slices.SortFunc(ins, func(a, b Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
}
