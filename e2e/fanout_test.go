package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Shared executions (graph.Sharing's groups) must not change who receives what:
// every subscriber of one document, whatever its role, gets exactly the
// events bullPenEventLog gives the same caller, and the events it shares
// with others arrive as the same bytes.

// sharedEvents asks only what reads alike for everyone who may receive an
// event, so all its subscribers in a room share one execution.
const sharedEvents = `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) {
  __typename sequence
  ... on OrderEvent { kind order { id status participant { id user { username } } } }
  ... on PositionEvent { participantId position { symbol quantity } }
  ... on LeaderboardEvent { snapshot { entries { rank participantId user { username } portfolioValue } } }
  ... on RoomStateEvent { state trigger actor { username } }
} }`

// viewerEvents asks for what a participant holds: it runs per subscriber.
const viewerEvents = `subscription($id: ID!) { bullPenEvents(bullPenId: $id) {
  __typename sequence ... on OrderEvent { order { participant { id buyingPower positions { symbol quantity } } } }
} }`

type sharingRoom struct {
	ts                           *testServer
	id                           string
	owner, alice, bob, spectator string // tokens; spectator is signed in but not a member
	start                        int
}

// withPrice signs up the admin and sets a price to trade at.
func withPrice(ts *testServer) *testServer {
	ts.must(ts.signUpAdmin("admin"), `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	return ts
}

// sharingRoom opens an ACTIVE room with two members and a signed-in
// outsider.
func newSharingRoom(t *testing.T, ts *testServer, name, visibility, trades string) *sharingRoom {
	t.Helper()
	r := &sharingRoom{ts: ts, owner: ts.signUp(name + "-owner"), alice: ts.signUp(name + "-alice"), bob: ts.signUp(name + "-bob"),
		spectator: ts.signUp(name + "-spectator")}
	var created struct {
		CreateBullPen struct {
			ID         string
			InviteCode string
		}
	}
	ts.must(r.owner, fmt.Sprintf(`mutation($e: Time!) { createBullPen(input: {name: %q, endsAt: $e, visibility: %s, tradeVisibility: %s}) { id inviteCode } }`, name, visibility, trades),
		map[string]any{"e": fmtTime(t0.Add(2 * 3600e9))}, &created)
	r.id = created.CreateBullPen.ID
	for _, who := range []string{r.alice, r.bob} {
		ts.must(who, `mutation($id: ID!, $code: String) { joinBullPen(bullPenId: $id, inviteCode: $code) { id } }`,
			map[string]any{"id": r.id, "code": created.CreateBullPen.InviteCode}, nil)
	}
	r.start = r.lastSequence(t)
	return r
}

func (r *sharingRoom) lastSequence(t *testing.T) int {
	t.Helper()
	var out struct{ BullPen struct{ LastSequence int } }
	r.ts.must(r.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": r.id}, &out)
	return out.BullPen.LastSequence
}

func (r *sharingRoom) buy(who string) {
	r.ts.must(who, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 1}) { id } }`, map[string]any{"id": r.id}, nil)
}

// pause moves the room: an event everyone who sees the room receives, so
// once it arrives everything before it has.
func (r *sharingRoom) pause(t *testing.T) int {
	t.Helper()
	r.ts.must(r.owner, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, map[string]any{"id": r.id}, nil)
	return r.lastSequence(t)
}

// logFor is the oracle: what bullPenEventLog gives the caller after start.
func (r *sharingRoom) logFor(t *testing.T, token string, after int) []int {
	t.Helper()
	seqs := []int{}
	for {
		var out struct{ BullPenEventLog []struct{ Sequence int } }
		r.ts.must(token, `query($id: ID!, $after: Int) { bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000) { sequence } }`,
			map[string]any{"id": r.id, "after": after}, &out)
		for _, e := range out.BullPenEventLog {
			seqs = append(seqs, e.Sequence)
		}
		if len(out.BullPenEventLog) < 1000 {
			return seqs // the log's end: pages of 1,000 until a shorter one
		}
		after = seqs[len(seqs)-1]
	}
}

// subscriber is one subscription on its own socket.
type subscriber struct {
	name     string
	token    string
	c        *wsClient
	payloads map[int]string // sequence -> the payload's bytes
	seqs     []int
}

func (r *sharingRoom) subscribe(t *testing.T, name, token, query string, after *int) *subscriber {
	t.Helper()
	c, _, err := r.ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		c.init(nil)
	} else {
		c.init(map[string]any{"authorization": "Bearer " + token})
	}
	vars := map[string]any{"id": r.id}
	if after != nil {
		vars["after"] = *after
	}
	c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	return &subscriber{name: name, token: token, c: c, payloads: map[int]string{}}
}

