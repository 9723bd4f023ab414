package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"github.com/jonboulle/clockwork"
)

// Subprotocols.
const (
	ProtocolTransportWS = "graphql-transport-ws" // graphql-ws library
	ProtocolLegacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

// Close codes of graphql-transport-ws (also used for the legacy protocol).
const (
	CloseInvalidMessage      = 4400
	CloseUnauthorized        = 4401
	CloseForbidden           = 4403
	CloseSubprotocol         = 4406
	CloseInitTimeout         = 4408
	CloseSubscriberExists    = 4409
	CloseTooManyInitRequests = 4429
	// CloseTooManyConnections refuses a connection over a per-user or
	// per-address limit. It is 4429 as graphql-ws's "too many
	// initialisation requests", which its client does not retry at once.
	CloseTooManyConnections = 4429
	CloseGoingAway          = websocket.CloseGoingAway // 1001, on shutdown
)

// Defaults of the per-user and per-address connection limits.
const (
	DefaultMaxPerUser    = 32
	DefaultMaxPerAddress = 256
)

// InitFunc authenticates a connection from its connection_init payload.
// It returns the context operations run in; an error closes the socket
// with 4403. When that context ends before the connection does (say its
// credentials were revoked), the socket is closed with 4403 too.
type InitFunc func(ctx context.Context, payload map[string]any) (context.Context, error)

// UpgradeFunc watches the credentials of an upgrade request: the context
// it returns ends when they are revoked (a signed-out session), and the
// socket is then closed with 4403 if it has not been initialised yet.
// It is called before the upgrade is answered, so no revocation after the
// answer is missed; it returns ctx itself when there is nothing to watch.
type UpgradeFunc func(ctx context.Context) context.Context

// WebSocket is a gqlgen transport for both GraphQL WebSocket protocols.
type WebSocket struct {
	Init InitFunc
	// Upgraded, if set, watches the upgrade request's credentials until
	// connection_init (see UpgradeFunc).
	Upgraded UpgradeFunc
	// InitTimeout closes a connection that sends no connection_init; zero
	// (or less) waits for it forever.
	InitTimeout time.Duration
	// KeepAlive is the interval of server pings (protocol and WebSocket);
	// zero (or less) sends none and so also never times out a silent peer.
	KeepAlive time.Duration
	// WriteTimeout bounds one write; a peer that stalls longer is cut off.
	WriteTimeout time.Duration
	// MaxMessageSize bounds one incoming message (bytes).
	MaxMessageSize int64
	// SendQueue bounds the messages an operation waits behind before it
	// queues another (the transport's own operations wait for room).
	SendQueue int
	// MaxQueue bounds the messages waiting for one connection's writer
	// that a Sharing may queue: past it a subscription it took is dropped
	// with its SLOW_CONSUMER error instead of waiting.
	MaxQueue int
	// MaxOperations bounds the operations one connection runs at once.
	MaxOperations int
	// MaxPerAddress bounds the open connections of one client address
	// (Address), checked at the upgrade; MaxPerUser bounds those of one
	// signed-in user (User), checked at connection_init. A connection
	// over either is closed with 4429; zero (or less) means no limit.
	MaxPerAddress, MaxPerUser int
	// Address names the client of an upgrade request (RemoteAddr's host
	// when nil).
	Address func(r *http.Request) string
	// User names the user a connection's context (as Init returned it)
	// belongs to, "" for an anonymous one; nil counts no users.
	User func(ctx context.Context) string
	// Sharing, if set, is offered every subscription first: what it
	// takes runs without a goroutine of its own, and what it runs shares
	// an execution.
	Sharing Sharing
	// CheckOrigin decides whether a browser page may connect.
	CheckOrigin func(r *http.Request) bool
	Clock       clockwork.Clock
	Log         *slog.Logger

	conns   tracker[*wsConn]
	writers writers
	// perAddress and perUser count open connections by client address
	// and by user.
	perAddress, perUser counts
	refused             atomic.Int64 // connections refused over those limits
	cutOff              atomic.Int64 // connections closed for a write that failed or timed out

	// One goroutine pings every connection each KeepAlive, a sixteenth
	// of them at a time (see pingSlices): a connection has no timer and,
	// while idle, no writer of its own.
	pingTurn    atomic.Uint64 // connections opened, for their turns (firstPing)
	pingMu      sync.Mutex
	pingStarted bool
	pingStopped bool
	pingStop    chan struct{}
	pingDone    chan struct{}

	// poll reads the connections that have a raw socket (see poller);
	// readClock is the time of their pongs and messages (silentSince),
	// real time as a read deadline's was.
	poll      poller
	readClock clockwork.Clock
}

// NewWebSocket returns a transport with sensible defaults.
func NewWebSocket(init InitFunc, clock clockwork.Clock, log *slog.Logger) *WebSocket {
	t := &WebSocket{
		Init: init, InitTimeout: 10 * time.Second, KeepAlive: 15 * time.Second, WriteTimeout: 10 * time.Second,
		MaxMessageSize: 64 << 10, SendQueue: 64, MaxQueue: 1024, MaxOperations: 200, CheckOrigin: SameOriginOrLocalhost(nil),
		Clock: clock, Log: log, readClock: clockwork.NewRealClock(),
	}
	t.writers.clock, t.writers.linger = clock, BulkLinger
	return t
}

// BulkLinger is how long a connection with only leaderboard snapshots to
// send waits for an order's event to share its write (see writers), if
// one was written to it within the last LingerAfterUrgent: well under the
// leaderboard's own period (a second at the soonest), and longer than the
// gap between a busy room's orders. A connection that gets no orders'
// events (a spectator of a room with PRIVATE trades, a quiet room)
// never waits.
const (
	BulkLinger        = 150 * time.Millisecond
	LingerAfterUrgent = time.Second
)

var _ graphql.Transport = (*WebSocket)(nil)

// Supports reports whether r asks for a WebSocket upgrade.
func (t *WebSocket) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// CheckAllowedOrigin reports whether s is an extra origin
// SameOriginOrLocalhost can match: "*", or scheme://host[:port] with scheme
// http or https and nothing after the host but an optional "/".
func CheckAllowedOrigin(s string) error {
	if s == "*" {
		return nil
	}
	const want = "want scheme://host[:port] such as https://game.example.com, or *"
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not an origin: %s", s, want)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.Opaque != "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("%q is not an origin: %s", s, want)
	}
	return nil
}

