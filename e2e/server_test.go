package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/hub"
	"github.com/bullpen/bullpen/internal/server"
	"github.com/bullpen/bullpen/internal/testbin"
)

func TestMain(m *testing.M) { testbin.MainWithoutLeaks(m) }

var t0 = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// testServer is the whole binary running in-process on a free port.
type testServer struct {
	t     testing.TB
	url   string
	clock *clockwork.FakeClock
	svc   *game.Service
	dbURL string
	stop  func() // shuts the server down and waits; safe to call twice

	query  *graph.Handler
	events *hub.Hub
}

// noOrderLimit turns off the per-participant order limit for tests whose
// players trade flat out while the fake clock stands still.
var noOrderLimit = []string{"-orders-per-second", "0"}

// startServer runs the server with a fake clock and a manual market until
// the test ends, and checks that it shut down cleanly.
func startServer(t testing.TB, extra ...string) *testServer {
	t.Helper()
	return startServerOn(t, dbtest.SQLite(t), extra...)
}

// startServerOn runs the server on the given database.
func startServerOn(t testing.TB, dbURL string, extra ...string) *testServer {
	t.Helper()
	return startServerLogging(t, dbURL, io.Discard, extra...)
}

// startServerLogging runs the server on the given database, its log
// written to logs.
func startServerLogging(t testing.TB, dbURL string, logs io.Writer, extra ...string) *testServer {
	t.Helper()
	return startServerConfigured(t, dbURL, logs, nil, extra...)
}

// startServerConfigured runs the server on a fake clock with its
// transports adjusted by configure (nil: as the flags set them), its log
// written to logs.
func startServerConfigured(t testing.TB, dbURL string, logs io.Writer, configure func(*realtime.WebSocket, *realtime.SSE), extra ...string) *testServer {
	t.Helper()
	return startServerHooked(t, dbURL, logs, server.Hooks{Configure: configure}, extra...)
}

// startServerHooked runs the server on a fake clock with hooks (their
// Clock and Started are set here), its log written to logs.
func startServerHooked(t testing.TB, dbURL string, logs io.Writer, hooks server.Hooks, extra ...string) *testServer {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	ts := startServerWith(t, clock, dbURL, logs, hooks, extra...)
	ts.clock = clock
	return ts
}

// startServerClocked runs the server on clock (a real one for tests that
// measure the server in real time).
func startServerClocked(t testing.TB, clock clockwork.Clock, dbURL string, logs io.Writer, extra ...string) *testServer {
	t.Helper()
	return startServerWith(t, clock, dbURL, logs, server.Hooks{}, extra...)
}

