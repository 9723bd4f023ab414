package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/internal/server"
	"github.com/bullpen/bullpen/internal/testbin"
)

// Another client address is another loopback address: on Linux the
// whole of 127.0.0.0/8 is the loopback interface's, so a socket bound to
// 127.0.0.2 reaches a server on 127.0.0.1 from another address.
const otherAddress = "127.0.0.2"

// dialFrom opens a TCP connection to ts from the local address ip.
func (ts *testServer) dialFrom(t *testing.T, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// exchange sends a raw request on c and reads the answer, the body read
// whole.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, request string) (*http.Response, string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if request != "" {
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

const getHealthz = "GET /healthz HTTP/1.1\r\nHost: bullpen\r\n\r\n"

// closedByServer waits (10 s at most) for the server to close c: a read
// that ends in EOF or a reset rather than a timeout.
func closedByServer(t *testing.T, c net.Conn, br *bufio.Reader) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// One client address may hold -max-conns-per-address TCP connections: the
// next is answered 429 RATE_LIMITED and closed at once, another address
// is served as usual, and a connection that closes gives its place back.
func TestConnectionsPerAddress(t *testing.T) {
	ts := startServer(t, "-max-conns-per-address", "3", "-read-header-timeout", "1m")
	var held []net.Conn
	for range 3 { // connected, nothing sent yet
		held = append(held, ts.dialFrom(t, "127.0.0.1"))
	}
	// The server accepts in the order clients connected: the fourth is
	// over the limit.
	over := ts.dialFrom(t, "127.0.0.1")
	resp, body := exchange(t, over, bufio.NewReader(over), "")
	var r gqlResponse
	_ = json.Unmarshal([]byte(body), &r)
	if resp.StatusCode != http.StatusTooManyRequests || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "RATE_LIMITED" ||
		r.Errors[0].Extensions["limit"] != float64(3) || r.Errors[0].Message != "too many connections from your address: at most 3 at once" {
		t.Errorf("fourth connection: %s %s, want 429 RATE_LIMITED, at most 3", resp.Status, body)
	}
	if !closedByServer(t, over, bufio.NewReader(over)) {
		t.Error("the refused connection stays open")
	}

	// Another address gets answers.
	other := clientFrom(t, otherAddress)
	if res, err := other.Get(ts.url + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz from another address: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if got := metricFrom(t, other, ts.url, "bullpen_connections_refused_total"); got != "1" {
		t.Errorf("bullpen_connections_refused_total %s, want 1", got)
	}

	// One of the three closes: its place is free again (the server
	// notices the close a moment later).
	held[0].Close()
	eventually(t, "a connection from 127.0.0.1 to be served", func() bool {
		c := ts.dialFrom(t, "127.0.0.1")
		defer c.Close()
		resp, _ := exchange(t, c, bufio.NewReader(c), getHealthz)
		return resp.StatusCode == http.StatusOK
	})
}

// metricFrom reads one metric's value with client.
func metricFrom(t *testing.T, client *http.Client, url, name string) string {
	t.Helper()
	res, err := client.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return ""
}

// One client address may hold -max-sse-per-address SSE streams: the next
// is refused with 429 RATE_LIMITED naming the limit (whether it asked for
// an event stream first or after JSON, as urql does), another address
// and WebSockets are not affected, and a stream that ends gives its place
// back.
func TestSSEStreamsPerAddress(t *testing.T) {
	ts := startServer(t, "-max-sse-per-address", "2")
	const quotes = `subscription { quotes { symbol price } }`
	first := ts.subscribeSSE(t, "", quotes, nil)
	ts.subscribeSSE(t, "", quotes, nil)
	eventually(t, "two streams counted", func() bool { return ts.query.SSE.StreamsOf("127.0.0.1") == 2 })
	for _, accept := range []string{"text/event-stream", urqlAccept} {
		resp, err := ts.postAccepting(t.Context(), accept, "", quotes, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r gqlResponse
		_ = json.Unmarshal(body, &r)
		if resp.StatusCode != http.StatusTooManyRequests || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "RATE_LIMITED" ||
			r.Errors[0].Extensions["limit"] != float64(2) || r.Errors[0].Message != "too many event streams: at most 2 per address" {
			t.Errorf("Accept %s: third stream got %d %s, want 429 RATE_LIMITED, at most 2 per address", accept, resp.StatusCode, body)
		}
	}
	if n := ts.query.SSE.StreamsOf("127.0.0.1"); n != 2 {
		t.Errorf("refused streams counted: %d, want 2", n)
	}
	// A WebSocket from the same address, and a stream from another one.
	c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{})
	body, _ := json.Marshal(map[string]any{"query": quotes})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.url+"/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := clientFrom(t, otherAddress).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a stream from another address: %d, want 200", resp.StatusCode)
	}
	if got := ts.metric(t, "bullpen_sse_refused_total"); got != "2" {
		t.Errorf("bullpen_sse_refused_total %s, want 2", got)
	}
	// The first stream ends: its place is free again.
	first.resp.Body.Close()
	eventually(t, "the ended stream released", func() bool { return ts.query.SSE.StreamsOf("127.0.0.1") == 1 })
	ts.subscribeSSE(t, "", quotes, nil)
}