// SameOriginOrLocalhost allows requests without an Origin header (not a
// browser), pages of the same host, pages served from localhost, and the
// extra origins given (scheme://host[:port], or "*" for any).
func SameOriginOrLocalhost(allowed []string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		switch h := u.Hostname(); h {
		case "localhost", "127.0.0.1", "::1":
			return true
		}
		for _, a := range allowed {
			if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), u.Scheme+"://"+u.Host) {
				return true
			}
		}
		return false
	}
}

// Do upgrades the request and returns: the poller reads the connection
// (one without a raw socket has its own reader goroutine), a writer runs
// only while there is something to send, and net/http's buffers for the
// request are freed.
func (t *WebSocket) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	up := websocket.Upgrader{
		Subprotocols:    []string{ProtocolTransportWS, ProtocolLegacyWS},
		CheckOrigin:     t.CheckOrigin,
		ReadBufferSize:  512, // not 0: that would keep net/http's 4 KB reader
		WriteBufferSize: 512, // only the handshake's answer: the writer frames messages itself
		WriteBufferPool: writeBuffers,
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	// Watched from before the answer: a sign-out that commits once the
	// client has its 101 always finds the socket.
	preInit, endPreInit := context.WithCancel(ctx)
	watched := preInit
	if t.Upgraded != nil {
		watched = t.Upgraded(preInit)
	}
	hj := &hijacker{ResponseWriter: w}
	ws, err := up.Upgrade(hj, r, nil)
	if err != nil {
		endPreInit()
		cancel()
		return // the upgrader has answered with an HTTP error
	}
	c := &wsConn{t: t, raw: hj.conn, exec: exec, log: t.Log, protocol: ws.Subprotocol(),
		ops: map[string]*opEntry{}, closed: make(chan struct{}), endPreInit: endPreInit}
	c.q.start = func(urgent bool) { t.writers.add(c, urgent) }
	hj.conn.timeout = t.WriteTimeout
	c.ctx, c.cancel = ctx, cancel
	if watched != preInit {
		// Ended by itself, not by endPreInit (init done) or the close:
		// the upgrade's credentials were revoked before connection_init.
		context.AfterFunc(watched, func() {
			if preInit.Err() == nil {
				c.closeAfterFlush(CloseForbidden, "Forbidden: session ended")
			}
		})
	}
	if c.protocol == "" {
		c.closeWith(CloseSubprotocol, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
		c.finish()
		return
	}
	addr := t.address(r)
	if !t.perAddress.acquire(addr, t.MaxPerAddress) {
		t.refused.Add(1)
		t.Log.Info("websocket refused: too many connections", "address", addr, "limit", t.MaxPerAddress)
		c.closeWith(CloseTooManyConnections, fmt.Sprintf("Too many connections: at most %d per address", t.MaxPerAddress))
		c.finish()
		return
	}
	if t.MaxPerAddress > 0 {
		c.addressKey = addr
	}
	c.nextPing = t.firstPing()
	if !t.conns.add(c) {
		c.closeWith(CloseGoingAway, "server shutting down")
		c.finish()
		return
	}
	t.startPings()
	c.startInitTimer()
	if c.watch() {
		if t.poll.add(c) {
			if c.ctx.Err() != nil {
				c.endPolled() // closed before it was armed
			}
			return // gorilla's Conn, its read buffer with it, is dropped
		}
		if !c.unwatch() {
			return // closed meanwhile, and finishing
		}
	}
	go c.serve(ws)
}

// startInitTimer closes the connection if no connection_init comes
// within InitTimeout; handle stops it when one does.
func (c *wsConn) startInitTimer() {
	if c.t.InitTimeout <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initTimer = c.t.Clock.AfterFunc(c.t.InitTimeout, func() {
		c.mu.Lock()
		ok := c.initialized
		c.mu.Unlock()
		if !ok {
			c.closeWith(CloseInitTimeout, "Connection initialisation timeout")
		}
	})
}

// stopInitTimer stops the init timer, if it runs.
func (c *wsConn) stopInitTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.initTimer != nil {
		c.initTimer.Stop()
		c.initTimer = nil
	}
}

