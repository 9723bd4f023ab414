package e2e

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// csvReply is one answer of an export path.
type csvReply struct {
	status int
	header http.Header
	body   string
}

// getCSV fetches an export path with token ("" for none).
func (ts *testServer) getCSV(t testing.TB, token, path string) csvReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return csvReply{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// records parses a 200 CSV answer, checking its headers, and returns the
// rows after the header row (which must be header).
func (r csvReply) records(t testing.TB, filename string, header []string) [][]string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/csv", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+filename+`"` {
		t.Errorf("Content-Disposition %q, want an attachment named %s", cd, filename)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV %q: %v", r.body, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("CSV header %v, want %v", rows, header)
	}
	return rows[1:]
}

var (
	resultsHeader = []string{"rank", "user", "portfolioValue", "cash", "totalReturn", "returnPercent",
		"maxDrawdownPercent", "volatilityPercent", "sharpeRatio", "tradeCount", "winRate", "removed",
		"team", "teamRank", "teamScore"}
	tradesHeader = []string{"time", "user", "symbol", "side", "quantity", "price", "commission", "orderId",
		"midPrice", "spreadCost", "slippageCost", "impactCost", "note"}
)

// TestResultsAndTradesCSV: both exports, parsed with encoding/csv, equal
// what GraphQL answers the same caller (the leaderboard with its metrics;
// the FILLED orders it may see), for the owner, each member, a signed-in
// outsider and an anonymous spectator, in a room that ended. Unknown and
// hidden rooms are one 404; a bad token is the 401 of /query.
func TestResultsAndTradesCSV(t *testing.T) {
	ts := startServer(t)
	tokens := map[string]string{"owner": ts.signUp("owner"), "alice": ts.signUp("alice"), "bob": ts.signUp("-bob"), "outsider": ts.signUp("outsider"), "anonymous": ""}
	admin := ts.signUpAdmin("admin")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	var room struct{ CreateBullPen struct{ ID string } }
	ts.must(tokens["owner"], `mutation($e: Time!) { createBullPen(input: {name: "Cup", endsAt: $e, commission: "1.5"}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &room)
	id := room.CreateBullPen.ID
	order := func(who, side string, qty int, note string) {
		t.Helper()
		in := map[string]any{"bullPenId": id, "symbol": "AAPL", "side": side, "quantity": qty}
		if note != "" {
			in["note"] = note
		}
		ts.must(tokens[who], placeOrderMutation, map[string]any{"in": in}, nil)
	}
	for _, who := range []string{"alice", "bob"} {
		ts.must(tokens[who], `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": id}, nil)
	}
	// Notes ride in trades.csv as text cells: quoted when multi-line, a
	// formula guarded.
	order("alice", "BUY", 10, "  breakout above 100,\nstop at 95  ")
	order("bob", "BUY", 5, "=HYPERLINK(\"x\")")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "110.25") { price } }`, nil, nil)
	order("alice", "SELL", 4, "")
	if err := ts.svc.RefreshLeaderboards(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	ts.must(tokens["owner"], `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": id}, nil)

	wantTrades := map[string]int{"owner": 3, "alice": 2, "bob": 1, "outsider": 0, "anonymous": 0}
	for who, token := range tokens {
		t.Run(who, func(t *testing.T) {
			ts := ts.with(t)
			var q struct {
				BullPen struct {
					Leaderboard struct {
						Final   bool
						Entries []struct {
							Rank                                         int
							User                                         struct{ Username string }
							PortfolioValue, Cash, TotalReturn, ReturnPct string
							Metrics                                      struct {
								MaxDrawdownPercent                      string
								VolatilityPercent, SharpeRatio, WinRate *string
								TradeCount                              int
							}
						}
					}
					Orders struct {
						Edges []struct {
							Node struct {
								ID, FilledAt, Symbol, Side, FilledPrice, Commission string
								FilledQuantity                                      int
								Participant                                         struct{ User struct{ Username string } }
								Fills                                               []struct{ MidPrice, SpreadCost, SlippageCost, ImpactCost string }
								Note                                                *string
							}
						}
					}
				}
			}
			ts.must(token, `query($id: ID!) { bullPen(id: $id) {
				leaderboard { final entries { rank user { username } portfolioValue cash totalReturn returnPct: returnPercent
					metrics { maxDrawdownPercent volatilityPercent sharpeRatio tradeCount winRate } } }
				orders(status: FILLED, first: 500) { edges { node { id filledAt symbol side filledPrice commission filledQuantity
					participant { user { username } } fills { midPrice spreadCost slippageCost impactCost } note } } } } }`, map[string]any{"id": id}, &q)
			if !q.BullPen.Leaderboard.Final {
				t.Fatal("the room's latest leaderboard is not the final one")
			}
			opt := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			spreadsheet := func(name string) string { // usernames and notes that look like formulas are quoted
				if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "=") {
					return "'" + name
				}
				return name
			}
			var want [][]string
			for _, e := range q.BullPen.Leaderboard.Entries {
				m := e.Metrics
				want = append(want, []string{strconv.Itoa(e.Rank), spreadsheet(e.User.Username), e.PortfolioValue, e.Cash, e.TotalReturn,
					e.ReturnPct, m.MaxDrawdownPercent, opt(m.VolatilityPercent), opt(m.SharpeRatio), strconv.Itoa(m.TradeCount), opt(m.WinRate),
					"" /* nobody was removed (see TestOrganisersHandOverGraphQL) */, "", "", "" /* no teams (see TestTeamsOverGraphQL) */})
			}
			got := ts.getCSV(t, token, "/rooms/"+id+"/results.csv").records(t, "bullpen-"+id+"-results.csv", resultsHeader)
			if len(got) != 2 || !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("results.csv rows\n%q\nwant (from GraphQL)\n%q", got, want)
			}

			nodes := q.BullPen.Orders.Edges
			slices.SortFunc(nodes, func(a, b struct {
				Node struct {
					ID, FilledAt, Symbol, Side, FilledPrice, Commission string
					FilledQuantity                                      int
					Participant                                         struct{ User struct{ Username string } }
					Fills                                               []struct{ MidPrice, SpreadCost, SlippageCost, ImpactCost string }
					Note                                                *string
				}
			}) int {
				if c := strings.Compare(a.Node.FilledAt, b.Node.FilledAt); c != 0 {
					return c
				}
				x, _ := strconv.Atoi(a.Node.ID)
				y, _ := strconv.Atoi(b.Node.ID)
				return cmp.Compare(x, y)
			})
			want = nil
			for _, e := range nodes {
				n := e.Node
				if len(n.Fills) != 1 {
					t.Fatalf("order %s has %d fills: a FRICTIONLESS room fills an order at once", n.ID, len(n.Fills))
				}
				f := n.Fills[0]
				want = append(want, []string{n.FilledAt, spreadsheet(n.Participant.User.Username), n.Symbol, n.Side,
					strconv.Itoa(n.FilledQuantity), n.FilledPrice, n.Commission, n.ID, f.MidPrice, f.SpreadCost, f.SlippageCost, f.ImpactCost, spreadsheet(opt(n.Note))})
			}
			got = ts.getCSV(t, token, "/rooms/"+id+"/trades.csv").records(t, "bullpen-"+id+"-trades.csv", tradesHeader)
			if len(got) != wantTrades[who] || !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("trades.csv rows\n%q\nwant %d (from GraphQL)\n%q", got, wantTrades[who], want)
			}
		})
	}

	t.Run("HiddenIsUnknown", func(t *testing.T) {
		var private struct{ CreateBullPen struct{ ID string } }
		ts.must(tokens["owner"], `mutation($e: Time!) { createBullPen(input: {name: "Secret", endsAt: $e, visibility: PRIVATE}) { id } }`,
			map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &private)
		pid := private.CreateBullPen.ID
		for _, export := range []string{"results", "trades"} {
			if r := ts.getCSV(t, tokens["owner"], "/rooms/"+pid+"/"+export+".csv"); r.status != http.StatusOK {
				t.Errorf("%s of the owner's private room: %d %s", export, r.status, r.body)
			}
			unknown := ts.getCSV(t, tokens["outsider"], "/rooms/"+unknownID+"/"+export+".csv")
			for _, token := range []string{tokens["outsider"], ""} {
				hidden := ts.getCSV(t, token, "/rooms/"+pid+"/"+export+".csv")
				if hidden.status != http.StatusNotFound || unknown.status != http.StatusNotFound ||
					hidden.body != strings.ReplaceAll(unknown.body, unknownID, pid) || strings.Contains(hidden.body, "Secret") {
					t.Errorf("%s: hidden room %d %q, unknown room %d %q: want the same 404", export, hidden.status, hidden.body, unknown.status, unknown.body)
				}
			}
		}
	})

	t.Run("BrowserOrigins", func(t *testing.T) {
		// A page on a dev server (any localhost port) may fetch an export
		// with its token, as it may call /query: preflight, then GET.
		resp := sendPreflight(t, ts.url+"/rooms/"+id+"/results.csv", "http://localhost:5173", "GET", "authorization")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		get, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/rooms/"+id+"/trades.csv", nil)
		get.Header.Set("Origin", "http://localhost:5173")
		get.Header.Set("Authorization", "Bearer "+tokens["alice"])
		resp, err := http.DefaultClient.Do(get)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
			resp.Header.Get("Access-Control-Expose-Headers") != "Content-Disposition" {
			t.Errorf("GET from a page: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("BadTokenIs401", func(t *testing.T) {
		r := ts.getCSV(t, "garbage", "/rooms/"+id+"/results.csv")
		var body gqlResponse
		if r.status != http.StatusUnauthorized || json.Unmarshal([]byte(r.body), &body) != nil || len(body.Errors) != 1 ||
			body.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
			t.Errorf("bad token: %d %s, want 401 UNAUTHENTICATED as from /query", r.status, r.body)
		}
	})
}

// TestCloneBullPenAPI: cloneBullPen answers the rematch with every setting
// the GraphQL API shows, new times and a new invite code.
func TestCloneBullPenAPI(t *testing.T) {
	ts := startServer(t)
	owner := ts.signUp("owner")
	const settings = `name description state startingCash commission allowShortSelling allowedSymbols maxParticipants
		visibility tradeVisibility rankBy`
	var orig struct{ CreateBullPen map[string]any }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Cup", description: "rematch me", endsAt: $e,
		startingCash: "5000.5", commission: "2", allowShortSelling: true, allowedSymbols: ["MSFT", "AAPL"], maxParticipants: 7,
		visibility: PRIVATE, tradeVisibility: PUBLIC, rankBy: SHARPE}) { id inviteCode startsAt endsAt `+settings+` } }`,
		map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &orig)
	var clone struct{ CloneBullPen map[string]any }
	starts, ends := fmtTime(t0.Add(48*time.Hour)), fmtTime(t0.Add(50*time.Hour))
	ts.must(owner, `mutation($id: ID!, $s: Time, $e: Time!) { cloneBullPen(id: $id, startsAt: $s, endsAt: $e) {
		id inviteCode startsAt endsAt `+settings+` } }`, map[string]any{"id": orig.CreateBullPen["id"], "s": starts, "e": ends}, &clone)
	a, b := orig.CreateBullPen, clone.CloneBullPen
	if a["state"] != "ACTIVE" || b["state"] != "SCHEDULED" {
		t.Errorf("states %v and %v, want ACTIVE and SCHEDULED", a["state"], b["state"])
	}
	for _, f := range strings.Fields(settings) {
		if f != "state" && mustJSONString(t, a[f]) != mustJSONString(t, b[f]) {
			t.Errorf("%s: original %v, clone %v", f, a[f], b[f])
		}
	}
	if b["id"] == a["id"] || b["inviteCode"] == a["inviteCode"] || b["inviteCode"] == nil {
		t.Errorf("clone id %v invite %v, original id %v invite %v", b["id"], b["inviteCode"], a["id"], a["inviteCode"])
	}
	if b["startsAt"] != "2026-03-04T14:30:00.000Z" || b["endsAt"] != "2026-03-04T16:30:00.000Z" {
		t.Errorf("clone times %v-%v, want %s-%s", b["startsAt"], b["endsAt"], starts, ends)
	}
	ts.fails(owner, `mutation($id: ID!, $e: Time!) { cloneBullPen(id: $id, endsAt: $e) { id } }`,
		map[string]any{"id": orig.CreateBullPen["id"], "e": fmtTime(t0.Add(-time.Hour))}, "BAD_USER_INPUT")
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEquityHistoryAPI: equityHistory through GraphQL, its points bounded.
func TestEquityHistoryAPI(t *testing.T) {
	ts := startServer(t)
	owner, player := ts.signUp("owner"), ts.signUp("player")
	var room struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Cup", endsAt: $e, startingCash: "2500"}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &room)
	id := room.CreateBullPen.ID
	ts.must(player, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": id}, nil)
	if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	const query = `query($id: ID!, $n: Int) { bullPen(id: $id) { participants { equityHistory(points: $n) { at portfolioValue } } } }`
	var out struct {
		BullPen struct {
			Participants []struct {
				EquityHistory []struct{ At, PortfolioValue string }
			}
		}
	}
	ts.must("", query, map[string]any{"id": id, "n": 5}, &out)
	if h := out.BullPen.Participants[0].EquityHistory; len(h) != 1 || h[0].PortfolioValue != "2500.00" || h[0].At == "" {
		t.Errorf("equityHistory %+v, want the one snapshot at 2500.00", h)
	}
	for _, n := range []int{0, 1001} {
		e := ts.fails("", query, map[string]any{"id": id, "n": n}, "BAD_USER_INPUT")
		if e.Extensions["field"] != "points" {
			t.Errorf("points %d: %+v, want the field named", n, e)
		}
	}
}
