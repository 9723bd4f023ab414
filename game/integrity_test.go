package game_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// signUpFrom signs name up from client address addr.
func (h *harness) signUpFrom(name, addr string) *game.User {
	h.t.Helper()
	u, err := h.svc.SignUp(game.WithClientAddress(h.ctx, addr), name, "password123", nil)
	if err != nil {
		h.t.Fatalf("sign up %s: %v", name, err)
	}
	return u
}

// signInFrom starts a session of u from client address addr.
func (h *harness) signInFrom(u *game.User, addr string) {
	h.t.Helper()
	sess := &game.Session{ID: fmt.Sprintf("s-%d-%d", u.ID, h.clock.Now().UnixNano()), UserID: u.ID, ExpiresAt: h.clock.Now().Add(time.Hour)}
	if err := h.svc.StartSession(game.WithClientAddress(h.ctx, addr), sess); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) report(owner *game.User, roomID int64) *game.IntegrityReport {
	h.t.Helper()
	v, err := h.svc.View(h.ctx, owner, roomID)
	if err != nil {
		h.t.Fatal(err)
	}
	rep, err := v.IntegrityReport(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return rep
}

// market places a MARKET order.
func (h *harness) market(u *game.User, roomID int64, symbol string, side game.Side, qty int64) *game.Order {
	h.t.Helper()
	return h.order(u, game.PlaceOrderInput{BullPenID: roomID, Symbol: symbol, Side: side, Quantity: qty, Type: ptr(game.OrderTypeMarket)})
}

// flagText writes a flag as "KIND score name name", names by participant.
func flagText(flags []*game.IntegrityFlag, names map[int64]string) []string {
	out := []string{}
	for _, f := range flags {
		s := string(f.Kind) + " " + f.Score.String()
		for _, p := range f.Participants {
			s += " " + names[p.ID]
		}
		out = append(out, s)
	}
	return out
}

// TestIntegrityReport: scripted cheaters and scripted honest players in
// one room, on both engines. The cheaters are flagged, each flag with
// evidence naming their order ids and times (never an address), and the
// honest are not: two accounts signed up from one address (and signed in
// there again) share an address; a pair who take opposite sides of AAPL
// within 5 s four times mirror; a player whose orders filled against
// prices 61 s and 2 min old (the room sets no maxQuoteAgeSeconds), one of
// them a resting order filled on resume after a pause, traded on stale
// prices. Honest players sharing an address only with someone outside
// the room, trading the same side at once, opposite sides 6 s apart, or
// mirroring only twice, and filling at a price exactly 60 s old, are in
// no flag. Addresses are stored only as the HMAC of the address.
func TestIntegrityReport(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.signUpFrom("owner", "192.0.2.1")
			twin1, twin2 := h.signUpFrom("twin1", "198.51.100.7"), h.signUpFrom("twin2", "203.0.113.9")
			h.signInFrom(twin2, "198.51.100.7") // the second account, from the first's address
			mirrorA, mirrorB := h.signUpFrom("mirrora", "192.0.2.10"), h.signUpFrom("mirrorb", "192.0.2.11")
			stale := h.signUpFrom("stale", "192.0.2.12")
			h1, h2, h3 := h.signUpFrom("honest1", "192.0.2.21"), h.signUpFrom("honest2", "192.0.2.22"), h.signUpFrom("honest3", "192.0.2.23")
			h.signUpFrom("outsider", "192.0.2.21") // shares honest1's address, but plays elsewhere
			h.signInFrom(h1, "192.0.2.21")
			h.price("AAPL", "100")
			h.price("MSFT", "200")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.AllowShortSelling = ptr(true) },
				twin1, twin2, mirrorA, mirrorB, stale, h1, h2, h3)
			names := map[int64]string{}
			for _, u := range []*game.User{twin1, twin2, mirrorA, mirrorB, stale, h1, h2, h3} {
				names[h.participant(room.ID, u).ID] = u.Username
			}
			step := func(d time.Duration) { h.clock.Advance(d) }

			// The mirror pair: four pairs 0, 2, 3 and 5 s apart, a fresh
			// price before each; and one trade of mirrora's alone.
			var mirrorOrders []int64
			for i, gap := range []time.Duration{0, 2 * time.Second, 3 * time.Second, 5 * time.Second} {
				h.price("AAPL", strconv.Itoa(100+i))
				a := h.market(mirrorA, room.ID, "AAPL", game.SideBuy, 10)
				step(gap)
				b := h.market(mirrorB, room.ID, "AAPL", game.SideSell, 10)
				mirrorOrders = append(mirrorOrders, a.ID, b.ID)
				step(20 * time.Second)
			}
			h.price("MSFT", "200")
			h.market(mirrorA, room.ID, "MSFT", game.SideBuy, 1)
			step(30 * time.Second)

			// Honest: the same side at once, opposite sides 6 s apart, and
			// a pair that mirrors only twice.
			for i := range 4 {
				h.price("AAPL", strconv.Itoa(110+i))
				h.market(h1, room.ID, "AAPL", game.SideBuy, 5)
				h.market(h2, room.ID, "AAPL", game.SideBuy, 5)
				step(6 * time.Second)
				h.market(h3, room.ID, "AAPL", game.SideSell, 5)
				step(20 * time.Second)
			}
			for range 2 {
				h.price("MSFT", "201")
				h.market(h2, room.ID, "MSFT", game.SideBuy, 1)
				h.market(h3, room.ID, "MSFT", game.SideSell, 1)
				step(20 * time.Second)
			}
			// A price exactly 60 s old is not stale.
			h.price("MSFT", "202")
			step(60 * time.Second)
			h.market(h1, room.ID, "MSFT", game.SideBuy, 1)

			// Stale: a fresh fill, a fill on a price 61 s old, and a
			// resting order filled on resume against a price 2 min old.
			h.price("MSFT", "203")
			h.market(stale, room.ID, "MSFT", game.SideBuy, 1)
			step(61 * time.Second)
			staleMarket := h.market(stale, room.ID, "MSFT", game.SideBuy, 1)
			resting := h.order(stale, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "MSFT", Side: game.SideBuy, Quantity: 2,
				Type: ptr(game.OrderTypeLimit), LimitPrice: decp("190")})
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			h.price("MSFT", "189") // while paused: the order waits
			step(2 * time.Minute)
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive); err != nil {
				t.Fatal(err)
			}
			if o := h.storedOrder(resting.ID); o.Status != game.OrderStatusFilled {
				t.Fatalf("the resting order after resume: %s, want FILLED on the stored price", o.Status)
			}

			rep := h.report(owner, room.ID)
			if !rep.GeneratedAt.Equal(h.clock.Now()) {
				t.Errorf("generatedAt %v, want %v", rep.GeneratedAt, h.clock.Now())
			}
			got := flagText(rep.Flags, names)
			want := []string{
				"SHARED_ADDRESS 2 twin1 twin2",
				"MIRRORED_TRADING 0.8889 mirrora mirrorb", // 8 of their 9 fills
				"STALE_PRICE_TRADING 0.6667 stale",        // 2 of 3 orders
			}
			if !slices.Equal(got, want) {
				t.Fatalf("flags %q, want %q", got, want)
			}
			shared, mirrored, stalef := rep.Flags[0], rep.Flags[1], rep.Flags[2]
			for _, f := range rep.Flags {
				for _, secret := range []string{"198.51.100.7", "203.0.113.9", hashOf("198.51.100.7")} {
					if strings.Contains(f.Evidence, secret) {
						t.Errorf("%s evidence shows an address or its hash: %s", f.Kind, f.Evidence)
					}
				}
			}
			// The times the twins were seen there: twin1's sign-up, twin2's sign-in.
			for _, s := range []string{"address 1", "twin1 signed up at 2026-03-02T14:30:00.000Z", "twin2 sessions started there: 1"} {
				if !strings.Contains(shared.Evidence, s) {
					t.Errorf("SHARED_ADDRESS evidence %q lacks %q", shared.Evidence, s)
				}
			}
			for _, id := range mirrorOrders {
				if !strings.Contains(mirrored.Evidence, "order "+strconv.FormatInt(id, 10)+" ") {
					t.Errorf("MIRRORED_TRADING evidence lacks order %d: %s", id, mirrored.Evidence)
				}
			}
			if !strings.Contains(mirrored.Evidence, "8 of their 9 fills mirror (4 pairs") || !strings.Contains(mirrored.Evidence, "(5s apart)") {
				t.Errorf("MIRRORED_TRADING evidence: %s", mirrored.Evidence)
			}
			if len(mirrored.Lines) != 8 {
				t.Errorf("MIRRORED_TRADING lines %d, want 8 (each fill of 4 pairs)", len(mirrored.Lines))
			}
			for _, s := range []string{"2 of 3 priced orders", "older than 60 s (the room sets no maxQuoteAgeSeconds)",
				fmt.Sprintf("order %d BUY MSFT 1", staleMarket.ID), "1m1s old",
				fmt.Sprintf("order %d BUY MSFT 2 at 189 filled at %s", resting.ID, h.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")), "2m0s old"} {
				if !strings.Contains(stalef.Evidence, s) {
					t.Errorf("STALE_PRICE_TRADING evidence %q lacks %q", stalef.Evidence, s)
				}
			}

			// Only the owner gets a report.
			for _, u := range []*game.User{nil, twin1, h.user("stranger")} {
				v, err := h.svc.View(h.ctx, u, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if r, err := v.IntegrityReport(h.ctx); r != nil || game.ErrorCode(err) != game.ENOTFOUND {
					t.Errorf("a non-owner's report: %v, %v; want NOT_FOUND", r, err)
				}
			}

			// What is stored: the HMAC of the address, never the address.
			var rows []struct {
				User string `db:"username"`
				Hash string `db:"address_hash"`
				N    int    `db:"sessions"`
			}
			if err := h.store.DB().SelectContext(h.ctx, &rows, `SELECT u.username, a.address_hash, a.sessions FROM user_addresses a
				JOIN users u ON u.id = a.user_id WHERE u.username IN ('twin1', 'twin2') ORDER BY u.username, a.first_at`); err != nil {
				t.Fatal(err)
			}
			wantRows := fmt.Sprint([]any{"twin1", hashOf("198.51.100.7"), 0, "twin2", hashOf("203.0.113.9"), 0, "twin2", hashOf("198.51.100.7"), 1})
			var gotRows []any
			for _, r := range rows {
				gotRows = append(gotRows, r.User, r.Hash, r.N)
			}
			if fmt.Sprint(gotRows) != wantRows {
				t.Errorf("user_addresses %v, want %v", gotRows, wantRows)
			}
			var sessions []*string
			if err := h.store.DB().SelectContext(h.ctx, &sessions, `SELECT address_hash FROM sessions WHERE user_id = `+strconv.FormatInt(twin2.ID, 10)); err != nil {
				t.Fatal(err)
			}
			if len(sessions) != 1 || sessions[0] == nil || *sessions[0] != hashOf("198.51.100.7") {
				t.Errorf("twin2's session's address_hash %v, want the hash", sessions)
			}
		})
	}
}

