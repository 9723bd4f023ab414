package realtime

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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
	writes []string    // "name:bytes"
	wrote  chan string // when not nil, gets each write's connection name
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
	if r.log.wrote != nil {
		r.log.wrote <- r.name
	}
	return len(p), nil
}

// writersFixture is a transport with one writer worker, and connections
// over recordingConns that share one log; a gated one holds the worker in
// its first write until release. Bulk connections do not linger.
type writersFixture struct {
	ws            *WebSocket
	clock         *clockwork.FakeClock
	log           *writeLog
	entered, gate chan struct{}
}

func newWritersFixture() *writersFixture {
	clock := clockwork.NewFakeClock()
	ws := NewWebSocket(nil, clock, slog.New(slog.DiscardHandler))
	ws.writers.max, ws.writers.linger = 1, 0
	return &writersFixture{ws: ws, clock: clock, log: &writeLog{}, entered: make(chan struct{}), gate: make(chan struct{})}
}

func (f *writersFixture) conn(name string, gated bool) *wsConn {
	rc := &recordingConn{name: name, log: f.log, entered: f.entered}
	if gated {
		rc.gate = f.gate
	}
	// Its writes never wait (but the gated one): as a socket's with a raw
	// file descriptor, they are the workers'.
	c := &wsConn{t: f.ws, raw: &batchConn{Conn: rc, writeNow: rc.Write}, ctx: context.Background()}
	c.q.start = func(urgent bool) { f.ws.writers.add(c, urgent) }
	return c
}

func (f *writersFixture) push(t *testing.T, c *wsConn, data string, bulk bool) {
	t.Helper()
	// Each frame is an operation's result (suffix: its envelope's brace).
	if !c.q.pushQuiet(frame{data: []byte(data), suffix: true, bulk: bulk}, 0) {
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

// TestWritersBulkLingers: a connection with only bulk frames that had an
// urgent result written lately waits up to the linger for another; one that comes
// leaves with them in one write, at once, and one that does not come
// lets them go when the linger is over by the transport's clock. A
// connection that had no urgent result lately does not wait, nor one that
// had only other frames (an ack, a ping).
func TestWritersBulkLingers(t *testing.T) {
	f := newWritersFixture()
	const linger = 150 * time.Millisecond
	f.ws.writers.linger = linger
	f.log.wrote = make(chan string, 8)
	wrote := func(want string) {
		t.Helper()
		if got := <-f.log.wrote; got != want {
			t.Fatalf("wrote %s, want %s", got, want)
		}
	}
	b, d, s := f.conn("b", false), f.conn("d", false), f.conn("s", false)
	f.push(t, b, "b-fill", false)
	wrote("b")
	f.push(t, d, "d-fill", false)
	wrote("d")
	f.clock.Advance(LingerAfterUrgent - linger)
	f.push(t, b, "b-board", true)
	f.push(t, d, "d-board", true)
	if err := f.clock.BlockUntilContext(t.Context(), 1); err != nil { // the linger's timer
		t.Fatal(err)
	}
	f.push(t, s, "s-board", true) // a spectator: written at once
	wrote("s")

	f.push(t, b, "b-fill2", false)
	wrote("b")
	f.log.mu.Lock()
	last := f.log.writes[len(f.log.writes)-1]
	f.log.mu.Unlock()
	if i, j := strings.Index(last, "b-board"), strings.Index(last, "b-fill2"); i < 0 || j < i {
		t.Fatalf("b's write %q: want its board, then its fill, in one write", last)
	}

	f.clock.Advance(linger - time.Millisecond)
	f.push(t, f.conn("u", false), "u-fill", false) // a worker runs, and passes d by
	wrote("u")
	f.clock.Advance(time.Millisecond)
	wrote("d")
	f.ws.writers.stop()
	if len(f.log.writes) != 6 {
		t.Fatalf("writes %q, want 6", f.log.writes)
	}
	for _, x := range []*wsConn{b, d, s} {
		if x.q.state != idle || len(x.q.frames) != 0 {
			t.Errorf("a connection left %v with %d frames, want idle and empty", x.q.state, len(x.q.frames))
		}
	}

	// Past LingerAfterUrgent, a bulk frame goes at once.
	g := newWritersFixture()
	g.ws.writers.linger = linger
	g.log.wrote = make(chan string, 8)
	e := g.conn("e", false)
	g.push(t, e, "e-fill", false)
	if got := <-g.log.wrote; got != "e" {
		t.Fatalf("wrote %s, want e", got)
	}
	g.clock.Advance(LingerAfterUrgent)
	g.push(t, e, "e-board", true)
	if got := <-g.log.wrote; got != "e" {
		t.Fatalf("wrote %s, want e's board at once", got)
	}
	// Nor after frames that are no operation's result.
	a := g.conn("a", false)
	a.q.push(frame{data: []byte("ack")}, 0)
	if got := <-g.log.wrote; got != "a" {
		t.Fatalf("wrote %s, want a's ack", got)
	}
	g.push(t, a, "a-board", true)
	if got := <-g.log.wrote; got != "a" {
		t.Fatalf("wrote %s, want a's board at once", got)
	}
	g.ws.writers.stop()
}

// TestWritersStopWithTimerArmed: stopping the writers while a bulk
// connection lingers stops the timer and waits for nothing more.
func TestWritersStopWithTimerArmed(t *testing.T) {
	f := newWritersFixture()
	f.ws.writers.linger = time.Second
	f.log.wrote = make(chan string, 1)
	b := f.conn("b", false)
	f.push(t, b, "b-fill", false)
	<-f.log.wrote
	f.push(t, b, "b-board", true)
	if err := f.clock.BlockUntilContext(t.Context(), 1); err != nil { // the linger's timer
		t.Fatal(err)
	}
	f.ws.writers.stop()
	if f.ws.writers.timer != nil {
		t.Error("the timer is still armed after stop")
	}
	f.clock.Advance(2 * time.Second)
	if len(f.log.writes) != 1 || f.ws.writers.running != 0 {
		t.Errorf("after stop: writes %q, %d workers; want b's fill only, no worker", f.log.writes, f.ws.writers.running)
	}
}

// The writers leave one P to the goroutines that queue frames, but never
// have none.
func TestWritersLeaveAPForTheProducers(t *testing.T) {
	for procs, want := range map[int]int{1: 1, 2: 1, 4: 3, 16: 15} {
		if got := writersFor(procs); got != want {
			t.Errorf("writersFor(%d) = %d, want %d", procs, got, want)
		}
	}
}
