package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a raw graphql-transport-ws (or legacy) client for tests.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (ts *testServer) dialWS(t testing.TB, protocol string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	if protocol == "" {
		d.Subprotocols = nil
	}
	conn, resp, err := d.Dial(strings.Replace(ts.url, "http", "ws", 1)+"/query", header)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn}, resp, nil
}

func (c *wsClient) send(m any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads the next message that is not a keep-alive.
func (c *wsClient) next() wsMsg {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m wsMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m.Type != "ka" && m.Type != "ping" {
			return m
		}
	}
}

// closeCode reads until the server closes the socket and returns its code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

func (c *wsClient) init(payload any) {
	c.t.Helper()
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	if m := c.next(); m.Type != "connection_ack" {
		c.t.Fatalf("got %s, want connection_ack", m.Type)
	}
}

type roomSetup struct {
	id                  string
	admin, owner, alice string
}

func (ts *testServer) activeRoom(t testing.TB) roomSetup {
	t.Helper()
	s := roomSetup{admin: ts.signUpAdmin("admin"), owner: ts.signUp("owner"), alice: ts.signUp("alice")}
	ts.must(s.admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(s.owner, `mutation($s: Time!, $e: Time!) { createBullPen(input: {name: "WS", startsAt: $s, endsAt: $e}) { id } }`,
		map[string]any{"s": fmtTime(t0.Add(time.Hour)), "e": fmtTime(t0.Add(2 * time.Hour))}, &created)
	s.id = created.CreateBullPen.ID
	ts.must(s.alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": s.id}, nil)
	ts.must(s.owner, `mutation($id: ID!) { startBullPen(id: $id) { state } }`, map[string]any{"id": s.id}, nil)
	return s
}

func TestWebSocketSubscriptionDeliversInOrder(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{"authorization": "Bearer " + room.alice})
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!) { bullPenEvents(bullPenId: $id, afterSequence: 0) { __typename sequence ... on OrderEvent { kind order { status symbol } } } }`,
		"variables": map[string]any{"id": room.id},
	}})
	if m := c.next(); m.Type != "next" || !strings.Contains(string(m.Payload), `"RoomStateEvent","sequence":1`) {
		t.Fatalf("first = %s %s", m.Type, m.Payload)
	}
	ts.must(room.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 5}) { id } }`, map[string]any{"id": room.id}, nil)
	m := c.next()
	if m.ID != "1" || m.Type != "next" || !strings.Contains(string(m.Payload), `"sequence":2,"kind":"FILLED"`) {
		t.Fatalf("second = %s %s", m.Type, m.Payload)
	}
	if m := c.next(); !strings.Contains(string(m.Payload), `"PositionEvent","sequence":3`) {
		t.Fatalf("third = %s", m.Payload)
	}
	// A query over the socket gets one result, then complete.
	c.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": `{ me { username } }`}})
	if m := c.next(); m.ID != "2" || m.Type != "next" || !strings.Contains(string(m.Payload), `"alice"`) {
		t.Fatalf("query = %s %s", m.Type, m.Payload)
	}
	if m := c.next(); m.ID != "2" || m.Type != "complete" {
		t.Fatalf("query end = %s", m.Type)
	}
	// Shutdown completes the subscription and closes with 1001.
	go ts.stop()
	if m := c.next(); m.ID != "1" || m.Type != "complete" {
		t.Fatalf("on shutdown got %s %s, want complete", m.Type, m.Payload)
	}
	if code := c.closeCode(); code != websocket.CloseGoingAway {
		t.Errorf("close code %d, want 1001", code)
	}
}