// A keep-alive connection that sends no next request is closed after
// -idle-timeout.
func TestIdleKeepAliveConnectionIsClosed(t *testing.T) {
	ts := startServer(t, "-idle-timeout", "100ms")
	c := ts.dialFrom(t, "127.0.0.1")
	br := bufio.NewReader(c)
	if resp, _ := exchange(t, c, br, getHealthz); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("/healthz: %s, close %v; want 200 on a connection kept alive", resp.Status, resp.Close)
	}
	if !closedByServer(t, c, br) {
		t.Error("an idle keep-alive connection is still open")
	}
}

// A request whose headers or body do not arrive in time loses its
// connection (-read-header-timeout, -read-timeout), while a WebSocket and
// an SSE stream opened before, which send nothing once open, live on.
func TestSlowRequestsAreCutOff(t *testing.T) {
	ts := startServer(t, "-read-header-timeout", "200ms", "-read-timeout", "200ms")
	room := ts.activeRoom(t)
	// From a known sequence: a live-only subscription could start after
	// the pause below commits.
	var last struct{ BullPen struct{ LastSequence int } }
	ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id}, &last)
	stream := ts.subscribeSSE(t, room.owner, `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename ... on RoomStateEvent { state } } }`,
		map[string]any{"id": room.id, "after": last.BullPen.LastSequence})
	ws, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.init(map[string]any{})

	// Headers begun, never ended.
	c := ts.dialFrom(t, "127.0.0.1")
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: bullpen\r\n")
	if !closedByServer(t, c, bufio.NewReader(c)) {
		t.Error("a connection with unfinished headers is still open")
	}
	// A body of 100 bytes of which 10 come.
	c = ts.dialFrom(t, "127.0.0.1")
	_, _ = io.WriteString(c, "POST /query HTTP/1.1\r\nHost: bullpen\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
	br := bufio.NewReader(c)
	if resp, body := exchange(t, c, br, ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body that stops coming: %s %s, want 400", resp.Status, body)
	}
	if !closedByServer(t, c, br) {
		t.Error("a connection whose body stopped coming is still open")
	}

	// Both timeouts have passed since the streams opened.
	ts.must(room.owner, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
	if ev, data := stream.next(); ev != "next" || !strings.Contains(data, `"PAUSED"`) {
		t.Fatalf("SSE: %s %s, want the PAUSED state", ev, data)
	}
	ws.send(map[string]any{"type": "ping"})
	if m := ws.next(); m.Type != "pong" {
		t.Fatalf("WebSocket: got %s, want pong", m.Type)
	}
}

// startUnderLimit runs the built server with an open-file limit of
// nofile (as ulimit -n sets it) until the test ends; it returns the
// server's URL and the path of its log.
func startUnderLimit(t *testing.T, bin string, nofile int, extra ...string) (string, string) {
	t.Helper()
	addr := testbin.FreeAddr(t)
	logPath := filepath.Join(t.TempDir(), "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), bin,
		"-addr", addr, "-db", dbtest.SQLite(t), "-market", "manual", "-access-log=false"}, extra...)
	cmd := exec.Command("sh", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, logPath
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not become ready")
		}
		time.Sleep(20 * time.Millisecond) // waiting for a process to start
	}
}

