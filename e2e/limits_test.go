package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bullpen/bullpen/game"
)

// Operations over a limit on their shape are refused, naming the limit, on
// every transport: HTTP POST and GET, SSE, and both WebSocket protocols.
func TestQueryShapeLimitsOnEveryTransport(t *testing.T) {
	ts := startServer(t, "-max-query-depth", "4", "-max-aliases", "3", "-max-complexity", "20")
	for _, tc := range []struct {
		name, query, reason string
		limit, value        float64
		message             string
	}{
		{"TooDeep", `{ bullPens { edges { node { owner { username } } } } }`, "QUERY_TOO_DEEP", 4, 5,
			"operation is 5 fields deep, over the limit of 4"},
		{"TooManyAliases", `{ a: instruments { symbol } b: instruments { symbol } c: instruments { symbol } d: instruments { symbol } }`,
			"TOO_MANY_ALIASES", 3, 4, "operation has 4 aliased fields, over the limit of 3"},
		{"AliasesInFragmentsCountEachSpread", `{ ...Two ... on Query { ...Two } } fragment Two on Query { a: instruments { symbol } b: me { id } }`,
			"TOO_MANY_ALIASES", 3, 4, "over the limit of 3"},
		{"TooComplex", `{ instruments { symbol name price } me { id username displayName createdAt }
			bullPens { totalCount edges { cursor node { id name state startsAt endsAt } } pageInfo { hasNextPage endCursor } } }`,
			"COMPLEXITY_LIMIT_EXCEEDED", 20, 22, "operation has complexity 22, over the limit of 20"},
		{"TooDeepSubscription", `subscription { bullPenEvents(bullPenId: "1") { ... on OrderEvent { order { participant { user { id } } } } } }`,
			"QUERY_TOO_DEEP", 4, 5, "operation is 5 fields deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(transport string, e gqlError) {
				t.Helper()
				if e.Extensions["code"] != "BAD_USER_INPUT" || e.Extensions["reason"] != tc.reason ||
					e.Extensions["limit"] != tc.limit || e.Extensions["value"] != tc.value || !strings.Contains(e.Message, tc.message) {
					t.Errorf("%s: got %q %v, want BAD_USER_INPUT %s limit %v value %v, message with %q",
						transport, e.Message, e.Extensions, tc.reason, tc.limit, tc.value, tc.message)
				}
			}
			subscription := strings.HasPrefix(tc.query, "subscription")
			if !subscription {
				// HTTP: a request error (no data), 400 with the GraphQL
				// response type, 200 with application/json.
				status, r := ts.rawPost(t, map[string]string{"Accept": "application/graphql-response+json"}, mustMarshal(map[string]any{"query": tc.query}))
				if status != http.StatusBadRequest || r.Data != nil || len(r.Errors) != 1 {
					t.Errorf("POST: status %d data %s errors %d, want 400, no data, one error", status, r.Data, len(r.Errors))
				}
				if len(r.Errors) > 0 {
					check("POST", r.Errors[0])
				}
				status, r = ts.rawGet(t, tc.query)
				if status != http.StatusOK || len(r.Errors) != 1 {
					t.Errorf("GET: status %d errors %d, want 200 and one error", status, len(r.Errors))
				}
				if len(r.Errors) > 0 {
					check("GET", r.Errors[0])
				}
			}
			// SSE: the operation's error, then complete.
			s := ts.subscribeSSE(t, "", tc.query, nil)
			if ev, data := s.next(); ev != "next" {
				t.Errorf("SSE: event %s %s, want next with the error", ev, data)
			} else {
				var r gqlResponse
				_ = json.Unmarshal([]byte(data), &r)
				if len(r.Errors) != 1 {
					t.Errorf("SSE: %s, want one error", data)
				} else {
					check("SSE", r.Errors[0])
				}
			}
			if ev, _ := s.next(); ev != "complete" {
				t.Errorf("SSE: %s after the error, want complete", ev)
			}
			// Both WebSocket protocols: an error message for the operation;
			// the connection stays open.
			for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
				c, _, err := ts.dialWS(t, protocol, nil)
				if err != nil {
					t.Fatal(err)
				}
				c.init(map[string]any{})
				start := "subscribe"
				if protocol == "graphql-ws" {
					start = "start"
				}
				c.send(map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": tc.query}})
				m := c.next()
				var errs []gqlError
				if protocol == "graphql-ws" {
					// subscriptions-transport-ws: data with the errors, then complete.
					var r gqlResponse
					_ = json.Unmarshal(m.Payload, &r)
					errs = r.Errors
					if m.Type != "data" || c.next().Type != "complete" {
						t.Errorf("%s: got %s %s, want data with the error, then complete", protocol, m.Type, m.Payload)
					}
				} else {
					_ = json.Unmarshal(m.Payload, &errs)
					if m.Type != "error" {
						t.Errorf("%s: got %s %s, want error", protocol, m.Type, m.Payload)
					}
				}
				if len(errs) != 1 {
					t.Errorf("%s: %s, want one error", protocol, m.Payload)
				} else {
					check(protocol, errs[0])
				}
				c.send(map[string]any{"id": "2", "type": start, "payload": map[string]any{"query": `{ __typename }`}})
				if m := c.next(); m.Type != "next" && m.Type != "data" {
					t.Errorf("%s: after the refusal got %s %s, want the next result", protocol, m.Type, m.Payload)
				}
			}
		})
	}

	t.Run("AtTheLimits", func(t *testing.T) {
		// Depth 4, three aliases, complexity 20 exactly.
		ts.must("", `{ bullPens { edges { node { id } } } }`, nil, nil)
		ts.must("", `{ a: instruments { symbol } b: instruments { symbol } c: instruments { symbol } }`, nil, nil)
		ts.must("", `{ instruments { symbol name price } me { id username displayName createdAt }
			bullPens { totalCount edges { cursor node { id name state } } pageInfo { hasNextPage endCursor } } }`, nil, nil)
	})
	t.Run("IntrospectionNestsFreely", func(t *testing.T) {
		// GraphiQL's introspection query nests its type references 15 deep;
		// inside __schema and __type nothing adds depth or complexity.
		ts.must("", `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }`, nil, nil)
		ts.must("", `{ __type(name: "Order") { fields { type { ofType { ofType { name } } } } } }`, nil, nil)
	})
	t.Run("FragmentBomb", func(t *testing.T) {
		// 2^40 fields once expanded: refused at once, not counted one by one.
		var q strings.Builder
		q.WriteString("{ ...F0 }\n")
		for i := range 40 {
			fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		q.WriteString("fragment F40 on Query { instruments { symbol } }\n")
		start := time.Now()
		e := ts.fails("", q.String(), nil, "BAD_USER_INPUT")
		if e.Extensions["reason"] != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("got %q %v, want COMPLEXITY_LIMIT_EXCEEDED", e.Message, e.Extensions)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// The defaults let GraphiQL's full introspection query through.
func TestDefaultLimitsAdmitIntrospection(t *testing.T) {
	ts := startServer(t)
	var typeRef strings.Builder
	typeRef.WriteString("kind name")
	for range 9 { // graphql-js's typeDepth: 9
		typeRef.WriteString(" ofType { kind name")
	}
	typeRef.WriteString(strings.Repeat(" }", 9))
	q := `query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
		types { ...FullType } directives { name description locations args { ...InputValue } } } }
	fragment FullType on __Type { kind name description
		fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
		inputFields { ...InputValue } interfaces { ...TypeRef }
		enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
	fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
	fragment TypeRef on __Type { ` + typeRef.String() + ` }`
	ts.must("", q, nil, nil)
}

// A JSON array of operations (HTTP batching) is refused with a clear
// error: batching is not supported.
func TestBatchedRequestsAreRefused(t *testing.T) {
	ts := startServer(t)
	status, r := ts.rawPost(t, nil, []byte(` [{"query": "{ __typename }"}, {"query": "{ me { id } }"}]`))
	if status != http.StatusBadRequest || len(r.Errors) != 1 || r.Data != nil {
		t.Fatalf("status %d, %+v, want 400 and one error", status, r)
	}
	e := r.Errors[0]
	if e.Extensions["code"] != "BAD_USER_INPUT" || e.Extensions["reason"] != "BATCHING_NOT_SUPPORTED" ||
		!strings.Contains(e.Message, "batched requests (a JSON array of operations) are not supported") {
		t.Errorf("got %q %v", e.Message, e.Extensions)
	}
}

// A participant may place -orders-per-second orders a second; the next is
// a RATE_LIMITED error with retryAfterSeconds that stores nothing and
// publishes nothing, over HTTP and over WebSocket alike.
func TestOrdersPerParticipantPerSecond(t *testing.T) {
	ts := startServer(t, "-orders-per-second", "3")
	room := ts.activeRoom(t)
	bob := ts.signUp("bob")
	ts.must(bob, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room.id}, nil)
	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`
	order := func(roomID string) map[string]any {
		return map[string]any{"in": map[string]any{"bullPenId": roomID, "symbol": "AAPL", "side": "BUY", "quantity": 1}}
	}
	state := func() (orders, sequence int) {
		var out struct {
			BullPen struct {
				LastSequence int
				Orders       struct{ TotalCount int }
			}
		}
		ts.must(room.alice, `query($id: ID!) { bullPen(id: $id) { lastSequence orders { totalCount } } }`, map[string]any{"id": room.id}, &out)
		return out.BullPen.Orders.TotalCount, out.BullPen.LastSequence
	}
	limited := func(e gqlError) {
		t.Helper()
		if e.Extensions["retryAfterSeconds"] != float64(1) || e.Extensions["limit"] != float64(3) ||
			e.Message != "too many orders: at most 3 a second per participant (retry after 1 s)" {
			t.Errorf("got %q %v, want at most 3 a second, retryAfterSeconds 1", e.Message, e.Extensions)
		}
	}

	for range 3 {
		ts.must(room.alice, place, order(room.id), nil)
	}
	orders, seq := state()
	limited(ts.fails(room.alice, place, order(room.id), "RATE_LIMITED"))
	// Over WebSocket too.
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{"authorization": "Bearer " + room.alice})
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": place, "variables": order(room.id)}})
	m := c.next()
	var r gqlResponse
	_ = json.Unmarshal(m.Payload, &r)
	if m.Type != "next" || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "RATE_LIMITED" {
		t.Fatalf("over WebSocket: %s %s, want RATE_LIMITED", m.Type, m.Payload)
	}
	limited(r.Errors[0])
	if o, s := state(); o != orders || s != seq {
		t.Errorf("refused orders wrote something: %d orders, sequence %d; want %d and %d", o, s, orders, seq)
	}

	// Another participant, and alice in another room, have their own.
	ts.must(bob, place, order(room.id), nil)
	var other struct{ CreateBullPen struct{ ID string } }
	ts.must(room.owner, `mutation($e: Time!) { createBullPen(input: {name: "Other", endsAt: $e}) { id } }`,
		map[string]any{"e": fmtTime(t0.Add(2 * time.Hour))}, &other)
	ts.must(room.alice, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": other.CreateBullPen.ID}, nil)
	ts.must(room.alice, place, order(other.CreateBullPen.ID), nil)

	// The bucket refills evenly: one order every third of a second.
	ts.clock.Advance(time.Second / 3)
	ts.must(room.alice, place, order(room.id), nil)
	limited(ts.fails(room.alice, place, order(room.id), "RATE_LIMITED"))
	ts.clock.Advance(time.Second)
	for range 3 {
		ts.must(room.alice, place, order(room.id), nil)
	}
	ts.fails(room.alice, place, order(room.id), "RATE_LIMITED")
}

// One address may sign up -signups-per-hour times an hour; the next is a
// RATE_LIMITED error with retryAfterSeconds that creates no account, over
// HTTP and over WebSocket alike.
func TestSignUpsPerAddress(t *testing.T) {
	ts := startServer(t, "-signups-per-hour", "2")
	ts.signUp("first")
	// Malformed sign-ups do not count.
	ts.fails("", `mutation { signUp(input: {username: "x", password: "password123"}) { token } }`, nil, "BAD_USER_INPUT")
	ts.signUp("second")
	signUp := `mutation($u: String!) { signUp(input: {username: $u, password: "password123"}) { token } }`
	limited := func(e gqlError) {
		t.Helper()
		// Two an hour: the next one comes 30 minutes after the last.
		if e.Extensions["retryAfterSeconds"] != float64(1800) || e.Extensions["limit"] != float64(2) ||
			e.Message != "too many sign-ups from your address: at most 2 an hour (retry after 1800 s)" {
			t.Errorf("got %q %v", e.Message, e.Extensions)
		}
	}
	limited(ts.fails("", signUp, map[string]any{"u": "third"}, "RATE_LIMITED"))
	// Over WebSocket the address is the upgrade request's.
	c, _, err := ts.dialWS(t, "graphql-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{})
	c.send(map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": signUp, "variables": map[string]any{"u": "third"}}})
	m := c.next()
	var r gqlResponse
	_ = json.Unmarshal(m.Payload, &r)
	if m.Type != "data" || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "RATE_LIMITED" {
		t.Fatalf("over WebSocket: %s %s, want RATE_LIMITED", m.Type, m.Payload)
	}
	limited(r.Errors[0])
	if _, err := ts.openStore(t).UserByUsername(t.Context(), "third"); game.ErrorCode(err) != game.ENOTFOUND {
		t.Errorf("refused sign-up: lookup gave %v, want NOT_FOUND", err)
	}
	ts.clock.Advance(30 * time.Minute)
	ts.signUp("third")
	ts.fails("", signUp, map[string]any{"u": "fourth"}, "RATE_LIMITED")
}

// Behind a proxy named by -client-ip-header, addresses come from its
// header (its last entry); without the flag such headers are ignored.
func TestClientAddressFromProxyHeader(t *testing.T) {
	signUp := func(ts *testServer, name string, header map[string]string) gqlResponse {
		t.Helper()
		_, r := ts.rawPost(t, header, mustMarshal(map[string]any{
			"query": `mutation($u: String!) { signUp(input: {username: $u, password: "password123"}) { token } }`, "variables": map[string]any{"u": "user-" + name}}))
		return r
	}
	code := func(r gqlResponse) string {
		if len(r.Errors) == 0 {
			return "ok"
		}
		return fmt.Sprint(r.Errors[0].Extensions["code"])
	}

	proxied := startServer(t, "-signups-per-hour", "1", "-client-ip-header", "X-Forwarded-For", "-max-ws-per-address", "1")
	for _, step := range []struct {
		name, xff, want string
	}{
		{"a", "203.0.113.9, 198.51.100.1", "ok"},
		{"b", "1.1.1.1, 198.51.100.1", "RATE_LIMITED"}, // what the client claimed first does not count
		{"c", "198.51.100.2", "ok"},
		{"d", "2001:db8:1:2::1", "ok"},
		{"e", "2001:db8:1:2::ffff", "RATE_LIMITED"}, // the same /64
		{"f", "", "ok"},                             // no header: the connection's address
		{"g", "not an address", "RATE_LIMITED"},     // ditto
	} {
		h := map[string]string{}
		if step.xff != "" {
			h["X-Forwarded-For"] = step.xff
		}
		if got := code(signUp(proxied, step.name, h)); got != step.want {
			t.Errorf("sign-up %s from %q: %s, want %s", step.name, step.xff, got, step.want)
		}
	}
	dial := func(ts *testServer, xff string) *wsClient {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", http.Header{"X-Forwarded-For": {xff}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dial(proxied, "192.0.2.1").init(map[string]any{})
	if code := dial(proxied, "192.0.2.1").closeCode(); code != 4429 {
		t.Errorf("second socket of one proxied address: close %d, want 4429", code)
	}
	dial(proxied, "192.0.2.2").init(map[string]any{})

	direct := startServer(t, "-signups-per-hour", "1", "-max-ws-per-address", "1")
	if got := code(signUp(direct, "a", map[string]string{"X-Forwarded-For": "203.0.113.9"})); got != "ok" {
		t.Errorf("first sign-up: %s", got)
	}
	if got := code(signUp(direct, "b", map[string]string{"X-Forwarded-For": "203.0.113.10", "X-Real-IP": "203.0.113.10"})); got != "RATE_LIMITED" {
		t.Errorf("second sign-up with another forged address: %s, want RATE_LIMITED", got)
	}
	dial(direct, "192.0.2.1").init(map[string]any{})
	if code := dial(direct, "192.0.2.2").closeCode(); code != 4429 {
		t.Errorf("forged header honoured without -client-ip-header: close %d, want 4429", code)
	}
}

// A client address may hold -max-ws-per-address open WebSockets: the next
// is closed with 4429 at once, and a socket that closes gives its place
// back.
func TestWebSocketsPerAddress(t *testing.T) {
	ts := startServer(t, "-max-ws-per-address", "2", "-max-ws-per-user", "0")
	first, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.init(map[string]any{})
	if _, _, err := ts.dialWS(t, "graphql-ws", nil); err != nil { // never initialised: counts all the same
		t.Fatal(err)
	}
	eventually(t, "two sockets counted", func() bool { n, _ := ts.query.WS.ConnectionsOf("127.0.0.1", ""); return n == 2 })
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		c, _, err := ts.dialWS(t, protocol, nil)
		if err != nil {
			t.Fatal(err)
		}
		code, reason := closeOf(t, c)
		if code != 4429 || reason != "Too many connections: at most 2 per address" {
			t.Errorf("%s: third socket closed %d %q, want 4429 Too many connections: at most 2 per address", protocol, code, reason)
		}
	}
	if n, _ := ts.query.WS.ConnectionsOf("127.0.0.1", ""); n != 2 {
		t.Errorf("refused sockets counted: %d, want 2", n)
	}
	if n := ts.metric(t, "bullpen_websocket_refused_total"); n != "2" {
		t.Errorf("bullpen_websocket_refused_total %s, want 2", n)
	}
	// The first socket closes: its place is free again.
	_ = first.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	first.conn.Close()
	eventually(t, "the closed socket released", func() bool { n, _ := ts.query.WS.ConnectionsOf("127.0.0.1", ""); return n == 1 })
	again, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	again.init(map[string]any{})
}

// A signed-in user may hold -max-ws-per-user open WebSockets, whether the
// token came in connection_init or on the upgrade request: the next is
// closed with 4429 after connection_init (the legacy protocol hears a
// connection_error first), and a socket that closes gives its place back.
// Anonymous sockets and other users are not affected.
func TestWebSocketsPerUser(t *testing.T) {
	ts := startServer(t, "-max-ws-per-user", "2", "-max-ws-per-address", "0")
	alice, bob := ts.signUp("alice"), ts.signUp("bob")
	var me struct{ Me struct{ ID string } }
	ts.must(alice, `{ me { id } }`, nil, &me)
	aliceID := me.Me.ID
	count := func() int { _, n := ts.query.WS.ConnectionsOf("", aliceID); return n }

	first, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.init(map[string]any{"authorization": "Bearer " + alice})
	second, _, err := ts.dialWS(t, "graphql-ws", http.Header{"Authorization": {"Bearer " + alice}})
	if err != nil {
		t.Fatal(err)
	}
	second.init(map[string]any{})
	if n := count(); n != 2 {
		t.Fatalf("alice holds %d sockets, want 2", n)
	}

	third, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	third.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": alice}})
	if code, reason := closeOf(t, third); code != 4429 || reason != "Too many connections: at most 2 per user" {
		t.Errorf("third socket: closed %d %q, want 4429 Too many connections: at most 2 per user", code, reason)
	}
	legacy, _, err := ts.dialWS(t, "graphql-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + alice}})
	if m := legacy.next(); m.Type != "connection_error" || !strings.Contains(string(m.Payload), "at most 2 per user") {
		t.Errorf("legacy: got %s %s, want connection_error", m.Type, m.Payload)
	}
	if code, _ := closeOf(t, legacy); code != 4429 {
		t.Errorf("legacy: closed %d, want 4429", code)
	}
	if n := count(); n != 2 {
		t.Errorf("refused sockets counted: alice holds %d, want 2", n)
	}

	// Others are not affected.
	for _, payload := range []map[string]any{{}, {}, {}, {"authorization": "Bearer " + bob}} {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(payload)
	}

	// A socket that ends (here: the server closes it for a protocol
	// error) gives its place back.
	second.send(map[string]any{"type": "bogus"})
	if code, _ := closeOf(t, second); code != 4400 {
		t.Errorf("bogus message: closed %d, want 4400", code)
	}
	eventually(t, "alice's closed socket released", func() bool { return count() == 1 })
	again, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	again.init(map[string]any{"authorization": "Bearer " + alice})
	if n := count(); n != 2 {
		t.Errorf("alice holds %d sockets, want 2", n)
	}
	// Shutting down releases everything.
	ts.stop()
	if n, u := ts.query.WS.ConnectionsOf("127.0.0.1", aliceID); n != 0 || u != 0 {
		t.Errorf("after shutdown: %d for the address, %d for alice; want none", n, u)
	}
}

// closeOf reads until the server closes the socket: its code and reason.
func closeOf(t *testing.T, c *wsClient) (int, string) {
	t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code, ce.Text
			}
			t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

// rawPost posts body to /query with extra headers: the status and the
// decoded response.
func (ts *testServer) rawPost(t *testing.T, header map[string]string, body []byte) (int, gqlResponse) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return doRaw(t, req)
}

// rawGet sends a query with GET.
func (ts *testServer) rawGet(t *testing.T, query string) (int, gqlResponse) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/query?query="+url.QueryEscape(query), nil)
	return doRaw(t, req)
}

func doRaw(t *testing.T, req *http.Request) (int, gqlResponse) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r gqlResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return resp.StatusCode, r
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