// TestIntegrityStaleWithMaxQuoteAge: a room with maxQuoteAgeSeconds 30
// refuses the stale order (STALE_PRICE) and the report measures against
// 30 s, so a fill 20 s after the price is not flagged; a room without the
// setting lets an order on a 90 s old price fill, which is flagged; a
// forced fill (a liquidation, priced at the last price) never is.
func TestIntegrityStaleWithMaxQuoteAge(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob := h.signUpFrom("owner", "192.0.2.1"), h.signUpFrom("alice", "192.0.2.2"), h.signUpFrom("bob", "192.0.2.3")
			h.price("AAPL", "100")
			strict := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(30) }, alice)
			lax := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.AllowShortSelling, in.MaintenanceMarginPercent = ptr(true), decp("25")
			}, alice, bob)
			h.market(bob, lax.ID, "AAPL", game.SideSell, 900) // short, to be liquidated
			h.clock.Advance(20 * time.Second)
			h.market(alice, strict.ID, "AAPL", game.SideBuy, 1)
			h.clock.Advance(70 * time.Second)
			if o := h.market(alice, strict.ID, "AAPL", game.SideBuy, 1); o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectStalePrice {
				t.Fatalf("a stale order in the strict room: %s", o.Status)
			}
			late := h.market(alice, lax.ID, "AAPL", game.SideBuy, 1)
			h.price("AAPL", "200") // bob is liquidated at the price
			if o := h.lastOrder(lax.ID); o.ParticipantID != h.participant(lax.ID, bob).ID || o.Side != game.SideBuy {
				t.Fatalf("last order of the lax room %+v, want bob's liquidation", o)
			}
			if got := h.report(owner, strict.ID).Flags; len(got) != 0 {
				t.Errorf("strict room flags %v, want none", flagText(got, nil))
			}
			names := map[int64]string{h.participant(lax.ID, alice).ID: "alice", h.participant(lax.ID, bob).ID: "bob"}
			flags := h.report(owner, lax.ID).Flags
			if got := flagText(flags, names); !slices.Equal(got, []string{"STALE_PRICE_TRADING 1 alice"}) {
				t.Fatalf("lax room flags %q", got)
			}
			if !strings.Contains(flags[0].Evidence, fmt.Sprintf("order %d BUY AAPL 1", late.ID)) || !strings.Contains(flags[0].Evidence, "1m30s old") {
				t.Errorf("evidence %s", flags[0].Evidence)
			}
		})
	}
}

