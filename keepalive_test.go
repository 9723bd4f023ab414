package main

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
	time.Sleep(50 * time.Millisecond) // let a zero timer fire, if one was set
	ts.clock.Advance(time.Hour)
	c.init(nil)
}

// -keepalive 0 sends no pings (it used to crash the process on the first
// WebSocket and SSE stream: a ticker of 0 panics).
func TestZeroKeepAliveSendsNoPings(t *testing.T) {
	ts := startServer(t, "-keepalive", "0")
	t.Run("SSE", func(t *testing.T) {
		room := ts.with(t).activeRoom(t)
		s := ts.subscribeSSE(t, room.owner, `subscription($id: ID!) { roomStateChanged(bullPenId: $id) { state } }`, map[string]any{"id": room.id})
		ts.clock.Advance(time.Minute)
		ts.must(room.owner, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
		if ev, data := s.next(); ev != "next" || !strings.Contains(data, `"PAUSED"`) {
			t.Fatalf("got %s %s, want the PAUSED state", ev, data)
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
