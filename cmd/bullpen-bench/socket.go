package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bullpen/bullpen/internal/gqlclient"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// The subscription every socket runs. Both put __typename and sequence
// first so that the reader finds them without decoding the message.
const (
	leanDoc = `subscription Bench($id: ID!) { bullPenEvents(bullPenId: $id) { __typename sequence occurredAt
  ... on OrderEvent { kind order { id clientOrderId symbol side quantity status filledPrice } }
  ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }
  ... on LeaderboardEvent { snapshot { id takenAt final } }
  ... on RoomStateEvent { previousState state } } }`
	minDoc = `subscription Bench($id: ID!) { bullPenEvents(bullPenId: $id) { __typename sequence
  ... on OrderEvent { order { clientOrderId } } ... on PositionEvent { participantId } } }`
	fullDoc = `subscription Bench($id: ID!) { bullPenEvents(bullPenId: $id) { __typename sequence occurredAt
  ... on OrderEvent { kind order { id clientOrderId symbol side quantity status filledPrice } }
  ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }
  ... on LeaderboardEvent { snapshot { id takenAt final entries { rank participantId portfolioValue user { username displayName } } } }
  ... on RoomStateEvent { previousState state } } }`
)

// matcher ties events to the orders that caused them: order n carries
// clientOrderId "b<n>" and is placed by trader n % traders.
type matcher struct {
	orders   int // order numbers are 0 .. orders-1
	traders  int
	traderOf map[string]int // participant id -> trader
}

// sample is one delivery of an order or position event: its sequence, the
// order it is timed from and when it was read (wall clock, UnixNano, as
// the traders' send times, which may come from another process and are
// known only at the end).
type sample struct {
	seq   int32
	order int32
	at    int64
}

// subscriber is one WebSocket with one bullPenEvents subscription.
type subscriber struct {
	url    string
	member *user // nil for an anonymous spectator
	conn   *websocket.Conn

	closing  atomic.Bool
	firstSeq atomic.Int64 // first sequence received; 0 before any
	lastSeq  atomic.Int64
	done     chan struct{} // closed when the reader returns

	// Owned by the reader until done is closed.
	seqs      []int32
	samples   []sample
	lastOrder []int32 // per trader: the last order whose event arrived
	drop      string  // why the stream ended early; "" if it did not
}

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// dialer keeps per-socket buffers small: thousands of sockets share one
// process.
var dialer = &websocket.Dialer{
	HandshakeTimeout: 30 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  512,
	WriteBufferPool:  &sync.Pool{},
	Subprotocols:     []string{"graphql-transport-ws"},
}

// connect opens every subscriber's socket at no more than -ramp a second,
// -dialers at a time, and starts its reader. A socket that fails to open
// is marked dropped; the error of the first failure is returned with the
// count only when every one failed.
func (b *bench) connect(ctx context.Context, subs []*subscriber, room string, m *matcher) (failed int, err error) {
	doc := map[string]string{"min": minDoc, "lean": leanDoc, "full": fullDoc}[b.cfg.Doc]
	subscribe, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": doc, "variables": map[string]any{"id": room}}})
	lim := rate.NewLimiter(rate.Limit(b.cfg.Ramp), b.cfg.Dialers)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan *subscriber)
		t0       = time.Now()
		opened   atomic.Int64
	)
	for range b.cfg.Dialers {
		wg.Go(func() {
			for s := range next {
				if err := s.open(ctx, subscribe, m); err != nil {
					s.drop = "dial: " + err.Error()
					close(s.done)
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				opened.Add(1)
			}
		})
	}
	lastLog := time.Now()
	for _, s := range subs {
		if err := lim.Wait(ctx); err != nil {
			s.drop = "not dialled"
			close(s.done)
			continue
		}
		next <- s
		if time.Since(lastLog) > 5*time.Second {
			b.logf("opened %d/%d sockets", opened.Load(), len(subs))
			lastLog = time.Now()
		}
	}
	close(next)
	wg.Wait()
	b.logf("opened %d sockets in %v (%d failed)", opened.Load(), time.Since(t0).Round(time.Millisecond), failed)
	if err := ctx.Err(); err != nil {
		return failed, err
	}
	if failed == len(subs) && failed > 0 {
		return failed, fmt.Errorf("every socket failed to open: %w", firstErr)
	}
	return failed, nil
}