func (t *WebSocket) address(r *http.Request) string {
	if t.Address != nil {
		return t.Address(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Refused reports how many connections the per-user and per-address
// limits have refused.
func (t *WebSocket) Refused() int64 { return t.refused.Load() }

// CutOff reports how many connections were closed because a write to
// them failed or took longer than WriteTimeout (a peer that stopped
// reading).
func (t *WebSocket) CutOff() int64 { return t.cutOff.Load() }

// ConnectionsOf reports the open connections counted for a client
// address and for a user (as Address and User name them), for tests.
func (t *WebSocket) ConnectionsOf(address, user string) (int, int) {
	return t.perAddress.get(address), t.perUser.get(user)
}

// releaseLimits gives back what the connection counted against the
// per-address and per-user limits. finish calls it once the reader, which
// alone sets userKey, has stopped.
func (c *wsConn) releaseLimits() {
	if c.addressKey != "" {
		c.t.perAddress.release(c.addressKey)
		c.addressKey = ""
	}
	if c.userKey != "" {
		c.t.perUser.release(c.userKey)
		c.userKey = ""
	}
}

// Shutdown completes every subscription, closes every socket with 1001 and
// waits (until ctx is done) for the connections to finish; it also stops
// the keep-alive goroutine and the poller.
func (t *WebSocket) Shutdown(ctx context.Context) {
	t.conns.stopAll(ctx)
	t.stopPings()
	t.writers.stop()
	t.poll.stop()
}

// pingSlices is how many parts the keep-alive interval is cut into: the
// keep-alive goroutine wakes once a part and pings the connections due,
// so the pings (and their pongs) never come as one burst as large as the
// server's sockets, which held orders' events up (BENCHMARKS.md).
const pingSlices = 16

// firstPing is when a new connection is first pinged: one KeepAlive from
// now, less the part of it given by the connection's turn among
// pingSlices, so that connections opened together are pinged apart.
func (t *WebSocket) firstPing() time.Time {
	slice := t.KeepAlive / pingSlices
	turn := time.Duration(t.pingTurn.Add(1) % pingSlices)
	return t.Clock.Now().Add(t.KeepAlive - turn*slice)
}

// startPings starts the keep-alive goroutine once, unless keep-alive is off
// or the transport has shut down.
func (t *WebSocket) startPings() {
	if t.KeepAlive <= 0 {
		return
	}
	t.pingMu.Lock()
	defer t.pingMu.Unlock()
	if t.pingStarted || t.pingStopped {
		return
	}
	t.pingStarted = true
	t.pingStop, t.pingDone = make(chan struct{}), make(chan struct{})
	ticker := t.Clock.NewTicker(max(t.KeepAlive/pingSlices, time.Millisecond))
	go func() {
		defer close(t.pingDone)
		defer ticker.Stop()
		for {
			select {
			case <-t.pingStop:
				return
			case <-ticker.Chan():
				t.pingDue(t.Clock.Now())
			}
		}
	}()
}

// pingDue pings the connections whose turn has come by now, and sets
// their next one KeepAlive later (or from now, if the clock jumped past
// it). Only the keep-alive goroutine moves a connection's nextPing. It
// also cuts off the polled connections silent for longer than pongWait
// (readClock's time), which a read deadline did.
func (t *WebSocket) pingDue(now time.Time) {
	since := t.readClock.Now().Add(-t.pongWait()).UnixNano()
	var silent []*wsConn
	due := t.conns.filter(func(c *wsConn) bool {
		if c.silent(since) {
			silent = append(silent, c) // cut off, not pinged
			return false
		}
		if c.cutSilent() {
			return false // cut off by an earlier tick, closing
		}
		return !c.nextPing.After(now)
	})
	for _, c := range silent {
		c.cutOffSilent()
	}
	for _, c := range due {
		if c.nextPing = c.nextPing.Add(t.KeepAlive); !c.nextPing.After(now) {
			c.nextPing = now.Add(t.KeepAlive)
		}
		c.keepAlive()
	}
}

// stopPings ends the keep-alive goroutine and waits for it; none starts
// afterwards.
func (t *WebSocket) stopPings() {
	t.pingMu.Lock()
	started, stopped := t.pingStarted, t.pingStopped
	t.pingStopped = true
	t.pingMu.Unlock()
	if started && !stopped {
		close(t.pingStop)
		<-t.pingDone
	}
}

// pinging reports whether the keep-alive goroutine runs (for tests).
func (t *WebSocket) pinging() bool {
	t.pingMu.Lock()
	defer t.pingMu.Unlock()
	return t.pingStarted && !t.pingStopped
}

// Connections reports how many sockets are open.
func (t *WebSocket) Connections() int { return t.conns.len() }

func (c *wsConn) stop()                 { c.goAway() }
func (c *wsConn) done() <-chan struct{} { return c.closed }

type wsConn struct {
	t        *WebSocket
	raw      *batchConn // the socket
	exec     graphql.GraphExecutor
	log      *slog.Logger
	protocol string

	// addressKey and userKey are what the connection counts against the
	// per-address and per-user limits ("" for none). The reader sets
	// userKey; finish releases both after it has stopped.
	addressKey, userKey string

	ctx    context.Context // operations run under it
	cancel context.CancelFunc
	// endPreInit stops watching the upgrade's credentials (Upgraded) once
	// connection_init has been answered: from then on what Init returned
	// decides.
	endPreInit context.CancelFunc
	q          sendQueue
	// nextPing: when the keep-alive goroutine pings next (see pingDue);
	// set before the connection is tracked, then moved by that goroutine
	// only.
	nextPing time.Time
	// resultAt: when the writers last wrote an operation's result that
	// was not bulk (Unix nanoseconds of the transport's clock); see
	// BulkLinger.
	resultAt atomic.Int64
	wg       sync.WaitGroup // operations and the writer

	// closing is set when a close frame is queued behind messages that
	// must go out first.
	closing atomic.Bool

	mu          sync.Mutex
	initialized bool
	initCtx     context.Context
	ops         map[string]*opEntry

	closeOnce  sync.Once
	goAwayOnce sync.Once
	closed     chan struct{}
	initTimer  clockwork.Timer // until connection_init; guarded by mu

	// A polled connection (see poller): its socket's descriptor; who
	// reads it (pollOff...); the start of a frame that has come in part
	// (nil when none, so an idle connection holds no buffer); and when
	// the peer last sent a message or a pong (readClock's Unix
	// nanoseconds, 0 when not polled). Only the drain that has the
	// connection touches parser and pending.
	fd      int
	rawConn syscall.RawConn
	rstate  atomic.Int32
	parser  frameParser
	pending *[]byte
	heardAt atomic.Int64
}

// opEntry is a running operation; stop ends it.
type opEntry struct {
	mu      sync.Mutex
	stopped bool
	cancel  func()
}

// stop ends the operation, now or as soon as it has a cancel function.
func (e *opEntry) stop() {
	e.mu.Lock()
	e.stopped = true
	f := e.cancel
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// setCancel gives the entry what stops it (at once if stopped already).
func (e *opEntry) setCancel(f func()) {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		f()
		return
	}
	e.cancel = f
	e.mu.Unlock()
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (c *wsConn) legacy() bool { return c.protocol == ProtocolLegacyWS }

// serve reads messages with gorilla until the connection ends: the reader
// of a connection the poller cannot watch.
func (c *wsConn) serve(ws *websocket.Conn) {
	defer c.finish()
	ws.SetReadLimit(c.t.MaxMessageSize)
	// A peer must answer our pings in time; without pings, silence is fine.
	readDeadline := func() time.Time { return time.Time{} }
	if c.t.KeepAlive > 0 {
		pongWait := 2*c.t.KeepAlive + c.t.WriteTimeout
		readDeadline = func() time.Time { return time.Now().Add(pongWait) }
	}
	_ = ws.SetReadDeadline(readDeadline())
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(readDeadline()) })
	// The peer's close frame is answered by closeWith: the one close frame
	// this side sends, written last.
	ws.SetCloseHandler(func(code int, _ string) error {
		c.closeWith(code, "") // echoes the peer's code, as gorilla's own handler does
		return nil
	})

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeWith(websocket.CloseMessageTooBig, "message too big")
			}
			return
		}
		if c.ctx.Err() != nil {
			return // closing: drop what arrives
		}
		_ = ws.SetReadDeadline(readDeadline())
		if !c.onMessage(data) {
			return
		}
	}
}

