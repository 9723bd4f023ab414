package game

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// The organiser's hand (issue 20): what a room's owner may do to its
// players and say to the room. Each act commits in one transaction with
// its consequences and an ANNOUNCEMENT event in the room's log:
//
//   - RemoveParticipant: the seat's working orders cancelled (their
//     CANCELLED order events, holds released in the ledger), the seat
//     ended (removedAt, removedReason), and a public announcement naming
//     the player and the reason. The player stays in the results.
//   - AdjustCash: an ADJUSTMENT ledger line with its reason, cash changed,
//     and an announcement seen only by whoever sees that participant's
//     orders (the amount is as private as the ledger).
//   - Announce: a public announcement.

// MaxReasonLength bounds the reason of a removal or an adjustment, and
// MaxAnnouncementLength an announcement, in characters.
const (
	MaxReasonLength       = 500
	MaxAnnouncementLength = 1000
)

// checkWords checks a reason or message: trimmed, 1 to max characters,
// no control characters (line breaks allowed when lines), no bidi
// controls. It returns the trimmed text.
func checkWords(field, s string, max int, lines bool) (string, error) {
	allowed := ""
	if lines {
		allowed = lineBreaks
	}
	if err := checkText(field, s, allowed); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n == 0 || n > max {
		return "", Invalid(field, "must be 1 to %d characters, got %d", max, n)
	}
	return s, nil
}

// ownerOfSeat reads participant id and checks that user owns its room:
// NOT_FOUND, with one message, for an unknown participant and for one of a
// room user may not see; FORBIDDEN for anyone else but the owner.
func (s *Service) ownerOfSeat(ctx context.Context, user *User, id int64, what string) (*Participant, error) {
	notFound := Errorf(ENOTFOUND, "participant %d not found", id)
	p, err := s.store.Participant(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	view, err := s.View(ctx, user, p.BullPenID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if !view.Viewer.Owner {
		return nil, Errorf(EFORBIDDEN, "only the owner of bull pen %d may %s", p.BullPenID, what)
	}
	return p, nil
}

// announcement appends an ANNOUNCEMENT event: for the whole room when
// about is nil, else for whoever sees that participant's orders.
func announcement(ctx context.Context, tx Tx, roomID int64, about *int64, message string) (*Event, error) {
	return tx.AppendEvent(ctx, roomID, EventAnnouncement, about, AnnouncementPayload{Message: message})
}

// RemoveParticipant ends a player's seat, for the room's owner: in one
// transaction their working orders are cancelled (each with its
// CANCELLED event, its hold released in the ledger), the seat is ended
// (RemovedAt, RemovedReason) and a public announcement names the player
// and the reason. They keep their cash and positions, stay on the
// leaderboard and in results.csv (marked removed), and can place no more
// orders (FORBIDDEN).
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown participant or one
// of a room user may not see; FORBIDDEN for anyone but the owner;
// BAD_USER_INPUT naming reason (1 to 500 characters, one line);
// CONFLICT when the seat was ended already or the room is over.
func (s *Service) RemoveParticipant(ctx context.Context, user *User, participantID int64, reason string) (*Participant, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to remove a participant")
	}
	p, err := s.ownerOfSeat(ctx, user, participantID, "remove its participants")
	if err != nil {
		return nil, err
	}
	reason, err = checkWords("reason", reason, MaxReasonLength, false)
	if err != nil {
		return nil, err
	}
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	roomID := p.BullPenID
	err = s.store.Apply(ctx, Change{Rooms: []int64{roomID}, Run: func(ctx context.Context, tx Tx) error {
		room, err := lockRoom(ctx, tx, roomID)
		if err != nil {
			return err
		}
		if room.State.Over() {
			return Errorf(ECONFLICT, "bull pen %d is %s: its results are final", room.ID, room.State)
		}
		removed, err := tx.RemoveParticipant(ctx, participantID, tx.Now(), reason)
		if err != nil {
			return err
		} else if !removed {
			return Errorf(ECONFLICT, "participant %d was removed already", participantID)
		}
		open, err := tx.OpenOrders(ctx, participantID)
		if err != nil {
			return err
		}
		for _, o := range open {
			if err := s.finishOrder(ctx, tx, o, OrderStatusCancelled, OrderEventCancelled); err != nil {
				return err
			}
		}
		if _, err := announcement(ctx, tx, roomID, nil, fmt.Sprintf("%s was removed from the room by its organiser: %s", u.Username, reason)); err != nil {
			return err
		}
		p, err = tx.Participant(ctx, participantID)
		return err
	}})
	if err != nil {
		return nil, err
	}
	s.markDirty(roomID)
	return p, nil
}

// AdjustCash books an ADJUSTMENT of amount (positive or negative, at most
// 2 decimal places) with its reason to a participant's cash, for the
// room's owner: the ledger line, the cash and an announcement seen only by
// whoever sees that participant's orders (the amount is as private as the
// ledger), in one transaction; the leaderboard is marked to be refreshed.
//
// Cash never goes below what the account holds back: a negative amount
// may take at most the participant's buying power as the ledger books it
// (cash, less what open orders hold back, less the booked short margin);
// more is BAD_USER_INPUT naming amount.
//
// Errors: UNAUTHENTICATED; NOT_FOUND and FORBIDDEN as RemoveParticipant;
// BAD_USER_INPUT naming amount or reason; CONFLICT when the seat was ended
// or the room is over.
func (s *Service) AdjustCash(ctx context.Context, user *User, participantID int64, amount decimal.Decimal, reason string) (*LedgerEntry, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to adjust cash")
	}
	p, err := s.ownerOfSeat(ctx, user, participantID, "adjust its participants' cash")
	if err != nil {
		return nil, err
	}
	if amount.IsZero() || !amount.Equal(amount.Truncate(2)) || amount.Abs().GreaterThan(maxCash) {
		return nil, Invalid("amount", "must be a non-zero amount with at most 2 decimal places, at most %s either way, got %s", maxCash.String(), amount.String())
	}
	reason, err = checkWords("reason", reason, MaxReasonLength, false)
	if err != nil {
		return nil, err
	}
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	roomID := p.BullPenID
	var entry *LedgerEntry
	err = s.store.Apply(ctx, Change{Rooms: []int64{roomID}, Run: func(ctx context.Context, tx Tx) error {
		entry = nil
		room, err := lockRoom(ctx, tx, roomID)
		if err != nil {
			return err
		}
		if room.State.Over() {
			return Errorf(ECONFLICT, "bull pen %d is %s: its results are final", room.ID, room.State)
		}
		a, err := holdings(ctx, tx, participantID)
		if err != nil {
			return err
		}
		if a.p.RemovedAt != nil {
			return Errorf(ECONFLICT, "participant %d was removed from bull pen %d: their seat has ended", participantID, roomID)
		}
		power := a.p.Cash.Sub(a.reserved(0)).Sub(a.bookedMargin())
		if amount.IsNegative() && power.Add(amount).IsNegative() {
			return Invalid("amount", "would take %s from an account whose buying power is %s: cash may not go below what the account holds back",
				amount.Neg().String(), power.String())
		}
		l := &ledger{participantID: participantID, at: tx.Now(), cash: a.p.Cash, power: power}
		l.add(LedgerAdjustment, amount, 0)
		entry = l.entries[0]
		entry.Reason = &reason
		if err := tx.SetCash(ctx, participantID, l.cash); err != nil {
			return err
		}
		if err := l.write(ctx, tx); err != nil {
			return err
		}
		pid := participantID
		_, err = announcement(ctx, tx, roomID, &pid, fmt.Sprintf("The organiser adjusted %s's cash by %s (cash now %s): %s",
			u.Username, signed(amount), l.cash.StringFixed(2), reason))
		return err
	}})
	if err != nil {
		return nil, err
	}
	entry.BullPenID = roomID
	s.markDirty(roomID)
	return entry, nil
}