// open dials, initialises the connection (with the member's token),
// subscribes and starts the reader.
func (s *subscriber) open(ctx context.Context, subscribe []byte, m *matcher) error {
	ws := "ws" + strings.TrimPrefix(s.url, "http") + "/query"
	conn, resp, err := dialer.DialContext(ctx, ws, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return err
	}
	payload := map[string]any{}
	if s.member != nil {
		payload["authorization"] = "Bearer " + s.member.token
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": payload})
	fail := func(err error) error {
		conn.Close()
		return err
	}
	if err := conn.WriteMessage(websocket.TextMessage, init); err != nil {
		return fail(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return fail(fmt.Errorf("waiting for connection_ack: %w", err))
		}
		if t := envelopeType(msg); t == "connection_ack" {
			break
		} else if t != "ping" && t != "pong" {
			return fail(fmt.Errorf("waiting for connection_ack: got %.200s", msg))
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	if err := conn.WriteMessage(websocket.TextMessage, subscribe); err != nil {
		return fail(err)
	}
	s.conn = conn
	s.lastOrder = make([]int32, m.traders)
	for i := range s.lastOrder {
		s.lastOrder[i] = -1
	}
	go s.read(m)
	return nil
}

// read records every event the socket receives until it closes.
func (s *subscriber) read(m *matcher) {
	defer close(s.done)
	for {
		_, r, err := s.conn.NextReader()
		if err != nil {
			if !s.closing.Load() && s.drop == "" {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					s.drop = "closed " + strconv.Itoa(ce.Code)
				} else {
					s.drop = "closed"
				}
			}
			return
		}
		buf := readBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		now := time.Now().UnixNano()
		if err == nil {
			s.handle(buf.Bytes(), now, m)
		}
		if buf.Cap() <= 64<<10 {
			readBuffers.Put(buf)
		}
	}
}

var pong = []byte(`{"type":"pong"}`)

func (s *subscriber) handle(msg []byte, now int64, m *matcher) {
	switch envelopeType(msg) {
	case "next":
		kind, seq, order, pid := parseEvent(msg)
		if seq <= 0 {
			return
		}
		s.seqs = append(s.seqs, int32(seq))
		if s.firstSeq.Load() == 0 {
			s.firstSeq.Store(seq)
		}
		s.lastSeq.Store(seq)
		// An order event is timed from its order; a position event from
		// the order of its trader whose event this socket read last.
		timed := int32(-1)
		switch kind {
		case 'O':
			if order >= 0 && order < m.orders {
				timed = int32(order)
				s.lastOrder[order%m.traders] = timed
			}
		case 'P':
			if t, ok := m.traderOf[string(pid)]; ok {
				timed = s.lastOrder[t]
			}
		}
		if timed >= 0 {
			s.samples = append(s.samples, sample{seq: int32(seq), order: timed, at: now})
		}
	case "ping":
		_ = s.conn.WriteMessage(websocket.TextMessage, pong)
	case "error":
		var e struct{ Payload []gqlclient.Error }
		_ = json.Unmarshal(msg, &e)
		s.drop = "error"
		if len(e.Payload) > 0 {
			s.drop = "error " + e.Payload[0].Extensions.Code
			if r := e.Payload[0].Extensions.Reason; r != "" {
				s.drop = r
			}
		}
	case "complete":
		if s.drop == "" {
			s.drop = "complete"
		}
	}
}

// envelopeType finds the graphql-transport-ws message type without
// decoding the message: the first "type" key before any payload.
func envelopeType(msg []byte) string {
	i := bytes.Index(msg, []byte(`"type":"`))
	if i < 0 {
		return ""
	}
	if p := bytes.Index(msg, []byte(`"payload"`)); p >= 0 && p < i {
		var env struct{ Type string }
		_ = json.Unmarshal(msg, &env)
		return env.Type
	}
	rest := msg[i+len(`"type":"`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// parseEvent finds what the bench needs in a bullPenEvents result: the
// event's kind (first letter of its type), its sequence, for an order
// event the bench's order number (-1 if not the bench's), for a position
// event the participant.
func parseEvent(msg []byte) (kind byte, seq int64, order int, participant []byte) {
	order = -1
	i := bytes.Index(msg, []byte(`"__typename":"`))
	if i < 0 {
		return 0, 0, -1, nil
	}
	rest := msg[i+len(`"__typename":"`):]
	if len(rest) > 0 {
		kind = rest[0]
	}
	i = bytes.Index(rest, []byte(`"sequence":`))
	if i < 0 {
		return kind, 0, -1, nil
	}
	rest = rest[i+len(`"sequence":`):]
	seq, rest = leadingInt(rest)
	switch kind {
	case 'O':
		if i = bytes.Index(rest, []byte(`"clientOrderId":"b`)); i >= 0 {
			n, _ := leadingInt(rest[i+len(`"clientOrderId":"b`):])
			order = int(n)
		}
	case 'P':
		if i = bytes.Index(rest, []byte(`"participantId":"`)); i >= 0 {
			rest = rest[i+len(`"participantId":"`):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				participant = rest[:j]
			}
		}
	}
	return kind, seq, order, participant
}

func leadingInt(b []byte) (int64, []byte) {
	var n int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return -1, b
	}
	return n, b[i:]
}

// waitLive waits until every open socket has received an event, poking the
// room (an order that makes a leaderboard) every couple of seconds, and
// returns the largest first sequence: from there on every socket receives
// every event it may see.
func (b *bench) waitLive(ctx context.Context, subs []*subscriber, poke func() error, limit time.Duration) (base int64, waiting int, err error) {
	deadline := time.Now().Add(limit)
	lastPoke := time.Time{}
	for {
		waiting, base = 0, 0
		for _, s := range subs {
			select {
			case <-s.done:
				continue // closed or never opened: counted as a drop
			default:
			}
			f := s.firstSeq.Load()
			if f == 0 {
				waiting++
			}
			base = max(base, f)
		}
		if waiting == 0 {
			return base, 0, nil
		}
		if time.Now().After(deadline) {
			b.logf("%d sockets received nothing within %v", waiting, limit)
			return base, waiting, nil
		}
		if time.Since(lastPoke) > 2*time.Second {
			if err := poke(); err != nil {
				return 0, waiting, err
			}
			lastPoke = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, waiting, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// closeAll closes every socket and waits for the readers.
func closeAll(subs []*subscriber) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done")
	for _, s := range subs {
		if s.conn == nil {
			continue
		}
		s.closing.Store(true)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			_ = s.conn.Close()
		})
	}
	wg.Wait()
	for _, s := range subs {
		<-s.done
	}
}

// newSubscribers makes one subscriber per member, then one per spectator,
// spread round-robin over the instances.
func (b *bench) newSubscribers(members []*user, spectators int) []*subscriber {
	subs := make([]*subscriber, 0, len(members)+spectators)
	for i := range len(members) + spectators {
		s := &subscriber{url: b.cfg.URLs[i%len(b.cfg.URLs)], done: make(chan struct{})}
		if i < len(members) {
			s.member = members[i]
		}
		subs = append(subs, s)
	}
	return subs
}
