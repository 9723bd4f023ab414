package game_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// teamLine renders a standing as "name rank score [members]".
func teamLine(ts game.TeamStanding) string {
	return fmt.Sprintf("%s %d %s %v", ts.Team.Name, ts.Rank, ts.Score.String(), ts.Team.MemberIDs)
}

func teamLines(ts []game.TeamStanding) []string {
	out := []string{}
	for _, s := range ts {
		out = append(out, teamLine(s))
	}
	return out
}

// TestRankTeams: each scoring, computed by hand from the members'
// entries. AVERAGE is the mean of returnPercent rounded half-even to 4
// places (1.00015 -> 1.0002, 1.00005 -> 1.0000), SUM the sum of portfolio
// values, BEST the highest returnPercent. Equal scores share the rank
// (1, 2, 2, 4) and keep the teams' order; a team with no member in the
// snapshot is left out, and a member not in it is not counted.
func TestRankTeams(t *testing.T) {
	entry := func(id int64, value, pct string) game.LeaderboardEntry {
		return game.LeaderboardEntry{ParticipantID: id, PortfolioValue: dec(value), ReturnPercent: dec(pct)}
	}
	entries := []game.LeaderboardEntry{
		entry(1, "1100", "10"), entry(2, "950", "-5"), // A: avg 2.5, sum 2050, best 10
		entry(3, "1033.333", "3.3333"),               // B: 3.3333, 1033.333, 3.3333
		entry(4, "1020", "2"), entry(5, "1030", "3"), // C: 2.5, 2050, 3
		entry(6, "1010.001", "1.0001"), entry(7, "1010.002", "1.0002"), // F: 1.00015 -> 1.0002
		entry(8, "1000", "1.0000"), entry(9, "1010.001", "1.0001"), // G: 1.00005 -> 1.0000
	}
	teams := []*game.Team{
		{ID: 10, Name: "A", MemberIDs: []int64{1, 2}},
		{ID: 11, Name: "B", MemberIDs: []int64{3, 99}}, // 99 is not on the board
		{ID: 12, Name: "C", MemberIDs: []int64{5, 4}},
		{ID: 13, Name: "D", MemberIDs: []int64{}},
		{ID: 14, Name: "E", MemberIDs: []int64{98}},
		{ID: 15, Name: "F", MemberIDs: []int64{6, 7}},
		{ID: 16, Name: "G", MemberIDs: []int64{8, 9}},
	}
	for _, tt := range []struct {
		scoring game.TeamScoring
		want    []string
	}{
		{game.TeamAverage, []string{"B 1 3.3333 [3]", "A 2 2.5 [1 2]", "C 2 2.5 [5 4]", "F 4 1.0002 [6 7]", "G 5 1 [8 9]"}},
		{game.TeamSum, []string{"A 1 2050 [1 2]", "C 1 2050 [5 4]", "F 3 2020.003 [6 7]", "G 4 2010.001 [8 9]", "B 5 1033.333 [3]"}},
		{game.TeamBest, []string{"A 1 10 [1 2]", "B 2 3.3333 [3]", "C 3 3 [5 4]", "F 4 1.0002 [6 7]", "G 5 1.0001 [8 9]"}},
	} {
		t.Run(string(tt.scoring), func(t *testing.T) {
			got := teamLines(game.RankTeams(tt.scoring, teams, entries))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("standings\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	if got := game.RankTeams(game.TeamAverage, nil, entries); got == nil || len(got) != 0 {
		t.Errorf("no teams: %v, want an empty list", got)
	}
	// The input is not modified.
	if teams[1].Rank != nil || len(teams[1].MemberIDs) != 2 {
		t.Errorf("RankTeams changed its input: %+v", teams[1])
	}
}

// TestTeams: teams on both engines through the service. Settings are
// checked at creation; createTeam and joinTeam are refused, with nothing
// stored, to anyone who may not (no seat, a removed seat, a seat in a
// team already, a full team, a taken name in any case, a room without
// teams or one that is over); the snapshot ranks the teams from the
// members' entries of the same snapshot, stores them, and its
// LEADERBOARD event carries the very same standings.
func TestTeams(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob, carol, dave, erin, zed := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol"), h.user("dave"), h.user("erin"), h.user("zed")

			assertCreateRefused(t, h, owner, []createCase{
				{"TeamSizeOne", func(in *game.CreateBullPenInput) { in.TeamSize = ptr(1) }, "teamSize"},
				{"TeamSizeTooBig", func(in *game.CreateBullPenInput) { in.TeamSize = ptr(51) }, "teamSize"},
				{"ScoringWithoutTeams", func(in *game.CreateBullPenInput) { in.TeamScoring = ptr(game.TeamSum) }, "teamScoring"},
				{"UnknownScoring", func(in *game.CreateBullPenInput) {
					in.TeamSize, in.TeamScoring = ptr(2), ptr(game.TeamScoring("MEDIAN"))
				}, "teamScoring"},
			})

			plain := h.activeRoom(owner, nil, alice)
			if plain.TeamSize != nil {
				t.Fatalf("a room without teamSize has teams: %v", *plain.TeamSize)
			}
			_, err := h.svc.CreateTeam(h.ctx, alice, plain.ID, "Bulls")
			if game.ErrorCode(err) != game.EINVALID || errField(err) != "bullPenId" || !strings.Contains(err.Error(), "teamSize") {
				t.Errorf("a team in a room without teams: %v, want BAD_USER_INPUT naming bullPenId and teamSize", err)
			}

			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.StartingCash = decp("1000")
				in.TeamSize = ptr(2)
			}, alice, bob, carol, dave, erin)
			if room.TeamSize == nil || *room.TeamSize != 2 || room.TeamScoring != game.TeamAverage {
				t.Fatalf("room's teams: %v %q, want 2 AVERAGE", room.TeamSize, room.TeamScoring)
			}
			stored, err := h.store.BullPen(h.ctx, room.ID)
			if err != nil || stored.TeamSize == nil || *stored.TeamSize != 2 || stored.TeamScoring != game.TeamAverage {
				t.Fatalf("stored room's teams: %+v, %v", stored, err)
			}
			// A rematch keeps the team settings (not the teams).
			clone, err := h.svc.CloneBullPen(h.ctx, owner, room.ID, nil, t0.Add(2*time.Hour))
			if err != nil || clone.TeamSize == nil || *clone.TeamSize != 2 || clone.TeamScoring != game.TeamAverage {
				t.Fatalf("clone: %+v, %v", clone, err)
			}
			if teams, err := h.store.Teams(h.ctx, clone.ID); err != nil || len(teams) != 0 {
				t.Errorf("the clone's teams: %v, %v", teams, err)
			}
			pa, pb, pc, pd, pe := h.participant(room.ID, alice), h.participant(room.ID, bob), h.participant(room.ID, carol), h.participant(room.ID, dave), h.participant(room.ID, erin)

			// Refusals before any team: nothing stored.
			_, err = h.svc.CreateTeam(h.ctx, nil, room.ID, "Bulls")
			assertCode(t, err, game.EUNAUTHENTICATED)
			_, err = h.svc.CreateTeam(h.ctx, zed, room.ID, "Bulls")
			assertCode(t, err, game.EFORBIDDEN)
			_, err = h.svc.CreateTeam(h.ctx, owner, room.ID, "Bulls") // the owner has no seat
			assertCode(t, err, game.EFORBIDDEN)
			for _, name := range []string{"", "   ", "two\nlines", "cup\u202Egpj", strings.Repeat("n", game.MaxTeamNameLength+1)} {
				_, err = h.svc.CreateTeam(h.ctx, alice, room.ID, name)
				if game.ErrorCode(err) != game.EINVALID || errField(err) != "name" {
					t.Errorf("name %q: %v, want BAD_USER_INPUT naming name", name, err)
				}
			}
			if teams, err := h.store.Teams(h.ctx, room.ID); err != nil || len(teams) != 0 {
				t.Fatalf("teams after refusals: %v, %v", teams, err)
			}

			bulls, err := h.svc.CreateTeam(h.ctx, alice, room.ID, "  Bulls ")
			if err != nil {
				t.Fatal(err)
			}
			if bulls.Name != "Bulls" || !reflect.DeepEqual(bulls.MemberIDs, []int64{pa.ID}) {
				t.Errorf("created %+v, want Bulls with alice", bulls)
			}
			_, err = h.svc.CreateTeam(h.ctx, alice, room.ID, "Bears")
			assertCode(t, err, game.ECONFLICT) // alice is in a team
			_, err = h.svc.CreateTeam(h.ctx, bob, room.ID, "bULLS")
			assertCode(t, err, game.ECONFLICT) // the name, in any case
			joined, err := h.svc.JoinTeam(h.ctx, bob, bulls.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(joined.MemberIDs, []int64{pa.ID, pb.ID}) {
				t.Errorf("joined %v, want alice and bob", joined.MemberIDs)
			}
			_, err = h.svc.JoinTeam(h.ctx, carol, bulls.ID)
			assertCode(t, err, game.ETEAMFULL)
			_, err = h.svc.JoinTeam(h.ctx, bob, bulls.ID)
			assertCode(t, err, game.ECONFLICT) // in it already: CONFLICT before TEAM_FULL
			_, err = h.svc.JoinTeam(h.ctx, carol, 987654)
			assertCode(t, err, game.ENOTFOUND)
			_, err = h.svc.JoinTeam(h.ctx, zed, bulls.ID)
			assertCode(t, err, game.EFORBIDDEN)
			bears, err := h.svc.CreateTeam(h.ctx, carol, room.ID, "Bears")
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.svc.JoinTeam(h.ctx, alice, bears.ID)
			assertCode(t, err, game.ECONFLICT) // alice is in Bulls
			// A removed player may not join.
			if _, err := h.svc.RemoveParticipant(h.ctx, owner, pe.ID, "two accounts"); err != nil {
				t.Fatal(err)
			}
			_, err = h.svc.JoinTeam(h.ctx, erin, bears.ID)
			assertCode(t, err, game.EFORBIDDEN)
			_, err = h.svc.CreateTeam(h.ctx, erin, room.ID, "Solo")
			assertCode(t, err, game.EFORBIDDEN)
			if _, err := h.svc.JoinTeam(h.ctx, dave, bears.ID); err != nil {
				t.Fatal(err)
			}
			teams, err := h.store.Teams(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(teams) != 2 || !reflect.DeepEqual(teams[0].MemberIDs, []int64{pa.ID, pb.ID}) || !reflect.DeepEqual(teams[1].MemberIDs, []int64{pc.ID, pd.ID}) {
				t.Fatalf("stored teams: %+v %+v", teams[0], teams[1])
			}

			// Scores from the snapshot's own entries. Starting cash 1000:
			// alice 10 AAPL 100 -> 110: 1100, +10%; bob -5% (10 MSFT 50 -> 45
			// and holds them: 950); carol +0%; dave 10 AAPL: +10%.
			// Bulls (10 - 5) / 2 = 2.5; Bears (0 + 10) / 2 = 5.
			h.price("AAPL", "100")
			h.price("MSFT", "50")
			h.order(alice, buy(room.ID, "AAPL", 10))
			h.order(dave, buy(room.ID, "AAPL", 10))
			h.order(bob, buy(room.ID, "MSFT", 10))
			h.price("AAPL", "110")
			h.price("MSFT", "45")
			seq := h.lastSeq(room.ID)
			if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
				t.Fatal(err)
			}
			snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{fmt.Sprintf("Bears 1 5 [%d %d]", pc.ID, pd.ID), fmt.Sprintf("Bulls 2 2.5 [%d %d]", pa.ID, pb.ID)}
			if got := teamLines(snap.Teams); !reflect.DeepEqual(got, want) {
				t.Errorf("stored team standings %q, want %q", got, want)
			}
			// Its event carries the same standings, as a replay reads them.
			var evSnap *game.LeaderboardSnapshot
			for _, ev := range h.events(room.ID) {
				if ev.Sequence > seq && ev.Kind == game.EventLeaderboard {
					var p game.LeaderboardPayload
					mustUnmarshal(t, ev.Payload, &p)
					evSnap = &p.Snapshot
				}
			}
			if evSnap == nil || !reflect.DeepEqual(teamLines(evSnap.Teams), want) || evSnap.Teams[0].Team.Name != "Bears" {
				t.Errorf("LEADERBOARD event's teams: %+v, want %q", evSnap, want)
			}
			// The view: teams in the order they were made, the board by rank.
			view, err := h.svc.View(h.ctx, nil, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			vt, err := view.Teams(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			board, err := view.TeamLeaderboard(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(vt) != 2 || vt[0].Name != "Bulls" || *vt[0].Rank != 2 || !vt[0].Score.Equal(dec("2.5")) ||
				len(board) != 2 || board[0].Name != "Bears" || *board[0].Rank != 1 {
				t.Errorf("view: teams %+v, board %+v", vt, board)
			}
			members, err := view.TeamMembers(h.ctx, vt[1])
			if err != nil || len(members) != 2 || members[0].ID != pc.ID || members[1].ID != pd.ID {
				t.Errorf("Bears' members: %v, %v", members, err)
			}

			// A new team shows at the next refresh: the board was marked.
			frank := h.user("frank")
			pf := h.join(frank, room.ID)
			if _, err := h.svc.CreateTeam(h.ctx, frank, room.ID, "Stags"); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
				t.Fatal(err)
			}
			snap, err = h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("Stags 3 0 [%d]", pf.ID))
			if got := teamLines(snap.Teams); !reflect.DeepEqual(got, want) {
				t.Errorf("after Stags: %q, want %q", got, want)
			}

			// Nothing moved: a periodic refresh takes no snapshot of the
			// room (its team board is the stored one too).
			seq = h.lastSeq(room.ID)
			if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
				t.Fatal(err)
			}
			if got := h.kinds(room.ID, seq); len(got) != 0 {
				t.Errorf("a periodic refresh of an unchanged team board gave %v", got)
			}
			// A room without teams stores none.
			if ps, err := h.store.LatestSnapshot(h.ctx, plain.ID); err != nil || ps.Teams != nil {
				t.Errorf("a room without teams: %v, %v", ps, err)
			}

			// Over: the teams are final, and the final snapshot has them.
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
				t.Fatal(err)
			}
			snap, err = h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil || !snap.Final || !reflect.DeepEqual(teamLines(snap.Teams), want) {
				t.Errorf("final snapshot: %+v, %v", snap, err)
			}
			_, err = h.svc.JoinTeam(h.ctx, erin, bears.ID)
			assertCode(t, err, game.ECONFLICT)
			_, err = h.svc.CreateTeam(h.ctx, frank, room.ID, "Late")
			assertCode(t, err, game.ECONFLICT)
		})
	}
}

