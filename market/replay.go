package market

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
)

// plainDecimal is the accepted textual form of a replay price (no sign, no
// exponent).
var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// maxPriceDecimals is the most decimal places a price may have.
const maxPriceDecimals = 4

type replayRow struct {
	at       time.Time // the file's timestamp
	symbol   string
	price    decimal.Decimal
	bid, ask decimal.Decimal // zero: not given
	volume   int64           // zero: not given
}

// replayColumns are the columns a replay file may have, the first three
// required, in the order a file without a header row has them.
var replayColumns = []string{"timestamp", "symbol", "price", "bid", "ask", "volume"}

// columns maps a replay column's name to its field index in a row.
type columns map[string]int

// header reads a header row: the names of replayColumns in any order, the
// first three required; ok is false when rec is not a header row (its first
// field is no column's name: a row's first field is a timestamp).
func header(rec []string) (cols columns, ok bool, err error) {
	if !slices.Contains(replayColumns, strings.ToLower(strings.TrimSpace(rec[0]))) {
		return nil, false, nil
	}
	cols = columns{}
	for i, f := range rec {
		name := strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(replayColumns, name) {
			return nil, true, fmt.Errorf("header: unknown column %q (columns: %s)", f, strings.Join(replayColumns, ", "))
		}
		if _, dup := cols[name]; dup {
			return nil, true, fmt.Errorf("header: column %q appears twice", name)
		}
		cols[name] = i
	}
	for _, need := range replayColumns[:3] {
		if _, ok := cols[need]; !ok {
			return nil, true, fmt.Errorf("header: column %q is required", need)
		}
	}
	return cols, true, nil
}

// replay emits the rows of a validated CSV file.
type replay struct {
	clock       clockwork.Clock
	rows        []replayRow
	instruments []Instrument
}

// NewReplay reads a CSV file of `timestamp,symbol,price` rows (timestamp is
// RFC 3339; symbol is upper-cased and must match ^[A-Z][A-Z0-9.]{0,9}$;
// price is a positive plain decimal with at most 4 decimal places). A header
// row (its first field a column's name) names the columns, in any order, which may then
// also be bid, ask (prices, bid <= price <= ask) and volume (the shares
// traded since the previous row of the symbol, 1 to MaxVolume); an empty
// cell of these leaves it out (bid and ask: the price; volume: the
// game's default). Without a header row a row has the first three. It validates the
// whole file at construction and returns an error naming the line number and
// what is wrong. Rows must be in non-decreasing timestamp order, and the file
// must hold at least one row.
//
// Run emits the rows in order; the first at once, and each later row when
// the clock has advanced, since Run started, by its timestamp's offset from
// the first row's (so the time spent in emit does not accumulate as drift).
// Tick.At is clock.Now() at emission. After the last row Run returns nil.
func NewReplay(clock clockwork.Clock, path string) (Feed, error) {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	rows, err := parseReplay(f)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}

	ins := Catalogue()
	known := make(map[string]bool, len(ins))
	for _, in := range ins {
		known[in.Symbol] = true
	}
	for _, r := range rows {
		if !known[r.symbol] {
			known[r.symbol] = true
			ins = append(ins, Instrument{Symbol: r.symbol, Name: r.symbol, Reference: r.price})
		}
	}
	sortInstruments(ins)
	return &replay{clock: clock, rows: rows, instruments: ins}, nil
}

func parseReplay(src io.Reader) ([]replayRow, error) {
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var rows []replayRow
	first := true
	cols := columns{"timestamp": 0, "symbol": 1, "price": 2}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: malformed CSV: %v", pe.Line, pe.Err)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // tolerate a UTF-8 BOM
			named, ok, err := header(rec)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if ok {
				cols = named
				continue
			}
		}
		row, err := parseReplayRecord(rec, cols)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if n := len(rows); n > 0 && row.at.Before(rows[n-1].at) {
			return nil, fmt.Errorf("line %d: timestamp %s is before the previous row's %s (rows must be in time order)",
				line, row.at.Format(time.RFC3339Nano), rows[n-1].at.Format(time.RFC3339Nano))
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("no price rows")
	}
	return rows, nil
}

