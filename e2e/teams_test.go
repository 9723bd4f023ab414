package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestTeamsOverGraphQL: teams through a real server, on both engines.
// Settings are checked at creation; createTeam and joinTeam answer
// TEAM_FULL, CONFLICT and FORBIDDEN as documented; a spectator following
// the room's events over SSE gets a LeaderboardEvent whose teams are
// scored (AVERAGE, hand-computed) from the same snapshot's entries, the
// replay of that event carries the very same teams, BullPen.teams and
// teamLeaderboard read them, and results.csv gives each player's team,
// its rank and score. A room without teams shows none anywhere.
func TestTeamsOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playTeams(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

const teamEventSelection = `__typename sequence ... on LeaderboardEvent { snapshot { entries { user { username } returnPercent }
	teams { rank score team { name rank score members { user { username } } } } } }`

type teamEvent struct {
	Typename string `json:"__typename"`
	Sequence int
	Snapshot struct {
		Entries []struct {
			User          struct{ Username string }
			ReturnPercent string
		}
		Teams json.RawMessage
	}
}

// teamsOf renders the teams of a LeaderboardEvent as "name rank score
// member member" lines (nil for null).
func teamsOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var ts []struct {
		Rank  int
		Score string
		Team  struct {
			Name    string
			Rank    int
			Score   string
			Members []struct{ User struct{ Username string } }
		}
	}
	if err := json.Unmarshal(raw, &ts); err != nil {
		t.Fatalf("teams %s: %v", raw, err)
	}
	if ts == nil {
		return nil
	}
	out := []string{}
	for _, s := range ts {
		if s.Team.Rank != s.Rank || s.Team.Score != s.Score {
			t.Errorf("standing %d %s: its team says %d %s", s.Rank, s.Score, s.Team.Rank, s.Team.Score)
		}
		line := fmt.Sprintf("%s %d %s", s.Team.Name, s.Rank, canonical(s.Score))
		for _, m := range s.Team.Members {
			line += " " + m.User.Username
		}
		out = append(out, line)
	}
	return out
}