// startServerWith runs the server on clock with hooks (their Clock and
// Started are set here), until the test ends.
func startServerWith(t testing.TB, clock clockwork.Clock, dbURL string, logs io.Writer, hooks server.Hooks, extra ...string) *testServer {
	t.Helper()
	ts := &testServer{t: t, dbURL: dbURL}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"-addr", "127.0.0.1:0", "-db", dbURL, "-market", "manual", "-bcrypt-cost", "4"}, extra...)
	done := make(chan error, 1)
	go func() {
		hooks.Clock = clock
		hooks.Started = func(addr string, svc *game.Service, query *graph.Handler, events *hub.Hub) {
			ts.url, ts.svc, ts.query, ts.events = "http://"+addr, svc, query, events
			close(ready)
		}
		done <- server.Run(ctx, args, func(string) string { return "" }, logs, &hooks)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server stopped with %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("server did not shut down")
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

// openStore opens the server's database beside it, for tests that check
// what is stored; it is closed when the test ends.
func (ts *testServer) openStore(t testing.TB) *db.Store {
	t.Helper()
	store, err := db.Open(context.Background(), ts.dbURL, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// with returns a copy of ts that reports to t (for subtests).
func (ts *testServer) with(t testing.TB) *testServer {
	c := *ts
	c.t = t
	return &c
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// do posts one operation; it fails the test on transport errors only.
func (ts *testServer) do(token, query string, vars map[string]any) gqlResponse {
	ts.t.Helper()
	out, err := ts.post(token, query, vars)
	if err != nil {
		ts.t.Fatalf("POST /query: %v", err)
	}
	return out
}

// post sends one operation to /query and decodes the response.
func (ts *testServer) post(token, query string, vars map[string]any) (gqlResponse, error) {
	var out gqlResponse
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// must runs an operation that must succeed and decodes data into v.
func (ts *testServer) must(token, query string, vars map[string]any, v any) {
	ts.t.Helper()
	r := ts.do(token, query, vars)
	if len(r.Errors) > 0 {
		ts.t.Fatalf("%s: errors %+v", firstLine(query), r.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			ts.t.Fatalf("decode %s: %v", r.Data, err)
		}
	}
}

// fails runs an operation that must fail with code.
func (ts *testServer) fails(token, query string, vars map[string]any, code string) gqlError {
	ts.t.Helper()
	r := ts.do(token, query, vars)
	if len(r.Errors) == 0 {
		ts.t.Fatalf("%s: succeeded with %s, want %s", firstLine(query), r.Data, code)
	}
	if got := r.Errors[0].Extensions["code"]; got != code {
		ts.t.Fatalf("%s: code %v (%s), want %s", firstLine(query), got, r.Errors[0].Message, code)
	}
	return r.Errors[0]
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

// grantAdmin gives the account name the admin role the way an operator
// does: `bullpen admin grant NAME -db URL`, here run in-process.
func grantAdmin(t testing.TB, dbURL, name string) {
	t.Helper()
	var out bytes.Buffer
	if err := server.Run(context.Background(), []string{"admin", "grant", name, "-db", dbURL}, func(string) string { return "" }, &out, nil); err != nil {
		t.Fatalf("bullpen admin grant %s: %v", name, err)
	}
}

// signUpAdmin signs name up and grants the account the admin role.
func (ts *testServer) signUpAdmin(name string) string {
	ts.t.Helper()
	token := ts.signUp(name)
	grantAdmin(ts.t, ts.dbURL, name)
	return token
}

func (ts *testServer) signUp(name string) string {
	ts.t.Helper()
	var out struct {
		SignUp struct{ Token string } `json:"signUp"`
	}
	ts.must("", `mutation($u: String!) { signUp(input: {username: $u, password: "password123"}) { token } }`, map[string]any{"u": name}, &out)
	return out.SignUp.Token
}

// eventually polls cond (which reads state a background goroutine
// changes) until it holds or a bound passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// A second server on the SQLite file of a running one refuses to start,
// naming the file and the process that holds it; once the first stops,
// the file is free again.
func TestOneServerPerSQLiteFile(t *testing.T) {
	first := startServer(t)
	second := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		args := []string{"-addr", "127.0.0.1:0", "-db", first.dbURL, "-market", "manual", "-bcrypt-cost", "4"}
		return server.Run(ctx, args, func(string) string { return "" }, io.Discard, &server.Hooks{Clock: clockwork.NewFakeClockAt(t0),
			Started: func(string, *game.Service, *graph.Handler, *hub.Hub) { cancel() }})
	}
	err := second()
	path := strings.TrimPrefix(first.dbURL, "sqlite:")
	if err == nil || !strings.Contains(err.Error(), path+" is in use by another bullpen server") ||
		!strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second server on %s: %v, want it refused naming the file and process %d", path, err, os.Getpid())
	}
	first.stop()
	if err := second(); err != nil {
		t.Fatalf("a server on the file after the first stopped: %v", err)
	}
}

// The startup line names where GraphiQL and the live room page are.
func TestStartupLogNamesPages(t *testing.T) {
	var logs syncBuffer
	ts := startServerLogging(t, dbtest.SQLite(t), &logs)
	for _, want := range []string{"graphiql=" + ts.url + "/", "room_page=" + ts.url + "/rooms/{id}"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("startup log %q lacks %q", logs.String(), want)
		}
	}
}
