// Package connlimit bounds the TCP connections a server holds: in all, so
// that it keeps file descriptors for its database and files below the
// process's open-file limit, and per client address, so that one client
// cannot take them all.
package connlimit

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config sets a Listener's bounds; zero turns one off.
type Config struct {
	// Max bounds the open connections. At it, Accept calls Full (once
	// each time it is reached), then waits for a connection to close: new
	// clients wait in the kernel's backlog instead of costing a file
	// descriptor.
	Max int
	// Full, if set, is called when Max connections are open, before Accept
	// waits: the server closes its idle keep-alive connections, so that a
	// client holding many idle ones cannot keep others out.
	Full func()
	// MaxPerAddress bounds the open connections of one client address
	// (its IP; an IPv6 address by its /64). One over it is answered with
	// an HTTP 429 and closed at once.
	MaxPerAddress int
	Log           *slog.Logger
}

// Listener is a net.Listener that holds to a Config. Only TCP connections
// are counted; others pass through.
type Listener struct {
	net.Listener
	c Config

	mu         sync.Mutex
	open       int
	perAddress map[string]int
	freed      chan struct{} // closed (and replaced) when a connection closes while waiting
	waiting    bool          // Accept waits on freed
	closed     chan struct{}
	closeOnce  sync.Once

	refused, full atomic.Int64
	loggedAt      atomic.Int64 // Unix nanoseconds of the last refusal logged
}

// New bounds the connections ln accepts as c says.
func New(ln net.Listener, c Config) *Listener {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, c: c, perAddress: map[string]int{}, freed: make(chan struct{}), closed: make(chan struct{})}
}

// Accept waits until fewer than Max connections are open, then accepts
// the next one that its address may open.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		if err := l.reserve(); err != nil {
			return nil, err
		}
		c, err := l.Listener.Accept()
		if err != nil {
			l.release("")
			return nil, err
		}
		tc, ok := c.(*net.TCPConn)
		if !ok {
			l.release("")
			return c, nil
		}
		key := Address(c.RemoteAddr())
		if !l.admit(key) {
			l.release("")
			l.refuse(tc, key)
			continue
		}
		return &conn{TCPConn: tc, l: l, key: key}, nil
	}
}

// Close stops the listener; an Accept waiting for a free place returns.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Open reports the connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused reports how many connections were refused for their address.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Full reports how many times Max connections were open and Accept
// had to wait.
func (l *Listener) Full() int64 { return l.full.Load() }

// reserve takes a place for the next connection, waiting while Max are
// open.
func (l *Listener) reserve() error {
	shed := false
	for {
		l.mu.Lock()
		if l.c.Max <= 0 || l.open < l.c.Max {
			l.open++
			l.mu.Unlock()
			return nil
		}
		l.waiting = true
		freed := l.freed
		l.mu.Unlock()
		if !shed {
			shed = true
			l.full.Add(1)
			l.logSome("connection limit reached: idle connections closed, new ones wait", "limit", l.c.Max)
			if l.c.Full != nil {
				l.c.Full()
			}
			continue
		}
		select {
		case <-freed:
		case <-l.closed:
			return net.ErrClosed
		}
	}
}

// admit counts a connection from key, unless key holds MaxPerAddress.
func (l *Listener) admit(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c.MaxPerAddress > 0 && l.perAddress[key] >= l.c.MaxPerAddress {
		return false
	}
	l.perAddress[key]++
	return true
}

// release gives back a connection's place and, if key is set, its
// address's.
func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if key != "" {
		if l.perAddress[key] <= 1 {
			delete(l.perAddress, key)
		} else {
			l.perAddress[key]--
		}
	}
	if l.waiting {
		l.waiting = false
		close(l.freed)
		l.freed = make(chan struct{})
	}
}

// refuse answers a connection over its address's limit with a 429 that
// says so, best effort (the client may not have sent its request yet,
// and the answer is lost if it has and the close resets the connection),
// and closes it. The write never waits: a new socket's buffer is empty.
func (l *Listener) refuse(c *net.TCPConn, key string) {
	l.refused.Add(1)
	l.logSome("connection refused: too many from one address", "address", key, "limit", l.c.MaxPerAddress)
	body := fmt.Sprintf(`{"errors":[{"message":"too many connections from your address: at most %d at once","extensions":{"code":"RATE_LIMITED","limit":%d}}]}`,
		l.c.MaxPerAddress, l.c.MaxPerAddress)
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = c.CloseWrite()
	_ = c.Close()
}

// logSome logs at most one line a second: a client that opens
// connections as fast as it can must not flood the log.
func (l *Listener) logSome(msg string, args ...any) {
	now, last := time.Now().UnixNano(), l.loggedAt.Load()
	if now-last < int64(time.Second) || !l.loggedAt.CompareAndSwap(last, now) {
		return
	}
	l.c.Log.Warn(msg, append(args, "refused_total", l.refused.Load(), "full_total", l.full.Load())...)
}

// conn gives back its places when it closes. It embeds the TCP
// connection, so net/http and the WebSocket writer still find its
// optional methods (SyscallConn, CloseWrite, ReadFrom).
type conn struct {
	*net.TCPConn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.TCPConn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// Address is what connections count under: the remote IP, an IPv6 one by
// its /64 prefix (the block one subscriber usually holds), as
// graph.ClientAddress counts requests.
func Address(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// OpenFileLimit reads the process's open-file limit (RLIMIT_NOFILE):
// the soft limit, which Go raises to the hard one when a program starts
// (package os), and the hard one.
func OpenFileLimit() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	return r.Cur, r.Max, nil
}

// Reserve is how many file descriptors MaxForLimit keeps from client
// connections: for the database (up to 20 PostgreSQL connections; SQLite
// opens three files for each of its 9), the listeners, the profiler and
// the process's own.
const Reserve = 128

// MaxForLimit is the connection bound that leaves Reserve descriptors
// (half of them, under a low limit) of an open-file limit of n.
func MaxForLimit(n uint64) int {
	reserve := min(uint64(Reserve), n/2)
	return int(min(n-reserve, 1<<30))
}