// readUntil reads events until sequence last.
func (s *subscriber) readUntil(t *testing.T, last int) {
	t.Helper()
	for len(s.seqs) == 0 || s.seqs[len(s.seqs)-1] < last {
		m := s.c.next()
		if m.Type != "next" {
			t.Fatalf("%s: got %s %s", s.name, m.Type, m.Payload)
		}
		var p struct {
			Data   map[string]struct{ Sequence int }
			Errors []any
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("%s: payload %s: %v", s.name, m.Payload, err)
		}
		seq := p.Data["bullPenEvents"].Sequence
		s.seqs = append(s.seqs, seq)
		s.payloads[seq] = string(m.Payload)
	}
}

func TestSharedExecutionsDeliverExactlyWhatTheRulesAllow(t *testing.T) {
	ts := withPrice(startServer(t))
	for _, tc := range []struct{ visibility, trades string }{
		{"PUBLIC", "PUBLIC"}, {"PUBLIC", "PRIVATE"}, {"PRIVATE", "PUBLIC"}, {"PRIVATE", "PRIVATE"},
	} {
		name := strings.ToLower(tc.visibility + "-" + tc.trades)
		t.Run(tc.visibility+"RoomWith"+tc.trades+"Trades", func(t *testing.T) {
			r := newSharingRoom(t, ts, name, tc.visibility, tc.trades)
			who := []struct{ name, token string }{{"owner", r.owner}, {"alice", r.alice}, {"bob", r.bob}}
			if tc.visibility == "PUBLIC" {
				who = append(who, struct{ name, token string }{"spectator", r.spectator}, struct{ name, token string }{"anonymous", ""})
			}
			before, groupsBefore := ts.query.Sharing.Members(), ts.query.Sharing.Groups()
			var subs []*subscriber
			for _, w := range who {
				// Half start live, half from the room's start (a replay first).
				subs = append(subs, r.subscribe(t, w.name+"-live", w.token, sharedEvents, nil))
				subs = append(subs, r.subscribe(t, w.name+"-resumed", w.token, sharedEvents, &r.start))
			}
			eventually(t, "every subscription to share", func() bool { return ts.query.Sharing.Members() == before+len(subs) })
			if got := ts.query.Sharing.Groups(); got != groupsBefore+1 {
				t.Fatalf("%d subscriptions of every role, live and resuming, make %d groups, want 1", len(subs), got-groupsBefore)
			}
			execs := ts.query.Sharing.Executions()
			r.buy(r.alice)
			r.buy(r.bob)
			if err := ts.svc.RefreshLeaderboards(t.Context(), true); err != nil {
				t.Fatal(err)
			}
			last := r.pause(t)
			for _, s := range subs {
				s.readUntil(t, last)
				if want := r.logFor(t, s.token, r.start); !slices.Equal(s.seqs, want) {
					t.Errorf("%s got %v, the rules give %v", s.name, s.seqs, want)
				}
			}
			// One execution per event, the same bytes for everyone.
			if got := ts.query.Sharing.Executions() - execs; got > int64(last-r.start) {
				t.Errorf("%d executions for %d events", got, last-r.start)
			}
			for _, a := range subs {
				for _, b := range subs {
					for seq, p := range a.payloads {
						if q, ok := b.payloads[seq]; ok && p != q {
							t.Fatalf("event %d: %s got %s, %s got %s", seq, a.name, p, b.name, q)
						}
					}
				}
			}
			// A spectator never sees a trade, even through the shared bytes.
			for _, s := range subs {
				if strings.HasPrefix(s.name, "spectator") || strings.HasPrefix(s.name, "anonymous") {
					for _, p := range s.payloads {
						if strings.Contains(p, "OrderEvent") || strings.Contains(p, "PositionEvent") {
							t.Errorf("%s received a trade: %s", s.name, p)
						}
					}
				}
			}
			for _, s := range subs {
				s.c.conn.Close()
			}
			eventually(t, "the subscribers to leave", func() bool { return ts.query.Sharing.Members() == before })
		})
	}
}

