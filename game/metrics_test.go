package game_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestMetricsHandComputed plays a room on both engines and checks every
// metric against this hand-computed example.
//
// Starting cash 100000, commission 0. The player buys 1000 AAPL at 100
// (value 100000, cash 0), then the price moves and a snapshot is taken
// after each move:
//
//	price    value    return r_i = (V_i - V_i-1)/V_i-1   drawdown from peak
//	110      110000   (110000-100000)/100000 =  0.1      0 (new peak 110000)
//	99        99000   (99000-110000)/110000  = -0.1      11000/110000 = 10%
//	108.9    108900   (108900-99000)/99000   =  0.1      1100/110000  = 1%
//	104.544  104544   (104544-108900)/108900 = -0.04     5456/110000  = 4.96%
//
// n = 4, sum = 0.06, sum of squares = 0.01+0.01+0.01+0.0016 = 0.0316.
// mean = 0.015. Sample variance = (n*sumSq - sum^2)/(n(n-1))
// = (0.1264 - 0.0036)/12 = 0.1228/12 = 0.0102333...
// stddev = sqrt(0.0102333...) = 0.10115993936995678..., truncated to 12
// places 0.101159939369.
// maxDrawdownPercent = 10.0000; volatilityPercent = 10.115993936900 ->
// 10.1160; sharpeRatio = 0.015/0.101159939369 = 0.148280041... -> 0.1483.
// At the fourth snapshot: totalReturn 4544, returnPercent 4.544, one fill
// (the opening buy), no closing fill so winRate null.
//
// Then, with no further snapshot, the player sells 400 at 104.544 (realized
// 400 x 4.544 = 1817.6 > 0: a win), 300 at 90 (-3000: a loss) and 300 at
// 100 (0: not a win). tradeCount = 4, closing fills 3, wins 1: winRate =
// 1/3 x 100 = 33.3333. Cash = 41817.6 + 27000 + 30000 = 98817.6, so the
// live totalReturn is -1182.4 and returnPercent -1.1824; the history
// figures stay those of the fourth snapshot.
func TestMetricsHandComputed(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, player := h.user("owner"), h.user("player")
			h.price("AAPL", "100")
			room := h.activeRoom(owner, nil, player)
			h.order(player, buy(room.ID, "AAPL", 1000))
			for _, p := range []string{"110", "99", "108.9", "104.544"} {
				h.price("AAPL", p)
				h.clock.Advance(time.Second)
				if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
					t.Fatal(err)
				}
			}
			snaps, err := h.store.Snapshots(h.ctx, room.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 4 {
				t.Fatalf("%d snapshots, want 4 (one per price)", len(snaps))
			}
			want := metricsWant{totalReturn: "4544", returnPercent: "4.544", maxDrawdown: "10", volatility: "10.116",
				sharpe: "0.1483", tradeCount: 1, winRate: ""}
			want.check(t, "latest snapshot", snaps[0].Entries[0].Metrics)

			// The event carries the same figures: a replay shows them.
			evs := h.events(room.ID)
			last := evs[len(evs)-1]
			if last.Kind != game.EventLeaderboard {
				t.Fatalf("last event is %s, want LEADERBOARD", last.Kind)
			}
			var payload game.LeaderboardPayload
			mustUnmarshal(t, last.Payload, &payload)
			want.check(t, "leaderboard event", payload.Snapshot.Entries[0].Metrics)

			h.order(player, sell(room.ID, "AAPL", 400))
			h.price("AAPL", "90")
			h.order(player, sell(room.ID, "AAPL", 300))
			h.price("AAPL", "100")
			h.order(player, sell(room.ID, "AAPL", 300))
			view, err := h.svc.View(h.ctx, player, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			me := h.participant(room.ID, player)
			val, err := view.Standing(h.ctx, me)
			if err != nil {
				t.Fatal(err)
			}
			m, err := view.Metrics(h.ctx, me, val.PortfolioValue)
			if err != nil {
				t.Fatal(err)
			}
			metricsWant{totalReturn: "-1182.4", returnPercent: "-1.1824", maxDrawdown: "10", volatility: "10.116",
				sharpe: "0.1483", tradeCount: 4, winRate: "33.3333"}.check(t, "Participant.metrics", *m)
		})
	}
}

type metricsWant struct {
	totalReturn, returnPercent, maxDrawdown, volatility, sharpe string
	tradeCount                                                  int
	winRate                                                     string // "": null
}

