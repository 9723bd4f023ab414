package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// roomRead is one room as the owner reads it through the API.
type roomRead struct {
	State        string
	StartsAt     time.Time
	EndsAt       time.Time
	StartingCash decimal.Decimal
	Commission   decimal.Decimal
	LastSequence int64
	Participants []struct {
		ID        string
		Cash      decimal.Decimal
		Positions []struct {
			Symbol      string
			Quantity    int64
			CostBasis   decimal.Decimal
			RealizedPnl decimal.Decimal
		}
		Ledger ledgerPage
	}
	orders []*orderState
	// ledgers holds every participant's whole ledger, oldest first.
	ledgers map[string][]ledgerEntry
	log     []*logEvent
}

// ledgerPage is one page of a participant's cash ledger.
type ledgerPage struct {
	Edges    []struct{ Node ledgerEntry }
	PageInfo struct {
		HasNextPage bool
		EndCursor   string
	}
}

type ledgerEntry struct {
	At                                  time.Time
	Kind                                string
	Amount, CashAfter, BuyingPowerAfter decimal.Decimal
	Order                               *struct{ ID string } // nil: STARTING_CASH, or a corporate action's
}

const ledgerFields = `ledger(first: 500, after: $after) { edges { node { at kind amount cashAfter buyingPowerAfter order { id } } } pageInfo { hasNextPage endCursor } }`

// logEvent is one bullPenEventLog entry.
type logEvent struct {
	raw           string // canonical, as compared with live events
	Typename      string `json:"__typename"`
	Sequence      int64
	OccurredAt    time.Time
	Kind          string
	Order         *orderState
	ParticipantID string
	Position      *struct {
		Symbol   string
		Quantity int64
	}
	Snapshot *struct {
		ID    string
		Final bool
	}
	PreviousState, State, Trigger string
	Action                        *struct{ ID, Kind string }
}

// snapshot is everything a check reads, taken while no client traffic
// runs; stable says no room's sequence and no participant's ledger moved
// while it was read (the periodic leaderboard snapshots can, and so can
// carrying costs at 00:00 UTC, which write no event), so the reads agree
// with each other.
type snapshot struct {
	rooms  map[string]*roomRead
	quotes map[string]decimal.Decimal
	stable bool
}

// check waits for every start or end that is due to happen, reads a
// stable snapshot, and checks it against what the program knows.
func (l *crashLoop) check(ctx context.Context) error {
	if err := l.awaitDueMoves(ctx); err != nil {
		return err
	}
	var snap *snapshot
	for attempt := 0; ; attempt++ {
		var err error
		if snap, err = l.read(ctx); err != nil {
			return err
		}
		if snap.stable {
			break
		}
		if attempt == 10 {
			return fmt.Errorf("the rooms' sequences kept moving while they were read, 10 times")
		}
	}
	l.stats.Checks++
	for _, r := range l.sortedRooms() {
		l.checkRoom(ctx, r, snap.rooms[r.id], snap.quotes)
	}
	l.retire(snap)
	return nil
}

var stateRank = map[string]int{"SCHEDULED": 0, "ACTIVE": 1, "ENDED": 2}

// awaitDueMoves polls each room until the state its startsAt and endsAt
// call for now (within 15 seconds).
func (l *crashLoop) awaitDueMoves(ctx context.Context) error {
	for _, r := range l.sortedRooms() {
		now := l.now()
		want := "SCHEDULED"
		if !now.Before(r.endsAt) {
			want = "ENDED"
		} else if !now.Before(r.startsAt) {
			want = "ACTIVE"
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			var out struct{ BullPen struct{ State string } }
			if err := l.cl.do(ctx, l.owner, `query($id: ID!) { bullPen(id: $id) { state } }`, map[string]any{"id": r.id}, &out); err != nil {
				return fmt.Errorf("bullPen %s: %w", r.id, err)
			}
			if stateRank[out.BullPen.State] >= stateRank[want] {
				break
			}
			if time.Now().After(deadline) {
				l.finding("room %s is %s 15s after it was due to be %s (starts %s, ends %s)", r.id, out.BullPen.State, want, r.startsAt, r.endsAt)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond): // polling for the scheduled move
			}
		}
	}
	return nil
}

