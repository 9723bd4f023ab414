package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestWholeGame plays a competition through /query: two players, one
// room, market and limit orders, a pause, the end by the clock and the
// final leaderboard.
func TestWholeGame(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playWholeGame(t, startServerOn(t, dbtest.Open(t, backend))) })
	}
}

func playWholeGame(t *testing.T, ts *testServer) {
	admin, alice, bob := ts.signUpAdmin("admin"), ts.signUp("alice"), ts.signUp("bob")

	ts.must(admin, `mutation { a: setQuote(symbol: "AAPL", price: "190.00") { price } m: setQuote(symbol: "MSFT", price: "400") { price } }`, nil, nil)

	var created struct {
		CreateBullPen struct {
			ID, State, InviteCode string
			StartingCash          string
		} `json:"createBullPen"`
	}
	ts.must(alice, `mutation($s: Time!, $e: Time!) {
		createBullPen(input: {name: "Friday cup", startsAt: $s, endsAt: $e, startingCash: "10000", commission: "1", visibility: PRIVATE}) {
			id state inviteCode startingCash
		}
	}`, map[string]any{"s": fmtTime(t0.Add(time.Minute)), "e": fmtTime(t0.Add(time.Hour))}, &created)
	room := created.CreateBullPen
	if room.State != "SCHEDULED" || room.InviteCode == "" || room.StartingCash != "10000.00" {
		t.Fatalf("created %+v", room)
	}
	vars := map[string]any{"id": room.ID}

	// Bob needs the invite code: until he joins, the private room does
	// not exist for him.
	ts.fails(bob, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, vars, game.ENOTFOUND)
	var hidden struct{ BullPen *struct{ InviteCode *string } }
	ts.must(bob, `query($id: ID!) { bullPen(id: $id) { inviteCode } }`, vars, &hidden)
	if hidden.BullPen != nil {
		t.Errorf("bob sees the private room: %+v", hidden.BullPen)
	}
	join := `mutation($id: ID!, $code: String) { joinBullPen(bullPenId: $id, inviteCode: $code) { id cash } }`
	ts.must(alice, join, vars, nil)
	ts.must(bob, join, map[string]any{"id": room.ID, "code": room.InviteCode}, nil)
	ts.must(bob, `query($id: ID!) { bullPen(id: $id) { inviteCode } }`, vars, &hidden)
	if hidden.BullPen == nil || hidden.BullPen.InviteCode != nil {
		t.Errorf("bob, a member, should see the room but not its invite code: %+v", hidden.BullPen)
	}

	// Orders before the start are rejected and stored.
	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status rejectReason filledPrice commission } }`
	type order struct {
		ID, Status   string
		RejectReason *string
		FilledPrice  *string
		Commission   string
	}
	var placed struct{ PlaceOrder order }
	ts.must(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "quantity": 1}}, &placed)
	if placed.PlaceOrder.Status != "REJECTED" || *placed.PlaceOrder.RejectReason != "ROOM_NOT_ACTIVE" {
		t.Fatalf("early order %+v", placed.PlaceOrder)
	}

	// The clock starts the room.
	ts.clock.Advance(time.Minute)
	state := func() string {
		var s struct{ BullPen struct{ State string } }
		ts.must(alice, `query($id: ID!) { bullPen(id: $id) { state } }`, vars, &s)
		return s.BullPen.State
	}
	eventually(t, "the room to start", func() bool { return state() == "ACTIVE" })

	ts.must(alice, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "AAPL", "side": "BUY", "quantity": 20}}, &placed)
	if placed.PlaceOrder.Status != "FILLED" || *placed.PlaceOrder.FilledPrice != "190.00" || placed.PlaceOrder.Commission != "1.00" {
		t.Fatalf("market buy %+v", placed.PlaceOrder)
	}
	ts.must(bob, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "MSFT", "side": "BUY", "type": "LIMIT", "limitPrice": "395.5", "quantity": 10}}, &placed)
	if placed.PlaceOrder.Status != "OPEN" {
		t.Fatalf("limit buy %+v", placed.PlaceOrder)
	}
	limitID := placed.PlaceOrder.ID
	ts.must(admin, `mutation { setQuote(symbol: "MSFT", price: "395") { price } }`, nil, nil)
	var got struct {
		BullPen struct {
			Orders struct {
				TotalCount int
				Edges      []struct{ Node order }
			}
		}
	}
	ts.must(bob, `query($id: ID!) { bullPen(id: $id) { orders { totalCount edges { node { id status filledPrice commission } } } } }`, vars, &got)
	if n := got.BullPen.Orders; n.TotalCount != 1 || n.Edges[0].Node.ID != limitID || n.Edges[0].Node.Status != "FILLED" || *n.Edges[0].Node.FilledPrice != "395.00" {
		t.Fatalf("bob's orders %+v", n)
	}

	// Pause: orders are rejected; resume.
	ts.must(alice, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, vars, nil)
	ts.must(bob, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "MSFT", "side": "SELL", "quantity": 1}}, &placed)
	if placed.PlaceOrder.Status != "REJECTED" {
		t.Fatalf("order while paused %+v", placed.PlaceOrder)
	}
	ts.fails(bob, `mutation($id: ID!) { resumeBullPen(id: $id) { state } }`, vars, game.EFORBIDDEN)
	ts.must(alice, `mutation($id: ID!) { resumeBullPen(id: $id) { state } }`, vars, nil)
	ts.fails(alice, `mutation($id: ID!) { resumeBullPen(id: $id) { state } }`, vars, game.ECONFLICT)

	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "200") { price } }`, nil, nil)
	// Bob's resting sell will still be open at the end.
	ts.must(bob, place, map[string]any{"in": map[string]any{"bullPenId": room.ID, "symbol": "MSFT", "side": "SELL", "type": "LIMIT", "limitPrice": "500", "quantity": 10}}, &placed)

	var me struct {
		BullPen struct {
			Me struct {
				Cash, PortfolioValue, TotalReturn, ReturnPercent, BuyingPower string
				Positions                                                     []struct {
					Symbol                                                                       string
					Quantity                                                                     int
					AverageCost, CostBasis, MarketPrice, MarketValue, UnrealizedPnl, RealizedPnl string
				}
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { me { cash buyingPower portfolioValue totalReturn returnPercent
		positions { symbol quantity averageCost costBasis marketPrice marketValue unrealizedPnl realizedPnl } } } }`, vars, &me)
	m := me.BullPen.Me
	// 10000 - 20*190 - 1 = 6199; value 6199 + 20*200 = 10199.
	if m.Cash != "6199.00" || m.PortfolioValue != "10199.00" || m.TotalReturn != "199.00" || m.ReturnPercent != "1.99" {
		t.Errorf("alice = %+v", m)
	}
	if len(m.Positions) != 1 || m.Positions[0].Quantity != 20 || m.Positions[0].AverageCost != "190.00" ||
		m.Positions[0].MarketValue != "4000.00" || m.Positions[0].UnrealizedPnl != "200.00" {
		t.Errorf("alice positions = %+v", m.Positions)
	}

	// The clock ends the room; bob's open order expires; a final board.
	ts.clock.Advance(time.Hour)
	eventually(t, "the room to end", func() bool { return state() == "ENDED" })
	var final struct {
		BullPen struct {
			Leaderboard struct {
				Final   bool
				Entries []struct {
					Rank           int
					User           struct{ Username string }
					PortfolioValue string
				}
			}
			Orders struct{ Edges []struct{ Node order } }
		}
	}
	ts.must(bob, `query($id: ID!) { bullPen(id: $id) {
		leaderboard { final entries { rank user { username } portfolioValue } }
		orders(status: EXPIRED) { edges { node { id status } } } } }`, vars, &final)
	lb := final.BullPen.Leaderboard
	if !lb.Final || len(lb.Entries) != 2 || lb.Entries[0].User.Username != "alice" || lb.Entries[0].Rank != 1 ||
		lb.Entries[0].PortfolioValue != "10199.00" || lb.Entries[1].User.Username != "bob" || lb.Entries[1].Rank != 2 {
		t.Errorf("final leaderboard = %+v", lb)
	}
	if len(final.BullPen.Orders.Edges) != 1 {
		t.Errorf("expired orders = %+v", final.BullPen.Orders.Edges)
	}

	// The log tells the whole story in order.
	var log struct {
		BullPenEventLog []struct {
			Typename string `json:"__typename"`
			Sequence int
			Kind     string
			State    string
			Trigger  string
		}
	}
	ts.must(alice, `query($id: ID!) { bullPenEventLog(bullPenId: $id, limit: 1000) { __typename sequence
		... on OrderEvent { kind } ... on RoomStateEvent { state trigger } } }`, vars, &log)
	var story []string
	for i, e := range log.BullPenEventLog {
		if e.Sequence != i+1 {
			t.Fatalf("event %d has sequence %d", i, e.Sequence)
		}
		switch e.Typename {
		case "RoomStateEvent":
			story = append(story, e.State+"/"+e.Trigger)
		case "OrderEvent":
			story = append(story, e.Kind)
		case "PositionEvent":
			story = append(story, "position")
		}
	}
	want := "REJECTED ACTIVE/SCHEDULE FILLED position ACCEPTED FILLED position PAUSED/MANUAL REJECTED ACTIVE/MANUAL ACCEPTED ENDED/SCHEDULE EXPIRED"
	if got := strings.Join(story, " "); got != want {
		t.Errorf("story (leaderboards left out):\n got %s\nwant %s", got, want)
	}
}

func TestEndpoints(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct{ path, contains string }{
		{"/healthz", "ok"},
		{"/readyz", "ready"},
		{"/schema.graphql", "type BullPen"},
		{"/metrics", "bullpen_websocket_connections"},
		{"/", "<html"},
		{"/rooms/1", `<div id="room">`},
	} {
		t.Run(strings.Trim(tc.path, "/"), func(t *testing.T) {
			resp, err := http.Get(ts.url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), tc.contains) {
				t.Errorf("GET %s = %d, body lacks %q", tc.path, resp.StatusCode, tc.contains)
			}
		})
	}
	t.Run("GETQuery", func(t *testing.T) {
		resp, err := http.Get(ts.url + "/query?query=" + "%7Binstruments%7Bsymbol%7D%7D")
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct{ Instruments []struct{ Symbol string } }
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if len(out.Data.Instruments) < 28 {
			t.Errorf("instruments = %d", len(out.Data.Instruments))
		}
	})
}

func TestErrorsAreCleanAndCoded(t *testing.T) {
	ts := startServer(t)
	alice := ts.signUp("alice")
	tests := []struct {
		name, token, query, code string
	}{
		{"NoToken", "", `mutation { createBullPen(input: {name: "x", endsAt: "2030-01-01T00:00:00Z"}) { id } }`, game.EUNAUTHENTICATED},
		{"BadToken", "not-a-token", `{ me { id } }`, game.EUNAUTHENTICATED},
		{"DuplicateUser", "", `mutation { signUp(input: {username: "ALICE", password: "password123"}) { token } }`, game.ECONFLICT},
		{"WrongPassword", "", `mutation { signIn(input: {username: "alice", password: "wrong-password"}) { token } }`, game.EUNAUTHENTICATED},
		{"ShortPassword", "", `mutation { signUp(input: {username: "zed", password: "short"}) { token } }`, game.EINVALID},
		{"BadID", alice, `{ bullPen(id: "x1") { id } }`, game.EINVALID},
		{"FloatDecimal", alice, `mutation { createBullPen(input: {name: "x", endsAt: "2030-01-01T00:00:00Z", startingCash: 10.5}) { id } }`, game.EINVALID},
		{"BadTime", alice, `mutation { createBullPen(input: {name: "x", endsAt: "tomorrow"}) { id } }`, game.EINVALID},
		{"UnknownField", alice, `{ nope }`, game.EINVALID},
		{"SyntaxError", alice, `{ me { `, game.EINVALID},
		{"CancelUnknownOrder", alice, `mutation { cancelOrder(orderId: 77) { id } }`, game.ENOTFOUND},
		{"SetQuoteNotAdmin", alice, `mutation { setQuote(symbol: "AAPL", price: "1") { price } }`, game.EFORBIDDEN},
		{"BadCursor", alice, `{ bullPens(after: "garbage") { totalCount } }`, game.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ts.with(t)
			e := ts.fails(tt.token, tt.query, nil, tt.code)
			for _, leak := range []string{"sql", "SQL", "goroutine", ".go:", "runtime error", "panic"} {
				if strings.Contains(e.Message, leak) {
					t.Errorf("message %q leaks %q", e.Message, leak)
				}
			}
		})
	}
}

func TestOversizedRequestIsRefused(t *testing.T) {
	ts := startServer(t)
	r := ts.do("", `{ me { id } } #`+strings.Repeat("x", 2<<20), nil)
	if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != game.EINVALID || !strings.Contains(r.Errors[0].Message, "too large") {
		t.Fatalf("2 MiB request: %+v", r.Errors)
	}
}

func TestCORS(t *testing.T) {
	ts := startServer(t)
	preflight := func(origin string) *http.Response {
		return sendPreflight(t, ts.url+"/query", origin, "POST", "authorization, content-type")
	}
	t.Run("LocalDevServer", func(t *testing.T) {
		resp := preflight("http://localhost:5173")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("preflight = %d %v", resp.StatusCode, resp.Header)
		}
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/query", strings.NewReader(`{"query":"{ me { id } }"}`))
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("Content-Type", "application/json")
		post, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		post.Body.Close()
		if post.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
			t.Errorf("POST lacks Access-Control-Allow-Origin: %v", post.Header)
		}
	})
	t.Run("ForeignOrigin", func(t *testing.T) {
		resp := preflight("https://evil.example")
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("a foreign origin was allowed: %v", resp.Header)
		}
	})
	t.Run("AllowedByFlag", func(t *testing.T) {
		ts := startServer(t, "-allowed-origins", "https://game.example.com")
		resp := sendPreflight(t, ts.url+"/query", "https://game.example.com", "POST", "")
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://game.example.com" {
			t.Errorf("configured origin not allowed: %v", resp.Header)
		}
	})
}

// sendPreflight sends a CORS preflight from origin for a method request
// to url asking for headers (none when empty), and returns the answer
// with its body closed.
func sendPreflight(t *testing.T, url, origin, method, headers string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
