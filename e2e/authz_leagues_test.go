package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The authorization matrix's league rows (issue 20, leagues; see
// authz_matrix_test.go for the roles and room kinds, and game/league.go
// for the rules):
//
//	seesLeague = owner of the league || sees(one of its rooms)
//
// The owner of the rooms owns the leagues. For each room kind there are
// two leagues, set up by authzWorld.openLeagues:
//
//   - alone: only an ENDED room of that kind, in which P1 and P2 did not
//     trade (tied at rank 1: 25 points each); Query.league reads it;
//   - mixed: that room and one ENDED PUBLIC room of the owner's in which
//     P2 lost on a trade (P1 rank 1: 25, P2 rank 2: 18); League.rooms and
//     League.standings read it: a caller who may not see the room of the
//     kind sees the PUBLIC room only, and only it counts.

type authzLeagues struct {
	alone, mixed [3]string // league ids by room kind
	rooms        [3]string // the ENDED room of each kind
	public       string    // the ENDED PUBLIC room in every mixed league
}

// League cells: which of a mixed league's rooms show, and its standings
// as "username:rank:points:roomsPlayed".
const (
	bothRooms     = "public kind" // the PUBLIC room (the older) and the room of the kind, by id
	publicRoom    = "public"      // the PUBLIC room only
	standingsBoth = "player1:1:50:2 player2:2:43:2"
	standingsPub  = "player1:1:25:1 player2:2:18:1"
)

func leagueRule(object, hidden string) func(k roomKind, r role) string {
	return func(k roomKind, r role) string {
		if sees(k, r) {
			return object
		}
		return hidden
	}
}

// authzLeagueRows read the leagues as set up.
var authzLeagueRows = []authzRow{
	{name: "Query.league", rule: leagueRule(object, null), check: checkQueryLeague,
		want: grid(
			by(object, object, object, object, object, object),
			by(object, object, object, object, object, object),
			by(null, null, object, object, object, null),
		)},
	{name: "League.rooms", rule: leagueRule(bothRooms, publicRoom), check: checkLeagueRooms,
		want: grid(
			by(bothRooms, bothRooms, bothRooms, bothRooms, bothRooms, bothRooms),
			by(bothRooms, bothRooms, bothRooms, bothRooms, bothRooms, bothRooms),
			by(publicRoom, publicRoom, bothRooms, bothRooms, bothRooms, publicRoom),
		)},
	{name: "League.standings", rule: leagueRule(standingsBoth, standingsPub), check: checkLeagueStandings,
		want: grid(
			by(standingsBoth, standingsBoth, standingsBoth, standingsBoth, standingsBoth, standingsBoth),
			by(standingsBoth, standingsBoth, standingsBoth, standingsBoth, standingsBoth, standingsBoth),
			by(standingsPub, standingsPub, standingsBoth, standingsBoth, standingsBoth, standingsPub),
		)},
}

// authzLeagueWriteRows: the league mutations; each cell makes its own
// league.
var authzLeagueWriteRows = []authzRow{
	{name: "Mutation.createLeague", want: signedIn, rule: signedInRule, check: checkCreateLeague},
	// The caller adds the room of the kind, which the owner owns, to a
	// league of the caller's own.
	{name: "Mutation.addRoomToLeague(own league, owner's room)", want: ownerOnly, rule: ownerOnlyRule, check: checkAddRoom(false)},
	// The caller adds a PUBLIC room of their own to the owner's league
	// holding the room of the kind: the league decides.
	{name: "Mutation.addRoomToLeague(owner's league, own room)", want: ownerOnly, rule: ownerOnlyRule, check: checkAddRoom(true)},
}