// TestViewerDependentDocumentsRunPerViewer: a document asking what a
// participant holds is grouped per viewer (a group executes as its
// viewer), and each subscriber sees holdings only where the rules allow.
func TestViewerDependentDocumentsRunPerViewer(t *testing.T) {
	ts := withPrice(startServer(t))
	r := newSharingRoom(t, ts, "holdings", "PUBLIC", "PRIVATE")
	owner := r.subscribe(t, "owner", r.owner, viewerEvents, nil)
	alice := r.subscribe(t, "alice", r.alice, viewerEvents, nil)
	again := r.subscribe(t, "alice again", r.alice, viewerEvents, nil)
	eventually(t, "the subscriptions", func() bool { return ts.events.Stats().Subscribers == 3 })
	if m, g := ts.query.Sharing.Members(), ts.query.Sharing.Groups(); m != 3 || g != 2 {
		t.Fatalf("%d members in %d groups, want 3 in 2 (one per viewer)", m, g)
	}
	r.buy(r.bob)
	r.buy(r.alice)
	last := r.pause(t)
	owner.readUntil(t, last)
	alice.readUntil(t, last)
	if want := r.logFor(t, r.alice, r.start); !slices.Equal(alice.seqs, want) {
		t.Errorf("alice got %v, want %v", alice.seqs, want)
	}
	for seq, p := range owner.payloads {
		if strings.Contains(p, `"participant"`) && !strings.Contains(p, `"positions":[`) {
			t.Errorf("owner, event %d: %s, want positions", seq, p)
		}
	}
	for seq, p := range alice.payloads {
		if strings.Contains(p, `"participant"`) && !strings.Contains(p, `"positions":[`) {
			t.Errorf("alice, event %d (her own): %s, want positions", seq, p)
		}
	}
	again.readUntil(t, last)
	if !maps.Equal(again.payloads, alice.payloads) {
		t.Errorf("alice's two subscriptions differ: %v and %v", again.payloads, alice.payloads)
	}
}