// read takes a snapshot of every followed room: state, participants,
// orders and event log, and the prices.
func (l *crashLoop) read(ctx context.Context) (*snapshot, error) {
	rooms := l.sortedRooms()
	// Before the rooms: an action applied while they are read is not yet
	// due in any of them.
	if err := l.readCorporate(ctx); err != nil {
		return nil, err
	}
	before, err := l.sequences(ctx, rooms)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{rooms: map[string]*roomRead{}, quotes: map[string]decimal.Decimal{}}
	for _, r := range rooms {
		var out struct{ BullPen *roomRead }
		err := l.cl.do(ctx, l.owner, `query($id: ID!, $after: String) { bullPen(id: $id) { state startsAt endsAt startingCash commission lastSequence
			participants { id cash positions { symbol quantity costBasis realizedPnl } `+ledgerFields+` } } }`, map[string]any{"id": r.id}, &out)
		if err != nil {
			return nil, fmt.Errorf("bullPen %s: %w", r.id, err)
		}
		if out.BullPen == nil {
			l.finding("room %s is gone", r.id)
			continue
		}
		rr := out.BullPen
		if rr.ledgers, err = l.readLedgers(ctx, r.id, rr); err != nil {
			return nil, err
		}
		if rr.orders, err = l.readOrders(ctx, r.id); err != nil {
			return nil, err
		}
		if rr.log, err = l.readLog(ctx, r.id); err != nil {
			return nil, err
		}
		snap.rooms[r.id] = rr
	}
	var q map[string]struct{ Price decimal.Decimal }
	var qs strings.Builder
	qs.WriteString("{")
	for _, s := range symbols {
		fmt.Fprintf(&qs, " %s: quote(symbol: %q) { price }", s, s)
	}
	qs.WriteString(" }")
	if err := l.cl.do(ctx, l.owner, qs.String(), nil, &q); err != nil {
		return nil, fmt.Errorf("quotes: %w", err)
	}
	for s, v := range q {
		snap.quotes[s] = v.Price
	}
	after, err := l.sequences(ctx, rooms)
	if err != nil {
		return nil, err
	}
	snap.stable = slices.Equal(before, after)
	return snap, nil
}

