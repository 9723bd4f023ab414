package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
)

// syncBuffer collects a server's log while its goroutines write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the log lines that contain every one of parts.
func (s *syncBuffer) lines(parts ...string) []string {
	var out []string
next:
	for _, l := range strings.Split(s.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// waitLines waits (for the server's goroutine, not for a timer) until n
// lines contain parts, and returns them.
func (s *syncBuffer) waitLines(t *testing.T, n int, parts ...string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.lines(parts...)) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := s.lines(parts...)
	if len(got) < n {
		t.Fatalf("want %d log lines with %q, got %d; log:\n%s", n, parts, len(got), s)
	}
	return got
}

// TestAccessLog: one line per HTTP request with method, path, status,
// bytes, duration and remote address; a WebSocket is one line (101) however
// many frames it carries; neither tokens nor operation text are logged;
// -access-log=false turns it off.
func TestAccessLog(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServerLogging(t, dbtest.SQLite(t), logs)
	token := ts.signUp("logger")
	const secret = "needleInTheOperation"
	ts.must(token, `{ `+secret+`: __typename me { username } }`, nil, nil)
	if r := ts.send("GET", url.Values{"query": {`{ ` + secret + `: __typename }`}}.Encode(), nil, ""); r.status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.status, r.raw)
	}
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{"authorization": "Bearer " + token})
	for range 3 {
		c.send(map[string]any{"type": "ping"})
		if m := c.next(); m.Type != "pong" {
			t.Fatalf("got %s, want pong", m.Type)
		}
	}
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `{ ` + secret + `: __typename }`}})
	if m := c.next(); m.Type != "next" {
		t.Fatalf("got %s %s, want next", m.Type, m.Payload)
	}
	c.conn.Close()

	ws := logs.waitLines(t, 1, "msg=http", "method=GET", "path=/query", "status=101")
	if len(ws) != 1 {
		t.Errorf("a WebSocket with 6 frames gave %d access lines, want 1: %q", len(ws), ws)
	}
	posts := logs.waitLines(t, 2, "msg=http", "method=POST", "path=/query", "status=200")
	gets := logs.lines("msg=http", "method=GET", "path=/query", "status=200")
	if len(posts) != 2 || len(gets) != 1 {
		t.Errorf("%d POST and %d GET lines, want 2 (signUp, query) and 1:\n%s", len(posts), len(gets), logs)
	}
	for _, l := range append(posts, gets...) {
		for _, key := range []string{"bytes=", "duration=", "remote=127.0.0.1:"} {
			if !strings.Contains(l, key) {
				t.Errorf("access line %q lacks %s", l, key)
			}
		}
		if strings.Contains(l, "bytes=0 ") {
			t.Errorf("access line %q counts no bytes for an answered request", l)
		}
	}
	if all := logs.String(); strings.Contains(all, token) || strings.Contains(all, secret) {
		t.Errorf("the log holds the token or the operation text:\n%s", all)
	}

	quiet := &syncBuffer{}
	ts2 := startServerLogging(t, dbtest.SQLite(t), quiet, "-access-log=false")
	ts2.must("", `{ __typename }`, nil, nil)
	ts2.stop()
	if got := quiet.lines("msg=http"); len(got) != 0 {
		t.Errorf("-access-log=false still logged %q", got)
	}
}

// TestRefusedOriginIsLogged: a browser page whose origin is not allowed
// gets a 403 WebSocket (and a fetch without CORS headers), and the log
// says so with the origin and a hint naming -allowed-origins; allowed
// origins log nothing of the kind.
func TestRefusedOriginIsLogged(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServerLogging(t, dbtest.SQLite(t), logs, "-access-log=false")
	const evil = "https://evil.example"
	_, resp, err := ts.dialWS(t, "graphql-transport-ws", http.Header{"Origin": {evil}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("WebSocket from %s: err %v, response %v; want 403", evil, err, resp)
	}
	wsLines := logs.waitLines(t, 1, "level=WARN", "WebSocket", "origin="+evil, "-allowed-origins "+evil)
	if len(wsLines) != 1 {
		t.Errorf("one refused WebSocket gave %d lines: %q", len(wsLines), wsLines)
	}
	r := ts.send("POST", "", map[string]string{"Content-Type": "application/json", "Origin": "https://other.example"}, `{"query":"{ __typename }"}`)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused origin got CORS headers: %v", r.header)
	}
	logs.waitLines(t, 1, "level=WARN", "cross-origin request", "origin=https://other.example", "-allowed-origins")

	before := len(logs.lines("-allowed-origins"))
	c, _, err := ts.dialWS(t, "graphql-transport-ws", http.Header{"Origin": {"http://localhost:5173"}})
	if err != nil {
		t.Fatalf("localhost page refused: %v", err)
	}
	c.init(map[string]any{})
	if got := len(logs.lines("-allowed-origins")); got != before {
		t.Errorf("an allowed origin was logged as refused:\n%s", logs)
	}

	allowed := &syncBuffer{}
	ts2 := startServerLogging(t, dbtest.SQLite(t), allowed, "-access-log=false", "-allowed-origins", evil)
	c, _, err = ts2.dialWS(t, "graphql-transport-ws", http.Header{"Origin": {evil}})
	if err != nil {
		t.Fatalf("-allowed-origins %s: %v", evil, err)
	}
	c.init(map[string]any{})
	ts2.stop()
	if got := allowed.lines("-allowed-origins"); len(got) != 0 {
		t.Errorf("an origin listed in -allowed-origins was logged as refused: %q", got)
	}
}

