package realtime

import (
	"math"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Who reads a connection (wsConn.rstate).
const (
	pollOff     int32 = iota // not polled: its own goroutine reads it (serve)
	pollArmed                // the poller watches it; nobody reads it now
	pollReading              // a drain reads it, or it is finishing
)

// watch prepares c, whose socket has a raw file descriptor, to be read by
// the poller: it reports false for a connection the poller cannot watch
// (TLS, a wrapped connection), which keeps a reader goroutine.
func (c *wsConn) watch() bool {
	sc, ok := c.raw.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd, ok := socketFD(rc)
	if !ok {
		return false
	}
	c.fd, c.rawConn = fd, rc
	c.parser.limit = c.t.MaxMessageSize
	c.heard()
	c.rstate.Store(pollArmed)
	return true
}

// unwatch undoes watch when the poller refused c; false if a close has
// taken the connection meanwhile (its finish runs already).
func (c *wsConn) unwatch() bool {
	c.heardAt.Store(0)
	return c.rstate.CompareAndSwap(pollArmed, pollOff)
}

// readable is the poller's: c's socket has something to read, or its
// peer has gone. A drain takes the connection unless one has it (or it
// is finishing).
func (c *wsConn) readable() {
	if c.rstate.CompareAndSwap(pollArmed, pollReading) {
		go c.drain()
	}
}

// endPolled makes sure a closed polled connection finishes: nothing
// reads an armed one to find out.
func (c *wsConn) endPolled() {
	if c.rstate.CompareAndSwap(pollArmed, pollReading) {
		go c.finish()
	}
}

// drain reads and handles what has come, then hands the connection back
// to the poller, or finishes it. It is the connection's reader for the
// while: it ends on its own, having waited for nothing but the handling
// of the messages it read.
func (c *wsConn) drain() {
	if c.readAvailable() && c.ctx.Err() == nil {
		c.rstate.Store(pollArmed)
		if err := c.t.poll.arm(c); err == nil && c.ctx.Err() == nil {
			return
		}
		// Closed since (or no longer watched): whoever takes the
		// connection back finishes it, endPolled or this drain.
		if !c.rstate.CompareAndSwap(pollArmed, pollReading) {
			return
		}
	}
	c.finish()
}

// readBuffers lends a drain what it reads into; a connection keeps one
// only while a frame has come in part.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readAvailable reads what the socket holds, without waiting, and
// handles each message in it in order; it keeps the start of a frame
// that has not all come. False: the connection ends (the peer's close,
// the end of its stream, a protocol error, or a message that closed it).
func (c *wsConn) readAvailable() bool {
	bp := c.pending
	if bp == nil {
		bp = readBuffers.Get().(*[]byte)
	}
	c.pending = nil
	for {
		b := *bp
		if len(b) == cap(b) {
			b = slices.Grow(b, len(b))
		}
		space := cap(b) - len(b)
		n, err := readNow(c.rawConn, b[len(b):cap(b)])
		b = b[:len(b)+n]
		used, ok := c.handleFrames(b)
		*bp = b[:copy(b, b[used:])]
		if !ok || err != nil {
			putReadBuffer(bp)
			return false
		}
		if n < space { // the socket is empty
			break
		}
	}
	if len(*bp) == 0 {
		putReadBuffer(bp)
	} else {
		c.pending = bp
	}
	return true
}

func putReadBuffer(bp *[]byte) {
	if cap(*bp) <= 128<<10 {
		*bp = (*bp)[:0]
		readBuffers.Put(bp)
	}
}

// handleFrames handles the whole frames at the start of b and returns
// how many bytes they took; false ends the connection.
func (c *wsConn) handleFrames(b []byte) (used int, ok bool) {
	for used < len(b) {
		ev, n := c.parser.next(b[used:])
		used += n
		switch ev.kind {
		case readMore:
			return used, true
		case readMessage:
			if c.ctx.Err() != nil {
				return used, false // closing: drop what arrives
			}
			c.heard()
			// handle copies what it keeps: b goes back to the pool.
			if !c.handle(ev.data) {
				return used, false
			}
		case readPing:
			c.pong(ev.data)
		case readPong:
			c.heard()
		case readClose:
			c.closeWith(ev.code, "") // echoes the peer's code, as gorilla's handler does
			return used, false
		case readFail:
			c.closeWith(ev.code, ev.text)
			return used, false
		}
	}
	return used, true
}

// pong answers a ping as gorilla does: at once, within a second.
func (c *wsConn) pong(payload []byte) {
	f := append(appendFrameHeader(make([]byte, 0, 2+len(payload)), opPong, len(payload)), payload...)
	_ = c.raw.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.raw.Write(f)
}

// heard notes that the peer has answered (a message or a pong): see
// silentSince.
func (c *wsConn) heard() { c.heardAt.Store(c.t.readClock.Now().UnixNano()) }

// silent reports whether c is polled and has sent neither a message nor
// a pong since (Unix nanoseconds); it then marks it so that it is cut
// off once.
func (c *wsConn) silent(since int64) bool {
	at := c.heardAt.Load()
	return at != 0 && at < since && c.heardAt.CompareAndSwap(at, math.MaxInt64)
}

// cutSilent reports whether silent has found c silent (it is closing).
func (c *wsConn) cutSilent() bool { return c.heardAt.Load() == math.MaxInt64 }

// pongWait is how long a peer may stay silent while pinged: two pings
// and a write timeout. A polled connection has no read deadline: the
// keep-alive goroutine cuts off one silent longer (pingDue).
func (t *WebSocket) pongWait() time.Duration { return 2*t.KeepAlive + t.WriteTimeout }

// cutOffSilent closes a connection that stopped answering pings as a
// read deadline did: with 1000, from a goroutine of the writers (the
// close frame may wait up to closeGrace).
func (c *wsConn) cutOffSilent() { c.closeApart(websocket.CloseNormalClosure, "") }
