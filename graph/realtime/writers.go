package realtime

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jonboulle/clockwork"
)

// writers writes for every connection of a transport: a connection with
// frames waiting joins a FIFO, and at most max workers (writersFor) take
// connections from it, each writing what that connection has queued in one
// non-blocking write. Workers exist only while there is work; a handful of
// them, not a goroutine per connection, keeps the run queue short when an
// event reaches thousands of sockets at once.
//
// Two FIFOs: urgent, for connections with an order's events (or any frame
// not marked bulk) waiting, and bulk, for those with only leaderboard
// snapshots waiting, so a snapshot sent to every subscriber of a room never
// holds up the fills behind it. Workers serve urgent first, but one bulk
// connection after every bulkEvery urgent ones, so bulk never starves. Each
// connection's frames still leave in the order they were queued: only the
// order in which connections are served changes.
//
// A connection in the bulk line that had an urgent result written lately
// also waits up to linger (BulkLinger) for company, so that in a busy room
// a snapshot rides in the write the next order's events take anyway. A
// timer of the transport's clock starts a worker for the bulk connections
// whose linger is over. (BENCHMARKS.md has the measurements behind both.)
//
// A peer that does not read fills its socket buffer: the worker's write
// then stops short, and the rest goes to a goroutine of that connection's
// own (slow), which waits for the socket with the write deadline while the
// workers go on with the other connections. A connection with no raw file
// descriptor (TLS, a listener that wraps its connections) cannot be
// written without waiting: its whole write goes to such a goroutine, so
// that a few peers that stop reading never hold every worker.
type writers struct {
	mu           sync.Mutex
	urgent, bulk line
	lingering    line // bulk connections waiting for company, in the order they came
	urgentRun    int  // urgent connections taken since the last bulk one
	running      int
	max          int
	stopped      bool
	wg           sync.WaitGroup // workers, slow writers and the timer's wake
	// clock and linger: see WebSocket.BulkLinger; set by NewWebSocket.
	clock  clockwork.Clock
	linger time.Duration
	timer  clockwork.Timer // armed: wakes the writers for the bulk line; nil when not
}

// line is a FIFO of connections, each with the time it joined.
type line struct {
	items []lineItem
	head  int
}

type lineItem struct {
	c  *wsConn
	at time.Time
}

func (l *line) push(c *wsConn, at time.Time) { l.items = append(l.items, lineItem{c, at}) }

// peek returns the first connection's item; false when the line is empty.
func (l *line) peek() (lineItem, bool) {
	if l.head == len(l.items) {
		return lineItem{}, false
	}
	return l.items[l.head], true
}

// pop takes the first connection, nil when the line is empty.
func (l *line) pop() *wsConn {
	if l.head == len(l.items) {
		clear(l.items)
		l.items, l.head = l.items[:0], 0
		return nil
	}
	c := l.items[l.head].c
	l.items[l.head] = lineItem{}
	l.head++
	return c
}

// add queues c, whose frames wait, in the urgent or the bulk line, and
// starts a worker if fewer than max run; a bulk connection lingering
// waits for the timer instead.
func (p *writers) add(c *wsConn, urgent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	switch {
	case urgent:
		p.urgent.push(c, time.Time{})
	case p.lingers(c):
		now := p.clock.Now()
		p.lingering.push(c, now)
		if p.running == 0 {
			p.armLocked(now)
		}
		return
	default:
		p.bulk.push(c, time.Time{})
	}
	p.startLocked()
}

// lingers says whether c, with only bulk frames to send, waits for
// company: an urgent result of its went lately, so more may follow soon.
func (p *writers) lingers(c *wsConn) bool {
	at := c.resultAt.Load()
	return p.linger > 0 && at != 0 && p.clock.Now().UnixNano()-at < int64(LingerAfterUrgent)
}

// startLocked starts a worker unless max run; p.mu must be held.
func (p *writers) startLocked() {
	if p.max == 0 {
		p.max = writersFor(runtime.GOMAXPROCS(0))
	}
	if p.running < p.max {
		p.running++
		p.wg.Add(1)
		go p.work()
	}
}

