package realtime

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// The keep-alive goroutine is the transport's: it starts with the first
// connection, and Shutdown stops it (and waits for it); none starts after.
func TestKeepAliveGoroutineStopsOnShutdown(t *testing.T) {
	clock := clockwork.NewFakeClock()
	ws := NewWebSocket(nil, clock, slog.New(slog.DiscardHandler))
	ws.startPings()
	if !ws.pinging() {
		t.Fatal("the keep-alive goroutine did not start")
	}
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil { // its ticker
		t.Fatal(err)
	}
	done := ws.pingDone
	ws.Shutdown(context.Background())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the keep-alive goroutine did not stop")
	}
	if ws.pinging() {
		t.Fatal("still pinging after Shutdown")
	}
	ws.startPings()
	if ws.pinging() {
		t.Fatal("a keep-alive goroutine started after Shutdown")
	}
}

// With keep-alive off no goroutine starts.
func TestNoKeepAliveGoroutineWhenOff(t *testing.T) {
	ws := NewWebSocket(nil, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	ws.KeepAlive = 0
	ws.startPings()
	if ws.pinging() {
		t.Fatal("pinging with KeepAlive 0")
	}
}

// The frames the writer builds itself are what RFC 6455 says: FIN, the
// opcode, no mask, and the length in 7, 16 or 64 bits.
func TestFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		if got := appendFrameHeader(nil, opText, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("header for %d bytes: % x, want % x", tc.n, got, tc.want)
		}
	}
	if got := appendFrameHeader(nil, opPing, 0); !bytes.Equal(got, []byte{0x89, 0}) {
		t.Errorf("ping header: % x", got)
	}
}

// TestPingsAreSpread: connections opened together are not pinged
// together: each part of the keep-alive interval pings its share of
// them, and every connection is pinged once an interval.
func TestPingsAreSpread(t *testing.T) {
	clock := clockwork.NewFakeClock()
	ws := NewWebSocket(nil, clock, slog.New(slog.DiscardHandler))
	ws.KeepAlive = pingSlices * time.Second
	const n = 4 * pingSlices
	kicks := map[*wsConn]int{}
	for range n {
		c := &wsConn{t: ws}
		c.q.start = func(bool) { kicks[c]++ }
		c.nextPing = ws.firstPing()
		if !ws.conns.add(c) {
			t.Fatal("add refused")
		}
	}
	for interval := 1; interval <= 2; interval++ {
		for slice := range pingSlices {
			clock.Advance(time.Second)
			before := sum(kicks)
			ws.pingDue(clock.Now())
			if got := sum(kicks) - before; got != n/pingSlices {
				t.Fatalf("interval %d, part %d: %d connections pinged, want %d", interval, slice, got, n/pingSlices)
			}
			for c := range kicks {
				c.q.take(nil) // written
				c.q.done()
			}
		}
		for _, k := range kicks {
			if k != interval {
				t.Fatalf("after %d intervals a connection was pinged %d times", interval, k)
			}
		}
	}
}

func sum(m map[*wsConn]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}
