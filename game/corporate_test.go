package game_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// admin is the harness's admin (Config.Admins names "admin").
func (h *harness) admin() *game.User {
	h.t.Helper()
	u := h.user("admin")
	if _, err := h.svc.ApplyAdmins(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) split(admin *game.User, symbol, ratio string, exDate time.Time) *game.CorporateAction {
	h.t.Helper()
	a, err := h.svc.AnnounceSplit(h.ctx, admin, symbol, dec(ratio), exDate)
	if err != nil {
		h.t.Fatalf("announce split: %v", err)
	}
	return a
}

func (h *harness) dividend(admin *game.User, symbol, amount string, exDate, payDate time.Time) *game.CorporateAction {
	h.t.Helper()
	a, err := h.svc.AnnounceDividend(h.ctx, admin, symbol, dec(amount), exDate, payDate)
	if err != nil {
		h.t.Fatalf("announce dividend: %v", err)
	}
	return a
}

// applyActions runs the scheduler's corporate-action pass and returns the
// next due time.
func (h *harness) applyActions() time.Time {
	h.t.Helper()
	next, err := h.svc.ApplyCorporateActions(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return next
}

// actionEvents counts the CORPORATE_ACTION events of each action in a
// room.
func (h *harness) actionEvents(roomID int64) map[int64]int {
	h.t.Helper()
	n := map[int64]int{}
	for _, ev := range h.events(roomID) {
		if ev.Kind == game.EventCorporateAction {
			var p game.CorporateActionPayload
			mustUnmarshal(h.t, ev.Payload, &p)
			n[p.Action.ID]++
			if p.Action.AppliedAt == nil {
				h.t.Errorf("event of action %d has no appliedAt", p.Action.ID)
			}
		}
	}
	return n
}

// ledgerOf lists a participant's ledger entries of kind with no order.
func (h *harness) ledgerOf(roomID int64, u *game.User, kind game.LedgerKind) []*game.LedgerEntry {
	h.t.Helper()
	es, _, err := h.store.Ledger(h.ctx, h.participant(roomID, u).ID, 0, 10000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*game.LedgerEntry
	for _, e := range es {
		if e.Kind == kind && e.OrderID == nil {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) storedOrder(id int64) *game.Order {
	h.t.Helper()
	o, err := h.store.Order(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

// TestSplitWithFractionalRemainder: a 3-for-2 split (ratio 1.5) at a
// price of 90, by hand:
//   - alice long 7 at 90 (basis 630) -> 10.5: 10 shares, 0.5 paid at the
//     split-adjusted 60 = 30.0000 (a SELL line), basis 630 - 630*0.5/10.5
//     = 600 (average 60 = 90/1.5), realized 30 - 30 = 0; her resting buy
//     5 @ 84 (hold 420) -> 7 @ 56 (hold 392: a RELEASE of 28); her stop
//     sell 3 @ 75 -> 4 @ 50;
//   - bob short 3 at 90 (basis 270, margin 405) -> -4.5: -4, 0.5 bought
//     back at 60 = -30 (a BUY line), basis 270 - 30 = 240, margin 360 (a
//     RELEASE of 45);
//   - the quote 90 -> 60; the value of each is unchanged but for nothing
//     (the fraction is paid at the adjusted price).
func TestSplitWithFractionalRemainder(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			admin := h.admin()
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling = decp("10000"), ptr(true)
			}, alice, bob)
			h.price("AAPL", "90")
			h.order(alice, buy(room.ID, "AAPL", 7))
			resting := h.order(alice, limit(buy(room.ID, "AAPL", 5), "84"))
			stopSell := h.order(alice, stop(sell(room.ID, "AAPL", 3), "75"))
			h.order(bob, sell(room.ID, "AAPL", 3))
			assertDec(t, "hold before", h.storedOrder(resting.ID).Reserved, "420")
			valueBefore := map[string]decimal.Decimal{}
			for _, u := range []*game.User{alice, bob} {
				v, err := h.svc.Value(h.ctx, h.participant(room.ID, u))
				if err != nil {
					t.Fatal(err)
				}
				valueBefore[u.Username] = v.PortfolioValue
			}

			a := h.split(admin, "AAPL", "1.5", t0.Add(time.Hour))
			if next := h.applyActions(); !next.Equal(t0.Add(time.Hour)) {
				t.Fatalf("next due %v, want the exDate %v", next, t0.Add(time.Hour))
			}
			if p := h.position(room.ID, alice, "AAPL"); p.Quantity != 7 {
				t.Fatalf("before the exDate alice holds %d, want 7", p.Quantity)
			}
			h.clock.Advance(time.Hour)
			if next := h.applyActions(); !next.IsZero() {
				t.Errorf("next due %v after the split, want none", next)
			}

			p := h.position(room.ID, alice, "AAPL")
			if p.Quantity != 10 {
				t.Errorf("alice holds %d, want 10", p.Quantity)
			}
			assertDec(t, "alice cost basis", p.CostBasis, "600")
			assertDec(t, "alice average cost", p.AverageCost(), "60")
			assertDec(t, "alice realized", p.RealizedPnL, "0")
			assertDec(t, "alice cash", h.participant(room.ID, alice).Cash, "9400") // 10000 - 630 + 30
			if es := h.ledgerOf(room.ID, alice, game.LedgerSell); len(es) != 1 || !es[0].Amount.Equal(dec("30")) {
				t.Errorf("alice's cash in lieu: %v, want one SELL of 30", es)
			}
			o := h.storedOrder(resting.ID)
			if o.Status != game.OrderStatusOpen || o.Quantity != 7 || !o.LimitPrice.Equal(dec("56")) {
				t.Errorf("resting buy: %s %d @ %s, want OPEN 7 @ 56", o.Status, o.Quantity, o.LimitPrice)
			}
			assertDec(t, "resting buy's hold", o.Reserved, "392")
			if s := h.storedOrder(stopSell.ID); s.Quantity != 4 || !s.StopPrice.Equal(dec("50")) {
				t.Errorf("stop sell: %d @ %s, want 4 @ 50", s.Quantity, s.StopPrice)
			}

			q := h.position(room.ID, bob, "AAPL")
			if q.Quantity != -4 {
				t.Errorf("bob holds %d, want -4", q.Quantity)
			}
			assertDec(t, "bob cost basis", q.CostBasis, "240")
			assertDec(t, "bob cash", h.participant(room.ID, bob).Cash, "10240") // 10000 + 270 - 30
			if es := h.ledgerOf(room.ID, bob, game.LedgerBuy); len(es) != 1 || !es[0].Amount.Equal(dec("-30")) {
				t.Errorf("bob's cash in lieu: %v, want one BUY of -30", es)
			}
			if es := h.ledgerOf(room.ID, bob, game.LedgerRelease); len(es) != 1 || !es[0].Amount.Equal(dec("45")) {
				t.Errorf("bob's margin release: %v, want one RELEASE of 45", es)
			}
			quote, err := h.store.Quote(h.ctx, "AAPL")
			if err != nil {
				t.Fatal(err)
			}
			assertDec(t, "quote", quote.Price, "60")
			for _, u := range []*game.User{alice, bob} {
				v, err := h.svc.Value(h.ctx, h.participant(room.ID, u))
				if err != nil {
					t.Fatal(err)
				}
				assertDec(t, u.Username+"'s value", v.PortfolioValue, valueBefore[u.Username].String())
			}
			if n := h.actionEvents(room.ID); n[a.ID] != 1 {
				t.Errorf("CORPORATE_ACTION events %v, want one of action %d", n, a.ID)
			}
			got, err := h.store.CorporateAction(h.ctx, a.ID)
			if err != nil || got.AppliedAt == nil || !got.AppliedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("action %+v (%v): appliedAt should be the exDate", got, err)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestReverseSplit: one-for-ten (ratio 0.1) at a price of 10: 25 shares
// (basis 250) -> 2, 0.5 paid at 100 = 50, basis 200 (average 100); 5
// shares -> none, 0.5 paid = 50, the whole basis 50 removed; a resting
// sell of 5 -> 0.5 share: CANCELLED, its event written.
func TestReverseSplit(t *testing.T) {
	h := newHarness(t)
	admin := h.admin()
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.StartingCash = decp("1000") }, alice, bob)
	h.price("MSFT", "10")
	h.order(alice, buy(room.ID, "MSFT", 25))
	h.order(bob, buy(room.ID, "MSFT", 5))
	sellOrder := h.order(bob, limit(sell(room.ID, "MSFT", 5), "12"))
	h.split(admin, "MSFT", "0.1", t0)
	h.applyActions()

	p := h.position(room.ID, alice, "MSFT")
	if p.Quantity != 2 {
		t.Errorf("alice holds %d, want 2", p.Quantity)
	}
	assertDec(t, "alice basis", p.CostBasis, "200")
	assertDec(t, "alice cash", h.participant(room.ID, alice).Cash, "800") // 1000 - 250 + 50
	q := h.position(room.ID, bob, "MSFT")
	if q.Quantity != 0 {
		t.Errorf("bob holds %d, want 0", q.Quantity)
	}
	assertDec(t, "bob basis", q.CostBasis, "0")
	assertDec(t, "bob realized", q.RealizedPnL, "0")
	assertDec(t, "bob cash", h.participant(room.ID, bob).Cash, "1000") // 1000 - 50 + 50
	if o := h.storedOrder(sellOrder.ID); o.Status != game.OrderStatusCancelled || !o.Reserved.IsZero() {
		t.Errorf("bob's sell: %s holding %s, want CANCELLED holding 0", o.Status, o.Reserved)
	}
	quote, _ := h.store.Quote(h.ctx, "MSFT")
	assertDec(t, "quote", quote.Price, "100")
	kinds := h.kinds(room.ID, 0)
	tail := kinds[len(kinds)-4:]
	want := []string{"CORPORATE_ACTION", "POSITION", "POSITION", "ORDER:CANCELLED"}
	for i := range want {
		if tail[i] != want[i] {
			t.Fatalf("log ends %v, want %v", tail, want)
		}
	}
	h.checkLedger(room.ID)
}

// TestDividendLongAndShort: 0.25 a share; alice long 10 is credited 2.5,
// bob short 4 debited 1 at payDate, not before; positions at the exDate
// count (alice sells after it and is still paid for 10).
func TestDividendLongAndShort(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			admin := h.admin()
			owner, alice, bob, carol := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling = decp("1000"), ptr(true)
			}, alice, bob, carol)
			h.price("AAPL", "10")
			h.order(alice, buy(room.ID, "AAPL", 10))
			h.order(bob, sell(room.ID, "AAPL", 4))
			a := h.dividend(admin, "AAPL", "0.25", t0.Add(time.Hour), t0.Add(48*time.Hour))
			h.clock.Advance(time.Hour)
			if next := h.applyActions(); !next.Equal(t0.Add(48 * time.Hour)) {
				t.Errorf("next due %v, want the payDate", next)
			}
			assertDec(t, "alice cash at the exDate", h.participant(room.ID, alice).Cash, "900")
			assertDec(t, "bob cash at the exDate", h.participant(room.ID, bob).Cash, "1040")
			if n := h.actionEvents(room.ID); n[a.ID] != 1 {
				t.Errorf("CORPORATE_ACTION events %v, want one", n)
			}
			h.order(alice, sell(room.ID, "AAPL", 10)) // after the exDate: still of record
			h.order(carol, buy(room.ID, "AAPL", 3))   // after it: not of record
			h.clock.Advance(46 * time.Hour)
			h.applyActions()
			assertDec(t, "alice cash before payDate", h.participant(room.ID, alice).Cash, "1000")
			h.clock.Advance(time.Hour)
			h.applyActions()
			assertDec(t, "alice cash", h.participant(room.ID, alice).Cash, "1002.5")
			assertDec(t, "bob cash", h.participant(room.ID, bob).Cash, "1039")
			assertDec(t, "carol cash", h.participant(room.ID, carol).Cash, "970")
			for u, want := range map[*game.User]string{alice: "2.5", bob: "-1"} {
				if es := h.ledgerOf(room.ID, u, game.LedgerDividend); len(es) != 1 || !es[0].Amount.Equal(dec(want)) {
					t.Errorf("%s's DIVIDEND lines %v, want one of %s", u.Username, es, want)
				}
			}
			if es := h.ledgerOf(room.ID, carol, game.LedgerDividend); len(es) != 0 {
				t.Errorf("carol, not of record, got %v", es)
			}
			if n := h.actionEvents(room.ID); n[a.ID] != 1 {
				t.Errorf("CORPORATE_ACTION events %v, want still one", n)
			}
			kinds := h.kinds(room.ID, 0)
			if tail := kinds[len(kinds)-2:]; tail[0] != "POSITION" || tail[1] != "POSITION" {
				t.Errorf("log ends %v, want a POSITION per holder", tail)
			}
			got, _ := h.store.CorporateAction(h.ctx, a.ID)
			if got.PaidAt == nil || !got.PaidAt.Equal(t0.Add(48*time.Hour)) {
				t.Errorf("paidAt %v, want the payDate", got.PaidAt)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestCorporateActionsExactlyOnce: a second pass, a restarted service and
// two services racing on one database apply nothing again; an ENDED room
// is never touched.
func TestCorporateActionsExactlyOnce(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			admin := h.admin()
			owner, alice := h.user("owner"), h.user("alice")
			rooms := []*game.BullPen{h.activeRoom(owner, nil, alice), h.activeRoom(owner, nil, alice)}
			ended := h.activeRoom(owner, nil, alice)
			h.price("AAPL", "100")
			for _, r := range append(rooms, ended) {
				h.order(alice, buy(r.ID, "AAPL", 3))
			}
			if _, err := h.svc.Move(h.ctx, owner, ended.ID, game.RoomEnded); err != nil {
				t.Fatal(err)
			}
			endedSeq := h.lastSeq(ended.ID)
			split := h.split(admin, "AAPL", "2", t0.Add(time.Minute))
			div := h.dividend(admin, "AAPL", "1", t0.Add(2*time.Minute), t0.Add(3*time.Minute))

			// "Down" past every date: services on the same database catch
			// up, racing.
			clock.Advance(time.Hour)
			var wg sync.WaitGroup
			for range 2 {
				s := openHarnessDSN(t, dsn, clock).svc
				wg.Go(func() {
					for range 2 {
						if _, err := s.ApplyCorporateActions(h.ctx); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			h.applyActions()

			for _, r := range rooms {
				if n := h.actionEvents(r.ID); n[split.ID] != 1 || n[div.ID] != 1 {
					t.Errorf("room %d: CORPORATE_ACTION events %v, want one of each", r.ID, n)
				}
				if p := h.position(r.ID, alice, "AAPL"); p.Quantity != 6 {
					t.Errorf("room %d: alice holds %d, want 6 (split once)", r.ID, p.Quantity)
				}
				// The dividend is of the split shares: 6 x 1.
				if es := h.ledgerOf(r.ID, alice, game.LedgerDividend); len(es) != 1 || !es[0].Amount.Equal(dec("6")) {
					t.Errorf("room %d: DIVIDEND lines %v, want one of 6", r.ID, es)
				}
				h.checkLedger(r.ID)
			}
			if p := h.position(ended.ID, alice, "AAPL"); p.Quantity != 3 {
				t.Errorf("ended room: alice holds %d, want 3 (untouched)", p.Quantity)
			}
			if seq := h.lastSeq(ended.ID); seq != endedSeq {
				t.Errorf("ended room's log grew from %d to %d", endedSeq, seq)
			}
			quote, _ := h.store.Quote(h.ctx, "AAPL")
			assertDec(t, "quote, split once", quote.Price, "50")
		})
	}
}

// TestDividendNotPaidInARoomThatEnded: a room that ends between the
// exDate and the payDate is not paid (an ended room never changes); the
// others are.
func TestDividendNotPaidInARoomThatEnded(t *testing.T) {
	h := newHarness(t)
	admin := h.admin()
	owner, alice := h.user("owner"), h.user("alice")
	live, ending := h.activeRoom(owner, nil, alice), h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	h.order(alice, buy(live.ID, "AAPL", 2))
	h.order(alice, buy(ending.ID, "AAPL", 2))
	h.dividend(admin, "AAPL", "1.5", t0, t0.Add(time.Hour))
	h.applyActions()
	if _, err := h.svc.Move(h.ctx, owner, ending.ID, game.RoomEnded); err != nil {
		t.Fatal(err)
	}
	seq := h.lastSeq(ending.ID)
	h.clock.Advance(time.Hour)
	h.applyActions()
	assertDec(t, "live room cash", h.participant(live.ID, alice).Cash, "99803") // 100000 - 200 + 3
	assertDec(t, "ended room cash", h.participant(ending.ID, alice).Cash, "99800")
	if got := h.lastSeq(ending.ID); got != seq {
		t.Errorf("ended room's log grew from %d to %d", seq, got)
	}
}

// TestRunSchedulerAppliesCorporateActions: the scheduler, on the fake
// clock, sleeps until an action's exDate (not a minute), applies it then
// and not before, and stops when its context ends.
func TestRunSchedulerAppliesCorporateActions(t *testing.T) {
	h := newHarness(t)
	admin := h.admin()
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.EndsAt = t0.Add(time.Hour) }, alice)
	h.price("AAPL", "100")
	h.order(alice, buy(room.ID, "AAPL", 4))
	h.split(admin, "AAPL", "2", t0.Add(10*time.Second))
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunScheduler(ctx) }()
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(9 * time.Second)
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if p := h.position(room.ID, alice, "AAPL"); p.Quantity != 4 {
		t.Fatalf("alice holds %d before the exDate, want 4", p.Quantity)
	}
	h.clock.Advance(time.Second)
	// Its timer fired: it sleeps again once the split is done.
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if p := h.position(room.ID, alice, "AAPL"); p.Quantity != 8 {
		t.Errorf("alice holds %d after the exDate, want 8", p.Quantity)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCorporateActionValidation(t *testing.T) {
	h := newHarness(t)
	admin, alice := h.admin(), h.user("alice")
	at := t0.Add(time.Hour)
	tests := []struct {
		name, field string
		run         func() error
	}{
		{"UnknownSymbol", "symbol", func() error { _, err := h.svc.AnnounceSplit(h.ctx, admin, "NOPE", dec("2"), at); return err }},
		{"RatioZero", "ratio", func() error { _, err := h.svc.AnnounceSplit(h.ctx, admin, "AAPL", dec("0"), at); return err }},
		{"RatioNegative", "ratio", func() error { _, err := h.svc.AnnounceSplit(h.ctx, admin, "AAPL", dec("-2"), at); return err }},
		{"RatioOne", "ratio", func() error { _, err := h.svc.AnnounceSplit(h.ctx, admin, "AAPL", dec("1.000"), at); return err }},
		{"RatioTooFine", "ratio", func() error { _, err := h.svc.AnnounceSplit(h.ctx, admin, "AAPL", dec("0.33333"), at); return err }},
		{"ExDatePast", "exDate", func() error {
			_, err := h.svc.AnnounceSplit(h.ctx, admin, "AAPL", dec("2"), t0.Add(-time.Second))
			return err
		}},
		{"AmountZero", "amountPerShare", func() error {
			_, err := h.svc.AnnounceDividend(h.ctx, admin, "AAPL", dec("0"), at, at)
			return err
		}},
		{"AmountTooFine", "amountPerShare", func() error {
			_, err := h.svc.AnnounceDividend(h.ctx, admin, "AAPL", dec("0.00001"), at, at)
			return err
		}},
		{"PayBeforeEx", "payDate", func() error {
			_, err := h.svc.AnnounceDividend(h.ctx, admin, "AAPL", dec("1"), at, at.Add(-time.Millisecond))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			assertCode(t, err, game.EINVALID)
			if e, ok := err.(*game.Error); !ok || e.Field != tt.field {
				t.Errorf("error %v should name %s", err, tt.field)
			}
		})
	}
	_, err := h.svc.AnnounceSplit(h.ctx, alice, "AAPL", dec("2"), at)
	assertCode(t, err, game.EFORBIDDEN)
	_, err = h.svc.AnnounceDividend(h.ctx, nil, "AAPL", dec("1"), at, at)
	assertCode(t, err, game.EUNAUTHENTICATED)
	if as, n, err := h.svc.CorporateActions(h.ctx, "", 0, 10); err != nil || n != 0 || len(as) != 0 {
		t.Errorf("stored %d actions (%v), want none", n, err)
	}
	// Now is allowed, and a dividend paid on its exDate.
	h.dividend(admin, "aapl", "1", t0, t0)
	if as, n, _ := h.svc.CorporateActions(h.ctx, "AAPL", 0, 10); n != 1 || as[0].Symbol != "AAPL" {
		t.Errorf("actions of AAPL: %d", n)
	}
}

// TestAnnounceFromFeed: a replay row's action is announced and applied at
// once; the same row again (a second run of the file, or another
// instance) announces nothing.
func TestAnnounceFromFeed(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			other := openHarnessDSN(t, dsn, clock)
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, nil, alice)
			h.price("KO", "60")
			h.order(alice, buy(room.ID, "KO", 5))
			for i, s := range []*game.Service{h.svc, other.svc, h.svc} {
				announced, err := s.AnnounceFromFeed(h.ctx, game.ActionSplit, "KO", dec("2"), 0, "replay:prices.csv:7")
				if err != nil || announced != (i == 0) {
					t.Errorf("announcement %d: %v, %v; want only the first", i, announced, err)
				}
			}
			if p := h.position(room.ID, alice, "KO"); p.Quantity != 10 {
				t.Errorf("alice holds %d, want 10 (split once, at once)", p.Quantity)
			}
			ok, err := h.svc.AnnounceFromFeed(h.ctx, game.ActionDividend, "KO", dec("0.5"), time.Hour, "replay:prices.csv:8")
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			assertDec(t, "cash before the payDate", h.participant(room.ID, alice).Cash, "99700")
			clock.Advance(time.Hour)
			h.applyActions()
			assertDec(t, "cash at the payDate", h.participant(room.ID, alice).Cash, "99705")
			_, err = h.svc.AnnounceFromFeed(h.ctx, game.ActionSplit, "KO", dec("1"), 0, "replay:prices.csv:9")
			assertCode(t, err, game.EINVALID)
			h.checkLedger(room.ID)
		})
	}
}

