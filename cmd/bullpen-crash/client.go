package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bullpen/bullpen/internal/gqlclient"
	"github.com/gorilla/websocket"
)

// answered says whether err came from the server (an error it chose to
// send) rather than from a dead connection.
func answered(err error) bool { return err == nil || gqlclient.Code(err) != "" }

// client posts GraphQL operations to one server.
type client struct {
	http *http.Client
	base string // http://host:port
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 10 * time.Second}
	return &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base}
}

// do posts one operation and decodes data into out. An error is a
// *gqlclient.Error when the server answered with one, else a transport error.
func (c *client) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	return gqlclient.Post(ctx, c.http, c.base, token, query, vars, out)
}

func (c *client) close() { c.http.CloseIdleConnections() }

// wsMsg is a graphql-transport-ws message.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// liveEvent is one bullPenEvents result as it arrived: its sequence and
// the event object, canonically re-encoded for comparison with the log.
type liveEvent struct {
	seq int64
	raw string
}

// subscriber holds one graphql-transport-ws connection with one
// bullPenEvents subscription per room, and keeps what arrived. It is
// rebuilt after every restart; the rooms' resume points live in the
// stream it feeds.
type subscriber struct {
	conn *websocket.Conn
	mu   sync.Mutex // guards writes to conn
	done chan struct{}
	feed func(room string, ev liveEvent) // called from the reader
	fail func(room, why string)          // an error or complete from the server
}

// dialSubscriber opens a socket as token and starts its reader.
func dialSubscriber(ctx context.Context, base, token string, feed func(string, liveEvent), fail func(string, string)) (*subscriber, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/query", nil)
	if err != nil {
		return nil, err
	}
	s := &subscriber{conn: conn, done: make(chan struct{}), feed: feed, fail: fail}
	init := map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}}
	if err := conn.WriteJSON(init); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ack wsMsg
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		conn.Close()
		return nil, fmt.Errorf("connection_init: got %q, %v", ack.Type, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go s.read()
	return s, nil
}

// subscribe starts room's stream after the given sequence; the
// subscription's id is the room's id.
func (s *subscriber) subscribe(room string, after int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn.WriteJSON(map[string]any{"id": room, "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { ...E } }` + eventFragment,
		"variables": map[string]any{"id": room, "after": after},
	}})
}

// unsubscribe ends room's stream.
func (s *subscriber) unsubscribe(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.WriteJSON(map[string]any{"id": room, "type": "complete"})
}

func (s *subscriber) read() {
	defer close(s.done)
	for {
		var m wsMsg
		if err := s.conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "ping":
			s.mu.Lock()
			_ = s.conn.WriteJSON(map[string]any{"type": "pong"})
			s.mu.Unlock()
		case "next":
			var p struct {
				Data struct {
					BullPenEvents json.RawMessage `json:"bullPenEvents"`
				} `json:"data"`
				Errors []*gqlclient.Error `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
				s.fail(m.ID, fmt.Sprintf("next with errors: %s", m.Payload))
				continue
			}
			seq, raw, err := canonicalEvent(p.Data.BullPenEvents)
			if err != nil {
				s.fail(m.ID, err.Error())
				continue
			}
			s.feed(m.ID, liveEvent{seq: seq, raw: raw})
		case "error", "complete":
			s.fail(m.ID, fmt.Sprintf("%s: %s", m.Type, m.Payload))
		}
	}
}

// close closes the socket and waits for the reader.
func (s *subscriber) close() {
	_ = s.conn.Close()
	<-s.done
}

// eventFragment selects what an event stored when it happened, and
// nothing computed when it is read (market values move with prices), so
// that a live event and its log entry are byte for byte the same.
const eventFragment = ` fragment E on BullPenEvent { __typename sequence bullPenId occurredAt
  ... on OrderEvent { kind order { id clientOrderId symbol side type quantity limitPrice stopPrice status
      filledQuantity filledPrice commission rejectReason createdAt updatedAt filledAt } }
  ... on PositionEvent { participantId position { symbol quantity costBasis realizedPnl updatedAt } }
  ... on LeaderboardEvent { snapshot { id takenAt final entries { rank participantId portfolioValue cash } } }
  ... on RoomStateEvent { previousState state trigger startsAt endsAt }
  ... on CorporateActionEvent { action { id kind symbol ratio amountPerShare exDate payDate appliedAt } } }`

// canonicalEvent reads an event's sequence and re-encodes it with sorted
// keys.
func canonicalEvent(raw json.RawMessage) (int64, string, error) {
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return 0, "", fmt.Errorf("event %.200s: %w", raw, err)
	}
	n, ok := v["sequence"].(json.Number)
	if !ok {
		return 0, "", fmt.Errorf("event without a sequence: %.200s", raw)
	}
	seq, err := n.Int64()
	if err != nil {
		return 0, "", err
	}
	out, err := json.Marshal(v)
	return seq, string(out), err
}