func (w metricsWant) check(t *testing.T, what string, m game.PerformanceMetrics) {
	t.Helper()
	assertDec(t, what+" totalReturn", m.TotalReturn, w.totalReturn)
	assertDec(t, what+" returnPercent", m.ReturnPercent, w.returnPercent)
	assertDec(t, what+" maxDrawdownPercent", m.MaxDrawdownPercent, w.maxDrawdown)
	assertOptDec(t, what+" volatilityPercent", m.VolatilityPercent, w.volatility)
	assertOptDec(t, what+" sharpeRatio", m.SharpeRatio, w.sharpe)
	assertOptDec(t, what+" winRate", m.WinRate, w.winRate)
	if m.TradeCount != w.tradeCount {
		t.Errorf("%s tradeCount = %d, want %d", what, m.TradeCount, w.tradeCount)
	}
}

// assertOptDec checks a nullable decimal; want "" means null. The scale
// must match too (4 places for ratios), not only the value.
func assertOptDec(t *testing.T, what string, got *decimal.Decimal, want string) {
	t.Helper()
	switch {
	case want == "" && got != nil:
		t.Errorf("%s = %s, want null", what, got)
	case want != "" && got == nil:
		t.Errorf("%s = null, want %s", what, want)
	case want != "" && !got.Equal(dec(want)):
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// TestMetricsScheduledSnapshotsAreNotObserved: snapshots of a room before
// it starts (joins mark it stale) take no value into the history.
func TestMetricsScheduledSnapshotsAreNotObserved(t *testing.T) {
	h := newHarness(t)
	owner, player := h.user("owner"), h.user("player")
	room := h.room(owner, nil)
	h.join(player, room.ID)
	if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
		t.Fatal(err)
	}
	if snaps, err := h.store.Snapshots(h.ctx, room.ID, 10); err != nil || len(snaps) != 1 {
		t.Fatalf("%d snapshots (%v), want the one of the join", len(snaps), err)
	}
	if _, err := h.store.Track(h.ctx, h.participant(room.ID, player).ID); game.ErrorCode(err) != game.ENOTFOUND {
		t.Errorf("a SCHEDULED room's snapshot stored a track (%v)", err)
	}
}

// TestRankBySharpe: SHARPE ranks by sharpeRatio, participants without one
// last, then by portfolio value; a tie (equal ratio and value) shares a
// rank. Each track holds one return r1 and the snapshot adds r2, so with
// n = 2 the sample stddev is |r1 - r2|/sqrt(2) and
// sharpe = (r1 + r2) / (sqrt(2)|r1 - r2|):
//
//	P1 (0.1, 0.3): 110000 -> 143000, var 0.02, sd 0.141421356237, sharpe 1.41421... -> 1.4142
//	P2 (0.2, 0.6): 120000 -> 192000, var 0.08, sd 0.282842712474, sharpe 1.41421... -> 1.4142
//	P3 as P1, joined later (a tie with P1: same ratio, same value)
//	P4 (0.1, -0.1): 110000 -> 99000, mean 0: sharpe 0
//	P5, P6: no history yet, one return only: sharpe null; values 200000, 50000
//
// SHARPE: P2 1 (same ratio as P1 but more value), P1 2, P3 2, P4 4, P5 5, P6 6.
// RETURN: P5 1, P2 2, P1 3, P3 3, P4 5, P6 6.
func TestRankBySharpe(t *testing.T) {
	start := dec("100000")
	joined := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	withReturn := func(r1, sq, last string) game.Track {
		return game.Track{Observed: 1, Returns: 1, SumReturns: dec(r1), SumSquares: dec(sq), Peak: dec(last), LastValue: dec(last)}
	}
	standing := func(id int64, cash string, track game.Track) game.Standing {
		return game.Standing{ParticipantID: id, UserID: id, JoinedAt: joined.Add(time.Duration(id) * time.Minute), Cash: dec(cash), Track: track}
	}
	standings := []game.Standing{
		standing(6, "50000", game.Track{}),
		standing(4, "99000", withReturn("0.1", "0.01", "110000")),
		standing(3, "143000", withReturn("0.1", "0.01", "110000")),
		standing(1, "143000", withReturn("0.1", "0.01", "110000")),
		standing(5, "200000", game.Track{}),
		standing(2, "192000", withReturn("0.2", "0.04", "120000")),
	}
	type line struct {
		rank int
		id   int64
	}
	lines := func(es []game.LeaderboardEntry) []line {
		out := make([]line, len(es))
		for i, e := range es {
			out[i] = line{e.Rank, e.ParticipantID}
		}
		return out
	}
	sharpe := game.RankBy(game.RankSharpe, start, standings, true)
	if got, want := lines(sharpe), []line{{1, 2}, {2, 1}, {2, 3}, {4, 4}, {5, 5}, {6, 6}}; !slices.Equal(got, want) {
		t.Errorf("SHARPE ranking %v, want %v", got, want)
	}
	ratios := map[int64]string{1: "1.4142", 2: "1.4142", 3: "1.4142", 4: "0", 5: "", 6: ""}
	for _, e := range sharpe {
		assertOptDec(t, fmt.Sprint("sharpeRatio of participant ", e.ParticipantID), e.Metrics.SharpeRatio, ratios[e.ParticipantID])
	}
	if got, want := lines(game.RankBy(game.RankReturn, start, standings, true)), []line{{1, 5}, {2, 2}, {3, 1}, {3, 3}, {5, 4}, {6, 6}}; !slices.Equal(got, want) {
		t.Errorf("RETURN ranking %v, want %v", got, want)
	}
}

// TestRankBySharpeRoom: a room created with rankBy SHARPE stores it and
// its snapshots rank by the ratio: the steadier player ranks first though
// the other ends richer.
//
// Each player puts all their cash in one symbol (1000 shares at 100):
//
//	snapshot  AAPL (steady)  MSFT (swing)
//	1         101 -> +1%     120 -> +20%
//	2         102 -> +0.990099...% 108 -> -10%
//	3         103 -> +0.980392...% 130 -> +20.370370...%
//
// Steady: returns 0.01, 0.0099009901, 0.0098039216 (10 places); tiny
// spread, huge sharpe. Swing: 0.2, -0.1, 0.2037037037; sharpe about 0.57.
// Swing ends at 130000 against Steady's 103000, yet ranks second.
func TestRankBySharpeRoom(t *testing.T) {
	h := newHarness(t)
	owner, steady, swing := h.user("owner"), h.user("steady"), h.user("swing")
	h.price("AAPL", "100")
	h.price("MSFT", "100")
	sharpe := game.RankSharpe
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.RankBy = &sharpe }, steady, swing)
	if room.RankBy != game.RankSharpe {
		t.Fatalf("rankBy %q, want SHARPE", room.RankBy)
	}
	if stored, err := h.store.BullPen(h.ctx, room.ID); err != nil || stored.RankBy != game.RankSharpe {
		t.Fatalf("stored rankBy %v (%v), want SHARPE", stored, err)
	}
	h.order(steady, buy(room.ID, "AAPL", 1000))
	h.order(swing, buy(room.ID, "MSFT", 1000))
	for _, p := range [][2]string{{"101", "120"}, {"102", "108"}, {"103", "130"}} {
		h.price("AAPL", p[0])
		h.price("MSFT", p[1])
		h.clock.Advance(time.Second)
		if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	first, second := snap.Entries[0], snap.Entries[1]
	if first.UserID != steady.ID || first.Rank != 1 || second.UserID != swing.ID || second.Rank != 2 {
		t.Errorf("ranking %+v / %+v, want steady 1, swing 2", first, second)
	}
	if !second.PortfolioValue.GreaterThan(first.PortfolioValue) {
		t.Errorf("swing %s should be richer than steady %s for this test to mean anything", second.PortfolioValue, first.PortfolioValue)
	}
	if first.Metrics.SharpeRatio == nil || second.Metrics.SharpeRatio == nil || !first.Metrics.SharpeRatio.GreaterThan(*second.Metrics.SharpeRatio) {
		t.Errorf("sharpe ratios %v and %v", first.Metrics.SharpeRatio, second.Metrics.SharpeRatio)
	}
	if _, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "x", EndsAt: h.clock.Now().Add(time.Hour), RankBy: ptr(game.RankMetric("SORTINO"))}); game.ErrorCode(err) != game.EINVALID {
		t.Errorf("rankBy SORTINO: %v, want BAD_USER_INPUT", err)
	}
}