// onMessage decodes and handles one message in a goroutine of its own
// (the reader waits for it): decoding, authenticating and starting
// operations grow a stack, and the reader's, kept for the connection's
// whole life, then stays small. Messages are few (init, subscribe,
// complete, ping), so the goroutine costs nothing that shows.
func (c *wsConn) onMessage(data []byte) bool {
	ok := make(chan bool, 1)
	go func() {
		ok <- c.handle(data)
	}()
	return <-ok
}

// frameState is what deciding a frame needs to know of its connection.
type frameState struct {
	initialized bool // a connection_init has arrived
	acked       bool // ... and was accepted
	// op reports whether operation id runs, and how many run.
	op     func(id string) (running bool, n int)
	maxOps int
}

// frameKind is what a connection does with one incoming frame.
type frameKind int

const (
	frameClose  frameKind = iota // close the socket with code and reason
	frameInit                    // authenticate with payload
	frameReply                   // send reply
	frameIgnore                  // nothing
	frameStart                   // start operation id with params
	frameStop                    // stop operation id (if it runs)
)

// frameAction is the decision on one incoming frame.
type frameAction struct {
	kind    frameKind
	code    int    // frameClose
	reason  string // frameClose
	id      string // frameStart, frameStop
	reply   wsMessage
	payload map[string]any     // frameInit: the connection_init payload (nil if none)
	params  *graphql.RawParams // frameStart
}

