package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/internal/testbin"
	"github.com/bullpen/bullpen/market"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestCrashLoop kills the server BULLPEN_CRASH_KILLS times (default 30) on
// each engine while it trades, and checks everything after each restart.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and kills it many times")
	}
	kills := testbin.EnvCount(t, "BULLPEN_CRASH_KILLS", 30)
	bin := testbin.Build(t)
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			st, err := runLoop(ctx, loopConfig{Bin: bin, DB: dbtest.Open(t, backend), Kills: kills, Traders: 4,
				MaxKill: 400 * time.Millisecond, LogDir: t.TempDir(), MidnightIn: 5 * time.Second}, testWriter{t})
			if st != nil {
				t.Log(summary(st))
			}
			if err != nil {
				t.Fatal(err)
			}
			// The loop did what it is for.
			if st.Kills != kills || st.Checks != kills || st.OrdersKept == 0 || st.LiveEvents == 0 || st.DueMoves == 0 ||
				st.Cancels == 0 || st.Resends == 0 || st.Quotes == 0 || st.EventsChecked < st.LiveEvents || st.Accruals == 0 || st.CorpEvents == 0 || st.DividendLines == 0 {
				t.Fatalf("the loop did too little: %+v", st)
			}
		})
	}
}

// TestLeaderFailover kills the price-producing leader of two instances on
// one PostgreSQL database BULLPEN_CRASH_FAILOVERS times (default 3).
func TestLeaderFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs two instances")
	}
	kills := testbin.EnvCount(t, "BULLPEN_CRASH_FAILOVERS", 3)
	dsn := dbtest.Postgres(t)
	bin := testbin.Build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := runFailover(ctx, failoverConfig{Bin: bin, DB: dsn, Kills: kills, LogDir: t.TempDir(), Progress: true}, testWriter{t})
	if st != nil {
		t.Log(st)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs != kills+1 || st.Ticks < (kills+1)*len(market.Catalogue()) {
		t.Fatalf("too few runs or ticks: %+v", st)
	}
}

// ticksOf makes the log a leader that resumed from resume writes: batches
// full batches, then cut of the next.
func ticksOf(writer string, seed int64, resume map[string]decimal.Decimal, batches, cut int, id *int64, at *time.Time) []tick {
	ins := market.Catalogue()
	walk := expectedWalk(seed, resume, batches+1)
	var out []tick
	for b := range batches + 1 {
		for i, in := range ins {
			if b == batches && i >= cut {
				break
			}
			*id++
			*at = at.Add(time.Millisecond)
			out = append(out, tick{id: *id, symbol: in.Symbol, price: walk[in.Symbol][b], at: *at, writer: writer, loggedAt: *at})
		}
	}
	return out
}

func lastPrices(ticks []tick) map[string]decimal.Decimal {
	m := map[string]decimal.Decimal{}
	for _, t := range ticks {
		m[t.symbol] = t.price
	}
	return m
}