func playTeams(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner := ts.signUpAdmin("admin"), ts.signUp("owner")
	players := map[string]string{}
	for _, who := range []string{"alice", "bob", "carol", "dave", "erin"} {
		players[who] = ts.signUp(who)
	}
	outsider := ts.signUp("outsider")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	const create = `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id teamSize teamScoring } }`
	in := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "Teams", "endsAt": fmtTime(t0.Add(time.Hour)), "startingCash": "1000"}
		for k, v := range extra {
			m[k] = v
		}
		return map[string]any{"in": m}
	}
	if e := ts.fails(owner, create, in(map[string]any{"teamSize": 51}), game.EINVALID); e.Extensions["field"] != "teamSize" {
		t.Errorf("teamSize 51: %q (field %v)", e.Message, e.Extensions["field"])
	}
	if e := ts.fails(owner, create, in(map[string]any{"teamScoring": "BEST"}), game.EINVALID); e.Extensions["field"] != "teamScoring" {
		t.Errorf("BEST without teamSize: %q (field %v)", e.Message, e.Extensions["field"])
	}
	var created struct {
		CreateBullPen struct {
			ID          string
			TeamSize    *int
			TeamScoring *string
		}
	}
	ts.must(owner, create, in(map[string]any{"teamSize": 2}), &created)
	room := created.CreateBullPen.ID
	if c := created.CreateBullPen; c.TeamSize == nil || *c.TeamSize != 2 || c.TeamScoring == nil || *c.TeamScoring != "AVERAGE" {
		t.Fatalf("created %+v, want teamSize 2 and AVERAGE", c)
	}
	var plain struct {
		CreateBullPen struct {
			ID          string
			TeamSize    *int
			TeamScoring *string
		}
	}
	ts.must(owner, create, in(nil), &plain)
	if c := plain.CreateBullPen; c.TeamSize != nil || c.TeamScoring != nil {
		t.Errorf("a room without teams: %+v, want teamSize and teamScoring null", c)
	}
	for _, token := range players {
		for _, id := range []string{room, plain.CreateBullPen.ID} {
			ts.must(token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": id}, nil)
		}
	}

	// A spectator follows the room's events from here.
	var last struct{ BullPen struct{ LastSequence int } }
	ts.must("", `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room}, &last)
	stream := ts.subscribeSSE(t, "", `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { `+
		teamEventSelection+` } }`, map[string]any{"id": room, "after": last.BullPen.LastSequence})

	const createTeam = `mutation($id: ID!, $n: String!) { createTeam(bullPenId: $id, name: $n) { id name members { user { username } } } }`
	const joinTeam = `mutation($t: ID!) { joinTeam(teamId: $t) { id members { user { username } } } }`
	type team struct {
		ID      string
		Members []struct{ User struct{ Username string } }
	}
	newTeam := func(who, name string) string {
		var out struct{ CreateTeam team }
		ts.must(players[who], createTeam, map[string]any{"id": room, "n": name}, &out)
		if m := out.CreateTeam.Members; len(m) != 1 || m[0].User.Username != who {
			t.Errorf("%s's team %s: members %+v", who, name, m)
		}
		return out.CreateTeam.ID
	}
	if e := ts.fails(players["alice"], createTeam, map[string]any{"id": plain.CreateBullPen.ID, "n": "Bulls"}, game.EINVALID); e.Extensions["field"] != "bullPenId" || !strings.Contains(e.Message, "teamSize") {
		t.Errorf("a team in a room without teams: %q (field %v)", e.Message, e.Extensions["field"])
	}
	ts.fails(outsider, createTeam, map[string]any{"id": room, "n": "Bulls"}, game.EFORBIDDEN)
	ts.fails("", createTeam, map[string]any{"id": room, "n": "Bulls"}, game.EUNAUTHENTICATED)
	if e := ts.fails(players["alice"], createTeam, map[string]any{"id": room, "n": "\tBulls\u0007"}, game.EINVALID); e.Extensions["field"] != "name" {
		t.Errorf("a name with a control character: %q (field %v)", e.Message, e.Extensions["field"])
	}
	bulls := newTeam("alice", "Bulls")
	ts.fails(players["bob"], createTeam, map[string]any{"id": room, "n": "BULLS"}, game.ECONFLICT)
	var joined struct{ JoinTeam team }
	ts.must(players["bob"], joinTeam, map[string]any{"t": bulls}, &joined)
	if m := joined.JoinTeam.Members; len(m) != 2 || m[0].User.Username != "alice" || m[1].User.Username != "bob" {
		t.Errorf("Bulls after bob joined: %+v", m)
	}
	if e := ts.fails(players["carol"], joinTeam, map[string]any{"t": bulls}, game.ETEAMFULL); !strings.Contains(e.Message, "full") {
		t.Errorf("TEAM_FULL message %q", e.Message)
	}
	ts.fails(players["alice"], joinTeam, map[string]any{"t": bulls}, game.ECONFLICT)
	ts.fails(players["carol"], joinTeam, map[string]any{"t": unknownID}, game.ENOTFOUND)
	bears := newTeam("carol", "Bears")
	ts.must(players["dave"], joinTeam, map[string]any{"t": bears}, nil)
	// In a team already: CONFLICT, whether or not the other is full.
	ts.fails(players["alice"], joinTeam, map[string]any{"t": bears}, game.ECONFLICT)

	// Starting cash 1000. alice, carol and dave buy 10 AAPL, bob 5, at
	// 100; AAPL at 110: alice, carol and dave +10%, bob +5%; erin is in no
	// team. AVERAGE: Bears (10 + 10) / 2 = 10, Bulls (10 + 5) / 2 = 7.5.
	for who, qty := range map[string]int{"alice": 10, "bob": 5, "carol": 10, "dave": 10} {
		ts.must(players[who], placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": qty}}, nil)
	}
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "110") { price } }`, nil, nil)
	if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"Bears 1 10 carol dave", "Bulls 2 7.5 alice bob"}
	var live teamEvent
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("no LeaderboardEvent with both teams scored")
		}
		_, data := stream.next()
		var r struct {
			Data struct{ BullPenEvents teamEvent }
		}
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		if ev := r.Data.BullPenEvents; ev.Typename == "LeaderboardEvent" && slices.Equal(teamsOf(t, ev.Snapshot.Teams), want) {
			live = ev
			break
		}
	}
	// The same snapshot's entries: each team's score is the mean of its
	// members' returnPercent there.
	returns := map[string]string{}
	for _, e := range live.Snapshot.Entries {
		returns[e.User.Username] = canonical(e.ReturnPercent)
	}
	if returns["alice"] != "10" || returns["bob"] != "5" || returns["carol"] != "10" || returns["dave"] != "10" {
		t.Errorf("the snapshot's returns %v", returns)
	}
	// Replayed, the event carries the same teams, byte for byte.
	var log struct{ Ev []teamEvent }
	ts.must("", `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, kinds: [LEADERBOARD]) { `+teamEventSelection+` } }`, map[string]any{"id": room}, &log)
	i := slices.IndexFunc(log.Ev, func(ev teamEvent) bool { return ev.Sequence == live.Sequence })
	if i < 0 || string(log.Ev[i].Snapshot.Teams) != string(live.Snapshot.Teams) {
		t.Errorf("replayed event %d: %+v, live teams %s", live.Sequence, log.Ev, live.Snapshot.Teams)
	}

	// The room's teams and board, read by a spectator.
	var q struct {
		BullPen struct {
			Teams, TeamLeaderboard []struct {
				Name    string
				Rank    *int
				Score   *string
				Members []struct{ User struct{ Username string } }
			}
		}
	}
	ts.must("", `query($id: ID!) { bullPen(id: $id) { teams { name rank score members { user { username } } }
		teamLeaderboard { name rank score members { user { username } } } } }`, map[string]any{"id": room}, &q)
	names := func(list []struct {
		Name    string
		Rank    *int
		Score   *string
		Members []struct{ User struct{ Username string } }
	}) string {
		var s []string
		for _, tm := range list {
			s = append(s, fmt.Sprintf("%s:%d:%s:%d", tm.Name, *tm.Rank, canonical(*tm.Score), len(tm.Members)))
		}
		return strings.Join(s, " ")
	}
	if got := names(q.BullPen.Teams); got != "Bulls:2:7.5:2 Bears:1:10:2" {
		t.Errorf("teams (in the order they were made) %s", got)
	}
	if got := names(q.BullPen.TeamLeaderboard); got != "Bears:1:10:2 Bulls:2:7.5:2" {
		t.Errorf("teamLeaderboard (by rank) %s", got)
	}

	// results.csv, after the room ended: each player's team, its rank and
	// score in the final snapshot; erin's empty.
	ts.must(owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": room}, nil)
	ts.fails(players["erin"], joinTeam, map[string]any{"t": bears}, game.ECONFLICT)
	rows := ts.getCSV(t, owner, "/rooms/"+room+"/results.csv").records(t, "bullpen-"+room+"-results.csv", resultsHeader)
	col := func(name string) int { return slices.Index(resultsHeader, name) }
	got := map[string]string{}
	for _, r := range rows {
		got[r[1]] = strings.Join([]string{r[col("team")], r[col("teamRank")], canonical(r[col("teamScore")])}, " ")
	}
	wantCSV := map[string]string{"alice": "Bulls 2 7.5", "bob": "Bulls 2 7.5", "carol": "Bears 1 10", "dave": "Bears 1 10", "erin": "  "}
	for who, w := range wantCSV {
		if got[who] != w {
			t.Errorf("results.csv team columns of %s: %q, want %q", who, got[who], w)
		}
	}

	// A room without teams: none in its events or its fields.
	var none struct {
		BullPen struct {
			Teams       []struct{ Name string }
			Leaderboard *struct{ Teams json.RawMessage }
		}
	}
	ts.must("", `query($id: ID!) { bullPen(id: $id) { teams { name } leaderboard { teams { rank } } } }`, map[string]any{"id": plain.CreateBullPen.ID}, &none)
	if none.BullPen.Teams == nil || len(none.BullPen.Teams) != 0 || none.BullPen.Leaderboard == nil || string(none.BullPen.Leaderboard.Teams) != "null" {
		t.Errorf("a room without teams: %+v", none.BullPen)
	}
}
