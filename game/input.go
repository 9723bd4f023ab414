package game

import (
	"time"

	"github.com/shopspring/decimal"
)

// CreateBullPenInput is what a host gives to open a room.
type CreateBullPenInput struct {
	Name              string           `json:"name"`
	Description       *string          `json:"description"`
	StartsAt          *time.Time       `json:"startsAt"`
	EndsAt            time.Time        `json:"endsAt"`
	StartingCash      *decimal.Decimal `json:"startingCash"`
	Commission        *decimal.Decimal `json:"commission"`
	AllowShortSelling *bool            `json:"allowShortSelling"`
	AllowedSymbols    []string         `json:"allowedSymbols"`
	MaxParticipants   *int             `json:"maxParticipants"`
	Visibility        *Visibility      `json:"visibility"`
	TradeVisibility   *TradeVisibility `json:"tradeVisibility"`
	// Room rules (see Rules); nil: no limit.
	MaxPositionPercent *decimal.Decimal `json:"maxPositionPercent"`
	MinSharePrice      *decimal.Decimal `json:"minSharePrice"`
	MaxOrdersPerMinute *int             `json:"maxOrdersPerMinute"`
	MaxOpenOrders      *int             `json:"maxOpenOrders"`
	// MaintenanceMarginPercent turns on forced liquidation; nil: none.
	MaintenanceMarginPercent *decimal.Decimal `json:"maintenanceMarginPercent"`
	// Execution is how orders fill; nil: FRICTIONLESS.
	Execution *ExecutionInput `json:"execution"`
	// Carrying costs (see CarryingCosts), annual percent; nil: none.
	CashInterestPercent   *decimal.Decimal `json:"cashInterestPercent"`
	MarginInterestPercent *decimal.Decimal `json:"marginInterestPercent"`
	BorrowFeePercent      *decimal.Decimal `json:"borrowFeePercent"`
	// Trading hours (nil: always open), what orders do outside them, and
	// the oldest price an order may be priced against (nil: any).
	TradingHours       *TradingHoursInput `json:"tradingHours"`
	AfterHours         *AfterHoursPolicy  `json:"afterHours"`
	MaxQuoteAgeSeconds *int               `json:"maxQuoteAgeSeconds"`
	// RequireNote refuses orders without a note; nil: false.
	RequireNote *bool `json:"requireNote"`
	// Assignments are the room's checks (see Assignment); nil: none.
	Assignments []AssignmentInput `json:"assignments"`
	// TeamSize turns teams on (MinTeamSize to MaxTeamSize members a
	// team); nil: no teams. TeamScoring is how they are scored; nil:
	// AVERAGE.
	TeamSize    *int         `json:"teamSize"`
	TeamScoring *TeamScoring `json:"teamScoring"`

	RankBy *RankMetric `json:"rankBy"`
}

// PlaceOrderInput is a participant's order as sent.
type PlaceOrderInput struct {
	BullPenID     int64            `json:"bullPenId"`
	Symbol        string           `json:"symbol"`
	Side          Side             `json:"side"`
	Type          *OrderType       `json:"type"`
	Quantity      int64            `json:"quantity"`
	LimitPrice    *decimal.Decimal `json:"limitPrice"`
	StopPrice     *decimal.Decimal `json:"stopPrice"`
	ClientOrderID *string          `json:"clientOrderId"`
	TrailAmount   *decimal.Decimal `json:"trailAmount"`
	TrailPercent  *decimal.Decimal `json:"trailPercent"`
	ExpiresAt     *time.Time       `json:"expiresAt"`
	// Note is the trade journal's entry (see Order.Note).
	Note *string `json:"note"`
}
