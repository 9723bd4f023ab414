package game

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// CanMove reports whether a room may go from one state to another.
func CanMove(from, to RoomState) bool {
	switch from {
	case RoomScheduled:
		return to == RoomActive || to == RoomCancelled
	case RoomActive:
		return to == RoomPaused || to == RoomEnded
	case RoomPaused:
		return to == RoomActive || to == RoomEnded
	}
	return false
}

var maxCash = decimal.New(1, 12)

// CreateBullPen opens a room owned by owner. It is SCHEDULED, or ACTIVE
// at once when it is due already (no startsAt, or one in the past).
//
// Errors: UNAUTHENTICATED without an owner; BAD_USER_INPUT naming the
// field for a bad name, times, cash, commission, symbols or limits.
func (s *Service) CreateBullPen(ctx context.Context, owner *User, in CreateBullPenInput) (*BullPen, error) {
	if owner == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to create a bull pen")
	}
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	if err := checkText("name", in.Name, ""); err != nil {
		return nil, err
	}
	b := &BullPen{
		Name: strings.TrimSpace(in.Name), OwnerID: owner.ID, State: RoomScheduled,
		StartingCash: decimal.New(100000, 0), Commission: decimal.Zero,
		Visibility: VisibilityPublic, TradeVisibility: TradesPrivate, MaxParticipants: in.MaxParticipants,
	}
	if b.Name == "" || utf8.RuneCountInString(b.Name) > 100 {
		return nil, Invalid("name", "must be 1 to 100 characters")
	}
	if in.Description != nil {
		if err := checkText("description", *in.Description, lineBreaks); err != nil {
			return nil, err
		}
		b.Description = strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(b.Description) > 2000 {
			return nil, Invalid("description", "must be at most 2000 characters")
		}
	}
	if err := setTimes(b, now, in.StartsAt, in.EndsAt); err != nil {
		return nil, err
	}
	if in.StartingCash != nil {
		b.StartingCash = *in.StartingCash
	}
	if !b.StartingCash.IsPositive() || !b.StartingCash.Equal(b.StartingCash.Truncate(2)) || b.StartingCash.GreaterThan(maxCash) {
		return nil, Invalid("startingCash", "must be a positive amount with at most 2 decimal places, at most %s", maxCash.String())
	}
	if in.Commission != nil {
		b.Commission = *in.Commission
	}
	if b.Commission.IsNegative() || !b.Commission.Equal(b.Commission.Truncate(4)) || b.Commission.GreaterThan(b.StartingCash) {
		return nil, Invalid("commission", "must be 0 or more, with at most 4 decimal places, and below startingCash")
	}
	if in.AllowShortSelling != nil {
		b.AllowShortSelling = *in.AllowShortSelling
	}
	if in.AllowedSymbols != nil {
		b.AllowedSymbols = []string{}
		for _, sym := range in.AllowedSymbols {
			sym = strings.ToUpper(strings.TrimSpace(sym))
			if _, ok := s.symbols[sym]; !ok {
				return nil, Invalid("allowedSymbols", "%q is not a known instrument", sym)
			}
			if !slices.Contains(b.AllowedSymbols, sym) {
				b.AllowedSymbols = append(b.AllowedSymbols, sym)
			}
		}
		if len(b.AllowedSymbols) == 0 {
			return nil, Invalid("allowedSymbols", "must name at least one symbol, or be left out to allow every instrument")
		}
		slices.Sort(b.AllowedSymbols)
	}
	if b.MaxParticipants != nil && (*b.MaxParticipants < 1 || *b.MaxParticipants > 100000) {
		return nil, Invalid("maxParticipants", "must be between 1 and 100000")
	}
	if err := validRules(in, &b.Rules); err != nil {
		return nil, err
	}
	execution, err := resolveExecution(in.Execution)
	if err != nil {
		return nil, err
	}
	b.Execution = execution
	if err := validCarryingCosts(in, &b.CarryingCosts); err != nil {
		return nil, err
	}
	if err := setHours(in, b); err != nil {
		return nil, err
	}
	if in.Visibility != nil {
		b.Visibility = *in.Visibility
	}
	if in.TradeVisibility != nil {
		b.TradeVisibility = *in.TradeVisibility
	}
	b.RankBy = RankReturn
	if in.RankBy != nil {
		if *in.RankBy != RankReturn && *in.RankBy != RankSharpe {
			return nil, Invalid("rankBy", "must be RETURN or SHARPE")
		}
		b.RankBy = *in.RankBy
	}
	if err := setTeams(in, b); err != nil {
		return nil, err
	}
	assignments, err := s.validAssignments(in.Assignments, b)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, b, assignments)
}

