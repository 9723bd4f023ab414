package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/internal/server"
)

const quotesSubscription = `subscription { quotes(symbols: ["AAPL"]) { symbol price } }`

// postRaw posts an operation with a token and returns the status and body as sent.
func (ts *testServer) postRaw(t *testing.T, token, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// refusedLikeGarbage checks that token is refused exactly as a garbage
// token is: the same HTTP status and body, 401 on SSE, 4403 on WebSocket.
func (ts *testServer) refusedLikeGarbage(t *testing.T, token string) {
	t.Helper()
	wantStatus, wantBody := ts.postRaw(t, "garbage", `{ me { id } }`)
	if wantStatus != http.StatusUnauthorized || !strings.Contains(wantBody, `"UNAUTHENTICATED"`) {
		t.Fatalf("the control: a garbage token got %d %s", wantStatus, wantBody)
	}
	if status, body := ts.postRaw(t, token, `{ me { id } }`); status != wantStatus || body != wantBody {
		t.Errorf("HTTP: %d %s; a garbage token gets %d %s", status, body, wantStatus, wantBody)
	}
	resp, err := ts.postSSE(t.Context(), token, quotesSubscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("SSE: status %d, want 401", resp.StatusCode)
	}
	if code := ts.openWS(t, token).closeCode(); code != 4403 {
		t.Errorf("WebSocket: close %d, want 4403", code)
	}
}

func (ts *testServer) signIn(t *testing.T, name string) string {
	t.Helper()
	var out struct{ SignIn struct{ Token string } }
	ts.with(t).must("", `mutation($u: String!) { signIn(input: {username: $u, password: "password123"}) { token } }`, map[string]any{"u": name}, &out)
	return out.SignIn.Token
}

// stillOpen checks a WebSocket is open and serving: a new subscription on
// it gets no error and the socket no close.
func stillOpen(t *testing.T, m *wsMux) {
	t.Helper()
	m.mu.Lock()
	closed, code := m.closed, m.code
	m.mu.Unlock()
	if closed {
		t.Fatalf("socket closed (%d), want it open", code)
	}
}

// signOut ends one session, signOutEverywhere all of them: the tokens are
// then refused like any bad token, live WebSockets of those sessions are
// closed with 4403 and SSE streams end; other sessions are untouched.
func TestSignOut(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ts := startServerOn(t, dbtest.Open(t, backend))
			first := ts.signUp("alice")
			second := ts.signIn(t, "alice")
			bob := ts.signUp("bob")

			for _, op := range []string{`mutation { signOut }`, `mutation { signOutEverywhere }`, `mutation { renewToken { token } }`} {
				ts.with(t).fails("", op, nil, unauthed)
			}

			// Live streams of each session: graphql-transport-ws, the legacy
			// protocol, SSE.
			ws1, ws2, wsBob := ts.openWS(t, first), ts.openWS(t, second), ts.openWS(t, bob)
			for _, m := range []*wsMux{ws1, ws2, wsBob} {
				if !m.waitAck() {
					t.Fatal("no connection_ack")
				}
			}
			legacy, _, err := ts.dialWS(t, "graphql-ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			legacy.init(map[string]any{"authToken": first})
			sse := ts.openSSE(t, first, quotesSubscription, nil)
			sub := ws1.subscribe(quotesSubscription, nil)
			waitFor(t, "five watched streams", func() bool { return ts.query.WatchedStreams() == 5 })

			var out struct{ SignOut bool }
			ts.must(first, `mutation { signOut }`, nil, &out)
			if !out.SignOut {
				t.Fatal("signOut = false")
			}
			if code := ws1.closeCode(); code != 4403 {
				t.Errorf("graphql-transport-ws socket of the signed-out session: close %d, want 4403", code)
			}
			if code := legacy.closeCode(); code != 4403 {
				t.Errorf("legacy socket of the signed-out session: close %d, want 4403", code)
			}
			if !sub.waitUntil(streamWait, func(s streamSnapshot) bool { return s.ended }) {
				t.Error("the subscription on the closed socket did not end")
			}
			if !sse.waitUntil(streamWait, func(s streamSnapshot) bool { return s.ended }) {
				t.Error("the SSE stream of the signed-out session did not end")
			}
			ts.refusedLikeGarbage(t, first)
			stillOpen(t, ws2)
			stillOpen(t, wsBob)
			var me struct{ Me struct{ Username string } }
			ts.must(second, `{ me { username } }`, nil, &me)
			if me.Me.Username != "alice" {
				t.Errorf("alice's other session: me = %+v", me)
			}

			// Signing out again with the dead token is a bad token.
			ts.fails(first, `mutation { signOut }`, nil, unauthed)

			third := ts.signIn(t, "alice")
			var all struct{ SignOutEverywhere bool }
			ts.must(third, `mutation { signOutEverywhere }`, nil, &all)
			if !all.SignOutEverywhere {
				t.Fatal("signOutEverywhere = false")
			}
			if code := ws2.closeCode(); code != 4403 {
				t.Errorf("alice's other socket after signOutEverywhere: close %d, want 4403", code)
			}
			ts.refusedLikeGarbage(t, second)
			ts.refusedLikeGarbage(t, third)
			stillOpen(t, wsBob)
			ts.must(bob, `{ me { username } }`, nil, nil)

			// Signing in again works, and no stream of alice's is watched.
			ts.must(ts.signIn(t, "alice"), `{ me { username } }`, nil, nil)
			waitFor(t, "only bob's socket watched", func() bool { return ts.query.WatchedStreams() == 1 })
		})
	}
}

