package game

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Corporate actions: splits and dividends an admin announces for a
// symbol, applied by the scheduler (RunScheduler) at the ex-date to every
// ACTIVE or PAUSED room holding the symbol. SCHEDULED rooms hold nothing
// yet (no order is accepted before a room starts) and ENDED or CANCELLED
// rooms never change again, so neither is touched.
//
// Each stage happens exactly once, across restarts and instances: its
// claim (the action's appliedAt, a dividend's paidAt) is a conditional
// update in the one transaction that makes all its effects, in every
// room, with their ledger lines and events (see ClaimCorporateAction).
//
// SPLIT (ratio r; r < 1 a reverse split), at exDate, under the symbol's
// exclusive lock (as a price is), so no order or price sees half of it:
//   - the stored quote: price and open / r, rounded half-even to 4 decimal
//     places (at least 0.0001);
//   - a position of q shares: q*r rounded toward zero (a short stays
//     short); the fraction f left over is paid out as cash in lieu at the
//     split-adjusted price, f times that price rounded half-even to 4
//     places: for a long a SELL line in the ledger (the fraction is sold),
//     for a short a BUY line (the fraction is bought back), with no order.
//     It is a trade, not income, so it is booked as one and the ledger's
//     identities hold unchanged. The fraction's share of the cost basis
//     (basis * |f| / |q*r|, rounded half-even to 4 places; the whole basis
//     when no share is left) is removed and the difference realized, as
//     ApplyFill does for a sale: the average cost becomes average / r;
//   - a short's booked margin follows its cost basis (a RELEASE of 1.5
//     times the basis removed);
//   - a resting order of the symbol: the shares it has still to fill * r,
//     rounded down (those a PARTIALLY_FILLED one has filled stay as its
//     fills were); limit price, stop price and trail amount / r rounded
//     half-even to 4 places (trail percent unchanged); its hold is worked
//     out again as when it came to rest and the difference booked
//     (RESERVE or RELEASE). An order left with no share to fill, or with a
//     price that would round to 0, is CANCELLED (its OrderEvent CANCELLED),
//     releasing its hold. The others are then re-decided at the new price,
//     as a tick would, so none rests under a price that crosses it;
//   - each room gets one CorporateActionEvent, then a PositionEvent per
//     holder.
//
// DIVIDEND (amountPerShare d): at exDate the holders of record are
// stored (quantity q, amount q*d, negative for a short) and each room
// holding the symbol gets its CorporateActionEvent; at payDate each is
// credited (debited) that amount, a DIVIDEND line in the ledger and a
// PositionEvent. A room that ended between the two is not paid: an ended
// room never changes. The quote is not adjusted for a dividend.

// CorporateActionKind is what a corporate action does.
type CorporateActionKind string

const (
	ActionSplit    CorporateActionKind = "SPLIT"
	ActionDividend CorporateActionKind = "DIVIDEND"
)

// ActionStage is one of a corporate action's steps: the record stage at
// the ex-date (a split's only one) and a dividend's pay stage.
type ActionStage string

const (
	StageRecord ActionStage = "RECORD"
	StagePay    ActionStage = "PAY"
)

// CorporateAction is a split or dividend of a symbol.
type CorporateAction struct {
	ID     int64               `db:"id" json:"id"`
	Kind   CorporateActionKind `db:"kind" json:"kind"`
	Symbol string              `db:"symbol" json:"symbol"`
	// Ratio (SPLIT): new shares per old share.
	Ratio *decimal.Decimal `db:"ratio" json:"ratio,omitempty"`
	// AmountPerShare (DIVIDEND): cash per share held at the ex-date.
	AmountPerShare *decimal.Decimal `db:"amount_per_share" json:"amountPerShare,omitempty"`
	ExDate         time.Time        `db:"ex_date" json:"exDate"`
	PayDate        *time.Time       `db:"pay_date" json:"payDate,omitempty"`
	CreatedAt      time.Time        `db:"created_at" json:"createdAt"`
	// AppliedAt is when the ex-date stage was made; PaidAt when a
	// dividend was paid.
	AppliedAt *time.Time `db:"applied_at" json:"appliedAt,omitempty"`
	PaidAt    *time.Time `db:"paid_at" json:"paidAt,omitempty"`
	// Source names where an action not announced by hand comes from (a
	// replay file's row, see AnnounceFromFeed); nil for an admin's.
	Source *string `db:"source" json:"-"`
}