func closeFrame(code int, reason string) frameAction {
	return frameAction{kind: frameClose, code: code, reason: reason}
}

var invalidFrame = closeFrame(CloseInvalidMessage, "Invalid message received")

// decideFrame decides what the frame data asks of a connection that speaks
// protocol and is in state st. It does no I/O and changes nothing; handle
// carries the decision out. Refusals follow graphql-transport-ws (the
// legacy protocol uses the same close codes): 4400 for a frame that is not
// a message of the protocol, 4401 for an operation before an accepted
// connection_init, 4409 for an id in use, 4429 for a second
// connection_init.
func decideFrame(protocol string, data []byte, st frameState) frameAction {
	legacy := protocol == ProtocolLegacyWS
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
		return invalidFrame
	}
	switch m.Type {
	case "connection_init":
		if st.initialized {
			return closeFrame(CloseTooManyInitRequests, "Too many initialisation requests")
		}
		var payload map[string]any
		if len(m.Payload) > 0 && string(m.Payload) != "null" {
			if err := json.Unmarshal(m.Payload, &payload); err != nil {
				return closeFrame(CloseInvalidMessage, "Invalid message received: connection_init payload must be an object")
			}
		}
		return frameAction{kind: frameInit, payload: payload}
	case "ping":
		if legacy {
			return invalidFrame
		}
		return frameAction{kind: frameReply, reply: wsMessage{Type: "pong", Payload: m.Payload}}
	case "pong":
		if legacy {
			return invalidFrame
		}
		return frameAction{kind: frameIgnore}
	case "subscribe", "start":
		if (m.Type == "subscribe") == legacy || m.ID == "" {
			return invalidFrame
		}
		if !st.initialized || !st.acked {
			return closeFrame(CloseUnauthorized, "Unauthorized")
		}
		dup, n := st.op(m.ID)
		if dup {
			return closeFrame(CloseSubscriberExists, fmt.Sprintf("Subscriber for %s already exists", m.ID))
		}
		if n >= st.maxOps {
			errs := []map[string]any{{"message": fmt.Sprintf("at most %d operations may run on one connection", st.maxOps),
				"extensions": map[string]any{"code": "RATE_LIMITED"}}}
			if legacy {
				return frameAction{kind: frameReply, reply: wsMessage{ID: m.ID, Type: "error", Payload: mustJSON(errs[0])}}
			}
			return frameAction{kind: frameReply, reply: wsMessage{ID: m.ID, Type: "error", Payload: mustJSON(errs)}}
		}
		var params graphql.RawParams
		dec := json.NewDecoder(bytes.NewReader(m.Payload))
		dec.UseNumber() // keep integers exact for gqlgen's scalars
		if err := dec.Decode(&params); err != nil || params.Query == "" {
			return invalidFrame
		}
		return frameAction{kind: frameStart, id: m.ID, params: &params}
	case "complete", "stop":
		if (m.Type == "complete") == legacy {
			return invalidFrame
		}
		return frameAction{kind: frameStop, id: m.ID}
	case "connection_terminate":
		if !legacy {
			return invalidFrame
		}
		return closeFrame(websocket.CloseNormalClosure, "")
	}
	return invalidFrame
}

