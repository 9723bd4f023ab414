package main

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/graph/realtime"
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
