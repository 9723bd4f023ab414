package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/graph"
)

// TestClassOf30 runs docs/running-a-competition.md's steps through the
// real server behind a proxy (-client-ip-header X-Forwarded-For), on both
// engines: a teacher opens a PRIVATE room of 30 with the guide's settings
// (REALISTIC execution, requireNote, teams of three by AVERAGE, four
// assignments); 30 students, each from their own address but one who has
// a second account, join with the invite code (a wrong code and a 31st
// student are refused); they make ten teams of three (a fourth member is
// TEAM_FULL); they trade with notes (an order without one is refused),
// half of them meeting every assignment and half two of the
// four; the second account mirrors the first's trades on the opposite
// side. The integrity report names the two accounts, and nobody else;
// the teacher removes the second account and ends the room, and
// results.csv grades the class: the guide's columns, ten teams of three,
// each student's assignments as scripted, the removal; a league gives the
// removed account no points.
func TestClassOf30(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ts := startServerOn(t, dbtest.Open(t, backend), append([]string{"-client-ip-header", "X-Forwarded-For"}, noOrderLimit...)...).with(t)
			admin := ts.signUpAdmin("admin") // sets the manual market's prices
			teacher := ts.authFrom("signUp", "ms_rivera", "192.0.2.1")
			symbols := []string{"AAPL", "MSFT", "GOOGL", "AMZN"}
			prices := map[string]int{"AAPL": 190, "MSFT": 400, "GOOGL": 170, "AMZN": 180}
			// quotes sets every price afresh (the integrity report counts a
			// fill on a quote older than 60 s as stale), up by step dollars.
			quotes := func(step int) {
				for _, s := range symbols {
					prices[s] += step
					ts.must(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p, volume: 1000000) { price } }`,
						map[string]any{"s": s, "p": fmt.Sprint(prices[s])}, nil)
				}
			}
			quotes(0)

			// 3. The room, as the guide creates it.
			var created struct {
				CreateBullPen struct{ ID, State, InviteCode string }
			}
			ts.must(teacher, `mutation($s: Time!, $e: Time!) { createBullPen(input: {
				name: "Period 3 stock market game", startsAt: $s, endsAt: $e
				visibility: PRIVATE, tradeVisibility: PUBLIC, maxParticipants: 30
				startingCash: "100000", commission: "4.95"
				allowedSymbols: ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "JPM", "KO"]
				execution: {preset: REALISTIC}
				requireNote: true
				teamSize: 3, teamScoring: AVERAGE
				assignments: [
					{kind: ORDERS_OF_TYPE, count: 2, orderType: LIMIT}
					{kind: DISTINCT_SYMBOLS, count: 4}
					{kind: NOTES_WRITTEN, count: 5}
					{kind: MAX_DRAWDOWN_BELOW, count: 15}
				] }) { id state inviteCode } }`,
				map[string]any{"s": fmtTime(t0.Add(time.Hour)), "e": fmtTime(t0.Add(5 * 24 * time.Hour))}, &created)
			room := created.CreateBullPen.ID
			if created.CreateBullPen.State != "SCHEDULED" || created.CreateBullPen.InviteCode == "" {
				t.Fatalf("created %+v, want SCHEDULED with an invite code", created.CreateBullPen)
			}

			// 4. The class joins with the invite code: 28 students from
			// their own addresses, and dup with two accounts from one.
			type student struct {
				name, token, participant string
				full                     bool // scripted to meet every assignment
			}
			var class []*student
			join := func(s *student, code string) {
				var j struct{ JoinBullPen struct{ ID string } }
				ts.must(s.token, `mutation($id: ID!, $c: String) { joinBullPen(bullPenId: $id, inviteCode: $c) { id } }`,
					map[string]any{"id": room, "c": code}, &j)
				s.participant = j.JoinBullPen.ID
			}
			for i := 1; i <= 28; i++ {
				s := &student{name: fmt.Sprintf("s%02d", i), full: i%2 == 0}
				s.token = ts.authFrom("signUp", s.name, fmt.Sprintf("198.51.100.%d", i))
				class = append(class, s)
			}
			dupA := &student{name: "dup_a", token: ts.authFrom("signUp", "dup_a", "203.0.113.50")}
			dupB := &student{name: "dup_b", token: ts.authFrom("signUp", "dup_b", "203.0.113.50")}
			class = append(class, dupA, dupB)
			ts.fails(class[0].token, `mutation($id: ID!) { joinBullPen(bullPenId: $id, inviteCode: "WRONG") { id } }`, map[string]any{"id": room}, "NOT_FOUND")
			for _, s := range class {
				join(s, created.CreateBullPen.InviteCode)
			}
			late := ts.authFrom("signUp", "late", "198.51.100.99")
			ts.fails(late, `mutation($id: ID!, $c: String) { joinBullPen(bullPenId: $id, inviteCode: $c) { id } }`,
				map[string]any{"id": room, "c": created.CreateBullPen.InviteCode}, "CONFLICT")
			var seats struct {
				BullPen struct{ ParticipantCount int }
			}
			ts.must(teacher, `query($id: ID!) { bullPen(id: $id) { participantCount } }`, map[string]any{"id": room}, &seats)
			if seats.BullPen.ParticipantCount != 30 {
				t.Fatalf("%d participants, want 30", seats.BullPen.ParticipantCount)
			}

			// 5. Ten teams of three: each third student makes one, the next
			// two join it; a fourth member is refused.
			teamOf := map[string]string{}
			for k := 0; k < 10; k++ {
				name := fmt.Sprintf("Team %02d", k+1)
				var team struct{ CreateTeam struct{ ID string } }
				ts.must(class[3*k].token, `mutation($id: ID!, $n: String!) { createTeam(bullPenId: $id, name: $n) { id } }`,
					map[string]any{"id": room, "n": name}, &team)
				for _, s := range class[3*k+1 : 3*k+3] {
					ts.must(s.token, `mutation($t: ID!) { joinTeam(teamId: $t) { id } }`, map[string]any{"t": team.CreateTeam.ID}, nil)
				}
				for _, s := range class[3*k : 3*k+3] {
					teamOf[s.name] = name
				}
				if k == 1 { // class[6], in no team yet, finds this one full
					ts.fails(class[6].token, `mutation($t: ID!) { joinTeam(teamId: $t) { id } }`, map[string]any{"t": team.CreateTeam.ID}, "TEAM_FULL")
				}
			}
			var teams struct {
				BullPen struct {
					Teams []struct {
						Name    string
						Members []struct{ User struct{ Username string } }
					}
				}
			}
			ts.must(teacher, `query($id: ID!) { bullPen(id: $id) { teams { name members { user { username } } } } }`, map[string]any{"id": room}, &teams)
			if len(teams.BullPen.Teams) != 10 {
				t.Fatalf("%d teams, want 10", len(teams.BullPen.Teams))
			}
			for _, tm := range teams.BullPen.Teams {
				if len(tm.Members) != 3 {
					t.Errorf("%s has %d members, want 3", tm.Name, len(tm.Members))
				}
			}

			// 6. The week. The teacher opens the room early and says so.
			ts.must(teacher, `mutation($id: ID!) { startBullPen(id: $id) { state } }`, map[string]any{"id": room}, nil)
			ts.must(teacher, `mutation($id: ID!) { announce(bullPenId: $id, message: "The market is open: every order needs a note.") { sequence } }`, map[string]any{"id": room}, nil)
			order := func(s *student, in map[string]any) {
				t.Helper()
				in["bullPenId"] = room
				var out struct{ PlaceOrder struct{ ID, Status string } }
				ts.must(s.token, placeOrderMutation, map[string]any{"in": in}, &out)
				if out.PlaceOrder.Status != "FILLED" {
					t.Fatalf("%s's order %v: %s, want FILLED", s.name, in, out.PlaceOrder.Status)
				}
			}
			// An order without a note is refused.
			ts.fails(class[0].token, placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": 1}}, "BAD_USER_INPUT")
			// Everyone buys the four symbols (4 notes, 4 symbols held).
			for _, s := range class {
				for _, sym := range symbols {
					order(s, map[string]any{"symbol": sym, "side": "BUY", "quantity": 20, "note": "diversify: " + sym})
				}
				ts.clock.Advance(100 * time.Millisecond)
			}
			// Half the class uses limit orders twice (a buy limit above the
			// ask fills at once), writing a note each: 6 notes.
			ts.clock.Advance(time.Minute)
			quotes(1)
			for _, s := range class {
				if s.full {
					for _, sym := range []string{"AAPL", "MSFT"} {
						order(s, map[string]any{"symbol": sym, "side": "BUY", "type": "LIMIT", "limitPrice": fmt.Sprint(prices[sym] + 5), "quantity": 5, "note": "limit under my price"})
					}
				}
			}
			// dup_b sells each time dup_a buys, two seconds later: one
			// person betting both ways.
			for round := 0; round < 3; round++ {
				ts.clock.Advance(time.Minute)
				quotes(1)
				order(dupA, map[string]any{"symbol": "GOOGL", "side": "BUY", "quantity": 5, "note": "up"})
				ts.clock.Advance(2 * time.Second)
				order(dupB, map[string]any{"symbol": "GOOGL", "side": "SELL", "quantity": 5, "note": "down"})
			}

			// 7. The integrity report names dup_a and dup_b, and nobody else.
			var rep integrityJSON
			ts.must(teacher, integrityQuery, map[string]any{"id": room}, &rep)
			var flags []string
			for _, f := range rep.BullPen.IntegrityReport.Flags {
				var who []string
				for _, p := range f.Participants {
					who = append(who, p.User.Username)
				}
				flags = append(flags, f.Kind+" "+strings.Join(who, " "))
			}
			if want := []string{"SHARED_ADDRESS dup_a dup_b", "MIRRORED_TRADING dup_a dup_b"}; !slices.Equal(flags, want) {
				t.Fatalf("integrity flags %q, want %q", flags, want)
			}
			ts.must(teacher, `mutation($p: ID!) { removeParticipant(participantId: $p, reason: "a second account") { removedAt } }`, map[string]any{"p": dupB.participant}, nil)

			// 8. The end, and the grades.
			ts.clock.Advance(time.Minute)
			quotes(1)
			ts.must(teacher, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": room}, nil)
			header := append(slices.Clone(graph.ResultsHeader), "a1_ORDERS_OF_TYPE_LIMIT_2", "a1_met", "a2_DISTINCT_SYMBOLS_4", "a2_met",
				"a3_NOTES_WRITTEN_5", "a3_met", "a4_MAX_DRAWDOWN_BELOW_15", "a4_met", "assignmentsMet")
			rows := ts.getCSV(t, teacher, "/rooms/"+room+"/results.csv").records(t, "bullpen-"+room+"-results.csv", header)
			if len(rows) != 30 {
				t.Fatalf("results.csv has %d rows, want 30", len(rows))
			}
			col := func(name string) int { return slices.Index(header, name) }
			byName := map[string]*student{}
			for _, s := range class {
				byName[s.name] = s
			}
			teamRanks := map[string]string{}
			for _, row := range rows {
				s := byName[row[col("user")]]
				if s == nil {
					t.Fatalf("row of an unknown user: %q", row)
				}
				if got := row[col("team")]; got != teamOf[s.name] {
					t.Errorf("%s: team %q, want %q", s.name, got, teamOf[s.name])
				}
				if r, ok := teamRanks[row[col("team")]]; ok && r != row[col("teamRank")] {
					t.Errorf("%s: team rank %s, a teammate's %s", s.name, row[col("teamRank")], r)
				}
				teamRanks[row[col("team")]] = row[col("teamRank")]
				if (row[col("removed")] != "") != (s == dupB) {
					t.Errorf("%s: removed %q", s.name, row[col("removed")])
				}
				// The drawdown's done is the file's exact maxDrawdownPercent
				// rounded up; prices only rose, so it is met.
				dd := decimal.RequireFromString(row[col("maxDrawdownPercent")])
				if got, want := row[col("a4_MAX_DRAWDOWN_BELOW_15")], dd.Ceil().String(); got != want || row[col("a4_met")] != "true" || dd.GreaterThanOrEqual(decimal.NewFromInt(15)) {
					t.Errorf("%s: drawdown %s, done %s (want %s), met %s", s.name, dd, got, want, row[col("a4_met")])
				}
				grades := strings.Join(append(slices.Clone(row[col("a1_ORDERS_OF_TYPE_LIMIT_2"):col("a4_MAX_DRAWDOWN_BELOW_15")]), row[col("assignmentsMet")]), ",")
				want := "0,false,4,true,4,false,2/4" // four buys, each with a note
				switch {
				case s.full:
					want = "2,true,4,true,6,true,4/4"
				case s == dupA || s == dupB:
					want = "0,false,4,true,7,true,3/4"
				}
				if grades != want {
					t.Errorf("%s: assignments %s, want %s", s.name, grades, want)
				}
			}
			if len(teamRanks) != 10 {
				t.Errorf("%d teams in results.csv, want 10", len(teamRanks))
			}

			// 9. A league: the removed account earns nothing.
			var league struct{ CreateLeague struct{ ID string } }
			ts.must(teacher, `mutation { createLeague(name: "Spring term") { id } }`, nil, &league)
			var standings struct {
				AddRoomToLeague struct {
					Standings []struct {
						User   struct{ Username string }
						Points int
					}
				}
			}
			ts.must(teacher, `mutation($l: ID!, $r: ID!) { addRoomToLeague(leagueId: $l, bullPenId: $r) { standings { user { username } points } } }`,
				map[string]any{"l": league.CreateLeague.ID, "r": room}, &standings)
			for _, st := range standings.AddRoomToLeague.Standings {
				if st.User.Username == "dup_b" && st.Points != 0 {
					t.Errorf("dup_b, removed, has %d league points", st.Points)
				}
			}
			if n := len(standings.AddRoomToLeague.Standings); n != 30 {
				t.Errorf("league: %d players, want 30", n)
			}
		})
	}
}