// handle processes one incoming frame; false ends the connection.
func (c *wsConn) handle(data []byte) bool {
	c.mu.Lock()
	st := frameState{initialized: c.initialized, acked: c.initCtx != nil, op: c.op, maxOps: c.t.MaxOperations}
	c.mu.Unlock()
	a := decideFrame(c.protocol, data, st)
	switch a.kind {
	case frameClose:
		c.closeWith(a.code, a.reason)
		return false
	case frameInit:
		c.mu.Lock()
		c.initialized = true
		c.mu.Unlock()
		c.stopInitTimer()
		ctx, err := c.t.Init(c.ctx, a.payload)
		if err != nil {
			if c.legacy() {
				c.send(wsMessage{Type: "connection_error", Payload: mustJSON(map[string]any{"message": "Forbidden"})})
			}
			c.closeAfterFlush(CloseForbidden, "Forbidden")
			return false
		}
		if c.t.User != nil {
			if user := c.t.User(ctx); !c.t.perUser.acquire(user, c.t.MaxPerUser) {
				c.t.refused.Add(1)
				c.t.Log.Info("websocket refused: too many connections", "user", user, "limit", c.t.MaxPerUser)
				reason := fmt.Sprintf("Too many connections: at most %d per user", c.t.MaxPerUser)
				if c.legacy() {
					c.send(wsMessage{Type: "connection_error", Payload: mustJSON(map[string]any{"message": reason})})
				}
				c.closeAfterFlush(CloseTooManyConnections, reason)
				return false
			} else if c.t.MaxPerUser > 0 {
				c.userKey = user
			}
		}
		c.mu.Lock()
		c.initCtx = ctx
		c.mu.Unlock()
		c.endPreInit()
		// ctx ends with the connection, or earlier when what Init
		// granted is taken back.
		context.AfterFunc(ctx, func() {
			if c.ctx.Err() == nil {
				c.closeAfterFlush(CloseForbidden, "Forbidden: session ended")
			}
		})
		c.send(wsMessage{Type: "connection_ack"})
		if c.legacy() {
			c.send(wsMessage{Type: "ka"})
		}
	case frameReply:
		c.send(a.reply)
	case frameStart:
		c.mu.Lock()
		ctx := c.initCtx
		c.mu.Unlock()
		now := graphql.Now()
		a.params.ReadTime = graphql.TraceTiming{Start: now, End: now}
		c.start(ctx, a.id, a.params)
	case frameStop:
		c.mu.Lock()
		e, ok := c.ops[a.id]
		delete(c.ops, a.id)
		c.mu.Unlock()
		if ok {
			e.stop()
		}
	}
	return true
}