func hashOf(addr string) string {
	m := hmac.New(sha256.New, testAddressKey)
	m.Write([]byte(addr))
	return hex.EncodeToString(m.Sum(nil))
}

// integritySeed seeds TestIntegrityRandomHonestSession;
// BULLPEN_INTEGRITY_SEED sets another.
var integritySeed = func() uint64 {
	if n, err := strconv.ParseUint(os.Getenv("BULLPEN_INTEGRITY_SEED"), 10, 64); err == nil {
		return n
	}
	return 20
}()

// TestIntegrityRandomHonestSession: 50 honest players, each from an
// address of their own, trade independently: 24 MARKET orders each on one
// of 5 symbols, a random side and size, at random times over 30 minutes
// (the injected clock), every symbol priced every 10 s, so every quote is
// fresh. Nobody cheats, so every flag is a false positive: the test logs
// how many (and how many pairs of players mirror 3 times or more by
// chance, which the share threshold leaves unflagged) and allows at most
// one. On SQLite only: the flags are worked out in Go from what the store
// returns, and TestIntegrityReport checks that on both engines.
func TestIntegrityRandomHonestSession(t *testing.T) {
	for _, backend := range []string{"sqlite"} {
		t.Run(backend, func(t *testing.T) {
			if testing.Short() {
				t.Skip("1,200 orders")
			}
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			rng := rand.New(rand.NewPCG(integritySeed, 1))
			const players, ordersEach, span = 50, 24, 30 * time.Minute
			symbols := []string{"AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"}
			cents := map[string]int64{} // a random walk of ±0.5% a tick, in whole cents
			tick := func() {
				for _, s := range symbols {
					if cents[s] == 0 {
						cents[s] = 100_00
					}
					cents[s] = cents[s] * (10_000 + int64(rng.IntN(101)) - 50) / 10_000
					h.price(s, decimal.New(cents[s], -2).StringFixed(2))
				}
			}
			tick()
			owner := h.signUpFrom("owner", "10.0.0.1")
			var us []*game.User
			for i := range players {
				us = append(us, h.signUpFrom(fmt.Sprintf("player%02d", i), fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)))
			}
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.AllowShortSelling = ptr(true) }, us...)
			type plan struct {
				at     time.Duration
				who    int
				symbol string
				side   game.Side
				qty    int64
			}
			var orders []plan
			for i := range players {
				for range ordersEach {
					side := game.SideBuy
					if rng.IntN(2) == 0 {
						side = game.SideSell
					}
					orders = append(orders, plan{time.Duration(rng.Int64N(int64(span))).Truncate(time.Millisecond), i,
						symbols[rng.IntN(len(symbols))], side, 1 + rng.Int64N(10)})
				}
			}
			slices.SortFunc(orders, func(a, b plan) int { return int(a.at - b.at) })
			start, nextTick := h.clock.Now(), 10*time.Second
			for _, o := range orders {
				for nextTick <= o.at {
					h.clock.Advance(start.Add(nextTick).Sub(h.clock.Now()))
					tick()
					nextTick += 10 * time.Second
				}
				h.clock.Advance(start.Add(o.at).Sub(h.clock.Now()))
				if got := h.market(us[o.who], room.ID, o.symbol, o.side, o.qty); got.Status != game.OrderStatusFilled {
					t.Fatalf("order %+v: %s", o, got.Status)
				}
			}
			flags := h.report(owner, room.ID).Flags
			byKind := map[game.IntegrityFlagKind]int{}
			for _, f := range flags {
				byKind[f.Kind]++
			}
			// Without the share threshold: the pairs that mirror 3 times or
			// more by chance.
			saved := game.MinMirroredShare
			game.MinMirroredShare = dec("0")
			chance := 0
			for _, f := range h.report(owner, room.ID).Flags {
				if f.Kind == game.FlagMirroredTrading {
					chance++
					t.Logf("by chance (not flagged): %s score %s", f.Kind, f.Score)
				}
			}
			game.MinMirroredShare = saved
			t.Logf("random honest session (seed %d): %d players, %d orders on %d symbols over %s: %d false positives (%d SHARED_ADDRESS, %d MIRRORED_TRADING, %d STALE_PRICE_TRADING); %d pairs of the %d mirror %d+ times by chance, under the %s share",
				integritySeed, players, len(orders), len(symbols), span, len(flags), byKind[game.FlagSharedAddress], byKind[game.FlagMirroredTrading],
				byKind[game.FlagStalePriceTrading], chance, players*(players-1)/2, game.MinMirroredPairs, game.MinMirroredShare)
			if len(flags) > 1 {
				t.Errorf("%d false positives on an honest session, want at most 1: %q", len(flags), flagText(flags, nil))
			}
		})
	}
}