func TestWebSocketRefusals(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	sub := func(id, query string) map[string]any {
		return map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": map[string]any{"id": room.id}}}
	}
	quotes := `subscription { quotes { symbol } }`
	tests := []struct {
		name string
		run  func(c *wsClient)
		code int
	}{
		{"InvalidJSON", func(c *wsClient) { _ = c.conn.WriteMessage(websocket.TextMessage, []byte("not json")) }, 4400},
		{"UnknownType", func(c *wsClient) { c.send(map[string]any{"type": "hello"}) }, 4400},
		{"SubscribeBeforeInit", func(c *wsClient) { c.send(sub("1", quotes)) }, 4401},
		{"BadToken", func(c *wsClient) {
			c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer bogus"}})
		}, 4403},
		{"DuplicateID", func(c *wsClient) { c.init(nil); c.send(sub("1", quotes)); c.send(sub("1", quotes)) }, 4409},
		{"DuplicateLongID", func(c *wsClient) { // the reason is cut to fit a control frame (125 bytes)
			id := strings.Repeat("é", 100)
			c.init(nil)
			c.send(sub(id, quotes))
			c.send(sub(id, quotes))
		}, 4409},
		{"TwoInits", func(c *wsClient) { c.init(nil); c.send(map[string]any{"type": "connection_init"}) }, 4429},
		{"TooBig", func(c *wsClient) {
			c.init(nil)
			c.send(sub("1", "{ me { id } } #"+strings.Repeat("x", 70<<10)))
		}, websocket.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.run(c)
			if code := c.closeCode(); code != tt.code {
				t.Errorf("close code %d, want %d", code, tt.code)
			}
		})
	}
	t.Run("InitTimeout", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		// A pong proves the connection is served, so its init timer runs.
		c.send(map[string]any{"type": "ping"})
		if m := c.next(); m.Type != "pong" {
			t.Fatalf("got %s, want pong", m.Type)
		}
		ts.clock.Advance(11 * time.Second)
		if code := c.closeCode(); code != 4408 {
			t.Errorf("close code %d, want 4408", code)
		}
	})
	t.Run("NoSubprotocol", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if code := c.closeCode(); code != 4406 {
			t.Errorf("close code %d, want 4406", code)
		}
	})
	t.Run("ForeignOrigin", func(t *testing.T) {
		_, resp, err := ts.dialWS(t, "graphql-transport-ws", http.Header{"Origin": {"https://evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("dial from a foreign origin: %v, %v", err, resp)
		}
	})
	t.Run("LocalhostOrigin", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", http.Header{"Origin": {"http://localhost:5173"}})
		if err != nil {
			t.Fatal(err)
		}
		c.init(nil)
	})
	t.Run("ForbiddenSubscriptionIsAnError", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(nil) // anonymous
		c.send(sub("7", `subscription($id: ID!) { orderUpdates(bullPenId: $id) { sequence } }`))
		m := c.next()
		if m.Type != "error" || m.ID != "7" || !strings.Contains(string(m.Payload), `"code":"FORBIDDEN"`) {
			t.Fatalf("got %s %s, want error FORBIDDEN", m.Type, m.Payload)
		}
		c.send(map[string]any{"type": "ping"})
		if m := c.next(); m.Type != "pong" {
			t.Fatalf("ping answered with %s", m.Type)
		}
	})
	t.Run("TooManyOperations", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(nil)
		for i := range 200 {
			c.send(sub(fmt.Sprint("q", i), quotes))
		}
		c.send(sub("one-too-many", quotes))
		m := c.next()
		if m.Type != "error" || m.ID != "one-too-many" || !strings.Contains(string(m.Payload), "RATE_LIMITED") {
			t.Fatalf("got %s %s %s, want error RATE_LIMITED", m.ID, m.Type, m.Payload)
		}
	})
	t.Run("LegacyProtocolBadToken", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": "bogus"}})
		if m := c.next(); m.Type != "connection_error" {
			t.Fatalf("got %s, want connection_error", m.Type)
		}
		if code := c.closeCode(); code != 4403 {
			t.Errorf("close code %d, want 4403", code)
		}
	})
	t.Run("LegacyProtocolData", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(map[string]any{"authToken": room.owner})
		// Live-only subscriptions start "from now", and nothing tells a
		// client when that is: resume from the room's lastSequence instead.
		var last struct{ BullPen struct{ LastSequence int } }
		ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id}, &last)
		c.send(map[string]any{"id": "a", "type": "start", "payload": map[string]any{
			"query":     `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { ... on OrderEvent { kind order { symbol } } } }`,
			"variables": map[string]any{"id": room.id, "after": last.BullPen.LastSequence}}})
		ts.must(room.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 1}) { id } }`, map[string]any{"id": room.id}, nil)
		if m := c.next(); m.Type != "data" || m.ID != "a" || !strings.Contains(string(m.Payload), `"kind":"FILLED"`) {
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
		c.send(map[string]any{"id": "a", "type": "stop"})
		c.send(map[string]any{"type": "connection_terminate"})
		if code := c.closeCode(); code != websocket.CloseNormalClosure {
			t.Errorf("close code %d, want 1000", code)
		}
	})
}

// TestSpectatorsAndMembersShareOneExecution: many anonymous spectators of
// one room's leaderboard and a signed-in member asking the same document
// cost one execution per event, and every one of them receives each
// snapshot.
func TestSpectatorsAndMembersShareOneExecution(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	const n = 40
	query := `subscription($id: ID!) { leaderboardUpdates(bullPenId: $id) { sequence snapshot { entries { rank } } } }`
	var clients []*wsClient
	for i := range n {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(nil)
		c.send(map[string]any{"id": fmt.Sprint("lb", i), "type": "subscribe", "payload": map[string]any{"query": query, "variables": map[string]any{"id": room.id}}})
		clients = append(clients, c)
	}
	// A signed-in member's identical subscription shares it too.
	member, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	member.init(map[string]any{"authorization": "Bearer " + room.alice})
	member.send(map[string]any{"id": "m", "type": "subscribe", "payload": map[string]any{"query": query, "variables": map[string]any{"id": room.id}}})
	eventually(t, "every subscriber to follow one execution", func() bool {
		return ts.query.Sharing.Members() == n+1 && ts.events.Stats().Subscribers == n+1
	})
	if got := ts.query.Sharing.Groups(); got != 1 {
		t.Fatalf("%d shared executions, want 1", got)
	}
	before := ts.query.Sharing.Executions()
	if err := ts.svc.RefreshLeaderboards(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	for i, c := range append(clients, member) {
		if m := c.next(); m.Type != "next" || !strings.Contains(string(m.Payload), `"leaderboardUpdates":{"sequence":`) {
			t.Fatalf("client %d got %s %s", i, m.Type, m.Payload)
		}
	}
	if got := ts.query.Sharing.Executions() - before; got != 1 {
		t.Errorf("%d executions for one event to %d subscribers, want 1", got, n+1)
	}
	// Leaving stops the shared execution with its last subscriber.
	for _, c := range clients {
		c.conn.Close()
	}
	eventually(t, "the spectators to leave", func() bool {
		return ts.query.Sharing.Members() == 1 && ts.events.Stats().Subscribers == 1
	})
	member.conn.Close()
	eventually(t, "the shared execution to stop", func() bool {
		return ts.query.Sharing.Groups() == 0 && ts.events.Stats().Subscribers == 0
	})
}