// TestDownsample: bucket last-value keeps the first and last points and
// the last of each of points-2 buckets between.
func TestDownsample(t *testing.T) {
	series := func(n int) []game.EquityPoint {
		ps := make([]game.EquityPoint, n)
		for i := range ps {
			ps[i] = game.EquityPoint{At: t0.Add(time.Duration(i) * time.Second), PortfolioValue: decimal.NewFromInt(int64(i))}
		}
		return ps
	}
	values := func(ps []game.EquityPoint) []int64 {
		out := make([]int64, len(ps))
		for i, p := range ps {
			out[i] = p.PortfolioValue.IntPart()
		}
		return out
	}
	tests := []struct {
		name   string
		n, max int
		want   []int64
	}{
		{"FewerThanPoints", 3, 5, []int64{0, 1, 2}},
		{"Exactly", 4, 4, []int64{0, 1, 2, 3}},
		// Inner 1..8 (8 points) in 2 buckets: 1-4, 5-8.
		{"TwoBuckets", 10, 4, []int64{0, 4, 8, 9}},
		// Inner 1..9 (9 points) in 3 buckets of 3: 1-3, 4-6, 7-9.
		{"EvenBuckets", 11, 5, []int64{0, 3, 6, 9, 10}},
		// Inner 1..8 in 3 buckets: [0,2) [2,5) [5,8) of inner = 1-2, 3-5, 6-8.
		{"UnevenBuckets", 10, 5, []int64{0, 2, 5, 8, 9}},
		{"FirstAndLast", 10, 2, []int64{0, 9}},
		{"OnePointIsTheLatest", 10, 1, []int64{9}},
		{"Empty", 0, 5, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := values(game.Downsample(series(tt.n), tt.max)); !slices.Equal(got, tt.want) {
				t.Errorf("Downsample(%d points, %d) = %v, want %v", tt.n, tt.max, got, tt.want)
			}
		})
	}
}

