package game

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Leagues: standings across rooms (a season of weekly contests).
//
//   - Any signed-in user may create a league; they own it.
//   - Only the league's owner adds rooms to it, and only rooms they own
//     (so nobody can pull someone else's room into their season). A room
//     may be added in any state; it counts once it has ENDED. Adding a
//     room that is in the league already changes nothing.
//   - Each ENDED room gives points by final rank (its final leaderboard
//     snapshot): LeaguePoints for ranks 1 to 10, nothing below. Tied
//     players share the rank the leaderboard gives them (1, 1, 3), so they
//     share the higher points and the next rank's points are skipped.
//     A player the organiser removed earns nothing there, and the
//     others' points follow their rank without them (leagueRanks).
//   - Who sees what follows the rooms: a league is seen by its owner and
//     by whoever may see one of its rooms (else it does not exist, as a
//     hidden room does not); its rooms and standings show and count only
//     the rooms the viewer may see.

// League is a set of rooms whose results add up.
type League struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	OwnerID   int64     `db:"owner_id"`
	CreatedAt time.Time `db:"created_at"`
}

// LeagueStanding is one player's line in a league's standings.
type LeagueStanding struct {
	UserID      int64
	Rank        int
	Points      int
	RoomsPlayed int
}

// LeaguePoints are the points of final ranks 1 to 10 in an ended room.
var LeaguePoints = [...]int{25, 18, 15, 12, 10, 8, 6, 4, 2, 1}

// MaxLeagueRooms bounds the rooms of one league, and so the work of its
// standings.
const MaxLeagueRooms = 100

// pointsFor is the points of final rank in a room.
func pointsFor(rank int) int {
	if rank < 1 || rank > len(LeaguePoints) {
		return 0
	}
	return LeaguePoints[rank-1]
}

// leagueRanks is each seat's rank for league points: its final rank
// among the players the organiser did not remove (a removed player has
// rank 0, so no points, and whoever finished below them moves up), ties
// still sharing the higher rank.
func leagueRanks(entries []LeaderboardEntry, removed map[int64]bool) map[int64]int {
	ranks := make(map[int64]int, len(entries))
	kept := 0 // players not removed with a better final rank than e
	prev, prevRank := 0, 0
	for _, e := range entries { // in rank order
		if removed[e.ParticipantID] {
			continue
		}
		if e.Rank != prev {
			prev, prevRank = e.Rank, kept+1
		}
		ranks[e.ParticipantID] = prevRank
		kept++
	}
	return ranks
}

// leagueNotFound is the one answer for a league that does not exist and
// for one the caller may not see.
func leagueNotFound(id int64) *Error {
	return Errorf(ENOTFOUND, "league %d not found", id)
}

