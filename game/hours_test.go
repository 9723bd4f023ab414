package game_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// nyse is New York's regular session: 09:30-16:00, Monday to Friday.
func nyse() *game.TradingHoursInput {
	return &game.TradingHoursInput{TimeZone: "America/New_York", Open: "09:30", Close: "16:00",
		Days: []game.Weekday{game.Monday, game.Tuesday, game.Wednesday, game.Thursday, game.Friday}}
}

func timeOrNil(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.UTC().Format(time.RFC3339)
}

// TestTradingHoursAcrossDaylightSaving: New York's session stays
// 09:30-16:00 local time on both sides of a daylight-saving change; its
// UTC instants move by an hour. 2026-03-08 (a Sunday) moves clocks
// forward, so Friday's session is 14:30-21:00 UTC (EST) and Monday's
// 13:30-20:00 UTC (EDT); 2026-11-01 moves them back. Weekends are
// closed, the open is inclusive and the close exclusive.
func TestTradingHoursAcrossDaylightSaving(t *testing.T) {
	h := game.TradingHours{TimeZone: "America/New_York", Open: "09:30", Close: "16:00",
		Days: []game.Weekday{game.Monday, game.Tuesday, game.Wednesday, game.Thursday, game.Friday}}
	tests := []struct {
		at              string
		open            bool
		nextOpen, close string
	}{
		// Spring forward.
		{"2026-03-06T14:29:59Z", false, "2026-03-06T14:30:00Z", "2026-03-06T21:00:00Z"}, // Fri 09:29:59 EST
		{"2026-03-06T14:30:00Z", true, "2026-03-09T13:30:00Z", "2026-03-06T21:00:00Z"},  // Fri 09:30 EST: open
		{"2026-03-06T20:59:59Z", true, "2026-03-09T13:30:00Z", "2026-03-06T21:00:00Z"},
		{"2026-03-06T21:00:00Z", false, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z"}, // Fri 16:00 EST: closed
		{"2026-03-07T15:00:00Z", false, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z"}, // Saturday
		{"2026-03-08T14:00:00Z", false, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z"}, // Sunday, after the change
		{"2026-03-09T13:29:59Z", false, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z"}, // Mon 09:29:59 EDT
		{"2026-03-09T13:30:00Z", true, "2026-03-10T13:30:00Z", "2026-03-09T20:00:00Z"},  // Mon 09:30 EDT
		{"2026-03-09T14:30:00Z", true, "2026-03-10T13:30:00Z", "2026-03-09T20:00:00Z"},  // 10:30 EDT
		// Fall back.
		{"2026-10-30T13:30:00Z", true, "2026-11-02T14:30:00Z", "2026-10-30T20:00:00Z"},  // Fri 09:30 EDT
		{"2026-10-30T20:00:00Z", false, "2026-11-02T14:30:00Z", "2026-11-02T21:00:00Z"}, // Fri 16:00 EDT
		{"2026-11-02T13:30:00Z", false, "2026-11-02T14:30:00Z", "2026-11-02T21:00:00Z"}, // Mon 08:30 EST
		{"2026-11-02T20:30:00Z", true, "2026-11-03T14:30:00Z", "2026-11-02T21:00:00Z"},  // Mon 15:30 EST
		{"2026-11-02T21:00:00Z", false, "2026-11-03T14:30:00Z", "2026-11-03T21:00:00Z"}, // Mon 16:00 EST
	}
	for _, tt := range tests {
		st := h.At(utc(tt.at))
		if st.IsOpen != tt.open || timeOrNil(st.NextOpen) != tt.nextOpen || timeOrNil(st.NextClose) != tt.close {
			t.Errorf("at %s: isOpen %v nextOpen %s nextClose %s, want %v %s %s", tt.at,
				st.IsOpen, timeOrNil(st.NextOpen), timeOrNil(st.NextClose), tt.open, tt.nextOpen, tt.close)
		}
	}
	// Every session of a year opens at 09:30 and closes at 16:00 New York
	// time, whatever its UTC offset, and a trading day is never skipped.
	loc, _ := time.LoadLocation("America/New_York")
	at, sessions := utc("2026-01-01T00:00:00Z"), 0
	for {
		st := h.At(at)
		if st.NextOpen.In(loc).Year() > 2026 {
			break
		}
		if st.IsOpen {
			t.Fatalf("at %s, just after a close or at the start, open", at)
		}
		open, closing := st.NextOpen.In(loc), st.NextClose.In(loc)
		if open.Format("15:04") != "09:30" || closing.Format("15:04") != "16:00" || open.YearDay() != closing.YearDay() ||
			open.Weekday() == time.Saturday || open.Weekday() == time.Sunday {
			t.Fatalf("session %s - %s", open, closing)
		}
		if next := h.At(*st.NextOpen); !next.IsOpen || !next.NextClose.Equal(*st.NextClose) {
			t.Fatalf("at its open %s: %+v", open, next)
		}
		at, sessions = *st.NextClose, sessions+1
	}
	if sessions != 261 { // the weekdays of 2026
		t.Errorf("%d sessions in 2026, want 261", sessions)
	}
}

// TestTradingHoursValidation: each bad setting is a BAD_USER_INPUT error
// naming its field, and nothing is stored.
func TestTradingHoursValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	with := func(fn func(*game.TradingHoursInput)) func(*game.CreateBullPenInput) {
		return func(in *game.CreateBullPenInput) {
			in.TradingHours = nyse()
			fn(in.TradingHours)
		}
	}
	assertCreateRefused(t, h, owner, []createCase{
		{"UnknownZone", with(func(in *game.TradingHoursInput) { in.TimeZone = "America/Gotham" }), "tradingHours.timeZone"},
		{"EmptyZone", with(func(in *game.TradingHoursInput) { in.TimeZone = "" }), "tradingHours.timeZone"},
		{"LocalZone", with(func(in *game.TradingHoursInput) { in.TimeZone = "Local" }), "tradingHours.timeZone"},
		{"OffsetNotZone", with(func(in *game.TradingHoursInput) { in.TimeZone = "+05:00" }), "tradingHours.timeZone"},
		{"OpenNotHHMM", with(func(in *game.TradingHoursInput) { in.Open = "9:30" }), "tradingHours.open"},
		{"OpenOutOfRange", with(func(in *game.TradingHoursInput) { in.Open = "24:00" }), "tradingHours.open"},
		{"CloseNotATime", with(func(in *game.TradingHoursInput) { in.Close = "4pm" }), "tradingHours.close"},
		{"CloseBeforeOpen", with(func(in *game.TradingHoursInput) { in.Open, in.Close = "16:00", "09:30" }), "tradingHours.close"},
		{"CloseAtOpen", with(func(in *game.TradingHoursInput) { in.Close = "09:30" }), "tradingHours.close"},
		{"AcrossMidnight", with(func(in *game.TradingHoursInput) { in.Open, in.Close = "22:00", "02:00" }), "tradingHours.close"},
		{"NoDays", with(func(in *game.TradingHoursInput) { in.Days = []game.Weekday{} }), "tradingHours.days"},
		{"DayTwice", with(func(in *game.TradingHoursInput) { in.Days = []game.Weekday{game.Monday, game.Friday, game.Monday} }), "tradingHours.days"},
		{"NotADay", with(func(in *game.TradingHoursInput) { in.Days = []game.Weekday{"MONDAY"} }), "tradingHours.days"},
		{"AfterHoursUnknown", func(in *game.CreateBullPenInput) { in.AfterHours = ptr(game.AfterHoursPolicy("HOLD")) }, "afterHours"},
		{"ZeroQuoteAge", func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(0) }, "maxQuoteAgeSeconds"},
		{"NegativeQuoteAge", func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(-60) }, "maxQuoteAgeSeconds"},
		{"QuoteAgeOver30Days", func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(game.MaxQuoteAge + 1) }, "maxQuoteAgeSeconds"},
	})
	_, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10})
	if err != nil || total != 0 {
		t.Errorf("rooms stored: %d, %v", total, err)
	}
	_, err = h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "r", EndsAt: t0.Add(time.Hour), TradingHours: &game.TradingHoursInput{
		TimeZone: "Mars/Olympus", Open: "09:30", Close: "16:00", Days: []game.Weekday{game.Monday}}})
	if err == nil || !strings.Contains(err.Error(), `"Mars/Olympus" is not an IANA time zone`) {
		t.Errorf("error %v should say the zone is unknown", err)
	}
}