// sequences reads each room's last sequence and the length of its
// participants' ledgers.
func (l *crashLoop) sequences(ctx context.Context, rooms []*room) ([]int64, error) {
	seqs := make([]int64, 0, 2*len(rooms))
	for _, r := range rooms {
		var out struct {
			BullPen struct {
				LastSequence int64
				Participants []struct{ Ledger struct{ TotalCount int64 } }
			}
		}
		if err := l.cl.do(ctx, l.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence participants { ledger(first: 1) { totalCount } } } }`,
			map[string]any{"id": r.id}, &out); err != nil {
			return nil, fmt.Errorf("bullPen %s: %w", r.id, err)
		}
		entries := int64(0)
		for _, p := range out.BullPen.Participants {
			entries += p.Ledger.TotalCount
		}
		seqs = append(seqs, out.BullPen.LastSequence, entries)
	}
	return seqs, nil
}

// readOrders pages through every order of the room (the owner sees all).
func (l *crashLoop) readOrders(ctx context.Context, id string) ([]*orderState, error) {
	var all []*orderState
	var after any
	for {
		var out struct {
			BullPen struct {
				Orders struct {
					Edges    []struct{ Node *orderState }
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
				}
			}
		}
		err := l.cl.do(ctx, l.owner, `query($id: ID!, $after: String) { bullPen(id: $id) { orders(first: 500, after: $after) {
			edges { node { `+orderFields+` } } pageInfo { hasNextPage endCursor } } } }`, map[string]any{"id": id, "after": after}, &out)
		if err != nil {
			return nil, fmt.Errorf("orders of room %s: %w", id, err)
		}
		for _, e := range out.BullPen.Orders.Edges {
			all = append(all, e.Node)
		}
		if !out.BullPen.Orders.PageInfo.HasNextPage {
			return all, nil
		}
		after = out.BullPen.Orders.PageInfo.EndCursor
	}
}

// readLedgers completes each participant's ledger from its first page,
// read with the room, page by page (the ledger only grows).
func (l *crashLoop) readLedgers(ctx context.Context, id string, rr *roomRead) (map[string][]ledgerEntry, error) {
	all := map[string][]ledgerEntry{}
	for _, p := range rr.Participants {
		page := p.Ledger
		for {
			for _, e := range page.Edges {
				all[p.ID] = append(all[p.ID], e.Node)
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			var out struct {
				BullPen struct {
					Participants []struct {
						ID     string
						Ledger ledgerPage
					}
				}
			}
			err := l.cl.do(ctx, l.owner, `query($id: ID!, $after: String) { bullPen(id: $id) { participants { id `+ledgerFields+` } } }`,
				map[string]any{"id": id, "after": page.PageInfo.EndCursor}, &out)
			if err != nil {
				return nil, fmt.Errorf("ledger of participant %s: %w", p.ID, err)
			}
			page = ledgerPage{}
			for _, q := range out.BullPen.Participants {
				if q.ID == p.ID {
					page = q.Ledger
				}
			}
		}
	}
	return all, nil
}

// readLog reads the room's whole event log.
func (l *crashLoop) readLog(ctx context.Context, id string) ([]*logEvent, error) {
	var all []*logEvent
	for {
		var out struct{ BullPenEventLog []json.RawMessage }
		err := l.cl.do(ctx, l.owner, `query($id: ID!, $after: Int) { bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000) { ...E } }`+eventFragment,
			map[string]any{"id": id, "after": len(all)}, &out)
		if err != nil {
			return nil, fmt.Errorf("event log of room %s: %w", id, err)
		}
		for _, raw := range out.BullPenEventLog {
			ev := &logEvent{}
			if err := json.Unmarshal(raw, ev); err != nil {
				return nil, fmt.Errorf("event of room %s: %w", id, err)
			}
			if _, ev.raw, err = canonicalEvent(raw); err != nil {
				return nil, err
			}
			all = append(all, ev)
		}
		if len(out.BullPenEventLog) < 1000 {
			return all, nil
		}
		if int64(len(all)) != all[len(all)-1].Sequence {
			return all, nil // a gap; checkRoom reports it
		}
	}
}

// checkRoom checks one room of a stable snapshot.
func (l *crashLoop) checkRoom(ctx context.Context, r *room, rr *roomRead, quotes map[string]decimal.Decimal) {
	if rr == nil {
		return
	}
	r.state = rr.State
	l.stats.EventsChecked += int64(len(rr.log))

	// The log: sequences 1..lastSequence, no gap, no duplicate.
	for i, ev := range rr.log {
		if ev.Sequence != int64(i+1) {
			l.finding("room %s: event log position %d holds sequence %d (gap or duplicate)", r.id, i+1, ev.Sequence)
			return
		}
	}
	if int64(len(rr.log)) != rr.LastSequence {
		l.finding("room %s: event log has %d events, lastSequence is %d", r.id, len(rr.log), rr.LastSequence)
	}

	l.checkLive(ctx, r, rr)
	l.checkMoves(r, rr)
	l.checkOrders(r, rr, quotes)
}

// checkLive waits until the live stream has caught up with the log, then
// compares every event received live with the log's.
func (l *crashLoop) checkLive(ctx context.Context, r *room, rr *roomRead) {
	deadline := time.Now().Add(15 * time.Second)
	for r.live() < rr.LastSequence {
		r.mu.Lock()
		subErr := r.subErr
		r.subErr = ""
		after := r.lastLive
		r.mu.Unlock()
		if subErr != "" { // e.g. dropped as a slow consumer: resume, as a client would
			l.logf("room %s: subscription ended (%s); resubscribing after %d", r.id, subErr, after)
			if err := l.sub.subscribe(r.id, after); err != nil {
				l.finding("room %s: resubscribe: %v", r.id, err)
				return
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			l.finding("room %s: live stream stopped at sequence %d; the log has %d", r.id, r.live(), rr.LastSequence)
			break
		}
		time.Sleep(5 * time.Millisecond) // polling for events in flight
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, bad := range r.liveBad {
		l.finding("%s", bad)
	}
	r.liveBad = nil
	for seq, raw := range r.unproved {
		if seq > int64(len(rr.log)) {
			continue // newer than this snapshot
		}
		if want := rr.log[seq-1].raw; raw != want {
			l.finding("room %s: event %d live was %s; the log has %s", r.id, seq, raw, want)
		} else {
			l.stats.LiveEvents++
		}
		delete(r.unproved, seq)
	}
}

// checkMoves checks the room's state changes: each scheduled move
// happened once, by the schedule, not before it was due, and the end took
// one final leaderboard.
func (l *crashLoop) checkMoves(r *room, rr *roomRead) {
	var moves []*logEvent
	finals := 0
	for _, ev := range rr.log {
		switch ev.Typename {
		case "RoomStateEvent":
			moves = append(moves, ev)
		case "LeaderboardEvent":
			if ev.Snapshot != nil && ev.Snapshot.Final {
				finals++
			}
		}
	}
	want := map[string][]string{"SCHEDULED": nil, "ACTIVE": {"SCHEDULED>ACTIVE"}, "ENDED": {"SCHEDULED>ACTIVE", "ACTIVE>ENDED"}}[rr.State]
	var got []string
	for _, m := range moves {
		got = append(got, m.PreviousState+">"+m.State)
	}
	if !slices.Equal(got, want) {
		l.finding("room %s is %s with state changes %v in its log, want %v", r.id, rr.State, got, want)
		return
	}
	dues := []time.Time{r.startsAt, r.endsAt}
	for i, m := range moves {
		if m.Trigger != "SCHEDULE" {
			l.finding("room %s: %s>%s by %s, want SCHEDULE", r.id, m.PreviousState, m.State, m.Trigger)
		}
		if m.OccurredAt.Before(dues[i]) {
			l.finding("room %s: %s>%s at %s, before it was due at %s", r.id, m.PreviousState, m.State, m.OccurredAt, dues[i])
		}
	}
	if wantFinals := map[bool]int{true: 1, false: 0}[rr.State == "ENDED"]; finals != wantFinals {
		l.finding("room %s is %s with %d final leaderboards, want %d", r.id, rr.State, finals, wantFinals)
	}
	// Count each move once, when first seen.
	seen := map[string]int{"SCHEDULED": 0, "ACTIVE": 1, "ENDED": 2}[rr.State]
	for i := r.movesCounted; i < seen; i++ {
		l.stats.DueMoves++
		for _, d := range l.down {
			if d.holds(dues[i]) {
				l.stats.DueWhileDown++
				break
			}
		}
	}
	r.movesCounted = max(r.movesCounted, seen)
}

// lifecycles are the order events an order of each status may have, in
// log order.
var lifecycles = map[string][]string{
	"OPEN":      {"ACCEPTED"},
	"FILLED":    {"FILLED", "ACCEPTED FILLED"},
	"REJECTED":  {"REJECTED", "ACCEPTED REJECTED"},
	"CANCELLED": {"ACCEPTED CANCELLED"},
	"EXPIRED":   {"ACCEPTED EXPIRED"},
}

// checkOrders checks the room's orders against the answers the program
// got, against the log, against the books and against the prices.
func (l *crashLoop) checkOrders(r *room, rr *roomRead, quotes map[string]decimal.Decimal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Order events: each order's kinds, and a position event after every
	// fill.
	kinds := map[string][]string{}
	for i, ev := range rr.log {
		if ev.Typename != "OrderEvent" || ev.Order == nil {
			continue
		}
		kinds[ev.Order.ID] = append(kinds[ev.Order.ID], ev.Kind)
		if ev.Kind == "FILLED" && (i+1 >= len(rr.log) || rr.log[i+1].Typename != "PositionEvent") {
			l.find = append(l.find, fmt.Sprintf("room %s: fill of order %s (event %d) is not followed by its position event", r.id, ev.Order.ID, ev.Sequence))
		}
	}
	byTrader := map[string]int{}
	for t, p := range r.participants {
		byTrader[p] = t
	}
	found := map[string]bool{}
	type book struct {
		cash     decimal.Decimal
		qty      map[string]int64
		net      map[string]decimal.Decimal // bought - sold, gross
		anyTrade map[string]bool
	}
	books := map[string]*book{}
	for _, p := range r.participants {
		books[p] = &book{cash: rr.StartingCash, qty: map[string]int64{}, net: map[string]decimal.Decimal{}, anyTrade: map[string]bool{}}
	}
	for _, s := range rr.orders {
		where := fmt.Sprintf("room %s: order %s", r.id, s.ID)
		if got, ok := lifecycles[s.Status]; !ok || !slices.Contains(got, strings.Join(kinds[s.ID], " ")) {
			l.find = append(l.find, fmt.Sprintf("%s is %s with events %v", where, s.Status, kinds[s.ID]))
		}
		delete(kinds, s.ID)
		if s.ClientOrderID == nil {
			l.find = append(l.find, where+" has no clientOrderId; every order sent had one")
			continue
		}
		o := l.orders[*s.ClientOrderID]
		if o == nil || o.in.room != r.id {
			l.find = append(l.find, fmt.Sprintf("%s has clientOrderId %s, never sent to this room", where, *s.ClientOrderID))
			continue
		}
		if found[o.cid] {
			l.find = append(l.find, fmt.Sprintf("%s: a second order with clientOrderId %s", where, o.cid))
			continue
		}
		found[o.cid] = true
		if why := o.matchesInput(s, r.participants[o.trader]); why != "" {
			l.find = append(l.find, fmt.Sprintf("%s (%s) is not what was sent: %s", where, o.cid, why))
		}
		if o.seen != nil {
			if why := legalMove(o.seen, s); why != "" {
				l.find = append(l.find, fmt.Sprintf("%s (%s), last seen %s: %s", where, o.cid, o.seen.Status, why))
			}
		}
		if o.seen == nil || o.seen.Status != s.Status {
			if s.Status == "REJECTED" {
				l.rejected.Add(1)
			}
		}
		if !o.kept {
			o.kept = true
			l.stats.OrdersKept++
		}
		o.seen = s
		// The books, from the fills.
		b := books[s.Participant.ID]
		if s.Status != "FILLED" || b == nil {
			if s.Status == "FILLED" {
				l.find = append(l.find, fmt.Sprintf("%s filled for participant %s, not in the room", where, s.Participant.ID))
			}
			continue
		}
		if s.FilledPrice == nil || s.FilledQuantity != s.Quantity {
			l.find = append(l.find, fmt.Sprintf("%s FILLED with %d of %d at %v", where, s.FilledQuantity, s.Quantity, s.FilledPrice))
			continue
		}
		if !s.Commission.Equal(rr.Commission) {
			l.find = append(l.find, fmt.Sprintf("%s charged %s commission, the room's is %s", where, s.Commission, rr.Commission))
		}
		gross := s.FilledPrice.Mul(decimal.NewFromInt(s.FilledQuantity))
		b.anyTrade[s.Symbol] = true
		if s.Side == "BUY" {
			b.cash = b.cash.Sub(gross)
			b.qty[s.Symbol] += s.FilledQuantity
			b.net[s.Symbol] = b.net[s.Symbol].Add(gross)
		} else {
			b.cash = b.cash.Add(gross)
			b.qty[s.Symbol] -= s.FilledQuantity
			b.net[s.Symbol] = b.net[s.Symbol].Sub(gross)
		}
		b.cash = b.cash.Sub(s.Commission)
		// No order rests across the stored price.
	}
	for id := range kinds {
		l.find = append(l.find, fmt.Sprintf("room %s: order events for order %s, which the room's orders do not list", r.id, id))
	}
	// Every answered order is still there.
	for _, o := range l.orders {
		if o.in.room == r.id && o.seen != nil && !found[o.cid] {
			l.find = append(l.find, fmt.Sprintf("room %s: order %s (%s), answered %s, is gone", r.id, o.seen.ID, o.cid, o.seen.Status))
		}
	}
	// What corporate actions made of the fills.
	if l.corp.announced {
		for pid, b := range books {
			l.checkCorporate(r, rr, pid, b.qty, b.net, &b.cash)
		}
	}
	// Cash and positions reconcile with the fills, exactly.
	for _, p := range rr.Participants {
		b := books[p.ID]
		if b == nil {
			l.find = append(l.find, fmt.Sprintf("room %s: participant %s, who never joined", r.id, p.ID))
			continue
		}
		if carry := l.checkCarry(r, rr, p.ID); !p.Cash.Equal(b.cash.Add(carry)) {
			l.find = append(l.find, fmt.Sprintf("room %s: participant %s has cash %s; the fills make %s and carrying costs %s", r.id, p.ID, p.Cash, b.cash, carry))
		}
		if p.Cash.IsNegative() {
			l.find = append(l.find, fmt.Sprintf("room %s: participant %s has negative cash %s", r.id, p.ID, p.Cash))
		}
		l.checkLedger(r.id, rr, p.ID, p.Cash)
		listed := map[string]bool{}
		for _, pos := range p.Positions {
			listed[pos.Symbol] = true
			if pos.Quantity != b.qty[pos.Symbol] {
				l.find = append(l.find, fmt.Sprintf("room %s: participant %s holds %d %s; the fills make %d", r.id, p.ID, pos.Quantity, pos.Symbol, b.qty[pos.Symbol]))
			}
			// Average cost: cost basis - realized P&L = bought - sold, in
			// whatever order the fills came.
			if d := pos.CostBasis.Sub(pos.RealizedPnl); !d.Equal(b.net[pos.Symbol]) {
				l.find = append(l.find, fmt.Sprintf("room %s: participant %s %s: cost basis %s - realized %s = %s; bought - sold = %s",
					r.id, p.ID, pos.Symbol, pos.CostBasis, pos.RealizedPnl, d, b.net[pos.Symbol]))
			}
			if pos.Quantity < 0 {
				l.find = append(l.find, fmt.Sprintf("room %s: participant %s is short %d %s in a room without short selling", r.id, p.ID, -pos.Quantity, pos.Symbol))
			}
			if pos.Quantity == 0 && !pos.CostBasis.IsZero() {
				l.find = append(l.find, fmt.Sprintf("room %s: participant %s holds no %s at a cost basis of %s", r.id, p.ID, pos.Symbol, pos.CostBasis))
			}
		}
		// The API leaves out a position that is flat with nothing
		// realized: the fills must then add up to nothing.
		for sym := range b.anyTrade {
			if !listed[sym] && (b.qty[sym] != 0 || !b.net[sym].IsZero()) {
				l.find = append(l.find, fmt.Sprintf("room %s: participant %s has no %s position; the fills make %d shares, bought - sold = %s",
					r.id, p.ID, sym, b.qty[sym], b.net[sym]))
			}
		}
		delete(books, p.ID)
	}
	for p := range books {
		l.find = append(l.find, fmt.Sprintf("room %s: participant %s is not listed", r.id, p))
	}
	// Orders at rest: none after the end, none across the stored price.
	for _, s := range rr.orders {
		if s.Status != "OPEN" {
			continue
		}
		if rr.State == "ENDED" {
			l.find = append(l.find, fmt.Sprintf("room %s ENDED with order %s still OPEN", r.id, s.ID))
		} else if price, ok := quotes[s.Symbol]; ok && rr.State == "ACTIVE" && restingAcross(s, price) {
			l.find = append(l.find, fmt.Sprintf("room %s: order %s %s %s %d limit %v stop %v rests OPEN at stored price %s",
				r.id, s.ID, s.Side, s.Type, s.Quantity, s.LimitPrice, s.StopPrice, price))
		}
	}
}

// restingAcross says whether an OPEN order contradicts the stored price:
// at that price a LIMIT fills and a STOP triggers (and then fills as a
// market order); a STOP_LIMIT whose stop and limit are both crossed
// would have triggered and filled. (Whether a STOP_LIMIT triggered
// earlier is not in the API, so one whose limit alone is crossed may rest
// untriggered.) It is the game's rule, repeated so the program does not
// trust the code it checks.
func restingAcross(o *orderState, price decimal.Decimal) bool {
	buy := o.Side == "BUY"
	limitCrossed := o.LimitPrice != nil && (buy && !price.GreaterThan(*o.LimitPrice) || !buy && !price.LessThan(*o.LimitPrice))
	stopCrossed := o.StopPrice != nil && (buy && !price.LessThan(*o.StopPrice) || !buy && !price.GreaterThan(*o.StopPrice))
	switch o.Type {
	case "MARKET":
		return true
	case "LIMIT":
		return limitCrossed
	case "STOP":
		return stopCrossed
	case "STOP_LIMIT":
		return stopCrossed && limitCrossed
	}
	return false
}

// retire stops following rooms that have ended, been checked and have no
// order whose answer is still owed: nothing in them can change.
func (l *crashLoop) retire(snap *snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.rooms[:0]
	for _, r := range l.rooms {
		rr := snap.rooms[r.id]
		done := rr != nil && rr.State == "ENDED" && r.live() >= rr.LastSequence
		for _, o := range l.orders {
			if o.in.room == r.id && o.pending {
				done = false
			}
		}
		if !done {
			keep = append(keep, r)
			continue
		}
		l.sub.unsubscribe(r.id)
		for cid, o := range l.orders {
			if o.in.room == r.id {
				delete(l.orders, cid)
			}
		}
	}
	clear(l.rooms[len(keep):])
	l.rooms = keep
}

// checkLedger reconciles a participant's cash ledger: each entry's
// cashAfter and buyingPowerAfter are the running sums (of the cash kinds,
// of all kinds), the cash sum is cash, and once the room has ended (no
// order rests, and the loop never shorts) the sum of all kinds is too.
func (l *crashLoop) checkLedger(room string, rr *roomRead, participant string, cash decimal.Decimal) {
	entries := rr.ledgers[participant]
	if len(entries) == 0 {
		l.find = append(l.find, fmt.Sprintf("room %s: participant %s has no ledger entry, not even STARTING_CASH", room, participant))
	}
	sum, power := decimal.Zero, decimal.Zero
	for i, e := range entries {
		if (i == 0) != (e.Kind == "STARTING_CASH") {
			l.find = append(l.find, fmt.Sprintf("room %s: participant %s: ledger entry %d is %s", room, participant, i+1, e.Kind))
		}
		if e.Kind != "RESERVE" && e.Kind != "RELEASE" {
			sum = sum.Add(e.Amount)
		}
		power = power.Add(e.Amount)
		if !e.CashAfter.Equal(sum) || !e.BuyingPowerAfter.Equal(power) {
			l.find = append(l.find, fmt.Sprintf("room %s: participant %s: ledger entry %d (%s %s) says cash %s, buying power %s; the entries make %s, %s",
				room, participant, i+1, e.Kind, e.Amount, e.CashAfter, e.BuyingPowerAfter, sum, power))
			return
		}
	}
	if !sum.Equal(cash) {
		l.find = append(l.find, fmt.Sprintf("room %s: participant %s has cash %s; the ledger makes %s", room, participant, cash, sum))
	}
	if rr.State == "ENDED" && !power.Equal(cash) {
		l.find = append(l.find, fmt.Sprintf("room %s ENDED: participant %s's ledger still holds back %s", room, participant, cash.Sub(power)))
	}
}

// checkCarry checks a participant's carrying-cost lines and returns what
// they add to cash. The crash rooms earn interestPercent on cash and
// nothing else (the loop never shorts; cash never goes negative), so:
//   - each INTEREST line is a day of interestPercent on the cash before
//     it, rounded half-even to 4 places (the game's rule, repeated);
//   - a participant has at most one per 00:00 UTC in (startsAt, endsAt],
//     none booked before its 00:00, and exactly one per 00:00 once the
//     room has ended (the move to ENDED books what was due);
//   - no BORROW_FEE.
//
// Called with l.mu held.
func (l *crashLoop) checkCarry(r *room, rr *roomRead, participant string) decimal.Decimal {
	var days []time.Time
	for m := nextMidnight(rr.StartsAt); !m.After(rr.EndsAt); m = m.AddDate(0, 0, 1) {
		days = append(days, m)
	}
	where := fmt.Sprintf("room %s: participant %s", r.id, participant)
	rate := decimal.RequireFromString(interestPercent)
	sum, n := decimal.Zero, 0
	entries := rr.ledgers[participant]
	for i, e := range entries {
		switch e.Kind {
		case "BORROW_FEE":
			l.find = append(l.find, fmt.Sprintf("%s: a BORROW_FEE of %s without a short", where, e.Amount))
		case "INTEREST":
			n++
			if n > len(days) {
				l.find = append(l.find, fmt.Sprintf("%s: INTEREST line %d (%s at %s), but the room spans %d 00:00 UTC (%s to %s)",
					where, n, e.Amount, e.At, len(days), rr.StartsAt, rr.EndsAt))
				continue
			}
			if e.At.Before(days[n-1]) {
				l.find = append(l.find, fmt.Sprintf("%s: the interest due at %s was booked at %s, early", where, days[n-1], e.At))
			}
			if i == 0 {
				continue // the ledger check reports it
			}
			if want := dayOfInterest(entries[i-1].CashAfter, rate); !e.Amount.Equal(want) {
				l.find = append(l.find, fmt.Sprintf("%s: INTEREST %s on cash %s; %s%%/365 of it is %s", where, e.Amount, entries[i-1].CashAfter, rate, want))
			}
			sum = sum.Add(e.Amount)
		}
	}
	if rr.State == "ENDED" {
		if n != len(days) {
			l.find = append(l.find, fmt.Sprintf("%s: the room ENDED with %d INTEREST lines for %d 00:00 UTC in %s to %s", where, n, len(days), rr.StartsAt, rr.EndsAt))
		}
		if r.carryCounted == nil {
			r.carryCounted = map[string]bool{}
		}
		if !r.carryCounted[participant] {
			r.carryCounted[participant] = true
			l.stats.Accruals += n
			for _, m := range days[:min(n, len(days))] {
				for _, d := range l.down {
					if d.holds(m) {
						l.stats.AccrualsWhileDown++
						break
					}
				}
			}
		}
	}
	return sum
}

// dayOfInterest is cash x percent / 36500 rounded half-even to 4 places,
// exactly.
func dayOfInterest(cash, percent decimal.Decimal) decimal.Decimal {
	if !cash.IsPositive() {
		return decimal.Zero
	}
	num, den := cash.Mul(percent), decimal.NewFromInt(36500)
	q, rem := num.QuoRem(den, 4)
	twice := rem.Mul(decimal.NewFromInt(2))
	unit := decimal.New(1, -4)
	switch c := twice.Cmp(den.Mul(unit)); {
	case c > 0, c == 0 && q.Shift(4).BigInt().Bit(0) == 1:
		return q.Add(unit)
	}
	return q
}
