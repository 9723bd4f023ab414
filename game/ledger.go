package game

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// LedgerKind names one movement of a participant's money.
type LedgerKind string

const (
	// Cash movements: their running sum is the participant's cash.
	LedgerStartingCash LedgerKind = "STARTING_CASH"
	LedgerBuy          LedgerKind = "BUY"
	LedgerSell         LedgerKind = "SELL"
	LedgerCommission   LedgerKind = "COMMISSION"
	// LedgerLiquidation is a forced trade on a margin call, in place of
	// its BUY (a cover, negative) or SELL (a long sold, positive).
	LedgerLiquidation LedgerKind = "LIQUIDATION"
	// Money that no trade moves: a dividend (credited to holders, debited
	// from shorts), interest (earned on cash, paid on a debit), a short's
	// borrow fee, and an organiser's adjustment.
	LedgerDividend   LedgerKind = "DIVIDEND"
	LedgerInterest   LedgerKind = "INTEREST"
	LedgerBorrowFee  LedgerKind = "BORROW_FEE"
	LedgerAdjustment LedgerKind = "ADJUSTMENT"
	// Buying-power movements: what is held back for a resting order, and
	// the short margin booked at the sale price (see LedgerEntry).
	LedgerReserve LedgerKind = "RESERVE"
	LedgerRelease LedgerKind = "RELEASE"
)

// MovesCash reports whether entries of kind k move cash; the others move
// only buying power.
func (k LedgerKind) MovesCash() bool {
	return k != LedgerReserve && k != LedgerRelease
}

// LedgerEntry is one movement of a participant's money, written in the
// transaction that made it.
//
// Its identities, exact to the last decimal place:
//   - the running sum of STARTING_CASH, BUY, SELL, COMMISSION and
//     LIQUIDATION amounts is the participant's cash, and CashAfter is
//     that sum at the entry;
//   - the running sum of every amount is BuyingPowerAfter: cash, less what
//     open orders hold back (a RESERVE when an order comes to rest, its
//     RELEASE when it fills, is cancelled, expires or is rejected at fill),
//     less ShortMarginRate times the cost basis of short positions (a
//     RESERVE when a fill opens or adds to a short, a RELEASE when one
//     covers it: the margin at the sale price).
//
// The live Participant.buyingPower values the short margin at the last
// price instead: it is max(0, that sum - ShortMarginRate * the unrealized
// loss of short positions (negative while in profit)), equal to the sum
// when there is no short and the sum is not negative. The sum goes
// negative when a short is covered under water (the cash a cover spends
// is more than the margin it releases) or a liquidation leaves a debt.
type LedgerEntry struct {
	ID               int64           `db:"id"`
	ParticipantID    int64           `db:"participant_id"`
	OrderID          *int64          `db:"order_id"`
	Kind             LedgerKind      `db:"kind"`
	Amount           decimal.Decimal `db:"amount"`
	CashAfter        decimal.Decimal `db:"cash_after"`
	BuyingPowerAfter decimal.Decimal `db:"buying_power_after"`
	At               time.Time       `db:"at"`
	// Reason is why the room's owner booked an ADJUSTMENT; nil on every
	// other kind.
	Reason *string `db:"reason"`
	// BullPenID is the participant's room (not stored with the row).
	BullPenID int64 `db:"-"`
}

// ledger collects one participant's movements in one change, each with
// the running figures after it, so they go to the store in one statement.
type ledger struct {
	participantID int64
	at            time.Time
	cash, power   decimal.Decimal
	entries       []*LedgerEntry
}

// add books amount (signed: what it adds) of kind for order orderID (0:
// none). A zero amount moves nothing and books nothing.
func (l *ledger) add(kind LedgerKind, amount decimal.Decimal, orderID int64) {
	if amount.IsZero() {
		return
	}
	if kind.MovesCash() {
		l.cash = l.cash.Add(amount)
	}
	l.power = l.power.Add(amount)
	e := &LedgerEntry{ParticipantID: l.participantID, Kind: kind, Amount: amount, CashAfter: l.cash, BuyingPowerAfter: l.power, At: l.at}
	if orderID != 0 {
		id := orderID
		e.OrderID = &id
	}
	l.entries = append(l.entries, e)
}