// TestSplitReachesPausedRoomsAndOrdersAlone: a PAUSED room is split too,
// and a room whose only holding of the symbol is a resting order gets its
// order adjusted and its CorporateActionEvent.
func TestSplitReachesPausedRoomsAndOrdersAlone(t *testing.T) {
	h := newHarness(t)
	admin := h.admin()
	owner, alice := h.user("owner"), h.user("alice")
	paused, ordersOnly := h.activeRoom(owner, nil, alice), h.activeRoom(owner, nil, alice)
	h.price("AAPL", "100")
	h.order(alice, buy(paused.ID, "AAPL", 2))
	resting := h.order(alice, limit(buy(paused.ID, "AAPL", 3), "90"))
	alone := h.order(alice, limit(buy(ordersOnly.ID, "AAPL", 4), "80"))
	if _, err := h.svc.Move(h.ctx, owner, paused.ID, game.RoomPaused); err != nil {
		t.Fatal(err)
	}
	a := h.split(admin, "AAPL", "2", t0)
	h.applyActions()
	if p := h.position(paused.ID, alice, "AAPL"); p.Quantity != 4 {
		t.Errorf("paused room: alice holds %d, want 4", p.Quantity)
	}
	if o := h.storedOrder(resting.ID); o.Quantity != 6 || !o.LimitPrice.Equal(dec("45")) || !o.Reserved.Equal(dec("270")) {
		t.Errorf("paused room's order: %d @ %s holding %s, want 6 @ 45 holding 270", o.Quantity, o.LimitPrice, o.Reserved)
	}
	if o := h.storedOrder(alone.ID); o.Quantity != 8 || !o.LimitPrice.Equal(dec("40")) || !o.Reserved.Equal(dec("320")) {
		t.Errorf("order-only room's order: %d @ %s holding %s, want 8 @ 40 holding 320", o.Quantity, o.LimitPrice, o.Reserved)
	}
	for _, r := range []*game.BullPen{paused, ordersOnly} {
		if n := h.actionEvents(r.ID); n[a.ID] != 1 {
			t.Errorf("room %d: CORPORATE_ACTION events %v, want one", r.ID, n)
		}
		h.checkLedger(r.ID)
	}
}
