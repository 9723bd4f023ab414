package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// What the program knows, from the answers it got, about what the server
// must have kept.

// orderInput is what was sent to placeOrder.
type orderInput struct {
	room, symbol, side, typ string
	qty                     int64
	limit, stop             *decimal.Decimal
}

func (in orderInput) vars(cid string) map[string]any {
	m := map[string]any{"bullPenId": in.room, "symbol": in.symbol, "side": in.side, "type": in.typ,
		"quantity": in.qty, "clientOrderId": cid}
	if in.limit != nil {
		m["limitPrice"] = in.limit.String()
	}
	if in.stop != nil {
		m["stopPrice"] = in.stop.String()
	}
	return m
}

// orderState is an order as the API shows it.
type orderState struct {
	ID             string           `json:"id"`
	ClientOrderID  *string          `json:"clientOrderId"`
	Symbol         string           `json:"symbol"`
	Side           string           `json:"side"`
	Type           string           `json:"type"`
	Quantity       int64            `json:"quantity"`
	LimitPrice     *decimal.Decimal `json:"limitPrice"`
	StopPrice      *decimal.Decimal `json:"stopPrice"`
	Status         string           `json:"status"`
	FilledQuantity int64            `json:"filledQuantity"`
	FilledPrice    *decimal.Decimal `json:"filledPrice"`
	Commission     decimal.Decimal  `json:"commission"`
	RejectReason   *string          `json:"rejectReason"`
	CreatedAt      string           `json:"createdAt"`
	FilledAt       *string          `json:"filledAt"`
	Participant    struct {
		ID string `json:"id"`
	} `json:"participant"`
}

const orderFields = `id clientOrderId symbol side type quantity limitPrice stopPrice status filledQuantity filledPrice
  commission rejectReason createdAt filledAt participant { id }`

// order is one clientOrderId the program sent.
type order struct {
	cid     string
	trader  int
	in      orderInput
	seen    *orderState // the newest state an answer or a check showed; nil while unknown
	pending bool        // sent, and the answer was lost: to be sent again
	kept    bool        // found in the database by a check
}

func decEq(a, b *decimal.Decimal) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func strEq(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// matchesInput reports how s differs from what was sent, or "".
func (o *order) matchesInput(s *orderState, participant string) string {
	in := o.in
	switch {
	case s.ClientOrderID == nil || *s.ClientOrderID != o.cid:
		return fmt.Sprintf("clientOrderId %v, sent %s", s.ClientOrderID, o.cid)
	case s.Participant.ID != participant:
		return fmt.Sprintf("participant %s, sent by %s", s.Participant.ID, participant)
	case s.Symbol != in.symbol || s.Side != in.side || s.Type != in.typ || s.Quantity != in.qty:
		return fmt.Sprintf("%s %s %s %d, sent %s %s %s %d", s.Side, s.Type, s.Symbol, s.Quantity, in.side, in.typ, in.symbol, in.qty)
	case !decEq(s.LimitPrice, in.limit) || !decEq(s.StopPrice, in.stop):
		return fmt.Sprintf("limit %v stop %v, sent limit %v stop %v", s.LimitPrice, s.StopPrice, in.limit, in.stop)
	}
	return ""
}

// legalMove reports why an order may not go from a to b, or "". OPEN may
// stay or move on to any end; an end never changes.
func legalMove(a, b *orderState) string {
	if a.ID != b.ID {
		return fmt.Sprintf("id %s became %s", a.ID, b.ID)
	}
	if a.CreatedAt != b.CreatedAt {
		return fmt.Sprintf("createdAt %s became %s", a.CreatedAt, b.CreatedAt)
	}
	if a.Status == "OPEN" {
		switch b.Status {
		case "OPEN":
			if b.FilledQuantity != 0 || b.FilledPrice != nil {
				return fmt.Sprintf("OPEN with a fill: %d at %v", b.FilledQuantity, b.FilledPrice)
			}
			return ""
		case "FILLED", "CANCELLED", "EXPIRED", "REJECTED":
			return ""
		}
		return "OPEN became " + b.Status
	}
	if a.Status != b.Status || a.FilledQuantity != b.FilledQuantity || !decEq(a.FilledPrice, b.FilledPrice) ||
		!a.Commission.Equal(b.Commission) || !strEq(a.FilledAt, b.FilledAt) || !strEq(a.RejectReason, b.RejectReason) {
		return fmt.Sprintf("%s (filled %d at %v, commission %s, at %v) became %s (filled %d at %v, commission %s, at %v)",
			a.Status, a.FilledQuantity, a.FilledPrice, a.Commission, ptr(a.FilledAt),
			b.Status, b.FilledQuantity, b.FilledPrice, b.Commission, ptr(b.FilledAt))
	}
	return ""
}

func ptr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// room is a trade room the program follows until it has ended and been
// checked.
type room struct {
	id               string
	startsAt, endsAt time.Time
	participants     map[int]string  // trader -> participant id
	state            string          // as the last check saw it
	movesCounted     int             // scheduled moves counted in the stats
	carryCounted     map[string]bool // participants whose INTEREST lines are counted in the stats

	mu       sync.Mutex
	lastLive int64            // the newest sequence received live
	unproved map[int64]string // live events not yet compared with the log
	liveBad  []string         // what was wrong with the live stream
	subErr   string           // why the subscription ended, if it did
}

// feed records one live event: sequences must follow on from the last.
func (r *room) feed(ev liveEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.seq != r.lastLive+1 {
		what := "a gap"
		if ev.seq <= r.lastLive {
			what = "a duplicate"
		}
		r.liveBad = append(r.liveBad, fmt.Sprintf("room %s: live stream: %s: sequence %d after %d", r.id, what, ev.seq, r.lastLive))
	}
	if ev.seq > r.lastLive {
		r.lastLive = ev.seq
	}
	r.unproved[ev.seq] = ev.raw
}

func (r *room) live() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastLive
}

// interval is a time the server was down.
type interval struct{ from, to time.Time }

func (iv interval) holds(t time.Time) bool { return !t.Before(iv.from) && t.Before(iv.to) }