// Tokens expire after -token-ttl; renewToken gives a fresh token of the
// same session, valid for -token-ttl from the renewal. Time is the fake
// clock's.
func TestTokenLifetimeAndRenewal(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ts := startServerOn(t, dbtest.Open(t, backend), "-token-ttl", "1h")
			tok := ts.signUp("alice")
			if c := tokenClaims(t, tok); !c.ExpiresAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("token expires at %v, want %v (issued at %v, -token-ttl 1h)", c.ExpiresAt, t0.Add(time.Hour), t0)
			}
			ts.clock.Advance(59 * time.Minute)
			var out struct {
				RenewToken struct {
					Token string
					User  struct{ Username string }
				}
			}
			ts.must(tok, `mutation { renewToken { token user { username } } }`, nil, &out)
			renewed := out.RenewToken.Token
			if out.RenewToken.User.Username != "alice" {
				t.Errorf("renewToken user = %q", out.RenewToken.User.Username)
			}
			c, old := tokenClaims(t, renewed), tokenClaims(t, tok)
			if !c.ExpiresAt.Equal(t0.Add(119*time.Minute)) || c.ID != old.ID {
				t.Fatalf("renewed token: exp %v, session %s; want exp %v, session %s", c.ExpiresAt, c.ID, t0.Add(119*time.Minute), old.ID)
			}
			ts.must(tok, `{ me { id } }`, nil, nil) // the old one lives until its own expiry

			ts.clock.Advance(2 * time.Minute) // past the first token's hour
			ts.refusedLikeGarbage(t, tok)
			ts.must(renewed, `{ me { id } }`, nil, nil)
			ts.fails(tok, `mutation { renewToken { token } }`, nil, unauthed)

			ts.clock.Advance(58*time.Minute + time.Second) // past the renewal's hour
			ts.refusedLikeGarbage(t, renewed)

			// Signing out ends every token of the session, renewed or not.
			a := ts.signIn(t, "alice")
			ts.clock.Advance(time.Second)
			ts.must(a, `mutation { renewToken { token } }`, nil, &out)
			ts.must(out.RenewToken.Token, `mutation { signOut }`, nil, nil)
			ts.refusedLikeGarbage(t, a)
		})
	}
	t.Run("DefaultSevenDays", func(t *testing.T) {
		ts := startServer(t)
		c := tokenClaims(t, ts.signUp("alice"))
		if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != 7*24*time.Hour {
			t.Errorf("default lifetime %v, want 168h", got)
		}
	})
}

