package game

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Carrying costs (see CarryingCosts): once a day, at 00:00 UTC, every
// participant of an ACTIVE or PAUSED room that has any is credited
// interest on positive cash, charged interest on negative cash and
// charged a fee on the market value of their shorts, each a ledger line
// (INTEREST, BORROW_FEE) that moves their cash.
//
// The rules, exactly:
//   - A room accrues at every 00:00 UTC after its startsAt and at or
//     before its endsAt: a room that runs from Monday 14:30 to Thursday
//     10:00 accrues at 00:00 on Tuesday, Wednesday and Thursday. A PAUSED
//     room accrues too (the positions and the debt are still held, and a
//     pause must not dodge the fees); a SCHEDULED, ENDED or CANCELLED one
//     never does.
//   - One accrual is one day: balance x percent / 100 / 365, rounded
//     half-even to MoneyPlaces (4) places, the rule for every money
//     amount derived by division here; cash already carries 4 places
//     (prices and commissions do). An amount that rounds to zero books
//     nothing.
//   - The balance is the state when the accrual is booked: cash, and the
//     shorts at their last quote (their average cost without one). It is
//     booked at 00:00 when the server is up then, so that is the state at
//     00:00; a server that was down books each missed 00:00 when it comes
//     back, oldest first, each on the state then (a later day sees the
//     earlier day's lines). Only participants who joined before that
//     00:00 accrue.
//   - Exactly once: each (room, 00:00) is claimed by a row of its own
//     (Tx.ClaimAccrual) in the transaction that books its ledger lines
//     and cash, under the room's lock; a rerun, a restart or another
//     instance finds the claim and books nothing.
//   - A room that ends books what is due before its end in the
//     transaction that ends it, so none is lost to the end and none comes
//     after it.
//
// An accrual writes no event to the room's log: it changes no order or
// position, the participant's ledger is its record (private, as their
// orders are), and the room's leaderboard is marked stale so the next
// snapshot shows the new values.

// DaysPerYear is the day count of the annual percents: a day is 1/365 of
// the year, leap years too, as in the ACT/365 convention.
const DaysPerYear = 365

// DailyCarry is one day's carrying costs under c of a participant with
// cash and shorts (the market value of their short positions, positive):
// the INTEREST amount (positive on positive cash at CashInterestPercent,
// negative on negative cash at MarginInterestPercent) and the BORROW_FEE
// amount (negative, at BorrowFeePercent), as the ledger books them. An
// unset percent, or nothing to apply it to, gives zero.
func DailyCarry(c CarryingCosts, cash, shorts decimal.Decimal) (interest, borrowFee decimal.Decimal) {
	interest, borrowFee = decimal.Zero, decimal.Zero
	switch {
	case cash.IsPositive() && c.CashInterestPercent != nil:
		interest = dailyAmount(cash, *c.CashInterestPercent)
	case cash.IsNegative() && c.MarginInterestPercent != nil:
		interest = dailyAmount(cash, *c.MarginInterestPercent)
	}
	if shorts.IsPositive() && c.BorrowFeePercent != nil {
		borrowFee = dailyAmount(shorts, *c.BorrowFeePercent).Neg()
	}
	return interest, borrowFee
}

// dailyAmount is one day of percent a year on balance, signed as balance:
// balance x percent / (100 x DaysPerYear), rounded half-even to
// MoneyPlaces, computed exactly.
func dailyAmount(balance, percent decimal.Decimal) decimal.Decimal {
	return divRoundHalfEven(balance.Mul(percent), decimal.NewFromInt(100*DaysPerYear), MoneyPlaces)
}

