package game

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	// The IANA zone database is embedded, so a room's time zone means
	// the same on every machine, whatever it has in /usr/share/zoneinfo
	// (the container image has none).
	_ "time/tzdata"
)

// Weekday is a day a room's market may open on.
type Weekday string

// The days of the week, in the order the API lists them.
const (
	Monday    Weekday = "MON"
	Tuesday   Weekday = "TUE"
	Wednesday Weekday = "WED"
	Thursday  Weekday = "THU"
	Friday    Weekday = "FRI"
	Saturday  Weekday = "SAT"
	Sunday    Weekday = "SUN"
)

var weekdays = []Weekday{Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday}

// weekday is Go's day as a Weekday.
func weekday(d time.Weekday) Weekday { return weekdays[(int(d)+6)%7] }

// AfterHoursPolicy says what an order placed while a room's market is
// closed does.
type AfterHoursPolicy string

const (
	// AfterHoursQueue: the order rests OPEN and is worked from the first
	// price of the next session (a MARKET order fills at it).
	AfterHoursQueue AfterHoursPolicy = "QUEUE"
	// AfterHoursReject: the order is stored REJECTED, MARKET_CLOSED.
	AfterHoursReject AfterHoursPolicy = "REJECT"
)

// Reject reasons of trading hours and stale prices.
const (
	RejectMarketClosed = "MARKET_CLOSED"
	RejectStalePrice   = "STALE_PRICE"
)

// TradingHoursInput is a room's market hours as a host sends them.
type TradingHoursInput struct {
	TimeZone string    `json:"timeZone"`
	Open     string    `json:"open"`
	Close    string    `json:"close"`
	Days     []Weekday `json:"days"`
}

// TradingHours are when a room's market is open: from Open to Close
// (local wall-clock times "HH:MM", Open before Close, so no session
// spans midnight) on each of Days, in the IANA zone TimeZone. A session
// is computed with time.Date in the zone, so it keeps its wall-clock
// times across daylight-saving changes (its UTC instants move instead).
// A wall time a change skips (02:30 on a spring-forward night) is
// normalized as time.Date does: an hour later.
type TradingHours struct {
	TimeZone string    `json:"timeZone"`
	Open     string    `json:"open"`
	Close    string    `json:"close"`
	Days     []Weekday `json:"days"`
}

// MarketStatus is a room's trading hours and where they stand at one
// moment.
type MarketStatus struct {
	TradingHours
	// IsOpen: a session is under way.
	IsOpen bool
	// NextOpen is the start of the next session after the moment (when
	// open: the one after the current session); NextClose is the end of
	// the current session when open, else of the next one.
	NextOpen, NextClose *time.Time
}

