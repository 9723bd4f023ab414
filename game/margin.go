package game

import (
	"context"
	"slices"

	"github.com/shopspring/decimal"
)

// sweepMargin makes p's margin call in its own savepoint, as sweep works
// an order: one that fails is logged and left as it was.
func (s *Service) sweepMargin(ctx context.Context, tx Tx, p *Participant, filled map[int64]bool) error {
	var called bool
	err := tx.Savepoint(ctx, func() error {
		var err error
		called, err = s.marginCall(ctx, tx, p.BullPenID, p.ID)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Error("margin call could not be made; left as it was", "participant", p.ID, "room", p.BullPenID, "err", err)
		return nil
	}
	if called {
		filled[p.BullPenID] = true
	}
	return nil
}

// marginCall checks a participant's maintenance margin in an ACTIVE room
// that has one, holding the room, and liquidates when it falls short:
// when their margin equity (see account.maintenance) is below
// MaintenanceMarginPercent of the market value of their shorts, at the
// stored prices. It reports whether it liquidated.
//
// Liquidation, all in the caller's transaction:
//   - every OPEN order of the participant is CANCELLED (its OrderEvent,
//     its hold RELEASEd): they were placed against positions that are
//     about to go, and a buy stop meant to cover would open a long;
//   - when covering every short would cost more than the cash (a price
//     that jumped past what the cash could cover), every long is sold
//     first, by a MARKET SELL the system places;
//   - every short is covered at its last price by a MARKET BUY the system
//     places, as far as the cash pays for it (cash never goes below
//     zero), stored FILLED with the room's commission, whose OrderEvent
//     is LIQUIDATED, with its PositionEvent and ledger entries
//     (LIQUIDATION for the cost, COMMISSION, the RELEASE of its margin).
//
// Afterwards the participant has no short, or one the cash cannot pay
// any more of: a later price finds nothing it can do and writes nothing.
// A margin call acts once, in the transaction of the price that made it.
func (s *Service) marginCall(ctx context.Context, tx Tx, roomID, participantID int64) (bool, error) {
	room, err := tx.LockBullPen(ctx, roomID)
	if err != nil {
		return false, err
	}
	pct := room.MaintenanceMarginPercent
	if room.State != RoomActive || pct == nil || !marketOpen(room, tx.Now()) {
		// While the room's market is closed nothing trades, forced or
		// not: the first price of the next session makes the call.
		return false, nil
	}
	p, err := tx.Participant(ctx, participantID)
	if err != nil {
		return false, err
	}
	a, err := s.loadAccount(ctx, tx, room, p)
	if err != nil {
		return false, err
	}
	equity, shorts := a.maintenance()
	// equity < pct% of shorts, without dividing.
	if !shorts.IsPositive() || !equity.Mul(hundred).LessThan(shorts.Mul(*pct)) {
		return false, nil
	}
	acted, err := s.liquidate(ctx, tx, a)
	if acted {
		s.log.Info("margin call: liquidated", "room", room.ID, "participant", p.ID,
			"equity", equity.String(), "shorts", shorts.String(), "requirement", shorts.Mul(*pct).Shift(-2).String())
	}
	return acted, err
}

// maintenance is the account's margin equity, cash less the market value
// of its shorts (what covering them all would leave), and that market
// value, at the last prices. Longs do not count: nothing is lent against
// them, as buying power never counts them either, and only cash pays for
// a cover.
func (a *account) maintenance() (equity, shorts decimal.Decimal) {
	shorts = decimal.Zero
	for _, p := range a.positions {
		if p.Quantity < 0 {
			shorts = shorts.Add(a.price(*p).Mul(decimal.NewFromInt(-p.Quantity)))
		}
	}
	return a.p.Cash.Sub(shorts), shorts
}

// liquidate closes the account's positions on a margin call (see
// marginCall) without ever taking cash below zero: when covering every
// short would cost more than the cash, the longs are sold first to pay
// for it, and each short is then covered as far as the cash goes. What
// cannot be paid for stays short (the portfolio's value is the same as
// if it were covered on credit). It reports whether it did anything, so
// a later price that finds nothing it can pay for writes nothing.
func (s *Service) liquidate(ctx context.Context, tx Tx, a *account) (bool, error) {
	acted := len(a.open) > 0
	for _, o := range a.open {
		if err := s.finishOrder(ctx, tx, o, OrderStatusCancelled, OrderEventCancelled); err != nil {
			return false, err
		}
	}
	a.open = nil
	symbols := make([]string, 0, len(a.positions))
	for sym := range a.positions {
		symbols = append(symbols, sym)
	}
	slices.Sort(symbols)
	commission := a.room.Commission
	coverAll := decimal.Zero
	for _, sym := range symbols {
		if pos := a.positions[sym]; pos.Quantity < 0 {
			coverAll = coverAll.Add(a.price(*pos).Mul(decimal.NewFromInt(-pos.Quantity))).Add(commission)
		}
	}
	if coverAll.GreaterThan(a.p.Cash) {
		for _, sym := range symbols {
			pos := a.positions[sym]
			if pos.Quantity <= 0 {
				continue
			}
			if err := a.loadPrice(ctx, tx, sym); err != nil {
				return false, err
			}
			// A sale that brings in less than its commission would take
			// cash down, not up.
			if !a.price(*pos).Mul(decimal.NewFromInt(pos.Quantity)).GreaterThan(commission) {
				continue
			}
			if err := s.forcedFill(ctx, tx, a, *pos, pos.Quantity, SideSell); err != nil {
				return false, err
			}
			acted = true
		}
	}
	for _, sym := range symbols {
		pos := a.positions[sym]
		if pos.Quantity >= 0 {
			continue
		}
		price := a.price(*pos)
		qty := -pos.Quantity
		if spare := a.p.Cash.Sub(commission); spare.LessThan(price.Mul(decimal.NewFromInt(qty))) {
			qty = max(0, spare.Div(price).Floor().IntPart()) // what the cash pays for
		}
		if qty == 0 {
			continue
		}
		if err := s.forcedFill(ctx, tx, a, *pos, qty, SideBuy); err != nil {
			return false, err
		}
		acted = true
	}
	return acted, nil
}

// forcedFill reduces pos by quantity shares, by an order on side that the
// system places and fills at once, in full, at the position's last price:
// a liquidation pays no spread, slippage or impact and takes no volume.
func (s *Service) forcedFill(ctx context.Context, tx Tx, a *account, pos Position, quantity int64, side Side) error {
	now := tx.Now()
	o := &Order{
		BullPenID: a.room.ID, ParticipantID: a.p.ID, Symbol: pos.Symbol, Side: side, Type: OrderTypeMarket,
		Quantity: quantity, Status: OrderStatusOpen, Commission: decimal.Zero, Reserved: decimal.Zero,
		CreatedAt: now, UpdatedAt: now,
	}
	price := a.price(pos)
	return s.fill(ctx, tx, a, o, plan{Quantity: quantity, Price: price, Mid: price, Spread: decimal.Zero, Slippage: decimal.Zero, Impact: decimal.Zero}, decimal.Zero, true)
}