// TestTradingHoursStoredAndCloned: the settings are stored and read
// back as given (days in week order), cloned with the room, and a room
// without them is always open with afterHours QUEUE, on both engines.
func TestTradingHoursStoredAndCloned(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.user("owner")
			b := h.room(owner, func(in *game.CreateBullPenInput) {
				in.TradingHours = &game.TradingHoursInput{TimeZone: "Europe/London", Open: "08:00", Close: "16:30",
					Days: []game.Weekday{game.Friday, game.Monday, game.Wednesday}}
				in.AfterHours, in.MaxQuoteAgeSeconds = ptr(game.AfterHoursReject), ptr(90)
			})
			clone, err := h.svc.CloneBullPen(h.ctx, owner, b.ID, nil, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []int64{b.ID, clone.ID} {
				got, err := h.store.BullPen(h.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				th := got.TradingHours
				if th == nil || th.TimeZone != "Europe/London" || th.Open != "08:00" || th.Close != "16:30" ||
					!slices.Equal(th.Days, []game.Weekday{game.Monday, game.Wednesday, game.Friday}) ||
					got.AfterHours != game.AfterHoursReject || got.MaxQuoteAgeSeconds == nil || *got.MaxQuoteAgeSeconds != 90 {
					t.Errorf("room %d: hours %+v afterHours %s maxQuoteAgeSeconds %v", id, th, got.AfterHours, got.MaxQuoteAgeSeconds)
				}
				// t0 is Monday 2026-03-02 14:30 UTC: 14:30 in London (GMT).
				st := got.MarketStatus(t0)
				if !st.IsOpen || timeOrNil(st.NextClose) != "2026-03-02T16:30:00Z" || timeOrNil(st.NextOpen) != "2026-03-04T08:00:00Z" {
					t.Errorf("room %d at t0: %+v", id, st)
				}
			}
			plain, err := h.store.BullPen(h.ctx, h.room(owner, nil).ID)
			if err != nil || plain.TradingHours != nil || plain.AfterHours != game.AfterHoursQueue || plain.MaxQuoteAgeSeconds != nil ||
				plain.MarketStatus(t0) != nil {
				t.Errorf("a room without hours: %+v %s %v, %v", plain.TradingHours, plain.AfterHours, plain.MaxQuoteAgeSeconds, err)
			}
		})
	}
}

