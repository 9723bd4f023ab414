package market

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	action   *Action         // a corporate action's row (see parseActionRecord), no price
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
	onAction    func(context.Context, Action) error
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
// must hold at least one row. A row may carry a corporate action instead
// of a price (see parseActionRecord's comment above it, and ActionSource).
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
		if r.action == nil && !known[r.symbol] {
			known[r.symbol] = true
			ins = append(ins, Instrument{Symbol: r.symbol, Name: r.symbol, Reference: r.price})
		}
	}
	sortInstruments(ins)
	if err := checkActions(rows, known, filepath.Base(path)); err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
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
		row, isAction, err := parseActionRecord(rec, cols, line)
		if !isAction && err == nil {
			row, err = parseReplayRecord(rec, cols)
		}
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
		if row.action != nil {
			if err := r.emitAction(ctx, *row.action); err != nil {
				return runEnd(ctx, err)
			}
			continue
		}
		if err := emit(ctx, Tick{Symbol: row.symbol, Price: row.price, Bid: row.bid, Ask: row.ask, Volume: row.volume, At: r.clock.Now()}); err != nil {
			return runEnd(ctx, err)
		}
	}
	return nil
}

// Corporate actions in a replay file: a row whose price field is
//
//	SPLIT:<ratio>                      e.g. 2025-01-02T14:30:00Z,AAPL,SPLIT:2
//	DIVIDEND:<amount>                  paid at once (payDate = exDate)
//	DIVIDEND:<amount>@<RFC 3339 time>  paid at that time of the file
//
// announces that action when the replay reaches the row (its exDate is
// then; a payDate is as far after it as in the file). Fields after the
// third, if any, must be empty. Ratio and amount are positive plain
// decimals with at most 4 decimal places (a ratio not 1); the symbol must
// have a price row somewhere in the file or be in the catalogue. The
// prices after a split's row are the file's as they are: a file of real
// prices has them split already.

// Action is a corporate action a replay file carries.
type Action struct {
	Kind   string // "SPLIT" or "DIVIDEND"
	Symbol string
	// Value is a split's ratio or a dividend's amount per share.
	Value decimal.Decimal
	// PayAfter is how long after the ex-date a dividend is paid.
	PayAfter time.Duration
	// Source names the row ("replay:FILE:LINE"): the same row replayed
	// again is the same action.
	Source string
	line   int
}

// ActionSource is a feed that carries corporate actions.
type ActionSource interface {
	// OnAction sets what Run calls, from its goroutine and before the
	// next tick, when it reaches an action; an error it returns ends Run
	// as emit's does.
	OnAction(fn func(context.Context, Action) error)
}

var _ ActionSource = (*replay)(nil)

// OnAction implements ActionSource.
func (r *replay) OnAction(fn func(context.Context, Action) error) { r.onAction = fn }

func (r *replay) emitAction(ctx context.Context, a Action) error {
	if r.onAction == nil {
		return nil
	}
	return r.onAction(ctx, a)
}

// parseActionRecord reads a corporate action's row; isAction is false
// (and nothing is read) for any other row.
func parseActionRecord(rec []string, cols columns, line int) (row replayRow, isAction bool, err error) {
	if len(rec) != len(cols) {
		return row, false, nil
	}
	field := strings.TrimSpace(rec[cols["price"]])
	kind, value, ok := strings.Cut(field, ":")
	kind = strings.ToUpper(kind)
	if !ok || (kind != "SPLIT" && kind != "DIVIDEND") {
		return row, false, nil
	}
	for name, i := range cols {
		if name != "timestamp" && name != "symbol" && name != "price" && strings.TrimSpace(rec[i]) != "" {
			return row, true, fmt.Errorf("a %s row has nothing but its timestamp, symbol and action, got %q in column %s", kind, rec[i], name)
		}
	}
	ts, sym := strings.TrimSpace(rec[cols["timestamp"]]), strings.ToUpper(strings.TrimSpace(rec[cols["symbol"]]))
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return row, true, fmt.Errorf("timestamp %q is not RFC 3339", ts)
	}
	if !ValidSymbol(sym) {
		return row, true, fmt.Errorf("symbol %q is not a valid ticker (1-10 of A-Z, 0-9, '.', starting with a letter)", sym)
	}
	a := Action{Kind: kind, Symbol: sym, line: line}
	if kind == "DIVIDEND" {
		if amount, pay, ok := strings.Cut(value, "@"); ok {
			payAt, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(pay))
			if err != nil {
				return row, true, fmt.Errorf("DIVIDEND pay date %q is not RFC 3339", pay)
			}
			if a.PayAfter = payAt.Sub(at); a.PayAfter < 0 {
				return row, true, fmt.Errorf("DIVIDEND pay date %s is before the row's time %s", pay, ts)
			}
			value = amount
		}
	}
	value = strings.TrimSpace(value)
	d, err := decimal.NewFromString(value)
	if err != nil || !plainDecimal.MatchString(value) || !d.IsPositive() || -d.Exponent() > maxPriceDecimals {
		return row, true, fmt.Errorf("%s value %q must be a positive plain decimal with at most %d decimal places", kind, value, maxPriceDecimals)
	}
	if kind == "SPLIT" && d.Equal(decimal.NewFromInt(1)) {
		return row, true, fmt.Errorf("SPLIT ratio must not be 1")
	}
	a.Value = d
	return replayRow{at: at, symbol: sym, action: &a}, true, nil
}

// checkActions checks that every action's symbol is known (the catalogue
// or a price row of the file) and names each action's source.
func checkActions(rows []replayRow, known map[string]bool, file string) error {
	for i := range rows {
		a := rows[i].action
		if a == nil {
			continue
		}
		if !known[a.Symbol] {
			return fmt.Errorf("line %d: %s of %s, which has no price row and is not in the catalogue", a.line, a.Kind, a.Symbol)
		}
		a.Source = fmt.Sprintf("replay:%s:%d", file, a.line)
	}
	return nil
}