// The admin role: -admins reaches only accounts that existed when the
// server started; `bullpen admin grant/revoke` changes it in the database,
// and a running server sees it at once.
func TestAdminRole(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbURL := dbtest.Open(t, backend)
			before := startServerOn(t, dbURL)
			before.signUp("carol")
			before.stop()

			ts := startServerOn(t, dbURL, "-admins", "carol, boss")
			setQuote := `mutation { setQuote(symbol: "AAPL", price: "101") { price } }`
			carol := ts.signIn(t, "carol")
			ts.must(carol, setQuote, nil, nil)
			boss := ts.signUp("boss") // listed, but signed up after the start
			if e := ts.fails(boss, setQuote, nil, forbidden); !strings.Contains(e.Message, "bullpen admin grant USERNAME") {
				t.Errorf("setQuote refused with %q: it should say how the role is granted", e.Message)
			}

			admin := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := server.Run(context.Background(), append([]string{"admin"}, append(args, "-db", dbURL)...), func(string) string { return "" }, &out, nil)
				return out.String(), err
			}
			if out, err := admin("grant", "BOSS"); err != nil || out != "boss now holds the admin role\n" {
				t.Fatalf("admin grant BOSS: %q, %v", out, err)
			}
			ts.must(boss, setQuote, nil, nil)
			if out, err := admin("list"); err != nil || out != "boss\n" {
				t.Errorf("admin list: %q, %v; want boss (carol holds it from -admins only)", out, err)
			}
			if _, err := admin("revoke", "boss"); err != nil {
				t.Fatal(err)
			}
			ts.fails(boss, setQuote, nil, forbidden)
			ts.must(carol, setQuote, nil, nil)
			if out, err := admin("list"); err != nil || out != "" {
				t.Errorf("admin list after revoke: %q, %v", out, err)
			}

			// A restart with the same -admins: boss's account exists now,
			// but the name was first listed without one, so -admins never
			// reaches it. Tokens outlive the restart (sessions are stored).
			ts.stop()
			ts = startServerOn(t, dbURL, "-admins", "carol,boss")
			ts.fails(boss, setQuote, nil, forbidden)
			ts.must(carol, setQuote, nil, nil)

			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"grant", "nobody"}, `no account is named "nobody" in ` + server.RedactDSN(dbURL)},
				{nil, "say grant NAME, revoke NAME or list"},
				{[]string{"promote", "boss"}, `unknown command "promote"`},
				{[]string{"grant"}, "want exactly one account name, got 0"},
				{[]string{"grant", "boss", "carol"}, "want exactly one account name, got 2"},
				{[]string{"list", "boss"}, "takes no name"},
			} {
				if _, err := admin(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("admin %v: %v, want an error containing %q", c.args, err, c.want)
				}
			}
		})
	}
	t.Run("MemoryDatabase", func(t *testing.T) {
		err := server.Run(context.Background(), []string{"admin", "-db", "sqlite::memory:", "list"}, func(string) string { return "" }, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "in-memory") {
			t.Errorf("admin on sqlite::memory: = %v", err)
		}
	})
	t.Run("NoDatabaseFile", func(t *testing.T) {
		// Run where no bullpen.db is: the default -db names a file that
		// does not exist, which must be said, not created.
		t.Chdir(t.TempDir())
		err := server.Run(context.Background(), []string{"admin", "grant", "alice"}, func(string) string { return "" }, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "no database at bullpen.db (-db sqlite:bullpen.db)") {
			t.Errorf("admin grant with no database file: %v, want it to name bullpen.db", err)
		}
		if _, err := os.Stat("bullpen.db"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("bullpen.db after the refused admin grant: %v, want none created", err)
		}
	})
	t.Run("DatabaseFromEnvironment", func(t *testing.T) {
		ts := startServer(t)
		ts.signUp("dana")
		var out bytes.Buffer
		env := func(k string) string {
			if k == "BULLPEN_DB" {
				return ts.dbURL
			}
			return ""
		}
		if err := server.Run(context.Background(), []string{"admin", "grant", "dana"}, env, &out, nil); err != nil {
			t.Fatal(err)
		}
		ts.must(ts.signIn(t, "dana"), `mutation { setQuote(symbol: "AAPL", price: "99") { price } }`, nil, nil)
	})
	t.Run("Help", func(t *testing.T) {
		for _, args := range [][]string{{"-help"}, {"--help"}, {"admin", "-help"}} {
			err := server.Run(context.Background(), args, func(string) string { return "" }, io.Discard, nil)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("%v: %v, want flag.ErrHelp", args, err)
			}
		}
	})
}