// TestOneClientCannotExhaustFileDescriptors is the trial of issue 17 on
// the real binary under ulimit -n 1024: one client holds 1,010 idle
// keep-alive connections, then tries 1,010 SSE streams. It gets what the
// per-address limits allow (512 connections, 256 streams) and 429 for the
// rest, and another client's /healthz and queries are answered
// throughout. Without the per-address limit, the server keeps 128
// descriptors for itself and closes idle connections to let new ones in:
// every one of the 1,010 requests is answered, and nothing in the log
// says "too many open files" (before, /healthz and every query timed
// out).
func TestOneClientCannotExhaustFileDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server under a lowered open-file limit")
	}
	bin := testbin.Build(t)
	const tries = 1010
	// hold opens a connection from 127.0.0.1, sends request and reads the
	// answer's head; a stream's body is left unread.
	hold := func(t *testing.T, url, request string) (net.Conn, *http.Response) {
		t.Helper()
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		_ = c.SetDeadline(time.Time{})
		return c, resp
	}
	closeAll := func(conns []net.Conn) {
		for _, c := range conns {
			c.Close()
		}
	}
	answered := func(t *testing.T, client *http.Client, url string) {
		t.Helper()
		res, err := client.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("/healthz: %v", err)
		}
		res.Body.Close()
		res, err = client.Post(url+"/query", "application/json", strings.NewReader(`{"query":"{ instruments { symbol } }"}`))
		if err != nil {
			t.Fatalf("a query: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"symbol"`) {
			t.Fatalf("a query: %d %s", res.StatusCode, body)
		}
	}
	noneLeft := func(t *testing.T, logPath string) {
		t.Helper()
		logs, _ := os.ReadFile(logPath)
		if strings.Contains(string(logs), "too many open files") {
			t.Errorf("the server ran out of descriptors:\n%s", logs)
		}
	}

	t.Run("PerAddress", func(t *testing.T) {
		url, logPath := startUnderLimit(t, bin, 1024)
		other := clientFrom(t, otherAddress)
		var conns []net.Conn
		status := map[int]int{}
		for range tries {
			c, resp := hold(t, url, getHealthz)
			status[resp.StatusCode]++
			conns = append(conns, c)
		}
		if status[200] != server.DefaultMaxConnsPerAddress || status[429] != tries-server.DefaultMaxConnsPerAddress {
			t.Errorf("idle connections: %v, want %d answered and the rest 429", status, server.DefaultMaxConnsPerAddress)
		}
		answered(t, other, url)
		closeAll(conns)

		streams, refused := 0, map[string]int{}
		conns = conns[:0]
		body := `{"query":"subscription { quotes { symbol price } }"}`
		sse := fmt.Sprintf("POST /query HTTP/1.1\r\nHost: bullpen\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		for range tries {
			c, resp := hold(t, url, sse)
			if resp.StatusCode == http.StatusOK {
				streams++
				conns = append(conns, c)
				continue
			}
			var r gqlResponse
			_ = json.NewDecoder(resp.Body).Decode(&r)
			c.Close()
			if resp.StatusCode != http.StatusTooManyRequests || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "RATE_LIMITED" {
				t.Fatalf("stream refused with %d %+v, want 429 RATE_LIMITED", resp.StatusCode, r)
			}
			refused[r.Errors[0].Message]++
		}
		if streams != realtime.DefaultMaxPerAddress {
			t.Errorf("%d streams open, want %d; refused: %v", streams, realtime.DefaultMaxPerAddress, refused)
		}
		answered(t, other, url)
		closeAll(conns)
		noneLeft(t, logPath)
	})

	t.Run("AllConnections", func(t *testing.T) {
		url, logPath := startUnderLimit(t, bin, 1024, "-max-conns-per-address", "0")
		var conns []net.Conn
		for i := range tries {
			c, resp := hold(t, url, getHealthz)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("connection %d: %s", i, resp.Status)
			}
			conns = append(conns, c)
		}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		answered(t, client, url)
		answered(t, clientFrom(t, otherAddress), url)
		if got := metricFrom(t, client, url, "bullpen_connection_limit_reached_total"); got == "" || got == "0" {
			t.Errorf("bullpen_connection_limit_reached_total %q, want the limit reached", got)
		}
		closeAll(conns)
		noneLeft(t, logPath)
	})
}