// nextMidnight is the first 00:00 UTC strictly after t.
func nextMidnight(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

// nextAccrual is the 00:00 UTC of room's next accrual, given the last one
// it booked (zero: none), whether or not it falls before its end.
func nextAccrual(room *BullPen, last time.Time) time.Time {
	from := room.StartsAt
	if last.After(from) {
		from = last
	}
	return nextMidnight(from)
}

// AccrueDue books every carrying-cost accrual the clock has made due,
// including those that came due while the server was down: each room's
// each 00:00 UTC in a transaction of its own, under the room's lock,
// oldest first. It returns the earliest future 00:00 UTC at which an
// accrual is due, or zero.
func (s *Service) AccrueDue(ctx context.Context) (time.Time, error) {
	rooms, err := s.store.LiveBullPens(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	for _, r := range rooms {
		if !r.CarryingCosts.Any() || r.State == RoomScheduled {
			continue // a SCHEDULED room: AdvanceDue wakes the scheduler at its start
		}
		for {
			// Read first, without a lock: a room with nothing due costs
			// one read, not a write transaction.
			last, err := s.store.LastAccrual(ctx, r.ID)
			if err != nil {
				return time.Time{}, err
			}
			n := nextAccrual(r, last)
			if n.After(r.EndsAt) {
				break // none left before its end
			}
			if n.After(s.clock.Now()) {
				if next.IsZero() || n.Before(next) {
					next = n
				}
				break
			}
			var due time.Time
			err = s.store.Update(ctx, func(tx Tx) error {
				room, err := tx.LockBullPen(ctx, r.ID)
				if err != nil {
					return err
				}
				due, err = s.accrue(ctx, tx, room, tx.Now())
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return time.Time{}, ctx.Err()
				}
				// Not counted in next: its 00:00 is past and would wake
				// the scheduler at once, again and again. Its next pass
				// tries again.
				s.log.Error("accruing carrying costs failed", "room", r.ID, "err", err)
				break
			}
			if due.IsZero() {
				break // booked by another instance meanwhile, or the room moved on: the next pass sees
			}
			s.markDirty(r.ID)
			s.log.Info("carrying costs accrued", "room", r.ID, "due", due)
		}
	}
	return next, nil
}

// accrueUntil books, in tx, every accrual of room due at or before until,
// oldest first (see accrue).
func (s *Service) accrueUntil(ctx context.Context, tx Tx, room *BullPen, until time.Time) error {
	for {
		due, err := s.accrue(ctx, tx, room, until)
		if err != nil || due.IsZero() {
			return err
		}
	}
}

// accrue books room's next accrual in tx, the caller holding the room:
// the first 00:00 UTC after its start and after its last accrual, when
// that is at or before until and its endsAt, and the room is ACTIVE or
// PAUSED with a carrying cost. It returns that 00:00, or zero when none
// was due or its claim was made already.
func (s *Service) accrue(ctx context.Context, tx Tx, room *BullPen, until time.Time) (time.Time, error) {
	if !room.CarryingCosts.Any() || (room.State != RoomActive && room.State != RoomPaused) {
		return time.Time{}, nil
	}
	last, err := tx.LastAccrual(ctx, room.ID)
	if err != nil {
		return time.Time{}, err
	}
	due := nextAccrual(room, last)
	if due.After(until) || due.After(room.EndsAt) {
		return time.Time{}, nil
	}
	claimed, err := tx.ClaimAccrual(ctx, room.ID, due)
	if err != nil || !claimed {
		return time.Time{}, err
	}
	return due, s.bookCarry(ctx, tx, room, due)
}

// bookCarry books one day's carrying costs (the accrual due at due) of
// every participant of room who joined before due: their INTEREST and
// BORROW_FEE lines, with the ledger's running figures, and their cash.
func (s *Service) bookCarry(ctx context.Context, tx Tx, room *BullPen, due time.Time) error {
	ps, err := tx.Participants(ctx, room.ID)
	if err != nil {
		return err
	}
	positions, err := tx.PositionsByRoom(ctx, room.ID)
	if err != nil {
		return err
	}
	open, err := tx.OpenOrdersByRoom(ctx, room.ID)
	if err != nil {
		return err
	}
	held := map[int64]decimal.Decimal{}
	for _, o := range open {
		held[o.ParticipantID] = held[o.ParticipantID].Add(o.Reserved)
	}
	var prices map[string]decimal.Decimal
	shorts := map[int64]decimal.Decimal{} // market value, by participant
	basis := map[int64]decimal.Decimal{}  // cost basis, by participant
	for _, pos := range positions {
		if pos.Quantity >= 0 {
			continue
		}
		if prices == nil {
			if prices, err = s.prices(ctx, tx); err != nil {
				return err
			}
		}
		id := pos.ParticipantID
		shorts[id] = shorts[id].Add(priceOf(prices, *pos).Mul(decimal.NewFromInt(-pos.Quantity)))
		basis[id] = basis[id].Add(pos.CostBasis)
	}
	var entries []*LedgerEntry
	for _, p := range ps {
		if !p.JoinedAt.Before(due) {
			continue
		}
		interest, fee := DailyCarry(room.CarryingCosts, p.Cash, shorts[p.ID])
		if interest.IsZero() && fee.IsZero() {
			continue
		}
		// The ledger's figures before: cash, less what open orders hold
		// back, less the short margin it booked (see LedgerEntry).
		power := p.Cash.Sub(held[p.ID]).Sub(basis[p.ID].Mul(ShortMarginRate))
		l := &ledger{participantID: p.ID, at: tx.Now(), cash: p.Cash, power: power}
		l.add(LedgerInterest, interest, 0)
		l.add(LedgerBorrowFee, fee, 0)
		if err := tx.SetCash(ctx, p.ID, l.cash); err != nil {
			return err
		}
		entries = append(entries, l.entries...)
	}
	if len(entries) == 0 {
		return nil
	}
	return tx.InsertLedger(ctx, entries)
}
