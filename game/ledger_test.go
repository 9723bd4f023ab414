package game_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestLedgerReconcilesAfterRandomSession trades at random on both engines
// (market, limit, stop and stop-limit orders on both sides, shorts that
// are partly covered by shares held, cancels, fills by price ticks, a
// pause and resume, and the room's end expiring what still rests) and
// reconciles every participant's ledger with the stored state after every
// few steps and at the end (see checkLedger); with shorts, also in a
// room with a maintenance margin, where prices liquidate some of them.
func TestLedgerReconcilesAfterRandomSession(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			for _, mode := range []struct {
				shorts bool
				margin string
			}{{false, ""}, {true, ""}, {true, "40"}} {
				t.Run(fmt.Sprintf("shorts=%v,margin=%s", mode.shorts, mode.margin), func(t *testing.T) {
					randomLedgerSession(t, h, mode.shorts, mode.margin)
				})
			}
		})
	}
}

func randomLedgerSession(t *testing.T, h *harness, shorts bool, margin string) {
	const traders, steps = 4, 400
	symbols := []string{"AAPL", "MSFT"}
	name := fmt.Sprintf("%v%s", shorts, margin)
	owner := h.user("owner-" + name)
	players := make([]*game.User, traders)
	for i := range players {
		players[i] = h.user(fmt.Sprintf("ledger-%s-%d", name, i))
	}
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.StartingCash, in.Commission, in.AllowShortSelling = decp("25000"), decp("1.2345"), ptr(shorts)
		if margin != "" {
			// Less cash, so that shorts come near the margin.
			in.StartingCash, in.MaintenanceMarginPercent = decp("5000"), decp(margin)
		}
	}, players...)
	prices := map[string]decimal.Decimal{}
	tick := func(rng *rand.Rand, sym string) {
		p := decimal.New(int64(5000+rng.IntN(10000)), -2) // 50.00 to 149.99
		h.price(sym, p.String())
		prices[sym] = p
	}
	rng := rand.New(rand.NewPCG(7, map[string]uint64{"false": 1, "true": 2, "true40": 3}[name]))
	for _, sym := range symbols {
		tick(rng, sym)
	}
	open := map[*game.User][]int64{}
	kinds := map[game.OrderStatus]int{}
	for step := range steps {
		h.clock.Advance(time.Second)
		u := players[rng.IntN(traders)]
		sym := symbols[rng.IntN(len(symbols))]
		switch r := rng.IntN(20); {
		case r < 4:
			tick(rng, sym)
		case r < 6 && len(open[u]) > 0:
			i := rng.IntN(len(open[u]))
			if _, err := h.svc.CancelOrder(h.ctx, u, open[u][i]); err != nil && game.ErrorCode(err) != game.ECONFLICT {
				t.Fatalf("cancel: %v", err)
			}
			open[u] = append(open[u][:i], open[u][i+1:]...)
		case r == 6 && step%50 == 6:
			// Paused, prices move on; resuming fills what they crossed.
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
			tick(rng, sym)
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive, game.RoomPaused); err != nil {
				t.Fatal(err)
			}
		default:
			in := buy(room.ID, sym, int64(1+rng.IntN(60)))
			if rng.IntN(2) == 0 {
				in.Side = game.SideSell
			}
			off := func() string {
				return prices[sym].Add(decimal.New(int64(rng.IntN(2001)-1000), -2)).String() // price +/- 10
			}
			switch rng.IntN(5) {
			case 1, 2:
				in = limit(in, off())
			case 3:
				in = stop(in, off())
			case 4:
				in = stop(in, off())
				in.Type, in.LimitPrice = ptr(game.OrderTypeStopLimit), decp(off())
			}
			o := h.order(u, in)
			kinds[o.Status]++
			if o.Status == game.OrderStatusOpen {
				open[u] = append(open[u], o.ID)
			}
		}
		if step%40 == 39 {
			h.checkLedger(room.ID)
		}
	}
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
		t.Fatal(err)
	}
	h.checkLedger(room.ID)
	orders, _, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: room.ID, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	end := map[game.OrderStatus]int{}
	for _, o := range orders {
		end[o.Status]++
	}
	t.Logf("placed %v; at the end %v", kinds, end)
	// The session must have exercised what the ledger books.
	for _, s := range []game.OrderStatus{game.OrderStatusFilled, game.OrderStatusCancelled, game.OrderStatusExpired, game.OrderStatusRejected} {
		if end[s] == 0 {
			t.Errorf("no %s order in the session: it does not exercise the ledger", s)
		}
	}
	if margin != "" {
		if n := len(h.countLiquidations(room.ID)); n == 0 {
			t.Error("no liquidation in the session: it does not exercise the maintenance margin")
		} else {
			t.Logf("%d liquidation orders", n)
		}
	} else if shorts {
		shorted := false
		ps, _ := h.store.PositionsByRoom(h.ctx, room.ID)
		for _, p := range ps {
			shorted = shorted || p.Quantity < 0
		}
		if !shorted {
			t.Error("no short position at the end: the session does not exercise short margin")
		}
	}
}

