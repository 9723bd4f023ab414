package realtime

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"github.com/jonboulle/clockwork"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Clients that never read: tests that a stalled write holds up nothing
// but its own connection, and is cut off.

// streamExec is a GraphExecutor whose every operation is a subscription
// yielding results of about variables.size bytes, variables.count of
// them (none given: until its context ends).
type streamExec struct{}

func (streamExec) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	return &graphql.OperationContext{RawQuery: p.Query, Variables: p.Variables,
		Operation: &ast.OperationDefinition{Operation: ast.Subscription}}, nil
}

func (streamExec) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	number := func(name string) int {
		v, _ := rc.Variables[name].(json.Number)
		n, _ := v.Int64()
		return int(n)
	}
	size, count := number("size"), number("count")
	data := json.RawMessage(`"` + strings.Repeat("x", size) + `"`)
	sent := 0
	return func(ctx context.Context) *graphql.Response {
		if ctx.Err() != nil || count > 0 && sent == count {
			return nil
		}
		sent++
		return &graphql.Response{Data: data}
	}, ctx
}

func (streamExec) DispatchError(_ context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

// socketKind is how the server's side of a connection is reached.
type socketKind string

const (
	rawSocket    socketKind = "TCP"     // a *net.TCPConn: the writers write without waiting
	hiddenSocket socketKind = "Wrapped" // a wrapped listener's conn, with no raw file descriptor
	tlsSocket    socketKind = "TLS"     // TLS (HTTP/1.1), with no raw file descriptor either
)

var socketKinds = []socketKind{rawSocket, hiddenSocket, tlsSocket}

// smallListener accepts connections with a small send buffer, so that a
// peer that stops reading stalls a write after a few KiB, and counts the
// writes in progress on them.
type smallListener struct {
	net.Listener
	hide     bool
	inflight atomic.Int64
}

func (l *smallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tcp := c.(*net.TCPConn)
	_ = tcp.SetWriteBuffer(4096)
	w := &watchedConn{TCPConn: tcp, l: l}
	if l.hide {
		return struct{ net.Conn }{w}, nil // hides SyscallConn
	}
	return w, nil
}

// watchedConn counts its writes in progress; it still has SyscallConn.
type watchedConn struct {
	*net.TCPConn
	l *smallListener
}

func (c *watchedConn) Write(p []byte) (int, error) {
	c.l.inflight.Add(1)
	defer c.l.inflight.Add(-1)
	return c.TCPConn.Write(p)
}

// stallServer serves h over a smallListener of the kind asked for.
func stallServer(t *testing.T, kind socketKind, h http.Handler, http2 bool) (*httptest.Server, *smallListener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l := &smallListener{Listener: srv.Listener, hide: kind == hiddenSocket}
	srv.Listener = l
	if kind == tlsSocket {
		srv.EnableHTTP2 = http2
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, l
}

// dialSmall dials addr with a small receive buffer.
func dialSmall(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	return c, nil
}

// wsServer serves ws (with streamExec) over a smallListener of kind.
func wsServer(t *testing.T, kind socketKind, ws *WebSocket) (dial func(t *testing.T) *wsClient, l *smallListener) {
	t.Helper()
	srv, l := stallServer(t, kind, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ws.Do(w, r, streamExec{}) }), false)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	return func(t *testing.T) *wsClient {
		t.Helper()
		d := websocket.Dialer{Subprotocols: []string{ProtocolTransportWS}, HandshakeTimeout: 10 * time.Second, NetDialContext: dialSmall}
		if kind == tlsSocket {
			d.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
		}
		c, _, err := d.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		wc := &wsClient{t: t, c: c}
		wc.send(wsMessage{Type: "connection_init"})
		if m := wc.next(); m.Type != "connection_ack" {
			t.Fatalf("got %s, want connection_ack", m.Type)
		}
		return wc
	}, l
}