// openLeagues sets up w.leagues (see authzLeagues).
func (w *authzWorld) openLeagues(t *testing.T) {
	ts := w.ts.with(t)
	w.leagues = &authzLeagues{}
	end := func(room *authzRoom) {
		ts.must(w.tokens[roleOwner], `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
	}
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "KO", price: "100") { price } }`, nil, nil)
	public := w.newRoom(t, kindPublic, "ACTIVE")
	var out struct{ PlaceOrder struct{ Status string } }
	ts.must(w.tokens[roleP2], placeOrderMutation, map[string]any{"in": map[string]any{
		"bullPenId": public.id, "symbol": "KO", "side": "BUY", "quantity": 10}}, &out)
	if out.PlaceOrder.Status != "FILLED" {
		t.Fatalf("P2's KO: %s", out.PlaceOrder.Status)
	}
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "KO", price: "90") { price } }`, nil, nil)
	end(public)
	w.leagues.public = public.id
	for _, k := range allKinds {
		room := w.newRoom(t, k, "ACTIVE")
		end(room)
		w.leagues.rooms[k] = room.id
		w.leagues.alone[k] = w.newLeague(t, roleOwner, room.id)
		w.leagues.mixed[k] = w.newLeague(t, roleOwner, room.id, public.id)
	}
}

// newLeague creates a league as r and adds rooms to it.
func (w *authzWorld) newLeague(t *testing.T, r role, rooms ...string) string {
	t.Helper()
	ts := w.ts.with(t)
	var created struct{ CreateLeague struct{ ID string } }
	ts.must(w.tokens[r], `mutation($n: String!) { createLeague(name: $n) { id } }`,
		map[string]any{"n": fmt.Sprintf("League %d", time.Now().UnixNano())}, &created)
	for _, room := range rooms {
		ts.must(w.tokens[r], `mutation($l: ID!, $b: ID!) { addRoomToLeague(leagueId: $l, bullPenId: $b) { id } }`,
			map[string]any{"l": created.CreateLeague.ID, "b": room}, nil)
	}
	return created.CreateLeague.ID
}

// leagueRoomIDs reads league id's rooms from the store, past every rule.
func (c *authzCell) leagueRoomIDs(id string) []string {
	c.t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	rooms, err := c.w.store.LeagueRooms(c.t.Context(), n)
	if err != nil {
		c.t.Fatal(err)
	}
	ids := []string{}
	for _, b := range rooms {
		ids = append(ids, strconv.FormatInt(b.ID, 10))
	}
	return ids
}

func checkQueryLeague(c *authzCell) {
	id := c.w.leagues.alone[c.kind]
	r := c.do(`query($id: ID!) { league(id: $id) { id } }`, map[string]any{"id": id})
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want none", r.Errors)
	}
	out := decode[struct{ League *struct{ ID string } }](c, r.Data)
	switch {
	case c.want == object && (out.League == nil || out.League.ID != id):
		c.t.Errorf("league = %s, want league %s", r.Data, id)
	case c.want == null && out.League != nil:
		c.t.Errorf("league = %s, want null as for an unknown id", r.Data)
	}
	if c.want == null {
		u := c.do(`query($id: ID!) { league(id: $id) { id } }`, map[string]any{"id": unknownID})
		if string(u.Data) != string(r.Data) || len(u.Errors) != 0 {
			c.t.Errorf("an unknown league gives %s %+v, this one %s", u.Data, u.Errors, r.Data)
		}
	}
}

// mixedLeague reads the cell's mixed league with selection.
func (c *authzCell) mixedLeague(selection string, v any) {
	c.t.Helper()
	c.ts.must(c.token(), `query($id: ID!) { league(id: $id) { `+selection+` } }`, map[string]any{"id": c.w.leagues.mixed[c.kind]}, v)
}

func checkLeagueRooms(c *authzCell) {
	var out struct {
		League *struct{ Rooms []struct{ ID string } }
	}
	c.mixedLeague(`rooms { id }`, &out)
	if out.League == nil {
		c.t.Fatalf("the league is null: its PUBLIC room is seen by everyone")
	}
	var got []string
	for _, b := range out.League.Rooms {
		switch b.ID {
		case c.w.leagues.rooms[c.kind]:
			got = append(got, "kind")
		case c.w.leagues.public:
			got = append(got, "public")
		default:
			got = append(got, b.ID)
		}
	}
	want := strings.Fields(c.want)
	if !slices.Equal(got, want) {
		c.t.Errorf("rooms %v, want %v", got, want)
	}
}

func checkLeagueStandings(c *authzCell) {
	var out struct {
		League *struct {
			Standings []struct {
				User                      struct{ Username string }
				Rank, Points, RoomsPlayed int
			}
		}
	}
	c.mixedLeague(`standings { user { username } rank points roomsPlayed }`, &out)
	if out.League == nil {
		c.t.Fatalf("the league is null: its PUBLIC room is seen by everyone")
	}
	var got []string
	for _, s := range out.League.Standings {
		got = append(got, fmt.Sprintf("%s:%d:%d:%d", s.User.Username, s.Rank, s.Points, s.RoomsPlayed))
	}
	if g := strings.Join(got, " "); g != c.want {
		c.t.Errorf("standings %q, want %q", g, c.want)
	}
}

func checkCreateLeague(c *authzCell) {
	const q = `mutation($n: String!) { m: createLeague(name: $n) { id name owner { username } rooms { id } standings { rank } } }`
	got, errs := c.mutate(q, map[string]any{"n": "Cup " + c.kind.String()})
	if c.want != allowed {
		c.expectError(errs, "", nil)
		return
	}
	if len(errs) > 0 {
		c.t.Fatalf("errors %+v, want the league", errs)
	}
	l := decode[struct {
		ID, Name  string
		Owner     struct{ Username string }
		Rooms     []struct{ ID string }
		Standings []struct{ Rank int }
	}](c, got)
	if l.Name != "Cup "+c.kind.String() || l.Owner.Username != c.role.username() || len(l.Rooms) != 0 || len(l.Standings) != 0 {
		c.t.Errorf("league %+v", l)
	}
}

// checkAddRoom: the owner adds, anyone else gets the error and the
// league keeps its rooms. ownersLeague: the league is the owner's (with
// the room of the kind) and the room the caller's own; else the league
// is the caller's own (the owner's for anonymous) and the room the
// owner's room of the kind.
func checkAddRoom(ownersLeague bool) func(c *authzCell) {
	const q = `mutation($l: ID!, $b: ID!) { m: addRoomToLeague(leagueId: $l, bullPenId: $b) { id rooms { id } } }`
	return func(c *authzCell) {
		var league, room string
		if ownersLeague {
			league = c.w.newLeague(c.t, roleOwner, c.w.leagues.rooms[c.kind])
			room = c.w.leagues.public // the owner's: only the owner may add it anyway
			if c.role != roleAnonymous && c.role != roleOwner {
				var created struct{ CreateBullPen struct{ ID string } }
				c.ts.must(c.token(), `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id } }`,
					map[string]any{"in": map[string]any{"name": "Own room", "endsAt": fmtTime(t0.Add(2 * time.Hour))}}, &created)
				room = created.CreateBullPen.ID
			}
		} else {
			owner := c.role
			if owner == roleAnonymous {
				owner = roleOwner
			}
			league = c.w.newLeague(c.t, owner)
			room = c.w.leagues.rooms[c.kind]
		}
		before := c.leagueRoomIDs(league)
		got, errs := c.mutate(q, map[string]any{"l": league, "b": room})
		if c.want != allowed {
			id, unknownVars := room, map[string]any{"l": league, "b": unknownID}
			if ownersLeague {
				id, unknownVars = league, map[string]any{"l": unknownID, "b": room}
			}
			c.expectError(errs, id, func() []gqlError { _, u := c.mutate(q, unknownVars); return u })
			if after := c.leagueRoomIDs(league); !slices.Equal(after, before) {
				c.t.Errorf("the league's rooms went from %v to %v on a refused addition", before, after)
			}
			return
		}
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the room added", errs)
		}
		l := decode[struct {
			ID    string
			Rooms []struct{ ID string }
		}](c, got)
		if l.ID != league || !slices.ContainsFunc(l.Rooms, func(b struct{ ID string }) bool { return b.ID == room }) {
			c.t.Errorf("league %+v, want %s with room %s", l, league, room)
		}
		if after := c.leagueRoomIDs(league); !slices.Contains(after, room) {
			c.t.Errorf("the store's league holds %v, not %s", after, room)
		}
	}
}
