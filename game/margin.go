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
//   - every short is covered at its last price by a MARKET BUY the system
//     places, stored FILLED with the room's commission, whose OrderEvent
//     is LIQUIDATED, with its PositionEvent and ledger entries
//     (LIQUIDATION for the cost, COMMISSION, the RELEASE of its margin);
//   - when that leaves cash negative (a price that jumped past what the
//     cash could cover), every long is sold the same way, so the debt is
//     paid as far as the positions go. Cash stays negative only when
//     they do not cover it: the participant then holds nothing and can
//     neither buy nor sell short.
//
// Afterwards the participant has no short, so a later price finds
// nothing to call: a margin call happens once, in the transaction of the
// price that made it.
func (s *Service) marginCall(ctx context.Context, tx Tx, roomID, participantID int64) (bool, error) {
	room, err := tx.LockBullPen(ctx, roomID)
	if err != nil {
		return false, err
	}
	pct := room.MaintenanceMarginPercent
	if room.State != RoomActive || pct == nil {
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
	s.log.Info("margin call: liquidating", "room", room.ID, "participant", p.ID,
		"equity", equity.String(), "shorts", shorts.String(), "requirement", shorts.Mul(*pct).Shift(-2).String())
	return true, s.liquidate(ctx, tx, a)
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

// liquidate closes the account's positions on a margin call; see
// marginCall.
func (s *Service) liquidate(ctx context.Context, tx Tx, a *account) error {
	for _, o := range a.open {
		if err := s.finishOrder(ctx, tx, o, OrderStatusCancelled, OrderEventCancelled); err != nil {
			return err
		}
	}
	a.open = nil
	symbols := make([]string, 0, len(a.positions))
	for sym := range a.positions {
		symbols = append(symbols, sym)
	}
	slices.Sort(symbols)
	for _, sym := range symbols {
		if pos := a.positions[sym]; pos.Quantity < 0 {
			if err := s.forcedFill(ctx, tx, a, *pos, SideBuy); err != nil {
				return err
			}
		}
	}
	if !a.p.Cash.IsNegative() {
		return nil
	}
	for _, sym := range symbols {
		if pos := a.positions[sym]; pos.Quantity > 0 {
			if err := a.loadPrice(ctx, tx, sym); err != nil {
				return err
			}
			if err := s.forcedFill(ctx, tx, a, *pos, SideSell); err != nil {
				return err
			}
		}
	}
	return nil
}

// forcedFill closes pos by an order on side that the system places and
// fills at once at the position's last price.
func (s *Service) forcedFill(ctx context.Context, tx Tx, a *account, pos Position, side Side) error {
	now := tx.Now()
	o := &Order{
		BullPenID: a.room.ID, ParticipantID: a.p.ID, Symbol: pos.Symbol, Side: side, Type: OrderTypeMarket,
		Quantity: abs64(pos.Quantity), Status: OrderStatusOpen, Commission: decimal.Zero, Reserved: decimal.Zero,
		CreatedAt: now, UpdatedAt: now,
	}
	return s.fill(ctx, tx, a, o, a.price(pos), true)
}
