package game_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// The 00:00 UTC after t0 (Monday 2 March 2026, 14:30) and the next ones.
var (
	midnight1 = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	midnight2 = midnight1.AddDate(0, 0, 1)
	midnight3 = midnight1.AddDate(0, 0, 2)
	midnight4 = midnight1.AddDate(0, 0, 3)
)

// carrying sets round rates: a day of 3.65% a year is 0.0001 of the
// balance, of 7.3% 0.0002, of 10.95% 0.0003.
func carrying(in *game.CreateBullPenInput) {
	in.CashInterestPercent, in.MarginInterestPercent, in.BorrowFeePercent = decp("3.65"), decp("7.3"), decp("10.95")
}

// TestDailyCarry pins one day's amounts, hand-computed: balance x
// percent / 36500, rounded half-even to 4 places.
func TestDailyCarry(t *testing.T) {
	all := game.CarryingCosts{CashInterestPercent: decp("5"), MarginInterestPercent: decp("8"), BorrowFeePercent: decp("3")}
	onlyCash := game.CarryingCosts{CashInterestPercent: decp("1")}
	tests := []struct {
		name          string
		c             game.CarryingCosts
		cash, shorts  string
		interest, fee string
	}{
		// 100000 x 5 / 36500 = 13.69863...
		{"CashInterest", all, "100000", "0", "13.6986", "0"},
		// -2500 x 8 / 36500 = -0.547945...
		{"MarginInterest", all, "-2500", "0", "-0.5479", "0"},
		// 15000 x 3 / 36500 = 1.232876...; cash 20000 x 5 / 36500 = 2.739726...
		{"BorrowFeeAndInterest", all, "20000", "15000", "2.7397", "-1.2329"},
		// 5.475 x 1 / 36500 = 0.00015 exactly: half-even rounds to 0.0002 ...
		{"HalfEvenUp", onlyCash, "5.475", "0", "0.0002", "0"},
		// ... and 1.825 x 1 / 36500 = 0.00005 to 0.0000: nothing.
		{"HalfEvenDownToNothing", onlyCash, "1.825", "0", "0", "0"},
		{"NoCash", all, "0", "0", "0", "0"},
		{"NegativeCashWithoutMarginRate", onlyCash, "-1000", "5000", "0", "0"},
		{"ZeroRate", game.CarryingCosts{CashInterestPercent: decp("0")}, "1000", "0", "0", "0"},
		{"None", game.CarryingCosts{}, "1000", "1000", "0", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interest, fee := game.DailyCarry(tt.c, dec(tt.cash), dec(tt.shorts))
			assertDec(t, "interest", interest, tt.interest)
			assertDec(t, "borrow fee", fee, tt.fee)
		})
	}
}

func TestCarryingCostsValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	var tests []createCase
	for _, f := range []struct {
		field string
		set   func(in *game.CreateBullPenInput, v *decimal.Decimal)
	}{
		{"cashInterestPercent", func(in *game.CreateBullPenInput, v *decimal.Decimal) { in.CashInterestPercent = v }},
		{"marginInterestPercent", func(in *game.CreateBullPenInput, v *decimal.Decimal) { in.MarginInterestPercent = v }},
		{"borrowFeePercent", func(in *game.CreateBullPenInput, v *decimal.Decimal) { in.BorrowFeePercent = v }},
	} {
		for _, bad := range []string{"-0.0001", "100.0001", "1.00001"} {
			tests = append(tests, createCase{f.field + bad, func(in *game.CreateBullPenInput) { f.set(in, decp(bad)) }, f.field})
		}
	}
	assertCreateRefused(t, h, owner, tests)
	if _, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10}); err != nil || total != 0 {
		t.Errorf("rooms stored: %d, %v", total, err)
	}
	b := h.room(owner, func(in *game.CreateBullPenInput) {
		in.CashInterestPercent, in.MarginInterestPercent, in.BorrowFeePercent = decp("0"), decp("100"), decp("2.5125")
	})
	got, err := h.store.BullPen(h.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := got.CarryingCosts
	if c.CashInterestPercent == nil || !c.CashInterestPercent.IsZero() || c.MarginInterestPercent == nil || !c.MarginInterestPercent.Equal(dec("100")) ||
		c.BorrowFeePercent == nil || !c.BorrowFeePercent.Equal(dec("2.5125")) {
		t.Errorf("stored carrying costs = %+v", c)
	}
	plain, err := h.store.BullPen(h.ctx, h.room(owner, nil).ID)
	if err != nil || plain.CarryingCosts != (game.CarryingCosts{}) || plain.CarryingCosts.Any() {
		t.Errorf("a room without carrying costs has %+v, %v", plain.CarryingCosts, err)
	}
}

