package game

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// MaxQuantity bounds the shares of one order; MaxPosition bounds a
// position, long or short, so that it fits GraphQL's 32-bit Int.
const (
	MaxQuantity = 1_000_000_000
	MaxPosition = 2_000_000_000
)

// ShortMarginRate is the share of a short position's market value that
// must stay in cash: the sale proceeds plus 50%, as under Reg T's initial
// margin. Buying power = cash - reserved for open orders - this margin.
var ShortMarginRate = decimal.RequireFromString("1.5")

var symbolRE = regexp.MustCompile(`^[A-Z][A-Z0-9.]{0,9}$`)

// ValidateOrder checks the shape of an order; it reads nothing.
// It returns a BAD_USER_INPUT *Error naming the field.
func ValidateOrder(in *PlaceOrderInput) error {
	in.Symbol = strings.ToUpper(strings.TrimSpace(in.Symbol))
	if !symbolRE.MatchString(in.Symbol) {
		return Invalid("symbol", "%q is not a ticker symbol", in.Symbol)
	}
	if in.Side != SideBuy && in.Side != SideSell {
		return Invalid("side", "must be BUY or SELL")
	}
	typ := OrderTypeMarket
	if in.Type != nil {
		typ = *in.Type
	}
	in.Type = &typ
	if in.Quantity < 1 || in.Quantity > MaxQuantity {
		return Invalid("quantity", "must be between 1 and %d, got %d", MaxQuantity, in.Quantity)
	}
	if typ != OrderTypeTrailingStop {
		if in.TrailAmount != nil {
			return Invalid("trailAmount", "is only for a TRAILING_STOP order")
		}
		if in.TrailPercent != nil {
			return Invalid("trailPercent", "is only for a TRAILING_STOP order")
		}
	}
	switch typ {
	case OrderTypeMarket:
		if in.ExpiresAt != nil {
			return Invalid("expiresAt", "must be left out for a MARKET order: it fills at once, or at the next session's first price in a room whose market is closed, and has no expiry of its own")
		}
		if in.LimitPrice != nil {
			return Invalid("limitPrice", "must be left out for a MARKET order")
		}
		if in.StopPrice != nil {
			return Invalid("stopPrice", "must be left out for a MARKET order")
		}
	case OrderTypeLimit:
		if in.LimitPrice == nil {
			return Invalid("limitPrice", "is required for a LIMIT order")
		}
		if in.StopPrice != nil {
			return Invalid("stopPrice", "must be left out for a LIMIT order")
		}
	case OrderTypeStop:
		if in.StopPrice == nil {
			return Invalid("stopPrice", "is required for a STOP order")
		}
		if in.LimitPrice != nil {
			return Invalid("limitPrice", "must be left out for a STOP order")
		}
	case OrderTypeStopLimit:
		if in.LimitPrice == nil {
			return Invalid("limitPrice", "is required for a STOP_LIMIT order")
		}
		if in.StopPrice == nil {
			return Invalid("stopPrice", "is required for a STOP_LIMIT order")
		}
	case OrderTypeTrailingStop:
		if in.LimitPrice != nil {
			return Invalid("limitPrice", "must be left out for a TRAILING_STOP order")
		}
		if in.StopPrice != nil {
			return Invalid("stopPrice", "must be left out for a TRAILING_STOP order: it trails the price by trailAmount or trailPercent")
		}
		switch {
		case in.TrailAmount == nil && in.TrailPercent == nil:
			return Invalid("trailAmount", "a TRAILING_STOP order needs exactly one of trailAmount and trailPercent, got neither")
		case in.TrailAmount != nil && in.TrailPercent != nil:
			return Invalid("trailPercent", "a TRAILING_STOP order needs exactly one of trailAmount and trailPercent, got both")
		case in.TrailAmount != nil:
			if err := validPrice("trailAmount", *in.TrailAmount); err != nil {
				return err
			}
		default:
			if p := *in.TrailPercent; !p.IsPositive() || !p.LessThan(hundred) || !p.Equal(p.Truncate(4)) {
				return Invalid("trailPercent", "must be more than 0 and less than 100, with at most 4 decimal places, got %s", p.String())
			}
		}
	default:
		return Invalid("type", "must be MARKET, LIMIT, STOP, STOP_LIMIT or TRAILING_STOP")
	}
	if in.LimitPrice != nil {
		if err := validPrice("limitPrice", *in.LimitPrice); err != nil {
			return err
		}
	}
	if in.StopPrice != nil {
		if err := validPrice("stopPrice", *in.StopPrice); err != nil {
			return err
		}
	}
	if in.ClientOrderID != nil {
		n := utf8.RuneCountInString(*in.ClientOrderID)
		if n == 0 || n > 64 {
			return Invalid("clientOrderId", "must be 1 to 64 characters, got %d", n)
		}
	}
	if in.Note != nil {
		if err := checkText("note", *in.Note, lineBreaks); err != nil {
			return err
		}
		note := strings.TrimSpace(*in.Note)
		if n := utf8.RuneCountInString(note); n > MaxNoteLength {
			return Invalid("note", "must be at most %d characters, got %d", MaxNoteLength, n)
		}
		in.Note = &note
		if note == "" {
			in.Note = nil
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// MaxNoteLength bounds an order's note, in characters.
const MaxNoteLength = 500

// account is a participant's money as one transaction sees it.
type account struct {
	p         *Participant
	room      *BullPen
	open      []*Order
	positions map[string]*Position
	prices    map[string]decimal.Decimal
}

func (s *Service) loadAccount(ctx context.Context, tx Tx, room *BullPen, p *Participant) (*account, error) {
	a := &account{p: p, room: room, prices: map[string]decimal.Decimal{}}
	if err := a.loadHoldings(ctx, tx); err != nil {
		return nil, err
	}
	for _, pos := range a.positions {
		// Shorts need their price for margin; every position does for the
		// concentration rule (portfolio value).
		if pos.Quantity < 0 || room.MaxPositionPercent != nil {
			if err := a.loadPrice(ctx, tx, pos.Symbol); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

func (a *account) loadPrice(ctx context.Context, tx Tx, symbol string) error {
	if _, ok := a.prices[symbol]; ok {
		return nil
	}
	q, err := tx.Quote(ctx, symbol)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	a.prices[symbol] = q.Price
	return nil
}

func (a *account) position(symbol string) Position {
	if p, ok := a.positions[symbol]; ok {
		return *p
	}
	return Position{ParticipantID: a.p.ID, Symbol: symbol, CostBasis: decimal.Zero, RealizedPnL: decimal.Zero}
}

// price of a symbol for margin: the last quote, else the average cost.
func (a *account) price(pos Position) decimal.Decimal {
	if p, ok := a.prices[pos.Symbol]; ok {
		return p
	}
	return pos.AverageCost()
}

// reserved sums what open orders other than except hold back.
func (a *account) reserved(except int64) decimal.Decimal {
	sum := decimal.Zero
	for _, o := range a.open {
		if o.ID != except {
			sum = sum.Add(o.Reserved)
		}
	}
	return sum
}

// sharesOnSale counts the shares of symbol held back by open sell orders.
func (a *account) sharesOnSale(symbol string, except int64) int64 {
	var n int64
	for _, o := range a.open {
		if o.ID != except && o.Side == SideSell && o.Symbol == symbol {
			n += o.Remaining()
		}
	}
	return n
}

// margin is the cash short positions lock, with pos replacing its symbol.
func (a *account) margin(replace *Position) decimal.Decimal {
	sum := decimal.Zero
	add := func(p Position) {
		if p.Quantity < 0 {
			sum = sum.Add(a.price(p).Mul(decimal.NewFromInt(-p.Quantity)).Mul(ShortMarginRate))
		}
	}
	for sym, p := range a.positions {
		if replace == nil || sym != replace.Symbol {
			add(*p)
		}
	}
	if replace != nil {
		add(*replace)
	}
	return sum
}

// BuyingPower is cash less reservations and short margin.
func (a *account) buyingPower(except int64) decimal.Decimal {
	return a.p.Cash.Sub(a.reserved(except)).Sub(a.margin(nil))
}

// covers reports whether o is a buy that only reduces a short (at most
// its size). Such a buy only lowers the risk, so it needs the cash to
// pay for it rather than buying power, which a short under water has
// none of: otherwise it could never be reduced.
func (a *account) covers(o *Order) bool {
	return o.Side == SideBuy && o.Remaining() <= -a.position(o.Symbol).Quantity
}

// commissionDue is the room's commission when o has not filled yet: an
// order pays it once, on its first fill.
func (a *account) commissionDue(o *Order) decimal.Decimal {
	if o.FilledQuantity > 0 {
		return decimal.Zero
	}
	return a.room.Commission
}

// rejection is a business reason to refuse an order.
type rejection struct{ reason, message string }

var hundred = decimal.NewFromInt(100)

// checkBuyRules applies the room's price rules to a buy of o at price:
// minSharePrice, then maxPositionPercent (the symbol's long position after
// the buy, valued at price, against the portfolio value after it, other
// positions at their last price).
func (a *account) checkBuyRules(o *Order, price decimal.Decimal) *rejection {
	if o.Side != SideBuy {
		return nil
	}
	if m := a.room.MinSharePrice; m != nil && price.LessThan(*m) && !a.covers(o) {
		return &rejection{RejectBelowMinPrice, fmt.Sprintf("minSharePrice is %s in bull pen %d: buying %s at %s is below it", m.String(), a.room.ID, o.Symbol, price.String())}
	}
	pct := a.room.MaxPositionPercent
	if pct == nil {
		return nil
	}
	after, _ := ApplyFill(a.position(o.Symbol), SideBuy, o.Remaining(), price)
	if after.Quantity <= 0 {
		return nil // covering a short: it only shrinks
	}
	value := a.p.Cash.Add(CashDelta(SideBuy, o.Remaining(), price, a.commissionDue(o)))
	for sym, p := range a.positions {
		if sym != o.Symbol {
			value = value.Add(decimal.NewFromInt(p.Quantity).Mul(a.price(*p)))
		}
	}
	held := decimal.NewFromInt(after.Quantity).Mul(price)
	value = value.Add(held)
	// held/value*100 > pct, without dividing.
	if value.IsPositive() && !held.Mul(hundred).GreaterThan(pct.Mul(value)) {
		return nil
	}
	share := "all"
	if value.IsPositive() {
		share = divRoundHalfEven(held.Mul(hundred), value, 2).String() + "%"
	}
	return &rejection{RejectConcentration, fmt.Sprintf("maxPositionPercent is %s%% in bull pen %d: buying %d %s at %s would make %s %s of the portfolio value",
		pct.String(), a.room.ID, o.Remaining(), o.Symbol, price.String(), o.Symbol, share)}
}

// checkFill says whether filling p.Quantity shares of o at p.Price, and
// then holding back rest for the shares left, leaves the account sound
// and within the room's rules. The room's rules judge the whole rest of
// the order: a part fill must not let through what the order could not.
func (a *account) checkFill(o *Order, p plan, rest decimal.Decimal) *rejection {
	price := p.Price
	if r := a.checkBuyRules(o, price); r != nil {
		return r
	}
	pos := a.position(o.Symbol)
	if o.Side == SideSell && !a.room.AllowShortSelling {
		free := max(pos.Quantity, 0) - a.sharesOnSale(o.Symbol, o.ID)
		if o.Remaining() > free {
			return &rejection{RejectInsufficientShares, fmt.Sprintf("cannot sell %d %s: %d held and not already on sale, and this room does not allow short selling", o.Remaining(), o.Symbol, max(free, 0))}
		}
	}
	cash := a.p.Cash.Add(CashDelta(o.Side, p.Quantity, price, a.commissionDue(o)))
	after, _ := ApplyFill(pos, o.Side, p.Quantity, price)
	if whole, _ := ApplyFill(pos, o.Side, o.Remaining(), price); whole.Quantity > MaxPosition || whole.Quantity < -MaxPosition {
		return &rejection{RejectPositionLimit, fmt.Sprintf("a position may hold at most %d shares of %s", int64(MaxPosition), o.Symbol)}
	}
	a.prices[o.Symbol] = price
	if a.covers(o) {
		// The margin it releases is the covered share of the short's,
		// whatever the rest of the account looks like.
		if free := cash.Sub(a.reserved(o.ID)).Sub(rest); free.IsNegative() {
			return &rejection{RejectInsufficientFunds, fmt.Sprintf("%s %d %s at %s needs %s more cash than other orders hold back", o.Side, o.Remaining(), o.Symbol, price.String(), free.Neg().String())}
		}
		return nil
	}
	left := cash.Sub(a.reserved(o.ID)).Sub(a.margin(&after)).Sub(rest)
	if cash.IsNegative() || left.IsNegative() {
		return &rejection{RejectInsufficientFunds, fmt.Sprintf("%s %d %s at %s needs %s more buying power", o.Side, o.Remaining(), o.Symbol, price.String(), left.Neg().String())}
	}
	return nil
}

// reservation is what o's remaining shares hold back while they rest,
// with pos the position of its symbol: a buy its worst cost, a sell the
// margin of any short it would open; both the commission when o has not
// paid it. A limit order's worst price is its limit, a stop's its stop,
// a market order's market (the price it would fill at now).
func (a *account) reservation(o *Order, pos Position, market decimal.Decimal) decimal.Decimal {
	ref := restingPrice(o, market)
	qty := decimal.NewFromInt(o.Remaining())
	res := a.commissionDue(o)
	if o.Side == SideBuy {
		return res.Add(qty.Mul(ref))
	}
	free := max(pos.Quantity, 0) - a.sharesOnSale(o.Symbol, o.ID)
	if short := o.Remaining() - max(free, 0); short > 0 {
		res = res.Add(decimal.NewFromInt(short).Mul(ref).Mul(ShortMarginRate.Sub(decimal.NewFromInt(1))))
	}
	return res
}

// restHold is what o holds back for the shares a fill p leaves, reckoned
// on the position after it: zero when p fills them all.
func (a *account) restHold(o *Order, p plan) decimal.Decimal {
	if p.Quantity >= o.Remaining() {
		return decimal.Zero
	}
	after, _ := ApplyFill(a.position(o.Symbol), o.Side, p.Quantity, p.Price)
	rest := *o
	rest.FilledQuantity += p.Quantity
	return a.reservation(&rest, after, p.Price)
}

// withinLimit reports whether a fill at price respects o's limit price:
// the costs of a fill may take its price past the limit the last price
// was within, and then it waits.
func withinLimit(o *Order, price decimal.Decimal) bool {
	if o.LimitPrice == nil {
		return true
	}
	if o.Side == SideBuy {
		return !price.GreaterThan(*o.LimitPrice)
	}
	return !price.LessThan(*o.LimitPrice)
}

// restingPrice is the price a resting order is held back and checked at:
// its limit price, else its stop price, else market (a MARKET order
// waiting for volume or queued for the next session: what it would pay at
// the last quote).
func restingPrice(o *Order, market decimal.Decimal) decimal.Decimal {
	switch {
	case o.LimitPrice != nil:
		return *o.LimitPrice
	case o.StopPrice != nil:
		return *o.StopPrice
	}
	return market
}

// marketable says whether o would fill at price now, and whether its stop
// has triggered.
func marketable(o *Order, price decimal.Decimal) (fill, triggered bool) {
	triggered = o.Triggered
	if !triggered && o.StopPrice != nil {
		if o.Side == SideBuy {
			triggered = !price.LessThan(*o.StopPrice)
		} else {
			triggered = !price.GreaterThan(*o.StopPrice)
		}
	}
	switch o.Type {
	case OrderTypeMarket:
		return true, false
	case OrderTypeStop, OrderTypeTrailingStop:
		return triggered, triggered
	case OrderTypeLimit, OrderTypeStopLimit:
		if o.Type == OrderTypeStopLimit && !triggered {
			return false, false
		}
		if o.Side == SideBuy {
			return !price.GreaterThan(*o.LimitPrice), triggered
		}
		return !price.LessThan(*o.LimitPrice), triggered
	}
	return false, false
}

// trailStop is where a trailing stop's trigger stands when the best price
// seen is price: price less the trail for a SELL, plus it for a BUY. A
// trailPercent trail is that percent of price rounded half-even to 4
// decimal places, so the stop has at most 4 like every price, and it moves
// with price monotonically.
func trailStop(o *Order, price decimal.Decimal) decimal.Decimal {
	var trail decimal.Decimal
	if o.TrailAmount != nil {
		trail = *o.TrailAmount
	} else {
		trail = divRoundHalfEven(price.Mul(*o.TrailPercent), hundred, 4)
	}
	if o.Side == SideSell {
		return price.Sub(trail)
	}
	return price.Add(trail)
}

// trailed returns where a trailing stop's trigger moves to at price, and
// whether it moves: up only for a SELL (it follows the highest price
// seen), down only for a BUY (the lowest). The best price itself is not
// stored: the trigger is a monotone function of it, so the best trigger
// seen is the trigger of the best price.
func trailed(o *Order, price decimal.Decimal) (decimal.Decimal, bool) {
	if o.Type != OrderTypeTrailingStop || o.StopPrice == nil {
		return decimal.Decimal{}, false
	}
	stop := trailStop(o, price)
	if o.Side == SideSell {
		return stop, stop.GreaterThan(*o.StopPrice)
	}
	return stop, stop.LessThan(*o.StopPrice)
}

// expiryDue reports whether o has an expiresAt that has come at now.
func expiryDue(o *Order, now time.Time) bool {
	return o.ExpiresAt != nil && !now.Before(*o.ExpiresAt)
}

// PlaceOrder places an order for user in a room: it fills at once when it
// can, rests OPEN when it cannot yet, or is stored REJECTED with a reason.
// The same clientOrderId again returns the first order untouched.
//
// A TRAILING_STOP needs a price to trail from (else NO_PRICE) and always
// rests first: its stopPrice starts at the price less (SELL) or plus (BUY)
// the trail and then follows the best price (see trailed); when the price
// comes back through it, it fills at that price like a triggered STOP.
//
// The room's rules are checked as follows, each a stored REJECTED order
// with its reason and an OrderEvent REJECTED:
//   - maxOrdersPerMinute (ORDER_RATE_LIMIT): at placement, counting the
//     participant's stored orders created in the minute before this
//     transaction's time (rejections by this rule do not count), in the
//     order's transaction under the room's lock, so instances sharing a
//     database agree.
//   - maxOpenOrders (TOO_MANY_OPEN_ORDERS): at placement of an order that
//     would rest, against the participant's OPEN orders.
//   - minSharePrice (BELOW_MIN_PRICE) and maxPositionPercent
//     (POSITION_CONCENTRATION), buys only: at placement at the fill price,
//     or for an order that rests at its limit price (else its stop price);
//     and again when a resting buy fills, at the price it fills at.
//
// Trading hours and stale prices (see checkHours, checkQuote,
// checkQuoteAge; docs/execution.md):
//   - while the room's market is closed, afterHours REJECT stores the
//     order REJECTED, MARKET_CLOSED; QUEUE rests it OPEN unfilled and
//     untriggered (a MARKET order too, held back at the last price), to
//     be worked by the first price of the next session;
//   - an order the last price would fill or trigger (or a trailing stop
//     trail from) when that price is older than maxQuoteAgeSeconds is
//     REJECTED, STALE_PRICE; with trading hours, when it is from before
//     the session under way opened, QUEUE rests the order as above and
//     REJECT rejects it, STALE_PRICE.
//
// expiresAt (resting orders only; in the future) makes an OPEN order
// EXPIRED at that time (see ExpireDue); a price that reaches the order
// at or after that time expires it rather than fill it.
//
// Errors: UNAUTHENTICATED; BAD_USER_INPUT naming the field for a
// malformed order (nothing is stored); NOT_FOUND for an unknown room or
// a PRIVATE one user is not in; FORBIDDEN when user has not joined a room
// they may see; RATE_LIMITED when the participant has placed too many
// orders in the last second (nothing is stored, no event).
func (s *Service) PlaceOrder(ctx context.Context, user *User, in PlaceOrderInput) (*Order, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to place orders")
	}
	if err := ValidateOrder(&in); err != nil {
		return nil, err
	}
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC().Truncate(time.Millisecond)
		if now := s.clock.Now(); !at.After(now) {
			return nil, Invalid("expiresAt", "must be in the future, got %s (now is %s)", at.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
		}
		in.ExpiresAt = &at
	}
	if err := s.allowOrder(user, in.BullPenID); err != nil {
		return nil, err
	}
	var (
		o      *Order
		filled bool
		ended  *BullPen // the room, when this order's transaction ended it
	)
	// Concurrent orders share a transaction (group commit); Run may run
	// again, so it sets o, filled and ended afresh.
	run := func(ctx context.Context, tx Tx) error {
		o, filled, ended = nil, false, nil
		// The symbol before the room (the order Tick takes them in): an
		// order that rests has read the newest committed price.
		if err := tx.LockSymbol(ctx, in.Symbol, false); err != nil {
			return err
		}
		room, err := lockRoom(ctx, tx, in.BullPenID)
		if err != nil {
			return err
		}
		p, err := tx.ParticipantByUser(ctx, room.ID, user.ID)
		if ErrorCode(err) == ENOTFOUND {
			if room.Visibility == VisibilityPrivate && room.OwnerID != user.ID {
				return roomNotFound(room.ID)
			}
			return Errorf(EFORBIDDEN, "join bull pen %d before placing orders", room.ID)
		} else if err != nil {
			return err
		}
		if p.RemovedAt != nil {
			return Errorf(EFORBIDDEN, "you were removed from bull pen %d by its organiser (%s): you can no longer place orders", room.ID, deref(p.RemovedReason))
		}
		if room.RequireNote && in.Note == nil {
			return Invalid("note", "is required in bull pen %d: it keeps a trade journal, so every order needs a note", room.ID)
		}
		if in.ClientOrderID != nil {
			if prev, err := tx.OrderByClientID(ctx, p.ID, *in.ClientOrderID); err == nil {
				o = prev
				return nil
			} else if ErrorCode(err) != ENOTFOUND {
				return err
			}
		}
		if ended, err = s.endIfDue(ctx, tx, room); err != nil {
			return err
		} else if ended != nil {
			room = ended
		}
		now := tx.Now()
		o = &Order{
			BullPenID: room.ID, ParticipantID: p.ID, ClientOrderID: in.ClientOrderID, Symbol: in.Symbol,
			Side: in.Side, Type: *in.Type, Quantity: in.Quantity, LimitPrice: in.LimitPrice, StopPrice: in.StopPrice,
			Status: OrderStatusOpen, Commission: decimal.Zero, Reserved: decimal.Zero, CreatedAt: now, UpdatedAt: now,
			TrailAmount: in.TrailAmount, TrailPercent: in.TrailPercent, ExpiresAt: in.ExpiresAt, Note: in.Note,
		}
		filled, err = s.execute(ctx, tx, room, p, o)
		return err
	}
	err := s.store.Apply(ctx, Change{Symbols: []string{in.Symbol}, Rooms: []int64{in.BullPenID}, Run: run})
	if err != nil {
		return nil, err
	}
	if filled {
		s.markDirty(o.BullPenID)
	}
	if ended != nil {
		s.afterMove(ended)
		s.log.Info("room moved by schedule", "room", ended.ID, "state", RoomEnded, "by", "an order at its endsAt")
	}
	if o.Working() && o.ExpiresAt != nil {
		s.nudgeScheduler() // it may now have an earlier expiry to wait for
	}
	return o, nil
}

// endIfDue ends room in tx, as the scheduler would (trigger SCHEDULE),
// when its endsAt has come and it is still ACTIVE or PAUSED: an order
// placed then must not fill, nor wait for the scheduler to be refused.
// The move is conditional, so the room ends exactly once whoever gets
// there first. It returns the ended room, or nil when nothing was due.
func (s *Service) endIfDue(ctx context.Context, tx Tx, room *BullPen) (*BullPen, error) {
	if (room.State != RoomActive && room.State != RoomPaused) || tx.Now().Before(room.EndsAt) {
		return nil, nil
	}
	return s.move(ctx, tx, nil, room.ID, RoomEnded, TriggerSchedule)
}

// execute decides a new order: reject, fill or rest. It inserts o.
func (s *Service) execute(ctx context.Context, tx Tx, room *BullPen, p *Participant, o *Order) (bool, error) {
	reject := func(r rejection) (bool, error) {
		o.Status, o.RejectReason, o.RejectMessage = OrderStatusRejected, &r.reason, &r.message
		if err := tx.InsertOrder(ctx, o); err != nil {
			return false, err
		}
		return false, s.orderEvent(ctx, tx, o, OrderEventRejected)
	}
	if room.State != RoomActive {
		return reject(rejection{RejectRoomNotActive, fmt.Sprintf("bull pen %d is %s: orders are accepted only while it is ACTIVE", room.ID, room.State)})
	}
	if _, ok := s.symbols[o.Symbol]; !ok {
		return reject(rejection{RejectUnknownSymbol, fmt.Sprintf("%s is not a known instrument", o.Symbol)})
	}
	if room.AllowedSymbols != nil && !slices.Contains(room.AllowedSymbols, o.Symbol) {
		return reject(rejection{RejectSymbolNotAllowed, fmt.Sprintf("%s may not be traded in bull pen %d (allowed: %s)", o.Symbol, room.ID, strings.Join(room.AllowedSymbols, ", "))})
	}
	if n := room.MaxOrdersPerMinute; n != nil {
		count, err := tx.CountOrdersSince(ctx, p.ID, tx.Now().Add(-time.Minute))
		if err != nil {
			return false, err
		}
		if count >= *n {
			return reject(rejection{RejectOrderRate, fmt.Sprintf("maxOrdersPerMinute is %d in bull pen %d: %d orders placed in the last minute", *n, room.ID, count)})
		}
	}
	queued, closed := checkHours(room, tx.Now())
	if closed != nil {
		return reject(*closed)
	}
	a, err := s.loadAccount(ctx, tx, room, p)
	if err != nil {
		return false, err
	}
	q, err := tx.Quote(ctx, o.Symbol)
	if ErrorCode(err) == ENOTFOUND {
		q = nil
	} else if err != nil {
		return false, err
	}
	if q == nil && o.Type == OrderTypeMarket {
		return reject(rejection{RejectNoPrice, fmt.Sprintf("%s has no price yet", o.Symbol)})
	}
	if o.Type == OrderTypeTrailingStop {
		if q == nil {
			return reject(rejection{RejectNoPrice, fmt.Sprintf("%s has no price yet for a trailing stop to trail from", o.Symbol)})
		}
		if r := checkQuoteAge(room, o, q, tx.Now()); r != nil {
			return reject(*r)
		}
		stop := trailStop(o, q.Price)
		if !stop.IsPositive() {
			// Rolled back with the change: nothing is stored.
			return false, Invalid("trailAmount", "must be less than the price of %s (%s) for a SELL", o.Symbol, q.Price.String())
		}
		o.StopPrice = &stop
	}
	if q != nil && !queued {
		fill, triggered := marketable(o, q.Price)
		wait := false
		if fill || triggered {
			var r *rejection
			if wait, r = checkQuote(room, o, q, tx.Now()); r != nil {
				return reject(*r)
			}
		}
		if !wait {
			o.Triggered = triggered
			// It fills what the tick's volume allows, within its limit;
			// the rest rests, a market order's too.
			if qty := room.Execution.fillable(o.Quantity, q.Volume); fill && qty > 0 {
				p := room.Execution.plan(o.Side, q, qty)
				if withinLimit(o, p.Price) {
					rest := a.restHold(o, p)
					if r := a.checkFill(o, p, rest); r != nil {
						return reject(*r)
					}
					return true, s.fill(ctx, tx, a, o, p, rest, false)
				}
			}
		}
	}
	// Rest: hold back what the order may need and check it is there.
	if o.Side == SideSell && !room.AllowShortSelling {
		pos := a.position(o.Symbol)
		if free := max(pos.Quantity, 0) - a.sharesOnSale(o.Symbol, 0); o.Remaining() > free {
			return reject(rejection{RejectInsufficientShares, fmt.Sprintf("cannot sell %d %s: %d held and not already on sale, and this room does not allow short selling", o.Quantity, o.Symbol, max(free, 0))})
		}
	}
	if n := room.MaxOpenOrders; n != nil && len(a.open) >= *n {
		return reject(rejection{RejectTooManyOpen, fmt.Sprintf("maxOpenOrders is %d in bull pen %d: %d orders are open already", *n, room.ID, len(a.open))})
	}
	var market decimal.Decimal // what a MARKET order that rests would pay now
	if q != nil && o.LimitPrice == nil && o.StopPrice == nil {
		market = room.Execution.plan(o.Side, q, 0).Price
	}
	ref := restingPrice(o, market)
	if r := a.checkBuyRules(o, ref); r != nil {
		return reject(*r)
	}
	held := a.reservation(o, a.position(o.Symbol), ref)
	bp, what := a.buyingPower(0), "buying power"
	if a.covers(o) {
		bp, what = a.p.Cash.Sub(a.reserved(0)), "the cash other orders do not hold back"
	}
	if held.GreaterThan(bp) {
		return reject(rejection{RejectInsufficientFunds, fmt.Sprintf("this order holds back %s but %s is %s", held.String(), what, bp.String())})
	}
	o.Reserved = held
	if err := tx.InsertOrder(ctx, o); err != nil {
		return false, err
	}
	l := a.ledger(o, decimal.Zero, tx.Now())
	l.hold(o.Reserved, o.ID)
	if err := l.write(ctx, tx); err != nil {
		return false, err
	}
	return false, s.orderEvent(ctx, tx, o, OrderEventAccepted)
}

// fill executes p.Quantity shares of o at p.Price, holds back rest for
// the shares left, and writes the fill, the ledger and the events: an
// OrderEvent (FILLED when no share is left, else PARTIALLY_FILLED;
// LIQUIDATED for a forced fill, a liquidation, which books its trade as
// LIQUIDATION) and a PositionEvent. A new order (no ID yet) is stored
// once, with its first fill: inserting it OPEN and then updating it would
// maintain the open-order indexes twice for nothing. The order pays the
// room's commission on its first fill.
func (s *Service) fill(ctx context.Context, tx Tx, a *account, o *Order, p plan, rest decimal.Decimal, forced bool) error {
	now := tx.Now()
	commission := a.commissionDue(o)
	before := a.position(o.Symbol)
	l := a.ledger(o, o.Reserved, now)
	a.p.Cash = a.p.Cash.Add(CashDelta(o.Side, p.Quantity, p.Price, commission))
	if err := tx.SetCash(ctx, a.p.ID, a.p.Cash); err != nil {
		return err
	}
	pos, realized := ApplyFill(before, o.Side, p.Quantity, p.Price)
	pos.UpdatedAt, pos.MarketPrice = now, p.Price
	if err := tx.RecordFill(ctx, a.p.ID, closes(before, o.Side), realized.IsPositive()); err != nil {
		return err
	}
	if err := tx.SavePosition(ctx, &pos); err != nil {
		return err
	}
	a.positions[o.Symbol] = &pos
	if o.Fills == nil {
		o.Fills = []Fill{}
		if o.FilledQuantity > 0 {
			fills, err := tx.Fills(ctx, o.ID)
			if err != nil {
				return err
			}
			o.Fills = fills
		}
	}
	held := o.Reserved
	price := p.Price
	o.FilledQuantity += p.Quantity
	o.FilledPrice, o.Commission, o.UpdatedAt = &price, o.Commission.Add(commission), now
	kind := OrderEventFilled
	if o.Remaining() == 0 {
		o.Status, o.Reserved, o.FilledAt = OrderStatusFilled, decimal.Zero, &now
	} else {
		o.Status, o.Reserved, kind = OrderStatusPartiallyFilled, rest, OrderEventPartiallyFilled
	}
	if forced {
		kind = OrderEventLiquidated
	}
	store := tx.UpdateOrder
	if o.ID == 0 {
		store = tx.InsertOrder
	}
	if err := store(ctx, o); err != nil {
		return err
	}
	// After the store: a new order has its ID now, which its entries name.
	f := Fill{OrderID: o.ID, At: now, Quantity: p.Quantity, Price: price, MidPrice: p.Mid,
		SpreadCost: p.Spread, SlippageCost: p.Slippage, ImpactCost: p.Impact, Commission: commission, QuoteAt: p.QuoteAt}
	if err := tx.InsertFill(ctx, &f); err != nil {
		return err
	}
	o.Fills = append(o.Fills, f)
	bookFill(l, o, forced, held, rest, before, pos, p.Quantity, price, commission)
	if err := l.write(ctx, tx); err != nil {
		return err
	}
	if err := s.orderEvent(ctx, tx, o, kind); err != nil {
		return err
	}
	pid := a.p.ID
	_, err := tx.AppendEvent(ctx, o.BullPenID, EventPosition, &pid, PositionPayload{ParticipantID: pid, Position: pos})
	return err
}

// closes reports whether a fill on side reduces pos (a closing fill, for
// the win rate).
func closes(pos Position, side Side) bool {
	return pos.Quantity != 0 && (pos.Quantity > 0) == (side == SideSell)
}

func (s *Service) orderEvent(ctx context.Context, tx Tx, o *Order, kind OrderEventKind) error {
	pid := o.ParticipantID
	_, err := tx.AppendEvent(ctx, o.BullPenID, EventOrder, &pid, OrderPayload{Kind: kind, Order: *o})
	return err
}

// finishOrder closes an OPEN order with status and its event, releasing
// what it held back.
func (s *Service) finishOrder(ctx context.Context, tx Tx, o *Order, status OrderStatus, kind OrderEventKind) error {
	if err := s.setReserved(ctx, tx, o, decimal.Zero); err != nil {
		return err
	}
	o.Status, o.UpdatedAt = status, tx.Now()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return err
	}
	return s.orderEvent(ctx, tx, o, kind)
}

// CancelOrder cancels an OPEN or PARTIALLY_FILLED order of user's: what
// has filled stays filled.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown order or another
// participant's; CONFLICT naming the status when it is not OPEN.
func (s *Service) CancelOrder(ctx context.Context, user *User, orderID int64) (*Order, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to cancel orders")
	}
	o, err := s.store.Order(ctx, orderID)
	if err != nil {
		return nil, err
	}
	room := o.BullPenID // an order never changes rooms
	err = s.store.Apply(ctx, Change{Rooms: []int64{room}, Run: func(ctx context.Context, tx Tx) error {
		if _, err := tx.LockBullPen(ctx, room); err != nil {
			return err
		}
		var err error
		if o, err = tx.Order(ctx, orderID); err != nil {
			return err
		}
		p, err := tx.Participant(ctx, o.ParticipantID)
		if err != nil {
			return err
		}
		if p.UserID != user.ID {
			return Errorf(ENOTFOUND, "order not found")
		}
		if !o.Working() {
			return Errorf(ECONFLICT, "order %d is %s: only an OPEN or PARTIALLY_FILLED order can be cancelled", o.ID, o.Status)
		}
		return s.finishOrder(ctx, tx, o, OrderStatusCancelled, OrderEventCancelled)
	}})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// DefaultVolume is a tick's volume when its feed gives none (setQuote
// without one, a replay row without one): enough that no preset's volume
// limit binds an order of a few hundred shares. MaxVolume bounds a tick's
// volume, so that it fits GraphQL's Int.
const (
	DefaultVolume = 10_000
	MaxVolume     = 2_000_000_000
)

// PriceTick is a new price of a symbol, with the market around it: the
// best bid and ask (zero: the price) and the shares traded since the tick
// before (zero: DefaultVolume).
type PriceTick struct {
	Symbol   string
	Price    decimal.Decimal
	Bid, Ask decimal.Decimal
	Volume   int64
}

// QuoteInput is setQuote's optional market around its price.
type QuoteInput struct {
	Bid, Ask *decimal.Decimal
	Volume   *int64
}

// SetQuote sets a price by hand (admins, manual market only), with its
// bid, ask and volume when given, and fills what it crosses.
//
// Errors: UNAUTHENTICATED; FORBIDDEN for non-admins; CONFLICT when the
// market is not manual; BAD_USER_INPUT naming the argument for an unknown
// symbol, a bad price, a bid above the price, an ask below it or a volume
// out of range.
func (s *Service) SetQuote(ctx context.Context, user *User, symbol string, price decimal.Decimal, in QuoteInput) (*Quote, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to set quotes")
	}
	if admin, err := s.IsAdmin(ctx, user); err != nil {
		return nil, err
	} else if !admin {
		return nil, Errorf(EFORBIDDEN, "only admins may set quotes: an operator grants the role with `bullpen admin grant USERNAME` (-db as for the server)")
	}
	if !s.manual {
		return nil, Errorf(ECONFLICT, "setQuote works only with the manual market (-market manual)")
	}
	symbol = strings.ToUpper(strings.TrimSpace(symbol))
	if _, ok := s.symbols[symbol]; !ok {
		return nil, Invalid("symbol", "%q is not a known instrument", symbol)
	}
	if err := validPrice("price", price); err != nil {
		return nil, err
	}
	t := PriceTick{Symbol: symbol, Price: price}
	if in.Bid != nil {
		if err := validPrice("bid", *in.Bid); err != nil {
			return nil, err
		}
		if in.Bid.GreaterThan(price) {
			return nil, Invalid("bid", "must be at most the price %s, got %s", price.String(), in.Bid.String())
		}
		t.Bid = *in.Bid
	}
	if in.Ask != nil {
		if err := validPrice("ask", *in.Ask); err != nil {
			return nil, err
		}
		if in.Ask.LessThan(price) {
			return nil, Invalid("ask", "must be at least the price %s, got %s", price.String(), in.Ask.String())
		}
		t.Ask = *in.Ask
	}
	if in.Volume != nil {
		if *in.Volume < 1 || *in.Volume > MaxVolume {
			return nil, Invalid("volume", "must be between 1 and %d shares, got %d", int64(MaxVolume), *in.Volume)
		}
		t.Volume = *in.Volume
	}
	return s.TickQuote(ctx, t)
}

// Tick records a new price for symbol, with no bid, ask or volume of its
// own (see TickQuote).
func (s *Service) Tick(ctx context.Context, symbol string, price decimal.Decimal) (*Quote, error) {
	return s.TickQuote(ctx, PriceTick{Symbol: symbol, Price: price})
}

// TickQuote records a new price and, in the same transaction,
// fills or triggers every resting order it crosses in ACTIVE rooms, then
// makes the margin calls it brings about (see marginCall) for every
// participant short in the symbol in a room with a maintenance margin: a
// crash or a concurrent order never sees the price without its fills and
// liquidations. An order whose fill fails, or a margin call that fails,
// is logged and left as it was (its savepoint rolled back); the others
// still go ahead. A bid or ask left out is the price, a volume left out
// DefaultVolume.
func (s *Service) TickQuote(ctx context.Context, t PriceTick) (*Quote, error) {
	var (
		q      *Quote
		filled map[int64]bool
	)
	symbol, price := t.Symbol, t.Price
	err := s.store.Update(ctx, func(tx Tx) error {
		filled = map[int64]bool{}
		if err := tx.LockSymbol(ctx, symbol, true); err != nil {
			return err
		}
		q = &Quote{Symbol: symbol, Price: price, Bid: t.Bid, Ask: t.Ask, Volume: t.Volume, Open: price, At: tx.Now()}
		if q.Bid.IsZero() {
			q.Bid = price
		}
		if q.Ask.IsZero() {
			q.Ask = price
		}
		if q.Volume == 0 {
			q.Volume = DefaultVolume
		}
		if prev, err := tx.Quote(ctx, symbol); err == nil {
			q.Open = prev.Open
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		if err := tx.SaveQuote(ctx, q); err != nil {
			return err
		}
		open, err := tx.OpenOrdersBySymbol(ctx, symbol)
		if err != nil {
			return err
		}
		shorts, err := tx.MarginedShorts(ctx, symbol)
		if err != nil {
			return err
		}
		return s.sweep(ctx, tx, open, shorts, map[string]*Quote{symbol: q}, filled)
	})
	if err != nil {
		return nil, err
	}
	for room := range filled {
		s.markDirty(room)
	}
	s.quoteMu.Lock()
	listeners := s.quoteListeners
	s.quoteMu.Unlock()
	for _, fn := range listeners {
		fn(*q)
	}
	return q, nil
}

// sweep re-decides resting orders against prices, then makes the margin
// calls of the participants in shorts, each in its own savepoint, and
// records the rooms where something filled. Both lists are sorted by
// room, and are taken room by room (the order rooms are locked in), a
// room's orders before its margin calls, which see their fills. Orders
// the prices do not touch are skipped without a lock.
func (s *Service) sweep(ctx context.Context, tx Tx, open []*Order, shorts []*Participant, quotes map[string]*Quote, filled map[int64]bool) error {
	closed := map[int64]bool{} // see marketClosed
	for len(open) > 0 || len(shorts) > 0 {
		if len(open) == 0 || (len(shorts) > 0 && shorts[0].BullPenID < open[0].BullPenID) {
			if err := s.sweepMargin(ctx, tx, shorts[0], filled); err != nil {
				return err
			}
			shorts = shorts[1:]
			continue
		}
		o := open[0]
		open = open[1:]
		q, ok := quotes[o.Symbol]
		if !ok {
			continue
		}
		fill, triggered := marketable(o, q.Price)
		if _, moves := trailed(o, q.Price); !fill && triggered == o.Triggered && !moves && !expiryDue(o, tx.Now()) {
			continue
		}
		if s.marketClosed(ctx, tx, o.BullPenID, closed) {
			continue
		}
		var did bool
		err := tx.Savepoint(ctx, func() error {
			var err error
			did, err = s.work(ctx, tx, o.ID, q)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Error("resting order could not be worked; left as it was", "order", o.ID, "room", o.BullPenID, "err", err)
			continue
		}
		if did {
			filled[o.BullPenID] = true
		}
	}
	return nil
}

// sweepRoom re-decides a room's resting orders against the stored prices
// and makes its margin calls (when it becomes ACTIVE again, prices may
// have crossed them meanwhile).
func (s *Service) sweepRoom(ctx context.Context, tx Tx, room *BullPen, filled map[int64]bool) error {
	open, err := tx.OpenOrdersByRoom(ctx, room.ID)
	if err != nil {
		return err
	}
	var shorts []*Participant
	if room.MaintenanceMarginPercent != nil {
		ps, err := tx.PositionsByRoom(ctx, room.ID)
		if err != nil {
			return err
		}
		for _, pos := range ps { // by participant
			if pos.Quantity < 0 && (len(shorts) == 0 || shorts[len(shorts)-1].ID != pos.ParticipantID) {
				shorts = append(shorts, &Participant{ID: pos.ParticipantID, BullPenID: room.ID})
			}
		}
	}
	if len(open) == 0 && len(shorts) == 0 {
		return nil
	}
	quotes, err := s.freshQuotes(ctx, tx, room)
	if err != nil {
		return err
	}
	return s.sweep(ctx, tx, open, shorts, quotes, filled)
}

// work re-decides one resting order against quote q inside tx, holding
// its room: fill (what the tick's volume allows), trigger, or reject when
// the money is gone. It reports a fill.
func (s *Service) work(ctx context.Context, tx Tx, orderID int64, q *Quote) (bool, error) {
	o, err := tx.Order(ctx, orderID)
	if err != nil {
		return false, err
	}
	room, err := tx.LockBullPen(ctx, o.BullPenID)
	if err != nil {
		return false, err
	}
	if o, err = tx.Order(ctx, orderID); err != nil || !o.Working() || room.State != RoomActive {
		return false, err
	}
	if expiryDue(o, tx.Now()) {
		// Its time has come and the scheduler has not got to it yet: it
		// expires now rather than fill late.
		return false, s.finishOrder(ctx, tx, o, OrderStatusExpired, OrderEventExpired)
	}
	if !tx.Now().Before(room.EndsAt) {
		// The room's time is up and the scheduler has not ended it yet:
		// no fill may be stamped at or after endsAt. Ending it expires
		// the order.
		return false, nil
	}
	if !marketOpen(room, tx.Now()) {
		// Nothing is worked while the room's market is closed: no fill,
		// no trigger, no trail. The first price of the next session
		// works the order.
		return false, nil
	}
	stop, moved := trailed(o, q.Price)
	if moved {
		o.StopPrice = &stop
	}
	fill, triggered := marketable(o, q.Price)
	var p plan
	if fill {
		if qty := room.Execution.fillable(o.Remaining(), q.Volume); qty > 0 {
			p = room.Execution.plan(o.Side, q, qty)
		}
		fill = p.Quantity > 0 && withinLimit(o, p.Price)
	}
	if !fill {
		if triggered != o.Triggered || moved {
			o.Triggered, o.UpdatedAt = triggered, tx.Now()
			return false, tx.UpdateOrder(ctx, o)
		}
		return false, nil
	}
	o.Triggered = triggered
	pt, err := tx.Participant(ctx, o.ParticipantID)
	if err != nil {
		return false, err
	}
	a, err := s.loadAccount(ctx, tx, room, pt)
	if err != nil {
		return false, err
	}
	rest := a.restHold(o, p)
	if r := a.checkFill(o, p, rest); r != nil {
		l := a.ledger(o, o.Reserved, tx.Now())
		l.hold(o.Reserved.Neg(), o.ID)
		if err := l.write(ctx, tx); err != nil {
			return false, err
		}
		o.Status, o.Reserved, o.UpdatedAt = OrderStatusRejected, decimal.Zero, tx.Now()
		o.RejectReason, o.RejectMessage = &r.reason, &r.message
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return false, err
		}
		return false, s.orderEvent(ctx, tx, o, OrderEventRejected)
	}
	return true, s.fill(ctx, tx, a, o, p, rest, false)
}