// TestTeamScoringSumAndBest: a room scoring SUM ranks by the members'
// portfolio values added up, one scoring BEST by the best member's
// return, both through the service on both engines.
func TestTeamScoringSumAndBest(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob, carol := h.user("owner"), h.user("alice"), h.user("bob"), h.user("carol")
			h.price("AAPL", "100")
			for _, tt := range []struct {
				scoring game.TeamScoring
				want    []string
			}{
				// alice 1100 (+10%), bob 950 (-5%): Duo 2050, best 10;
				// carol 1000 (0%) alone: 1000, best 0.
				{game.TeamSum, []string{"Duo 1 2050", "Solo 2 1000"}},
				{game.TeamBest, []string{"Duo 1 10", "Solo 2 0"}},
			} {
				room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
					in.StartingCash, in.TeamSize, in.TeamScoring = decp("1000"), ptr(3), ptr(tt.scoring)
				}, alice, bob, carol)
				h.price("AAPL", "100")
				h.order(alice, buy(room.ID, "AAPL", 10))
				h.order(bob, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Quantity: 5})
				duo, err := h.svc.CreateTeam(h.ctx, alice, room.ID, "Duo")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.svc.JoinTeam(h.ctx, bob, duo.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := h.svc.CreateTeam(h.ctx, carol, room.ID, "Solo"); err != nil {
					t.Fatal(err)
				}
				h.price("AAPL", "110") // alice 1100; bob 500 + 550 = 1050
				// bob gives back 100 (cash 500 -> 400): 950, -5%.
				if _, err := h.svc.AdjustCash(h.ctx, owner, h.participant(room.ID, bob).ID, dec("-100"), "fee"); err != nil {
					t.Fatal(err)
				}
				if err := h.svc.RefreshLeaderboards(h.ctx, false); err != nil {
					t.Fatal(err)
				}
				snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, ts := range snap.Teams {
					got = append(got, fmt.Sprintf("%s %d %s", ts.Team.Name, ts.Rank, ts.Score))
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: %q, want %q", tt.scoring, got, tt.want)
				}
			}
		})
	}
}

