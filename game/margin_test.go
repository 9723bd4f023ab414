package game_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// ledgerLines renders a participant's ledger entries after the first
// `skip` as "KIND amount cashAfter buyingPowerAfter".
func (h *harness) ledgerLines(p *game.Participant, skip int) []string {
	h.t.Helper()
	entries, _, err := h.store.Ledger(h.ctx, p.ID, 0, 1_000_000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range entries[min(skip, len(entries)):] {
		out = append(out, fmt.Sprintf("%s %s %s %s", e.Kind, e.Amount, e.CashAfter, e.BuyingPowerAfter))
	}
	return out
}

func (h *harness) ledgerLen(p *game.Participant) int {
	h.t.Helper()
	_, n, err := h.store.Ledger(h.ctx, p.ID, 0, 1)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// why is an order's status with its reject reason and message, if any.
func why(o *game.Order) string {
	s := string(o.Status)
	if o.RejectReason != nil {
		s += " " + *o.RejectReason
	}
	if o.RejectMessage != nil {
		s += ": " + *o.RejectMessage
	}
	return s
}

func (h *harness) value(roomID int64, u *game.User) *game.Valuation {
	h.t.Helper()
	v, err := h.svc.Value(h.ctx, h.participant(roomID, u))
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// TestCoverShortUnderWater is issue 17's trap: starting cash 10,000,
// short 200 at 100, then the price climbs from 101 to 200. At every
// price a BUY of 1 fills, paid from cash (buying power stays 0, the
// short being under water), and releases the covered share of the
// margin: 1.5 x its cost basis of 100. A buy the cash cannot pay, or
// one that goes past the short into a long, still needs what it always
// did; a resting cover holds back its cost from cash, which two of them
// cannot spend twice.
func TestCoverShortUnderWater(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling = decp("10000"), ptr(true)
			}, alice)
			h.price("AAPL", "100")
			if o := h.order(alice, sell(room.ID, "AAPL", 200)); o.Status != game.OrderStatusFilled {
				t.Fatalf("short 200 = %s", why(o))
			}
			p := h.participant(room.ID, alice)
			assertDec(t, "cash after the short", p.Cash, "30000")
			if got, want := h.ledgerLines(p, 0), []string{
				"STARTING_CASH 10000 10000 10000", "SELL 20000 30000 30000", "RESERVE -30000 30000 0",
			}; !slices.Equal(got, want) {
				t.Fatalf("ledger %q, want %q", got, want)
			}

			cash, power, realized := dec("30000"), dec("0"), dec("0")
			for price := int64(101); price <= 200; price++ {
				h.clock.Advance(time.Second)
				px := decimal.NewFromInt(price)
				h.price("AAPL", px.String())
				before := h.ledgerLen(p)
				o := h.order(alice, buy(room.ID, "AAPL", 1))
				if o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(px) {
					t.Fatalf("at %d: BUY 1 = %s, want FILLED at %d", price, why(o), price)
				}
				cash, realized = cash.Sub(px), realized.Add(dec("100")).Sub(px)
				power = power.Sub(px)
				lines := []string{fmt.Sprintf("BUY %s %s %s", px.Neg(), cash, power)}
				power = power.Add(dec("150")) // 1.5 x the 100 of cost basis covered
				lines = append(lines, fmt.Sprintf("RELEASE 150 %s %s", cash, power))
				if got := h.ledgerLines(p, before); !slices.Equal(got, lines) {
					t.Fatalf("at %d: ledger %q, want %q", price, got, lines)
				}
				short := 200 - (price - 100)
				pos := h.position(room.ID, alice, "AAPL")
				if pos.Quantity != -short || !pos.CostBasis.Equal(decimal.NewFromInt(100*short)) || !pos.RealizedPnL.Equal(realized) {
					t.Fatalf("at %d: position %d costing %s realized %s, want %d costing %d realized %s",
						price, pos.Quantity, pos.CostBasis, pos.RealizedPnL, -short, 100*short, realized)
				}
				v := h.value(room.ID, alice)
				assertDec(t, fmt.Sprintf("cash at %d", price), v.Cash, cash.String())
				assertDec(t, fmt.Sprintf("buying power at %d", price), v.BuyingPower, "0")
				assertDec(t, fmt.Sprintf("portfolio value at %d", price), v.PortfolioValue, cash.Sub(px.Mul(decimal.NewFromInt(short))).String())
			}
			// 100 covered at 101..200 (15,050 in all): 100 still short.
			assertDec(t, "cash", cash, "14950")
			assertDec(t, "ledger buying power", power, "-50")
			assertDec(t, "realized", realized, "-5050")
			assertDec(t, "portfolio value", h.value(room.ID, alice).PortfolioValue, "-5050")

			// A cover the cash cannot pay: 100 at 200 is 20,000.
			h.clock.Advance(time.Second)
			r := h.expectRejection(room, alice)
			o := h.order(alice, buy(room.ID, "AAPL", 100))
			r.check(t, o, game.RejectInsufficientFunds, "BUY 100 AAPL at 200 needs 5050 more cash than other orders hold back")
			// A buy past the short opens a long: buying power, as ever.
			h.clock.Advance(time.Second)
			r = h.expectRejection(room, alice)
			o = h.order(alice, buy(room.ID, "AAPL", 101))
			r.check(t, o, game.RejectInsufficientFunds, "BUY 101 AAPL at 200 needs 5250 more buying power")

			// A resting cover holds back its cost from cash...
			h.clock.Advance(time.Second)
			rest := h.order(alice, limit(buy(room.ID, "AAPL", 50), "190"))
			if rest.Status != game.OrderStatusOpen || !rest.Reserved.Equal(dec("9500")) {
				t.Fatalf("resting cover = %s holding %s, want OPEN holding 9500", why(rest), rest.Reserved)
			}
			// ...which another cannot spend again.
			h.clock.Advance(time.Second)
			r = h.expectRejection(room, alice)
			o = h.order(alice, limit(buy(room.ID, "AAPL", 50), "190"))
			r.check(t, o, game.RejectInsufficientFunds, "this order holds back 9500 but the cash other orders do not hold back is 5450")
			// It fills when the price comes down to it: its hold and 1.5 x
			// the 5,000 of cost basis it covers are released.
			h.clock.Advance(time.Second)
			before := h.ledgerLen(p)
			h.price("AAPL", "190")
			if got, want := h.ledgerLines(p, before), []string{
				"RELEASE 9500 14950 -50", "BUY -9500 5450 -9550", "RELEASE 7500 5450 -2050",
			}; !slices.Equal(got, want) {
				t.Fatalf("resting cover's ledger %q, want %q", got, want)
			}
			if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != -50 {
				t.Errorf("position %d, want -50", pos.Quantity)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestCoverBelowMinSharePrice: minSharePrice keeps players from buying
// cheap shares, not from covering a short of them (a short may be sold
// at any price).
func TestCoverBelowMinSharePrice(t *testing.T) {
	h := newHarness(t)
	owner, bob := h.user("owner"), h.user("bob")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.MinSharePrice, in.AllowShortSelling = decp("5"), ptr(true)
	}, bob)
	h.price("NVDA", "4.99")
	if o := h.order(bob, sell(room.ID, "NVDA", 10)); o.Status != game.OrderStatusFilled {
		t.Fatalf("short = %s", why(o))
	}
	if o := h.order(bob, buy(room.ID, "NVDA", 10)); o.Status != game.OrderStatusFilled {
		t.Fatalf("cover = %s", why(o))
	}
	r := h.expectRejection(room, bob)
	o := h.order(bob, buy(room.ID, "NVDA", 1))
	r.check(t, o, game.RejectBelowMinPrice, fmt.Sprintf("minSharePrice is 5 in bull pen %d: buying NVDA at 4.99 is below it", room.ID))
}

func TestMaintenanceMarginValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	assertCreateRefused(t, h, owner, []createCase{
		{"Zero", func(in *game.CreateBullPenInput) { in.MaintenanceMarginPercent = decp("0") }, "maintenanceMarginPercent"},
		{"Negative", func(in *game.CreateBullPenInput) { in.MaintenanceMarginPercent = decp("-25") }, "maintenanceMarginPercent"},
		{"Over100", func(in *game.CreateBullPenInput) { in.MaintenanceMarginPercent = decp("100.0001") }, "maintenanceMarginPercent"},
		{"FiveDecimals", func(in *game.CreateBullPenInput) { in.MaintenanceMarginPercent = decp("25.00001") }, "maintenanceMarginPercent"},
	})
	for _, pct := range []string{"0.0001", "25.5", "100"} {
		b := h.room(owner, func(in *game.CreateBullPenInput) { in.MaintenanceMarginPercent = decp(pct) })
		got, err := h.store.BullPen(h.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.MaintenanceMarginPercent == nil || !got.MaintenanceMarginPercent.Equal(dec(pct)) {
			t.Errorf("stored %v, want %s", got.MaintenanceMarginPercent, pct)
		}
		clone, err := h.svc.CloneBullPen(h.ctx, owner, b.ID, nil, t0.Add(time.Hour))
		if err != nil || clone.MaintenanceMarginPercent == nil || !clone.MaintenanceMarginPercent.Equal(dec(pct)) {
			t.Errorf("clone: %v, %v", clone, err)
		}
	}
	plain, err := h.store.BullPen(h.ctx, h.room(owner, nil).ID)
	if err != nil || plain.MaintenanceMarginPercent != nil {
		t.Errorf("a room without the rule: %v, %v", plain.MaintenanceMarginPercent, err)
	}
}

// countLiquidations counts the room's LIQUIDATED order events by order.
func (h *harness) countLiquidations(roomID int64) map[int64]int {
	h.t.Helper()
	n := map[int64]int{}
	for _, ev := range h.events(roomID) {
		if ev.Kind != game.EventOrder {
			continue
		}
		var p game.OrderPayload
		mustUnmarshal(h.t, ev.Payload, &p)
		if p.Kind == game.OrderEventLiquidated {
			n[p.Order.ID]++
		}
	}
	return n
}

// TestMaintenanceMarginLiquidation: with maintenanceMarginPercent 25, a
// short is liquidated by the first price at which cash less the shorts'
// market value falls below 25% of that value, not at the price where it
// equals it. The liquidation cancels the open orders, covers the short
// at that price with an order of the system's (LIQUIDATED, ledger
// LIQUIDATION), keeps the longs while cash pays, and happens once: not
// again on the next price, nor after a restart. Another participant
// with margin to spare is untouched.
func TestMaintenanceMarginLiquidation(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dsn := dbtest.Open(t, backend)
			clock := clockwork.NewFakeClockAt(t0)
			h := openHarnessDSN(t, dsn, clock)
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.Commission, in.AllowShortSelling = decp("10000"), decp("1"), ptr(true)
				in.MaintenanceMarginPercent = decp("25")
			}, alice, bob)
			h.price("AAPL", "100")
			h.price("MSFT", "50")
			for _, o := range []*game.Order{
				h.order(alice, sell(room.ID, "AAPL", 100)), // cash 19,999
				h.order(alice, buy(room.ID, "MSFT", 10)),   // cash 19,498
				h.order(bob, sell(room.ID, "AAPL", 10)),    // cash 10,999
			} {
				if o.Status != game.OrderStatusFilled {
					t.Fatalf("order %s %d %s = %s", o.Side, o.Quantity, o.Symbol, why(o))
				}
			}
			rest := h.order(alice, limit(buy(room.ID, "AAPL", 10), "90")) // holds back 901
			if rest.Status != game.OrderStatusOpen {
				t.Fatalf("resting buy = %s", rest.Status)
			}
			p := h.participant(room.ID, alice)

			// At 155.984: 19,498 - 15,598.40 = 3,899.60, exactly 25% of
			// 15,598.40. Not below: nothing happens.
			for _, px := range []string{"150", "155.984"} {
				seq := h.lastSeq(room.ID)
				h.price("AAPL", px)
				if got := h.kinds(room.ID, seq); len(got) != 0 {
					t.Fatalf("at %s: events %v, want none", px, got)
				}
			}
			// At 155.9841: 3,899.59 < 3,899.6025.
			seq, before := h.lastSeq(room.ID), h.ledgerLen(p)
			h.price("AAPL", "155.9841")
			if got, want := h.kinds(room.ID, seq), []string{"ORDER:CANCELLED", "ORDER:LIQUIDATED", "POSITION"}; !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			liq := h.countLiquidations(room.ID)
			if len(liq) != 1 {
				t.Fatalf("liquidations %v, want one order", liq)
			}
			var orderID int64
			for id := range liq {
				orderID = id
			}
			o, err := h.store.Order(h.ctx, orderID)
			if err != nil {
				t.Fatal(err)
			}
			if o.ParticipantID != p.ID || o.Side != game.SideBuy || o.Type != game.OrderTypeMarket || o.Quantity != 100 ||
				o.Status != game.OrderStatusFilled || o.FilledQuantity != 100 || !o.FilledPrice.Equal(dec("155.9841")) ||
				!o.Commission.Equal(dec("1")) || o.FilledAt == nil {
				t.Errorf("liquidation order %+v", o)
			}
			if c, _ := h.store.Order(h.ctx, rest.ID); c.Status != game.OrderStatusCancelled || !c.Reserved.IsZero() {
				t.Errorf("resting buy is %s holding %s, want CANCELLED", c.Status, c.Reserved)
			}
			// Before: cash 19,498, buying power 19,498 - 901 - 15,000.
			if got, want := h.ledgerLines(p, before), []string{
				"RELEASE 901 19498 4498",
				"LIQUIDATION -15598.41 3899.59 -11100.41",
				"COMMISSION -1 3898.59 -11101.41",
				"RELEASE 15000 3898.59 3898.59",
			}; !slices.Equal(got, want) {
				t.Fatalf("ledger %q, want %q", got, want)
			}
			aapl := h.position(room.ID, alice, "AAPL")
			if aapl.Quantity != 0 || !aapl.RealizedPnL.Equal(dec("-5598.41")) {
				t.Errorf("AAPL %d realized %s, want 0 realized -5598.41", aapl.Quantity, aapl.RealizedPnL)
			}
			if msft := h.position(room.ID, alice, "MSFT"); msft.Quantity != 10 {
				t.Errorf("MSFT %d, want the 10 kept", msft.Quantity)
			}
			v := h.value(room.ID, alice)
			assertDec(t, "cash", v.Cash, "3898.59")
			assertDec(t, "buying power", v.BuyingPower, "3898.59")
			if pos := h.position(room.ID, bob, "AAPL"); pos.Quantity != -10 {
				t.Errorf("bob's short %d, want -10 untouched", pos.Quantity)
			}
			h.checkLedger(room.ID)

			// Once: not again on a higher price, nor after a restart.
			seq = h.lastSeq(room.ID)
			h.price("AAPL", "160")
			restarted := openHarnessDSN(t, dsn, clock)
			restarted.price("AAPL", "170")
			if got := h.kinds(room.ID, seq); len(got) != 0 {
				t.Errorf("events after the liquidation: %v, want none", got)
			}
			if liq := h.countLiquidations(room.ID); len(liq) != 1 || liq[orderID] != 1 {
				t.Errorf("liquidations %v, want order %d once", liq, orderID)
			}
			assertDec(t, "cash after", h.participant(room.ID, alice).Cash, "3898.59")
			h.checkLedger(room.ID)
		})
	}
}