// hoursRoom opens an ACTIVE room on New York hours at t0 (Monday
// 2026-03-02 09:30 EST: the session has just opened) with alice in it.
func hoursRoom(h *harness, policy game.AfterHoursPolicy, fn func(*game.CreateBullPenInput)) (*game.BullPen, *game.User) {
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.TradingHours, in.AfterHours, in.Commission = nyse(), ptr(policy), decp("1")
		in.EndsAt = t0.Add(7 * 24 * time.Hour)
		if fn != nil {
			fn(in)
		}
	}, alice)
	return room, alice
}

// TestAfterHoursQueue: while the market is closed a QUEUE room's orders
// rest OPEN: a MARKET buy holding back quantity × the last price +
// commission, a LIMIT buy that the last price crosses unfilled. Prices
// while closed fill, trigger and trail nothing, and neither does the
// open itself: the first price of the next session fills the queued
// MARKET order at that price and works the others, on both engines. A
// MARKET order placed after the open but before the symbol's first
// price of the session waits for it rather than fill at the last
// session's close.
func TestAfterHoursQueue(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			room, alice := hoursRoom(h, game.AfterHoursQueue, nil)
			h.price("AAPL", "100")
			h.price("MSFT", "50")
			if o := h.order(alice, buy(room.ID, "AAPL", 10)); o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("100")) {
				t.Fatalf("in session: %s", why(o))
			}
			if o := h.order(alice, stop(sell(room.ID, "AAPL", 10), "90")); o.Status != game.OrderStatusOpen {
				t.Fatalf("stop: %s", why(o))
			}
			h.setClock(utc("2026-03-02T21:00:00Z")) // 16:00 EST: closed
			seq := h.lastSeq(room.ID)
			queued := h.order(alice, buy(room.ID, "AAPL", 5))
			if queued.Status != game.OrderStatusOpen || queued.Type != game.OrderTypeMarket {
				t.Fatalf("queued market buy: %s", why(queued))
			}
			assertDec(t, "queued market buy holds back", queued.Reserved, "501") // 5 × 100 + 1
			lim := h.order(alice, limit(buy(room.ID, "AAPL", 2), "120"))
			if lim.Status != game.OrderStatusOpen {
				t.Fatalf("limit buy: %s", why(lim))
			}
			if got, want := h.kinds(room.ID, seq), []string{"ORDER:ACCEPTED", "ORDER:ACCEPTED"}; !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			// Prices after the close: nothing fills, the stop below 90
			// does not trigger.
			seq = h.lastSeq(room.ID)
			h.setClock(utc("2026-03-02T22:00:00Z"))
			h.price("AAPL", "80")
			h.setClock(utc("2026-03-03T14:29:59Z")) // Tue 09:29:59
			h.price("AAPL", "104")
			// The open itself, and a price of another symbol, fill nothing.
			h.setClock(utc("2026-03-03T14:30:00Z"))
			h.price("MSFT", "51")
			if got := h.kinds(room.ID, seq); len(got) != 0 {
				t.Fatalf("events before AAPL's first price of the session: %v", got)
			}
			for _, id := range []int64{queued.ID, lim.ID} {
				if o, _ := h.store.Order(h.ctx, id); o.Status != game.OrderStatusOpen || o.Triggered {
					t.Fatalf("order %d before the session's first price: %s", id, why(o))
				}
			}
			st := h.stop(room.ID, alice)
			if st.Triggered {
				t.Fatalf("stop triggered while closed")
			}
			// A MARKET order now, before AAPL's first price of the session:
			// 104 is from before the open, so it waits too.
			waiting := h.order(alice, buy(room.ID, "AAPL", 1))
			if waiting.Status != game.OrderStatusOpen {
				t.Fatalf("market order on the last session's price: %s", why(waiting))
			}
			assertDec(t, "waiting market buy holds back", waiting.Reserved, "105")
			// AAPL's first price of the session works them all at 103.
			h.setClock(utc("2026-03-03T14:30:05Z"))
			h.price("AAPL", "103")
			for _, id := range []int64{queued.ID, lim.ID, waiting.ID} {
				o, _ := h.store.Order(h.ctx, id)
				if o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("103")) || !o.FilledAt.Equal(utc("2026-03-03T14:30:05Z")) || !o.Reserved.IsZero() {
					t.Errorf("order %d at the session's first price: %s", id, why(o))
				}
			}
			if st := h.stop(room.ID, alice); st.Status != game.OrderStatusOpen || st.Triggered {
				t.Errorf("stop at 103: %s triggered %v", st.Status, st.Triggered)
			}
			if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != 18 {
				t.Errorf("AAPL held %d, want 18", pos.Quantity)
			}
			// In session, with the session's own price, a MARKET order
			// fills at once as ever.
			if o := h.order(alice, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("103")) {
				t.Errorf("in session: %s", why(o))
			}
		})
	}
}