// TestJoinTeamLastSeatRace: players racing for a team's last seat, on
// both engines: exactly one gets it, every other gets TEAM_FULL, and the
// team never holds more than teamSize.
func TestJoinTeamLastSeatRace(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			const racers, rounds = 8, 3
			for round := range rounds {
				var players []*game.User
				for i := range racers {
					players = append(players, h.user(fmt.Sprintf("r%dp%d", round, i)))
				}
				room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.TeamSize = ptr(2) }, append(players, alice)...)
				team, err := h.svc.CreateTeam(h.ctx, alice, room.ID, "Last seat")
				if err != nil {
					t.Fatal(err)
				}
				var (
					wg    sync.WaitGroup
					start = make(chan struct{})
					errs  = make([]error, racers)
				)
				for i, u := range players {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, errs[i] = h.svc.JoinTeam(h.ctx, u, team.ID)
					}()
				}
				close(start)
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch game.ErrorCode(err) {
					case "":
						won++
					case game.ETEAMFULL:
					default:
						t.Errorf("a racer got %v, want TEAM_FULL", err)
					}
				}
				stored, err := h.store.Team(h.ctx, team.ID)
				if err != nil {
					t.Fatal(err)
				}
				if won != 1 || len(stored.MemberIDs) != 2 {
					t.Fatalf("round %d: %d racers joined, the team has %d members; want 1 and 2", round, won, len(stored.MemberIDs))
				}
			}
		})
	}
}

// TestTeamStandingJSON: a standing as stored in a snapshot and in its
// event: the team (id, room, name, members) with its rank and score.
func TestTeamStandingJSON(t *testing.T) {
	ts := game.TeamStanding{Team: game.Team{ID: 3, BullPenID: 9, Name: "Bulls", MemberIDs: []int64{4, 5}, CreatedAt: t0.Add(time.Hour)}, Rank: 1, Score: dec("2.5000")}
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"team":{"id":3,"bullPenId":9,"name":"Bulls","memberIds":[4,5]},"rank":1,"score":"2.5"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	r := ts.Ranked()
	if *r.Rank != 1 || r.Score.String() != "2.5" || ts.Team.Rank != nil {
		t.Errorf("Ranked: %+v (standing's team %+v)", r, ts.Team)
	}
}
