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

// writersFixture is a transport with one writer worker, and connections
// over recordingConns that share one log; a gated one holds the worker in
// its first write until release.
type writersFixture struct {
	ws            *WebSocket
	log           *writeLog
	entered, gate chan struct{}
}

func newWritersFixture() *writersFixture {
	ws := NewWebSocket(nil, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	ws.writers.max = 1
	return &writersFixture{ws: ws, log: &writeLog{}, entered: make(chan struct{}), gate: make(chan struct{})}
}

func (f *writersFixture) conn(name string, gated bool) *wsConn {
	rc := &recordingConn{name: name, log: f.log, entered: f.entered}
	if gated {
		rc.gate = f.gate
	}
	c := &wsConn{t: f.ws, raw: &batchConn{Conn: rc}, ctx: context.Background()}
	c.q.start = func(urgent bool) { f.ws.writers.add(c, urgent) }
	return c
}

func (f *writersFixture) push(t *testing.T, c *wsConn, data string, bulk bool) {
	t.Helper()
	if !c.q.pushQuiet(frame{data: []byte(data), bulk: bulk}, 0) {
		t.Fatal("push refused")
	}
	c.q.kick()
}

// hold queues a frame on a gated connection and returns once the worker
// is held in its write.
func (f *writersFixture) hold(t *testing.T) *wsConn {
	a := f.conn("a", true)
	f.push(t, a, "a1", false)
	<-f.entered
	return a
}

// release lets the held write go and waits for the worker to finish.
func (f *writersFixture) release() {
	close(f.gate)
	f.ws.writers.stop()
}

// TestWritersServeUrgentFirst: with one worker busy, connections with only
// bulk frames (leaderboards) wait while those with an urgent frame (an
// order's event) are written first, a bulk-only connection that gets an
// urgent frame moves up and is written once, and each connection's frames
// leave in the order they were queued.
func TestWritersServeUrgentFirst(t *testing.T) {
	f := newWritersFixture()
	a := f.hold(t)
	b, c, d, e := f.conn("b", false), f.conn("c", false), f.conn("d", false), f.conn("e", false)
	f.push(t, b, "b-board", true)
	f.push(t, c, "c-board", true)
	f.push(t, d, "d-fill", false)
	f.push(t, e, "e-board", true)
	f.push(t, e, "e-fill", false)
	f.release()
	log := f.log

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
	f := newWritersFixture()
	f.hold(t)
	f.push(t, f.conn("z", false), "x", true)
	for range 2 * bulkEvery {
		f.push(t, f.conn("u", false), "x", false)
	}
	f.release()
	log := f.log
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
