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
// room with a maintenance margin, where prices liquidate some of them;
// under THIN_BOOK execution, with a two-sided market and small volumes,
// where orders fill in parts over several ticks at prices with costs;
// and in a room with carrying costs, whose clock crosses 00:00 UTC four
// times (interest and borrow fees booked among the trades).
func TestLedgerReconcilesAfterRandomSession(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			for _, mode := range []struct {
				shorts bool
				margin string
				exec   game.ExecutionPreset
				carry  bool
			}{{false, "", "", false}, {true, "", "", false}, {true, "40", "", false}, {true, "", game.ExecutionThinBook, false}, {true, "", "", true}} {
				t.Run(fmt.Sprintf("shorts=%v,margin=%s,execution=%s,carry=%v", mode.shorts, mode.margin, mode.exec, mode.carry), func(t *testing.T) {
					randomLedgerSession(t, h, mode.shorts, mode.margin, mode.exec, mode.carry)
				})
			}
		})
	}
}

func randomLedgerSession(t *testing.T, h *harness, shorts bool, margin string, exec game.ExecutionPreset, carry bool) {
	const traders, steps = 4, 400
	symbols := []string{"AAPL", "MSFT"}
	name := fmt.Sprintf("%v%s%s", shorts, margin, exec)
	if carry {
		name += "carry"
	}
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
		if exec != "" {
			in.Execution = &game.ExecutionInput{Preset: &exec}
		}
		if carry {
			carrying(in)
			in.EndsAt = h.clock.Now().Add(10 * 24 * time.Hour)
		}
	}, players...)
	prices := map[string]decimal.Decimal{}
	tick := func(rng *rand.Rand, sym string) {
		p := decimal.New(int64(5000+rng.IntN(10000)), -2) // 50.00 to 149.99
		t := game.PriceTick{Symbol: sym, Price: p}
		if exec != "" {
			// A spread of up to 20 cents, and 100 to 3,000 shares: THIN_BOOK
			// takes 2 to 60 of them per order and tick.
			t.Bid = p.Sub(decimal.New(int64(rng.IntN(11)), -2))
			t.Ask = p.Add(decimal.New(int64(rng.IntN(11)), -2))
			t.Volume = int64(100 + rng.IntN(2901))
		}
		if _, err := h.svc.TickQuote(h.ctx, t); err != nil {
			h.t.Fatalf("tick %+v: %v", t, err)
		}
		prices[sym] = p
	}
	rng := rand.New(rand.NewPCG(7, map[string]uint64{"false": 1, "true": 2, "true40": 3, "trueTHIN_BOOK": 4, "truecarry": 5}[name]))
	for _, sym := range symbols {
		tick(rng, sym)
	}
	open := map[*game.User][]int64{}
	kinds := map[game.OrderStatus]int{}
	for step := range steps {
		h.clock.Advance(time.Second)
		if carry && step%100 == 99 {
			// To the next 00:00 UTC, and its accrual.
			now := h.clock.Now()
			h.clock.Advance(time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now))
			if _, err := h.svc.AccrueDue(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
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
			if o.Working() {
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
	if exec != "" {
		// Parts: orders with more than one fill, and some cancelled or
		// expired with some filled.
		ids := []int64{}
		for _, o := range orders {
			ids = append(ids, o.ID)
		}
		fills, err := h.store.FillsOf(h.ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		multi, cutShort := 0, 0
		for _, o := range orders {
			if len(fills[o.ID]) > 1 {
				multi++
			}
			if (o.Status == game.OrderStatusCancelled || o.Status == game.OrderStatusExpired) && o.FilledQuantity > 0 {
				cutShort++
			}
		}
		t.Logf("%d orders filled in parts, %d ended with part filled", multi, cutShort)
		if multi == 0 || cutShort == 0 || kinds[game.OrderStatusPartiallyFilled] == 0 {
			t.Error("the session does not exercise partial fills: none placed PARTIALLY_FILLED, filled in parts, or ended part filled")
		}
	}
	if carry {
		lines := map[game.LedgerKind]int{}
		ps, _ := h.store.Participants(h.ctx, room.ID)
		for _, p := range ps {
			entries, _, _ := h.store.Ledger(h.ctx, p.ID, 0, 1_000_000)
			for _, e := range entries {
				lines[e.Kind]++
			}
		}
		t.Logf("%d INTEREST and %d BORROW_FEE lines", lines[game.LedgerInterest], lines[game.LedgerBorrowFee])
		if lines[game.LedgerInterest] != 4*traders || lines[game.LedgerBorrowFee] == 0 {
			t.Errorf("%d INTEREST lines (want one per participant and 00:00: %d) and %d BORROW_FEE: the session does not exercise carrying costs",
				lines[game.LedgerInterest], 4*traders, lines[game.LedgerBorrowFee])
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

// orderless are the ledger kinds no order makes.
var orderless = map[game.LedgerKind]bool{game.LedgerInterest: true, game.LedgerBorrowFee: true, game.LedgerAdjustment: true}

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
//     INTEREST, BORROW_FEE and ADJUSTMENT entries name no order; every
//     other entry belongs to one of the participant's own orders, but a
//     corporate action's (see corporate);
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
		ids := []int64{}
		for _, o := range orders {
			byID[o.ID] = o
			ids = append(ids, o.ID)
		}
		fills, err := h.store.FillsOf(h.ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		booked := map[int64]int{} // fills of each order met in the ledger so far
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
			if orderless[e.Kind] {
				// Carrying costs and adjustments belong to no order.
				if e.OrderID != nil {
					t.Errorf("participant %d entry %d (%s): names order %d", p.ID, e.ID, e.Kind, *e.OrderID)
				}
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
				o, n := byID[id], booked[id]
				if n >= len(fills[id]) {
					t.Errorf("participant %d entry %d (%s %s): order %d has %d fills, this is trade %d", p.ID, e.ID, e.Kind, e.Amount, id, len(fills[id]), n+1)
					continue
				}
				f := fills[id][n]
				booked[id]++
				gross := f.Price.Mul(decimal.NewFromInt(f.Quantity))
				if o.Side == game.SideBuy {
					gross = gross.Neg()
				}
				if !e.Amount.Equal(gross) {
					t.Errorf("participant %d entry %d (%s %s): fill %d of order %d is %d at %s", p.ID, e.ID, e.Kind, e.Amount, f.ID, id, f.Quantity, f.Price)
				}
				before := replay[o.Symbol]
				after, _ := game.ApplyFill(before, o.Side, f.Quantity, f.Price)
				replay[o.Symbol] = after
				marginBooked[id] = marginBooked[id].Add(shortBasis(after).Sub(shortBasis(before)).Mul(rate).Neg())
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
			if o.Working() {
				held = held.Add(o.Reserved)
			}
			// Its fills make its filled quantity, at its last price, with
			// its commission on the first; the ledger books each.
			var wantTrade, wantCommission decimal.Decimal
			var qty int64
			for i, f := range fills[o.ID] {
				qty += f.Quantity
				gross := f.Price.Mul(decimal.NewFromInt(f.Quantity))
				if o.Side == game.SideBuy {
					gross = gross.Neg()
				}
				wantTrade = wantTrade.Add(gross)
				wantCommission = wantCommission.Sub(f.Commission)
				if i > 0 && !f.Commission.IsZero() {
					t.Errorf("order %d: fill %d pays commission %s: only the first does", o.ID, f.ID, f.Commission)
				}
				costs := f.SpreadCost.Add(f.SlippageCost).Add(f.ImpactCost).Div(decimal.NewFromInt(f.Quantity))
				if want := f.MidPrice.Add(costs); o.Side == game.SideSell && !f.Price.Equal(f.MidPrice.Sub(costs)) || o.Side == game.SideBuy && !f.Price.Equal(want) {
					t.Errorf("order %d (%s) fill %d: price %s is not mid %s %s costs %s/%d", o.ID, o.Side, f.ID, f.Price, f.MidPrice, map[game.Side]string{game.SideBuy: "+", game.SideSell: "-"}[o.Side], f.SpreadCost.Add(f.SlippageCost).Add(f.ImpactCost), f.Quantity)
				}
				if i == len(fills[o.ID])-1 && !f.Price.Equal(*o.FilledPrice) {
					t.Errorf("order %d: filledPrice %s, its last fill's price %s", o.ID, o.FilledPrice, f.Price)
				}
			}
			if qty != o.FilledQuantity || booked[o.ID] != len(fills[o.ID]) {
				t.Errorf("order %d (%s): filledQuantity %d, commission %s; its %d fills make %d, %d of them booked", o.ID, o.Status, o.FilledQuantity, o.Commission, len(fills[o.ID]), qty, booked[o.ID])
			}
			if !wantCommission.Neg().Equal(o.Commission) {
				t.Errorf("order %d: commission %s, its fills' %s", o.ID, o.Commission, wantCommission.Neg())
			}
			if (o.Status == game.OrderStatusFilled) != (qty == o.Quantity) || (o.Status == game.OrderStatusPartiallyFilled) != (o.Working() && qty > 0) {
				t.Errorf("order %d is %s with %d of %d filled", o.ID, o.Status, qty, o.Quantity)
			}
			if !trades[o.ID].Equal(wantTrade) || !commissions[o.ID].Equal(wantCommission) {
				t.Errorf("order %d (%s): ledger trade %s and commission %s, want %s and %s", o.ID, o.Status, trades[o.ID], commissions[o.ID], wantTrade, wantCommission)
			}
			// A working order holds its reservation, a closed one
			// released it; both hold the short margin their fills booked.
			wantHold := marginBooked[o.ID]
			if o.Working() {
				wantHold = wantHold.Sub(o.Reserved)
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
