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
