package realtime

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// frame is one queued write: a message, a ping, or a close after what
// precedes it. A shared result is queued as the subscriber's own envelope
// prefix (with its operation id), the payload every subscriber shares, and
// a closing brace: the payload is encoded once and never copied per
// subscriber until it is framed into the write.
type frame struct {
	prefix []byte
	data   []byte
	suffix bool // data is followed by "}", closing prefix's envelope
	ping   bool // a WebSocket ping control frame
	// bulk marks a frame that may wait for others' urgent ones: a
	// leaderboard snapshot, which goes to every subscriber of a room,
	// while an order's events matter to whoever waits on the fill.
	bulk   bool
	close  bool
	code   int
	reason string
}

// sendQueue holds a connection's outgoing frames. No goroutine waits on
// it: the first kick after frames arrive hands the connection to the
// transport's writers (start), one of which takes everything queued at
// once and writes it. An idle connection so has no writer goroutine at all.
// Pushing never waits (push) or waits only for room (pushWait); the bound
// is the caller's.
type sendQueue struct {
	mu     sync.Mutex
	frames []frame
	state  queueState
	// urgent: a frame that is not bulk waits; inUrgent: the connection
	// sits in the writers' urgent line since it last queued.
	urgent, inUrgent bool
	closed           bool          // the connection is finishing: start no writer
	space            chan struct{} // closed when the writer takes the frames; nil when nobody waits
	// start hands the connection to the writers, in the urgent line or
	// the bulk one; called with mu held.
	start func(urgent bool)
}

// queueState is where a connection stands with the writers.
type queueState uint8

const (
	idle   queueState = iota // nothing queued, or the next kick queues it
	queued                   // in a writers' line (perhaps both), waiting for a worker
	busy                     // a worker (or a slow write) has it
)

// push queues f unless limit (> 0) frames are already waiting, and makes
// sure a writer will send it.
func (q *sendQueue) push(f frame, limit int) bool {
	if !q.pushQuiet(f, limit) {
		return false
	}
	q.kick()
	return true
}

// pushQuiet is push without starting the writer: the caller kicks once it
// has queued everything it has (so that it leaves in one write).
func (q *sendQueue) pushQuiet(f frame, limit int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if limit > 0 && len(q.frames) >= limit {
		return false
	}
	q.frames = append(q.frames, f)
	q.urgent = q.urgent || !f.bulk
	return true
}

// kick hands the connection to the writers if frames wait and it is not
// with them yet, in the urgent line when an urgent frame waits. A
// connection waiting in the bulk line moves up when an urgent frame joins
// (it is then in both lines, and the first worker to reach it claims it).
func (q *sendQueue) kick() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.frames) == 0 {
		return
	}
	switch {
	case q.state == idle:
		q.state, q.inUrgent = queued, q.urgent
		q.start(q.urgent)
	case q.state == queued && q.urgent && !q.inUrgent:
		q.inUrgent = true
		q.start(true)
	}
}

// claim takes a connection from a writers' line for one worker: false
// when another took it already (it was in both lines).
func (q *sendQueue) claim() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != queued {
		return false
	}
	q.state = busy
	return true
}

// done ends a write: with frames waiting the connection goes back in
// line, and done reports in which (ok false: it is idle now).
func (q *sendQueue) done() (urgent, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames) == 0 || q.closed {
		q.state = idle
		return false, false
	}
	q.state, q.inUrgent = queued, q.urgent
	return q.urgent, true
}

// pushWait queues f, waiting while limit frames are waiting, until ctx is
// done.
func (q *sendQueue) pushWait(ctx context.Context, f frame, limit int) bool {
	for {
		if q.push(f, limit) {
			return true
		}
		q.mu.Lock()
		if len(q.frames) < limit {
			q.mu.Unlock()
			continue
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return false
		}
	}
}

// take swaps the queued frames for buf (emptied) and returns them, for
// the worker that claimed the connection.
func (q *sendQueue) take(buf []frame) []frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.frames
	q.frames = buf[:0]
	q.urgent = false
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	return out
}

// close stops the queue from starting writers. Once it returns, no
// writer is started again.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// WebSocket opcodes of the frames the writer builds itself.
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	finBit  = 0x80
)