// MaxRoomDuration bounds how far ahead of now a new room may end (so
// also start): 10 years of 365 days. A room's elapsed and remaining
// seconds then stay well within GraphQL's 32-bit Int.
const MaxRoomDuration = 10 * 365 * 24 * time.Hour

// setTimes sets a new room's startsAt and endsAt, checked alike for
// createBullPen and cloneBullPen. A startsAt left out or in the past is
// now: a room cannot have been running before it existed.
func setTimes(b *BullPen, now time.Time, startsAt *time.Time, endsAt time.Time) error {
	b.StartsAt = now
	if startsAt != nil && startsAt.After(now) {
		b.StartsAt = startsAt.UTC().Truncate(time.Millisecond)
	}
	b.EndsAt = endsAt.UTC().Truncate(time.Millisecond)
	if !b.EndsAt.After(now) {
		return Invalid("endsAt", "must be in the future")
	}
	if !b.EndsAt.After(b.StartsAt) {
		return Invalid("endsAt", "must be after startsAt")
	}
	if latest := now.Add(MaxRoomDuration); b.EndsAt.After(latest) {
		return Invalid("endsAt", "must be at most 10 years from now (%s), got %s", latest.Format(time.RFC3339), b.EndsAt.Format(time.RFC3339))
	}
	return nil
}

