// Package game holds the rules of a Bullpen trading competition: rooms and
// their state machine, orders and how they fill, positions and portfolio
// maths, and the leaderboard. It has no SQL, HTTP or GraphQL in it; storage
// and delivery are interfaces it declares and adapters implement.
package game

import (
	"time"

	"github.com/shopspring/decimal"
)

// RoomState is where a bull pen is in its life.
type RoomState string

const (
	RoomScheduled RoomState = "SCHEDULED"
	RoomActive    RoomState = "ACTIVE"
	RoomPaused    RoomState = "PAUSED"
	RoomEnded     RoomState = "ENDED"
	RoomCancelled RoomState = "CANCELLED"
)

// Over reports whether a room in state s is over for good: ENDED and
// CANCELLED rooms move no more, and nothing is written to their log after
// the transaction that moved them there.
func (s RoomState) Over() bool { return s == RoomEnded || s == RoomCancelled }

// Visibility says who may find and join a room.
type Visibility string

const (
	VisibilityPublic  Visibility = "PUBLIC"
	VisibilityPrivate Visibility = "PRIVATE"
)

// TradeVisibility says who sees a participant's order and position events.
type TradeVisibility string

const (
	TradesPrivate TradeVisibility = "PRIVATE"
	TradesPublic  TradeVisibility = "PUBLIC"
)

// Side is BUY or SELL.
type Side string

const (
	SideBuy  Side = "BUY"
	SideSell Side = "SELL"
)

// OrderType is how an order is priced.
type OrderType string

const (
	OrderTypeMarket    OrderType = "MARKET"
	OrderTypeLimit     OrderType = "LIMIT"
	OrderTypeStop      OrderType = "STOP"
	OrderTypeStopLimit OrderType = "STOP_LIMIT"
	// OrderTypeTrailingStop is a stop whose trigger follows the best price
	// since the order was placed (see Order.TrailAmount, TrailPercent).
	OrderTypeTrailingStop OrderType = "TRAILING_STOP"
)

// OrderStatus is where an order is in its life.
type OrderStatus string

const (
	OrderStatusOpen OrderStatus = "OPEN"
	// OrderStatusPartiallyFilled is an order some of whose shares have
	// filled while the rest still works, as an OPEN order does.
	OrderStatusPartiallyFilled OrderStatus = "PARTIALLY_FILLED"
	OrderStatusFilled          OrderStatus = "FILLED"
	OrderStatusCancelled       OrderStatus = "CANCELLED"
	OrderStatusRejected        OrderStatus = "REJECTED"
	OrderStatusExpired         OrderStatus = "EXPIRED"
)

// StateTrigger says what moved a room.
type StateTrigger string

const (
	TriggerManual   StateTrigger = "MANUAL"
	TriggerSchedule StateTrigger = "SCHEDULE"
)

// Stable reject reasons stored on rejected orders.
const (
	RejectRoomNotActive      = "ROOM_NOT_ACTIVE"
	RejectUnknownSymbol      = "UNKNOWN_SYMBOL"
	RejectSymbolNotAllowed   = "SYMBOL_NOT_ALLOWED"
	RejectNoPrice            = "NO_PRICE"
	RejectInsufficientFunds  = "INSUFFICIENT_BUYING_POWER"
	RejectInsufficientShares = "INSUFFICIENT_SHARES"
	RejectPositionLimit      = "POSITION_LIMIT"

	// Room rules (BullPen.Rules).
	RejectConcentration = "POSITION_CONCENTRATION"
	RejectBelowMinPrice = "BELOW_MIN_PRICE"
	RejectOrderRate     = "ORDER_RATE_LIMIT"
	RejectTooManyOpen   = "TOO_MANY_OPEN_ORDERS"
)

// User is a person with an account.
type User struct {
	ID           int64     `db:"id"`
	Username     string    `db:"username"`
	DisplayName  string    `db:"display_name"`
	PasswordHash string    `db:"password_hash" json:"-"`
	CreatedAt    time.Time `db:"created_at"`
}

