package game

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Who sees what. One rule set decides queries, events and exports alike:
//
//   - A room is seen by everyone when PUBLIC, else by its owner and members
//     only; to everyone else it does not exist (NOT_FOUND, as an unknown id).
//   - A participant's holdings and intentions (positions, orders, buying
//     power, cash ledger, their order and position events) are seen by that participant,
//     by the owner, and by every member when the room's trades are PUBLIC.
//   - What the leaderboard shows (rank, portfolio value, cash, return),
//     the room's state and the corporate actions applied to it are seen
//     by whoever sees the room.
//   - A participant's metrics and equity history are seen as the
//     leaderboard is; the trades export (Fills) follows Orders, the
//     results export the leaderboard.
//   - Admins have no extra sight: the role sets prices, nothing more.

// Viewer is who is looking at a room, as the rules need it.
type Viewer struct {
	UserID        int64 // 0: anonymous
	Owner         bool
	ParticipantID int64 // 0: not a member
}

// Member reports whether the viewer has joined the room.
func (v Viewer) Member() bool { return v.ParticipantID != 0 }

// SeesRoom reports whether the viewer may see the room at all: anyone for
// PUBLIC rooms, the owner and members for PRIVATE ones.
func (v Viewer) SeesRoom(room *BullPen) bool { return v.seesRoom(room.Visibility) }

func (v Viewer) seesRoom(visibility Visibility) bool {
	return visibility == VisibilityPublic || v.Owner || v.Member()
}

// SeesTrades reports whether the viewer may see participantID's orders,
// positions and buying power: their own, the owner all, and every member
// when the room's tradeVisibility is PUBLIC.
func (v Viewer) SeesTrades(room *BullPen, participantID int64) bool {
	return v.seesTrades(room.TradeVisibility, participantID)
}

func (v Viewer) seesTrades(trades TradeVisibility, participantID int64) bool {
	return v.Owner || (v.Member() && (v.ParticipantID == participantID || trades == TradesPublic))
}

// Sees reports whether the viewer may receive ev.
func (v Viewer) Sees(room *BullPen, ev *Event) bool {
	return v.sees(room.Visibility, room.TradeVisibility, ev)
}

// sees is Sees by the only two things of the room it reads.
func (v Viewer) sees(visibility Visibility, trades TradeVisibility, ev *Event) bool {
	switch ev.Kind {
	case EventLeaderboard, EventRoomState, EventCorporateAction:
		return v.seesRoom(visibility)
	case EventOrder, EventPosition:
		return ev.ParticipantID != nil && v.seesTrades(trades, *ev.ParticipantID)
	case EventAnnouncement:
		// The organiser's word to the room, or about one participant's
		// money (adjustCash), seen as their ledger is.
		if ev.ParticipantID == nil {
			return v.seesRoom(visibility)
		}
		return v.seesTrades(trades, *ev.ParticipantID)
	}
	return false
}

// lockRoom locks a room for tx, with the one NOT_FOUND answer.
func lockRoom(ctx context.Context, tx Tx, id int64) (*BullPen, error) {
	room, err := tx.LockBullPen(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, roomNotFound(id)
	}
	return room, err
}

// roomNotFound is the one answer for a room that does not exist and for
// one the caller may not see: the two must not be told apart.
func roomNotFound(id int64) *Error {
	return Errorf(ENOTFOUND, "bull pen %d not found", id)
}

// viewerOf works out how user relates to room (user may be nil).
func viewerOf(ctx context.Context, q Queries, user *User, room *BullPen) (Viewer, error) {
	if user == nil {
		return Viewer{}, nil
	}
	v := Viewer{UserID: user.ID, Owner: room.OwnerID == user.ID}
	p, err := q.ParticipantByUser(ctx, room.ID, user.ID)
	if err == nil {
		v.ParticipantID = p.ID
	} else if ErrorCode(err) != ENOTFOUND {
		return v, err
	}
	return v, nil
}

// View is what one viewer may read of one room. Every read of a room goes
// through a View, so the rules above apply to all of them.
type View struct {
	Room   *BullPen
	Viewer Viewer
	s      *Service
}