// op reports whether operation id runs, and how many run.
func (c *wsConn) op(id string) (running bool, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, running = c.ops[id]
	return running, len(c.ops)
}

// start runs an operation: a subscription the Sharing takes runs without
// a goroutine of its own, anything else in its own goroutine. (start runs
// in onMessage's goroutine, off the reader's stack.)
func (c *wsConn) start(parent context.Context, id string, params *graphql.RawParams) {
	entry := &opEntry{}
	c.mu.Lock()
	c.ops[id] = entry
	c.mu.Unlock()
	op := operation{exec: c.exec, log: c.log, params: params, sharing: c.t.Sharing}
	if c.t.Sharing != nil && c.share(parent, id, entry, &op) {
		return
	}
	ctx, cancel := context.WithCancel(parent)
	entry.setCancel(cancel)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		prefix := c.envelope(id)
		errs := op.run(ctx, func(payload json.RawMessage) bool {
			return c.q.pushWait(c.ctx, frame{prefix: prefix, data: payload, suffix: true}, c.t.SendQueue)
		})
		c.end(id, entry, errs)
	}()
}

// envelope is what precedes an operation's result in its message:
// {"id":…,"type":"next","payload": (its type is "data" in the legacy
// protocol). The result and a closing brace follow, so a result is never
// encoded again to wrap it.
func (c *wsConn) envelope(id string) []byte {
	typ := "next"
	if c.legacy() {
		typ = "data"
	}
	return fmt.Appendf(nil, `{"id":%s,"type":%q,"payload":`, mustJSON(id), typ)
}

// send queues a message for the writer, waiting while SendQueue messages
// are waiting; it reports false once the connection is closing.
func (c *wsConn) send(m wsMessage) bool {
	return c.q.pushWait(c.ctx, frame{data: mustJSON(m)}, c.t.SendQueue)
}

// keepAlive queues a WebSocket ping and, once the connection is
// initialised, the protocol's own keep-alive message.
func (c *wsConn) keepAlive() {
	c.q.pushQuiet(frame{ping: true}, 0)
	c.mu.Lock()
	ok := c.initialized
	c.mu.Unlock()
	if ok {
		ka := kaTransportWS
		if c.legacy() {
			ka = kaLegacy
		}
		c.q.pushQuiet(frame{data: ka}, 0)
	}
	c.q.kick()
}

var (
	kaTransportWS = mustJSON(wsMessage{Type: "ping"})
	kaLegacy      = mustJSON(wsMessage{Type: "ka"})
)

// goAway completes every operation and closes the socket with 1001.
func (c *wsConn) goAway() {
	c.goAwayOnce.Do(c.doGoAway)
}

