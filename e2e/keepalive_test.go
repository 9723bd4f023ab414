package e2e

import (
	"strings"
	"testing"
	"time"
)

// -ws-init-timeout 0 waits for connection_init forever (it used to close
// every socket at once).
func TestZeroInitTimeoutWaitsForInit(t *testing.T) {
	ts := startServer(t, "-ws-init-timeout", "0")
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A ping answered means the connection's reader runs, past where it
	// would have set an init timer (before it reads anything): an hour on
	// the clock then fires such a timer, if one was set.
	c.send(map[string]any{"type": "ping"})
	if m := c.next(); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
	ts.clock.Advance(time.Hour)
	c.init(nil)
}

// -keepalive 0 sends no pings (it used to crash the process on the first
// WebSocket and SSE stream: a ticker of 0 panics).
func TestZeroKeepAliveSendsNoPings(t *testing.T) {
	ts := startServer(t, "-keepalive", "0")
	t.Run("SSE", func(t *testing.T) {
		room := ts.with(t).activeRoom(t)
		// Resume from a known sequence: a live-only subscription could
		// start after the pause below commits.
		var last struct{ BullPen struct{ LastSequence int } }
		ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id}, &last)
		s := ts.subscribeSSE(t, room.owner, `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename ... on RoomStateEvent { state } } }`,
			map[string]any{"id": room.id, "after": last.BullPen.LastSequence})
		ts.clock.Advance(time.Minute)
		ts.must(room.owner, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
		for {
			ev, data := s.next()
			if ev != "next" {
				t.Fatalf("got %s %s, want the PAUSED state", ev, data)
			}
			if strings.Contains(data, `"PAUSED"`) {
				break
			}
		}
	})
	t.Run("WebSocket", func(t *testing.T) {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.init(nil)
		ts.clock.Advance(time.Minute) // four default keep-alive intervals
		// The first message after our ping is its pong, not a server ping.
		c.send(map[string]any{"type": "ping"})
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m wsMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if m.Type != "pong" {
			t.Fatalf("got %s, want pong", m.Type)
		}
	})
}

// Every KeepAlive, each connection gets a WebSocket ping and, once
// initialised, its protocol's keep-alive message: graphql-transport-ws a
// ping, the legacy protocol a ka. One goroutine of the transport sends
// them; a connection has no timer of its own.
func TestKeepAlivePingsEveryConnection(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct{ protocol, message string }{
		{"graphql-transport-ws", "ping"},
		{"graphql-ws", "ka"},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			c, _, err := ts.dialWS(t, tc.protocol, nil)
			if err != nil {
				t.Fatal(err)
			}
			pings := make(chan struct{}, 16)
			c.conn.SetPingHandler(func(string) error { pings <- struct{}{}; return nil })
			c.init(nil)
			if tc.protocol == "graphql-ws" {
				var m wsMsg // the legacy protocol's ka right after the ack
				if err := c.conn.ReadJSON(&m); err != nil || m.Type != "ka" {
					t.Fatalf("after the ack: %+v %v, want ka", m, err)
				}
			}
			for round := range 2 {
				ts.clock.Advance(15 * time.Second)
				_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				var m wsMsg
				if err := c.conn.ReadJSON(&m); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if m.Type != tc.message {
					t.Fatalf("round %d: got %+v, want %s", round, m, tc.message)
				}
				select {
				case <-pings: // the ping frame came before the message
				default:
					t.Fatalf("round %d: no WebSocket ping before the %s", round, tc.message)
				}
			}
		})
	}
}