// TestCloneBullPenCopiesEverySetting: the clone has every setting of the
// original, new times and a new invite code, and starts SCHEDULED with no
// participants; only the owner may clone. It compares whole BullPen rows,
// so a setting added to BullPen is checked too once the original below
// sets it.
func TestCloneBullPenCopiesEverySetting(t *testing.T) {
	h := newHarness(t)
	owner, other := h.user("owner"), h.user("other")
	private, public, sharpe := game.VisibilityPrivate, game.TradesPublic, game.RankSharpe
	orig := h.room(owner, func(in *game.CreateBullPenInput) {
		in.Name, in.Description = "Friday cup", ptr("Bring your best")
		in.StartingCash, in.Commission, in.AllowShortSelling = decp("25000.50"), decp("1.25"), ptr(true)
		in.AllowedSymbols, in.MaxParticipants = []string{"MSFT", "AAPL"}, ptr(12)
		in.Visibility, in.TradeVisibility, in.RankBy = &private, &public, &sharpe
		in.MaxPositionPercent, in.MinSharePrice = decp("25"), decp("5.50")
		in.MaxOrdersPerMinute, in.MaxOpenOrders = ptr(30), ptr(7)
		in.CashInterestPercent, in.MarginInterestPercent, in.BorrowFeePercent = decp("2.5"), decp("9.75"), decp("0")
	})
	if !orig.CarryingCosts.Any() {
		t.Fatalf("the original room lost its carrying costs: %+v", orig.CarryingCosts)
	}
	if orig.MaxPositionPercent == nil || orig.MinSharePrice == nil || orig.MaxOrdersPerMinute == nil || orig.MaxOpenOrders == nil {
		t.Fatalf("the original room lost its rules: %+v", orig.Rules)
	}
	if _, err := h.svc.JoinBullPen(h.ctx, other, orig.ID, &orig.InviteCode); err != nil {
		t.Fatal(err)
	}
	orig, err := h.svc.Move(h.ctx, owner, orig.ID, game.RoomActive)
	if err != nil {
		t.Fatal(err)
	}
	starts, ends := h.clock.Now().Add(48*time.Hour), h.clock.Now().Add(72*time.Hour)
	clone, err := h.svc.CloneBullPen(h.ctx, owner, orig.ID, &starts, ends)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.store.BullPen(h.ctx, clone.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*game.BullPen{clone, stored} {
		// Everything but identity, state, times, sequence and invite code
		// is the original's: compare the whole rows with those blanked.
		want, got := *orig, *b
		for _, r := range []*game.BullPen{&want, &got} {
			r.ID, r.State, r.StartsAt, r.EndsAt, r.LastSequence, r.InviteCode, r.CreatedAt = 0, "", time.Time{}, time.Time{}, 0, "", time.Time{}
		}
		if gb, _ := json.Marshal(got); string(gb) != mustJSON(t, want) {
			t.Errorf("clone settings\n got %s\nwant %s", gb, mustJSON(t, want))
		}
		if b.ID == orig.ID || b.State != game.RoomScheduled || !b.StartsAt.Equal(starts) || !b.EndsAt.Equal(ends) || b.InviteCode == orig.InviteCode || b.InviteCode == "" {
			t.Errorf("clone id %d state %s times %s-%s invite %q (original %d, %q)", b.ID, b.State, b.StartsAt, b.EndsAt, b.InviteCode, orig.ID, orig.InviteCode)
		}
	}
	if n, err := h.store.ParticipantCount(h.ctx, clone.ID); err != nil || n != 0 {
		t.Errorf("clone has %d participants (%v), want 0", n, err)
	}
	_, err = h.svc.CloneBullPen(h.ctx, other, orig.ID, nil, ends)
	assertCode(t, err, game.EFORBIDDEN)
	_, err = h.svc.CloneBullPen(h.ctx, h.user("outsider"), orig.ID, nil, ends)
	assertCode(t, err, game.ENOTFOUND)
	_, err = h.svc.CloneBullPen(h.ctx, nil, orig.ID, nil, ends)
	assertCode(t, err, game.EUNAUTHENTICATED)
	_, err = h.svc.CloneBullPen(h.ctx, owner, orig.ID, &ends, starts)
	assertCode(t, err, game.EINVALID)
	_, err = h.svc.CloneBullPen(h.ctx, owner, orig.ID, nil, h.clock.Now().Add(-time.Hour))
	assertCode(t, err, game.EINVALID)
	// Without startsAt the rematch starts at once, as createBullPen's does.
	now, err := h.svc.CloneBullPen(h.ctx, owner, orig.ID, nil, ends)
	if err != nil || now.State != game.RoomActive {
		t.Errorf("clone without startsAt: %+v (%v), want ACTIVE", now, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEquityHistory: a participant's value at each snapshot, filtered by
// from and to (inclusive) and downsampled, with bad arguments refused.
func TestEquityHistory(t *testing.T) {
	h := newHarness(t)
	owner, player := h.user("owner"), h.user("player")
	h.price("AAPL", "100")
	room := h.activeRoom(owner, nil, player)
	h.order(player, buy(room.ID, "AAPL", 1000)) // cash 0: value = 1000 x price
	start := h.clock.Now()
	for i := 1; i <= 6; i++ { // snapshot i at start + i minutes, value 1000 x (100 + i)
		h.price("AAPL", fmt.Sprint(100+i))
		h.clock.Advance(time.Minute)
		if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	at := func(i int) *time.Time { return ptr(start.Add(time.Duration(i) * time.Minute)) }
	view, err := h.svc.View(h.ctx, nil, room.ID) // anonymous: the room is PUBLIC
	if err != nil {
		t.Fatal(err)
	}
	p := h.participant(room.ID, player)
	values := func(from, to *time.Time, points int) []string {
		t.Helper()
		ps, err := view.EquityHistory(h.ctx, p, from, to, points)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for i, pt := range ps {
			out = append(out, pt.PortfolioValue.String())
			if i > 0 && !pt.At.After(ps[i-1].At) {
				t.Errorf("points not in time order: %v", ps)
			}
		}
		return out
	}
	tests := []struct {
		name     string
		from, to *time.Time
		points   int
		want     []string
	}{
		{"All", nil, nil, 200, []string{"101000", "102000", "103000", "104000", "105000", "106000"}},
		{"FromTo", at(2), at(4), 200, []string{"102000", "103000", "104000"}},
		{"FromOnly", at(5), nil, 200, []string{"105000", "106000"}},
		{"ToOnly", nil, at(1), 200, []string{"101000"}},
		{"Nothing", at(7), nil, 200, []string{}},
		// Inner points 2..5 in one bucket: its last, 5.
		{"Downsampled", nil, nil, 3, []string{"101000", "105000", "106000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := values(tt.from, tt.to, tt.points); !slices.Equal(got, tt.want) {
				t.Errorf("equity history %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		name     string
		from, to *time.Time
		points   int
	}{{"ZeroPoints", nil, nil, 0}, {"TooManyPoints", nil, nil, 1001}, {"FromAfterTo", at(4), at(2), 10}} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := view.EquityHistory(h.ctx, p, bad.from, bad.to, bad.points)
			assertCode(t, err, game.EINVALID)
		})
	}
}

// TestTrackFromAZeroValue: a step from a value of 0 or less has no
// return (it would divide by zero or flip the sign); the drawdown still
// counts. 100 -> 0: r = -1, drawdown 100%. 0 -> 50: no return; drawdown
// (100-50)/100 = 50%, the maximum stays 100.
func TestTrackFromAZeroValue(t *testing.T) {
	tr := game.Track{}.Fresh(dec("100")).Observe(dec("0")).Observe(dec("50"))
	if tr.Returns != 1 || !tr.SumReturns.Equal(dec("-1")) || !tr.SumSquares.Equal(dec("1")) || tr.Observed != 2 {
		t.Errorf("track %+v, want one return of -1 from two values", tr)
	}
	m := tr.Metrics(dec("50"), dec("100"))
	metricsWant{totalReturn: "-50", returnPercent: "-50", maxDrawdown: "100", tradeCount: 0}.check(t, "metrics", m)
}
