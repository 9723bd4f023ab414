package connlimit

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func listen(t *testing.T, c Config) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, c)
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type accepted struct {
	c   net.Conn
	err error
}

func acceptAsync(l *Listener) chan accepted {
	ch := make(chan accepted, 1)
	go func() {
		c, err := l.Accept()
		ch <- accepted{c, err}
	}()
	return ch
}

// At Max open connections Accept calls Full once and waits; a connection
// closing lets the next in; Close ends a wait with net.ErrClosed.
func TestAcceptWaitsAtMax(t *testing.T) {
	full := make(chan struct{}, 4)
	l := listen(t, Config{Max: 1, Full: func() { full <- struct{}{} }})
	dial(t, l)
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	dial(t, l)
	next := acceptAsync(l)
	select {
	case <-full:
	case <-time.After(10 * time.Second):
		t.Fatal("Full was not called at the limit")
	}
	select {
	case a := <-next:
		t.Fatalf("accepted %v %v over the limit", a.c, a.err)
	default:
	}
	first.Close()
	first.Close() // gives its place back once
	a := <-next
	if a.err != nil {
		t.Fatal(a.err)
	}
	if n := l.Open(); n != 1 {
		t.Errorf("%d open, want 1", n)
	}
	next = acceptAsync(l)
	<-full
	l.Close()
	if a := <-next; !errors.Is(a.err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", a.err)
	}
	a.c.Close()
	if n := l.Open(); n != 0 {
		t.Errorf("%d open after every connection closed, want 0", n)
	}
}

// A connection over its address's limit is answered 429 and closed; the
// accepted ones keep what net/http and the WebSocket writer look for.
func TestRefusedOverAddressLimit(t *testing.T) {
	l := listen(t, Config{MaxPerAddress: 1})
	dial(t, l)
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := first.(syscall.Conn); !ok {
		t.Error("an accepted connection has no SyscallConn: the WebSocket writer could not write without waiting")
	}
	if _, ok := first.(interface{ CloseWrite() error }); !ok {
		t.Error("an accepted connection has no CloseWrite: net/http could not close it gracefully")
	}
	over := dial(t, l)
	next := acceptAsync(l) // refuses over, then waits
	_ = over.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, _ := over.Read(buf)
	if got := string(buf[:n]); len(got) < 12 || got[:12] != "HTTP/1.1 429" {
		t.Errorf("refused connection read %q, want a 429", got)
	}
	if l.Refused() != 1 {
		t.Errorf("refused %d, want 1", l.Refused())
	}
	l.Close()
	<-next
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Address(a); got != tc.want {
			t.Errorf("Address(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestMaxForLimit(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want int
	}{{1024, 896}, {200, 100}, {0, 0}, {1 << 62, 1 << 30}} {
		if got := MaxForLimit(tc.n); got != tc.want {
			t.Errorf("MaxForLimit(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
