package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Corporate actions in the crash loop: in the second round, trader 0
// buys corpQty of corpSymbol (which no one else trades) in a room made for
// it and in every other room trading for a while yet, and the admin announces a split of corpRatio a
// moment ahead and a dividend of corpDividend just after it, paid a moment
// later; the server applies them on its own clock, across whatever kills
// come. Each check then proves, from the API, that each room got each
// action at most once (one CorporateActionEvent), and exactly once when
// it held the symbol and had not ended when the action was applied; that
// the holder's position, cost basis and cash are the fills' with the
// split applied as many times as the log says (the fraction paid in lieu
// at the split-adjusted price); and that there is at most one DIVIDEND
// line per holder, of the amount per share times what they held when it
// was recorded, and exactly one when the room was still going when it
// was paid. The ledger checks then reconcile every line as before.
const corpSymbol = "KO"

var (
	corpPrice    = decimal.NewFromInt(90)
	corpRatio    = decimal.RequireFromString("1.5")
	corpDividend = decimal.RequireFromString("0.5")
	corpQty      = int64(3) // 4.5 after the split: 0.5 paid in lieu
	corpRoom     = 8 * time.Second
)

// corpAction is a CorporateAction as the API shows it.
type corpAction struct {
	ID, Kind          string
	AppliedAt, PaidAt *time.Time
}

// corpState is what the loop knows of its corporate actions.
type corpState struct {
	announced       bool
	split, dividend string // action ids
	applied         map[string]corpAction
	// events counts per room the CorporateActionEvents, dividends per
	// participant the DIVIDEND lines, that the last check found (for the
	// stats).
	events, dividends map[string]int64
}

// announceCorporate does the buys and the announcements once: in a room
// of its own, started at once and going on for corpRoom (long enough
// for the dividend to be paid across a kill or two), and in every other
// room trading with a second and a half left.
func (l *crashLoop) announceCorporate(ctx context.Context) error {
	if l.corp.announced {
		return nil
	}
	now := l.now() // the server's clock (see -clock-offset)
	own, err := l.newRoom(ctx, now, now.Add(corpRoom))
	if err != nil {
		return err
	}
	bought := 0
	for _, r := range l.sortedRooms() {
		if r != own && (now.Before(r.startsAt.Add(50*time.Millisecond)) || now.After(r.endsAt.Add(-1500*time.Millisecond))) {
			continue
		}
		l.mu.Lock()
		l.nextCID++
		o := &order{cid: fmt.Sprintf("%s-%d", l.tag, l.nextCID), trader: 0,
			in: orderInput{room: r.id, symbol: corpSymbol, side: "BUY", typ: "MARKET", qty: corpQty}}
		l.orders[o.cid] = o
		l.mu.Unlock()
		if err := l.send(ctx, l.trade[0], o, false); err != nil {
			return fmt.Errorf("buying %s: %w", corpSymbol, err)
		}
		if o.seen != nil && o.seen.Status == "FILLED" {
			bought++
		}
	}
	if bought == 0 {
		return fmt.Errorf("no buy of %s filled, not even in the room made for it", corpSymbol)
	}
	at := l.now()
	var s struct{ AnnounceSplit struct{ ID string } }
	if err := l.cl.do(ctx, l.admin, `mutation($r: Decimal!, $at: Time!) { announceSplit(symbol: "`+corpSymbol+`", ratio: $r, exDate: $at) { id } }`,
		map[string]any{"r": corpRatio.String(), "at": at.Add(300 * time.Millisecond).UTC().Format(time.RFC3339Nano)}, &s); err != nil {
		return fmt.Errorf("announceSplit: %w", err)
	}
	var d struct{ AnnounceDividend struct{ ID string } }
	if err := l.cl.do(ctx, l.admin, `mutation($a: Decimal!, $ex: Time!, $pay: Time!) { announceDividend(symbol: "`+corpSymbol+`", amountPerShare: $a, exDate: $ex, payDate: $pay) { id } }`,
		map[string]any{"a": corpDividend.String(), "ex": at.Add(450 * time.Millisecond).UTC().Format(time.RFC3339Nano),
			"pay": at.Add(800 * time.Millisecond).UTC().Format(time.RFC3339Nano)}, &d); err != nil {
		return fmt.Errorf("announceDividend: %w", err)
	}
	l.corp.announced, l.corp.split, l.corp.dividend = true, s.AnnounceSplit.ID, d.AnnounceDividend.ID
	l.logf("corporate actions: %d rooms hold %d %s; split %s (ratio %s) and dividend %s (%s a share) announced", bought, corpQty, corpSymbol,
		l.corp.split, corpRatio, l.corp.dividend, corpDividend)
	return nil
}

// readCorporate reads when the actions were applied and paid.
func (l *crashLoop) readCorporate(ctx context.Context) error {
	if !l.corp.announced {
		return nil
	}
	var out struct {
		CorporateActions struct{ Edges []struct{ Node corpAction } }
	}
	if err := l.cl.do(ctx, "", `{ corporateActions(symbol: "`+corpSymbol+`") { edges { node { id kind appliedAt paidAt } } } }`, nil, &out); err != nil {
		return fmt.Errorf("corporateActions: %w", err)
	}
	l.corp.applied = map[string]corpAction{}
	for _, e := range out.CorporateActions.Edges {
		l.corp.applied[e.Node.ID] = e.Node
	}
	return nil
}