func stallTransport(init InitFunc) *WebSocket {
	if init == nil {
		init = func(ctx context.Context, _ map[string]any) (context.Context, error) { return ctx, nil }
	}
	ws := NewWebSocket(init, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	ws.KeepAlive, ws.InitTimeout = 0, 0
	return ws
}

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func (c *wsClient) send(m wsMessage) {
	c.t.Helper()
	if err := c.c.WriteJSON(m); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) next() wsMessage {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m wsMessage
	if err := c.c.ReadJSON(&m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// subscribe starts a subscription of count results of size bytes (count
// 0: endless).
func (c *wsClient) subscribe(id string, size, count int) {
	c.t.Helper()
	vars := fmt.Sprintf(`{"size":%d`, size)
	if count > 0 {
		vars += fmt.Sprintf(`,"count":%d`, count)
	}
	c.send(wsMessage{ID: id, Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { s }","variables":` + vars + `}}`)})
}

// stall makes the server's writes to c stall: an endless subscription
// of results larger than the socket buffers, which c never reads.
func (c *wsClient) stall() { c.subscribe("stall", 32<<10, 0) }

// waitFor waits, a bounded time, for cond: what it waits for is real I/O.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCloseDoesNotWaitForAStalledWrite: closing a connection whose peer
// stopped reading, with a write to it stalled, does not wait for the
// write timeout (a minute here): shutdown, a sign-out (the 4403 close),
// and a sign-out of a connection whose queue is full (closed at once)
// end the connection and its goroutines within the second a close may
// take, whatever the socket.
func TestCloseDoesNotWaitForAStalledWrite(t *testing.T) {
	const within = 5 * time.Second // the write timeout is a minute
	for _, kind := range socketKinds {
		for _, how := range []string{"Shutdown", "SignOut", "SignOutQueueFull"} {
			t.Run(string(kind)+"/"+how, func(t *testing.T) {
				t.Parallel()
				signOut := make(chan context.CancelFunc, 1)
				ws := stallTransport(func(ctx context.Context, _ map[string]any) (context.Context, error) {
					ctx, cancel := context.WithCancel(ctx)
					signOut <- cancel
					return ctx, nil
				})
				ws.WriteTimeout = time.Minute
				if how == "SignOutQueueFull" {
					ws.SendQueue, ws.MaxQueue = 4, 2
				}
				dial, l := wsServer(t, kind, ws)
				c := dial(t)
				defer ws.Shutdown(context.Background())
				c.stall()
				waitFor(t, "a stalled write", within, func() bool { return l.inflight.Load() > 0 })

				start := time.Now()
				switch how {
				case "Shutdown":
					done := make(chan struct{})
					go func() {
						defer close(done)
						ws.Shutdown(context.Background())
					}()
					select {
					case <-done:
					case <-time.After(within):
						t.Fatalf("Shutdown has not returned after %v", within)
					}
					if n := ws.Connections(); n != 0 {
						t.Fatalf("%d connections open after Shutdown", n)
					}
				default:
					(<-signOut)()
					waitFor(t, "the connection to close", within, func() bool { return ws.Connections() == 0 })
				}
				waitFor(t, "the stalled write to end", within, func() bool { return l.inflight.Load() == 0 })
				t.Logf("closed in %v", time.Since(start).Round(time.Millisecond))
			})
		}
	}
}

// TestStalledClientsDoNotDelayOthers: as many clients stalled as the
// writers have workers, and two more, do not keep a healthy client from
// its results: it gets them all while the stalled ones' writes still
// wait, and these are then cut off by the write timeout. Over every kind
// of socket: one without a raw file descriptor (TLS, a wrapped listener)
// must not hold a worker in a write that waits.
func TestStalledClientsDoNotDelayOthers(t *testing.T) {
	for _, kind := range socketKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ws := stallTransport(nil)
			// A stalled write is cut off between half the write timeout
			// and all of it after the deadline was last set: long enough
			// that the healthy client's few round trips come first on a
			// busy machine.
			ws.WriteTimeout = 3 * time.Second
			ws.writers.max = 2
			dial, l := wsServer(t, kind, ws)
			healthy := dial(t)
			stalled := make([]*wsClient, ws.writers.max+2)
			for i := range stalled {
				stalled[i] = dial(t)
			}
			for _, c := range stalled {
				c.stall()
			}
			waitFor(t, "the stalled clients' writes to wait", 10*time.Second, func() bool { return l.inflight.Load() >= int64(ws.writers.max) })

			healthy.subscribe("1", 64, 3)
			for i := range 3 {
				if m := healthy.next(); m.Type != "next" {
					t.Fatalf("result %d: got %s, want next", i, m.Type)
				}
			}
			if m := healthy.next(); m.Type != "complete" {
				t.Fatalf("got %s, want complete", m.Type)
			}
			if n := ws.CutOff(); n != 0 {
				t.Fatalf("the healthy client got its results only after %d stalled clients were cut off", n)
			}
			waitFor(t, "the stalled clients to be cut off", 10*time.Second, func() bool {
				return ws.CutOff() == int64(len(stalled)) && ws.Connections() == 1
			})
			// The healthy one still works.
			healthy.subscribe("2", 64, 1)
			if m := healthy.next(); m.Type != "next" {
				t.Fatalf("after the cut-offs: got %s, want next", m.Type)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws.Shutdown(ctx)
			if n := ws.Connections(); n != 0 {
				t.Fatalf("%d connections open after Shutdown", n)
			}
		})
	}
}

// TestSSEStreamOfANonReaderIsCutOff: an event stream whose client reads
// nothing ends once a write takes longer than the write timeout, and
// gives back its place (its stream, its count against the address's
// limit), over HTTP/1.1 (plain, wrapped or TLS) and HTTP/2. (Over TLS
// with HTTP/1.1 net/http closes the connection after the failed write
// with a close_notify alert that waits up to 5 seconds for the peer
// that does not read: the stream ends that much later.)
func TestSSEStreamOfANonReaderIsCutOff(t *testing.T) {
	type variant struct {
		name  string
		kind  socketKind
		http2 bool
	}
	variants := []variant{{"TCP", rawSocket, false}, {"Wrapped", hiddenSocket, false}, {"TLS", tlsSocket, false}, {"HTTP2", tlsSocket, true}}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			sse := NewSSE(clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
			sse.WriteTimeout, sse.KeepAlive, sse.MaxPerAddress = 200*time.Millisecond, 0, 10
			srv, _ := stallServer(t, v.kind, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sse.Do(w, r, streamExec{})
			}), v.http2)
			defer sse.Shutdown(context.Background())
			body := `{"query":"subscription { s }","variables":{"size":32768}}`
			if v.http2 {
				req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "text/event-stream")
				resp, err := srv.Client().Do(req)
				if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
					t.Fatalf("stream: %v %v", resp, err)
				}
				defer resp.Body.Close() // never read
			} else {
				conn, err := dialSmall(context.Background(), "tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				if v.kind == tlsSocket {
					cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
					cfg.ServerName = "example.com" // httptest's certificate
					conn = tls.Client(conn, cfg)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: bullpen\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("stream: %v %v", resp, err)
				}
				// Read no more: the next results fill the socket.
			}
			waitFor(t, "the stream to be cut off", 10*time.Second, func() bool {
				return sse.streams.len() == 0 && sse.StreamsOf("127.0.0.1") == 0
			})
		})
	}
}