// CreateLeague opens a league owned by owner. Its name is checked as a
// room's is.
//
// Errors: UNAUTHENTICATED without an owner; BAD_USER_INPUT naming "name".
func (s *Service) CreateLeague(ctx context.Context, owner *User, name string) (*League, error) {
	if owner == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to create a league")
	}
	if err := checkText("name", name, ""); err != nil {
		return nil, err
	}
	l := &League{Name: strings.TrimSpace(name), OwnerID: owner.ID}
	if l.Name == "" || utf8.RuneCountInString(l.Name) > 100 {
		return nil, Invalid("name", "must be 1 to 100 characters")
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		l.CreatedAt = tx.Now()
		return tx.InsertLeague(ctx, l)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// AddRoomToLeague adds room roomID to league leagueID. Adding a room that
// is in the league already is a no-op that returns the league.
//
// Errors: UNAUTHENTICATED without an actor; NOT_FOUND for a league or a
// room that does not exist or that actor may not see; FORBIDDEN when
// actor does not own the league, or the room; CONFLICT when the league
// holds MaxLeagueRooms rooms already.
func (s *Service) AddRoomToLeague(ctx context.Context, actor *User, leagueID, roomID int64) (*League, error) {
	if actor == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to add a room to a league")
	}
	var league *League
	err := s.store.Update(ctx, func(tx Tx) error {
		l, err := tx.LockLeague(ctx, leagueID)
		if ErrorCode(err) == ENOTFOUND {
			return leagueNotFound(leagueID)
		} else if err != nil {
			return err
		}
		if l.OwnerID != actor.ID {
			lv, err := s.leagueView(ctx, tx, actor, l)
			if err != nil {
				return err
			}
			if lv == nil {
				return leagueNotFound(leagueID)
			}
			return Errorf(EFORBIDDEN, "only the owner of league %d may add rooms to it", l.ID)
		}
		room, err := tx.BullPen(ctx, roomID)
		if ErrorCode(err) == ENOTFOUND {
			return roomNotFound(roomID)
		} else if err != nil {
			return err
		}
		if room.OwnerID != actor.ID {
			v, err := viewerOf(ctx, tx, actor, room)
			if err != nil {
				return err
			}
			if !v.SeesRoom(room) {
				return roomNotFound(roomID)
			}
			return Errorf(EFORBIDDEN, "only the owner of bull pen %d may add it to a league", room.ID)
		}
		rooms, err := tx.LeagueRooms(ctx, l.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(rooms, func(b *BullPen) bool { return b.ID == room.ID }) {
			league = l
			return nil
		}
		if len(rooms) >= MaxLeagueRooms {
			return Errorf(ECONFLICT, "league %d holds %d rooms, the most a league may hold", l.ID, MaxLeagueRooms)
		}
		if err := tx.AddLeagueRoom(ctx, l.ID, room.ID); err != nil {
			return err
		}
		league = l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return league, nil
}

// LeagueView is what one viewer may read of one league: the league and
// the views of the rooms in it they may see, by room id.
type LeagueView struct {
	League *League
	Rooms  []*View
	s      *Service
}

// League loads league id as user (nil: anonymous) sees it.
//
// Errors: NOT_FOUND for a league that does not exist or that user may not
// see (they own it not and may see none of its rooms), alike.
func (s *Service) League(ctx context.Context, user *User, id int64) (*LeagueView, error) {
	var lv *LeagueView
	err := s.store.Read(ctx, func(q Queries) error {
		l, err := q.League(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return leagueNotFound(id)
		} else if err != nil {
			return err
		}
		lv, err = s.leagueView(ctx, q, user, l)
		if err == nil && lv == nil {
			err = leagueNotFound(id)
		}
		return err
	})
	return lv, err
}

// leagueView makes user's view of l read in q, nil when user may not see
// it.
func (s *Service) leagueView(ctx context.Context, q Queries, user *User, l *League) (*LeagueView, error) {
	rooms, err := q.LeagueRooms(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	lv := &LeagueView{League: l, Rooms: []*View{}, s: s}
	for _, room := range rooms {
		v, err := viewerOf(ctx, q, user, room)
		if err != nil {
			return nil, err
		}
		if v.SeesRoom(room) {
			lv.Rooms = append(lv.Rooms, &View{Room: room, Viewer: v, s: s})
		}
	}
	if len(lv.Rooms) == 0 && (user == nil || user.ID != l.OwnerID) {
		return nil, nil
	}
	return lv, nil
}

// Owner is the league's owner.
func (lv *LeagueView) Owner(ctx context.Context) (*User, error) {
	return lv.s.User(ctx, lv.League.OwnerID)
}

// BullPens lists the league's rooms the viewer may see, in the order they
// were created.
func (lv *LeagueView) BullPens() []*BullPen {
	rooms := make([]*BullPen, len(lv.Rooms))
	for i, v := range lv.Rooms {
		rooms[i] = v.Room
	}
	return rooms
}

// Standings adds up the final ranks of the ENDED rooms the viewer may
// see: points by LeaguePoints, and the rooms each player had a seat in.
// Players are ranked by points, ties sharing the rank (1, 1, 3), and
// listed by rank, then username.
func (lv *LeagueView) Standings(ctx context.Context) ([]*LeagueStanding, error) {
	byUser := map[int64]*LeagueStanding{}
	for _, v := range lv.Rooms {
		if v.Room.State != RoomEnded {
			continue
		}
		// The room's final snapshot is written in the transaction that
		// ends it, so an ENDED room's latest snapshot is its final one.
		snap, err := lv.s.store.LatestSnapshot(ctx, v.Room.ID)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		ps, err := lv.s.store.Participants(ctx, v.Room.ID)
		if err != nil {
			return nil, err
		}
		removed := map[int64]bool{}
		for _, p := range ps {
			if p.RemovedAt != nil {
				removed[p.ID] = true
			}
		}
		ranks := leagueRanks(snap.Entries, removed)
		for _, e := range snap.Entries {
			st := byUser[e.UserID]
			if st == nil {
				st = &LeagueStanding{UserID: e.UserID}
				byUser[e.UserID] = st
			}
			st.Points += pointsFor(ranks[e.ParticipantID])
			st.RoomsPlayed++
		}
	}
	type line struct {
		LeagueStanding
		username string
	}
	lines := make([]line, 0, len(byUser))
	for _, st := range byUser {
		u, err := lv.s.User(ctx, st.UserID)
		if err != nil {
			return nil, err
		}
		lines = append(lines, line{*st, strings.ToLower(u.Username)})
	}
	slices.SortFunc(lines, func(a, b line) int {
		return cmp.Or(cmp.Compare(b.Points, a.Points), cmp.Compare(a.username, b.username), cmp.Compare(a.UserID, b.UserID))
	})
	standings := make([]*LeagueStanding, len(lines))
	for i, l := range lines {
		l.Rank = i + 1
		if i > 0 && l.Points == lines[i-1].Points {
			l.Rank = standings[i-1].Rank
		}
		standings[i] = &l.LeagueStanding
	}
	return standings, nil
}