// stop is alice's one resting STOP order in room.
func (h *harness) stop(roomID int64, u *game.User) *game.Order {
	h.t.Helper()
	open, err := h.store.OpenOrders(h.ctx, h.participant(roomID, u).ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, o := range open {
		if o.Type == game.OrderTypeStop {
			return o
		}
	}
	h.t.Fatal("no resting stop")
	return nil
}

// TestAfterHoursReject: a REJECT room stores every order placed while
// closed REJECTED, MARKET_CLOSED, with a message naming the next open
// (Monday's, on a Saturday); in session an order that would fill at the
// last session's close is rejected STALE_PRICE; on both engines.
func TestAfterHoursReject(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			room, alice := hoursRoom(h, game.AfterHoursReject, nil)
			h.price("AAPL", "100")
			h.setClock(utc("2026-03-07T15:00:00Z")) // Saturday
			for _, in := range []game.PlaceOrderInput{buy(room.ID, "AAPL", 1), limit(buy(room.ID, "AAPL", 1), "90"), sell(room.ID, "AAPL", 1)} {
				seq := h.lastSeq(room.ID)
				o := h.order(alice, in)
				want := "the market of bull pen " + itoa(room.ID) + " is closed (open 09:30-16:00 America/New_York, MON TUE WED THU FRI): it opens next at 2026-03-09T13:30:00Z"
				if o.Status != game.OrderStatusRejected || o.RejectReason == nil || *o.RejectReason != game.RejectMarketClosed || *o.RejectMessage != want {
					t.Errorf("%s %s while closed: %s", in.Side, *in.Type, why(o))
				}
				if got := h.kinds(room.ID, seq); !slices.Equal(got, []string{"ORDER:REJECTED"}) {
					t.Errorf("events %v", got)
				}
			}
			h.setClock(utc("2026-03-09T13:31:00Z")) // Monday 09:31 EDT: open, no price yet
			o := h.order(alice, buy(room.ID, "AAPL", 1))
			if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectStalePrice ||
				*o.RejectMessage != "AAPL MARKET: the last price is from 2026-03-02T14:30:00Z, before this session opened at 2026-03-09T13:30:00Z: the session has no price yet" {
				t.Errorf("market order on last week's price: %s", why(o))
			}
			// A limit the old price does not cross rests as ever.
			if o := h.order(alice, limit(buy(room.ID, "AAPL", 1), "90")); o.Status != game.OrderStatusOpen {
				t.Errorf("limit below: %s", why(o))
			}
			h.price("AAPL", "101")
			if o := h.order(alice, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("101")) {
				t.Errorf("after the session's first price: %s", why(o))
			}
		})
	}
}

