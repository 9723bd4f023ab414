package game_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// BenchmarkPlaceMarketOrder measures one market order end to end through
// the service on a real SQLite file: lock the room, check buying power,
// fill, write the order, cash, position and two events, commit.
func BenchmarkPlaceMarketOrder(b *testing.B) {
	h := newHarness(b)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice)
	h.price("AAPL", "100")
	side := []game.Side{game.SideBuy, game.SideSell}
	i := 0
	for b.Loop() {
		in := buy(room.ID, "AAPL", 1)
		in.Side = side[i%2]
		i++
		if o := h.order(alice, in); o.Status != game.OrderStatusFilled {
			b.Fatalf("order %s", o.Status)
		}
	}
}

// BenchmarkTickWithRestingOrders measures a price change that checks 200
// resting limit orders none of which it crosses.
func BenchmarkTickWithRestingOrders(b *testing.B) {
	h := newHarness(b)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice)
	h.price("AAPL", "100")
	for range 200 {
		h.order(alice, limit(buy(room.ID, "AAPL", 1), "50"))
	}
	prices := []string{"100.01", "100.02"}
	i := 0
	for b.Loop() {
		h.price("AAPL", prices[i%2])
		i++
	}
}

// BenchmarkTickFillingRestingOrders measures a price change that crosses
// and fills 50 resting limit buys of two participants (the orders are
// placed outside the timer, and the price moved back, each round).
func BenchmarkTickFillingRestingOrders(b *testing.B) {
	h := newHarness(b)
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, alice, bob)
	h.price("AAPL", "100")
	for b.Loop() {
		b.StopTimer()
		for i := range 50 {
			who := alice
			if i%2 == 1 {
				who = bob
			}
			h.order(who, limit(buy(room.ID, "AAPL", 1), "99"))
		}
		b.StartTimer()
		h.price("AAPL", "98")
		b.StopTimer()
		h.price("AAPL", "100")
		b.StartTimer()
	}
}

// BenchmarkPlaceMarketOrdersConcurrent measures durable market orders
// placed flat out by 100 goroutines, one per trader, in 20 rooms of 5
// traders, on a real SQLite file and on PostgreSQL: orders/s and the
// latency of one order (p50, p99). This is where group commit pays.
func BenchmarkPlaceMarketOrdersConcurrent(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		b.Run(backend, func(b *testing.B) {
			benchConcurrentOrders(b, openHarnessDSN(b, dbtest.Open(b, backend), clockwork.NewFakeClockAt(t0)))
		})
	}
}

func benchConcurrentOrders(b *testing.B, h *harness) {
	const rooms, traders = 20, 5
	owner := h.user("owner")
	type seat struct {
		user *game.User
		room int64
	}
	var seats []seat
	for r := range rooms {
		players := make([]*game.User, traders)
		for i := range players {
			players[i] = h.user(fmt.Sprintf("trader%d-%d", r, i))
		}
		room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000000000") }, players...)
		for _, p := range players {
			seats = append(seats, seat{p, room.ID})
		}
	}
	h.price("AAPL", "100")
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.SetParallelism((len(seats) + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		s := seats[int(next.Add(1)-1)%len(seats)]
		side := []game.Side{game.SideBuy, game.SideSell}
		var mine []time.Duration
		for i := 0; pb.Next(); i++ {
			in := buy(s.room, "AAPL", 1)
			in.Side = side[i%2]
			t := time.Now()
			o, err := h.svc.PlaceOrder(h.ctx, s.user, in)
			mine = append(mine, time.Since(t))
			if err != nil || o.Status != game.OrderStatusFilled {
				b.Errorf("order: %v %v", err, o)
				return
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if g, ok := any(h.store).(interface{ GroupCommits() (int64, int64) }); ok {
		if batches, changes := g.GroupCommits(); batches > 0 {
			b.ReportMetric(float64(changes)/float64(batches), "orders/commit")
		}
	}
	slices.Sort(latencies)
	if len(latencies) > 0 {
		at := func(q float64) float64 {
			return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "orders/s")
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
	}
}

// BenchmarkLeaderboardRound5000 measures a leaderboard round of a room of
// 5,000 participants, half of them holding a position, on a real SQLite
// file. write-ms/op is how long the round holds the room and SQLite's one
// writer, which is what orders wait for: "prepared" reads, ranks and
// encodes on a read snapshot first (prepare-ms/op) and holds the writer
// only to store; "in-write" does all of it holding the writer, as rounds
// did before.
func BenchmarkLeaderboardRound5000(b *testing.B) {
	h := newHarness(b)
	owner := h.user("owner")
	room := h.activeRoom(owner, nil)
	h.price("AAPL", "100")
	for i := range 5000 {
		u := h.user(fmt.Sprintf("p%04d", i))
		h.join(u, room.ID)
		if i%2 == 0 {
			h.order(u, buy(room.ID, "AAPL", int64(1+i%7)))
		}
	}
	ms := func(d time.Duration, n int) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	b.Run("prepared", func(b *testing.B) {
		var prepare, write time.Duration
		n := 0
		for b.Loop() {
			start := time.Now()
			p, err := h.svc.PrepareSnapshot(h.ctx, room.ID, true)
			if err != nil || p == nil {
				b.Fatalf("prepare: %v, %v", p, err)
			}
			mid := time.Now()
			if stored, err := h.svc.StorePrepared(h.ctx, p); err != nil || !stored {
				b.Fatalf("store: %v, %v", stored, err)
			}
			prepare, write = prepare+mid.Sub(start), write+time.Since(mid)
			n++
		}
		b.ReportMetric(ms(prepare, n), "prepare-ms/op")
		b.ReportMetric(ms(write, n), "write-ms/op")
	})
	b.Run("in-parts", func(b *testing.B) {
		// Stored as a round stores it: in parts of DefaultSnapshotPart,
		// each a write of its own. longest-write is the longest any one
		// of them (the first with the row, a part, or the last with the
		// aggregates and the event) held the writer.
		var longest, total time.Duration
		var last time.Time
		h.svc.StoreInParts(game.DefaultSnapshotPart, func(int64) {
			now := time.Now()
			longest, last = max(longest, now.Sub(last)), now
		})
		defer h.svc.StoreInParts(game.DefaultSnapshotPart, nil)
		n := 0
		for b.Loop() {
			p, err := h.svc.PrepareSnapshot(h.ctx, room.ID, true)
			if err != nil || p == nil {
				b.Fatalf("prepare: %v, %v", p, err)
			}
			start := time.Now()
			last = start
			if entries, err := h.svc.StoreRound(h.ctx, p); err != nil || entries != 5000 {
				b.Fatalf("store: %d entries, %v", entries, err)
			}
			longest = max(longest, time.Since(last)) // the last write
			total += time.Since(start)
			n++
		}
		b.ReportMetric(ms(longest, 1), "longest-write-ms")
		b.ReportMetric(ms(total, n), "writes-ms/op")
	})
	b.Run("in-write", func(b *testing.B) {
		var write time.Duration
		n := 0
		for b.Loop() {
			start := time.Now()
			if err := h.svc.SnapshotInWrite(h.ctx, room.ID); err != nil {
				b.Fatal(err)
			}
			write += time.Since(start)
			n++
		}
		b.ReportMetric(ms(write, n), "write-ms/op")
	})
}