func (c *wsConn) doGoAway() {
	c.mu.Lock()
	ids := make([]string, 0, len(c.ops))
	for id, e := range c.ops {
		ids = append(ids, id)
		e.stop()
	}
	c.ops = map[string]*opEntry{}
	c.mu.Unlock()
	for _, id := range ids {
		c.q.push(frame{data: mustJSON(wsMessage{ID: id, Type: "complete"})}, c.t.MaxQueue)
	}
	c.closeAfterFlush(CloseGoingAway, "server shutting down")
}

// closeGrace is how long a closing connection's writes may still take:
// what is queued before the close frame, the write in progress included,
// and the close frame itself. A peer that stopped reading holds a close
// (shutdown's above all) this long, not the write timeout.
const closeGrace = time.Second

// closeAfterFlush closes the socket once the writer has sent what is
// queued, within closeGrace; if the queue is full the peer is not
// reading, so it closes now, cutting off a write in progress.
func (c *wsConn) closeAfterFlush(code int, reason string) {
	c.closing.Store(true)
	now := time.Now()
	c.raw.closeWithin(now.Add(closeGrace))
	if !c.q.push(frame{close: true, code: code, reason: reason}, c.t.MaxQueue) {
		c.raw.closeWithin(now)
		c.closeWith(code, reason)
	}
}

// closeWith sends a close frame and tears the connection down once.
// The TCP connection itself is closed by finish, once the reader is done,
// so the close frame is not lost to a reset while the peer still writes.
// If the close frame cannot go out whole (a write failed before, maybe in
// the middle of a frame, or this one times out), nothing more can be
// written: the TCP connection is closed at once, which the peer sees as
// the end of the stream (1006 in WebSocket clients), never a malformed
// frame. A write in progress, which the close frame must wait for, has
// closeGrace to end, as has the close frame.
func (c *wsConn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(code, closeReason(reason))
		deadline := time.Now().Add(closeGrace)
		c.raw.closeWithin(deadline)
		sent := c.raw.writeLast(append(appendFrameHeader(nil, opClose, len(msg)), msg...), deadline)
		c.cancel()
		c.endPolled()
		if !sent {
			_ = c.raw.Close()
			return
		}
		// Unblock the reader if it is waiting for a message (and bound
		// finish's wait for the peer's close).
		_ = c.raw.SetReadDeadline(time.Now().Add(time.Second))
	})
}

// closeReason cuts reason to what a close frame holds after its code (a
// control frame carries at most 125 bytes), at a character's boundary: a
// reason naming a client's long operation id would not fit.
func closeReason(reason string) string {
	const most = 125 - 2
	if len(reason) <= most {
		return reason
	}
	reason = reason[:most]
	for !utf8.ValidString(reason) {
		reason = reason[:len(reason)-1]
	}
	return reason
}

// finish ends every operation and waits for the connection's goroutines.
func (c *wsConn) finish() {
	if c.rawConn != nil {
		c.t.poll.remove(c) // before the socket closes: its number may be reused
	}
	if c.closing.Load() {
		// The writer closes the socket (and so ends ctx) when it reaches
		// the queued close frame.
		timer := time.NewTimer(c.t.WriteTimeout)
		select {
		case <-c.ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	c.closeWith(websocket.CloseNormalClosure, "")
	c.stopOps()
	// Read (and drop) what the peer still sends, up to its own close or
	// the deadline set by closeWith, then close the TCP connection.
	_, _ = io.Copy(io.Discard, c.raw)
	_ = c.raw.Close()
	c.stopInitTimer()
	if c.pending != nil {
		putReadBuffer(c.pending)
		c.pending = nil
	}
	c.parser.msg = nil
	c.q.close()
	c.wg.Wait()
	c.releaseLimits() // before closed: Shutdown returns with the counts at zero
	c.t.conns.remove(c)
	close(c.closed)
}

// stopOps stops every operation still running (those a Sharing took have no
// context to cancel).
func (c *wsConn) stopOps() {
	c.mu.Lock()
	ops := c.ops
	c.ops = map[string]*opEntry{}
	c.mu.Unlock()
	for _, e := range ops {
		e.stop()
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