// checkCorporate checks a participant's corporate actions in room r and
// makes the books' figures for corpSymbol (qty, bought - sold, cash) what
// the actions made of them. l.mu is held.
func (l *crashLoop) checkCorporate(r *room, rr *roomRead, participant string, qty map[string]int64, net map[string]decimal.Decimal, cash *decimal.Decimal) {
	where := fmt.Sprintf("room %s: participant %s", r.id, participant)
	events := map[string][]*logEvent{}
	var ended *time.Time
	for _, ev := range rr.log {
		if ev.Typename == "CorporateActionEvent" && ev.Action != nil {
			events[ev.Action.ID] = append(events[ev.Action.ID], ev)
		}
		if ev.Typename == "RoomStateEvent" && ev.State == "ENDED" {
			ended = &ev.OccurredAt
		}
	}
	if l.corp.events == nil {
		l.corp.events, l.corp.dividends = map[string]int64{}, map[string]int64{}
	}
	l.corp.events[r.id] = int64(len(events[l.corp.split]) + len(events[l.corp.dividend]))
	for id, evs := range events {
		if len(evs) > 1 {
			l.find = append(l.find, fmt.Sprintf("room %s: %d CorporateActionEvents of action %s, want at most one", r.id, len(evs), id))
		}
	}
	// The ledger's lines without an order, but the starting cash.
	var inLieu, dividends []decimal.Decimal
	for _, e := range rr.ledgers[participant] {
		if e.Order != nil || e.Kind == "STARTING_CASH" {
			continue
		}
		switch e.Kind {
		case "SELL", "BUY":
			inLieu = append(inLieu, e.Amount)
			*cash = cash.Add(e.Amount)
		case "DIVIDEND":
			dividends = append(dividends, e.Amount)
			*cash = cash.Add(e.Amount)
		case "INTEREST", "BORROW_FEE":
			// Carrying costs: checked, and counted in cash, by checkCarry.
		case "RESERVE", "RELEASE":
			l.find = append(l.find, fmt.Sprintf("%s: a %s of %s with no order (the loop never shorts)", where, e.Kind, e.Amount))
		default:
			l.find = append(l.find, fmt.Sprintf("%s: a %s of %s with no order", where, e.Kind, e.Amount))
		}
	}
	held := qty[corpSymbol]
	// due says whether an action must have reached the room: applied (or
	// paid) before it ended, while it held the symbol.
	due := func(at *time.Time) bool {
		return held != 0 && at != nil && (ended == nil || ended.After(*at))
	}
	split := events[l.corp.split]
	if len(split) == 0 && due(l.corp.applied[l.corp.split].AppliedAt) {
		l.find = append(l.find, fmt.Sprintf("room %s held %s and had not ended when the split was applied, but has no CorporateActionEvent of it", r.id, corpSymbol))
	}
	wantLieu := decimal.Zero
	if len(split) > 0 && held != 0 {
		exact := decimal.NewFromInt(held).Mul(corpRatio)
		whole := exact.Truncate(0)
		wantLieu = exact.Sub(whole).Mul(corpPrice.DivRound(corpRatio, 4)).RoundBank(4)
		qty[corpSymbol] = whole.IntPart()
		// cost basis - realized loses what the fraction was paid.
		net[corpSymbol] = net[corpSymbol].Sub(wantLieu)
	}
	switch {
	case wantLieu.IsZero() && len(inLieu) > 0:
		l.find = append(l.find, fmt.Sprintf("%s: cash in lieu %v without a split of a fraction", where, inLieu))
	case !wantLieu.IsZero() && (len(inLieu) != 1 || !inLieu[0].Equal(wantLieu)):
		l.find = append(l.find, fmt.Sprintf("%s: cash in lieu %v, want one SELL of %s", where, inLieu, wantLieu))
	}
	div := events[l.corp.dividend]
	if len(div) == 0 && due(l.corp.applied[l.corp.dividend].AppliedAt) {
		l.find = append(l.find, fmt.Sprintf("room %s held %s and had not ended when the dividend was recorded, but has no CorporateActionEvent of it", r.id, corpSymbol))
	}
	if len(div) == 0 {
		if len(dividends) > 0 {
			l.find = append(l.find, fmt.Sprintf("%s: DIVIDEND lines %v of a dividend never recorded in the room", where, dividends))
		}
		return
	}
	record := held
	if len(split) > 0 && split[0].Sequence < div[0].Sequence {
		record = qty[corpSymbol]
	}
	want := corpDividend.Mul(decimal.NewFromInt(record))
	switch {
	case len(dividends) > 1:
		l.find = append(l.find, fmt.Sprintf("%s: %d DIVIDEND lines %v, want at most one", where, len(dividends), dividends))
	case len(dividends) == 1 && !dividends[0].Equal(want):
		l.find = append(l.find, fmt.Sprintf("%s: DIVIDEND %s, want %s (%s a share of %d held at the exDate)", where, dividends[0], want, corpDividend, record))
	case len(dividends) == 0 && record != 0 && due(l.corp.applied[l.corp.dividend].PaidAt):
		l.find = append(l.find, fmt.Sprintf("%s: no DIVIDEND line, though the room had not ended when the dividend was paid", where))
	}
	l.corp.dividends[participant] = int64(len(dividends))
}

// corporateStats sums what the last checks of each room found.
func (l *crashLoop) corporateStats() (events, dividends int64) {
	for _, n := range l.corp.events {
		events += n
	}
	for _, n := range l.corp.dividends {
		dividends += n
	}
	return events, dividends
}