// TestMaxQuoteAgeSeconds: an order that would fill or trigger against a
// price older than maxQuoteAgeSeconds, or a trailing stop that would
// trail from it, is stored REJECTED, STALE_PRICE; at exactly that age it
// is not. An order the stale price does not reach rests, and the next
// price (fresh by definition) works it. On both engines.
func TestMaxQuoteAgeSeconds(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(60) }, alice)
			h.price("AAPL", "100")
			h.clock.Advance(60 * time.Second)
			if o := h.order(alice, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled {
				t.Fatalf("at 60 s: %s", why(o))
			}
			h.clock.Advance(time.Second)
			want := "maxQuoteAgeSeconds is 60 in bull pen " + itoa(room.ID) + ": the last price is from 2026-03-02T14:30:00Z, 1m1s old"
			for _, in := range []game.PlaceOrderInput{
				buy(room.ID, "AAPL", 1),
				limit(buy(room.ID, "AAPL", 1), "100"),
				stop(sell(room.ID, "AAPL", 1), "100"),
				{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideSell, Type: ptr(game.OrderTypeTrailingStop), Quantity: 1, TrailAmount: decp("5")},
			} {
				seq := h.lastSeq(room.ID)
				o := h.order(alice, in)
				if o.Status != game.OrderStatusRejected || *o.RejectReason != game.RejectStalePrice || !strings.HasSuffix(*o.RejectMessage, want) {
					t.Errorf("%s %s at 61 s: %s", in.Side, o.Type, why(o))
				}
				if got := h.kinds(room.ID, seq); !slices.Equal(got, []string{"ORDER:REJECTED"}) {
					t.Errorf("events %v", got)
				}
			}
			rest := h.order(alice, limit(buy(room.ID, "AAPL", 1), "99"))
			if rest.Status != game.OrderStatusOpen {
				t.Fatalf("limit the stale price does not reach: %s", why(rest))
			}
			h.price("AAPL", "98")
			if o, _ := h.store.Order(h.ctx, rest.ID); o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("98")) {
				t.Errorf("resting limit on a fresh price: %s", why(o))
			}
			if o := h.order(alice, buy(room.ID, "AAPL", 1)); o.Status != game.OrderStatusFilled {
				t.Errorf("on the fresh price: %s", why(o))
			}
		})
	}
}