// adjust moves p's cash by amount as an organiser's ADJUSTMENT would: the
// cash and its ledger line in one transaction (a way to a negative
// balance, which trading never makes).
func (h *harness) adjust(p *game.Participant, amount string) {
	h.t.Helper()
	entries, _, err := h.store.Ledger(h.ctx, p.ID, 0, 1_000_000)
	if err != nil {
		h.t.Fatal(err)
	}
	last := entries[len(entries)-1]
	err = h.store.Update(h.ctx, func(tx game.Tx) error {
		cash := last.CashAfter.Add(dec(amount))
		if err := tx.SetCash(h.ctx, p.ID, cash); err != nil {
			return err
		}
		return tx.InsertLedger(h.ctx, []*game.LedgerEntry{{ParticipantID: p.ID, Kind: game.LedgerAdjustment, Amount: dec(amount),
			CashAfter: cash, BuyingPowerAfter: last.BuyingPowerAfter.Add(dec(amount)), At: tx.Now()}})
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// accrue runs one AccrueDue pass and checks the next 00:00 it reports.
func (h *harness) accrue(wantNext time.Time) {
	h.t.Helper()
	next, err := h.svc.AccrueDue(h.ctx)
	if err != nil || !next.Equal(wantNext) {
		h.t.Fatalf("AccrueDue: next %v, %v; want %v", next, err, wantNext)
	}
}

// carryLines are p's INTEREST and BORROW_FEE lines as ledgerLines renders
// them, with the time of each.
func (h *harness) carryLines(p *game.Participant) []string {
	h.t.Helper()
	entries, _, err := h.store.Ledger(h.ctx, p.ID, 0, 1_000_000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Kind == game.LedgerInterest || e.Kind == game.LedgerBorrowFee {
			out = append(out, e.At.UTC().Format("01-02T15:04 ")+string(e.Kind)+" "+e.Amount.String()+" "+e.CashAfter.String()+" "+e.BuyingPowerAfter.String())
		}
	}
	return out
}

func expectLines(t testing.TB, who string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: carrying-cost lines\n got %q\nwant %q", who, got, want)
	}
}

// TestCarryingCostsHandComputedDay books one day of each kind at 00:00
// UTC on both engines, each amount computed by hand: interest on cash,
// interest on a debit, a short's borrow fee at its last price; nothing for
// a participant with no cash and no short, nor in a room without carrying
// costs; the cash, the ledger's running
// figures and the leaderboard follow, and a second pass books nothing.
func TestCarryingCostsHandComputedDay(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob, carol, dave := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol"), h.user("dave")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				carrying(in)
				in.StartingCash, in.AllowShortSelling, in.EndsAt = decp("10000"), ptr(true), t0.Add(10*24*time.Hour)
			}, alice, bob, carol, dave)
			// A room without carrying costs books nothing.
			plain := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.EndsAt = t0.Add(10 * 24 * time.Hour) }, alice)
			h.price("AAPL", "100")
			h.order(bob, sell(room.ID, "AAPL", 100))  // short: cash 20000, margin 15000 booked
			h.order(carol, buy(room.ID, "AAPL", 100)) // cash 0, long only
			h.adjust(h.participant(room.ID, dave), "-12000")
			h.price("AAPL", "120") // bob's short is worth 12000
			h.accrue(midnight1)    // nothing due yet
			for _, u := range []*game.User{alice, bob, carol, dave} {
				expectLines(t, u.Username+" before 00:00", h.carryLines(h.participant(room.ID, u)))
			}

			h.clock.Advance(midnight1.Sub(h.clock.Now()))
			h.accrue(midnight2)
			// alice: 10000 x 0.0001; bob: 20000 x 0.0001 on cash and
			// 12000 x 0.0003 on the short, buying power 20000 - 15000
			// before; dave: -2000 x 0.0002.
			expectLines(t, "alice", h.carryLines(h.participant(room.ID, alice)), "03-03T00:00 INTEREST 1 10001 10001")
			expectLines(t, "bob", h.carryLines(h.participant(room.ID, bob)),
				"03-03T00:00 INTEREST 2 20002 5002", "03-03T00:00 BORROW_FEE -3.6 19998.4 4998.4")
			expectLines(t, "carol", h.carryLines(h.participant(room.ID, carol)))
			expectLines(t, "dave", h.carryLines(h.participant(room.ID, dave)), "03-03T00:00 INTEREST -0.4 -2000.4 -2000.4")
			expectLines(t, "alice in a room without carrying costs", h.carryLines(h.participant(plain.ID, alice)))
			assertDec(t, "bob's cash", h.participant(room.ID, bob).Cash, "19998.4")
			assertDec(t, "dave's cash", h.participant(room.ID, dave).Cash, "-2000.4")
			h.checkLedger(room.ID)

			// Again at the same moment: it is done.
			h.accrue(midnight2)
			expectLines(t, "alice again", h.carryLines(h.participant(room.ID, alice)), "03-03T00:00 INTEREST 1 10001 10001")

			// The accrual marked the board stale: the next snapshot
			// values alice at her new cash.
			if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
				t.Fatal(err)
			}
			snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			aliceID := h.participant(room.ID, alice).ID
			for _, e := range snap.Entries {
				if e.ParticipantID == aliceID {
					assertDec(t, "alice's portfolio value", e.PortfolioValue, "10001")
				}
			}
		})
	}
}

