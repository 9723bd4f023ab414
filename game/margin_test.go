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
