package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// Stream clients for the authorization matrix: unlike wsClient.next and
// sseStream.next they never fail the test themselves. Each operation
// records what it received, so a cell can say exactly what was wrong, and
// a server that stays silent costs one bounded wait, not a fatal timeout.

// streamWait bounds every wait for something a stream should receive.
const streamWait = 5 * time.Second

// streamOp is one GraphQL operation over WebSocket or SSE and everything it
// has received so far.
type streamOp struct {
	mu     sync.Mutex
	events []json.RawMessage // "data" of each result that carried data
	errs   []gqlError        // errors, in the order they came
	ended  bool              // complete or error received, or the transport ended
	fault  string            // a transport problem, if any
}

// record adds one result ({"data":…, "errors":[…]}).
func (op *streamOp) record(payload json.RawMessage) {
	var r gqlResponse
	op.mu.Lock()
	defer op.mu.Unlock()
	if err := json.Unmarshal(payload, &r); err != nil {
		op.fault = fmt.Sprintf("undecodable result %s: %v", payload, err)
		return
	}
	op.errs = append(op.errs, r.Errors...)
	if len(r.Data) > 0 && string(r.Data) != "null" {
		op.events = append(op.events, r.Data)
	}
}

func (op *streamOp) fail(errs []gqlError) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.errs = append(op.errs, errs...)
	op.ended = true
}

func (op *streamOp) end(fault string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if !op.ended && fault != "" && op.fault == "" {
		op.fault = fault
	}
	op.ended = true
}

// streamSnapshot is a copy of what an operation received.
type streamSnapshot struct {
	events []json.RawMessage
	errs   []gqlError
	ended  bool
	fault  string
}

func (op *streamOp) snapshot() streamSnapshot {
	op.mu.Lock()
	defer op.mu.Unlock()
	return streamSnapshot{events: append([]json.RawMessage(nil), op.events...), errs: append([]gqlError(nil), op.errs...), ended: op.ended, fault: op.fault}
}