// hold books a change of what is held back: a RESERVE when it grows by
// delta, a RELEASE when it shrinks.
func (l *ledger) hold(delta decimal.Decimal, orderID int64) {
	if delta.IsPositive() {
		l.add(LedgerReserve, delta.Neg(), orderID)
	} else {
		l.add(LedgerRelease, delta.Neg(), orderID)
	}
}

func (l *ledger) write(ctx context.Context, tx Tx) error {
	if len(l.entries) == 0 {
		return nil
	}
	return tx.InsertLedger(ctx, l.entries)
}

// shortBasis is the cost basis of a short position (zero for a long): the
// proceeds of the sales that opened what is still short.
func shortBasis(p Position) decimal.Decimal {
	if p.Quantity < 0 {
		return p.CostBasis
	}
	return decimal.Zero
}

// bookedMargin is the short margin the ledger holds: ShortMarginRate times
// the cost basis of every short position.
func (a *account) bookedMargin() decimal.Decimal {
	sum := decimal.Zero
	for _, p := range a.positions {
		sum = sum.Add(shortBasis(*p))
	}
	return sum.Mul(ShortMarginRate)
}

// ledger starts the account's ledger for a change to order o, with the
// figures before it: cash, less what open orders hold back (o counted as
// holding held, whether or not a.open lists it), less booked margin. No
// read: the account holds it all.
func (a *account) ledger(o *Order, held decimal.Decimal, at time.Time) *ledger {
	power := a.p.Cash.Sub(a.reserved(o.ID)).Sub(held).Sub(a.bookedMargin())
	return &ledger{participantID: a.p.ID, at: at, cash: a.p.Cash, power: power}
}

// holdings reads what the ledger's figures need of a participant: cash,
// open orders and positions (no prices).
func holdings(ctx context.Context, tx Tx, participantID int64) (*account, error) {
	p, err := tx.Participant(ctx, participantID)
	if err != nil {
		return nil, err
	}
	a := &account{p: p}
	return a, a.loadHoldings(ctx, tx)
}

// loadHoldings reads a.p's open orders and positions.
func (a *account) loadHoldings(ctx context.Context, tx Tx) (err error) {
	if a.open, err = tx.OpenOrders(ctx, a.p.ID); err != nil {
		return err
	}
	ps, err := tx.Positions(ctx, a.p.ID)
	if err != nil {
		return err
	}
	a.positions = make(map[string]*Position, len(ps))
	for _, pos := range ps {
		a.positions[pos.Symbol] = pos
	}
	return nil
}

// setReserved changes what OPEN order o holds back to amount and books
// the difference (RESERVE or RELEASE) in the same transaction; the caller
// stores o. Cancel, expiry and the room's end release through it (amount
// zero); a resting order whose hold changes goes through it too. It reads
// the participant's holdings only when there is something to book.
func (s *Service) setReserved(ctx context.Context, tx Tx, o *Order, amount decimal.Decimal) error {
	if o.Reserved.Equal(amount) {
		return nil
	}
	a, err := holdings(ctx, tx, o.ParticipantID)
	if err != nil {
		return err
	}
	l := a.ledger(o, o.Reserved, tx.Now())
	l.hold(amount.Sub(o.Reserved), o.ID)
	o.Reserved = amount
	return l.write(ctx, tx)
}

// bookFill books a fill of quantity shares of o at price: the release of
// held, what o held back, the trade (LIQUIDATION for a forced one, else BUY
// or SELL), the commission, the change in booked short margin from
// position before to after, and rest, what o holds back for the shares
// left.
func bookFill(l *ledger, o *Order, forced bool, held, rest decimal.Decimal, before, after Position, quantity int64, price, commission decimal.Decimal) {
	l.hold(held.Neg(), o.ID)
	gross := decimal.NewFromInt(quantity).Mul(price)
	if o.Side == SideBuy {
		gross = gross.Neg()
	}
	switch {
	case forced:
		l.add(LedgerLiquidation, gross, o.ID)
	case o.Side == SideBuy:
		l.add(LedgerBuy, gross, o.ID)
	default:
		l.add(LedgerSell, gross, o.ID)
	}
	l.add(LedgerCommission, commission.Neg(), o.ID)
	l.hold(shortBasis(after).Sub(shortBasis(before)).Mul(ShortMarginRate), o.ID)
	l.hold(rest, o.ID)
}