// View loads room id as user (nil: anonymous) sees it.
//
// Errors: NOT_FOUND for a room that does not exist or that user may not
// see, alike.
func (s *Service) View(ctx context.Context, user *User, id int64) (*View, error) {
	room, err := s.store.BullPen(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, roomNotFound(id)
	} else if err != nil {
		return nil, err
	}
	return s.ViewOf(ctx, user, room)
}

// ViewOf is View for a room already loaded (a list, a mutation's answer).
func (s *Service) ViewOf(ctx context.Context, user *User, room *BullPen) (*View, error) {
	v, err := viewerOf(ctx, s.store, user, room)
	if err != nil {
		return nil, err
	}
	if !v.SeesRoom(room) {
		return nil, roomNotFound(room.ID)
	}
	return &View{Room: room, Viewer: v, s: s}, nil
}

// Rooms lists the rooms user may see (PUBLIC ones and their own), newest
// first; see Queries.BullPens.
func (s *Service) Rooms(ctx context.Context, user *User, f BullPenFilter) ([]*BullPen, int, error) {
	f.ViewerID = 0
	if user != nil {
		f.ViewerID = user.ID
	}
	return s.store.BullPens(ctx, f)
}

// User returns user id. Users never change once signed up, so they are
// cached: a leaderboard of a thousand entries, fanned out to every
// subscriber, and every authenticated request read each user once.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	s.usersMu.RLock()
	u, ok := s.users[id]
	s.usersMu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.usersMu.Lock()
	if len(s.users) >= maxCachedUsers {
		clear(s.users) // about 200 bytes a user: start over past the bound
	}
	s.users[id] = u
	s.usersMu.Unlock()
	return u, nil
}

// maxCachedUsers bounds Service.User's cache.
const maxCachedUsers = 100_000

// Quote is the last price of symbol; market data is public.
func (s *Service) Quote(ctx context.Context, symbol string) (*Quote, error) {
	return s.store.Quote(ctx, symbol)
}

// Quotes lists every last price.
func (s *Service) Quotes(ctx context.Context) ([]*Quote, error) { return s.store.Quotes(ctx) }

// Owner is the room's owner.
func (v *View) Owner(ctx context.Context) (*User, error) {
	return v.s.User(ctx, v.Room.OwnerID)
}

// InviteCode is the room's invite code for its owner, nil for anyone else.
func (v *View) InviteCode() *string {
	if !v.Viewer.Owner {
		return nil
	}
	code := v.Room.InviteCode
	return &code
}

// MarketStatus is the room's trading hours and where they stand now, by
// the service's clock; nil for a room that is always open. Like every
// room setting it is seen by whoever sees the room.
func (v *View) MarketStatus() *MarketStatus {
	return v.Room.MarketStatus(v.s.clock.Now())
}

// Participants lists the room's seats (their leaderboard figures are public
// to whoever sees the room; holdings are read through Holdings).
func (v *View) Participants(ctx context.Context) ([]*Participant, error) {
	return v.s.store.Participants(ctx, v.Room.ID)
}

// ParticipantCount counts the room's seats.
func (v *View) ParticipantCount(ctx context.Context) (int, error) {
	return v.s.store.ParticipantCount(ctx, v.Room.ID)
}

// Participant returns one seat of this room.
//
// Errors: NOT_FOUND when the room has no such seat.
func (v *View) Participant(ctx context.Context, id int64) (*Participant, error) {
	p, err := v.s.store.Participant(ctx, id)
	if err == nil && p.BullPenID != v.Room.ID {
		err = Errorf(ENOTFOUND, "participant not found")
	}
	return p, err
}

// Me is the viewer's own seat, or nil.
func (v *View) Me(ctx context.Context) (*Participant, error) {
	if !v.Viewer.Member() {
		return nil, nil
	}
	return v.s.store.Participant(ctx, v.Viewer.ParticipantID)
}