// TestMembershipIsFixedWhenSubscribing: a subscriber's View is taken when
// it subscribes. A spectator who then joins keeps the spectator's stream
// (no trades, in a room whose trades are PUBLIC) until it subscribes
// again; resuming from where it was then gives the trades it may now see.
func TestMembershipIsFixedWhenSubscribing(t *testing.T) {
	ts := withPrice(startServer(t))
	r := newSharingRoom(t, ts, "joining", "PUBLIC", "PUBLIC")
	before := r.subscribe(t, "spectator", r.spectator, sharedEvents, nil)
	member := r.subscribe(t, "alice", r.alice, sharedEvents, nil)
	eventually(t, "both subscriptions", func() bool { return ts.query.Sharing.Members() == 2 })
	ts.must(r.spectator, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": r.id}, nil)
	r.buy(r.bob)
	last := r.pause(t)
	before.readUntil(t, last)
	member.readUntil(t, last)
	for _, p := range before.payloads {
		if strings.Contains(p, "OrderEvent") {
			t.Errorf("the subscription taken as a spectator got a trade: %s", p)
		}
	}
	if len(member.seqs) <= len(before.seqs) {
		t.Fatalf("member got %v, spectator %v", member.seqs, before.seqs)
	}
	again := r.subscribe(t, "joined", r.spectator, sharedEvents, &r.start)
	again.readUntil(t, last)
	if !slices.Equal(again.seqs, member.seqs) {
		t.Errorf("after joining and resubscribing got %v, a member gets %v", again.seqs, member.seqs)
	}
}

// TestSharedSubscriptionsNeedNoGoroutineEach: subscriptions served by
// groups cost no goroutine per subscription between the hub and the
// socket, whether their document is shared by every viewer or only by
// the same viewer's subscriptions.
func TestSharedSubscriptionsNeedNoGoroutineEach(t *testing.T) {
	for _, doc := range []struct{ name, query string }{{"every viewer's", sharedEvents}, {"viewer-dependent", viewerEvents}} {
		t.Run(doc.name, func(t *testing.T) {
			ts := withPrice(startServer(t))
			r := newSharingRoom(t, ts, "goroutines", "PUBLIC", "PUBLIC")
			c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			c.init(map[string]any{"authorization": "Bearer " + r.alice})
			subscribe := func(id string) {
				c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": doc.query, "variables": map[string]any{"id": r.id}}})
			}
			subscribe("warm-up") // starts the room's pump
			eventually(t, "the first subscription", func() bool { return ts.events.Stats().Subscribers == 1 })
			runtime.GC()
			base := runtime.NumGoroutine()
			const n = 150
			for i := range n {
				subscribe(fmt.Sprint(i))
			}
			eventually(t, "every subscription", func() bool { return ts.events.Stats().Subscribers == n+1 })
			// The goroutines that read and handled the messages end soon
			// after (the poller's drain, each message's handler); one per
			// subscription would stay.
			grew := runtime.NumGoroutine() - base
			for deadline := time.Now().Add(10 * time.Second); grew > 10 && time.Now().Before(deadline); grew = runtime.NumGoroutine() - base {
				time.Sleep(2 * time.Millisecond)
			}
			if grew > 10 {
				t.Errorf("%d subscriptions on one connection added %d goroutines", n, grew)
			}
			r.buy(r.alice)
			got := map[string]bool{}
			for len(got) < n+1 {
				m := c.next()
				if m.Type != "next" {
					t.Fatalf("got %s %s", m.Type, m.Payload)
				}
				got[m.ID] = true
			}
		})
	}
}

// A shared subscription that resumes far behind replays the whole log,
// however long: its replay waits for the group's worker (hub.Pacer)
// instead of offering every stored event at once, which overran the
// group's bound and dropped a subscriber that kept up (SLOW_CONSUMER at
// about the 1,024th event).
func TestLongReplayOfASharedSubscription(t *testing.T) {
	ts := withPrice(startServer(t, noOrderLimit...))
	r := newSharingRoom(t, ts, "replay", "PUBLIC", "PUBLIC")
	for range 1100 { // 2,200 events, past the group's 1,024 waiting
		r.buy(r.alice)
	}
	last := r.pause(t)
	zero := 0
	s := r.subscribe(t, "resumer", r.bob, `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename sequence } }`, &zero)
	s.readUntil(t, last)
	if want := r.logFor(t, r.bob, 0); len(s.seqs) < len(want) || !slices.Equal(s.seqs[:len(want)], want) {
		t.Errorf("replayed %d events, first %v; want the log's", len(s.seqs), s.seqs[:min(5, len(s.seqs))])
	}
	for i, seq := range s.seqs {
		if seq != i+1 {
			t.Fatalf("event %d has sequence %d: a gap or a duplicate", i, seq)
		}
	}
}

// A replayed leaderboard goes out at once. A live one may wait up to
// realtime.BulkLinger, on the server's clock, for the next order's events
// to share its write, when its connection had an order's event written
// lately; a replayed one has nothing to wait for. Here the fake clock
// never moves: a replayed leaderboard that lingered would never arrive
// (the authorization matrix's replays stalled so now and then).
func TestReplayedLeaderboardDoesNotLinger(t *testing.T) {
	ts := withPrice(startServer(t))
	r := newSharingRoom(t, ts, "linger", "PUBLIC", "PUBLIC")
	m := ts.openWS(t, r.owner)
	if !m.waitAck() {
		t.Fatal("no connection_ack")
	}
	orders := m.subscribe(`subscription($id: ID!) { orderUpdates(bullPenId: $id) { sequence } }`, map[string]any{"id": r.id})
	eventually(t, "the order subscription", func() bool { return ts.events.Stats().Subscribers == 1 })
	r.buy(r.alice)
	// An order's event written on this socket just now, by the clock.
	if !orders.waitUntil(streamWait, func(s streamSnapshot) bool { return len(s.events) == 1 }) {
		t.Fatal("the order's event did not arrive")
	}
	if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	last := r.lastSequence(t)
	replay := m.subscribe(`subscription($id: ID!, $after: Int) { ev: bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename sequence } }`,
		map[string]any{"id": r.id, "after": last - 1})
	want := fmt.Sprintf("%d LeaderboardEvent", last)
	if !replay.waitUntil(streamWait, func(s streamSnapshot) bool { return slices.Contains(s.eventLabels(), want) || settled(s) }) {
		t.Fatalf("the replayed leaderboard (%s) did not arrive: %v", want, replay.snapshot().eventLabels())
	}
}

// TestSSEAndWebSocketShareOneExecution: a subscription over SSE joins the
// group of the same document over WebSocket: each event is executed once
// for both, and each gets every event it may see, in order, and the
// completion when the room ends.
func TestSSEAndWebSocketShareOneExecution(t *testing.T) {
	ts := withPrice(startServer(t))
	r := newSharingRoom(t, ts, "transports", "PUBLIC", "PUBLIC")
	ws := r.subscribe(t, "alice over WebSocket", r.alice, sharedEvents, nil)
	sse := ts.openSSE(t, r.bob, sharedEvents, map[string]any{"id": r.id})
	eventually(t, "both subscriptions in one group", func() bool {
		return ts.query.Sharing.Members() == 2 && ts.events.Stats().Subscribers == 2
	})
	if n := ts.query.Sharing.Groups(); n != 1 {
		t.Fatalf("%d groups, want 1", n)
	}
	before := ts.query.Sharing.Executions()
	r.buy(r.bob)
	r.buy(r.alice)
	last := r.pause(t)
	ws.readUntil(t, last)
	want := r.logFor(t, r.alice, r.start)
	if !slices.Equal(ws.seqs, want) {
		t.Errorf("over WebSocket got %v, want %v", ws.seqs, want)
	}
	sseSeqs := func(s streamSnapshot) []int {
		var seqs []int
		for _, d := range s.events {
			var v struct{ BullPenEvents struct{ Sequence int } }
			if err := json.Unmarshal(d, &v); err != nil {
				t.Fatalf("over SSE: %s: %v", d, err)
			}
			seqs = append(seqs, v.BullPenEvents.Sequence)
		}
		return seqs
	}
	if !sse.waitUntil(streamWait, func(s streamSnapshot) bool { q := sseSeqs(s); return len(q) > 0 && q[len(q)-1] >= last }) {
		t.Fatalf("over SSE got %v, want up to %d", sseSeqs(sse.snapshot()), last)
	}
	if got := sseSeqs(sse.snapshot()); !slices.Equal(got, want) {
		t.Errorf("over SSE got %v, want %v", got, want)
	}
	if got := ts.query.Sharing.Executions() - before; got != int64(len(want)) {
		t.Errorf("%d executions for %d events to two subscribers, want one each", got, len(want))
	}
	ts.must(r.owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": r.id}, nil)
	if !sse.waitUntil(streamWait, settled) {
		t.Fatal("the SSE stream did not complete when the room ended")
	}
	if s := sse.snapshot(); len(s.errs) > 0 || s.fault != "" {
		t.Errorf("the SSE stream ended with %v %q, want complete", s.errs, s.fault)
	}
}