// TestCarryingCostsCatchUpOnceAcrossRestartsAndInstances: days missed
// while the server was down are booked when it comes back, each once and
// oldest first (each on the cash the day before left); a rerun books
// nothing; two services racing on one database book a day once.
func TestCarryingCostsCatchUpOnceAcrossRestartsAndInstances(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				carrying(in)
				in.StartingCash, in.EndsAt = decp("10000"), t0.Add(10*24*time.Hour)
			}, alice)
			clock.Advance(midnight1.Sub(clock.Now()))
			h.accrue(midnight2)
			p := h.participant(room.ID, alice)
			day1 := "03-03T00:00 INTEREST 1 10001 10001"
			expectLines(t, "day 1", h.carryLines(p), day1)

			// Down until midday after the third 00:00: a new service on
			// the same database books the second and the third, the
			// third on the second's cash (10002.0001 x 0.0001 =
			// 1.00020001).
			clock.Advance(midnight3.Add(12 * time.Hour).Sub(clock.Now()))
			restarted := openHarnessDSN(t, dsn, clock)
			restarted.accrue(midnight4)
			day23 := []string{day1, "03-05T12:00 INTEREST 1.0001 10002.0001 10002.0001", "03-05T12:00 INTEREST 1.0002 10003.0003 10003.0003"}
			expectLines(t, "caught up", h.carryLines(p), day23...)
			restarted.accrue(midnight4)
			h.accrue(midnight4)
			expectLines(t, "after reruns", h.carryLines(p), day23...)

			// The fourth 00:00, with two services racing on the database.
			clock.Advance(midnight4.Sub(clock.Now()))
			other := openHarnessDSN(t, dsn, clock)
			var wg sync.WaitGroup
			for _, s := range []*game.Service{restarted.svc, other.svc, restarted.svc, other.svc} {
				wg.Go(func() {
					if _, err := s.AccrueDue(h.ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			expectLines(t, "after the race", h.carryLines(p), append(day23, "03-06T00:00 INTEREST 1.0003 10004.0006 10004.0006")...)
			assertDec(t, "cash", h.participant(room.ID, alice).Cash, "10004.0006")
			var claims int
			if err := h.store.DB().GetContext(h.ctx, &claims, `SELECT count(*) FROM accruals WHERE bull_pen_id = `+strconv.FormatInt(room.ID, 10)); err != nil {
				t.Fatal(err)
			}
			if claims != 4 {
				t.Errorf("%d accrual claims, want 4", claims)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestCarryingCostsPausedLateJoinerAndEnd: a PAUSED room accrues; a
// participant who joined after a 00:00 gets nothing for it even when it
// is booked late; the room's end books what was due before it, in the
// ending transaction (the final leaderboard shows it), and nothing after.
func TestCarryingCostsPausedLateJoinerAndEnd(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			// Ends on the third day at 10:00: two 00:00s fall inside.
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				carrying(in)
				in.StartingCash, in.EndsAt = decp("10000"), midnight2.Add(10*time.Hour)
			}, alice)
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			// Down across the first 00:00; bob joins at 08:00 before the
			// server books it.
			h.clock.Advance(midnight1.Add(8 * time.Hour).Sub(h.clock.Now()))
			h.join(bob, room.ID)
			h.accrue(midnight2)
			expectLines(t, "alice", h.carryLines(h.participant(room.ID, alice)), "03-03T08:00 INTEREST 1 10001 10001")
			expectLines(t, "bob", h.carryLines(h.participant(room.ID, bob)))

			// Down again, past the second 00:00, the end and two more
			// 00:00s: ending the room books the second, and only it.
			h.clock.Advance(midnight4.Add(time.Hour).Sub(h.clock.Now()))
			if _, err := h.svc.AdvanceDue(h.ctx); err != nil {
				t.Fatal(err)
			}
			ended, err := h.store.BullPen(h.ctx, room.ID)
			if err != nil || ended.State != game.RoomEnded {
				t.Fatalf("room %+v, %v; want ENDED", ended, err)
			}
			expectLines(t, "alice at the end", h.carryLines(h.participant(room.ID, alice)),
				"03-03T08:00 INTEREST 1 10001 10001", "03-06T01:00 INTEREST 1.0001 10002.0001 10002.0001")
			expectLines(t, "bob at the end", h.carryLines(h.participant(room.ID, bob)), "03-06T01:00 INTEREST 1 10001 10001")
			h.accrue(time.Time{})
			expectLines(t, "bob after the end", h.carryLines(h.participant(room.ID, bob)), "03-06T01:00 INTEREST 1 10001 10001")
			snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil || !snap.Final {
				t.Fatalf("latest snapshot %+v, %v; want the final one", snap, err)
			}
			values := map[int64]string{}
			for _, e := range snap.Entries {
				values[e.ParticipantID] = e.PortfolioValue.String()
			}
			if a, b := values[h.participant(room.ID, alice).ID], values[h.participant(room.ID, bob).ID]; a != "10002.0001" || b != "10001" {
				t.Errorf("final values alice %s bob %s, want 10002.0001 and 10001", a, b)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestRunSchedulerAccruesAtMidnightAndStops: the scheduler, on the fake
// clock, books carrying costs at 00:00 UTC, not before, once, and stops
// when its context ends.
func TestRunSchedulerAccruesAtMidnightAndStops(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		carrying(in)
		in.StartingCash, in.EndsAt = decp("10000"), t0.Add(10*24*time.Hour)
	}, alice)
	p := h.participant(room.ID, alice)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.svc.RunScheduler(ctx) }()
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(midnight1.Add(-time.Second).Sub(h.clock.Now()))
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	expectLines(t, "a second before", h.carryLines(p))
	h.clock.Advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for len(h.carryLines(p)) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // waiting for the scheduler goroutine, not for a timer
	}
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil { // its pass is complete
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	if err := h.clock.BlockUntilContext(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	expectLines(t, "at 00:00", h.carryLines(p), "03-03T00:00 INTEREST 1 10001 10001")
	stopAndWait(t, cancel, done, "RunScheduler")
}