// appendFrameHeader appends the header of an unmasked, final server frame
// (RFC 6455 section 5.2) carrying n bytes.
func appendFrameHeader(b []byte, opcode byte, n int) []byte {
	b = append(b, finBit|opcode)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// batchConn is the socket under gorilla's Conn. The writers put many
// WebSocket frames they build themselves into one write (tryWrite); what
// gorilla writes (a pong) goes straight through, and the close frame goes
// last (writeLast). The mutex keeps whole frames from interleaving.
//
// A write that fails or times out may have stopped in the middle of a
// frame: any byte written after it would be read as the rest of that
// frame (a close frame inside a text frame was read as invalid UTF-8,
// and what followed as garbage). So after a failed write the socket is
// dead: nothing more is written to it, not even a close frame, and the
// connection is closed at the TCP level (closeWith).
//
// Once the connection closes, no write may end later than closeBy
// (closeWithin): not the one in progress, which may be waiting for a peer
// that stopped reading, nor those after it. The write deadline therefore
// has a lock of its own, never held while writing.
type batchConn struct {
	net.Conn
	// writeNow writes what the socket takes of a write without waiting
	// (see writeNow); nil when Conn has no raw file descriptor.
	writeNow func(p []byte) (int, error)
	timeout  time.Duration // the transport's WriteTimeout
	mu       sync.Mutex
	// dead: a write failed, or the close frame was written; no byte may
	// follow. Read and set with mu held.
	dead bool

	dl       sync.Mutex // guards deadline and closeBy
	deadline time.Time  // the write deadline set last
	closeBy  time.Time  // set by closeWithin: no write ends later
}

// errDead is what writing to a dead batchConn returns.
var errDead = errors.New("websocket: no write after a failed write or the close frame")

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dead {
		return 0, errDead
	}
	n, err := b.Conn.Write(p)
	if err != nil {
		b.dead = true
	}
	return n, err
}

// writeLast writes the last bytes the socket gets (a close frame), unless
// it is dead, waiting for the socket until deadline at most. It reports
// whether all of p went out; either way nothing is written afterwards.
func (b *batchConn) writeLast(p []byte, deadline time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dead {
		return false
	}
	b.dead = true
	if err := b.SetWriteDeadline(deadline); err != nil {
		return false
	}
	n, err := b.Conn.Write(p)
	return err == nil && n == len(p)
}

// SetWriteDeadline sets the write deadline (closeBy, if that comes
// sooner) and remembers it, so that tryWrite knows whether it must set
// its own.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.dl.Lock()
	defer b.dl.Unlock()
	return b.setDeadlineLocked(t)
}

// keepDeadline moves the write deadline to timeout from now when less
// than half of that is left (see tryWrite).
func (b *batchConn) keepDeadline() error {
	b.dl.Lock()
	defer b.dl.Unlock()
	if now := time.Now(); b.deadline.Sub(now) < b.timeout/2 {
		return b.setDeadlineLocked(now.Add(b.timeout))
	}
	return nil
}

func (b *batchConn) setDeadlineLocked(t time.Time) error {
	if !b.closeBy.IsZero() && (t.IsZero() || t.After(b.closeBy)) {
		t = b.closeBy
	}
	b.deadline = t
	return b.Conn.SetWriteDeadline(t)
}

// closeWithin makes every write end by t: the one in progress (without
// waiting for the write lock it holds) and those to come. A later t than
// one given before changes nothing.
func (b *batchConn) closeWithin(t time.Time) {
	b.dl.Lock()
	defer b.dl.Unlock()
	if !b.closeBy.IsZero() && !t.Before(b.closeBy) {
		return
	}
	b.closeBy = t
	if b.deadline.IsZero() || b.deadline.After(t) {
		_ = b.setDeadlineLocked(t)
	}
}

// Close closes the connection. Under TLS it closes the socket beneath
// without a close_notify alert, which would wait up to 5 seconds for a
// peer that does not read: the WebSocket close frame, when it could be
// sent, has ended the conversation already.
func (b *batchConn) Close() error {
	if tc, ok := b.Conn.(interface{ NetConn() net.Conn }); ok {
		err := tc.NetConn().Close()
		_ = b.Conn.Close() // frees what TLS holds; its alert fails at once
		return err
	}
	return b.Conn.Close()
}

// hijacker hands gorilla's Upgrader a batchConn instead of the raw socket.
type hijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			h.conn.writeNow = writeNow(raw)
		}
	}
	return h.conn, rw, nil
}

// writeBuffers lends gorilla a write buffer only while it writes a
// message (the handshake's answer), so a connection holds none.
var writeBuffers = &sync.Pool{}