// TestLiquidationAfterAGap: a price that jumps past what cash can cover
// has the longs sold first to pay for the cover; with no long to sell,
// the short is covered as far as the cash goes and the rest stays short
// (cash never below zero, portfolio value negative, buying power 0, and
// nothing more a later price can do).
func TestLiquidationAfterAGap(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, carol, dave := h.user("owner"), h.user("carol"), h.user("dave")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.Commission, in.AllowShortSelling = decp("10000"), decp("1"), ptr(true)
				in.MaintenanceMarginPercent = decp("30")
			}, carol, dave)
			h.price("NVDA", "100")
			h.price("AMZN", "100")
			for _, o := range []*game.Order{
				h.order(carol, sell(room.ID, "NVDA", 100)), // cash 19,999
				h.order(carol, buy(room.ID, "AMZN", 30)),   // cash 16,998
				h.order(dave, sell(room.ID, "NVDA", 130)),  // cash 22,999
			} {
				if o.Status != game.OrderStatusFilled {
					t.Fatalf("order %s %d %s = %s", o.Side, o.Quantity, o.Symbol, why(o))
				}
			}
			h.price("AMZN", "150") // nobody is short AMZN: no margin call
			pc, pd := h.participant(room.ID, carol), h.participant(room.ID, dave)
			bc, bd := h.ledgerLen(pc), h.ledgerLen(pd)
			seq := h.lastSeq(room.ID)
			h.price("NVDA", "200")
			if got, want := h.kinds(room.ID, seq), []string{
				"ORDER:LIQUIDATED", "POSITION", "ORDER:LIQUIDATED", "POSITION", // carol: AMZN sold to pay, NVDA covered
				"ORDER:LIQUIDATED", "POSITION", // dave: NVDA covered as far as his cash goes
			}; !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			// Carol: covering NVDA (20,000 + 1) needs more than her 16,998,
			// so AMZN's 4,500 - 1 comes in first; cash never goes negative.
			if got, want := h.ledgerLines(pc, bc), []string{
				"LIQUIDATION 4500 21498 6498",
				"COMMISSION -1 21497 6497",
				"LIQUIDATION -20000 1497 -13503",
				"COMMISSION -1 1496 -13504",
				"RELEASE 15000 1496 1496",
			}; !slices.Equal(got, want) {
				t.Errorf("carol's ledger %q, want %q", got, want)
			}
			// Dave: 22,999 pays for 114 of his 130 at 200 and the
			// commission (22,801); 16 stay short, with their share of the
			// margin (2,400) still held.
			if got, want := h.ledgerLines(pd, bd), []string{
				"LIQUIDATION -22800 199 -19301",
				"COMMISSION -1 198 -19302",
				"RELEASE 17100 198 -2202",
			}; !slices.Equal(got, want) {
				t.Errorf("dave's ledger %q, want %q", got, want)
			}
			for _, c := range []struct {
				u                  *game.User
				cash, value, power string
				short              int64
			}{{carol, "1496", "1496", "1496", 0}, {dave, "198", "-3002", "0", -16}} {
				v := h.value(room.ID, c.u)
				assertDec(t, c.u.Username+"'s cash", v.Cash, c.cash)
				assertDec(t, c.u.Username+"'s portfolio value", v.PortfolioValue, c.value)
				assertDec(t, c.u.Username+"'s buying power", v.BuyingPower, c.power)
				for _, pos := range v.Positions {
					if want := map[bool]int64{true: c.short}[pos.Symbol == "NVDA"]; pos.Quantity != want {
						t.Errorf("%s holds %d %s, want %d", c.u.Username, pos.Quantity, pos.Symbol, want)
					}
				}
			}
			h.checkLedger(room.ID)
			// Short with no cash to cover: no buy, no short, and a second
			// call, finding nothing it can pay for, writes nothing.
			for _, in := range []game.PlaceOrderInput{buy(room.ID, "NVDA", 1), sell(room.ID, "NVDA", 1)} {
				if o := h.order(dave, in); o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectInsufficientFunds {
					t.Errorf("dave's %s = %s, want REJECTED INSUFFICIENT_BUYING_POWER", in.Side, why(o))
				}
			}
			seq = h.lastSeq(room.ID)
			h.price("NVDA", "250")
			if got := h.kinds(room.ID, seq); len(got) != 0 {
				t.Errorf("events after the liquidation: %v, want none", got)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestLiquidationAfterFillsAndOnResume: a price's resting orders go
// before its margin calls, so a buy stop that covers the short at that
// price leaves nothing to liquidate; and a room paused while the price
// ran away liquidates when it resumes, in the resuming transaction.
func TestLiquidationAfterFillsAndOnResume(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, erin, frank := h.user("owner"), h.user("erin"), h.user("frank")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash, in.AllowShortSelling, in.MaintenanceMarginPercent = decp("10000"), ptr(true), decp("25")
			}, erin, frank)
			h.price("AAPL", "100")
			h.price("MSFT", "100")
			for _, o := range []*game.Order{h.order(erin, sell(room.ID, "AAPL", 100)), h.order(frank, sell(room.ID, "MSFT", 100))} {
				if o.Status != game.OrderStatusFilled {
					t.Fatalf("short = %s", why(o))
				}
			}
			// Erin's stop holds back 15,000 of her 20,000 of cash (a cover
			// needs cash, not buying power, which is 5,000).
			stopBuy := h.order(erin, stop(buy(room.ID, "AAPL", 100), "150"))
			if stopBuy.Status != game.OrderStatusOpen {
				t.Fatalf("buy stop = %s", why(stopBuy))
			}
			// At 170 her margin equity, 20,000 - 17,000, is below 4,250,
			// but the stop fills first.
			seq := h.lastSeq(room.ID)
			h.price("AAPL", "170")
			if got, want := h.kinds(room.ID, seq), []string{"ORDER:FILLED", "POSITION"}; !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			assertDec(t, "erin's cash", h.participant(room.ID, erin).Cash, "3000")

			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			seq = h.lastSeq(room.ID)
			h.price("MSFT", "170") // paused: nothing happens
			if got := h.kinds(room.ID, seq); len(got) != 0 {
				t.Fatalf("events while paused %v, want none", got)
			}
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			if got, want := h.kinds(room.ID, seq), []string{"ROOM_STATE:ACTIVE:MANUAL", "ORDER:LIQUIDATED", "POSITION"}; !slices.Equal(got, want) {
				t.Fatalf("events on resume %v, want %v", got, want)
			}
			assertDec(t, "frank's cash", h.participant(room.ID, frank).Cash, "3000")
			h.checkLedger(room.ID)
		})
	}
}