// TestPersistedQueryProtocol: Apollo's APQ beyond TestHTTPPersistedQuery:
// a hash that does not match its query is refused, a persisted query is
// held to the operation limits like any other, over POST and GET, and a
// WebSocket operation's hash is checked too.
func TestPersistedQueryProtocol(t *testing.T) {
	ts := startServer(t, "-max-query-depth", "3", "-access-log=false")
	hash := func(q string) string { s := sha256.Sum256([]byte(q)); return hex.EncodeToString(s[:]) }
	body := func(query, h string) string {
		m := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": h}}}
		if query != "" {
			m["query"] = query
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}

	r := ts.send("POST", "", jsonCT, body("{ __typename }", hash("{ me { id } }")))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0].Message, "hash does not match") || r.errors[0].Extensions["code"] == nil {
		t.Errorf("mismatched hash: %s; want one coded error saying the hash does not match", r.raw)
	}
	if strings.Contains(r.raw, `"data":{`) {
		t.Errorf("mismatched hash ran: %s", r.raw)
	}
	r = ts.send("POST", "", jsonCT, body("", hash("{ instruments { symbol } }")))
	// Apollo's link looks for the message; the code is one of ours.
	if len(r.errors) != 1 || r.errors[0].Message != "PersistedQueryNotFound" || r.errors[0].Extensions["code"] != "BAD_USER_INPUT" ||
		r.errors[0].Extensions["reason"] != "PERSISTED_QUERY_NOT_FOUND" {
		t.Errorf("unknown hash: %s; want PersistedQueryNotFound, BAD_USER_INPUT, reason PERSISTED_QUERY_NOT_FOUND", r.raw)
	}

	deep := `{ bullPens { edges { node { owner { id } } } } }`
	for _, b := range []string{body(deep, hash(deep)), body("", hash(deep))} {
		r = ts.send("POST", "", jsonCT, b)
		if len(r.errors) != 1 || r.errors[0].Extensions["reason"] != "QUERY_TOO_DEEP" {
			t.Errorf("%s: %s; want QUERY_TOO_DEEP", b, r.raw)
		}
	}
	r = ts.send("GET", url.Values{"extensions": {`{"persistedQuery":{"version":1,"sha256Hash":"` + hash(deep) + `"}}`}}.Encode(), nil, "")
	if len(r.errors) != 1 || r.errors[0].Extensions["reason"] != "QUERY_TOO_DEEP" {
		t.Errorf("GET of a persisted deep query: %s; want QUERY_TOO_DEEP", r.raw)
	}

	// graphql-transport-ws requires the query text in every subscribe
	// message; a hash beside it is checked as over HTTP.
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{})
	q := `{ wsPersisted: __typename }`
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash(q)}}
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": q, "extensions": ext}})
	if m := c.next(); m.Type != "next" || !strings.Contains(string(m.Payload), `"wsPersisted":"Query"`) {
		t.Fatalf("WebSocket, query and hash: %s %s", m.Type, m.Payload)
	}
	c.next() // complete
	bad := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash("{ me { id } }")}}
	c.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": q, "extensions": bad}})
	if m := c.next(); m.Type != "error" || !strings.Contains(string(m.Payload), "hash does not match") {
		t.Errorf("WebSocket, mismatched hash: %s %s", m.Type, m.Payload)
	}
}
