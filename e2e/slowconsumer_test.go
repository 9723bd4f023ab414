package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/internal/server"
)

// schemaQuery answers about 43 KB: a few of them fill a socket.
const schemaQuery = `{ __schema { types { name description fields { name description args { name description } type { name kind ofType { name kind } } } } } }`

// TestWriteTimeoutNeverCorruptsTheStream: a peer that stops reading until
// a write to it times out is cut off at the TCP level. What it reads
// afterwards is whole, valid frames, perhaps ending in one cut short by
// the end of the stream: no close frame in the middle of a text frame and
// nothing written after the failed write (it used to get a close frame
// inside a half-written frame, then more frames: invalid UTF-8, then a
// protocol error).
func TestWriteTimeoutNeverCorruptsTheStream(t *testing.T) {
	ts := startServerConfigured(t, dbtest.SQLite(t), io.Discard, func(ws *realtime.WebSocket, _ *realtime.SSE) {
		ws.WriteTimeout = 300 * time.Millisecond
	})
	c := ts.dialRawWS(t, 4096)
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	if m := c.next(); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	// About 6 MB of results, more than the socket buffers hold, and
	// fewer operations than the 200 a connection may run.
	const ops = 150
	for i := range ops {
		c.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": schemaQuery}})
	}
	eventually(t, "a write to time out", func() bool { return ts.query.WS.CutOff() > 0 })
	got := c.drain()
	frames, rest, err := parseFrames(got)
	if err != nil {
		t.Fatalf("after %d bytes in %d whole frames: %v", len(got), len(frames), err)
	}
	for _, m := range messages(t, frames) {
		if m.Type != "next" && m.Type != "complete" {
			t.Errorf("got %s %.200s, want only results", m.Type, m.Payload)
		}
	}
	if n := len(frames); n > 0 && frames[n-1].opcode == 8 {
		t.Errorf("a close frame reached a peer whose write had timed out: its socket was full")
	}
	t.Logf("%d bytes: %d whole frames, then %d bytes of one cut short", len(got), len(frames), len(rest))
}

// TestNeverReadingSubscriberIsDroppedAlone: a member whose socket is full
// (it never reads, with a small receive buffer) has its subscriptions
// dropped with SLOW_CONSUMER once its connection's queue is full, each
// after a gap-free prefix of the room's events and with afterSequence at
// the last one it got; the others in the room, sharing its executions,
// get every event in order.
//
// The server's sockets have a small send buffer: with the system's, the
// never-reading socket took 2.8 MB before it was full. Until then its
// queue filled only in bursts of results (a group's batch of events for
// all 150 subscriptions, queued before the writer takes them), each
// dropping the subscriptions it reached last; when the bursts left only
// a few, their trickle (a few hundred bytes an order) had not filled the
// socket after 2,000 orders, and they were still live.
func TestNeverReadingSubscriberIsDroppedAlone(t *testing.T) {
	const maxQueue = 256
	ts := withPrice(startServerHooked(t, dbtest.SQLite(t), io.Discard, server.Hooks{
		Configure: func(ws *realtime.WebSocket, _ *realtime.SSE) {
			ws.MaxQueue = maxQueue
			ws.WriteTimeout = time.Minute // dropped for its queue, never cut off for a write
		},
		ListenControl: smallSendBuffer(16 << 10),
	}, noOrderLimit...))
	r := newSharingRoom(t, ts, "slow", "PUBLIC", "PUBLIC")

	// The slow one subscribes many times on one socket, so each event
	// queues many messages for it: its socket and queue fill quickly.
	const subs = 150
	slow := ts.dialRawWS(t, 4096)
	slow.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + r.alice}})
	if m := slow.next(); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	for i := range subs {
		slow.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": sharedEvents, "variables": map[string]any{"id": r.id}}})
	}
	type reader struct {
		name  string
		token string
		seqs  []int
		err   error
		done  chan struct{}
	}
	var readers []*reader
	for _, who := range []struct{ name, token string }{{"bob", r.bob}, {"owner", r.owner}} {
		s := r.subscribe(t, who.name, who.token, sharedEvents, nil)
		rd := &reader{name: who.name, token: who.token, done: make(chan struct{})}
		readers = append(readers, rd)
		go func() { // reads as fast as events come, until the room pauses
			defer close(rd.done)
			for {
				_ = s.c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				var m wsMsg
				if rd.err = s.c.conn.ReadJSON(&m); rd.err != nil {
					return
				}
				var p struct {
					Data struct {
						BullPenEvents struct {
							Sequence int
							State    string
						}
					}
				}
				if m.Type != "next" || json.Unmarshal(m.Payload, &p) != nil {
					rd.err = fmt.Errorf("got %s %s", m.Type, m.Payload)
					return
				}
				rd.seqs = append(rd.seqs, p.Data.BullPenEvents.Sequence)
				if p.Data.BullPenEvents.State == "PAUSED" {
					return
				}
			}
		}()
	}
	eventually(t, "every subscription to share", func() bool { return ts.query.Sharing.Members() == subs+2 })

	// Trade until every slow subscription has been dropped.
	orders := 0
	for ; ts.query.Sharing.Members() > 2; orders++ {
		if orders == 2000 {
			t.Fatalf("%d orders, and %d slow subscriptions still live", orders, ts.query.Sharing.Members()-2)
		}
		r.buy([]string{r.alice, r.bob}[orders%2])
	}
	last := r.pause(t)
	want := r.logFor(t, r.alice, r.start)
	for _, rd := range readers {
		select {
		case <-rd.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still reading", rd.name)
		}
		if rd.err != nil {
			t.Fatalf("%s: %v", rd.name, rd.err)
		}
		if w := r.logFor(t, rd.token, r.start); !slices.Equal(rd.seqs, w) || !slices.Equal(w, want) {
			t.Errorf("%s got %v, want every event: %v", rd.name, rd.seqs, w)
		}
	}
	eventually(t, "the slow subscriptions to be dropped", func() bool { return ts.query.Sharing.Members() == 2 })

	// Now it reads: each subscription got the events in order up to
	// where it was dropped, then SLOW_CONSUMER naming that event.
	got := map[string][]int{}
	ended := map[string]bool{}
	for len(ended) < subs {
		m := slow.next()
		switch m.Type {
		case "next":
			var p struct {
				Data struct{ BullPenEvents struct{ Sequence int } }
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatal(err)
			}
			got[m.ID] = append(got[m.ID], p.Data.BullPenEvents.Sequence)
		case "error":
			var errs []gqlError
			if err := json.Unmarshal(m.Payload, &errs); err != nil || len(errs) != 1 {
				t.Fatalf("%s: error %s", m.ID, m.Payload)
			}
			e, seqs := errs[0], got[m.ID]
			if !slices.Equal(seqs, want[:len(seqs)]) || len(seqs) == len(want) {
				t.Errorf("subscription %s got %v before its error, want a part of %v", m.ID, seqs, want)
			}
			if e.Extensions["code"] != "RATE_LIMITED" || e.Extensions["reason"] != "SLOW_CONSUMER" ||
				len(seqs) > 0 && e.Extensions["afterSequence"] != float64(seqs[len(seqs)-1]) {
				t.Errorf("subscription %s after %v: %q %v, want RATE_LIMITED, SLOW_CONSUMER, afterSequence of its last event", m.ID, seqs, e.Message, e.Extensions)
			}
			ended[m.ID] = true
		default:
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
	}
	if n := ts.query.WS.CutOff(); n != 0 {
		t.Errorf("%d connections cut off, want none: the slow one is dropped for its queue", n)
	}
	t.Logf("%d orders, %d events; the slow subscriptions got %d to %d of them", orders, last-r.start, minLen(got), maxLen(got))
}