func parseReplayRecord(rec []string, cols columns) (replayRow, error) {
	if len(rec) != len(cols) {
		names := make([]string, len(cols))
		for name, i := range cols {
			names[i] = name
		}
		return replayRow{}, fmt.Errorf("want %d fields (%s), got %d", len(cols), strings.Join(names, ","), len(rec))
	}
	field := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	ts, sym, px := field("timestamp"), strings.ToUpper(field("symbol")), field("price")

	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return replayRow{}, fmt.Errorf("timestamp %q is not RFC 3339", ts)
	}
	if !ValidSymbol(sym) {
		return replayRow{}, fmt.Errorf("symbol %q is not a valid ticker (1-10 of A-Z, 0-9, '.', starting with a letter)", sym)
	}
	price, err := decimal.NewFromString(px)
	if err != nil {
		return replayRow{}, fmt.Errorf("price %q is not a number", px)
	}
	if !price.IsPositive() {
		return replayRow{}, fmt.Errorf("price %q must be positive", px)
	}
	if !plainDecimal.MatchString(px) {
		return replayRow{}, fmt.Errorf("price %q must be a plain decimal like 123.45", px)
	}
	if -price.Exponent() > maxPriceDecimals {
		return replayRow{}, fmt.Errorf("price %q has more than %d decimal places", px, maxPriceDecimals)
	}
	row := replayRow{at: at, symbol: sym, price: price}
	if row.bid, err = replayPrice("bid", field("bid")); err != nil {
		return replayRow{}, err
	}
	if row.ask, err = replayPrice("ask", field("ask")); err != nil {
		return replayRow{}, err
	}
	if !row.bid.IsZero() && row.bid.GreaterThan(price) {
		return replayRow{}, fmt.Errorf("bid %s is above the price %s", row.bid.String(), price.String())
	}
	if !row.ask.IsZero() && row.ask.LessThan(price) {
		return replayRow{}, fmt.Errorf("ask %s is below the price %s", row.ask.String(), price.String())
	}
	if v := field("volume"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > MaxVolume {
			return replayRow{}, fmt.Errorf("volume %q must be a whole number from 1 to %d", v, int64(MaxVolume))
		}
		row.volume = n
	}
	return row, nil
}

// replayPrice reads an optional price cell (empty: zero) named name.
func replayPrice(name, s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Zero, nil
	}
	if !plainDecimal.MatchString(s) {
		return decimal.Zero, fmt.Errorf("%s %q must be a plain decimal like 123.45", name, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil || !d.IsPositive() {
		return decimal.Zero, fmt.Errorf("%s %q must be a positive price", name, s)
	}
	if -d.Exponent() > maxPriceDecimals {
		return decimal.Zero, fmt.Errorf("%s %q has more than %d decimal places", name, s, maxPriceDecimals)
	}
	return d, nil
}

func (r *replay) Name() string { return NameReplay }

func (r *replay) Instruments() []Instrument {
	out := make([]Instrument, len(r.instruments))
	copy(out, r.instruments)
	return out
}

func (r *replay) Run(ctx context.Context, emit func(context.Context, Tick) error) error {
	start := r.clock.Now()
	origin := r.rows[0].at
	for _, row := range r.rows {
		if wait := r.clock.Until(start.Add(row.at.Sub(origin))); wait > 0 {
			timer := r.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.Chan():
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := emit(ctx, Tick{Symbol: row.symbol, Price: row.price, Bid: row.bid, Ask: row.ask, Volume: row.volume, At: r.clock.Now()}); err != nil {
			return runEnd(ctx, err)
		}
	}
	return nil
}
