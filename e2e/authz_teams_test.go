package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
)

// The authorization matrix's team rows (issue 20, teams; see
// authz_matrix_test.go for the roles and room kinds, and game/team.go for
// the rules): teams, their members and the team board are seen by whoever
// sees the room, as the leaderboard is; createTeam and joinTeam are a
// participant's, as placeOrder is.
//
// authzWorld.openTeams sets up, for each room kind, an ACTIVE room with
// teamSize 2 scoring SUM in which P1 made team Alpha and P2 team Beta, the
// owner added 500 to P2's cash, and a snapshot was taken: Beta ranks 1
// (100500), Alpha 2 (100000).

// teamBoard is what the team rows read: "name rank score members" by
// team, members as "p1"/"p2".
const (
	teamsByCreation = "Alpha 2 100000 p1, Beta 1 100500 p2"
	teamsByRank     = "Beta 1 100500 p2, Alpha 2 100000 p1"
)

// authzTeamRows read what openTeams left in w.teams.
var authzTeamRows = []authzRow{
	{name: "BullPen.teamSize+teamScoring+teams", want: roomFields, rule: roomFieldRule, check: checkTeams("teams", teamsByCreation)},
	{name: "BullPen.teamLeaderboard", want: roomFields, rule: roomFieldRule, check: checkTeams("teamLeaderboard", teamsByRank)},
	{name: "LeaderboardEvent.snapshot.teams in Query.bullPenEventLog", want: roomOrNotFound, rule: roomOrNotFoundRule, check: checkTeamsInEvents},
}

// memberOnly: what a participant of the room may do, and nobody else.
var memberOnly = grid(
	by(unauthed, forbidden, allowed, allowed, forbidden, forbidden),
	by(unauthed, forbidden, allowed, allowed, forbidden, forbidden),
	by(unauthed, notFound, allowed, allowed, forbidden, notFound),
)

func memberOnlyRule(k roomKind, r role) string {
	switch {
	case r == roleAnonymous:
		return unauthed
	case !sees(k, r):
		return notFound
	case r.member():
		return allowed
	}
	return forbidden
}

// authzTeamWriteRows: the team mutations; each cell makes its own room.
var authzTeamWriteRows = []authzRow{
	{name: "Mutation.createTeam", want: memberOnly, rule: memberOnlyRule, check: checkCreateTeam},
	// P1 joins P2's team, everyone else P1's.
	{name: "Mutation.joinTeam(another participant's team)", want: memberOnly, rule: memberOnlyRule, check: checkJoinTeam},
}

// newTeamRoom is an ACTIVE room of kind k with teams of 2, scored by SUM.
func (w *authzWorld) newTeamRoom(t *testing.T, k roomKind) *authzRoom {
	t.Helper()
	return w.newRoomWith(t, k, "ACTIVE", map[string]any{"teamSize": 2, "teamScoring": "SUM"})
}

// createTeam makes team name in room as participant p and returns its id.
func (w *authzWorld) createTeam(t *testing.T, room *authzRoom, p role, name string) string {
	t.Helper()
	var out struct{ CreateTeam struct{ ID string } }
	w.ts.with(t).must(w.tokens[p], `mutation($id: ID!, $n: String!) { createTeam(bullPenId: $id, name: $n) { id } }`,
		map[string]any{"id": room.id, "n": name}, &out)
	return out.CreateTeam.ID
}

// openTeams sets up w.teams (see above).
func (w *authzWorld) openTeams(t *testing.T) {
	t.Helper()
	ts := w.ts.with(t)
	for _, k := range allKinds {
		room := w.newTeamRoom(t, k)
		w.createTeam(t, room, roleP1, "Alpha")
		w.createTeam(t, room, roleP2, "Beta")
		ts.must(w.tokens[roleOwner], `mutation($p: ID!) { adjustCash(participantId: $p, amount: "500", reason: "bonus") { id } }`,
			map[string]any{"p": room.seats[roleP2]}, nil)
		w.teams[k] = room
	}
	if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	for _, room := range w.teams {
		room.events = w.rawEvents(t, room, 0)
	}
}

// seatName names a participant id of room as "p1" or "p2".
func seatName(room *authzRoom, id string) string {
	switch id {
	case room.seats[roleP1]:
		return "p1"
	case room.seats[roleP2]:
		return "p2"
	}
	return id
}

type teamJSON struct {
	ID, Name string
	Members  []struct{ ID string }
	Rank     *int
	Score    *string
}

func (tm teamJSON) line(room *authzRoom) string {
	var members []string
	for _, m := range tm.Members {
		members = append(members, seatName(room, m.ID))
	}
	rank, score := "-", "-"
	if tm.Rank != nil {
		rank = strconv.Itoa(*tm.Rank)
	}
	if tm.Score != nil {
		score = canonical(*tm.Score)
	}
	return fmt.Sprintf("%s %s %s %v", tm.Name, rank, score, joinWords(members))
}

// checkTeams reads field (teams or teamLeaderboard) of the team room with
// the room's team settings.
func checkTeams(field, want string) func(c *authzCell) {
	return func(c *authzCell) {
		c.room = c.w.teams[c.kind]
		b := c.bullPenField(`teamSize teamScoring ` + field + ` { id name members { id } rank score }`)
		if b == nil {
			return
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatal(err)
		}
		if string(out["teamSize"]) != "2" || string(out["teamScoring"]) != `"SUM"` {
			c.t.Errorf("teamSize %s, teamScoring %s; want 2 and SUM", out["teamSize"], out["teamScoring"])
		}
		teams := decode[[]teamJSON](c, out[field])
		var got []string
		for _, tm := range teams {
			got = append(got, tm.line(c.room))
		}
		if joinList(got) != want {
			c.t.Errorf("%s: %q, want %q", field, joinList(got), want)
		}
	}
}

const teamEventsQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, kinds: [LEADERBOARD]) {
	sequence ... on LeaderboardEvent { snapshot { teams { rank score team { id name members { id } rank score } } } } } }`

// checkTeamsInEvents reads the team room's leaderboard events: the last
// one's teams are the raw log's, with their members; the team in a
// standing carries the standing's rank and score.
func checkTeamsInEvents(c *authzCell) {
	c.room = c.w.teams[c.kind]
	data := c.roomRead(teamEventsQuery, c.room.id)
	if data == nil {
		return
	}
	evs := decode[struct {
		Ev []struct {
			Sequence int64
			Snapshot struct {
				Teams []struct {
					Rank  int
					Score string
					Team  teamJSON
				}
			}
		}
	}](c, data).Ev
	var last *game.Event
	for _, ev := range c.room.events {
		if ev.Kind == game.EventLeaderboard {
			last = ev
		}
	}
	if len(evs) == 0 || last == nil || evs[len(evs)-1].Sequence != last.Sequence {
		c.t.Fatalf("leaderboard events %+v, want the last at %v", evs, last)
	}
	var p game.LeaderboardPayload
	if err := json.Unmarshal(last.Payload, &p); err != nil {
		c.t.Fatal(err)
	}
	var want, got []string
	for _, ts := range p.Snapshot.Teams {
		var members []string
		for _, id := range ts.Team.MemberIDs {
			members = append(members, seatName(c.room, strconv.FormatInt(id, 10)))
		}
		want = append(want, fmt.Sprintf("%s %d %s %s", ts.Team.Name, ts.Rank, ts.Score.String(), joinWords(members)))
	}
	for _, ts := range evs[len(evs)-1].Snapshot.Teams {
		if ts.Team.Rank == nil || *ts.Team.Rank != ts.Rank || ts.Team.Score == nil || *ts.Team.Score != ts.Score {
			c.t.Errorf("standing %d %s: its team says %v %v", ts.Rank, ts.Score, ts.Team.Rank, ts.Team.Score)
		}
		got = append(got, ts.Team.line(c.room))
	}
	if joinList(want) != teamsByRank || joinList(got) != joinList(want) {
		c.t.Errorf("the event's teams %q, the raw log's %q, want %q", joinList(got), joinList(want), teamsByRank)
	}
}

// checkCreateTeam: a participant makes a team and is its member; anyone
// else gets the error and the room has no team.
func checkCreateTeam(c *authzCell) {
	room := c.w.newTeamRoom(c.t, c.kind)
	const q = `mutation($id: ID!) { m: createTeam(bullPenId: $id, name: "Mine") { id name members { id } } }`
	got, errs := c.mutate(q, map[string]any{"id": room.id})
	wantTeams := 0
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the team", errs)
		}
		tm := decode[teamJSON](c, got)
		if tm.Name != "Mine" || len(tm.Members) != 1 || tm.Members[0].ID != room.seats[c.role] {
			c.t.Errorf("team %+v, want Mine with the caller's seat %s", tm, room.seats[c.role])
		}
		wantTeams = 1
	} else {
		c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(q, map[string]any{"id": unknownID}); return u })
	}
	id, _ := strconv.ParseInt(room.id, 10, 64)
	if teams, err := c.w.store.Teams(c.t.Context(), id); err != nil || len(teams) != wantTeams {
		c.t.Errorf("the room's teams after: %v, %v; want %d", teams, err, wantTeams)
	}
}

// checkJoinTeam: the caller joins the team of another participant (P1
// P2's, everyone else P1's); anyone who may not gets the error and the
// team keeps its one member.
func checkJoinTeam(c *authzCell) {
	room := c.w.newTeamRoom(c.t, c.kind)
	host := roleP1
	if c.role == roleP1 {
		host = roleP2
	}
	team := c.w.createTeam(c.t, room, host, "Host")
	const q = `mutation($t: ID!) { m: joinTeam(teamId: $t) { id members { id } } }`
	got, errs := c.mutate(q, map[string]any{"t": team})
	want := []int64{seatID(room, host)}
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the caller in the team", errs)
		}
		tm := decode[teamJSON](c, got)
		if tm.ID != team || len(tm.Members) != 2 || tm.Members[1].ID != room.seats[c.role] {
			c.t.Errorf("team %+v, want %s with the host and the caller", tm, team)
		}
		want = append(want, seatID(room, c.role))
	} else {
		c.expectError(errs, team, func() []gqlError { _, u := c.mutate(q, map[string]any{"t": unknownID}); return u })
	}
	id, _ := strconv.ParseInt(team, 10, 64)
	stored, err := c.w.store.Team(c.t.Context(), id)
	if err != nil || !slices.Equal(stored.MemberIDs, want) {
		c.t.Errorf("the team's members after: %+v, %v; want %v", stored, err, want)
	}
}

func seatID(room *authzRoom, p role) int64 {
	id, _ := strconv.ParseInt(room.seats[p], 10, 64)
	return id
}

// canonical writes a Decimal string without trailing zeros ("100000.00"
// -> "100000").
func canonical(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return d.String()
}

func joinWords(s []string) string { return strings.Join(s, " ") }
func joinList(s []string) string  { return strings.Join(s, ", ") }
