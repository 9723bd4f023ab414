package realtime

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// frame is one queued write: a message, or a close after what precedes it.
// A shared result is queued as the subscriber's own envelope prefix (with
// its operation id), the payload every subscriber shares, and a closing
// brace: the payload is encoded once and never copied per subscriber.
type frame struct {
	prefix []byte
	data   []byte
	suffix bool // data is followed by "}", closing prefix's envelope
	close  bool
	code   int
	reason string
}

// sendQueue holds a connection's outgoing frames for its writer, which
// takes all of them at once. Pushing never waits (push) or waits only for
// room (pushWait); the bound is the caller's.
type sendQueue struct {
	mu     sync.Mutex
	frames []frame
	ready  chan struct{} // cap 1: the writer has work
	space  chan struct{} // closed when the writer takes the frames; nil when nobody waits
}

func newSendQueue() *sendQueue { return &sendQueue{ready: make(chan struct{}, 1)} }

// push queues f unless limit (> 0) frames are already waiting, and wakes
// the writer.
func (q *sendQueue) push(f frame, limit int) bool {
	if !q.pushQuiet(f, limit) {
		return false
	}
	q.kick()
	return true
}

// pushQuiet is push without waking the writer: the caller kicks once it
// has queued everything it has (so that it leaves in one write).
func (q *sendQueue) pushQuiet(f frame, limit int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if limit > 0 && len(q.frames) >= limit {
		return false
	}
	q.frames = append(q.frames, f)
	return true
}

// kick wakes the writer.
func (q *sendQueue) kick() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
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

// take swaps the queued frames for buf (emptied) and returns them.
func (q *sendQueue) take(buf []frame) []frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.frames
	q.frames = buf[:0]
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	return out
}

// batchConn lets the writer put many WebSocket messages into one write:
// between begin and flush what gorilla writes is gathered in a pooled
// buffer; outside them (control frames from other goroutines) it goes
// straight to the socket.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// SetWriteDeadline is left to flush while batching: gorilla sets one for
// every message.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		return nil
	}
	return b.Conn.SetWriteDeadline(t)
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	if b.buf == nil {
		b.buf = batchBuffers.Get().(*[]byte)
	}
	b.mu.Unlock()
}

// flush writes what was gathered in one write, with a deadline.
func (b *batchConn) flush(timeout time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	if b.buf == nil {
		return nil
	}
	var err error
	if len(*b.buf) > 0 {
		_ = b.Conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err = b.Conn.Write(*b.buf)
	}
	if cap(*b.buf) <= 1<<20 { // an idle connection keeps no buffer
		*b.buf = (*b.buf)[:0]
		batchBuffers.Put(b.buf)
	}
	b.buf = nil
	return err
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
	return h.conn, rw, nil
}

// writeBuffers lends gorilla a write buffer only while a message is being
// written, so an idle connection holds none.
var writeBuffers = &sync.Pool{}
