package game_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// leagueFixture is a league of three ended rooms with ties, and a room
// still running:
//
//	A (PUBLIC):  alice 10 and bob 10 shares gain alike (rank 1, 1), carol
//	             5 (rank 3), dave nothing (rank 4): 25 25 15 12
//	B (PUBLIC):  carol 10 (rank 1), alice and bob nothing (2, 2): 25 18 18
//	C (PRIVATE): erin 10 and frank 10 (1, 1), alice nothing (3): 25 25 15
//	D (PUBLIC, ACTIVE): gina gains; not ended, so it counts for nothing
type leagueFixture struct {
	league                                            *game.League
	a, b, c, d                                        *game.BullPen
	owner, alice, bob, carol, dave, erin, frank, gina *game.User
	outsider                                          *game.User
}

func newLeagueFixture(t *testing.T, h *harness) *leagueFixture {
	t.Helper()
	f := &leagueFixture{owner: h.user("owner"), alice: h.user("alice"), bob: h.user("bob"), carol: h.user("carol"),
		dave: h.user("dave"), erin: h.user("erin"), frank: h.user("frank"), gina: h.user("gina"), outsider: h.user("outsider")}
	h.price("AAPL", "100")
	end := func(room *game.BullPen) *game.BullPen {
		t.Helper()
		room, err := h.svc.Move(h.ctx, f.owner, room.ID, game.RoomEnded)
		if err != nil {
			t.Fatalf("end room: %v", err)
		}
		return room
	}
	f.a = h.activeRoom(f.owner, nil, f.alice, f.bob, f.carol, f.dave)
	h.order(f.alice, buy(f.a.ID, "AAPL", 10))
	h.order(f.bob, buy(f.a.ID, "AAPL", 10))
	h.order(f.carol, buy(f.a.ID, "AAPL", 5))
	h.price("AAPL", "110")
	f.a = end(f.a)

	f.b = h.activeRoom(f.owner, nil, f.alice, f.bob, f.carol)
	h.order(f.carol, buy(f.b.ID, "AAPL", 10))
	h.price("AAPL", "120")
	f.b = end(f.b)

	f.c = h.room(f.owner, func(in *game.CreateBullPenInput) { in.Visibility = ptr(game.VisibilityPrivate) })
	for _, u := range []*game.User{f.alice, f.erin, f.frank} {
		if _, err := h.svc.JoinBullPen(h.ctx, u, f.c.ID, &f.c.InviteCode); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.Move(h.ctx, f.owner, f.c.ID, game.RoomActive); err != nil {
		t.Fatal(err)
	}
	h.order(f.erin, buy(f.c.ID, "AAPL", 10))
	h.order(f.frank, buy(f.c.ID, "AAPL", 10))
	h.price("AAPL", "130")
	f.c = end(f.c)

	f.d = h.activeRoom(f.owner, nil, f.gina)
	h.order(f.gina, buy(f.d.ID, "AAPL", 10))
	h.price("AAPL", "140")

	var err error
	if f.league, err = h.svc.CreateLeague(h.ctx, f.owner, "  Spring season  "); err != nil {
		t.Fatal(err)
	}
	for _, room := range []*game.BullPen{f.a, f.b, f.c, f.d} {
		if _, err := h.svc.AddRoomToLeague(h.ctx, f.owner, f.league.ID, room.ID); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// standingsText is standings as "rank username points roomsPlayed" lines.
func standingsText(t *testing.T, h *harness, lv *game.LeagueView) string {
	t.Helper()
	st, err := lv.Standings(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range st {
		u, err := h.svc.User(h.ctx, s.UserID)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%d %s %d %d", s.Rank, u.Username, s.Points, s.RoomsPlayed))
	}
	return strings.Join(lines, "\n")
}

// TestLeagueStandingsHandComputed: points by final rank over three ended
// rooms with ties (tied players share the higher points, the next rank's
// are skipped), an ACTIVE room counting nothing; the standings ranked by
// points with ties sharing the rank and listed by username; on both
// engines.
func TestLeagueStandingsHandComputed(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			f := newLeagueFixture(t, h)
			if f.league.Name != "Spring season" {
				t.Errorf("name = %q, want it trimmed", f.league.Name)
			}
			// The leaderboard's own ranks, which the points follow.
			for _, c := range []struct {
				room *game.BullPen
				want string
			}{{f.a, "1 alice, 1 bob, 3 carol, 4 dave"}, {f.b, "1 carol, 2 alice, 2 bob"}, {f.c, "1 erin, 1 frank, 3 alice"}} {
				snap, err := h.store.LatestSnapshot(h.ctx, c.room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !snap.Final {
					t.Errorf("room %d: latest snapshot not final", c.room.ID)
				}
				var got []string
				for _, e := range snap.Entries {
					u, _ := h.svc.User(h.ctx, e.UserID)
					got = append(got, fmt.Sprintf("%d %s", e.Rank, u.Username))
				}
				if g := strings.Join(got, ", "); g != c.want {
					t.Errorf("room %d ranks = %s, want %s", c.room.ID, g, c.want)
				}
			}

			// The owner sees every room: alice 25+18+15, bob 25+18,
			// carol 15+25, erin 25, frank 25, dave 12; gina's room is
			// still ACTIVE.
			lv, err := h.svc.League(h.ctx, f.owner, f.league.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := "1 alice 58 3\n2 bob 43 2\n3 carol 40 2\n4 erin 25 1\n4 frank 25 1\n6 dave 12 1"
			if got := standingsText(t, h, lv); got != want {
				t.Errorf("owner's standings:\n%s\nwant:\n%s", got, want)
			}
			if n := len(lv.BullPens()); n != 4 {
				t.Errorf("owner sees %d rooms, want 4", n)
			}

			// When D ends, gina's 25 count.
			if _, err := h.svc.Move(h.ctx, f.owner, f.d.ID, game.RoomEnded); err != nil {
				t.Fatal(err)
			}
			lv, err = h.svc.League(h.ctx, f.owner, f.league.ID)
			if err != nil {
				t.Fatal(err)
			}
			want = "1 alice 58 3\n2 bob 43 2\n3 carol 40 2\n4 erin 25 1\n4 frank 25 1\n4 gina 25 1\n7 dave 12 1"
			if got := standingsText(t, h, lv); got != want {
				t.Errorf("after D ended:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestLeagueRemovedPlayerScoresNothing: a player the organiser removed
// keeps their final rank on the room's board but earns no league points
// for that room (it still counts as played), and whoever finished below
// them moves up, a tie with them included; on both engines.
func TestLeagueRemovedPlayerScoresNothing(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob, carol, dave := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol"), h.user("dave")
			h.price("AAPL", "100")
			room := h.activeRoom(owner, nil, alice, bob, carol, dave)
			h.order(alice, buy(room.ID, "AAPL", 10))
			h.order(bob, buy(room.ID, "AAPL", 10))
			h.order(carol, buy(room.ID, "AAPL", 5))
			h.price("AAPL", "110")
			if _, err := h.svc.RemoveParticipant(h.ctx, owner, h.participant(room.ID, alice).ID, "two accounts"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
				t.Fatal(err)
			}
			league, err := h.svc.CreateLeague(h.ctx, owner, "Cup")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.AddRoomToLeague(h.ctx, owner, league.ID, room.ID); err != nil {
				t.Fatal(err)
			}
			lv, err := h.svc.League(h.ctx, owner, league.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The board: alice 1, bob 1, carol 3, dave 4. Without alice:
			// bob 1 (25), carol 2 (18), dave 3 (15), alice nothing.
			want := "1 bob 25 1\n2 carol 18 1\n3 dave 15 1\n4 alice 0 1"
			if got := standingsText(t, h, lv); got != want {
				t.Errorf("standings:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestLeagueVisibilityPrivateRoom: a PRIVATE room counts, and is listed,
// only for who may see it (its owner and members); a league whose rooms
// are all hidden from the caller is NOT_FOUND, as an unknown one; the
// owner always sees their league, even empty; on both engines.
func TestLeagueVisibilityPrivateRoom(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			f := newLeagueFixture(t, h)

			// Without room C: alice 25+18, bob 25+18 tie at 1.
			public := "1 alice 43 2\n1 bob 43 2\n3 carol 40 2\n4 dave 12 1"
			withC := "1 alice 58 3\n2 bob 43 2\n3 carol 40 2\n4 erin 25 1\n4 frank 25 1\n6 dave 12 1"
			for _, c := range []struct {
				name  string
				user  *game.User
				rooms int
				want  string
			}{
				{"Anonymous", nil, 3, public},
				{"Outsider", f.outsider, 3, public},
				{"PlayerNotInPrivateRoom", f.bob, 3, public},
				{"MemberOfPrivateRoom", f.erin, 4, withC},
			} {
				t.Run(c.name, func(t *testing.T) {
					lv, err := h.svc.League(h.ctx, c.user, f.league.ID)
					if err != nil {
						t.Fatal(err)
					}
					if n := len(lv.BullPens()); n != c.rooms {
						t.Errorf("sees %d rooms, want %d", n, c.rooms)
					}
					for _, room := range lv.BullPens() {
						if room.ID == f.c.ID && c.rooms == 3 {
							t.Errorf("lists the private room")
						}
					}
					if got := standingsText(t, h, lv); got != c.want {
						t.Errorf("standings:\n%s\nwant:\n%s", got, c.want)
					}
				})
			}

			// A league of the private room alone.
			private, err := h.svc.CreateLeague(h.ctx, f.owner, "Private cup")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.AddRoomToLeague(h.ctx, f.owner, private.ID, f.c.ID); err != nil {
				t.Fatal(err)
			}
			for _, u := range []*game.User{nil, f.outsider, f.bob} {
				_, err := h.svc.League(h.ctx, u, private.ID)
				assertCode(t, err, game.ENOTFOUND)
			}
			_, unknown := h.svc.League(h.ctx, f.bob, private.ID+1000)
			_, hidden := h.svc.League(h.ctx, f.bob, private.ID)
			if strings.Replace(hidden.Error(), fmt.Sprint(private.ID), "N", 1) != strings.Replace(unknown.Error(), fmt.Sprint(private.ID+1000), "N", 1) {
				t.Errorf("hidden %q and unknown %q told apart", hidden, unknown)
			}
			for _, u := range []*game.User{f.owner, f.alice, f.erin} {
				lv, err := h.svc.League(h.ctx, u, private.ID)
				if err != nil {
					t.Fatalf("%s: %v", u.Username, err)
				}
				if got, want := standingsText(t, h, lv), "1 erin 25 1\n1 frank 25 1\n3 alice 15 1"; got != want {
					t.Errorf("%s sees:\n%s\nwant:\n%s", u.Username, got, want)
				}
			}

			// An empty league: its owner sees it, nobody else.
			empty, err := h.svc.CreateLeague(h.ctx, f.alice, "Empty")
			if err != nil {
				t.Fatal(err)
			}
			if lv, err := h.svc.League(h.ctx, f.alice, empty.ID); err != nil || len(lv.BullPens()) != 0 {
				t.Errorf("owner of an empty league: %v", err)
			}
			_, err = h.svc.League(h.ctx, f.bob, empty.ID)
			assertCode(t, err, game.ENOTFOUND)
		})
	}
}

// TestLeagueMutations: who may create a league and add rooms, the name's
// checks, adding twice, and that a refused addition stores nothing; on
// both engines.
func TestLeagueMutations(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")

			_, err := h.svc.CreateLeague(h.ctx, nil, "Season")
			assertCode(t, err, game.EUNAUTHENTICATED)
			for _, name := range []string{"", "   ", strings.Repeat("x", 101), "a\x00b", "cup\u202Egpj", "two\nlines"} {
				_, err := h.svc.CreateLeague(h.ctx, owner, name)
				assertCode(t, err, game.EINVALID)
				if e, ok := err.(*game.Error); !ok || e.Field != "name" {
					t.Errorf("%q: error %v does not name the field", name, err)
				}
			}

			league, err := h.svc.CreateLeague(h.ctx, owner, "Season")
			if err != nil {
				t.Fatal(err)
			}
			mine := h.room(owner, nil)
			alices := h.room(alice, nil)
			hidden := h.room(alice, func(in *game.CreateBullPenInput) { in.Visibility = ptr(game.VisibilityPrivate) })
			hiddenLeague, err := h.svc.CreateLeague(h.ctx, alice, "Hidden")
			if err != nil {
				t.Fatal(err)
			}

			add := func(u *game.User, leagueID, roomID int64) error {
				_, err := h.svc.AddRoomToLeague(h.ctx, u, leagueID, roomID)
				return err
			}
			assertCode(t, add(nil, league.ID, mine.ID), game.EUNAUTHENTICATED)
			// A room of someone else's: FORBIDDEN when visible,
			// NOT_FOUND when not; an unknown room NOT_FOUND.
			assertCode(t, add(owner, league.ID, alices.ID), game.EFORBIDDEN)
			assertCode(t, add(owner, league.ID, hidden.ID), game.ENOTFOUND)
			assertCode(t, add(owner, league.ID, mine.ID+1000), game.ENOTFOUND)
			// Someone else's league: NOT_FOUND while it shows nothing
			// to them, FORBIDDEN once they may see it.
			assertCode(t, add(alice, league.ID, alices.ID), game.ENOTFOUND)
			assertCode(t, add(bob, hiddenLeague.ID, mine.ID), game.ENOTFOUND)
			assertCode(t, add(owner, league.ID+1000, mine.ID), game.ENOTFOUND)

			got, err := h.svc.AddRoomToLeague(h.ctx, owner, league.ID, mine.ID)
			if err != nil || got.ID != league.ID {
				t.Fatalf("add: %v %v", got, err)
			}
			assertCode(t, add(alice, league.ID, alices.ID), game.EFORBIDDEN)
			// Twice: a no-op.
			if err := add(owner, league.ID, mine.ID); err != nil {
				t.Errorf("adding twice: %v", err)
			}
			lv, err := h.svc.League(h.ctx, owner, league.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rooms := lv.BullPens(); len(rooms) != 1 || rooms[0].ID != mine.ID {
				t.Errorf("rooms = %v, want only %d", rooms, mine.ID)
			}
		})
	}
}

// TestLeagueRoomCap: a league holds at most MaxLeagueRooms rooms; one
// more is a CONFLICT that stores nothing, while adding a room it holds
// already is still a no-op; on both engines.
func TestLeagueRoomCap(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner := h.user("owner")
			league, err := h.svc.CreateLeague(h.ctx, owner, "Big")
			if err != nil {
				t.Fatal(err)
			}
			var first *game.BullPen
			for i := range game.MaxLeagueRooms {
				room := h.room(owner, nil)
				if i == 0 {
					first = room
				}
				if _, err := h.svc.AddRoomToLeague(h.ctx, owner, league.ID, room.ID); err != nil {
					t.Fatalf("room %d: %v", i+1, err)
				}
			}
			extra := h.room(owner, nil)
			_, err = h.svc.AddRoomToLeague(h.ctx, owner, league.ID, extra.ID)
			assertCode(t, err, game.ECONFLICT)
			if _, err := h.svc.AddRoomToLeague(h.ctx, owner, league.ID, first.ID); err != nil {
				t.Errorf("adding a room it holds: %v", err)
			}
			rooms, err := h.store.LeagueRooms(h.ctx, league.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rooms) != game.MaxLeagueRooms {
				t.Errorf("%d rooms, want %d", len(rooms), game.MaxLeagueRooms)
			}
		})
	}
}
