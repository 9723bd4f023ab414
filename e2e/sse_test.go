package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseStream reads "event:"/"data:" pairs from a graphql-sse response.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

// postSSE sends one operation over SSE (graphql-sse distinct connections).
func (ts *testServer) postSSE(ctx context.Context, token, query string, vars map[string]any) (*http.Response, error) {
	return ts.postAccepting(ctx, "text/event-stream", token, query, vars)
}

// urqlAccept is the Accept header urql's fetchExchange sends with every
// operation: JSON first, an event stream after.
const urqlAccept = "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"

// postAccepting POSTs one operation with the given Accept header.
func (ts *testServer) postAccepting(ctx context.Context, accept, token, query string, vars map[string]any) (*http.Response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

func (ts *testServer) subscribeSSE(t *testing.T, token, query string, vars map[string]any) *sseStream {
	t.Helper()
	return ts.subscribeAccepting(t, "text/event-stream", token, query, vars)
}

func (ts *testServer) subscribeAccepting(t *testing.T, accept, token, query string, vars map[string]any) *sseStream {
	t.Helper()
	resp, err := ts.postAccepting(t.Context(), accept, token, query, vars)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	return &sseStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's name and data.
func (s *sseStream) next() (string, string) {
	s.t.Helper()
	var event, data string
	got := make(chan bool, 1)
	go func() {
		for s.sc.Scan() {
			line := s.sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && event != "":
				got <- true
				return
			}
		}
		got <- false
	}()
	select {
	case ok := <-got:
		if !ok {
			s.t.Fatalf("stream ended: %v", s.sc.Err())
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10s")
	}
	return event, data
}

func TestSSESubscription(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	// Resume from a known sequence: a live-only subscription could start
	// after the order below commits.
	var last struct{ BullPen struct{ LastSequence int } }
	ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id}, &last)
	s := ts.subscribeSSE(t, room.owner, `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) {
		__typename sequence ... on OrderEvent { kind order { symbol status } } } }`, map[string]any{"id": room.id, "after": last.BullPen.LastSequence})
	ts.must(room.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 2}) { id } }`, map[string]any{"id": room.id}, nil)
	ev, data := s.next()
	if ev != "next" || !strings.Contains(data, `"kind":"FILLED"`) || !strings.Contains(data, `"symbol":"AAPL"`) {
		t.Fatalf("got %s %s", ev, data)
	}
	// Shutdown completes the stream.
	go ts.stop()
	for {
		ev, data := s.next()
		if ev == "complete" {
			break
		}
		if ev != "next" || !strings.Contains(data, "PositionEvent") && !strings.Contains(data, "LeaderboardEvent") {
			t.Fatalf("got %s %s, want the remaining events and complete", ev, data)
		}
	}
}

func TestSSEForbiddenSubscription(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	s := ts.subscribeSSE(t, "", `subscription($id: ID!) { positionUpdates(bullPenId: $id) { sequence } }`, map[string]any{"id": room.id})
	ev, data := s.next()
	if ev != "next" || !strings.Contains(data, `"code":"FORBIDDEN"`) {
		t.Fatalf("got %s %s, want next with FORBIDDEN", ev, data)
	}
	if ev, _ := s.next(); ev != "complete" {
		t.Fatalf("got %s, want complete", ev)
	}
}

// TestSSEOnlyWhenPreferred: a client that lists text/event-stream after
// JSON, as urql does for every operation, gets a plain JSON response to a
// query (urql aborting a finished stream crashed Node 20's fetch) and
// still gets an event stream for a subscription.
func TestSSEOnlyWhenPreferred(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	resp, err := ts.postAccepting(t.Context(), urqlAccept, room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data struct{ BullPen struct{ LastSequence *int } }
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/graphql-response+json") || err != nil || got.Data.BullPen.LastSequence == nil {
		t.Fatalf("query with urql's Accept: Content-Type %q, decode error %v, body %+v; want a JSON response with data", ct, err, got)
	}

	s := ts.subscribeAccepting(t, urqlAccept, room.owner, `subscription($id: ID!) { bullPenEvents(bullPenId: $id, afterSequence: 0) { __typename sequence } }`, map[string]any{"id": room.id})
	if ev, data := s.next(); ev != "next" || !strings.Contains(data, `"sequence":1`) {
		t.Fatalf("subscription with urql's Accept: got %s %s, want the room's first event", ev, data)
	}
}
