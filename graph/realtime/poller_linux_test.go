//go:build linux

package realtime

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jonboulle/clockwork"
)

// pollServer serves ws over plain TCP, which the poller watches.
func pollServer(t *testing.T, ws *WebSocket) (url string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ws.Do(w, r, streamExec{}) }))
	t.Cleanup(func() {
		ws.Shutdown(context.Background())
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// initialised dials url and completes connection_init.
func initialised(t *testing.T, url string) *wsClient {
	t.Helper()
	c := &wsClient{t: t, c: dialTransportWS(t, url)}
	c.send(wsMessage{Type: "connection_init"})
	if m := c.next(); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	return c
}

// readers counts the goroutines that read a connection: a gorilla reader
// (serve) or a drain.
func readers() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	s := b.String()
	return strings.Count(s, "realtime.(*wsConn).serve") + strings.Count(s, "realtime.(*wsConn).drain")
}

// An idle connection has no goroutine reading it: the poller hands it to
// a drain when something comes, and the drain ends.
func TestIdleConnectionHasNoReader(t *testing.T) {
	ws := stallTransport(nil)
	url := pollServer(t, ws)
	clients := make([]*wsClient, 10)
	for i := range clients {
		clients[i] = initialised(t, url)
	}
	waitFor(t, "no reader goroutine", 10*time.Second, func() bool { return readers() == 0 })
	if !ws.poll.running() {
		t.Fatal("the poller does not run")
	}
	for _, c := range clients { // each is still read
		c.send(wsMessage{Type: "ping"})
		if m := c.next(); m.Type != "pong" {
			t.Fatalf("got %s, want pong", m.Type)
		}
	}
}

// A connection whose frame has come in part keeps what came and waits
// for the rest without holding anything: the others, more than there are
// CPUs, are answered meanwhile, and it is once the rest comes.
func TestSplitFrameDoesNotHoldOthers(t *testing.T) {
	ws := stallTransport(nil)
	url := pollServer(t, ws)
	frame := clientFrame(0x80|opText, []byte(`{"type":"ping"}`))
	slow := make([]*wsClient, 8)
	for i := range slow {
		slow[i] = initialised(t, url)
		if _, err := slow[i].c.UnderlyingConn().Write(frame[:5]); err != nil {
			t.Fatal(err)
		}
	}
	other := initialised(t, url)
	for range 3 {
		other.send(wsMessage{Type: "ping"})
		if m := other.next(); m.Type != "pong" {
			t.Fatalf("got %s, want pong", m.Type)
		}
	}
	waitFor(t, "no reader goroutine", 10*time.Second, func() bool { return readers() == 0 })
	for _, c := range slow {
		if _, err := c.c.UnderlyingConn().Write(frame[5:]); err != nil {
			t.Fatal(err)
		}
		if m := c.next(); m.Type != "pong" {
			t.Fatalf("the split frame: got %s, want pong", m.Type)
		}
	}
}

// A peer that sends neither a message nor a pong for two keep-alive
// intervals and a write timeout is cut off, as a read deadline did; one
// that spoke within them is not.
func TestSilentPeerIsCutOff(t *testing.T) {
	clock, heard := clockwork.NewFakeClock(), clockwork.NewFakeClock()
	ws := NewWebSocket(func(ctx context.Context, _ map[string]any) (context.Context, error) { return ctx, nil },
		clock, slog.New(slog.DiscardHandler))
	ws.KeepAlive, ws.WriteTimeout, ws.InitTimeout = pingSlices*time.Second, time.Second, 0
	ws.readClock = heard
	url := pollServer(t, ws)
	quiet, chatty := initialised(t, url), initialised(t, url)
	if err := clock.BlockUntilContext(context.Background(), 1); err != nil { // the keep-alive ticker
		t.Fatal(err)
	}
	heard.Advance(ws.pongWait() / 2)
	chatty.send(wsMessage{Type: "ping"})
	if m := chatty.next(); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
	heard.Advance(ws.pongWait()/2 + time.Second) // past quiet's time, not chatty's
	clock.Advance(ws.KeepAlive)                  // both are due for a ping
	if m := chatty.next(); m.Type != "ping" {    // pingDue has run
		t.Fatalf("got %s, want the keep-alive ping", m.Type)
	}
	if types, code := readUntilClose(quiet.c); code != websocket.CloseNormalClosure || len(types) != 0 {
		t.Fatalf("the silent peer: got %v then close %d, want close %d", types, code, websocket.CloseNormalClosure)
	}
	chatty.send(wsMessage{Type: "ping"})
	if m := chatty.next(); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
}

// The poller's goroutine starts with the first watched connection and
// Shutdown stops it; no connection is watched afterwards.
func TestPollerStopsOnShutdown(t *testing.T) {
	ws := stallTransport(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ws.Do(w, r, streamExec{}) }))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	if ws.poll.running() {
		t.Fatal("the poller runs before any connection")
	}
	c := initialised(t, url)
	if !ws.poll.running() {
		t.Fatal("the poller does not run")
	}
	done := ws.poll.done
	ws.Shutdown(context.Background())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the poller's goroutine did not stop")
	}
	if ws.poll.running() {
		t.Fatal("the poller runs after Shutdown")
	}
	if _, code := readUntilClose(c.c); code != CloseGoingAway {
		t.Fatalf("close %d, want %d", code, CloseGoingAway)
	}
	// A connection after Shutdown is refused, and starts nothing.
	late := dialTransportWS(t, url)
	if _, code := readUntilClose(late); code != CloseGoingAway || ws.poll.running() {
		t.Fatalf("late connection: close %d, poller running %v", code, ws.poll.running())
	}
}