// waitUntil polls cond on the operation's state until it holds or d passes.
func (op *streamOp) waitUntil(d time.Duration, cond func(s streamSnapshot) bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond(op.snapshot()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled reports whether the operation was refused or ended.
func settled(s streamSnapshot) bool { return s.ended || len(s.errs) > 0 }

// eventLabels returns "<sequence> <__typename>" of each result's field ev.
func (s streamSnapshot) eventLabels() []string {
	out := []string{}
	for _, d := range s.events {
		out = append(out, eventLabel(d))
	}
	return out
}

// eventLabel reads {"ev": {"__typename", "sequence"}}.
func eventLabel(data json.RawMessage) string {
	var v struct {
		Ev *struct {
			Typename string `json:"__typename"`
			Sequence int64  `json:"sequence"`
		} `json:"ev"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Ev == nil {
		return "unexpected " + string(data)
	}
	return strconv.FormatInt(v.Ev.Sequence, 10) + " " + v.Ev.Typename
}

// wsMux is one graphql-transport-ws connection carrying many operations,
// read by one goroutine that the test's cleanup stops.
type wsMux struct {
	c      *wsClient
	wmu    sync.Mutex // one writer at a time
	mu     sync.Mutex
	ops    map[string]*streamOp
	acked  bool
	closed bool
	code   int // close code from the server, 0 if none
	fault  string
	nextID int
}

// openWS dials /query, starts the reader and sends connection_init with
// {"authorization": "Bearer <token>"} (nothing for ""). It does not wait
// for the acknowledgement.
func (ts *testServer) openWS(t *testing.T, token string) *wsMux {
	t.Helper()
	payload := map[string]any{}
	if token != "" {
		payload["authorization"] = "Bearer " + token
	}
	return ts.openWSWith(t, payload)
}

// openWSWith is openWS with the connection_init payload given.
func (ts *testServer) openWSWith(t *testing.T, payload map[string]any) *wsMux {
	t.Helper()
	m := ts.dialWSMux(t, nil)
	m.write(map[string]any{"type": "connection_init", "payload": payload})
	return m
}

// dialWSMux dials /query (graphql-transport-ws) with header on the
// upgrade request and starts the reader; it sends nothing.
func (ts *testServer) dialWSMux(t *testing.T, header http.Header) *wsMux {
	t.Helper()
	c, _, err := ts.dialWS(t, "graphql-transport-ws", header)
	if err != nil {
		t.Fatalf("dial WebSocket: %v", err)
	}
	m := &wsMux{c: c, ops: map[string]*streamOp{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.read()
	}()
	t.Cleanup(func() {
		c.conn.Close()
		<-done
	})
	return m
}

func (m *wsMux) write(v any) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	_ = m.c.conn.SetWriteDeadline(time.Now().Add(streamWait))
	if err := m.c.conn.WriteJSON(v); err != nil {
		m.mu.Lock()
		if m.fault == "" {
			m.fault = "write: " + err.Error()
		}
		m.mu.Unlock()
	}
}

func (m *wsMux) read() {
	for {
		_, b, err := m.c.conn.ReadMessage()
		if err != nil {
			m.mu.Lock()
			m.closed = true
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				m.code = ce.Code
			}
			ops := m.ops
			m.mu.Unlock()
			for _, op := range ops {
				op.end(fmt.Sprintf("socket closed (%v) before the operation ended", err))
			}
			return
		}
		var msg wsMsg
		if err := json.Unmarshal(b, &msg); err != nil {
			continue
		}
		m.mu.Lock()
		op := m.ops[msg.ID]
		if msg.Type == "connection_ack" {
			m.acked = true
		}
		m.mu.Unlock()
		if op == nil {
			continue
		}
		switch msg.Type {
		case "next":
			op.record(msg.Payload)
		case "error":
			var errs []gqlError
			if err := json.Unmarshal(msg.Payload, &errs); err != nil {
				errs = []gqlError{{Message: "undecodable error payload " + string(msg.Payload)}}
			}
			op.fail(errs)
		case "complete":
			op.end("")
		}
	}
}

// subscribe starts an operation on the connection.
func (m *wsMux) subscribe(query string, vars map[string]any) *streamOp {
	op := &streamOp{}
	m.mu.Lock()
	m.nextID++
	id := strconv.Itoa(m.nextID)
	m.ops[id] = op
	closed := m.closed
	m.mu.Unlock()
	if closed {
		op.end("socket already closed")
		return op
	}
	m.write(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	return op
}

// waitAck waits for connection_ack; false when the socket closed first.
func (m *wsMux) waitAck() bool {
	deadline := time.Now().Add(streamWait)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		acked, closed := m.acked, m.closed
		m.mu.Unlock()
		if acked || closed {
			return acked
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// closeCode waits for the server to close the socket and returns its
// code, or 0 when it stayed open (or closed without a code).
func (m *wsMux) closeCode() int {
	deadline := time.Now().Add(streamWait)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		closed, code := m.closed, m.code
		m.mu.Unlock()
		if closed {
			return code
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0
}

// openSSE runs one operation over SSE (graphql-sse distinct connections)
// until the test's cleanup. A response that is not an event stream (a
// plain GraphQL JSON error) counts as one result followed by complete.
func (ts *testServer) openSSE(t *testing.T, token, query string, vars map[string]any) *streamOp {
	t.Helper()
	op := &streamOp{}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := ts.postSSE(ctx, token, query, vars)
	if err != nil {
		cancel()
		op.end("POST: " + err.Error())
		return op
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		defer cancel()
		defer resp.Body.Close()
		var r bytes.Buffer
		_, _ = r.ReadFrom(resp.Body)
		op.record(r.Bytes())
		op.end("")
		return op
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var event, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			case line == "" && event != "":
				switch event {
				case "next":
					op.record(json.RawMessage(data))
				case "complete":
					op.end("")
				}
				event, data = "", ""
			}
		}
		op.end("stream ended without complete")
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return op
}

// Tokens for the bad-token cells. The server runs with -secret authzSecret
// so the test can sign tokens the way auth.Tokens does (HS256, issuer
// "bullpen", subject the user id, jti the session id, exp required).
const authzSecret = "authz-matrix-secret-0123456789ab"

func signToken(t testing.TB, method jwt.SigningMethod, key any, userID, session string, iat, exp time.Time) string {
	t.Helper()
	claims := jwt.RegisteredClaims{Issuer: "bullpen", Subject: userID, ID: session, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp)}
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// tokenClaims decodes the claims of a token without checking it.
func tokenClaims(t testing.TB, token string) jwt.RegisteredClaims {
	t.Helper()
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		t.Fatalf("token %q: %v", token, err)
	}
	return claims
}

// tamperPayload rewrites a token's subject and keeps its signature.
func tamperPayload(t testing.TB, token, subject string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = subject
	raw, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// tamperSignature changes one character in the middle of the signature
// (the last one may only carry padding bits).
func tamperSignature(t testing.TB, token string) string {
	t.Helper()
	i := strings.LastIndexByte(token, '.') + 5
	if i < 5 || i >= len(token) {
		t.Fatalf("token %q has no signature to tamper with", token)
	}
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