// corporate reports whether an entry of kind k with no order may be a
// corporate action's.
func corporate(k game.LedgerKind) bool {
	switch k {
	case game.LedgerDividend, game.LedgerBuy, game.LedgerSell, game.LedgerReserve, game.LedgerRelease:
		return true
	}
	return false
}

// checkLedger reconciles each participant's ledger in a room with what
// the store holds, exactly:
//   - one STARTING_CASH first, of the room's starting cash, with no order;
//     every other entry belongs to one of the participant's own orders,
//     but a corporate action's (see corporate);
//   - positions are what the fills make, but in a symbol that was split;
//   - cashAfter of each entry is the running sum of the cash kinds, and
//     buyingPowerAfter the running sum of all kinds;
//   - the cash sum is the participant's cash;
//   - the sum of all kinds is cash - what OPEN orders hold back - 1.5 x the
//     cost basis of short positions;
//   - every filled order has its BUY or SELL (LIQUIDATION for a forced
//     one) of quantity x fill price and its COMMISSION; every order's RESERVE entries less its RELEASE
//     entries, short margin aside, are what it still holds back;
//   - buyingPower is max(0, the sum - 1.5 x the unrealized loss of short
//     positions at their market price), max(0, the sum) without a short.
func (h *harness) checkLedger(roomID int64) {
	t := h.t
	t.Helper()
	room, err := h.store.BullPen(h.ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := h.store.Participants(h.ctx, roomID)
	if err != nil {
		t.Fatal(err)
	}
	rate := game.ShortMarginRate
	// Symbols split since: fills alone no longer make their positions.
	split := map[string]bool{}
	actions, _, err := h.store.CorporateActions(h.ctx, game.CorporateActionFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		if a.Kind == game.ActionSplit && a.AppliedAt != nil {
			split[a.Symbol] = true
		}
	}
	for _, p := range ps {
		entries, total, err := h.store.Ledger(h.ctx, p.ID, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(entries) || len(entries) == 0 {
			t.Fatalf("participant %d: %d entries, totalCount %d", p.ID, len(entries), total)
		}
		orders, _, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: roomID, ParticipantID: p.ID, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]*game.Order{}
		for _, o := range orders {
			byID[o.ID] = o
		}
		first := entries[0]
		if first.Kind != game.LedgerStartingCash || !first.Amount.Equal(room.StartingCash) || first.OrderID != nil {
			t.Errorf("participant %d: first entry %s %s (order %v), want STARTING_CASH %s", p.ID, first.Kind, first.Amount, first.OrderID, room.StartingCash)
		}
		cash, power := decimal.Zero, decimal.Zero
		trades := map[int64]decimal.Decimal{}      // BUY/SELL/LIQUIDATION by order
		commissions := map[int64]decimal.Decimal{} // COMMISSION by order
		holds := map[int64]decimal.Decimal{}       // RESERVE/RELEASE by order
		// Fills replayed in ledger order: the positions they make, and
		// the short margin each fill books.
		replay := map[string]game.Position{}
		marginBooked := map[int64]decimal.Decimal{}
		shortBasis := func(p game.Position) decimal.Decimal {
			if p.Quantity < 0 {
				return p.CostBasis
			}
			return decimal.Zero
		}
		for i, e := range entries {
			if i > 0 && e.Kind == game.LedgerStartingCash {
				t.Errorf("participant %d: a second STARTING_CASH (entry %d)", p.ID, e.ID)
			}
			if i > 0 && e.ID <= entries[i-1].ID {
				t.Errorf("participant %d: entries out of order: %d after %d", p.ID, e.ID, entries[i-1].ID)
			}
			if e.Amount.IsZero() {
				t.Errorf("participant %d: entry %d moves nothing", p.ID, e.ID)
			}
			if e.Kind.MovesCash() {
				cash = cash.Add(e.Amount)
			}
			power = power.Add(e.Amount)
			if !e.CashAfter.Equal(cash) || !e.BuyingPowerAfter.Equal(power) {
				t.Errorf("participant %d entry %d (%s %s): cashAfter %s, buyingPowerAfter %s; running sums %s, %s",
					p.ID, e.ID, e.Kind, e.Amount, e.CashAfter, e.BuyingPowerAfter, cash, power)
			}
			if e.Kind == game.LedgerStartingCash {
				continue
			}
			if e.OrderID == nil && corporate(e.Kind) {
				// A corporate action's: a dividend, a split's cash in
				// lieu (SELL, BUY) and its change of short margin.
				continue
			}
			if e.OrderID == nil || byID[*e.OrderID] == nil {
				t.Errorf("participant %d entry %d (%s): order %v is not one of theirs", p.ID, e.ID, e.Kind, e.OrderID)
				continue
			}
			id := *e.OrderID
			switch e.Kind {
			case game.LedgerBuy, game.LedgerSell, game.LedgerLiquidation:
				trades[id] = trades[id].Add(e.Amount)
				if o := byID[id]; o.Status == game.OrderStatusFilled {
					before := replay[o.Symbol]
					after, _ := game.ApplyFill(before, o.Side, o.FilledQuantity, *o.FilledPrice)
					replay[o.Symbol] = after
					marginBooked[id] = shortBasis(after).Sub(shortBasis(before)).Mul(rate).Neg()
				}
			case game.LedgerCommission:
				commissions[id] = commissions[id].Add(e.Amount)
			default:
				holds[id] = holds[id].Add(e.Amount)
			}
		}
		if !cash.Equal(p.Cash) {
			t.Errorf("participant %d: ledger cash %s, stored cash %s", p.ID, cash, p.Cash)
		}
		positions, err := h.store.Positions(h.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		margin := decimal.Zero
		for _, pos := range positions {
			if pos.Quantity < 0 {
				margin = margin.Add(pos.CostBasis.Mul(rate))
			}
			if r := replay[pos.Symbol]; !split[pos.Symbol] && (r.Quantity != pos.Quantity || !r.CostBasis.Equal(pos.CostBasis)) {
				t.Errorf("participant %d %s: the ledger's fills make %d costing %s, stored %d costing %s", p.ID, pos.Symbol, r.Quantity, r.CostBasis, pos.Quantity, pos.CostBasis)
			}
		}
		held := decimal.Zero
		for _, o := range orders {
			if o.Status == game.OrderStatusOpen {
				held = held.Add(o.Reserved)
			}
			var wantTrade, wantCommission decimal.Decimal
			if o.Status == game.OrderStatusFilled {
				wantTrade = o.FilledPrice.Mul(decimal.NewFromInt(o.FilledQuantity))
				if o.Side == game.SideBuy {
					wantTrade = wantTrade.Neg()
				}
				wantCommission = o.Commission.Neg()
			}
			if !trades[o.ID].Equal(wantTrade) || !commissions[o.ID].Equal(wantCommission) {
				t.Errorf("order %d (%s): ledger trade %s and commission %s, want %s and %s", o.ID, o.Status, trades[o.ID], commissions[o.ID], wantTrade, wantCommission)
			}
			// An open order holds its reservation; a closed one released
			// it, and a filled one holds the short margin its fill booked.
			wantHold := o.Reserved.Neg()
			if o.Status == game.OrderStatusFilled {
				wantHold = marginBooked[o.ID]
			}
			if !holds[o.ID].Equal(wantHold) {
				t.Errorf("order %d (%s): holds net %s, want %s", o.ID, o.Status, holds[o.ID], wantHold)
			}
		}
		if want := p.Cash.Sub(held).Sub(margin); !power.Equal(want) {
			t.Errorf("participant %d: ledger buying power %s, want cash %s - held %s - short margin %s = %s", p.ID, power, p.Cash, held, margin, want)
		}
		val, err := h.svc.Value(h.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		loss := decimal.Zero
		for _, pos := range val.Positions {
			if pos.Quantity < 0 {
				loss = loss.Sub(pos.UnrealizedPnL())
			}
		}
		if want := decimal.Max(power.Sub(loss.Mul(rate)), decimal.Zero); !val.BuyingPower.Equal(want) {
			t.Errorf("participant %d: buyingPower %s, want max(0, ledger %s - 1.5 x short loss %s) = %s", p.ID, val.BuyingPower, power, loss, want)
		}
		if margin.IsZero() && !val.BuyingPower.Equal(decimal.Max(power, decimal.Zero)) {
			t.Errorf("participant %d (no short): buyingPower %s, ledger %s", p.ID, val.BuyingPower, power)
		}
	}
}

// TestLedgerShortMargin follows one short by hand: the margin is booked at
// the sale price, released in proportion as the short is covered, and the
// live buyingPower differs from the ledger by 1.5 x the short's unrealized
// loss at the last price, exactly as documented.
func TestLedgerShortMargin(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.StartingCash, in.Commission, in.AllowShortSelling = decp("10000"), decp("1"), ptr(true)
	}, alice)
	h.price("AAPL", "100")
	short := h.order(alice, sell(room.ID, "AAPL", 10))
	h.price("AAPL", "110")
	cover := h.order(alice, buy(room.ID, "AAPL", 4))
	p := h.participant(room.ID, alice)
	entries, _, err := h.store.Ledger(h.ctx, p.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		id := int64(0)
		if e.OrderID != nil {
			id = *e.OrderID
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %d", e.Kind, e.Amount, e.CashAfter, e.BuyingPowerAfter, id))
	}
	want := []string{
		"STARTING_CASH 10000 10000 10000 0",
		fmt.Sprintf("SELL 1000 11000 11000 %d", short.ID),
		fmt.Sprintf("COMMISSION -1 10999 10999 %d", short.ID),
		fmt.Sprintf("RESERVE -1500 10999 9499 %d", short.ID), // 1.5 x 10 x 100
		fmt.Sprintf("BUY -440 10559 9059 %d", cover.ID),
		fmt.Sprintf("COMMISSION -1 10558 9058 %d", cover.ID),
		fmt.Sprintf("RELEASE 600 10558 9658 %d", cover.ID), // 1.5 x 4 x 100 of cost basis covered
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ledger\n got %q\nwant %q", got, want)
	}
	// Short 6 bought back at 110 would cost 60 more than they brought in:
	// buyingPower = 9658 - 1.5 x 60 = 9568 = 10558 - 1.5 x 6 x 110.
	val, err := h.svc.Value(h.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !val.BuyingPower.Equal(dec("9568")) {
		t.Errorf("buyingPower %s, want 9568", val.BuyingPower)
	}
	h.checkLedger(room.ID)
}