// TestCheckTicks shows that the failover rule passes a clean log and
// catches each way a takeover can go wrong.
func TestCheckTicks(t *testing.T) {
	const seed = 7
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clean := func() ([]tick, []string, []time.Time) {
		var id int64
		at := t0
		a := ticksOf("a", seed, nil, 2, 5, &id, &at)
		kill := at.Add(time.Millisecond)
		at = at.Add(time.Second)
		b := ticksOf("b", seed, lastPrices(a), 3, 0, &id, &at)
		return append(a, b...), []string{"a"}, []time.Time{kill}
	}
	t.Run("Clean", func(t *testing.T) {
		ticks, killed, at := clean()
		st := &failoverStats{}
		if f := checkTicks(ticks, killed, at, seed, st); len(f) > 0 {
			t.Fatalf("a clean log: %v", f)
		}
		if st.Runs != 2 || st.CutBatches != 1 || st.Batches[0] != 2 || st.Batches[1] != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
	for _, tc := range []struct {
		name    string
		corrupt func([]tick) []tick
		want    string
	}{
		{"DoubledTick", func(ts []tick) []tick {
			// b repeats one of its ticks.
			i := len(ts) - 40
			return append(ts[:i+1:i+1], append([]tick{ts[i]}, ts[i+1:]...)...)
		}, "a doubled tick"},
		{"LostTick", func(ts []tick) []tick {
			n := len(market.Catalogue())
			for i := n; i+n < len(ts); i++ { // drop an AAPL of b's between two others
				if ts[i].symbol == "AAPL" && ts[i].writer == "b" && ts[i-n].writer == "b" && ts[i+n].writer == "b" {
					return append(ts[:i:i], ts[i+1:]...)
				}
			}
			panic("no tick to drop")
		}, "a lost tick"},
		{"NoResume", func(ts []tick) []tick {
			// b starts from the references instead of a's last prices.
			var id int64
			at := t0.Add(time.Hour)
			var a []tick
			for _, x := range ts {
				if x.writer == "a" {
					a = append(a, x)
				}
			}
			return append(a, ticksOf("b", seed, nil, 2, 0, &id, &at)...)
		}, "resume"},
		{"TwoProducers", func(ts []tick) []tick {
			// a writes again after b took over.
			x := ts[0]
			x.writer = "a"
			return append(ts, x)
		}, "two producers"},
		{"WrongLeaderKilled", func(ts []tick) []tick {
			for i := range ts {
				ts[i].writer = map[string]string{"a": "b", "b": "a"}[ts[i].writer]
			}
			return ts
		}, "was the leader killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ticks, killed, at := clean()
			f := checkTicks(tc.corrupt(ticks), killed, at, seed, &failoverStats{})
			if len(f) == 0 || !strings.Contains(strings.Join(f, "\n"), tc.want) {
				t.Fatalf("findings %q, want one about %q", f, tc.want)
			}
		})
	}
}

func dec(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func TestRestingAcross(t *testing.T) {
	for _, tc := range []struct {
		side, typ   string
		limit, stop *decimal.Decimal
		price       string
		want        bool
	}{
		{"BUY", "LIMIT", dec("100"), nil, "100.01", false},
		{"BUY", "LIMIT", dec("100"), nil, "100", true},
		{"SELL", "LIMIT", dec("100"), nil, "99.99", false},
		{"SELL", "LIMIT", dec("100"), nil, "100", true},
		{"BUY", "STOP", nil, dec("100"), "99.99", false},
		{"BUY", "STOP", nil, dec("100"), "100", true},
		{"SELL", "STOP", nil, dec("100"), "100.01", false},
		{"SELL", "STOP", nil, dec("100"), "100", true},
		{"SELL", "STOP_LIMIT", dec("99"), dec("100"), "99.5", true},  // triggered and fillable
		{"SELL", "STOP_LIMIT", dec("99"), dec("100"), "98.5", false}, // triggered, limit not reached
		{"SELL", "STOP_LIMIT", dec("99"), dec("100"), "101", false},  // maybe triggered before: unknown
		{"BUY", "STOP_LIMIT", dec("101"), dec("100"), "100.5", true},
		{"BUY", "MARKET", nil, nil, "1", true},
	} {
		o := &orderState{Side: tc.side, Type: tc.typ, LimitPrice: tc.limit, StopPrice: tc.stop}
		if got := restingAcross(o, decimal.RequireFromString(tc.price)); got != tc.want {
			t.Errorf("%s %s limit %v stop %v at %s: %v, want %v", tc.side, tc.typ, tc.limit, tc.stop, tc.price, got, tc.want)
		}
	}
}

func TestLegalMove(t *testing.T) {
	at := "2026-01-01T00:00:00.000Z"
	open := &orderState{ID: "1", Status: "OPEN", CreatedAt: "c"}
	filled := &orderState{ID: "1", Status: "FILLED", CreatedAt: "c", FilledQuantity: 5, FilledPrice: dec("10"), FilledAt: &at, Commission: decimal.NewFromInt(1)}
	refilled := *filled
	refilled.FilledPrice = dec("11")
	cancelled := &orderState{ID: "1", Status: "CANCELLED", CreatedAt: "c"}
	other := &orderState{ID: "2", Status: "OPEN", CreatedAt: "c"}
	for _, tc := range []struct {
		name string
		a, b *orderState
		ok   bool
	}{
		{"OpenStays", open, open, true},
		{"OpenFills", open, filled, true},
		{"OpenCancels", open, cancelled, true},
		{"FilledStays", filled, filled, true},
		{"FilledReopens", filled, open, false},
		{"FilledAtAnotherPrice", filled, &refilled, false},
		{"CancelledFills", cancelled, filled, false},
		{"AnotherOrder", open, other, false},
	} {
		if why := legalMove(tc.a, tc.b); (why == "") != tc.ok {
			t.Errorf("%s: %q", tc.name, why)
		}
	}
}