// Two servers on one PostgreSQL database: a session ended on one is
// refused by the other at once, and the other closes its sockets (told by
// NOTIFY).
func TestSignOutAcrossInstances(t *testing.T) {
	dbURL := dbtest.Postgres(t)
	a := startServerOn(t, dbURL)
	b := startServerOn(t, dbURL)
	tok := a.signUp("alice")
	other := b.signIn(t, "alice")
	ws := b.openWS(t, tok)
	wsOther := b.openWS(t, other)
	if !ws.waitAck() || !wsOther.waitAck() {
		t.Fatal("no connection_ack from b")
	}
	b.must(tok, `{ me { username } }`, nil, nil)
	a.must(tok, `mutation { signOut }`, nil, nil)
	b.refusedLikeGarbage(t, tok)
	if code := ws.closeCode(); code != 4403 {
		t.Errorf("b's socket of the signed-out session: close %d, want 4403", code)
	}
	stillOpen(t, wsOther)
	a.must(other, `mutation { signOutEverywhere }`, nil, nil)
	if code := wsOther.closeCode(); code != 4403 {
		t.Errorf("b's socket after signOutEverywhere on a: close %d, want 4403", code)
	}
	a.refusedLikeGarbage(t, other)
}

// waitFor polls cond (state another goroutine changes) for up to
// streamWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(streamWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// openWSUpgraded dials /query with `Authorization: Bearer <token>` on the
// upgrade request and starts the reader, but sends no connection_init.
func (ts *testServer) openWSUpgraded(t *testing.T, token string) *wsMux {
	t.Helper()
	return ts.dialWSMux(t, http.Header{"Authorization": {"Bearer " + token}})
}

// signedOutBeforeInit checks a socket upgraded with a session's token
// that ends (on the server ending) before connection_init: it is closed
// with 4403, at the sign-out or at the latest at the init, and never
// acknowledged.
func signedOutBeforeInit(t *testing.T, opener, ender *testServer, name, signOut string) {
	t.Helper()
	opener.with(t).signUp(name)
	waiting := opener.with(t).signIn(t, name) // no init: closed by the sign-out
	initing := opener.with(t).signIn(t, name) // init after the sign-out
	if signOut == `mutation { signOut }` {
		initing = waiting // one session: both sockets carry it
	}
	idle := opener.openWSUpgraded(t, waiting)
	late := opener.openWSUpgraded(t, initing)
	// Watched from the upgrade, before the 101 was sent: no wait needed,
	// but say so if not.
	if n := opener.query.WatchedStreams(); n < 2 {
		t.Errorf("%d streams watched after two upgrades with a token, want at least 2", n)
	}
	ender.with(t).must(waiting, signOut, nil, nil)
	if code := idle.closeCode(); code != 4403 {
		t.Errorf("%s: socket upgraded with the token, never initialised: close %d, want 4403", signOut, code)
	}
	late.write(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	if code := late.closeCode(); code != 4403 {
		t.Errorf("%s: socket upgraded with the token, initialised after: close %d, want 4403", signOut, code)
	}
	late.mu.Lock()
	acked := late.acked
	late.mu.Unlock()
	if acked {
		t.Errorf("%s: connection_init acknowledged for an ended session", signOut)
	}
}

// A WebSocket upgraded with a token whose session ends before its
// connection_init is closed with 4403, on one instance and across two.
func TestSignOutBeforeInit(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ts := startServerOn(t, dbtest.Open(t, backend))
			t.Run("SignOut", func(t *testing.T) { signedOutBeforeInit(t, ts, ts, "erin", `mutation { signOut }`) })
			t.Run("SignOutEverywhere", func(t *testing.T) { signedOutBeforeInit(t, ts, ts, "fred", `mutation { signOutEverywhere }`) })
		})
	}
	t.Run("AcrossInstances", func(t *testing.T) {
		dbURL := dbtest.Postgres(t)
		a, b := startServerOn(t, dbURL), startServerOn(t, dbURL)
		t.Run("SignOut", func(t *testing.T) { signedOutBeforeInit(t, b, a, "gina", `mutation { signOut }`) })
		t.Run("SignOutEverywhere", func(t *testing.T) { signedOutBeforeInit(t, b, a, "hugo", `mutation { signOutEverywhere }`) })
	})
}