// signed writes an amount with its sign and 2 decimal places.
func signed(d decimal.Decimal) string {
	if d.IsNegative() {
		return d.StringFixed(2)
	}
	return "+" + d.StringFixed(2)
}

// Announce says message to everyone who sees the room, for its owner: an
// ANNOUNCEMENT event in the room's log, delivered like a room-state event.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown room or one user may
// not see; FORBIDDEN for anyone but the owner; BAD_USER_INPUT naming
// message (1 to 1000 characters; line breaks allowed); CONFLICT when the
// room is over (its log has ended).
func (s *Service) Announce(ctx context.Context, user *User, roomID int64, message string) (*Event, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to announce")
	}
	view, err := s.View(ctx, user, roomID)
	if err != nil {
		return nil, err
	}
	if !view.Viewer.Owner {
		return nil, Errorf(EFORBIDDEN, "only the owner of bull pen %d may announce in it", roomID)
	}
	message, err = checkWords("message", message, MaxAnnouncementLength, true)
	if err != nil {
		return nil, err
	}
	var ev *Event
	err = s.store.Apply(ctx, Change{Rooms: []int64{roomID}, Run: func(ctx context.Context, tx Tx) error {
		room, err := lockRoom(ctx, tx, roomID)
		if err != nil {
			return err
		}
		if room.State.Over() {
			return Errorf(ECONFLICT, "bull pen %d is %s: its log has ended", room.ID, room.State)
		}
		ev, err = announcement(ctx, tx, roomID, nil, message)
		return err
	}})
	if err != nil {
		return nil, err
	}
	return ev, nil
}
