package realtime

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
)

// recordingConn is a socket that records each write, under the name of its
// connection, in a log the connections share; gate, when set, holds the
// first write until it is closed, after closing entered.
type recordingConn struct {
	net.Conn      // nil: only Write is used
	name          string
	log           *writeLog
	entered, gate chan struct{}
}

type writeLog struct {
	mu     sync.Mutex
	writes []string // "name:bytes"
}

func (r *recordingConn) Write(p []byte) (int, error) {
	if r.gate != nil {
		close(r.entered)
		<-r.gate
		r.gate = nil
	}
	r.log.mu.Lock()
	r.log.writes = append(r.log.writes, r.name+":"+string(p))
	r.log.mu.Unlock()
	return len(p), nil
}

// TestWritersServeUrgentFirst: with one worker busy, connections with only
// bulk frames (leaderboards) wait while those with an urgent frame (an
// order's event) are written first, a bulk-only connection that gets an
// urgent frame moves up and is written once, and each connection's frames
// leave in the order they were queued.
func TestWritersServeUrgentFirst(t *testing.T) {
	ws := NewWebSocket(nil, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	ws.writers.max = 1
	log := &writeLog{}
	entered, gate := make(chan struct{}), make(chan struct{})
	conn := func(name string, g chan struct{}) *wsConn {
		c := &wsConn{t: ws, raw: &batchConn{Conn: &recordingConn{name: name, log: log, entered: entered, gate: g}}, ctx: context.Background()}
		c.q.start = func(urgent bool) { ws.writers.add(c, urgent) }
		return c
	}
	push := func(c *wsConn, data string, bulk bool) {
		t.Helper()
		if !c.q.pushQuiet(frame{data: []byte(data), bulk: bulk}, 0) {
			t.Fatal("push refused")
		}
		c.q.kick()
	}
	a, b, c, d, e := conn("a", gate), conn("b", nil), conn("c", nil), conn("d", nil), conn("e", nil)
	push(a, "a1", false) // the worker takes a and waits in its write
	<-entered
	push(b, "b-board", true)
	push(c, "c-board", true)
	push(d, "d-fill", false)
	push(e, "e-board", true)
	push(e, "e-fill", false)
	close(gate)
	ws.writers.stop()

	var order []string
	for _, w := range log.writes {
		order = append(order, w[:1])
	}
	if got := strings.Join(order, ","); got != "a,d,e,b,c" {
		t.Fatalf("connections written in the order %s, want a,d,e,b,c (urgent first, e moved up and written once)", got)
	}
	ew := log.writes[2]
	if i, j := strings.Index(ew, "e-board"), strings.Index(ew, "e-fill"); i < 0 || j < i {
		t.Fatalf("e's write %q: want its board, then its fill, in one write", ew)
	}
	for _, x := range []*wsConn{a, b, c, d, e} {
		if x.q.state != idle || len(x.q.frames) != 0 {
			t.Errorf("a connection left %v with %d frames, want idle and empty", x.q.state, len(x.q.frames))
		}
	}
}

// TestWritersDoNotStarveBulk: however many urgent connections wait, a
// bulk one is written after bulkEvery of them.
func TestWritersDoNotStarveBulk(t *testing.T) {
	ws := NewWebSocket(nil, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	ws.writers.max = 1
	log := &writeLog{}
	entered, gate := make(chan struct{}), make(chan struct{})
	conn := func(name string, g chan struct{}) *wsConn {
		c := &wsConn{t: ws, raw: &batchConn{Conn: &recordingConn{name: name, log: log, entered: entered, gate: g}}, ctx: context.Background()}
		c.q.start = func(urgent bool) { ws.writers.add(c, urgent) }
		return c
	}
	push := func(c *wsConn, bulk bool) {
		c.q.pushQuiet(frame{data: []byte("x"), bulk: bulk}, 0)
		c.q.kick()
	}
	push(conn("a", gate), false) // the worker takes it (urgent) and waits
	<-entered
	push(conn("z", nil), true)
	for range 2 * bulkEvery {
		push(conn("u", nil), false)
	}
	close(gate)
	ws.writers.stop()
	at := -1
	for i, w := range log.writes {
		if strings.HasPrefix(w, "z:") {
			at = i
		}
	}
	if len(log.writes) != 2*bulkEvery+2 || at != bulkEvery {
		t.Fatalf("%d writes, the bulk connection's at %d; want %d writes and it at %d (after %d urgent ones)", len(log.writes), at, 2*bulkEvery+2, bulkEvery, bulkEvery)
	}
}
