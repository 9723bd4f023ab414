package market

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
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
	at     time.Time // the file's timestamp
	symbol string
	price  decimal.Decimal
}

// replay emits the rows of a validated CSV file.
type replay struct {
	clock       clockwork.Clock
	rows        []replayRow
	instruments []Instrument
}

// NewReplay reads a CSV file of `timestamp,symbol,price` rows (an optional
// header row whose first field is "timestamp" is skipped; timestamp is RFC
// 3339; symbol is upper-cased and must match ^[A-Z][A-Z0-9.]{0,9}$; price is
// a positive plain decimal with at most 4 decimal places). It validates the
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
			if strings.EqualFold(strings.TrimSpace(rec[0]), "timestamp") {
				continue
			}
		}
		row, err := parseReplayRecord(rec)
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

func parseReplayRecord(rec []string) (replayRow, error) {
	if len(rec) != 3 {
		return replayRow{}, fmt.Errorf("want 3 fields (timestamp,symbol,price), got %d", len(rec))
	}
	ts, sym, px := strings.TrimSpace(rec[0]), strings.ToUpper(strings.TrimSpace(rec[1])), strings.TrimSpace(rec[2])

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
	return replayRow{at: at, symbol: sym, price: price}, nil
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
		if err := emit(ctx, Tick{Symbol: row.symbol, Price: row.price, At: r.clock.Now()}); err != nil {
			return runEnd(ctx, err)
		}
	}
	return nil
}
