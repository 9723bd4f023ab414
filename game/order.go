package game

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
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
	switch typ {
	case OrderTypeMarket:
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
	default:
		return Invalid("type", "must be MARKET, LIMIT, STOP or STOP_LIMIT")
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
	return nil
}

// account is a participant's money as one transaction sees it.
type account struct {
	p         *Participant
	room      *BullPen
	open      []*Order
	positions map[string]*Position
	prices    map[string]decimal.Decimal
}

func (s *Service) loadAccount(ctx context.Context, tx Tx, room *BullPen, p *Participant) (*account, error) {
	a := &account{p: p, room: room, positions: map[string]*Position{}, prices: map[string]decimal.Decimal{}}
	var err error
	if a.open, err = tx.OpenOrders(ctx, p.ID); err != nil {
		return nil, err
	}
	ps, err := tx.Positions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, pos := range ps {
		a.positions[pos.Symbol] = pos
		if pos.Quantity < 0 {
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
			n += o.Quantity
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

// rejection is a business reason to refuse an order.
type rejection struct{ reason, message string }

// checkFill says whether filling o at price leaves the account sound.
func (a *account) checkFill(o *Order, price decimal.Decimal) *rejection {
	commission := a.room.Commission
	pos := a.position(o.Symbol)
	if o.Side == SideSell && !a.room.AllowShortSelling {
		free := max(pos.Quantity, 0) - a.sharesOnSale(o.Symbol, o.ID)
		if o.Quantity > free {
			return &rejection{RejectInsufficientShares, fmt.Sprintf("cannot sell %d %s: %d held and not already on sale, and this room does not allow short selling", o.Quantity, o.Symbol, max(free, 0))}
		}
	}
	cash := a.p.Cash.Add(CashDelta(o.Side, o.Quantity, price, commission))
	after, _ := ApplyFill(pos, o.Side, o.Quantity, price)
	if after.Quantity > MaxPosition || after.Quantity < -MaxPosition {
		return &rejection{RejectPositionLimit, fmt.Sprintf("a position may hold at most %d shares of %s", int64(MaxPosition), o.Symbol)}
	}
	a.prices[o.Symbol] = price
	left := cash.Sub(a.reserved(o.ID)).Sub(a.margin(&after))
	if cash.IsNegative() || left.IsNegative() {
		return &rejection{RejectInsufficientFunds, fmt.Sprintf("%s %d %s at %s needs %s more buying power", o.Side, o.Quantity, o.Symbol, price.String(), left.Neg().String())}
	}
	return nil
}

// reservation is what a resting order holds back: a buy its worst cost,
// a sell its commission plus the margin of any short it would open.
func (a *account) reservation(o *Order) decimal.Decimal {
	ref := o.LimitPrice
	if ref == nil {
		ref = o.StopPrice
	}
	qty := decimal.NewFromInt(o.Quantity)
	res := a.room.Commission
	if o.Side == SideBuy {
		return res.Add(qty.Mul(*ref))
	}
	free := max(a.position(o.Symbol).Quantity, 0) - a.sharesOnSale(o.Symbol, o.ID)
	if short := o.Quantity - max(free, 0); short > 0 {
		res = res.Add(decimal.NewFromInt(short).Mul(*ref).Mul(ShortMarginRate.Sub(decimal.NewFromInt(1))))
	}
	return res
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
	case OrderTypeStop:
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

// PlaceOrder places an order for user in a room: it fills at once when it
// can, rests OPEN when it cannot yet, or is stored REJECTED with a reason.
// The same clientOrderId again returns the first order untouched.
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
	if err := s.allowOrder(user, in.BullPenID); err != nil {
		return nil, err
	}
	var (
		o      *Order
		filled bool
	)
	// Concurrent orders share a transaction (group commit); Run may run
	// again, so it sets o and filled afresh.
	run := func(ctx context.Context, tx Tx) error {
		o, filled = nil, false
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
		if in.ClientOrderID != nil {
			if prev, err := tx.OrderByClientID(ctx, p.ID, *in.ClientOrderID); err == nil {
				o = prev
				return nil
			} else if ErrorCode(err) != ENOTFOUND {
				return err
			}
		}
		now := tx.Now()
		o = &Order{
			BullPenID: room.ID, ParticipantID: p.ID, ClientOrderID: in.ClientOrderID, Symbol: in.Symbol,
			Side: in.Side, Type: *in.Type, Quantity: in.Quantity, LimitPrice: in.LimitPrice, StopPrice: in.StopPrice,
			Status: OrderStatusOpen, Commission: decimal.Zero, Reserved: decimal.Zero, CreatedAt: now, UpdatedAt: now,
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
	return o, nil
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
	if q != nil {
		fill, triggered := marketable(o, q.Price)
		o.Triggered = triggered
		if fill {
			if r := a.checkFill(o, q.Price); r != nil {
				return reject(*r)
			}
			if err := tx.InsertOrder(ctx, o); err != nil {
				return false, err
			}
			return true, s.fill(ctx, tx, a, o, q.Price)
		}
	}
	// Rest: hold back what the order may need and check it is there.
	if o.Side == SideSell && !room.AllowShortSelling {
		pos := a.position(o.Symbol)
		if free := max(pos.Quantity, 0) - a.sharesOnSale(o.Symbol, 0); o.Quantity > free {
			return reject(rejection{RejectInsufficientShares, fmt.Sprintf("cannot sell %d %s: %d held and not already on sale, and this room does not allow short selling", o.Quantity, o.Symbol, max(free, 0))})
		}
	}
	o.Reserved = a.reservation(o)
	if bp := a.buyingPower(0); o.Reserved.GreaterThan(bp) {
		o.Reserved = decimal.Zero
		return reject(rejection{RejectInsufficientFunds, fmt.Sprintf("this order holds back %s but buying power is %s", a.reservation(o).String(), bp.String())})
	}
	if err := tx.InsertOrder(ctx, o); err != nil {
		return false, err
	}
	return false, s.orderEvent(ctx, tx, o, OrderEventAccepted)
}

// fill executes an order (already stored) at price and writes its events.
func (s *Service) fill(ctx context.Context, tx Tx, a *account, o *Order, price decimal.Decimal) error {
	now := tx.Now()
	commission := a.room.Commission
	a.p.Cash = a.p.Cash.Add(CashDelta(o.Side, o.Quantity, price, commission))
	if err := tx.SetCash(ctx, a.p.ID, a.p.Cash); err != nil {
		return err
	}
	before := a.position(o.Symbol)
	pos, realized := ApplyFill(before, o.Side, o.Quantity, price)
	pos.UpdatedAt, pos.MarketPrice = now, price
	if err := tx.RecordFill(ctx, a.p.ID, closes(before, o.Side), realized.IsPositive()); err != nil {
		return err
	}
	if err := tx.SavePosition(ctx, &pos); err != nil {
		return err
	}
	a.positions[o.Symbol] = &pos
	o.Status, o.FilledQuantity, o.FilledPrice, o.Commission = OrderStatusFilled, o.Quantity, &price, commission
	o.Reserved, o.UpdatedAt, o.FilledAt = decimal.Zero, now, &now
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return err
	}
	if err := s.orderEvent(ctx, tx, o, OrderEventFilled); err != nil {
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

// finishOrder closes an OPEN order with status and its event.
func (s *Service) finishOrder(ctx context.Context, tx Tx, o *Order, status OrderStatus, kind OrderEventKind) error {
	o.Status, o.Reserved, o.UpdatedAt = status, decimal.Zero, tx.Now()
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return err
	}
	return s.orderEvent(ctx, tx, o, kind)
}

// CancelOrder cancels an OPEN order of user's.
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
		if o.Status != OrderStatusOpen {
			return Errorf(ECONFLICT, "order %d is %s: only an OPEN order can be cancelled", o.ID, o.Status)
		}
		return s.finishOrder(ctx, tx, o, OrderStatusCancelled, OrderEventCancelled)
	}})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// SetQuote sets a price by hand (admins, manual market only) and fills
// what it crosses.
//
// Errors: UNAUTHENTICATED; FORBIDDEN for non-admins; CONFLICT when the
// market is not manual; BAD_USER_INPUT for an unknown symbol or bad price.
func (s *Service) SetQuote(ctx context.Context, user *User, symbol string, price decimal.Decimal) (*Quote, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to set quotes")
	}
	if admin, err := s.IsAdmin(ctx, user); err != nil {
		return nil, err
	} else if !admin {
		return nil, Errorf(EFORBIDDEN, "only admins may set quotes")
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
	return s.Tick(ctx, symbol, price)
}

// Tick records a new price for symbol and, in the same transaction,
// fills or triggers every resting order it crosses in ACTIVE rooms: a
// crash or a concurrent order never sees the price without its fills.
// An order whose fill fails is logged and left as it was (its savepoint
// rolled back); the other orders on the symbol still fill.
func (s *Service) Tick(ctx context.Context, symbol string, price decimal.Decimal) (*Quote, error) {
	var (
		q      *Quote
		filled map[int64]bool
	)
	err := s.store.Update(ctx, func(tx Tx) error {
		filled = map[int64]bool{}
		if err := tx.LockSymbol(ctx, symbol, true); err != nil {
			return err
		}
		q = &Quote{Symbol: symbol, Price: price, Open: price, At: tx.Now()}
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
		return s.sweep(ctx, tx, open, map[string]decimal.Decimal{symbol: price}, filled)
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

// sweep re-decides resting orders (sorted by room, the order rooms are
// locked in) against prices, each in its own savepoint, and records the
// rooms where something filled. Orders the prices do not touch are
// skipped without a lock.
func (s *Service) sweep(ctx context.Context, tx Tx, open []*Order, prices map[string]decimal.Decimal, filled map[int64]bool) error {
	for _, o := range open {
		price, ok := prices[o.Symbol]
		if !ok {
			continue
		}
		if fill, triggered := marketable(o, price); !fill && triggered == o.Triggered {
			continue
		}
		var did bool
		err := tx.Savepoint(ctx, func() error {
			var err error
			did, err = s.work(ctx, tx, o.ID, price)
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
// (when it becomes ACTIVE again, prices may have crossed them meanwhile).
func (s *Service) sweepRoom(ctx context.Context, tx Tx, roomID int64, filled map[int64]bool) error {
	open, err := tx.OpenOrdersByRoom(ctx, roomID)
	if err != nil || len(open) == 0 {
		return err
	}
	prices, err := s.prices(ctx, tx)
	if err != nil {
		return err
	}
	return s.sweep(ctx, tx, open, prices, filled)
}

// work re-decides one resting order at price inside tx, holding its room:
// fill, trigger, or reject when the money is gone. It reports a fill.
func (s *Service) work(ctx context.Context, tx Tx, orderID int64, price decimal.Decimal) (bool, error) {
	o, err := tx.Order(ctx, orderID)
	if err != nil {
		return false, err
	}
	room, err := tx.LockBullPen(ctx, o.BullPenID)
	if err != nil {
		return false, err
	}
	if o, err = tx.Order(ctx, orderID); err != nil || o.Status != OrderStatusOpen || room.State != RoomActive {
		return false, err
	}
	fill, triggered := marketable(o, price)
	if !fill {
		if triggered != o.Triggered {
			o.Triggered, o.UpdatedAt = triggered, tx.Now()
			return false, tx.UpdateOrder(ctx, o)
		}
		return false, nil
	}
	o.Triggered = triggered
	p, err := tx.Participant(ctx, o.ParticipantID)
	if err != nil {
		return false, err
	}
	a, err := s.loadAccount(ctx, tx, room, p)
	if err != nil {
		return false, err
	}
	if r := a.checkFill(o, price); r != nil {
		o.Status, o.Reserved, o.UpdatedAt = OrderStatusRejected, decimal.Zero, tx.Now()
		o.RejectReason, o.RejectMessage = &r.reason, &r.message
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return false, err
		}
		return false, s.orderEvent(ctx, tx, o, OrderEventRejected)
	}
	return true, s.fill(ctx, tx, a, o, price)
}