// open stores a new room b (checked already) and its assignments, in one
// transaction, with a new invite code. It is SCHEDULED, or ACTIVE at once
// when it is due already.
func (s *Service) open(ctx context.Context, b *BullPen, assignments []Assignment) (*BullPen, error) {
	b.InviteCode = newInviteCode()
	err := s.store.Update(ctx, func(tx Tx) error {
		b.CreatedAt = tx.Now()
		if err := tx.InsertBullPen(ctx, b); err != nil {
			return err
		}
		if len(assignments) > 0 {
			if err := tx.InsertAssignments(ctx, b.ID, assignments); err != nil {
				return err
			}
		}
		if b.StartsAt.After(tx.Now()) {
			return nil
		}
		// Due already (no startsAt, or one in the past): it starts in
		// this transaction, so no reader ever sees it SCHEDULED.
		started, err := s.move(ctx, tx, nil, b.ID, RoomActive, TriggerSchedule)
		if err != nil {
			return err
		}
		if started == nil {
			return fmt.Errorf("room %d did not start", b.ID)
		}
		b.State, b.StartsAt, b.LastSequence = started.State, started.StartsAt, started.LastSequence
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.State == RoomActive {
		s.markDirty(b.ID)
	}
	s.nudgeScheduler()
	return b, nil
}

// maxRuleCount bounds maxOrdersPerMinute and maxOpenOrders.
const maxRuleCount = 100000

// validPercent checks a percent setting (nil: not set): more than 0, at
// most 100, with at most 4 decimal places.
func validPercent(field string, p *decimal.Decimal) error {
	if p != nil && (!p.IsPositive() || p.GreaterThan(hundred) || !p.Equal(p.Truncate(4))) {
		return Invalid(field, "must be more than 0 and at most 100, with at most 4 decimal places, got %s", p.String())
	}
	return nil
}

// validRules checks the room rules of in and copies them to r.
func validRules(in CreateBullPenInput, r *Rules) error {
	if err := validPercent("maxPositionPercent", in.MaxPositionPercent); err != nil {
		return err
	}
	if p := in.MinSharePrice; p != nil {
		if err := validPrice("minSharePrice", *p); err != nil {
			return err
		}
	}
	if n := in.MaxOrdersPerMinute; n != nil && (*n < 1 || *n > maxRuleCount) {
		return Invalid("maxOrdersPerMinute", "must be between 1 and %d, got %d", maxRuleCount, *n)
	}
	if n := in.MaxOpenOrders; n != nil && (*n < 1 || *n > maxRuleCount) {
		return Invalid("maxOpenOrders", "must be between 1 and %d, got %d", maxRuleCount, *n)
	}
	if err := validPercent("maintenanceMarginPercent", in.MaintenanceMarginPercent); err != nil {
		return err
	}
	*r = Rules{MaxPositionPercent: in.MaxPositionPercent, MinSharePrice: in.MinSharePrice,
		MaxOrdersPerMinute: in.MaxOrdersPerMinute, MaxOpenOrders: in.MaxOpenOrders,
		MaintenanceMarginPercent: in.MaintenanceMarginPercent, RequireNote: in.RequireNote != nil && *in.RequireNote}
	return nil
}

// validCarryingCosts checks the carrying costs of in and copies them to c:
// each an annual percent from 0 to 100 with at most 4 decimal places (0
// is allowed: it is stated, and accrues nothing).
func validCarryingCosts(in CreateBullPenInput, c *CarryingCosts) error {
	for _, f := range []struct {
		name string
		p    *decimal.Decimal
	}{
		{"cashInterestPercent", in.CashInterestPercent},
		{"marginInterestPercent", in.MarginInterestPercent},
		{"borrowFeePercent", in.BorrowFeePercent},
	} {
		if p := f.p; p != nil && (p.IsNegative() || p.GreaterThan(hundred) || !p.Equal(p.Truncate(4))) {
			return Invalid(f.name, "must be an annual percent from 0 to 100, with at most 4 decimal places, got %s", p.String())
		}
	}
	*c = CarryingCosts{CashInterestPercent: in.CashInterestPercent, MarginInterestPercent: in.MarginInterestPercent,
		BorrowFeePercent: in.BorrowFeePercent}
	return nil
}

// CloneBullPen opens a rematch of room id for its owner: a new room with
// every setting of the old one (a copy of the whole room: a setting added
// to BullPen comes along as long as InsertBullPen stores it, as it must
// for CreateBullPen anyway) and its assignments, under the new times, checked as for
// CreateBullPen, and a new invite code. Only its identity, state, times,
// sequence and invite code are new.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown room or a PRIVATE one
// owner may not see; FORBIDDEN for anyone but the owner; BAD_USER_INPUT
// naming the field for bad times.
func (s *Service) CloneBullPen(ctx context.Context, owner *User, id int64, startsAt *time.Time, endsAt time.Time) (*BullPen, error) {
	if owner == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to clone a bull pen")
	}
	view, err := s.View(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if !view.Viewer.Owner {
		return nil, Errorf(EFORBIDDEN, "only the owner of bull pen %d may clone it", id)
	}
	b := *view.Room
	if b.AllowedSymbols != nil {
		b.AllowedSymbols = slices.Clone(b.AllowedSymbols)
	}
	if h := b.TradingHours; h != nil {
		hours := *h
		hours.Days = slices.Clone(h.Days)
		b.TradingHours = &hours
	}
	b.ID, b.State, b.LastSequence, b.InviteCode = 0, RoomScheduled, 0, ""
	if err := setTimes(&b, s.clock.Now().UTC().Truncate(time.Millisecond), startsAt, endsAt); err != nil {
		return nil, err
	}
	// The assignments are rules of the room, stored beside it: they come
	// along too.
	assignments, err := s.store.Assignments(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, &b, assignments)
}

func newInviteCode() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}

// JoinBullPen seats user in a room with the starting cash. Joining twice
// returns the same seat.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown room and, alike, for a
// PRIVATE room without the right invite code; CONFLICT when the room has
// ended, was cancelled or is full.
func (s *Service) JoinBullPen(ctx context.Context, user *User, roomID int64, inviteCode *string) (*Participant, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to join a bull pen")
	}
	var p *Participant
	err := s.store.Update(ctx, func(tx Tx) error {
		// One answer for an unknown id and a private room without its
		// code, so that the two cannot be told apart.
		notFound := Errorf(ENOTFOUND, "bull pen %d not found (a private room needs its inviteCode)", roomID)
		room, err := lockRoom(ctx, tx, roomID)
		if ErrorCode(err) == ENOTFOUND {
			return notFound
		} else if err != nil {
			return err
		}
		if existing, err := tx.ParticipantByUser(ctx, roomID, user.ID); err == nil {
			p = existing
			return nil
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		if room.Visibility == VisibilityPrivate && room.OwnerID != user.ID && (inviteCode == nil || subtle.ConstantTimeCompare([]byte(*inviteCode), []byte(room.InviteCode)) != 1) {
			return notFound
		}
		if room.State == RoomEnded || room.State == RoomCancelled {
			return Errorf(ECONFLICT, "bull pen %d is %s: it can no longer be joined", room.ID, room.State)
		}
		if room.MaxParticipants != nil {
			n, err := tx.ParticipantCount(ctx, roomID)
			if err != nil {
				return err
			}
			if n >= *room.MaxParticipants {
				return Errorf(ECONFLICT, "bull pen %d is full (%d participants)", room.ID, *room.MaxParticipants)
			}
		}
		p = &Participant{BullPenID: roomID, UserID: user.ID, Cash: room.StartingCash, JoinedAt: tx.Now()}
		if err := tx.InsertParticipant(ctx, p); err != nil {
			return err
		}
		l := &ledger{participantID: p.ID, at: tx.Now(), cash: decimal.Zero, power: decimal.Zero}
		l.add(LedgerStartingCash, p.Cash, 0)
		return l.write(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	s.markDirty(roomID)
	return p, nil
}

// Move changes a room's state by hand. actor must own the room.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown room or a PRIVATE one
// the actor is not in; FORBIDDEN for anyone else but the owner;
// CONFLICT naming the current state when the state machine forbids it.
//
// from, when given, narrows the states the move may start from: ACTIVE is
// reached by "start" from SCHEDULED and by "resume" from PAUSED, and a
// client asking for one must not get the other.
func (s *Service) Move(ctx context.Context, actor *User, roomID int64, to RoomState, from ...RoomState) (*BullPen, error) {
	if actor == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to manage a bull pen")
	}
	var room *BullPen
	err := s.store.Update(ctx, func(tx Tx) error {
		if to == RoomActive {
			// A resumed room re-checks its resting orders against the
			// stored prices: hold their symbols first, as Tick does, so
			// no price slips in between (a paused room gets no new ones).
			// Shared locks never wait on each other, and a symbol held
			// already is not taken again, so any order will do.
			open, err := tx.OpenOrdersByRoom(ctx, roomID)
			if err != nil {
				return err
			}
			for _, o := range open {
				if err := tx.LockSymbol(ctx, o.Symbol, false); err != nil {
					return err
				}
			}
		}
		var err error
		room, err = s.move(ctx, tx, actor, roomID, to, TriggerManual, from...)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.afterMove(room)
	return room, nil
}

func (s *Service) afterMove(room *BullPen) {
	s.markDirty(room.ID)
	s.nudgeScheduler()
}

var verbs = map[RoomState]string{RoomActive: "start or resume", RoomPaused: "pause", RoomEnded: "end", RoomCancelled: "cancel"}

// move runs one transition in tx. For the schedule it returns (nil, nil)
// when the move is not (or no longer) due: another instance made it.
func (s *Service) move(ctx context.Context, tx Tx, actor *User, roomID int64, to RoomState, trigger StateTrigger, from ...RoomState) (*BullPen, error) {
	room, err := lockRoom(ctx, tx, roomID)
	if err != nil {
		return nil, err
	}
	now := tx.Now()
	verb := verbs[to]
	if to == RoomActive && len(from) == 1 {
		verb = map[RoomState]string{RoomScheduled: "start", RoomPaused: "resume"}[from[0]]
	}
	if trigger == TriggerManual && room.OwnerID != actor.ID {
		v, err := viewerOf(ctx, tx, actor, room)
		if err != nil {
			return nil, err
		}
		if !v.SeesRoom(room) {
			return nil, roomNotFound(room.ID)
		}
		return nil, Errorf(EFORBIDDEN, "only the owner of bull pen %d may %s it", room.ID, verb)
	}
	if !CanMove(room.State, to) || (len(from) > 0 && !slices.Contains(from, room.State)) {
		if trigger == TriggerSchedule {
			return nil, nil
		}
		return nil, Errorf(ECONFLICT, "cannot %s bull pen %d: it is %s", verb, room.ID, room.State)
	}
	if trigger == TriggerSchedule {
		due := (to == RoomActive && room.State == RoomScheduled && !now.Before(room.StartsAt)) ||
			(to == RoomEnded && !now.Before(room.EndsAt))
		if !due {
			return nil, nil
		}
	}
	previous := room.State
	startsAt, endsAt := room.StartsAt, room.EndsAt
	if trigger == TriggerManual && to == RoomActive && previous == RoomScheduled && now.Before(startsAt) {
		startsAt = now
	}
	if trigger == TriggerManual && to == RoomEnded && now.Before(endsAt) {
		endsAt = now
	}
	if to == RoomEnded {
		// Carrying costs due before the end are booked first, in this
		// transaction: none is lost to the end, none comes after it.
		if err := s.accrueUntil(ctx, tx, room, endsAt); err != nil {
			return nil, err
		}
	}
	moved, err := tx.MoveBullPen(ctx, room.ID, previous, to, startsAt, endsAt)
	if err != nil {
		return nil, err
	}
	if !moved {
		if trigger == TriggerSchedule {
			return nil, nil
		}
		return nil, Errorf(ECONFLICT, "cannot %s bull pen %d: its state changed", verb, room.ID)
	}
	room.State, room.StartsAt, room.EndsAt = to, startsAt, endsAt
	payload := RoomStatePayload{
		PreviousState: previous, State: to, Trigger: trigger, StartsAt: startsAt, EndsAt: endsAt,
		ElapsedSeconds: elapsed(room, now), RemainingSeconds: remaining(room, now),
	}
	if actor != nil {
		payload.ActorID = &actor.ID
	}
	if _, err := tx.AppendEvent(ctx, room.ID, EventRoomState, nil, payload); err != nil {
		return nil, err
	}
	if to == RoomActive && previous == RoomPaused {
		// Prices kept moving while the room was paused: what they crossed
		// fills now, in this transaction, before anything else trades.
		if err := s.sweepRoom(ctx, tx, room, map[int64]bool{}); err != nil {
			return nil, err
		}
	}
	if to == RoomEnded || to == RoomCancelled {
		open, err := tx.OpenOrdersByRoom(ctx, room.ID)
		if err != nil {
			return nil, err
		}
		for _, o := range open {
			if err := s.finishOrder(ctx, tx, o, OrderStatusExpired, OrderEventExpired); err != nil {
				return nil, err
			}
		}
	}
	if to == RoomEnded {
		if _, err := s.snapshot(ctx, tx, room, true, nil); err != nil {
			return nil, err
		}
	}
	room.LastSequence, err = lastSequence(ctx, tx, room.ID)
	return room, err
}

func lastSequence(ctx context.Context, tx Tx, roomID int64) (int64, error) {
	b, err := tx.BullPen(ctx, roomID)
	if err != nil {
		return 0, err
	}
	return b.LastSequence, nil
}

// elapsed and remaining are whole seconds, at most math.MaxInt32 (a
// GraphQL Int): a room created before times were bounded may span more.
func elapsed(b *BullPen, now time.Time) int64 {
	end := now
	if end.After(b.EndsAt) {
		end = b.EndsAt
	}
	if end.Before(b.StartsAt) {
		return 0
	}
	return seconds(end.Sub(b.StartsAt))
}

func remaining(b *BullPen, now time.Time) int64 {
	if !now.Before(b.EndsAt) {
		return 0
	}
	if b.State == RoomEnded || b.State == RoomCancelled {
		return 0
	}
	return seconds(b.EndsAt.Sub(now))
}

// seconds is d in whole seconds, at most math.MaxInt32. A time.Duration
// saturates at about 292 years, so the cap is what keeps it an Int.
func seconds(d time.Duration) int64 {
	return min(int64(d/time.Second), math.MaxInt32)
}

// AdvanceDue makes every move the clock has made due (start at startsAt,
// end at endsAt), including those that came due while the server was
// down. It returns the earliest future time a move is due, or zero.
func (s *Service) AdvanceDue(ctx context.Context) (time.Time, error) {
	for {
		rooms, err := s.store.LiveBullPens(ctx)
		if err != nil {
			return time.Time{}, err
		}
		now := s.clock.Now()
		var next time.Time
		movedAny := false
		for _, r := range rooms {
			var to RoomState
			switch {
			case r.State == RoomScheduled && !now.Before(r.StartsAt):
				to = RoomActive
			case (r.State == RoomActive || r.State == RoomPaused) && !now.Before(r.EndsAt):
				to = RoomEnded
			default:
				due := r.EndsAt
				if r.State == RoomScheduled {
					due = r.StartsAt
				}
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			var moved *BullPen
			err := s.store.Update(ctx, func(tx Tx) error {
				var err error
				moved, err = s.move(ctx, tx, nil, r.ID, to, TriggerSchedule)
				return err
			})
			if err != nil {
				s.log.Error("scheduled move failed", "room", r.ID, "to", to, "err", err)
				continue
			}
			if moved != nil {
				movedAny = true
				s.markDirty(moved.ID)
				s.log.Info("room moved by schedule", "room", r.ID, "state", to)
			}
		}
		if !movedAny {
			return next, nil
		}
	}
}

// expiryBatch is how many due orders ExpireDue reads at a time.
const expiryBatch = 100

// ExpireDue makes every OPEN order whose expiresAt has come EXPIRED, with
// its OrderEvent, including those that came due while the server was
// down. Each goes in a transaction of its own under its room's lock, by a
// conditional update (only if still OPEN), so of several instances
// exactly one expires it. It returns the earliest future expiry, or zero.
func (s *Service) ExpireDue(ctx context.Context) (time.Time, error) {
	for {
		due, err := s.store.DueOrders(ctx, s.clock.Now(), expiryBatch)
		if err != nil {
			return time.Time{}, err
		}
		expiredAny := false
		for _, o := range due {
			var expired bool
			err := s.store.Update(ctx, func(tx Tx) error {
				var err error
				expired, err = s.expire(ctx, tx, o.BullPenID, o.ID)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return time.Time{}, ctx.Err()
				}
				s.log.Error("expiring an order failed", "order", o.ID, "room", o.BullPenID, "err", err)
				continue
			}
			if expired {
				expiredAny = true
				s.log.Info("order expired", "order", o.ID, "room", o.BullPenID)
			}
		}
		// A full batch that moved nothing would come back the same.
		if len(due) < expiryBatch || !expiredAny {
			break
		}
	}
	return s.store.NextExpiry(ctx)
}

// expire makes one order EXPIRED in tx if it is still working and due.
func (s *Service) expire(ctx context.Context, tx Tx, roomID, orderID int64) (bool, error) {
	if _, err := tx.LockBullPen(ctx, roomID); err != nil {
		return false, err
	}
	o, err := tx.Order(ctx, orderID)
	if err != nil || !o.Working() || !expiryDue(o, tx.Now()) {
		return false, err
	}
	// Read again under the room's lock and found OPEN: no other instance
	// can expire it now. finishOrder releases its reservation in the
	// ledger too.
	return true, s.finishOrder(ctx, tx, o, OrderStatusExpired, OrderEventExpired)
}

// RunScheduler moves rooms at their startsAt and endsAt, expires orders
// at their expiresAt, books carrying costs at 00:00 UTC (AccrueDue), and
// applies corporate actions at their exDate and payDate
// (ApplyCorporateActions), until ctx is done. It sleeps until the
// earliest due time (at most a minute, so rooms and orders made by other
// instances are seen), and wakes early when rooms change here, an order
// with an expiry rests or a corporate action is announced here.
func (s *Service) RunScheduler(ctx context.Context) error {
	for {
		next, err := s.AdvanceDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler", "err", err)
		}
		expiry, err := s.ExpireDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler: expiry", "err", err)
		}
		if !expiry.IsZero() && (next.IsZero() || expiry.Before(next)) {
			next = expiry
		}
		accrual, err := s.AccrueDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler: carrying costs", "err", err)
		}
		if !accrual.IsZero() && (next.IsZero() || accrual.Before(next)) {
			next = accrual
		}
		action, err := s.ApplyCorporateActions(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler: corporate actions", "err", err)
		}
		if !action.IsZero() && (next.IsZero() || action.Before(next)) {
			next = action
		}
		wait := time.Minute
		if !next.IsZero() {
			if d := next.Sub(s.clock.Now()); d < wait {
				wait = max(d, 0)
			}
		}
		timer := s.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.Chan():
		case <-s.wake:
			timer.Stop()
		}
	}
}
