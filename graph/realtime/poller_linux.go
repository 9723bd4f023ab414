//go:build linux

package realtime

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches the sockets of a transport's WebSocket connections for
// something to read, with one epoll instance and one goroutine, so that
// an idle connection has no goroutine (and no read buffer) of its own:
// a readiness event hands the connection to a goroutine of its own
// (wsConn.drain), which reads what has come without waiting and hands it
// back (EPOLLONESHOT: one event, then nothing until re-armed). The
// connection's messages so are read and handled in order, one drain at a
// time. The goroutine starts with the first connection and stop ends it.
type poller struct {
	mu      sync.Mutex
	epfd    int // valid while started && !stopped
	wakefd  int // an eventfd: written by stop
	started bool
	stopped bool
	done    chan struct{} // closed when the loop has returned
	// conns holds the watched connections by file descriptor (a socket's
	// number is small and dense): the event carries the number only.
	conns []*wsConn
}

// watchEvents: readable, or the peer gone; one event per arming.
const watchEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// add watches c's socket, starting the loop if it is the first; false
// (c is then read by a goroutine of its own) if the poller has stopped
// or epoll refused the socket.
func (p *poller) add(c *wsConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || !p.start() {
		return false
	}
	fd := c.fd
	ev := unix.EpollEvent{Events: watchEvents, Fd: int32(fd)}
	for len(p.conns) <= fd {
		p.conns = append(p.conns, nil)
	}
	p.conns[fd] = c
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.conns[fd] = nil
		return false
	}
	return true
}

// start creates the epoll instance and starts the loop, once; p.mu must
// be held.
func (p *poller) start() bool {
	if p.started {
		return true
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return false
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return false
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return false
	}
	p.epfd, p.wakefd, p.started, p.done = epfd, wakefd, true, make(chan struct{})
	go p.loop()
	return true
}

// errStopped: the poller has stopped; the connection must end.
var errStopped = errors.New("websocket poller stopped")

// arm watches c's socket again after a drain.
func (p *poller) arm(c *wsConn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errStopped
	}
	ev := unix.EpollEvent{Events: watchEvents, Fd: int32(c.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		return fmt.Errorf("re-arm the socket's readiness: %w", err)
	}
	return nil
}

// remove stops watching c's socket; called before the socket is closed,
// so that its number, once reused, is not watched for c.
func (p *poller) remove(c *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.fd < len(p.conns) && p.conns[c.fd] == c {
		p.conns[c.fd] = nil
	}
	if p.started && !p.stopped {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
}

// loop hands each connection with something to read to a drain, until
// stop wakes it.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	ready := make([]*wsConn, 0, len(events))
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // only a bad epfd: not ours any more
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == p.wakefd {
				p.mu.Unlock()
				return
			}
			if fd < len(p.conns) && p.conns[fd] != nil {
				ready = append(ready, p.conns[fd])
			}
		}
		p.mu.Unlock()
		for i, c := range ready {
			c.readable()
			ready[i] = nil
		}
		ready = ready[:0]
	}
}

// stop ends the loop and waits for it; no socket is watched afterwards
// (arm fails, and the connection ends).
func (p *poller) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	started := p.started
	p.mu.Unlock()
	if !started {
		return
	}
	_, _ = unix.Write(p.wakefd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = unix.Close(p.epfd)
	_ = unix.Close(p.wakefd)
	clear(p.conns)
	p.conns = nil
}

// running reports whether the loop runs (for tests).
func (p *poller) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started && !p.stopped
}

// socketFD returns the file descriptor of a socket the poller can watch,
// and false for a connection without one (TLS, a wrapped connection).
func socketFD(raw syscall.RawConn) (int, bool) {
	fd := -1
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// readNow reads what the socket holds into p without waiting: 0 and nil
// when it holds nothing, io.EOF once the peer has closed its side.
func readNow(raw syscall.RawConn, p []byte) (n int, err error) {
	rerr := raw.Read(func(fd uintptr) bool {
		for {
			n, err = unix.Read(int(fd), p)
			if err != unix.EINTR {
				break
			}
		}
		return true // never wait here
	})
	switch {
	case rerr != nil:
		return 0, rerr
	case err == unix.EAGAIN:
		return 0, nil
	case err != nil:
		return 0, err
	case n <= 0:
		return 0, errPeerClosed
	}
	return n, nil
}

var errPeerClosed = errors.New("websocket: the peer closed its side")