func minLen(m map[string][]int) int {
	n := -1
	for _, v := range m {
		if n < 0 || len(v) < n {
			n = len(v)
		}
	}
	return max(n, 0)
}

func maxLen(m map[string][]int) (n int) {
	for _, v := range m {
		n = max(n, len(v))
	}
	return n
}

// TestSSEStreamOfANonReaderEnds: an SSE client that stops reading is cut
// off once a write to it takes longer than the write timeout: its stream
// ends and gives its place back (it used to wait for ever, holding its
// connection, and shutdown waited with it).
func TestSSEStreamOfANonReaderEnds(t *testing.T) {
	ts := startServerConfigured(t, dbtest.SQLite(t), io.Discard, func(_ *realtime.WebSocket, sse *realtime.SSE) {
		sse.WriteTimeout = 300 * time.Millisecond
	}, append(noOrderLimit, "-max-aliases", "0", "-max-complexity", "0")...)
	room := ts.activeRoom(t)
	// About 20 KB an order event: a few hundred fill the socket.
	var q strings.Builder
	q.WriteString(`subscription($id: ID!) { bullPenEvents(bullPenId: $id, afterSequence: 0) { ... on OrderEvent { `)
	for i := range 2000 {
		fmt.Fprintf(&q, "a%d: sequence ", i)
	}
	q.WriteString("} } }")
	body, _ := json.Marshal(map[string]any{"query": q.String(), "variables": map[string]any{"id": room.id}})

	conn := ts.dialSmallBuffer(t, 4096)
	fmt.Fprintf(conn, "POST /query HTTP/1.1\r\nHost: bullpen\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s",
		room.owner, len(body), body)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q, want an event stream", ct)
	}
	// The stream may be cut off at once (its replay alone fills the
	// socket) or after some orders: trade until it is gone.
	orders := 0
	for ; orders == 0 || ts.query.SSE.StreamsOf("127.0.0.1") > 0; orders++ {
		if orders == 2000 {
			t.Fatalf("%d orders, and the stream of a client that reads nothing is still open", orders)
		}
		side := []string{"BUY", "SELL"}[orders%2]
		ts.must(room.alice, `mutation($id: ID!, $side: OrderSide!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: $side, quantity: 1}) { id } }`,
			map[string]any{"id": room.id, "side": side}, nil)
	}
	// Ended by the server: the connection is closed, so reading what it
	// holds now reaches its end rather than waiting for more.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, resp.Body); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the stream is no longer counted, but its connection is still open after %d orders", orders)
	}
	t.Logf("the stream ended after %d orders", orders)
}