// TestStaleQuoteOnResume: a room resumed after a pause works its resting
// orders only against stored prices that are fresh: a price older than
// maxQuoteAgeSeconds leaves the order resting until the next price.
func TestStaleQuoteOnResume(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.MaxQuoteAgeSeconds = ptr(60) }, alice)
	h.price("AAPL", "100")
	rest := h.order(alice, limit(buy(room.ID, "AAPL", 1), "95"))
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomPaused); err != nil {
		t.Fatal(err)
	}
	h.price("AAPL", "90") // crosses it while paused
	h.clock.Advance(2 * time.Minute)
	if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomActive); err != nil {
		t.Fatal(err)
	}
	if o, _ := h.store.Order(h.ctx, rest.ID); o.Status != game.OrderStatusOpen {
		t.Fatalf("resumed on a 2-minute-old price: %s", why(o))
	}
	h.price("AAPL", "94")
	if o, _ := h.store.Order(h.ctx, rest.ID); o.Status != game.OrderStatusFilled || !o.FilledPrice.Equal(dec("94")) {
		t.Errorf("on the next price: %s", why(o))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// setClock moves the fake clock forward to at.
func (h *harness) setClock(at time.Time) {
	h.t.Helper()
	if at.Before(h.clock.Now()) {
		h.t.Fatalf("clock at %s cannot go back to %s", h.clock.Now(), at)
	}
	h.clock.Advance(at.Sub(h.clock.Now()))
}

// TestNoMarginCallWhileClosed: a price after the close that takes a
// short under its maintenance margin liquidates nothing; the symbol's
// first price of the next session makes the call.
func TestNoMarginCallWhileClosed(t *testing.T) {
	h := newHarness(t)
	room, alice := hoursRoom(h, game.AfterHoursQueue, func(in *game.CreateBullPenInput) {
		in.StartingCash, in.AllowShortSelling, in.MaintenanceMarginPercent = decp("10000"), ptr(true), decp("25")
	})
	h.price("AAPL", "100")
	if o := h.order(alice, sell(room.ID, "AAPL", 100)); o.Status != game.OrderStatusFilled {
		t.Fatalf("short: %s", why(o))
	}
	h.setClock(utc("2026-03-02T22:00:00Z")) // after the close
	seq := h.lastSeq(room.ID)
	h.price("AAPL", "200") // cash 19,999 - 20,000 < 25% of 20,000
	if got := h.kinds(room.ID, seq); len(got) != 0 {
		t.Fatalf("events after the close: %v", got)
	}
	h.setClock(utc("2026-03-03T14:30:01Z"))
	h.price("AAPL", "199")
	if got := h.countLiquidations(room.ID); len(got) != 1 {
		t.Errorf("liquidations at the session's first price: %v, want one", got)
	}
	if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != 0 {
		t.Errorf("AAPL %d after the margin call, want 0", pos.Quantity)
	}
}