// writersFor is how many workers write when the Go runtime has procs Ps:
// one fewer, so that a P is left for the goroutines that queue the
// frames (the room's pump, the groups' executions), and is often idle.
// A worker spends most of its time in write system calls; the runtime's
// sysmon takes the P from a thread in a system call when no P is idle,
// which with every P writing it did for a good part of the writes (the
// peer's reader, woken by the write, took the core first), waking every
// 20 µs to do so and starting threads to take the P over: 9.5% of the
// server's CPU in the fan-out of an order to 5,000 sockets, 6.6% with
// one P left (BENCHMARKS.md, issue 21).
func writersFor(procs int) int { return max(1, procs-1) }

// armLocked makes sure a worker starts when the first lingering
// connection has lingered enough (the line is in the order connections
// joined, so no later one is due sooner); p.mu must be held.
func (p *writers) armLocked(now time.Time) {
	first, ok := p.lingering.peek()
	if !ok || p.timer != nil || p.stopped {
		return
	}
	p.wg.Add(1)
	p.timer = p.clock.AfterFunc(first.at.Add(p.linger).Sub(now), func() {
		defer p.wg.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.timer = nil
		if !p.stopped {
			p.startLocked()
		}
	})
}

// spawn runs f in a goroutine the pool waits for at stop; false once the
// pool has stopped.
func (p *writers) spawn(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func (p *writers) work() {
	defer p.wg.Done()
	var scratch []frame
	for {
		p.mu.Lock()
		c := p.next()
		if c == nil {
			p.running--
			if p.running == 0 && p.linger > 0 {
				p.armLocked(p.clock.Now())
			}
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if c.q.claim() {
			scratch = c.writeQueued(scratch)
		}
	}
}

// bulkEvery is how many connections the urgent line may send in a row
// while the bulk line waits: urgent first, but a server that never runs
// out of urgent writes still sends its leaderboards (and its spectators'
// queues do not fill up to SLOW_CONSUMER behind them).
const bulkEvery = 64

// next takes the connection to write next: nil when none is urgent or
// bulk and none lingering has lingered enough. p.mu must be held.
func (p *writers) next() *wsConn {
	if p.urgentRun < bulkEvery {
		if c := p.urgent.pop(); c != nil {
			p.urgentRun++
			return c
		}
	}
	p.urgentRun = 0
	if c := p.bulk.pop(); c != nil {
		return c
	}
	if first, ok := p.lingering.peek(); ok && !p.clock.Now().Before(first.at.Add(p.linger)) {
		return p.lingering.pop()
	}
	return p.urgent.pop()
}

// stop starts no more workers and waits for those running (and for slow
// writers, which end by their write deadline at the latest).
func (p *writers) stop() {
	p.mu.Lock()
	p.stopped = true
	if p.timer != nil && p.timer.Stop() {
		p.timer = nil
		p.wg.Done() // its wake will not run
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// writeQueued writes what c has queued in one write, from a worker. It
// returns scratch (a frame slice to reuse, emptied).
func (c *wsConn) writeQueued(scratch []frame) []frame {
	batch := c.q.take(scratch)
	if len(batch) == 0 {
		c.written()
		return batch
	}
	if c.t.writers.linger > 0 {
		for i := range batch {
			if f := &batch[i]; f.suffix && !f.bulk {
				c.resultAt.Store(c.t.writers.clock.Now().UnixNano())
				break
			}
		}
	}
	defer clear(batch) // drop references to sent payloads
	if c.ctx.Err() != nil {
		c.written() // closed: drop what is queued
		return batch[:0]
	}
	bp, closed := c.frameBatch(batch)
	n, err := c.raw.tryWrite(*bp)
	if err == nil && n < len(*bp) {
		// The socket is full: the rest waits for it in a goroutine of its
		// own, which holds the write lock (taken by tryWrite) until then.
		if !c.t.writers.spawn(func() { c.finishWrite(bp, n, closed) }) {
			c.finishWrite(bp, n, closed)
		}
		return batch[:0]
	}
	c.endWrite(bp, err, closed)
	return batch[:0]
}

// finishWrite writes what tryWrite left of *bp (from n), waiting for the
// socket up to the write deadline.
func (c *wsConn) finishWrite(bp *[]byte, n int, closed *frame) {
	_, err := c.raw.Conn.Write((*bp)[n:])
	c.endWrite(bp, err, closed)
}

// endWrite releases the write lock tryWrite took and the buffer, closes
// the connection if the write failed or the batch ended with a close
// frame, and ends the write. A failed write leaves the socket dead
// (batchConn), so the close is the TCP connection's only.
func (c *wsConn) endWrite(bp *[]byte, err error, closed *frame) {
	if err != nil {
		c.raw.dead = true
	}
	c.raw.mu.Unlock()
	putBatchBuffer(bp)
	switch {
	case err != nil:
		if !errors.Is(err, errDead) { // else closed already, or cut off by an earlier write
			c.t.cutOff.Add(1)
		}
		c.closeApart(websocket.CloseGoingAway, "write failed")
	case closed != nil:
		c.closeApart(closed.code, closed.reason)
	}
	c.written()
}

// closeApart closes the connection from a goroutine of its own: the close
// frame's write waits up to a second, which a worker must not.
func (c *wsConn) closeApart(code int, reason string) {
	if !c.t.writers.spawn(func() { c.closeWith(code, reason) }) {
		c.closeWith(code, reason)
	}
}

// written ends a write: the connection rejoins the writers' queue if
// frames wait, else it is idle until the next kick.
func (c *wsConn) written() {
	if urgent, more := c.q.done(); more {
		c.t.writers.add(c, urgent)
	}
}

// frameBatch frames messages itself (server frames are unmasked: a header
// and the bytes) into one pooled buffer, stopping at a close frame, which
// it returns.
func (c *wsConn) frameBatch(frames []frame) (bp *[]byte, closed *frame) {
	bp = batchBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	for i := range frames {
		f := &frames[i]
		if f.close {
			cl := *f
			closed = &cl
			break
		}
		if f.ping {
			b = appendFrameHeader(b, opPing, 0)
			continue
		}
		n := len(f.prefix) + len(f.data)
		if f.suffix {
			n++
		}
		b = appendFrameHeader(b, opText, n)
		b = append(b, f.prefix...)
		b = append(b, f.data...)
		if f.suffix {
			b = append(b, '}')
		}
	}
	*bp = b
	return bp, closed
}

func putBatchBuffer(bp *[]byte) {
	if cap(*bp) <= 1<<20 { // keep no huge buffer in the pool
		*bp = (*bp)[:0]
		batchBuffers.Put(bp)
	}
}

// tryWrite takes the write lock and writes as much of p as the socket
// takes now, without waiting, and returns how much that was: nothing, on
// a connection with no raw file descriptor, whose every write may wait
// (a TLS one; writers hands it to a goroutine of its own). The lock is
// still held on return: the caller releases it, or hands it with the rest
// to a goroutine that waits for the socket (a sync.Mutex may be unlocked by
// another goroutine), so that nothing gorilla writes (a pong, a close)
// lands inside a frame.
//
// A write that stalls is cut off after between WriteTimeout/2 and
// WriteTimeout: the deadline is moved only when less than half of it is
// left, not on every write (setting it costs a timer update, which showed
// as 6% of the server's CPU at 100k messages/s).
func (b *batchConn) tryWrite(p []byte) (n int, err error) {
	b.mu.Lock()
	if b.dead {
		return 0, errDead
	}
	if b.timeout > 0 {
		if err := b.keepDeadline(); err != nil {
			b.dead = true
			return 0, err
		}
	}
	if b.writeNow == nil {
		return 0, nil
	}
	n, err = b.writeNow(p)
	b.dead = err != nil
	return n, err
}

// writeNow returns a function that writes what the socket of raw takes
// of p now, without waiting.
func writeNow(raw syscall.RawConn) func(p []byte) (int, error) {
	return func(p []byte) (n int, err error) {
		werr := raw.Write(func(fd uintptr) bool {
			for n < len(p) {
				m, e := syscall.Write(int(fd), p[n:])
				if m > 0 {
					n += m
				}
				if e == syscall.EINTR {
					continue
				}
				if e != nil {
					if !errors.Is(e, syscall.EAGAIN) {
						err = e
					}
					break
				}
			}
			return true // never wait here
		})
		if err == nil {
			err = werr
		}
		return n, err
	}
}
