package game_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// Sessions on both engines: started, found, renewed, ended one at a time
// or all at once, with the hooks told after commit.
func TestSessions(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			alice, bob := h.user("alice"), h.user("bob")
			var mu sync.Mutex
			var ended []int64
			h.svc.OnSessionsEnded(func(id int64) { mu.Lock(); ended = append(ended, id); mu.Unlock() })
			start := func(u *game.User, id string, ttl time.Duration) *game.Session {
				t.Helper()
				s := &game.Session{ID: id, UserID: u.ID, ExpiresAt: h.clock.Now().Add(ttl)}
				if err := h.svc.StartSession(h.ctx, s); err != nil {
					t.Fatal(err)
				}
				return s
			}
			live := func(u *game.User) []string {
				t.Helper()
				ids, err := h.svc.LiveSessions(h.ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for id := range ids {
					out = append(out, id)
				}
				slices.Sort(out)
				return out
			}
			authn := func(id string, u *game.User) string {
				t.Helper()
				got, err := h.svc.Authenticate(h.ctx, id, u.ID)
				if err != nil {
					return game.ErrorCode(err)
				}
				if got.ID != u.ID || got.Username != u.Username {
					t.Fatalf("Authenticate(%s) = %+v, want %s", id, got, u.Username)
				}
				return "ok"
			}

			a1 := start(alice, "a1", time.Hour)
			start(alice, "a2", 2*time.Hour)
			start(bob, "b1", time.Hour)
			for _, c := range []struct {
				id   string
				user *game.User
				want string
			}{{"a1", alice, "ok"}, {"a2", alice, "ok"}, {"b1", bob, "ok"}, {"b1", alice, game.EUNAUTHENTICATED}, {"zz", alice, game.EUNAUTHENTICATED}} {
				if got := authn(c.id, c.user); got != c.want {
					t.Errorf("Authenticate(%s as %s) = %s, want %s", c.id, c.user.Username, got, c.want)
				}
			}

			t.Run("StartSessionDropsExpiredOnes", func(t *testing.T) {
				h.clock.Advance(90 * time.Minute) // a1 has expired, a2 not
				start(alice, "a3", time.Hour)
				if got := live(alice); !slices.Equal(got, []string{"a2", "a3"}) {
					t.Errorf("alice's sessions = %v, want [a2 a3]", got)
				}
				if got := live(bob); !slices.Equal(got, []string{"b1"}) {
					t.Errorf("bob's sessions = %v, want [b1] (another user's expired session is theirs to lose)", got)
				}
			})
			t.Run("Renew", func(t *testing.T) {
				s := &game.Session{ID: "a2", UserID: alice.ID, ExpiresAt: h.clock.Now().Add(5 * time.Hour)}
				if err := h.svc.RenewSession(h.ctx, s); err != nil {
					t.Fatal(err)
				}
				all, err := h.store.Sessions(h.ctx, alice.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, got := range all {
					if got.ID == "a2" && !got.ExpiresAt.Equal(s.ExpiresAt) {
						t.Errorf("a2 expires at %v, want %v", got.ExpiresAt, s.ExpiresAt)
					}
				}
				for _, bad := range []*game.Session{a1, {ID: "b1", UserID: alice.ID}} {
					bad.ExpiresAt = h.clock.Now().Add(time.Hour)
					if err := h.svc.RenewSession(h.ctx, bad); game.ErrorCode(err) != game.EUNAUTHENTICATED {
						t.Errorf("renew %s of user %d: %v, want UNAUTHENTICATED", bad.ID, bad.UserID, err)
					}
				}
			})
			t.Run("EndSession", func(t *testing.T) {
				if err := h.svc.EndSession(h.ctx, alice, "b1"); err != nil { // not hers: nothing happens
					t.Fatal(err)
				}
				if got := authn("b1", bob); got != "ok" {
					t.Errorf("bob's session after alice tried to end it: %s", got)
				}
				if err := h.svc.EndSession(h.ctx, alice, "a2"); err != nil {
					t.Fatal(err)
				}
				if got := authn("a2", alice); got != game.EUNAUTHENTICATED {
					t.Errorf("an ended session authenticates: %s", got)
				}
				if got := authn("a3", alice); got != "ok" {
					t.Errorf("alice's other session: %s", got)
				}
			})
			t.Run("EndSessions", func(t *testing.T) {
				start(bob, "b2", time.Hour)
				if err := h.svc.EndSessions(h.ctx, bob); err != nil {
					t.Fatal(err)
				}
				if got := live(bob); len(got) != 0 {
					t.Errorf("bob's sessions after EndSessions = %v", got)
				}
				if got := authn("a3", alice); got != "ok" {
					t.Errorf("alice's session after bob signed out everywhere: %s", got)
				}
				if err := h.svc.EndSessions(h.ctx, nil); game.ErrorCode(err) != game.EUNAUTHENTICATED {
					t.Errorf("EndSessions(nil) = %v", err)
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if want := []int64{alice.ID, alice.ID, bob.ID}; !slices.Equal(ended, want) {
				t.Errorf("OnSessionsEnded heard %v, want %v", ended, want)
			}
		})
	}
}

// -admins reaches the accounts that exist when ApplyAdmins runs, never one
// signed up later; the stored role is read afresh.
func TestAdmins(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			early := h.user("Admin") // the harness lists "admin"
			missing, err := h.svc.ApplyAdmins(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) != 0 {
				t.Errorf("missing = %v", missing)
			}
			isAdmin := func(u *game.User) bool {
				t.Helper()
				ok, err := h.svc.IsAdmin(h.ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !isAdmin(early) {
				t.Error("an account listed and existing at start-up is no admin")
			}
			if isAdmin(nil) {
				t.Error("anonymous is admin")
			}

			// A fresh service (a restart) whose listed name has no account
			// yet: signing up under it afterwards gives nothing.
			h2 := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			missing, err = h2.svc.ApplyAdmins(h2.ctx)
			if err != nil || !slices.Equal(missing, []string{"admin"}) {
				t.Fatalf("ApplyAdmins = %v, %v; want [admin] missing", missing, err)
			}
			late := h2.user("admin")
			if ok, _ := h2.svc.IsAdmin(h2.ctx, late); ok {
				t.Fatal("signing up under a name -admins lists gave the admin role")
			}
			// Nor does the next start: the name was first seen without an
			// account, so -admins never reaches whoever took it since.
			restarted := func(store game.Store) *game.Service {
				t.Helper()
				svc := game.NewService(game.Config{Store: store, Clock: h2.clock, Admins: map[string]bool{"admin": true},
					Passwords: auth.Bcrypt{Cost: bcrypt.MinCost}})
				if _, err := svc.ApplyAdmins(h2.ctx); err != nil {
					t.Fatal(err)
				}
				return svc
			}
			if ok, _ := restarted(h2.store).IsAdmin(h2.ctx, late); ok {
				t.Fatal("a restart gave -admins' role to the account signed up under the listed name")
			}
			if ok, _ := restarted(h.store).IsAdmin(h.ctx, early); !ok {
				t.Error("a restart took -admins' role from the account that existed when the name was first listed")
			}
			if _, err := h2.svc.SetQuote(h2.ctx, late, "AAPL", dec("100"), game.QuoteInput{}); game.ErrorCode(err) != game.EFORBIDDEN {
				t.Errorf("SetQuote by the late sign-up: %v, want FORBIDDEN", err)
			}
			if u, err := h2.svc.SetAdmin(h2.ctx, "ADMIN", true); err != nil || u.ID != late.ID {
				t.Fatalf("SetAdmin = %+v, %v", u, err)
			}
			if ok, _ := h2.svc.IsAdmin(h2.ctx, late); !ok {
				t.Error("granted, but no admin")
			}
			if _, err := h2.svc.SetQuote(h2.ctx, late, "AAPL", dec("100"), game.QuoteInput{}); err != nil {
				t.Errorf("SetQuote once granted: %v", err)
			}
			admins, err := h2.svc.Admins(h2.ctx)
			if err != nil || len(admins) != 1 || admins[0].ID != late.ID {
				t.Errorf("Admins = %v, %v", admins, err)
			}
			if _, err := h2.svc.SetAdmin(h2.ctx, "admin", false); err != nil {
				t.Fatal(err)
			}
			if ok, _ := h2.svc.IsAdmin(h2.ctx, late); ok {
				t.Error("revoked, but still admin")
			}
			if _, err := h2.svc.SetAdmin(h2.ctx, "nobody", true); game.ErrorCode(err) != game.ENOTFOUND {
				t.Errorf("SetAdmin of no account = %v, want NOT_FOUND", err)
			}
		})
	}
}

// countingPasswords is the real bcrypt, counting comparisons.
type countingPasswords struct {
	auth.Bcrypt
	mu       sync.Mutex
	compares int
}

func (c *countingPasswords) Compare(hash, password string) error {
	c.mu.Lock()
	c.compares++
	c.mu.Unlock()
	return c.Bcrypt.Compare(hash, password)
}

// SignIn answers an unknown username exactly as a wrong password, after
// the same work: one bcrypt comparison at the same cost.
func TestSignInDoesNotTellWhichUsernamesExist(t *testing.T) {
	h := newHarness(t)
	pw := &countingPasswords{Bcrypt: auth.Bcrypt{Cost: bcrypt.MinCost}}
	svc := game.NewService(game.Config{Store: h.store, Clock: h.clock, Passwords: pw})
	if _, err := svc.SignUp(h.ctx, "alice", "password123", nil); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, name := range []string{"alice", "nobody"} {
		pw.mu.Lock()
		pw.compares = 0
		pw.mu.Unlock()
		_, err := svc.SignIn(h.ctx, name, "wrong password")
		if game.ErrorCode(err) != game.EUNAUTHENTICATED {
			t.Fatalf("%s: %v", name, err)
		}
		msgs = append(msgs, fmt.Sprint(err))
		pw.mu.Lock()
		if pw.compares != 1 {
			t.Errorf("%s: %d password comparisons, want 1", name, pw.compares)
		}
		pw.mu.Unlock()
	}
	if msgs[0] != msgs[1] {
		t.Errorf("wrong password: %q; unknown user: %q", msgs[0], msgs[1])
	}
}

// BenchmarkAuthenticate is what every authenticated request now pays to
// check its session in the store (no cache).
func BenchmarkAuthenticate(b *testing.B) {
	for _, backend := range dbtest.Backends() {
		b.Run(backend, func(b *testing.B) {
			h := openHarnessDSN(b, dbtest.Open(b, backend), clockwork.NewFakeClockAt(t0))
			u := h.user("alice")
			s := &game.Session{ID: "bench", UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}
			if err := h.svc.StartSession(h.ctx, s); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.svc.Authenticate(h.ctx, s.ID, u.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// With CacheSessions (SQLite, one writer), a session read once is answered
// from memory, and a sign-out, of one session or of all, is refused at
// once all the same.
func TestSessionCacheForgetsSignOuts(t *testing.T) {
	h := newHarness(t)
	svc := game.NewService(game.Config{Store: h.store, Clock: h.clock, CacheSessions: true})
	alice, bob := h.user("alice"), h.user("bob")
	for _, s := range []*game.Session{{ID: "a1", UserID: alice.ID}, {ID: "a2", UserID: alice.ID}, {ID: "a3", UserID: alice.ID}, {ID: "b1", UserID: bob.ID}} {
		s.ExpiresAt = h.clock.Now().Add(time.Hour)
		if err := svc.StartSession(h.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	authn := func(id string, u *game.User) string {
		t.Helper()
		_, err := svc.Authenticate(h.ctx, id, u.ID)
		if err != nil {
			return game.ErrorCode(err)
		}
		return "ok"
	}
	for range 2 { // the second round answers from the cache
		for _, c := range []struct {
			id string
			u  *game.User
		}{{"a1", alice}, {"a2", alice}, {"a3", alice}, {"b1", bob}} {
			if got := authn(c.id, c.u); got != "ok" {
				t.Fatalf("%s: %s", c.id, got)
			}
		}
		if got := authn("b1", alice); got != game.EUNAUTHENTICATED {
			t.Fatalf("b1 as alice: %s", got)
		}
	}
	if err := svc.EndSession(h.ctx, alice, "a1"); err != nil {
		t.Fatal(err)
	}
	if got := authn("a1", alice); got != game.EUNAUTHENTICATED {
		t.Errorf("a1 after signOut: %s", got)
	}
	if got := authn("a2", alice); got != "ok" {
		t.Errorf("a2 after signing out a1: %s", got)
	}
	if err := svc.EndSessions(h.ctx, alice); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a2", "a3"} {
		if got := authn(id, alice); got != game.EUNAUTHENTICATED {
			t.Errorf("%s after signOutEverywhere: %s", id, got)
		}
	}
	if got := authn("b1", bob); got != "ok" {
		t.Errorf("bob after alice signed out everywhere: %s", got)
	}
}