func hhmm(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// locations caches zones by name: LoadLocation reads and parses the
// zone's data on every call, and a room's zone is needed on every order.
var locations sync.Map // string -> *time.Location

func location(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// validTradingHours checks in and returns the hours it names, days in
// the order MON..SUN. Errors name the field under tradingHours.
func validTradingHours(in *TradingHoursInput) (*TradingHours, error) {
	zone := strings.TrimSpace(in.TimeZone)
	// "Local" and "" would mean the server's zone, which moves with the
	// machine: only an IANA name (or UTC) is a room's zone.
	if zone == "" || zone == "Local" {
		return nil, Invalid("tradingHours.timeZone", "must be an IANA time zone such as America/New_York or UTC, got %q", in.TimeZone)
	}
	if _, err := location(zone); err != nil {
		return nil, Invalid("tradingHours.timeZone", "%q is not an IANA time zone (such as America/New_York or Europe/London)", in.TimeZone)
	}
	open, ok := hhmm(in.Open)
	if !ok {
		return nil, Invalid("tradingHours.open", "must be a 24-hour time HH:MM such as 09:30, got %q", in.Open)
	}
	closing, ok := hhmm(in.Close)
	if !ok {
		return nil, Invalid("tradingHours.close", "must be a 24-hour time HH:MM such as 16:00, got %q", in.Close)
	}
	if closing <= open {
		return nil, Invalid("tradingHours.close", "must be after open (%s), got %s: a session opens and closes on the same day, none spans midnight", in.Open, in.Close)
	}
	if len(in.Days) == 0 {
		return nil, Invalid("tradingHours.days", "must name at least one day, or leave tradingHours out for a market that is always open")
	}
	days := make([]Weekday, 0, len(in.Days))
	for _, d := range in.Days {
		if !slices.Contains(weekdays, d) {
			return nil, Invalid("tradingHours.days", "%q is not a day (MON, TUE, WED, THU, FRI, SAT, SUN)", string(d))
		}
		if slices.Contains(days, d) {
			return nil, Invalid("tradingHours.days", "names %s twice", d)
		}
		days = append(days, d)
	}
	slices.SortFunc(days, func(a, b Weekday) int { return slices.Index(weekdays, a) - slices.Index(weekdays, b) })
	return &TradingHours{TimeZone: zone, Open: in.Open, Close: in.Close, Days: days}, nil
}

// session is the session on the local date of day (any instant of that
// date in loc), if the market opens that day.
func (h *TradingHours) session(loc *time.Location, y int, m time.Month, d int) (open, close time.Time, ok bool) {
	o, _ := hhmm(h.Open)
	c, _ := hhmm(h.Close)
	open = time.Date(y, m, d, o/60, o%60, 0, 0, loc)
	if !slices.Contains(h.Days, weekday(open.Weekday())) {
		return time.Time{}, time.Time{}, false
	}
	return open, time.Date(y, m, d, c/60, c%60, 0, 0, loc), true
}

// At is where the hours stand at now. Hours that do not load (a zone
// that has gone from the database) are reported closed with no next
// session, rather than open: a room is never opened by a fault.
func (h *TradingHours) At(now time.Time) MarketStatus {
	st := MarketStatus{TradingHours: *h}
	loc, err := location(h.TimeZone)
	if err != nil {
		return st
	}
	local := now.In(loc)
	y, m, d := local.Date()
	// From yesterday (local) on: days is not empty, so a session starts
	// within any 8 days.
	for i := -1; i <= 8; i++ {
		open, closing, ok := h.session(loc, y, m, d+i)
		if !ok || !now.Before(closing) {
			continue
		}
		if !now.Before(open) {
			if !st.IsOpen {
				st.IsOpen = true
				c := closing.UTC()
				st.NextClose = &c
			}
			continue
		}
		o := open.UTC()
		st.NextOpen = &o
		if st.NextClose == nil {
			c := closing.UTC()
			st.NextClose = &c
		}
		return st
	}
	return st
}

// sessionOpen is the start of the session under way at now, if any.
func (h *TradingHours) sessionOpen(now time.Time) (time.Time, bool) {
	loc, err := location(h.TimeZone)
	if err != nil {
		return time.Time{}, false
	}
	y, m, d := now.In(loc).Date()
	// A session opens and closes on one local date: today's or none.
	open, closing, ok := h.session(loc, y, m, d)
	if !ok || now.Before(open) || !now.Before(closing) {
		return time.Time{}, false
	}
	return open.UTC(), true
}

// String is the hours as a message shows them: "09:30-16:00
// America/New_York, MON TUE WED THU FRI".
func (h *TradingHours) String() string {
	days := make([]string, len(h.Days))
	for i, d := range h.Days {
		days[i] = string(d)
	}
	return fmt.Sprintf("%s-%s %s, %s", h.Open, h.Close, h.TimeZone, strings.Join(days, " "))
}

// MarketStatus is where room's market stands at now: nil for a room
// without trading hours (always open).
func (room *BullPen) MarketStatus(now time.Time) *MarketStatus {
	if room.TradingHours == nil {
		return nil
	}
	st := room.TradingHours.At(now)
	return &st
}

// marketOpen reports whether room's market is open at now (always,
// without trading hours).
func marketOpen(room *BullPen, now time.Time) bool {
	return room.TradingHours == nil || room.TradingHours.At(now).IsOpen
}

// afterHours is room's policy, QUEUE when unset.
func afterHours(room *BullPen) AfterHoursPolicy {
	if room.AfterHours == "" {
		return AfterHoursQueue
	}
	return room.AfterHours
}

// fresh reports whether a price stored at at may be traded against at
// now in room: not older than maxQuoteAgeSeconds and, with trading
// hours, not from before the session under way opened (yesterday's
// close is not today's price). why says what is wrong when it may not,
// and stale whether maxQuoteAgeSeconds is what refuses it.
func fresh(room *BullPen, at, now time.Time) (ok, stale bool, why string) {
	if n := room.MaxQuoteAgeSeconds; n != nil && now.Sub(at) > time.Duration(*n)*time.Second {
		return false, true, fmt.Sprintf("maxQuoteAgeSeconds is %d in bull pen %d: the last price is from %s, %s old",
			*n, room.ID, at.UTC().Format(time.RFC3339), now.Sub(at).Truncate(time.Second))
	}
	if room.TradingHours != nil {
		if open, ok := room.TradingHours.sessionOpen(now); ok && at.Before(open) {
			return false, false, fmt.Sprintf("the last price is from %s, before this session opened at %s: the session has no price yet",
				at.UTC().Format(time.RFC3339), open.Format(time.RFC3339))
		}
	}
	return true, false, ""
}

// MaxQuoteAge bounds maxQuoteAgeSeconds: 30 days.
const MaxQuoteAge = 30 * 24 * 60 * 60

// setHours checks the trading-hours settings of in and sets them on b.
func setHours(in CreateBullPenInput, b *BullPen) error {
	b.TradingHours, b.AfterHours = nil, AfterHoursQueue
	if in.TradingHours != nil {
		h, err := validTradingHours(in.TradingHours)
		if err != nil {
			return err
		}
		b.TradingHours = h
	}
	if p := in.AfterHours; p != nil {
		if *p != AfterHoursQueue && *p != AfterHoursReject {
			return Invalid("afterHours", "must be QUEUE or REJECT, got %q", string(*p))
		}
		b.AfterHours = *p
	}
	if n := in.MaxQuoteAgeSeconds; n != nil && (*n < 1 || *n > MaxQuoteAge) {
		return Invalid("maxQuoteAgeSeconds", "must be between 1 and %d (30 days), got %d", MaxQuoteAge, *n)
	}
	b.MaxQuoteAgeSeconds = in.MaxQuoteAgeSeconds
	return nil
}

// checkHours decides what the room's market hours do to a new order at
// now: nothing while the market is open (or the room has no hours);
// while it is closed, a QUEUE room queues the order (it rests and is
// worked from the next session's first price) and a REJECT room rejects
// it, MARKET_CLOSED, naming the next open.
func checkHours(room *BullPen, now time.Time) (queue bool, r *rejection) {
	if room.TradingHours == nil {
		return false, nil
	}
	st := room.TradingHours.At(now)
	if st.IsOpen {
		return false, nil
	}
	if afterHours(room) == AfterHoursQueue {
		return true, nil
	}
	next := "it has no next session"
	if st.NextOpen != nil {
		next = "it opens next at " + st.NextOpen.Format(time.RFC3339)
	}
	return false, &rejection{RejectMarketClosed, fmt.Sprintf("the market of bull pen %d is closed (open %s): %s", room.ID, room.TradingHours, next)}
}

// checkQuoteAge rejects, STALE_PRICE, an order to be priced against q
// at now when q is older than the room's maxQuoteAgeSeconds.
func checkQuoteAge(room *BullPen, o *Order, q *Quote, now time.Time) *rejection {
	if ok, stale, why := fresh(room, q.At, now); !ok && stale {
		return &rejection{RejectStalePrice, fmt.Sprintf("%s %s: %s", o.Symbol, o.Type, why)}
	}
	return nil
}

// checkQuote decides whether a new order that q would fill or trigger
// at now may be: a price older than maxQuoteAgeSeconds rejects it
// (STALE_PRICE); a price from before the session under way opened (the
// last session's close) is not this session's, so a QUEUE room lets the
// order wait for the session's first price (it rests, untriggered) and
// a REJECT room rejects it (STALE_PRICE).
func checkQuote(room *BullPen, o *Order, q *Quote, now time.Time) (wait bool, r *rejection) {
	ok, stale, why := fresh(room, q.At, now)
	switch {
	case ok:
		return false, nil
	case stale || afterHours(room) == AfterHoursReject:
		return false, &rejection{RejectStalePrice, fmt.Sprintf("%s %s: %s", o.Symbol, o.Type, why)}
	}
	return true, nil
}

// freshQuotes are the stored quotes that may work room's resting orders
// now (see fresh): a resting order is never filled against a stale
// price; it waits for the next one.
func (s *Service) freshQuotes(ctx context.Context, tx Tx, room *BullPen) (map[string]*Quote, error) {
	qs, err := tx.Quotes(ctx)
	if err != nil {
		return nil, err
	}
	now := tx.Now()
	m := make(map[string]*Quote, len(qs))
	for _, q := range qs {
		if ok, _, _ := fresh(room, q.At, now); ok {
			m[q.Symbol] = q
		}
	}
	return m, nil
}

// marketClosed reports whether the market of room id is closed at tx's
// time, remembering the answer in closed for the rest of one sweep, so
// that the orders of a closed room are skipped without a savepoint or
// the room's lock each (a queued MARKET order is marketable at every
// price). The room is read without its lock: its trading hours never
// change once it exists, and work checks again under the lock. A room
// that cannot be read is left to work, which reports it.
func (s *Service) marketClosed(ctx context.Context, tx Tx, id int64, closed map[int64]bool) bool {
	shut, ok := closed[id]
	if !ok {
		room, err := tx.BullPen(ctx, id)
		if err != nil {
			return false
		}
		shut = !marketOpen(room, tx.Now())
		closed[id] = shut
	}
	return shut
}
