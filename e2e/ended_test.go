package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// A room that is ENDED or CANCELLED writes nothing more: every room
// subscription completes once its subscriber has been offered the whole
// log (the end's events included), live, replaying or subscribing late.

// endingRoom is an ACTIVE room where alice holds a position and an open
// order, so that ending it writes a ROOM_STATE event, an EXPIRED order
// event and the final leaderboard in one transaction.
type endingRoom struct {
	roomSetup
	ts    *testServer
	start int // the last sequence before the end
}

func newEndingRoom(t *testing.T, ts *testServer) *endingRoom {
	t.Helper()
	r := &endingRoom{roomSetup: ts.activeRoom(t), ts: ts}
	ts.must(r.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 2}) { id } }`, map[string]any{"id": r.id}, nil)
	ts.must(r.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, type: LIMIT, limitPrice: "50", quantity: 1}) { status } }`, map[string]any{"id": r.id}, nil)
	r.start = r.lastSequence(t)
	return r
}

func (r *endingRoom) lastSequence(t *testing.T) int {
	t.Helper()
	var out struct{ BullPen struct{ LastSequence int } }
	r.ts.must(r.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": r.id}, &out)
	return out.BullPen.LastSequence
}

func (r *endingRoom) end(t *testing.T) {
	t.Helper()
	r.ts.must(r.owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": r.id}, nil)
}

// log is the oracle: the sequences of the kinds given (all when none)
// that token's bearer may see after `after`.
func (r *endingRoom) log(t *testing.T, token string, after int, typename string) []int {
	t.Helper()
	var out struct {
		BullPenEventLog []struct {
			Typename string `json:"__typename"`
			Sequence int
		}
	}
	r.ts.must(token, `query($id: ID!, $after: Int) { bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000) { __typename sequence } }`,
		map[string]any{"id": r.id, "after": after}, &out)
	seqs := []int{}
	for _, e := range out.BullPenEventLog {
		if typename == "" || e.Typename == typename {
			seqs = append(seqs, e.Sequence)
		}
	}
	return seqs
}

// endedStream is what one subscription received: its events' sequences,
// whether the last was the final leaderboard, and how it ended.
type endedStream struct {
	seqs       []int
	lastFinal  bool   // the last event was a LeaderboardEvent with final: true
	end, error string // "complete", or the error's payload
}

// readEnded reads one result's payload into s.
func (s *endedStream) add(t *testing.T, payload []byte) {
	t.Helper()
	var p struct {
		Data   map[string]json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(payload, &p); err != nil || len(p.Errors) > 0 || len(p.Data) != 1 {
		t.Fatalf("payload %s: %v", payload, err)
	}
	for _, raw := range p.Data {
		var ev struct {
			Typename string `json:"__typename"`
			Sequence int
			Snapshot *struct{ Final bool }
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("event %s: %v", raw, err)
		}
		s.seqs = append(s.seqs, ev.Sequence)
		s.lastFinal = ev.Typename == "LeaderboardEvent" && ev.Snapshot != nil && ev.Snapshot.Final
	}
}

// readWS reads the socket until every operation in ops has ended.
func readWS(t *testing.T, c *wsClient, ops map[string]*endedStream) {
	t.Helper()
	open := len(ops)
	for open > 0 {
		m := c.next()
		s, ok := ops[m.ID]
		if !ok || s.end != "" {
			t.Fatalf("got %s %s for operation %q", m.Type, m.Payload, m.ID)
		}
		switch m.Type {
		case "next", "data":
			s.add(t, m.Payload)
		case "complete":
			s.end = "complete"
			open--
		default:
			s.end = m.Type + " " + string(m.Payload)
			open--
		}
	}
}

// readSSE reads the stream until it ends.
func readSSE(t *testing.T, sse *sseStream) *endedStream {
	t.Helper()
	s := &endedStream{}
	for s.end == "" {
		switch ev, data := sse.next(); ev {
		case "next":
			s.add(t, []byte(data))
		case "complete":
			s.end = "complete"
		default:
			s.end = ev + " " + data
		}
	}
	return s
}

// check says what is wrong with s, given the events it must have had; a
// stream that had the end's events must end with the final leaderboard
// when it may see leaderboards.
func (s *endedStream) check(t *testing.T, name string, want []int, final bool) {
	t.Helper()
	if s.end != "complete" {
		t.Errorf("%s ended with %s, want complete", name, s.end)
	}
	if !slices.Equal(s.seqs, want) {
		t.Errorf("%s got %v, want %v", name, s.seqs, want)
	}
	if final && !s.lastFinal {
		t.Errorf("%s: the last event before complete is not the final leaderboard", name)
	}
}

// sharedEnded is a document the room's subscribers share (a group of graph.Sharing);
// ownEnded asks for what a participant holds, so it runs per subscriber.
const (
	sharedEnded = `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) {
  __typename sequence ... on LeaderboardEvent { snapshot { final } } } }`
	ownEnded = `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) {
  __typename sequence ... on OrderEvent { order { participant { buyingPower } } } ... on LeaderboardEvent { snapshot { final } } } }`
)

// roomSubscriptionFields are the room subscriptions without afterSequence, each with
// the event type it streams, what it selects, and (own) a selection that
// runs per subscriber where its type has a field that does.
var roomSubscriptionFields = []struct{ field, typename, selection, own string }{
	{"bullPenEvents", "", "__typename sequence ... on LeaderboardEvent { snapshot { final } }", " ... on OrderEvent { order { participant { buyingPower } } }"},
	{"orderUpdates", "OrderEvent", "__typename sequence", " order { participant { buyingPower } }"},
	{"positionUpdates", "PositionEvent", "__typename sequence", ""},
	{"leaderboardUpdates", "LeaderboardEvent", "__typename sequence snapshot { final }", ""},
	{"roomStateChanged", "RoomStateEvent", "__typename sequence", ""},
}

func roomFieldQuery(field, selection string) string {
	return `subscription($id: ID!) { ` + field + `(bullPenId: $id) { ` + selection + ` } }`
}

func TestLiveSubscriptionsCompleteWhenTheRoomEnds(t *testing.T) {
	ts := startServer(t)
	liveThenEnd(t, ts, newEndingRoom(t, ts))
}

// TestSubscriptionsCompleteWhenAnotherInstanceEndsTheRoom: an instance
// learns that a room is over from its log, whoever ended it.
func TestSubscriptionsCompleteWhenAnotherInstanceEndsTheRoom(t *testing.T) {
	dbURL := dbtest.Postgres(t)
	a, b := startServerOn(t, dbURL), startServerOn(t, dbURL)
	liveThenEnd(t, b, newEndingRoom(t, a))
}

// liveThenEnd subscribes on ts to every room subscription of r, over
// every transport, ends r (on its own server), and checks that each
// subscription gets what it may see of the end and then completes.
func liveThenEnd(t *testing.T, ts *testServer, r *endingRoom) {
	t.Helper()
	subscribe := func(c *wsClient, legacy bool, id, query string, vars map[string]any) {
		typ := "subscribe"
		if legacy {
			typ = "start"
		}
		c.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": query, "variables": vars}})
	}
	dial := func(protocol, token string) *wsClient {
		c, _, err := ts.dialWS(t, protocol, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token == "" {
			c.init(nil)
		} else {
			c.init(map[string]any{"authorization": "Bearer " + token})
		}
		return c
	}
	type wsCase struct {
		c   *wsClient
		ops map[string]*endedStream
	}
	cases := map[string]*wsCase{}
	subscribers := 0
	for _, p := range []struct {
		name, protocol, token string
		legacy                bool
	}{
		{"alice", "graphql-transport-ws", r.alice, false},
		{"legacy alice", "graphql-ws", r.alice, true},
		{"anonymous", "graphql-transport-ws", "", false},
	} {
		wc := &wsCase{c: dial(p.protocol, p.token), ops: map[string]*endedStream{}}
		cases[p.name] = wc
		for _, own := range []bool{false, true} {
			if own && p.token == "" {
				continue // a spectator may not ask for a participant's buyingPower
			}
			suffix := map[bool]string{false: " shared", true: " own"}[own]
			after := map[string]any{"id": r.id, "after": r.start}
			doc := map[bool]string{false: sharedEnded, true: ownEnded}[own]
			subscribe(wc.c, p.legacy, "resume"+suffix, doc, after)
			wc.ops["resume"+suffix] = &endedStream{}
			subscribers++
			for _, f := range roomSubscriptionFields {
				if p.token == "" && (f.field == "orderUpdates" || f.field == "positionUpdates") {
					continue // refused: a spectator sees no trades
				}
				selection := f.selection
				if own {
					if f.own == "" {
						continue
					}
					selection += f.own
				}
				id := f.field + suffix
				subscribe(wc.c, p.legacy, id, roomFieldQuery(f.field, selection), map[string]any{"id": r.id})
				wc.ops[id] = &endedStream{}
				subscribers++
			}
		}
	}
	// SSE: alice's stream and two spectators' leaderboards, each a member
	// of a group (the leaderboards of one).
	aliceSSE := ts.subscribeSSE(t, r.alice, sharedEnded, map[string]any{"id": r.id, "after": r.start})
	boardQuery := roomFieldQuery("leaderboardUpdates", "__typename sequence snapshot { final }")
	boards := []*sseStream{ts.subscribeSSE(t, "", boardQuery, map[string]any{"id": r.id}), ts.subscribeSSE(t, "", boardQuery, map[string]any{"id": r.id})}
	subscribers += 3
	eventually(t, "every subscription open", func() bool {
		return ts.events.Stats().Subscribers == int64(subscribers)
	})

	r.end(t)

	for name, wc := range cases {
		readWS(t, wc.c, wc.ops)
		token := map[string]string{"alice": r.alice, "legacy alice": r.alice, "anonymous": ""}[name]
		for id, s := range wc.ops {
			field, _, _ := strings.Cut(id, " ")
			typename := ""
			for _, f := range roomSubscriptionFields {
				if f.field == field {
					typename = f.typename
				}
			}
			want := r.log(t, token, r.start, typename)
			s.check(t, name+" "+id, want, typename == "" || typename == "LeaderboardEvent")
		}
	}
	readSSE(t, aliceSSE).check(t, "alice over SSE", r.log(t, r.alice, r.start, ""), true)
	for i, b := range boards {
		readSSE(t, b).check(t, "spectator's leaderboard over SSE "+string(rune('1'+i)), r.log(t, "", r.start, "LeaderboardEvent"), true)
	}
	if got := r.log(t, r.alice, r.start, ""); len(got) < 3 {
		t.Errorf("the end wrote %v, want its state, the expired order and the final leaderboard", got)
	}
	eventually(t, "no subscription left", func() bool { return ts.events.Stats().Subscribers == 0 })
}

func TestSubscriptionsToAnEndedRoomReplayThenComplete(t *testing.T) {
	ts := startServer(t)
	r := newEndingRoom(t, ts)
	r.end(t)
	last := r.lastSequence(t)
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		c, _, err := ts.dialWS(t, protocol, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(map[string]any{"authorization": "Bearer " + r.alice})
		typ := map[string]string{"graphql-transport-ws": "subscribe", "graphql-ws": "start"}[protocol]
		ops := map[string]*endedStream{}
		want := map[string][]int{}
		for _, doc := range []struct{ name, query string }{{"shared", sharedEnded}, {"own", ownEnded}} {
			for _, after := range []struct {
				name  string
				value any
				want  []int
			}{
				{"replay", r.start, r.log(t, r.alice, r.start, "")},
				{"from the last", last, []int{}},
				{"from the first", 0, r.log(t, r.alice, 0, "")},
				{"live", nil, []int{}},
			} {
				id := doc.name + " " + after.name
				vars := map[string]any{"id": r.id}
				if after.value != nil {
					vars["after"] = after.value
				}
				c.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": doc.query, "variables": vars}})
				ops[id], want[id] = &endedStream{}, after.want
			}
		}
		for _, f := range roomSubscriptionFields {
			c.send(map[string]any{"id": f.field, "type": typ, "payload": map[string]any{
				"query": roomFieldQuery(f.field, f.selection), "variables": map[string]any{"id": r.id}}})
			ops[f.field], want[f.field] = &endedStream{}, []int{}
		}
		readWS(t, c, ops)
		for id, s := range ops {
			s.check(t, protocol+" "+id, want[id], strings.HasSuffix(id, "replay") || strings.HasSuffix(id, "first"))
		}
	}
	// SSE, signed in (per subscriber) and anonymous (shared).
	for _, token := range []string{r.alice, ""} {
		readSSE(t, ts.subscribeSSE(t, token, sharedEnded, map[string]any{"id": r.id, "after": r.start})).
			check(t, "SSE replay", r.log(t, token, r.start, ""), true)
		readSSE(t, ts.subscribeSSE(t, token, sharedEnded, map[string]any{"id": r.id})).check(t, "SSE live", []int{}, false)
		readSSE(t, ts.subscribeSSE(t, token, roomFieldQuery("leaderboardUpdates", "__typename sequence snapshot { final }"), map[string]any{"id": r.id})).
			check(t, "SSE leaderboard", []int{}, false)
	}
	eventually(t, "no subscription left", func() bool { return ts.events.Stats().Subscribers == 0 })
}
