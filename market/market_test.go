package market

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
)

// guard bounds how long a test waits for something that should happen
// promptly; it is a failure timeout, never a way of letting time pass.
const guard = 5 * time.Second

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// run starts f.Run in a goroutine, forwarding ticks to the returned channel.
// done receives Run's result once the goroutine has ended.
func run(ctx context.Context, f Feed) (ticks <-chan Tick, done <-chan error) {
	tc := make(chan Tick)
	dc := make(chan error, 1)
	go func() {
		dc <- f.Run(ctx, func(ctx context.Context, t Tick) error {
			select {
			case tc <- t:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return tc, dc
}

func recvTicks(t *testing.T, ticks <-chan Tick, n int) []Tick {
	t.Helper()
	out := make([]Tick, 0, n)
	for len(out) < n {
		select {
		case tk := <-ticks:
			out = append(out, tk)
		case <-time.After(guard):
			t.Fatalf("got %d ticks, want %d", len(out), n)
		}
	}
	return out
}

func expectNoTick(t *testing.T, ticks <-chan Tick) {
	t.Helper()
	select {
	case tk := <-ticks:
		t.Fatalf("unexpected tick %+v", tk)
	default:
	}
}

func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(guard):
		t.Fatal("Run did not return")
		return nil
	}
}

func blockUntil(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("feed never waited on the clock: %v", err)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prices.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCatalogue(t *testing.T) {
	cat := Catalogue()
	if len(cat) < 28 {
		t.Fatalf("catalogue has %d instruments, want >= 28", len(cat))
	}
	seen := map[string]bool{}
	for i, in := range cat {
		t.Run(in.Symbol, func(t *testing.T) {
			if seen[in.Symbol] {
				t.Errorf("duplicate symbol")
			}
			seen[in.Symbol] = true
			if i > 0 && cat[i-1].Symbol >= in.Symbol {
				t.Errorf("not sorted: %q before %q", cat[i-1].Symbol, in.Symbol)
			}
			if !ValidSymbol(in.Symbol) {
				t.Errorf("invalid symbol")
			}
			if in.Name == "" || in.Name == in.Symbol {
				t.Errorf("name %q should be the company name", in.Name)
			}
			if !in.Reference.IsPositive() {
				t.Errorf("reference %s not positive", in.Reference)
			}
			if !in.Reference.Equal(in.Reference.Round(2)) {
				t.Errorf("reference %s has more than 2 decimals", in.Reference)
			}
		})
	}
	for _, sym := range []string{"AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "MA", "JNJ", "WMT", "PG", "XOM", "KO", "PEP", "DIS", "NFLX", "INTC", "AMD", "CSCO", "ORCL", "IBM", "BA", "NKE", "MCD", "SBUX", "T", "VZ", "SPY"} {
		if !seen[sym] {
			t.Errorf("catalogue lacks %s", sym)
		}
	}

	t.Run("fresh copy each call", func(t *testing.T) {
		a := Catalogue()
		a[0].Symbol = "MUTATED"
		a[0].Reference = decimal.NewFromInt(-1)
		b := Catalogue()
		if b[0].Symbol == "MUTATED" || b[0].Reference.IsNegative() {
			t.Fatalf("Catalogue returned shared storage")
		}
	})
}

func TestValidSymbol(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"A", true},
		{"AAPL", true},
		{"BRK.B", true},
		{"X1", true},
		{"ABCDEFGHIJ", true},
		{"ABCDEFGHIJK", false},
		{"", false},
		{"aapl", false},
		{"1ABC", false},
		{".A", false},
		{"AA-PL", false},
		{"AA PL", false},
		{"ÄPPL", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidSymbol(tt.in); got != tt.want {
				t.Errorf("ValidSymbol(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	good := writeFile(t, "2025-01-02T15:04:05Z,AAPL,1.23\n")
	clock := clockwork.NewFakeClockAt(t0)

	accept := []struct {
		name, spec, want string
	}{
		{"simulated", "simulated", "simulated"},
		{"manual", "manual", "manual"},
		{"replay with path", "replay:" + good, "replay"},
	}
	for _, tt := range accept {
		t.Run("accepts "+tt.name, func(t *testing.T) {
			f, err := Parse(tt.spec, clock, 7)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if f.Name() != tt.want {
				t.Fatalf("Name() = %q, want %q", f.Name(), tt.want)
			}
		})
	}

	reject := []struct {
		name, spec string
		want       []string
	}{
		{"empty", "", []string{`unknown market ""`, `"simulated"`, `"manual"`, `"replay:PATH"`}},
		{"junk", "random", []string{`unknown market "random"`, `"simulated"`, `"manual"`, `"replay:PATH"`}},
		{"wrong case", "Simulated", []string{`unknown market "Simulated"`}},
		{"replay without colon", "replay", []string{`unknown market "replay"`, `"replay:PATH"`}},
		{"replay with empty path", "replay:", []string{`"replay:"`, "file path"}},
		{"replay of missing file", "replay:" + filepath.Join(t.TempDir(), "nope.csv"), []string{"nope.csv"}},
	}
	for _, tt := range reject {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			f, err := Parse(tt.spec, clock, 7)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.spec, f.Name())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// simulate runs a simulated feed for the initial batch plus n intervals and
// returns every batch, checking each batch's timestamp.
func simulate(t *testing.T, seed int64, n int) [][]Tick {
	t.Helper()
	const interval = 250 * time.Millisecond
	clock := clockwork.NewFakeClockAt(t0)
	f := NewSimulated(clock, seed, interval)
	width := len(f.Instruments())
	ctx, cancel := context.WithCancel(context.Background())
	ticks, done := run(ctx, f)

	var batches [][]Tick
	for i := 0; i <= n; i++ {
		if i > 0 {
			blockUntil(t, clock, 1)
			expectNoTick(t, ticks)
			clock.Advance(interval)
		}
		b := recvTicks(t, ticks, width)
		want := t0.Add(time.Duration(i) * interval)
		for _, tk := range b {
			if !tk.At.Equal(want) {
				t.Fatalf("batch %d: %s At = %v, want %v", i, tk.Symbol, tk.At, want)
			}
		}
		batches = append(batches, b)
	}
	cancel()
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	return batches
}

func TestSimulated(t *testing.T) {
	cat := Catalogue()

	t.Run("name and instruments are the catalogue", func(t *testing.T) {
		f := NewSimulated(clockwork.NewFakeClock(), 1, 0)
		if f.Name() != "simulated" {
			t.Errorf("Name() = %q", f.Name())
		}
		ins := f.Instruments()
		if len(ins) != len(cat) {
			t.Fatalf("%d instruments, want %d", len(ins), len(cat))
		}
		for i := range ins {
			if ins[i].Symbol != cat[i].Symbol || !ins[i].Reference.Equal(cat[i].Reference) {
				t.Errorf("instrument %d = %+v, want %+v", i, ins[i], cat[i])
			}
		}
	})

	const intervals = 6
	a := simulate(t, 42, intervals)

	t.Run("first batch equals the references", func(t *testing.T) {
		for i, tk := range a[0] {
			if tk.Symbol != cat[i].Symbol || !tk.Price.Equal(cat[i].Reference) {
				t.Errorf("tick %d = %s %s, want %s %s", i, tk.Symbol, tk.Price, cat[i].Symbol, cat[i].Reference)
			}
		}
	})

	t.Run("seed 42 walk is pinned", func(t *testing.T) {
		// Pinned so an accidental change to the walk (which would change
		// every seeded competition) is caught.
		want := [][2]string{{"189.71", "115.48"}, {"189.65", "115.30"}, {"189.86", "115.05"}}
		for i, w := range want {
			b := a[i+1]
			first, last := b[0], b[len(b)-1]
			if first.Symbol != "AAPL" || first.Price.StringFixed(2) != w[0] || last.Symbol != "XOM" || last.Price.StringFixed(2) != w[1] {
				t.Errorf("interval %d: %s %s, %s %s; want AAPL %s, XOM %s", i+1, first.Symbol, first.Price, last.Symbol, last.Price, w[0], w[1])
			}
		}
	})

	t.Run("every tick has a two-sided market and a volume", func(t *testing.T) {
		spreads := map[string]bool{}
		for bi, b := range a {
			for _, tk := range b {
				if tk.Bid.GreaterThan(tk.Price) || tk.Ask.LessThan(tk.Price) || !tk.Bid.IsPositive() {
					t.Fatalf("batch %d %s: bid %s, price %s, ask %s", bi, tk.Symbol, tk.Bid, tk.Price, tk.Ask)
				}
				half := tk.Ask.Sub(tk.Price)
				// 1 to 4 basis points of the price, rounded up to the cent.
				lo := tk.Price.Mul(decimal.NewFromInt(1)).Shift(-4).RoundUp(2)
				hi := tk.Price.Mul(decimal.NewFromInt(4)).Shift(-4).RoundUp(2)
				if lo.LessThan(minPrice) {
					lo = minPrice
				}
				if half.LessThan(lo) || half.GreaterThan(hi) || !tk.Price.Sub(tk.Bid).Equal(half) {
					t.Fatalf("batch %d %s: half spread %s (bid %s, price %s, ask %s), want %s to %s either side", bi, tk.Symbol, half, tk.Bid, tk.Price, tk.Ask, lo, hi)
				}
				spreads[half.String()] = true
				if tk.Volume < minTickVolume || tk.Volume > maxTickVolume {
					t.Fatalf("batch %d %s: volume %d, want %d to %d", bi, tk.Symbol, tk.Volume, minTickVolume, maxTickVolume)
				}
			}
		}
		if len(spreads) < 3 {
			t.Errorf("the spread takes %d values over %d batches: it should vary", len(spreads), len(a))
		}
		again := simulate(t, 42, intervals)
		for bi := range a {
			for i := range a[bi] {
				x, y := a[bi][i], again[bi][i]
				if !x.Bid.Equal(y.Bid) || !x.Ask.Equal(y.Ask) || x.Volume != y.Volume {
					t.Fatalf("seed 42 gave %+v, then %+v: the sides must follow the seed", x, y)
				}
			}
		}
	})

	t.Run("every batch has one tick per instrument in catalogue order", func(t *testing.T) {
		for bi, b := range a {
			for i, tk := range b {
				if tk.Symbol != cat[i].Symbol {
					t.Fatalf("batch %d tick %d is %s, want %s", bi, i, tk.Symbol, cat[i].Symbol)
				}
			}
		}
	})

	t.Run("prices are positive cents moving at most 50bp per tick", func(t *testing.T) {
		half := decimal.RequireFromString("0.005")
		moved := false
		for bi := 1; bi < len(a); bi++ {
			for i, tk := range a[bi] {
				prev := a[bi-1][i].Price
				if !tk.Price.IsPositive() {
					t.Errorf("batch %d %s price %s not positive", bi, tk.Symbol, tk.Price)
				}
				if !tk.Price.Equal(tk.Price.Round(2)) {
					t.Errorf("batch %d %s price %s has more than 2 decimals", bi, tk.Symbol, tk.Price)
				}
				// |new-prev| <= prev*50/10000 + half a cent of rounding.
				limit := prev.Mul(decimal.NewFromInt(50)).Shift(-4).Add(half)
				if tk.Price.Sub(prev).Abs().GreaterThan(limit) {
					t.Errorf("batch %d %s moved %s -> %s, more than 50bp", bi, tk.Symbol, prev, tk.Price)
				}
				if !tk.Price.Equal(prev) {
					moved = true
				}
			}
		}
		if !moved {
			t.Error("no price ever moved")
		}
	})

	t.Run("same seed gives identical ticks", func(t *testing.T) {
		b := simulate(t, 42, intervals)
		for bi := range a {
			for i := range a[bi] {
				x, y := a[bi][i], b[bi][i]
				if x.Symbol != y.Symbol || !x.Price.Equal(y.Price) || !x.At.Equal(y.At) {
					t.Fatalf("batch %d tick %d: %+v vs %+v", bi, i, x, y)
				}
			}
		}
	})

	t.Run("different seeds differ", func(t *testing.T) {
		b := simulate(t, 43, intervals)
		same := true
		for bi := range a {
			for i := range a[bi] {
				if !a[bi][i].Price.Equal(b[bi][i].Price) {
					same = false
				}
			}
		}
		if same {
			t.Fatal("seeds 42 and 43 produced identical prices")
		}
	})

	t.Run("run returns nil promptly when ctx is cancelled while waiting", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		ctx, cancel := context.WithCancel(context.Background())
		ticks, done := run(ctx, NewSimulated(clock, 1, time.Second))
		recvTicks(t, ticks, len(cat))
		blockUntil(t, clock, 1)
		cancel()
		if err := waitDone(t, done); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	})

	t.Run("run returns nil when ctx is cancelled mid-batch", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		ctx, cancel := context.WithCancel(context.Background())
		ticks, done := run(ctx, NewSimulated(clock, 1, time.Second))
		recvTicks(t, ticks, 3)
		cancel() // the feed is now blocked in emit for the 4th tick
		if err := waitDone(t, done); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	})

	t.Run("emit error stops run and is returned", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		boom := errors.New("boom")
		calls := 0
		err := NewSimulated(clock, 1, time.Second).Run(context.Background(), func(context.Context, Tick) error {
			calls++
			if calls == 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want %v", err, boom)
		}
		if calls != 3 {
			t.Fatalf("emit called %d times, want 3", calls)
		}
	})
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name  string
		price string
		bp    int64
		want  string
	}{
		{"no move", "100.00", 0, "100.00"},
		{"up 50bp", "100.00", 50, "100.50"},
		{"down 50bp", "100.00", -50, "99.50"},
		{"rounds up above half a cent", "189.50", 1, "189.52"},     // 189.51895
		{"rounds down below half", "10.00", 3, "10.00"},            // 10.003
		{"rounds half a cent up", "10.00", 5, "10.01"},             // 10.005
		{"rounds half a cent up going down", "10.00", -5, "10.00"}, // 9.995
		{"never below one cent", "0.01", -50, "0.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walk(decimal.RequireFromString(tt.price), tt.bp)
			if got.StringFixed(2) != tt.want {
				t.Fatalf("walk(%s, %d) = %s, want %s", tt.price, tt.bp, got, tt.want)
			}
		})
	}
}

func TestManual(t *testing.T) {
	f := NewManual()
	t.Run("name and instruments", func(t *testing.T) {
		if f.Name() != "manual" {
			t.Errorf("Name() = %q", f.Name())
		}
		if got, want := len(f.Instruments()), len(Catalogue()); got != want {
			t.Errorf("%d instruments, want %d", got, want)
		}
	})
	t.Run("emits nothing and returns nil on cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		emitted := make(chan Tick, 1)
		done := make(chan error, 1)
		go func() {
			done <- f.Run(ctx, func(_ context.Context, tk Tick) error {
				emitted <- tk
				return nil
			})
		}()
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before cancel", err)
		default:
		}
		cancel()
		if err := waitDone(t, done); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		expectNoTick(t, emitted)
	})
}