// Session is one sign-in. The tokens issued for it (its first and every
// renewal) are valid while its row exists and until their own expiry:
// signing out deletes it, signing out everywhere deletes every session of
// the user.
type Session struct {
	ID        string    `db:"id"`
	UserID    int64     `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	// AddressHash is the client address the session was started from,
	// hashed (see Config.AddressKey); nil when none was known.
	AddressHash *string `db:"address_hash"`
}

// BullPen is a trade room: one competition.
type BullPen struct {
	ID                int64           `db:"id"`
	Name              string          `db:"name"`
	Description       string          `db:"description"`
	OwnerID           int64           `db:"owner_id"`
	State             RoomState       `db:"state"`
	StartsAt          time.Time       `db:"starts_at"`
	EndsAt            time.Time       `db:"ends_at"`
	StartingCash      decimal.Decimal `db:"starting_cash"`
	Commission        decimal.Decimal `db:"commission"`
	AllowShortSelling bool            `db:"allow_short_selling"`
	AllowedSymbols    []string        `db:"-"`
	MaxParticipants   *int            `db:"max_participants"`
	Visibility        Visibility      `db:"visibility"`
	TradeVisibility   TradeVisibility `db:"trade_visibility"`
	InviteCode        string          `db:"invite_code"`
	RankBy            RankMetric      `db:"rank_by"`
	LastSequence      int64           `db:"last_sequence"`
	CreatedAt         time.Time       `db:"created_at"`
	Rules
	// Execution is how its orders fill.
	Execution
	CarryingCosts
	// TradingHours are when the room's market is open; nil: always.
	TradingHours *TradingHours `db:"-"`
	// AfterHours is what an order placed while the market is closed
	// does (QUEUE when unset).
	AfterHours AfterHoursPolicy `db:"after_hours"`
	// TeamSize is the most members a team of the room may have; nil: the
	// room has no teams. TeamScoring is how its teams are scored (see
	// RankTeams; AVERAGE when unset).
	TeamSize    *int        `db:"team_size"`
	TeamScoring TeamScoring `db:"team_scoring"`
}

// Rules are a room's fair-play limits, set at creation; nil means no
// limit. See Service.PlaceOrder for when each is checked.
type Rules struct {
	// MaxPositionPercent (0 < x <= 100) caps the share of portfolio value
	// one symbol may take after a buy.
	MaxPositionPercent *decimal.Decimal `db:"max_position_percent" json:"maxPositionPercent,omitempty"`
	// MinSharePrice is the lowest price a share may be bought at.
	MinSharePrice *decimal.Decimal `db:"min_share_price" json:"minSharePrice,omitempty"`
	// MaxOrdersPerMinute bounds the orders one participant places in any
	// minute.
	MaxOrdersPerMinute *int `db:"max_orders_per_minute" json:"maxOrdersPerMinute,omitempty"`
	// MaxOpenOrders bounds the OPEN orders of one participant.
	MaxOpenOrders *int `db:"max_open_orders" json:"maxOpenOrders,omitempty"`
	// MaintenanceMarginPercent (0 < x <= 100) is the share of the market
	// value of a participant's shorts that their margin equity must stay
	// above; below it their positions are liquidated (see
	// Service.marginCall). Nil: no forced liquidation.
	MaintenanceMarginPercent *decimal.Decimal `db:"maintenance_margin_percent" json:"maintenanceMarginPercent,omitempty"`
	// MaxQuoteAgeSeconds is the oldest a price may be for an order to be
	// priced against it at placement (STALE_PRICE); nil: any age.
	MaxQuoteAgeSeconds *int `db:"max_quote_age_seconds" json:"maxQuoteAgeSeconds,omitempty"`
	// RequireNote refuses an order without a note (BAD_USER_INPUT naming
	// note; nothing is stored).
	RequireNote bool `db:"require_note" json:"requireNote,omitempty"`
}

// CarryingCosts are what a room charges and pays for holding money, set at
// creation: annual percents, accrued once a day at 00:00 UTC (see
// Service.AccrueDue); nil means none.
type CarryingCosts struct {
	// CashInterestPercent (0 <= x <= 100) is earned on positive cash.
	CashInterestPercent *decimal.Decimal `db:"cash_interest_percent" json:"cashInterestPercent,omitempty"`
	// MarginInterestPercent (0 <= x <= 100) is paid on negative cash.
	MarginInterestPercent *decimal.Decimal `db:"margin_interest_percent" json:"marginInterestPercent,omitempty"`
	// BorrowFeePercent (0 <= x <= 100) is paid on the market value of
	// short positions at their last price.
	BorrowFeePercent *decimal.Decimal `db:"borrow_fee_percent" json:"borrowFeePercent,omitempty"`
}

// Any reports whether the room has a carrying cost at all.
func (c CarryingCosts) Any() bool {
	return c.CashInterestPercent != nil || c.MarginInterestPercent != nil || c.BorrowFeePercent != nil
}

// Participant is a user's seat in a room: their cash and positions.
type Participant struct {
	ID        int64           `db:"id"`
	BullPenID int64           `db:"bull_pen_id"`
	UserID    int64           `db:"user_id"`
	Cash      decimal.Decimal `db:"cash"`
	JoinedAt  time.Time       `db:"joined_at"`
	// RemovedAt and RemovedReason are set when the room's owner ended the
	// seat (see Service.RemoveParticipant); nil while they play.
	RemovedAt     *time.Time `db:"removed_at"`
	RemovedReason *string    `db:"removed_reason"`
}

// Position is a participant's holding of one symbol. Quantity is negative
// for a short. CostBasis is the exact cost of the shares still open (always
// >= 0); RealizedPnL accumulates the profit of every closed share.
type Position struct {
	ParticipantID int64           `db:"participant_id" json:"participantId"`
	Symbol        string          `db:"symbol" json:"symbol"`
	Quantity      int64           `db:"quantity" json:"quantity"`
	CostBasis     decimal.Decimal `db:"cost_basis" json:"costBasis"`
	RealizedPnL   decimal.Decimal `db:"realized_pnl" json:"realizedPnl"`
	UpdatedAt     time.Time       `db:"updated_at" json:"updatedAt"`
	// MarketPrice is the last known price (not stored with the row).
	MarketPrice decimal.Decimal `db:"-" json:"marketPrice"`
}

// Order is a participant's instruction to trade.
type Order struct {
	ID             int64            `db:"id" json:"id"`
	BullPenID      int64            `db:"bull_pen_id" json:"bullPenId"`
	ParticipantID  int64            `db:"participant_id" json:"participantId"`
	ClientOrderID  *string          `db:"client_order_id" json:"clientOrderId,omitempty"`
	Symbol         string           `db:"symbol" json:"symbol"`
	Side           Side             `db:"side" json:"side"`
	Type           OrderType        `db:"type" json:"type"`
	Quantity       int64            `db:"quantity" json:"quantity"`
	LimitPrice     *decimal.Decimal `db:"limit_price" json:"limitPrice,omitempty"`
	StopPrice      *decimal.Decimal `db:"stop_price" json:"stopPrice,omitempty"`
	Triggered      bool             `db:"triggered" json:"triggered"`
	Status         OrderStatus      `db:"status" json:"status"`
	FilledQuantity int64            `db:"filled_quantity" json:"filledQuantity"`
	FilledPrice    *decimal.Decimal `db:"filled_price" json:"filledPrice,omitempty"`
	Commission     decimal.Decimal  `db:"commission" json:"commission"`
	Reserved       decimal.Decimal  `db:"reserved" json:"-"`
	RejectReason   *string          `db:"reject_reason" json:"rejectReason,omitempty"`
	RejectMessage  *string          `db:"reject_message" json:"rejectMessage,omitempty"`
	CreatedAt      time.Time        `db:"created_at" json:"createdAt"`
	UpdatedAt      time.Time        `db:"updated_at" json:"updatedAt"`
	FilledAt       *time.Time       `db:"filled_at" json:"filledAt,omitempty"`
	// TrailAmount or TrailPercent (exactly one, TRAILING_STOP only) is how
	// far StopPrice trails the best price seen since the order was placed.
	TrailAmount  *decimal.Decimal `db:"trail_amount" json:"trailAmount,omitempty"`
	TrailPercent *decimal.Decimal `db:"trail_percent" json:"trailPercent,omitempty"`
	// ExpiresAt is when an OPEN order becomes EXPIRED.
	ExpiresAt *time.Time `db:"expires_at" json:"expiresAt,omitempty"`
	// Note is the participant's journal entry for this order (trimmed, at
	// most MaxNoteLength characters); nil: none. It is seen as the order
	// is.
	Note *string `db:"note" json:"note,omitempty"`
	// Fills are its fills so far, oldest first, when they were read with
	// it (an order in an event carries them); nil: not read.
	Fills []Fill `db:"-" json:"fills"`
}

// Working reports whether o still waits to fill: OPEN, or PARTIALLY_FILLED
// with shares left. A working order can be cancelled, expire, and holds
// back what its remaining shares may need.
func (o *Order) Working() bool {
	return o.Status == OrderStatusOpen || o.Status == OrderStatusPartiallyFilled
}

// Remaining is the shares of o not filled yet.
func (o *Order) Remaining() int64 { return o.Quantity - o.FilledQuantity }

// Fill is one execution of (part of) an order, with what its price is
// made of: exactly, Price = MidPrice + (SpreadCost + SlippageCost +
// ImpactCost) / Quantity for a buy, MidPrice - that for a sell. The costs
// are for the whole quantity; Commission is the order's commission, paid
// on its first fill (zero on the others).
type Fill struct {
	ID           int64           `db:"id" json:"id"`
	OrderID      int64           `db:"order_id" json:"orderId"`
	At           time.Time       `db:"at" json:"at"`
	Quantity     int64           `db:"quantity" json:"quantity"`
	Price        decimal.Decimal `db:"price" json:"price"`
	MidPrice     decimal.Decimal `db:"mid_price" json:"midPrice"`
	SpreadCost   decimal.Decimal `db:"spread_cost" json:"spreadCost"`
	SlippageCost decimal.Decimal `db:"slippage_cost" json:"slippageCost"`
	ImpactCost   decimal.Decimal `db:"impact_cost" json:"impactCost"`
	Commission   decimal.Decimal `db:"commission" json:"commission"`
	// QuoteAt is the time of the quote the fill was priced against; nil
	// for a forced fill (a liquidation, at the position's last price) and
	// for fills stored before it was recorded. The integrity report reads
	// it (STALE_PRICE_TRADING); neither the API nor the events carry it.
	QuoteAt *time.Time `db:"quote_at" json:"-"`
}

// AverageFillPrice is the quantity-weighted mean price of fills, rounded
// half-even to 4 decimal places; nil without fills.
func AverageFillPrice(fills []Fill) *decimal.Decimal {
	var n int64
	sum := decimal.Zero
	for _, f := range fills {
		n += f.Quantity
		sum = sum.Add(f.Price.Mul(decimal.NewFromInt(f.Quantity)))
	}
	if n == 0 {
		return nil
	}
	avg := divRoundHalfEven(sum, decimal.NewFromInt(n), 4)
	return &avg
}

// LeaderboardSnapshot is the ranking of a room at one moment.
type LeaderboardSnapshot struct {
	ID        int64              `db:"id" json:"id"`
	BullPenID int64              `db:"bull_pen_id" json:"bullPenId"`
	TakenAt   time.Time          `db:"taken_at" json:"takenAt"`
	Final     bool               `db:"final" json:"final"`
	Entries   []LeaderboardEntry `db:"-" json:"entries"`
	// Teams are the team standings ranked from Entries (see RankTeams):
	// nil for a room without teams.
	Teams []TeamStanding `db:"-" json:"teams"`
}

// LeaderboardEntry is one participant's line in a snapshot.
type LeaderboardEntry struct {
	Rank           int             `db:"rank" json:"rank"`
	ParticipantID  int64           `db:"participant_id" json:"participantId"`
	UserID         int64           `db:"user_id" json:"userId"`
	PortfolioValue decimal.Decimal `db:"portfolio_value" json:"portfolioValue"`
	Cash           decimal.Decimal `db:"cash" json:"cash"`
	TotalReturn    decimal.Decimal `db:"total_return" json:"totalReturn"`
	ReturnPercent  decimal.Decimal `db:"return_percent" json:"returnPercent"`
	// Metrics are stored with the entry, so a replay shows what was shown
	// then (TotalReturn and ReturnPercent repeat the fields above).
	Metrics PerformanceMetrics `db:"-" json:"metrics"`
	// Track is the participant's history after this snapshot (what the
	// snapshot stores for the next one); not part of the entry shown.
	Track Track `db:"-" json:"-"`
}

// Quote is the last price of a symbol, with the market around it: the
// best bid and ask (Bid <= Price <= Ask) and the shares traded since the
// tick before.
type Quote struct {
	Symbol string          `db:"symbol"`
	Price  decimal.Decimal `db:"price"`
	Bid    decimal.Decimal `db:"bid"`
	Ask    decimal.Decimal `db:"ask"`
	Volume int64           `db:"volume"`
	// Open is the first price of the symbol seen by this market (the
	// reference for change and changePercent).
	Open decimal.Decimal `db:"open"`
	At   time.Time       `db:"at"`
}