// SeesTrades reports whether the viewer may see participantID's holdings.
func (v *View) SeesTrades(participantID int64) bool {
	return v.Viewer.SeesTrades(v.Room, participantID)
}

// Standing values a participant for the figures whoever sees the room may
// see; the Valuation's Positions and BuyingPower are cleared unless the
// viewer SeesTrades of the participant. Both come from one consistent read.
func (v *View) Standing(ctx context.Context, p *Participant) (*Valuation, error) {
	if p.BullPenID != v.Room.ID {
		return nil, Errorf(ENOTFOUND, "participant not found")
	}
	val, err := v.s.Value(ctx, p)
	if err != nil {
		return nil, err
	}
	if !v.SeesTrades(p.ID) {
		val.Positions, val.BuyingPower, val.Hidden = nil, decimal.Zero, true
	}
	return val, nil
}

// Leaderboard is the room's latest snapshot, or nil before the first.
func (v *View) Leaderboard(ctx context.Context) (*LeaderboardSnapshot, error) {
	s, err := v.s.store.LatestSnapshot(ctx, v.Room.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return s, err
}

// LeaderboardHistory lists stored snapshots, newest first.
func (v *View) LeaderboardHistory(ctx context.Context, limit int) ([]*LeaderboardSnapshot, error) {
	return v.s.store.Snapshots(ctx, v.Room.ID, limit)
}

// Orders lists the orders the viewer may see, newest first: the owner
// every order, a member their own or, when trades are PUBLIC, everyone's;
// anyone else none. f.BullPenID and f.ParticipantID are set here. Each
// order carries its fills.
func (v *View) Orders(ctx context.Context, f OrderFilter) ([]*Order, int, error) {
	var ok bool
	if f, ok = v.orderScope(f); !ok {
		return []*Order{}, 0, nil
	}
	os, total, err := v.s.store.Orders(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	return os, total, v.s.withFills(ctx, os)
}

// withFills reads the fills of orders into them, in one read.
func (s *Service) withFills(ctx context.Context, orders []*Order) error {
	var ids []int64
	for _, o := range orders {
		o.Fills = []Fill{}
		if o.FilledQuantity > 0 {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	fills, err := s.store.FillsOf(ctx, ids)
	if err != nil {
		return err
	}
	for _, o := range orders {
		if fs := fills[o.ID]; fs != nil {
			o.Fills = fs
		}
	}
	return nil
}

// OrderFills are o's fills as o stands: those it carries (an order read
// with View.Orders, or in an event), else the fills read that make up its
// filledQuantity (a later fill is not o's yet). Seen as o is: the caller
// has o only where it may see it.
func (s *Service) OrderFills(ctx context.Context, o *Order) ([]Fill, error) {
	if o.Fills != nil {
		return o.Fills, nil
	}
	if o.FilledQuantity == 0 {
		return []Fill{}, nil
	}
	fs, err := s.store.Fills(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	var n int64
	for i, f := range fs {
		if n += f.Quantity; n >= o.FilledQuantity {
			return fs[:i+1], nil
		}
	}
	return fs, nil
}

// orderScope narrows f to the orders the viewer may see (see Orders); ok
// is false when that is none.
func (v *View) orderScope(f OrderFilter) (_ OrderFilter, ok bool) {
	f.BullPenID, f.ParticipantID = v.Room.ID, 0
	switch {
	case v.Viewer.Owner, v.Viewer.Member() && v.Room.TradeVisibility == TradesPublic:
	case v.Viewer.Member():
		f.ParticipantID = v.Viewer.ParticipantID
	default:
		return f, false
	}
	return f, true
}

// Trade is one fill of an order.
type Trade struct {
	Order *Order
	Fill  Fill
}

// Trades lists every fill of the orders the viewer may see (the orders of
// Orders, so the same rule), oldest fill first: the trades export.
func (v *View) Trades(ctx context.Context) ([]Trade, error) {
	f, ok := v.orderScope(OrderFilter{Filled: true, Limit: 500})
	out := []Trade{}
	for ok {
		page, _, err := v.s.store.Orders(ctx, f)
		if err != nil {
			return nil, err
		}
		if err := v.s.withFills(ctx, page); err != nil {
			return nil, err
		}
		for _, o := range page {
			for _, fl := range o.Fills {
				out = append(out, Trade{Order: o, Fill: fl})
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	slices.SortFunc(out, func(a, b Trade) int {
		if c := a.Fill.At.Compare(b.Fill.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Fill.ID, b.Fill.ID)
	})
	return out, nil
}

// Metrics are a participant's risk and performance figures, seen by
// whoever sees the room (like the leaderboard): the return at value (the
// portfolio value at current prices, from Standing, which the caller has
// read already for the participant's other money fields), the history
// figures as of the latest snapshot, the fill counts as of now.
//
// Errors: NOT_FOUND when p is not a seat of this room.
func (v *View) Metrics(ctx context.Context, p *Participant, value decimal.Decimal) (*PerformanceMetrics, error) {
	if p.BullPenID != v.Room.ID {
		return nil, Errorf(ENOTFOUND, "participant not found")
	}
	t, err := v.s.store.Track(ctx, p.ID)
	if ErrorCode(err) == ENOTFOUND {
		t, err = &Track{ParticipantID: p.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	m := t.Fresh(v.Room.StartingCash).Metrics(value, v.Room.StartingCash)
	return &m, nil
}

// EquityHistory is a participant's portfolio value at each snapshot in
// [from, to] (either nil: unbounded), downsampled to at most points (see
// Downsample). It is seen by whoever sees the room, as portfolioValue is.
//
// Errors: BAD_USER_INPUT for points outside 1..MaxEquityPoints or from
// after to; NOT_FOUND when p is not a seat of this room.
func (v *View) EquityHistory(ctx context.Context, p *Participant, from, to *time.Time, points int) ([]EquityPoint, error) {
	if points < 1 || points > MaxEquityPoints {
		return nil, Invalid("points", "must be between 1 and %d, got %d", MaxEquityPoints, points)
	}
	if from != nil && to != nil && from.After(*to) {
		return nil, Invalid("from", "must not be after to")
	}
	if p.BullPenID != v.Room.ID {
		return nil, Errorf(ENOTFOUND, "participant not found")
	}
	ps, err := v.s.store.EquityHistory(ctx, p.ID, from, to)
	if err != nil {
		return nil, err
	}
	return Downsample(ps, points), nil
}

// Ledger lists participant p's cash ledger, oldest first, entries with
// id > afterID, at most limit, and their total count. It reveals what p's
// orders and buying power do, so it follows SeesTrades: whoever may not
// see p's trades gets no entry and a count of 0, as Orders leaves them out.
//
// Errors: NOT_FOUND when p is not a seat of this room.
func (v *View) Ledger(ctx context.Context, p *Participant, afterID int64, limit int) ([]*LedgerEntry, int, error) {
	if p.BullPenID != v.Room.ID {
		return nil, 0, Errorf(ENOTFOUND, "participant not found")
	}
	if !v.SeesTrades(p.ID) {
		return []*LedgerEntry{}, 0, nil
	}
	es, total, err := v.s.store.Ledger(ctx, p.ID, afterID, limit)
	for _, e := range es {
		e.BullPenID = v.Room.ID
	}
	return es, total, err
}

// LedgerOrder is the order a ledger entry of this room belongs to, nil
// for one without (STARTING_CASH), under the same rule as Ledger.
//
// Errors: NOT_FOUND when the viewer may not see the entry's participant.
func (v *View) LedgerOrder(ctx context.Context, e *LedgerEntry) (*Order, error) {
	if e.OrderID == nil {
		return nil, nil
	}
	if e.BullPenID != v.Room.ID || !v.SeesTrades(e.ParticipantID) {
		return nil, Errorf(ENOTFOUND, "order not found")
	}
	o, err := v.s.store.Order(ctx, *e.OrderID)
	if err == nil && o.ParticipantID != e.ParticipantID {
		err = Errorf(ENOTFOUND, "order not found")
	}
	return o, err
}

// Sees reports whether the viewer may receive ev (an event of this room).
func (v *View) Sees(ev *Event) bool { return ev.BullPenID == v.Room.ID && v.Viewer.Sees(v.Room, ev) }

// Filter is Sees as a function that keeps only what it decides on: the
// viewer and the room's id and visibilities, not the view and its copy of
// the room (about 2.5 KiB with its decimals and strings, and still 800
// bytes as a BullPen with every other field zero), which a follower would
// otherwise hold for as long as it follows.
func (v *View) Filter() func(*Event) bool {
	viewer, id, visibility, trades := v.Viewer, v.Room.ID, v.Room.Visibility, v.Room.TradeVisibility
	return func(ev *Event) bool { return ev.BullPenID == id && viewer.sees(visibility, trades, ev) }
}

// Audience is what decides which of a room's events a viewer sees: two
// views of one room with equal audiences see exactly the same events (Sees
// agrees on every one), so a fan-out may ask once for all of them. Every
// anonymous spectator of a room shares one, as do all its members when
// its trades are PUBLIC; a member of a room with PRIVATE trades has one of
// their own.
type Audience struct {
	Room          int64
	Owner, Member bool
	// ParticipantID is the viewer's seat where it decides what they see
	// (their own trades, when the room's are PRIVATE), else 0.
	ParticipantID int64
}

// Audience returns the view's audience (the room's visibility and trade
// visibility, which Sees also reads, never change after creation).
func (v *View) Audience() Audience {
	a := Audience{Room: v.Room.ID, Owner: v.Viewer.Owner, Member: v.Viewer.Member()}
	if a.Member && !a.Owner && v.Room.TradeVisibility != TradesPublic {
		a.ParticipantID = v.Viewer.ParticipantID
	}
	return a
}

// CheckSubscription checks that the viewer may subscribe to the room's
// events of the given kinds (all when none) and, for a resume point, that
// it exists.
//
// Errors: FORBIDDEN when only order or position events are asked for by
// someone who is neither owner nor member (they could never see any);
// BAD_USER_INPUT for an afterSequence below 0 or beyond lastSequence.
func (v *View) CheckSubscription(after *int64, kinds ...EventKind) error {
	if len(kinds) > 0 && !slices.ContainsFunc(kinds, func(k EventKind) bool {
		return k == EventLeaderboard || k == EventRoomState || k == EventCorporateAction || k == EventAnnouncement
	}) &&
		!v.Viewer.Owner && !v.Viewer.Member() {
		return Errorf(EFORBIDDEN, "join bull pen %d to follow orders and positions", v.Room.ID)
	}
	return v.checkAfter(after)
}

func (v *View) checkAfter(after *int64) error {
	if after == nil {
		return nil
	}
	if *after < 0 {
		return Invalid("afterSequence", "must be 0 or more")
	}
	if *after > v.Room.LastSequence {
		return Invalid("afterSequence", "%d is beyond the room's last sequence %d", *after, v.Room.LastSequence)
	}
	return nil
}

// Events returns, oldest first, up to limit stored events after the given
// sequence that the viewer may see, of the given kinds (all when none):
// exactly what a subscription resuming there replays to the same viewer.
//
// Errors: BAD_USER_INPUT for an afterSequence below 0 or beyond the
// room's last sequence.
func (v *View) Events(ctx context.Context, after int64, limit int, kinds ...EventKind) ([]*Event, error) {
	if err := v.checkAfter(&after); err != nil {
		return nil, err
	}
	const batch = 500
	out := []*Event{}
	for len(out) < limit {
		evs, err := v.s.store.Events(ctx, v.Room.ID, after, batch)
		if err != nil {
			return nil, fmt.Errorf("events of room %d after %d: %w", v.Room.ID, after, err)
		}
		for _, ev := range evs {
			after = ev.Sequence
			if (len(kinds) == 0 || slices.Contains(kinds, ev.Kind)) && v.Sees(ev) {
				out = append(out, ev)
				if len(out) == limit {
					break
				}
			}
		}
		if len(evs) < batch {
			break
		}
	}
	return out, nil
}
