package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestTradingHoursOverGraphQL plays trading hours as a client sees them,
// on both engines: a bad zone or a close before the open is refused
// naming the field; BullPen.tradingHours reads back with isOpen,
// nextOpen and nextClose at the server's clock (t0 is Monday 09:30 in
// New York, the open); after the close a REJECT room stores a MARKET
// order REJECTED, MARKET_CLOSED, naming the next open, while a QUEUE
// room rests it OPEN and fills it at the first price of the next
// session.
func TestTradingHoursOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playHours(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

const hoursFields = `id afterHours maxQuoteAgeSeconds tradingHours { timeZone open close days isOpen nextOpen nextClose }`

type hoursRoom struct {
	ID                 string
	AfterHours         string
	MaxQuoteAgeSeconds *int
	TradingHours       *struct {
		TimeZone, Open, Close string
		Days                  []string
		IsOpen                bool
		NextOpen, NextClose   *string
	}
}

func playHours(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	create := `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { ` + hoursFields + ` } }`
	in := func(policy string, hours map[string]any) map[string]any {
		return map[string]any{"in": map[string]any{"name": "Hours " + policy, "endsAt": fmtTime(t0.Add(48 * time.Hour)),
			"tradingHours": hours, "afterHours": policy, "maxQuoteAgeSeconds": 86400}}
	}
	nyse := func() map[string]any {
		return map[string]any{"timeZone": "America/New_York", "open": "09:30", "close": "16:00", "days": []string{"MON", "TUE", "WED", "THU", "FRI"}}
	}
	for field, hours := range map[string]map[string]any{
		"tradingHours.timeZone": func() map[string]any { h := nyse(); h["timeZone"] = "Nowhere/Town"; return h }(),
		"tradingHours.close":    func() map[string]any { h := nyse(); h["close"] = "09:00"; return h }(),
		"tradingHours.days":     func() map[string]any { h := nyse(); h["days"] = []string{}; return h }(),
	} {
		e := ts.fails(owner, create, in("QUEUE", hours), game.EINVALID)
		if e.Extensions["field"] != field {
			t.Errorf("error %q (field %v) should name %s", e.Message, e.Extensions["field"], field)
		}
	}
	rooms := map[string]hoursRoom{}
	for _, policy := range []string{"REJECT", "QUEUE"} {
		var out struct{ CreateBullPen hoursRoom }
		ts.must(owner, create, in(policy, nyse()), &out)
		r := out.CreateBullPen
		h := r.TradingHours
		if r.AfterHours != policy || r.MaxQuoteAgeSeconds == nil || *r.MaxQuoteAgeSeconds != 86400 || h == nil ||
			h.TimeZone != "America/New_York" || h.Open != "09:30" || h.Close != "16:00" || strings.Join(h.Days, " ") != "MON TUE WED THU FRI" ||
			!h.IsOpen || h.NextClose == nil || *h.NextClose != "2026-03-02T21:00:00.000Z" || h.NextOpen == nil || *h.NextOpen != "2026-03-03T14:30:00.000Z" {
			t.Fatalf("room read back: %+v hours %+v", r, h)
		}
		ts.must(alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": r.ID}, nil)
		rooms[policy] = r
	}
	var plain struct{ CreateBullPen hoursRoom }
	ts.must(owner, create, map[string]any{"in": map[string]any{"name": "Always", "endsAt": fmtTime(t0.Add(time.Hour))}}, &plain)
	if p := plain.CreateBullPen; p.TradingHours != nil || p.AfterHours != "QUEUE" || p.MaxQuoteAgeSeconds != nil {
		t.Errorf("a room without hours: %+v", p)
	}
	type placed struct {
		ID, Status    string
		RejectReason  *string
		RejectMessage *string
	}
	place := func(room string) placed {
		var out struct{ PlaceOrder placed }
		ts.must(alice, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status rejectReason rejectMessage } }`,
			map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": 10}}, &out)
		return out.PlaceOrder
	}
	if o := place(rooms["QUEUE"].ID); o.Status != "FILLED" {
		t.Fatalf("in session: %+v", o)
	}

	ts.clock.Advance(7 * time.Hour) // 21:30 UTC, 16:30 in New York
	var read struct{ BullPen hoursRoom }
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { `+hoursFields+` } }`, map[string]any{"id": rooms["REJECT"].ID}, &read)
	if h := read.BullPen.TradingHours; h == nil || h.IsOpen || h.NextOpen == nil || *h.NextOpen != "2026-03-03T14:30:00.000Z" ||
		h.NextClose == nil || *h.NextClose != "2026-03-03T21:00:00.000Z" {
		t.Errorf("after the close: %+v", h)
	}
	if o := place(rooms["REJECT"].ID); o.Status != "REJECTED" || o.RejectReason == nil || *o.RejectReason != game.RejectMarketClosed ||
		!strings.HasSuffix(*o.RejectMessage, "it opens next at 2026-03-03T14:30:00Z") {
		t.Errorf("REJECT room after the close: %+v", o)
	}
	queued := place(rooms["QUEUE"].ID)
	if queued.Status != "OPEN" {
		t.Fatalf("QUEUE room after the close: %+v", queued)
	}
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "90") { price } }`, nil, nil) // closed: fills nothing
	ts.clock.Advance(17 * time.Hour)                                                         // Tuesday 09:30 in New York
	status := func() (string, *string) {
		var out struct {
			BullPen struct {
				Orders struct {
					Edges []struct {
						Node struct {
							ID, Status  string
							FilledPrice *string
						}
					}
				}
			}
		}
		ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders { edges { node { id status filledPrice } } } } }`, map[string]any{"id": rooms["QUEUE"].ID}, &out)
		for _, e := range out.BullPen.Orders.Edges {
			if e.Node.ID == queued.ID {
				return e.Node.Status, e.Node.FilledPrice
			}
		}
		t.Fatalf("order %s not listed", queued.ID)
		return "", nil
	}
	if st, _ := status(); st != "OPEN" {
		t.Fatalf("at the open, before its first price: %s", st)
	}
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "102") { price } }`, nil, nil)
	if st, price := status(); st != "FILLED" || !decimalIs(price, "102") {
		t.Errorf("at the session's first price: %s at %v, want FILLED at 102", st, price)
	}
}
