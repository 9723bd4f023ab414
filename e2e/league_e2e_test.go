package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestLeagueEndToEnd runs a season through the whole server on both
// engines: three rooms that end with ties, one of them PRIVATE, in a
// league; the standings as the owner, a member of the PRIVATE room, and
// anonymous read them, each hand-computed; the league page is served at
// /leagues/{id} and the startup line names it.
func TestLeagueEndToEnd(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			var logs syncBuffer
			ts := startServerLogging(t, dbtest.Open(t, backend), &logs)
			if want := "league_page=" + ts.url + "/leagues/{id}"; !strings.Contains(logs.String(), want) {
				t.Errorf("startup log %q lacks %q", logs.String(), want)
			}
			admin := ts.signUpAdmin("admin")
			owner, amy, bob, cyd, dia := ts.signUp("owner"), ts.signUp("amy"), ts.signUp("bob"), ts.signUp("cyd"), ts.signUp("dia")
			price := func(p string) {
				ts.must(admin, `mutation($p: Decimal!) { setQuote(symbol: "AAPL", price: $p) { price } }`, map[string]any{"p": p}, nil)
			}
			// room opens an ACTIVE room with players, each buying
			// buys[i] shares of AAPL (0: none).
			room := func(visibility string, players []string, buys []int) string {
				var c struct {
					CreateBullPen struct{ ID, InviteCode string }
				}
				ts.must(owner, `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id inviteCode } }`,
					map[string]any{"in": map[string]any{"name": "Week", "visibility": visibility, "endsAt": fmtTime(t0.Add(time.Hour))}}, &c)
				for i, p := range players {
					ts.must(p, `mutation($id: ID!, $c: String) { joinBullPen(bullPenId: $id, inviteCode: $c) { id } }`,
						map[string]any{"id": c.CreateBullPen.ID, "c": c.CreateBullPen.InviteCode}, nil)
					if buys[i] > 0 {
						ts.must(p, placeOrderMutation, map[string]any{"in": map[string]any{
							"bullPenId": c.CreateBullPen.ID, "symbol": "AAPL", "side": "BUY", "quantity": buys[i]}}, nil)
					}
				}
				return c.CreateBullPen.ID
			}
			end := func(id string) {
				ts.must(owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": id}, nil)
			}
			price("100")
			// Week 1: amy and bob gain alike (1, 1), cyd 5 shares (3), dia
			// nothing (4): 25 25 15 12.
			w1 := room("PUBLIC", []string{amy, bob, cyd, dia}, []int{10, 10, 5, 0})
			price("110")
			end(w1)
			// Week 2 (PRIVATE): dia gains (1), amy and cyd nothing (2, 2):
			// 25 18 18.
			w2 := room("PRIVATE", []string{dia, amy, cyd}, []int{10, 0, 0})
			price("120")
			end(w2)
			// Week 3: bob and cyd nothing (1, 1), amy loses (3): 25 25 15.
			w3 := room("PUBLIC", []string{amy, bob, cyd}, []int{10, 0, 0})
			price("90")
			end(w3)

			var created struct{ CreateLeague struct{ ID string } }
			ts.must(owner, `mutation { createLeague(name: "Season") { id } }`, nil, &created)
			id := created.CreateLeague.ID
			for _, b := range []string{w1, w2, w3, w1} { // w1 twice: a no-op
				ts.must(owner, `mutation($l: ID!, $b: ID!) { addRoomToLeague(leagueId: $l, bullPenId: $b) { id } }`,
					map[string]any{"l": id, "b": b}, nil)
			}

			read := func(token string) string {
				var out struct {
					League struct {
						Rooms     []struct{ ID string }
						Standings []struct {
							User                      struct{ Username string }
							Rank, Points, RoomsPlayed int
						}
					}
				}
				ts.must(token, `query($id: ID!) { league(id: $id) { rooms { id } standings { user { username } rank points roomsPlayed } } }`,
					map[string]any{"id": id}, &out)
				lines := []string{fmt.Sprint(len(out.League.Rooms), " rooms")}
				for _, s := range out.League.Standings {
					lines = append(lines, fmt.Sprintf("%d %s %d %d", s.Rank, s.User.Username, s.Points, s.RoomsPlayed))
				}
				return strings.Join(lines, "\n")
			}
			// Everything: amy 25+18+15, cyd 15+18+25, bob 25+25, dia 12+25.
			all := "3 rooms\n1 amy 58 3\n1 cyd 58 3\n3 bob 50 2\n4 dia 37 2"
			// Without week 2: amy 25+15, cyd 15+25, bob 25+25, dia 12.
			public := "2 rooms\n1 bob 50 2\n2 amy 40 2\n2 cyd 40 2\n4 dia 12 1"
			for _, c := range []struct{ who, token, want string }{
				{"owner", owner, all}, {"dia (in week 2)", dia, all}, {"bob (not in week 2)", bob, public}, {"anonymous", "", public},
			} {
				if got := read(c.token); got != c.want {
					t.Errorf("%s reads:\n%s\nwant:\n%s", c.who, got, c.want)
				}
			}

			res, err := http.Get(ts.url + "/leagues/" + id)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `<div id="league">`) {
				t.Errorf("GET /leagues/%s: %d\n%s", id, res.StatusCode, page)
			}
		})
	}
}