// UTC puts a's times in UTC (as read from a store).
func (a *CorporateAction) UTC() {
	a.ExDate, a.CreatedAt = a.ExDate.UTC(), a.CreatedAt.UTC()
	for _, t := range []*time.Time{a.PayDate, a.AppliedAt, a.PaidAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
}

// DividendEntitlement is a holder of record of a dividend: what they
// held at the ex-date and the amount they are paid (negative: debited
// from a short).
type DividendEntitlement struct {
	ActionID      int64           `db:"action_id"`
	ParticipantID int64           `db:"participant_id"`
	BullPenID     int64           `db:"bull_pen_id"`
	Quantity      int64           `db:"quantity"`
	Amount        decimal.Decimal `db:"amount"`
}

// CorporateActionPayload is the body of a CORPORATE_ACTION event.
type CorporateActionPayload struct {
	Action CorporateAction `json:"action"`
}

// Bounds of a split's ratio.
var (
	minSplitRatio = decimal.New(1, -4)
	maxSplitRatio = decimal.NewFromInt(1000)
	minPrice      = decimal.New(1, -4)
)

// AnnounceSplit announces a split of symbol: ratio new shares for each
// one held (2: two-for-one; 0.5: a one-for-two reverse split), applied
// at exDate. exDate may be now (it is applied at once) but not before.
//
// Errors: UNAUTHENTICATED; FORBIDDEN for non-admins; BAD_USER_INPUT
// naming the field for an unknown symbol, a ratio not > 0 or equal to 1
// (or outside 0.0001..1000, or with more than 4 decimal places), or an
// exDate in the past.
func (s *Service) AnnounceSplit(ctx context.Context, user *User, symbol string, ratio decimal.Decimal, exDate time.Time) (*CorporateAction, error) {
	a := &CorporateAction{Kind: ActionSplit, Ratio: &ratio}
	if err := s.checkAnnouncer(ctx, user, a, symbol, exDate); err != nil {
		return nil, err
	}
	if err := ValidSplitRatio(ratio); err != nil {
		return nil, err
	}
	return s.announce(ctx, a)
}

// ValidSplitRatio checks a split's ratio: more than 0 and not 1, between
// 0.0001 and 1000, with at most 4 decimal places. It returns a
// BAD_USER_INPUT *Error naming ratio.
func ValidSplitRatio(ratio decimal.Decimal) error {
	switch {
	case !ratio.IsPositive():
		return Invalid("ratio", "must be greater than 0 (below 1 for a reverse split), got %s", ratio.String())
	case ratio.Equal(decimal.NewFromInt(1)):
		return Invalid("ratio", "must not be 1: a split of 1 changes nothing")
	case !ratio.Equal(ratio.Truncate(4)) || ratio.LessThan(minSplitRatio) || ratio.GreaterThan(maxSplitRatio):
		return Invalid("ratio", "must be between %s and %s with at most 4 decimal places, got %s", minSplitRatio, maxSplitRatio, ratio.String())
	}
	return nil
}

// ValidDividendAmount checks a dividend's amount per share as a price is
// checked. It returns a BAD_USER_INPUT *Error naming amountPerShare.
func ValidDividendAmount(amount decimal.Decimal) error {
	return validPrice("amountPerShare", amount)
}

// AnnounceFromFeed announces a corporate action a price feed carries (a
// replay file's row) and applies what is due at once, before the feed's
// next price: kind, symbol and ratio or amount as for AnnounceSplit and
// AnnounceDividend, exDate now, payDate payAfter later (dividends).
// source names the row: an action of a source announced before (by this
// or another instance, or an earlier run of the same file) is not
// announced again, and it reports false.
//
// Errors: BAD_USER_INPUT as for the announcements.
func (s *Service) AnnounceFromFeed(ctx context.Context, kind CorporateActionKind, symbol string, value decimal.Decimal, payAfter time.Duration, source string) (bool, error) {
	a := &CorporateAction{Kind: kind, Symbol: strings.ToUpper(strings.TrimSpace(symbol)), Source: &source,
		ExDate: s.clock.Now().UTC().Truncate(time.Millisecond)}
	if _, ok := s.symbols[a.Symbol]; !ok {
		return false, Invalid("symbol", "%q is not a known instrument", a.Symbol)
	}
	switch kind {
	case ActionSplit:
		if err := ValidSplitRatio(value); err != nil {
			return false, err
		}
		a.Ratio = &value
	case ActionDividend:
		if err := ValidDividendAmount(value); err != nil {
			return false, err
		}
		if payAfter < 0 {
			return false, Invalid("payDate", "must not be before exDate")
		}
		a.AmountPerShare = &value
		pay := a.ExDate.Add(payAfter).Truncate(time.Millisecond)
		a.PayDate = &pay
	default:
		return false, Invalid("kind", "must be SPLIT or DIVIDEND, got %q", kind)
	}
	if _, err := s.announce(ctx, a); ErrorCode(err) == ECONFLICT {
		return false, nil // announced already: by an earlier run of the file, or another instance
	} else if err != nil {
		return false, err
	}
	_, err := s.ApplyCorporateActions(ctx)
	return true, err
}

// AnnounceDividend announces a dividend of amountPerShare on symbol: the
// holders at exDate are credited (shorts debited) at payDate. exDate may
// be now but not before; payDate not before exDate.
//
// Errors: UNAUTHENTICATED; FORBIDDEN for non-admins; BAD_USER_INPUT
// naming the field for an unknown symbol, an amount not > 0 (or with more
// than 4 decimal places, or over 1000000000), an exDate in the past or a
// payDate before exDate.
func (s *Service) AnnounceDividend(ctx context.Context, user *User, symbol string, amountPerShare decimal.Decimal, exDate, payDate time.Time) (*CorporateAction, error) {
	a := &CorporateAction{Kind: ActionDividend, AmountPerShare: &amountPerShare}
	if err := s.checkAnnouncer(ctx, user, a, symbol, exDate); err != nil {
		return nil, err
	}
	if err := ValidDividendAmount(amountPerShare); err != nil {
		return nil, err
	}
	pay := payDate.UTC().Truncate(time.Millisecond)
	if pay.Before(a.ExDate) {
		return nil, Invalid("payDate", "must not be before exDate (%s), got %s", a.ExDate.Format(time.RFC3339), pay.Format(time.RFC3339))
	}
	if pay.After(a.ExDate.Add(MaxRoomDuration)) {
		return nil, Invalid("payDate", "must be at most 10 years after exDate")
	}
	a.PayDate = &pay
	return s.announce(ctx, a)
}

// checkAnnouncer checks who announces, the symbol and the ex-date, and
// sets them on a.
func (s *Service) checkAnnouncer(ctx context.Context, user *User, a *CorporateAction, symbol string, exDate time.Time) error {
	if user == nil {
		return Errorf(EUNAUTHENTICATED, "sign in to announce corporate actions")
	}
	if admin, err := s.IsAdmin(ctx, user); err != nil {
		return err
	} else if !admin {
		return Errorf(EFORBIDDEN, "only admins may announce corporate actions: an operator grants the role with `bullpen admin grant USERNAME` (-db as for the server)")
	}
	a.Symbol = strings.ToUpper(strings.TrimSpace(symbol))
	if _, ok := s.symbols[a.Symbol]; !ok {
		return Invalid("symbol", "%q is not a known instrument", a.Symbol)
	}
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	a.ExDate = exDate.UTC().Truncate(time.Millisecond)
	if a.ExDate.Before(now) {
		return Invalid("exDate", "must not be in the past (now is %s), got %s", now.Format(time.RFC3339Nano), a.ExDate.Format(time.RFC3339Nano))
	}
	if a.ExDate.After(now.Add(MaxRoomDuration)) {
		return Invalid("exDate", "must be at most 10 years from now")
	}
	return nil
}

func (s *Service) announce(ctx context.Context, a *CorporateAction) (*CorporateAction, error) {
	err := s.store.Update(ctx, func(tx Tx) error {
		a.CreatedAt = tx.Now()
		return tx.InsertCorporateAction(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	s.nudgeScheduler()
	return a, nil
}

// CorporateActions lists announced corporate actions, oldest first (of
// symbol when it is not empty), with id > afterID, at most limit, and
// their total count. Corporate actions are market data: public.
func (s *Service) CorporateActions(ctx context.Context, symbol string, afterID int64, limit int) ([]*CorporateAction, int, error) {
	return s.store.CorporateActions(ctx, CorporateActionFilter{Symbol: strings.ToUpper(strings.TrimSpace(symbol)), AfterID: afterID, Limit: limit})
}

// actionBatch is how many due corporate actions ApplyCorporateActions
// reads at a time.
const actionBatch = 100

// ApplyCorporateActions makes every corporate action stage that the clock
// has made due (see the top of this file), including those that came due
// while the server was down. Each stage is one transaction; of several
// instances exactly one makes it. It returns the earliest future time a
// stage is due, or zero.
func (s *Service) ApplyCorporateActions(ctx context.Context) (time.Time, error) {
	for {
		due, err := s.store.DueCorporateActions(ctx, s.clock.Now(), actionBatch)
		if err != nil {
			return time.Time{}, err
		}
		didAny := false
		for _, a := range due {
			stage := StageRecord
			if a.AppliedAt != nil {
				stage = StagePay
			}
			var out stageResult
			err := s.store.Update(ctx, func(tx Tx) error {
				var err error
				out, err = s.applyStage(ctx, tx, a.ID, stage)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return time.Time{}, ctx.Err()
				}
				s.log.Error("corporate action failed", "action", a.ID, "stage", stage, "err", err)
				continue
			}
			if !out.done {
				continue
			}
			didAny = true
			for _, room := range out.rooms {
				s.markDirty(room)
			}
			if out.quote != nil {
				s.quoteMu.Lock()
				listeners := s.quoteListeners
				s.quoteMu.Unlock()
				for _, fn := range listeners {
					fn(*out.quote)
				}
			}
			s.log.Info("corporate action applied", "action", a.ID, "kind", a.Kind, "symbol", a.Symbol, "stage", stage, "rooms", len(out.rooms))
		}
		if len(due) < actionBatch || !didAny {
			break
		}
	}
	return s.store.NextCorporateAction(ctx)
}

// stageResult is what a stage did: whether this transaction made it, the
// rooms it changed, and a split's new quote.
type stageResult struct {
	done  bool
	rooms []int64
	quote *Quote
}

// applyStage makes one stage of action id in tx, if it is still to do.
func (s *Service) applyStage(ctx context.Context, tx Tx, id int64, stage ActionStage) (stageResult, error) {
	a, err := tx.CorporateAction(ctx, id)
	if err != nil {
		return stageResult{}, err
	}
	if a.Kind == ActionSplit {
		// A price change: held before any room, as Tick holds it.
		if err := tx.LockSymbol(ctx, a.Symbol, true); err != nil {
			return stageResult{}, err
		}
	}
	claimed, err := tx.ClaimCorporateAction(ctx, id, stage)
	if err != nil || !claimed {
		return stageResult{}, err
	}
	now := tx.Now()
	if stage == StagePay {
		a.PaidAt = &now
		rooms, err := s.payDividend(ctx, tx, a)
		return stageResult{done: true, rooms: rooms}, err
	}
	a.AppliedAt = &now
	if a.Kind == ActionDividend {
		rooms, err := s.recordDividend(ctx, tx, a)
		return stageResult{done: true, rooms: rooms}, err
	}
	rooms, q, err := s.applySplit(ctx, tx, a)
	return stageResult{done: true, rooms: rooms, quote: q}, err
}

// holdingRoom is what one room holds of a symbol.
type holdingRoom struct {
	room      *BullPen
	positions []*Position // quantity != 0, by participant
	orders    []*Order    // working, by id
}

// roomsHolding locks and lists the ACTIVE and PAUSED rooms holding symbol
// (a position, or with orders a resting order), by id: the order rooms
// are locked in. Only the rooms a first read finds holding the symbol are
// locked, so a corporate action does not hold every room of the server:
// under a split's exclusive symbol lock no order of the symbol can start
// a holding meanwhile, and for a dividend a room that held nothing at the
// first read is left out (a buy committed after it comes after the
// record). What a locked room holds is read again under its lock.
func roomsHolding(ctx context.Context, tx Tx, symbol string, orders bool) ([]holdingRoom, error) {
	ids, err := tx.RoomsHolding(ctx, symbol)
	if err != nil {
		return nil, err
	}
	if orders {
		// Resting orders: ACTIVE rooms' through the symbol's index, PAUSED
		// rooms' (few, and not swept by prices) room by room.
		open, err := tx.OpenOrdersBySymbol(ctx, symbol)
		if err != nil {
			return nil, err
		}
		for _, o := range open {
			ids = append(ids, o.BullPenID)
		}
		live, err := tx.LiveBullPens(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range live {
			if r.State != RoomPaused {
				continue
			}
			os, err := tx.OpenOrdersByRoom(ctx, r.ID)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(os, func(o *Order) bool { return o.Symbol == symbol && o.Working() }) {
				ids = append(ids, r.ID)
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	var out []holdingRoom
	for _, id := range ids {
		room, err := tx.LockBullPen(ctx, id)
		if err != nil {
			return nil, err
		}
		if room.State != RoomActive && room.State != RoomPaused {
			continue
		}
		h, err := holdingOf(ctx, tx, room, symbol, orders)
		if err != nil {
			return nil, err
		}
		if len(h.positions) > 0 || len(h.orders) > 0 {
			out = append(out, h)
		}
	}
	return out, nil
}

// holdingOf reads what room holds of symbol.
func holdingOf(ctx context.Context, tx Tx, room *BullPen, symbol string, orders bool) (holdingRoom, error) {
	h := holdingRoom{room: room}
	ps, err := tx.PositionsByRoom(ctx, room.ID)
	if err != nil {
		return h, err
	}
	for _, p := range ps {
		if p.Symbol == symbol && p.Quantity != 0 {
			h.positions = append(h.positions, p)
		}
	}
	if orders {
		os, err := tx.OpenOrdersByRoom(ctx, room.ID)
		if err != nil {
			return h, err
		}
		for _, o := range os {
			if o.Symbol == symbol && o.Working() {
				h.orders = append(h.orders, o)
			}
		}
	}
	return h, nil
}

func (s *Service) actionEvent(ctx context.Context, tx Tx, roomID int64, a *CorporateAction) error {
	_, err := tx.AppendEvent(ctx, roomID, EventCorporateAction, nil, CorporateActionPayload{Action: *a})
	return err
}

func positionEvent(ctx context.Context, tx Tx, roomID int64, pos Position) error {
	pid := pos.ParticipantID
	_, err := tx.AppendEvent(ctx, roomID, EventPosition, &pid, PositionPayload{ParticipantID: pid, Position: pos})
	return err
}

// splitPrice is x / r rounded half-even to 4 decimal places, as prices
// have.
func splitPrice(x, r decimal.Decimal) decimal.Decimal {
	return divRoundHalfEven(x, r, 4)
}

// SplitPosition is pos after a split of ratio r at the split-adjusted
// price: its new quantity (q*r toward zero), cost basis and realized
// profit, and the signed cash in lieu of the fraction left over (positive
// for a long, negative for a short). See the top of this file.
func SplitPosition(pos Position, r, price decimal.Decimal) (Position, decimal.Decimal) {
	exact := decimal.NewFromInt(pos.Quantity).Mul(r)
	whole := exact.Truncate(0)
	frac := exact.Sub(whole) // the sign of the position
	pos.Quantity = whole.IntPart()
	if frac.IsZero() {
		return pos, decimal.Zero
	}
	removed := pos.CostBasis
	if pos.Quantity != 0 {
		removed = divRoundHalfEven(pos.CostBasis.Mul(frac.Abs()), exact.Abs(), MoneyPlaces)
	}
	cash := frac.Mul(price).RoundBank(MoneyPlaces)
	pos.CostBasis = pos.CostBasis.Sub(removed)
	if cash.IsPositive() { // a long's fraction sold
		pos.RealizedPnL = pos.RealizedPnL.Add(cash.Sub(removed))
	} else { // a short's fraction bought back
		pos.RealizedPnL = pos.RealizedPnL.Add(removed.Add(cash))
	}
	return pos, cash
}

// applySplit makes a split in tx (see the top of this file).
func (s *Service) applySplit(ctx context.Context, tx Tx, a *CorporateAction) ([]int64, *Quote, error) {
	r := *a.Ratio
	var q *Quote
	price := decimal.Zero // the split-adjusted price, zero when none
	if prev, err := tx.Quote(ctx, a.Symbol); err == nil {
		// The market around the price splits with it: bid and ask / ratio
		// (within the new price), the volume x ratio in shares.
		q = &Quote{Symbol: a.Symbol, Price: decimal.Max(splitPrice(prev.Price, r), minPrice),
			Open: decimal.Max(splitPrice(prev.Open, r), minPrice), At: tx.Now()}
		q.Bid = decimal.Min(decimal.Max(splitPrice(prev.Bid, r), minPrice), q.Price)
		q.Ask = decimal.Max(splitPrice(prev.Ask, r), q.Price)
		q.Volume = min(max(decimal.NewFromInt(prev.Volume).Mul(r).IntPart(), 1), MaxVolume)
		if err := tx.SaveQuote(ctx, q); err != nil {
			return nil, nil, err
		}
		price = q.Price
	} else if ErrorCode(err) != ENOTFOUND {
		return nil, nil, err
	}
	rooms, err := roomsHolding(ctx, tx, a.Symbol, true)
	if err != nil {
		return nil, nil, err
	}
	var ids []int64
	for _, h := range rooms {
		ids = append(ids, h.room.ID)
		if err := s.actionEvent(ctx, tx, h.room.ID, a); err != nil {
			return nil, nil, err
		}
		var pids []int64
		for _, p := range h.positions {
			pids = append(pids, p.ParticipantID)
		}
		for _, o := range h.orders {
			pids = append(pids, o.ParticipantID)
		}
		slices.Sort(pids)
		for _, pid := range slices.Compact(pids) {
			if err := s.splitParticipant(ctx, tx, h.room, pid, a, price); err != nil {
				return nil, nil, fmt.Errorf("split %d of participant %d: %w", a.ID, pid, err)
			}
		}
		if h.room.State == RoomActive && q != nil {
			// Rounding may bring a price and a limit together: what
			// crosses now fills now, as on a tick.
			open, err := tx.OpenOrdersByRoom(ctx, h.room.ID)
			if err != nil {
				return nil, nil, err
			}
			open = slices.DeleteFunc(open, func(o *Order) bool { return o.Symbol != a.Symbol })
			if err := s.sweep(ctx, tx, open, nil, map[string]*Quote{a.Symbol: q}, map[int64]bool{}); err != nil {
				return nil, nil, err
			}
		}
	}
	return ids, q, nil
}

// splitParticipant applies a split to one participant's position and
// resting orders of the symbol, booking the cash in lieu and every change
// of what is held back in the ledger.
func (s *Service) splitParticipant(ctx context.Context, tx Tx, room *BullPen, pid int64, a *CorporateAction, price decimal.Decimal) error {
	r, now := *a.Ratio, tx.Now()
	acc, err := holdings(ctx, tx, pid)
	if err != nil {
		return err
	}
	acc.room = room
	l := &ledger{participantID: pid, at: now, cash: acc.p.Cash,
		power: acc.p.Cash.Sub(acc.reserved(0)).Sub(acc.bookedMargin())}
	if before, ok := acc.positions[a.Symbol]; ok && before.Quantity != 0 {
		at := price
		if at.IsZero() { // no quote: the average cost, split-adjusted
			at = splitPrice(before.AverageCost(), r)
		}
		after, cash := SplitPosition(*before, r, at)
		after.UpdatedAt = now
		switch {
		case cash.IsPositive():
			l.add(LedgerSell, cash, 0)
		case cash.IsNegative():
			l.add(LedgerBuy, cash, 0)
		}
		l.hold(shortBasis(after).Sub(shortBasis(*before)).Mul(ShortMarginRate), 0)
		if !cash.IsZero() {
			acc.p.Cash = acc.p.Cash.Add(cash)
			if err := tx.SetCash(ctx, pid, acc.p.Cash); err != nil {
				return err
			}
		}
		if err := tx.SavePosition(ctx, &after); err != nil {
			return err
		}
		acc.positions[a.Symbol] = &after
		if !price.IsZero() {
			after.MarketPrice = price
		}
		if err := positionEvent(ctx, tx, room.ID, after); err != nil {
			return err
		}
	}
	// Resting orders: new quantities and prices first, then their holds,
	// each worked out as when it came to rest (against the orders that
	// rested before it).
	var adjusted, cancelled []*Order
	for _, o := range acc.open {
		if o.Symbol != a.Symbol || !o.Working() {
			continue
		}
		if splitOrder(o, r) {
			adjusted = append(adjusted, o)
		} else {
			cancelled = append(cancelled, o)
		}
		o.UpdatedAt = now
	}
	for _, o := range cancelled {
		l.hold(o.Reserved.Neg(), o.ID)
		o.Status, o.Reserved = OrderStatusCancelled, decimal.Zero
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		if err := s.orderEvent(ctx, tx, o, OrderEventCancelled); err != nil {
			return err
		}
	}
	acc.open = slices.DeleteFunc(acc.open, func(o *Order) bool { return !o.Working() })
	all := acc.open
	for _, o := range adjusted {
		if o.LimitPrice != nil || o.StopPrice != nil {
			acc.open = slices.DeleteFunc(slices.Clone(all), func(x *Order) bool { return x.ID >= o.ID })
			res := acc.reservation(o, acc.position(o.Symbol), decimal.Zero) // a limit or a stop: no market price needed
			l.hold(res.Sub(o.Reserved), o.ID)
			o.Reserved = res
		}
		if err := tx.AdjustOrder(ctx, o); err != nil {
			return err
		}
	}
	acc.open = all
	return l.write(ctx, tx)
}

// splitOrder changes a resting order for a split of ratio r (see the top
// of this file); false: nothing is left of it to fill, or a price would
// round to 0, and it is to be cancelled.
func splitOrder(o *Order, r decimal.Decimal) bool {
	// The shares still to fill split; those filled stay as their fills
	// were (a part-filled order's fills are history, in the shares of
	// their day, and still add up to its filled quantity).
	rest := decimal.NewFromInt(o.Remaining()).Mul(r).Floor().IntPart()
	if rest < 1 {
		return false
	}
	for _, p := range []**decimal.Decimal{&o.LimitPrice, &o.StopPrice, &o.TrailAmount} {
		if *p == nil {
			continue
		}
		v := splitPrice(**p, r)
		if !v.IsPositive() {
			return false
		}
		*p = &v
	}
	o.Quantity = o.FilledQuantity + rest
	return true
}

// recordDividend stores a dividend's holders of record in tx and writes
// the CorporateActionEvent of each room holding the symbol.
func (s *Service) recordDividend(ctx context.Context, tx Tx, a *CorporateAction) ([]int64, error) {
	rooms, err := roomsHolding(ctx, tx, a.Symbol, false)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var es []*DividendEntitlement
	for _, h := range rooms {
		ids = append(ids, h.room.ID)
		if err := s.actionEvent(ctx, tx, h.room.ID, a); err != nil {
			return nil, err
		}
		for _, p := range h.positions {
			es = append(es, &DividendEntitlement{ActionID: a.ID, ParticipantID: p.ParticipantID, BullPenID: h.room.ID,
				Quantity: p.Quantity, Amount: decimal.NewFromInt(p.Quantity).Mul(*a.AmountPerShare)})
		}
	}
	if len(es) == 0 {
		return ids, nil
	}
	return ids, tx.InsertDividendEntitlements(ctx, es)
}

// payDividend pays a dividend's holders of record in tx: a DIVIDEND line
// and a PositionEvent each, in rooms that have not ended.
func (s *Service) payDividend(ctx context.Context, tx Tx, a *CorporateAction) ([]int64, error) {
	es, err := tx.DividendEntitlements(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	price := decimal.Zero
	if q, err := tx.Quote(ctx, a.Symbol); err == nil {
		price = q.Price
	} else if ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	var ids []int64
	var room *BullPen
	for _, e := range es {
		if room == nil || room.ID != e.BullPenID {
			if room, err = tx.LockBullPen(ctx, e.BullPenID); err != nil {
				return nil, err
			}
			if !room.State.Over() {
				ids = append(ids, room.ID)
			}
		}
		if room.State.Over() {
			continue // an ended room never changes
		}
		acc, err := holdings(ctx, tx, e.ParticipantID)
		if err != nil {
			return nil, err
		}
		l := &ledger{participantID: e.ParticipantID, at: tx.Now(), cash: acc.p.Cash,
			power: acc.p.Cash.Sub(acc.reserved(0)).Sub(acc.bookedMargin())}
		l.add(LedgerDividend, e.Amount, 0)
		if err := tx.SetCash(ctx, e.ParticipantID, acc.p.Cash.Add(e.Amount)); err != nil {
			return nil, err
		}
		if err := l.write(ctx, tx); err != nil {
			return nil, err
		}
		pos := acc.position(a.Symbol)
		pos.MarketPrice = price
		if err := positionEvent(ctx, tx, room.ID, pos); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