const replayCSV = `timestamp,symbol,price
2025-01-02T14:30:00Z,aapl,185.64
2025-01-02T14:30:00Z, MSFT ,370.8700
2025-01-02T09:30:05-05:00,AAPL,185.7
2025-01-02T14:31:05.5Z,ZZZ.B,12.3456
`

func TestReplay(t *testing.T) {
	path := writeFile(t, replayCSV)

	t.Run("instruments are the catalogue plus file symbols", func(t *testing.T) {
		f, err := NewReplay(clockwork.NewFakeClockAt(t0), path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name() != "replay" {
			t.Errorf("Name() = %q", f.Name())
		}
		ins := f.Instruments()
		if got, want := len(ins), len(Catalogue())+1; got != want {
			t.Fatalf("%d instruments, want %d", got, want)
		}
		for i := 1; i < len(ins); i++ {
			if ins[i-1].Symbol >= ins[i].Symbol {
				t.Errorf("not sorted: %q before %q", ins[i-1].Symbol, ins[i].Symbol)
			}
		}
		var extra *Instrument
		for i := range ins {
			if ins[i].Symbol == "ZZZ.B" {
				extra = &ins[i]
			}
		}
		if extra == nil || extra.Name != "ZZZ.B" || extra.Reference.String() != "12.3456" {
			t.Fatalf("extra instrument = %+v, want ZZZ.B named ZZZ.B at 12.3456", extra)
		}
	})

	t.Run("header skipped and rows emitted in order as the clock reaches them", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		f, err := NewReplay(clock, path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ticks, done := run(ctx, f)

		check := func(tk Tick, sym, price string, at time.Time) {
			t.Helper()
			if tk.Symbol != sym || tk.Price.String() != price || !tk.At.Equal(at) {
				t.Fatalf("tick = %s %s at %v, want %s %s at %v", tk.Symbol, tk.Price, tk.At, sym, price, at)
			}
		}
		// Rows 1 and 2 share the first timestamp: both at once.
		first := recvTicks(t, ticks, 2)
		check(first[0], "AAPL", "185.64", t0)
		check(first[1], "MSFT", "370.87", t0)

		// Row 3 is 5s later (written in another zone).
		blockUntil(t, clock, 1)
		clock.Advance(5*time.Second - time.Nanosecond)
		expectNoTick(t, ticks)
		clock.Advance(time.Nanosecond)
		check(recvTicks(t, ticks, 1)[0], "AAPL", "185.7", t0.Add(5*time.Second))

		// Row 4 is 65.5s after the first row.
		blockUntil(t, clock, 1)
		clock.Advance(60 * time.Second)
		expectNoTick(t, ticks)
		clock.Advance(500 * time.Millisecond)
		check(recvTicks(t, ticks, 1)[0], "ZZZ.B", "12.3456", t0.Add(65500*time.Millisecond))

		if err := waitDone(t, done); err != nil {
			t.Fatalf("Run after last row = %v, want nil", err)
		}
	})

	t.Run("file without header", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		f, err := NewReplay(clock, writeFile(t, "2025-01-02T14:30:00Z,KO,62.4\n"))
		if err != nil {
			t.Fatal(err)
		}
		var got []Tick
		err = f.Run(context.Background(), func(_ context.Context, tk Tick) error {
			got = append(got, tk)
			return nil
		})
		if err != nil || len(got) != 1 || got[0].Symbol != "KO" || got[0].Price.String() != "62.4" {
			t.Fatalf("Run = %v, ticks %+v; want nil and one KO 62.4 tick", err, got)
		}
	})

	t.Run("cancel while waiting for a row returns nil", func(t *testing.T) {
		clock := clockwork.NewFakeClockAt(t0)
		f, err := NewReplay(clock, path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ticks, done := run(ctx, f)
		recvTicks(t, ticks, 2)
		blockUntil(t, clock, 1)
		cancel()
		if err := waitDone(t, done); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		expectNoTick(t, ticks)
	})

	t.Run("emit error stops run and is returned", func(t *testing.T) {
		f, err := NewReplay(clockwork.NewFakeClockAt(t0), path)
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		calls := 0
		err = f.Run(context.Background(), func(context.Context, Tick) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Fatalf("Run = %v after %d emits, want %v after 1", err, calls, boom)
		}
	})
}

func TestReplayBadFiles(t *testing.T) {
	const hdr = "timestamp,symbol,price\n"
	const ok = "2025-01-02T14:30:00Z,AAPL,185.64\n"
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"bad timestamp", hdr + ok + "2025-01-02 14:30:01,AAPL,185.64\n", []string{"line 3:", "timestamp", "RFC 3339"}},
		{"bad price", hdr + ok + "2025-01-02T14:30:01Z,AAPL,abc\n", []string{"line 3:", `price "abc"`}},
		{"five decimals", hdr + ok + "2025-01-02T14:30:01Z,AAPL,1.23456\n", []string{"line 3:", "more than 4 decimal places"}},
		{"negative price", hdr + ok + "2025-01-02T14:30:01Z,AAPL,-1.5\n", []string{"line 3:", "must be positive"}},
		{"zero price", ok + "2025-01-02T14:30:01Z,AAPL,0.00\n", []string{"line 2:", "must be positive"}},
		{"exponent price", ok + "2025-01-02T14:30:01Z,AAPL,1e3\n", []string{"line 2:", "plain decimal"}},
		{"out of order", hdr + ok + "2025-01-02T14:30:05Z,AAPL,1\n2025-01-02T14:30:04Z,AAPL,1\n", []string{"line 4:", "before the previous row"}},
		{"too few fields", hdr + ok + "2025-01-02T14:30:01Z,AAPL\n", []string{"line 3:", "want 3 fields", "got 2"}},
		{"too many fields", ok + "2025-01-02T14:30:01Z,AAPL,1,2\n", []string{"line 2:", "want 3 fields", "got 4"}},
		{"bad symbol", hdr + ok + "2025-01-02T14:30:01Z,AA-PL,1\n", []string{"line 3:", `symbol "AA-PL"`}},
		{"symbol too long", hdr + "2025-01-02T14:30:01Z,ABCDEFGHIJK,1\n", []string{"line 2:", "symbol"}},
		{"header not first", ok + hdr, []string{"line 2:", "timestamp"}},
		{"malformed csv", hdr + "2025-01-02T14:30:01Z,\"AAPL,1\n", []string{"line 2", "malformed CSV"}},
		{"header only", hdr, []string{"no price rows"}},
		{"unknown column", "timestamp,symbol,price,spread\n" + ok, []string{"line 1:", `unknown column "spread"`}},
		{"column twice", "timestamp,symbol,price,bid,bid\n" + ok, []string{"line 1:", `column "bid" appears twice`}},
		{"no price column", "timestamp,symbol,bid\n" + ok, []string{"line 1:", `column "price" is required`}},
		{"bid above price", "timestamp,symbol,price,bid,ask\n2025-01-02T14:30:01Z,AAPL,10,10.01,10.02\n", []string{"line 2:", "bid 10.01 is above the price 10"}},
		{"ask below price", "timestamp,symbol,price,bid,ask\n2025-01-02T14:30:01Z,AAPL,10,9.99,9.98\n", []string{"line 2:", "ask 9.98 is below the price 10"}},
		{"bad volume", "timestamp,symbol,price,volume\n2025-01-02T14:30:01Z,AAPL,10,1.5\n", []string{"line 2:", `volume "1.5" must be a whole number`}},
		{"zero volume", "timestamp,symbol,price,volume\n2025-01-02T14:30:01Z,AAPL,10,0\n", []string{"line 2:", `volume "0"`}},
		{"fields short of the header", "timestamp,symbol,price,bid,ask,volume\n2025-01-02T14:30:01Z,AAPL,10\n", []string{"line 2:", "want 6 fields (timestamp,symbol,price,bid,ask,volume), got 3"}},
		{"empty file", "", []string{"no price rows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			f, err := NewReplay(clockwork.NewFakeClock(), path)
			if err == nil {
				t.Fatalf("NewReplay = %v, want error", f.Name())
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSimulatedResumesFromKnownPrices(t *testing.T) {
	clock := clockwork.NewFakeClock()
	feed := NewSimulated(clock, 7, time.Second)
	feed.(Resumer).ResumeFrom(func(context.Context) map[string]decimal.Decimal {
		return map[string]decimal.Decimal{"AAPL": decimal.RequireFromString("123.45")}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := map[string]decimal.Decimal{}
	err := feed.Run(ctx, func(_ context.Context, tk Tick) error {
		first[tk.Symbol] = tk.Price
		if len(first) == len(Catalogue()) {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := first["AAPL"]; !got.Equal(decimal.RequireFromString("123.45")) {
		t.Errorf("AAPL starts at %s, want the known 123.45", got)
	}
	for _, in := range Catalogue() {
		if in.Symbol != "AAPL" && !first[in.Symbol].Equal(in.Reference) {
			t.Errorf("%s starts at %s, want its reference %s", in.Symbol, first[in.Symbol], in.Reference)
		}
	}
}

func TestReplayTwoSided(t *testing.T) {
	// The header names the columns, in any order; an empty cell leaves one
	// out.
	const csv = "symbol,timestamp,price,volume,ask,bid\n" +
		"AAPL,2025-01-02T14:30:00Z,185.64,1200,185.66,185.60\n" +
		"AAPL,2025-01-02T14:30:01Z,185.70,,,\n"
	rows, err := parseReplay(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	r := rows[0]
	if r.symbol != "AAPL" || r.price.String() != "185.64" || r.bid.String() != "185.6" || r.ask.String() != "185.66" || r.volume != 1200 {
		t.Errorf("row 1 = %+v, want AAPL 185.64 bid 185.60 ask 185.66 volume 1200", r)
	}
	if r := rows[1]; !r.bid.IsZero() || !r.ask.IsZero() || r.volume != 0 {
		t.Errorf("row 2 = %+v, want bid, ask and volume left out", r)
	}

	path := writeFile(t, csv)
	clock := clockwork.NewFakeClock()
	f, err := NewReplay(clock, path)
	if err != nil {
		t.Fatal(err)
	}
	var got []Tick
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	ticks := make(chan Tick, 2)
	go func() {
		done <- f.Run(ctx, func(_ context.Context, tk Tick) error { ticks <- tk; return nil })
	}()
	got = append(got, <-ticks)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	got = append(got, <-ticks)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if tk := got[0]; tk.Bid.String() != "185.6" || tk.Ask.String() != "185.66" || tk.Volume != 1200 {
		t.Errorf("tick 1 = %+v, want the row's bid, ask and volume", tk)
	}
	if tk := got[1]; !tk.Bid.IsZero() || !tk.Ask.IsZero() || tk.Volume != 0 {
		t.Errorf("tick 2 = %+v, want no bid, ask or volume (the service fills them in)", tk)
	}
}

// TestSimulatedRescalesOnSplit: once a split of AAPL (ratio 2) shows in
// SplitsFrom, the walk goes on from half its price (what the stored quote
// became), every other symbol as without it.
func TestSimulatedRescalesOnSplit(t *testing.T) {
	clock := clockwork.NewFakeClock()
	feed := NewSimulated(clock, 11, time.Second)
	var mu sync.Mutex
	ratios := map[string]decimal.Decimal{"MSFT": decimal.NewFromInt(3)} // split before the Run: its price is split already
	feed.(Splitter).SplitsFrom(func(context.Context) map[string]decimal.Decimal {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(ratios)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := make(chan map[string]decimal.Decimal)
	batch := map[string]decimal.Decimal{}
	done := make(chan error)
	go func() {
		done <- feed.Run(ctx, func(_ context.Context, tk Tick) error {
			batch[tk.Symbol] = tk.Price
			if len(batch) == len(Catalogue()) {
				batches <- batch
				batch = map[string]decimal.Decimal{}
			}
			return nil
		})
	}()
	first := <-batches
	mu.Lock()
	ratios["AAPL"] = decimal.NewFromInt(2)
	mu.Unlock()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	second := <-batches
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, pcgStream))
	for _, in := range Catalogue() {
		from := first[in.Symbol]
		if in.Symbol == "AAPL" {
			from = from.DivRound(decimal.NewFromInt(2), 2)
		}
		if want := walk(from, stepBP(r)); !second[in.Symbol].Equal(want) {
			t.Errorf("%s: second price %s, want %s (from %s)", in.Symbol, second[in.Symbol], want, from)
		}
	}
}

// TestReplayCorporateActions: action rows are read, validated, named by
// file and line, and handed to OnAction in file order between the ticks
// around them, on the clock; files without them read as before.
func TestReplayCorporateActions(t *testing.T) {
	content := "timestamp,symbol,price\n" +
		"2025-01-02T14:30:00Z,AAPL,180\n" +
		"2025-01-02T14:30:00Z,AAPL,split:2\n" +
		"2025-01-02T14:30:01Z,AAPL,90.5\n" +
		"2025-01-02T14:30:02Z,KO,DIVIDEND:0.25@2025-01-02T15:30:02Z\n" +
		"2025-01-02T14:30:02Z,KO,DIVIDEND:1.5\n"
	path := writeFile(t, content)
	clock := clockwork.NewFakeClockAt(t0)
	f, err := NewReplay(clock, path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	f.(ActionSource).OnAction(func(_ context.Context, a Action) error {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", a.Kind, a.Symbol, a.Value, a.PayAfter, a.Source))
		return nil
	})
	done := make(chan error)
	go func() {
		done <- f.Run(context.Background(), func(_ context.Context, tk Tick) error {
			got = append(got, "tick "+tk.Symbol+" "+tk.Price.String())
			return nil
		})
	}()
	blockUntil(t, clock, 1)
	clock.Advance(time.Second)
	blockUntil(t, clock, 1)
	clock.Advance(time.Second)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(path)
	want := []string{
		"tick AAPL 180",
		"SPLIT AAPL 2 0s replay:" + base + ":3",
		"tick AAPL 90.5",
		"DIVIDEND KO 0.25 1h0m0s replay:" + base + ":5",
		"DIVIDEND KO 1.5 0s replay:" + base + ":6",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Run gave\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	hdr, ok := "timestamp,symbol,price\n", "2025-01-02T14:30:00Z,AAPL,1\n"
	for _, tt := range []struct{ name, content, want string }{
		{"ratio one", hdr + ok + "2025-01-02T14:30:01Z,AAPL,SPLIT:1\n", "line 3: SPLIT ratio must not be 1"},
		{"ratio negative", hdr + ok + "2025-01-02T14:30:01Z,AAPL,SPLIT:-2\n", `line 3: SPLIT value "-2"`},
		{"amount too fine", hdr + ok + "2025-01-02T14:30:01Z,AAPL,DIVIDEND:0.00001\n", `line 3: DIVIDEND value "0.00001"`},
		{"pay before ex", hdr + ok + "2025-01-02T14:30:01Z,AAPL,DIVIDEND:1@2025-01-02T14:30:00Z\n", "line 3: DIVIDEND pay date"},
		{"unknown symbol", hdr + ok + "2025-01-02T14:30:01Z,NOPE,SPLIT:2\n", "line 3: SPLIT of NOPE"},
		{"more fields", hdr + ok + "2025-01-02T14:30:01Z,AAPL,SPLIT:2,5\n", "line 3: want 3 fields"},
		{"a volume beside it", "timestamp,symbol,price,volume\n" + "2025-01-02T14:30:00Z,AAPL,185.64,100\n" + "2025-01-02T14:30:01Z,AAPL,SPLIT:2,5\n",
			"line 3: a SPLIT row has nothing but its timestamp, symbol and action, got \"5\" in column volume"},
		{"a named header in another order", "symbol,price,timestamp,bid\n" + "AAPL,185.64,2025-01-02T14:30:00Z,185.6\n" + "AAPL,SPLIT:0,2025-01-02T14:30:01Z,\n",
			"line 3: SPLIT value \"0\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReplay(clockwork.NewFakeClock(), writeFile(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewReplay = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
