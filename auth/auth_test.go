package auth_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/db"
)

func TestBcrypt(t *testing.T) {
	p := auth.Bcrypt{Cost: bcrypt.MinCost}
	h1, err := p.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := p.Hash("correct horse")
	if h1 == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if strings.Contains(h1, "correct horse") {
		t.Error("hash contains the password")
	}
	if err := p.Compare(h1, "correct horse"); err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if err := p.Compare(h1, "wrong horse"); err == nil {
		t.Error("wrong password accepted")
	}
}

func TestTokens(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tokens := auth.NewTokens([]byte("0123456789abcdef0123"), clock, time.Hour)
	sess, err := tokens.NewSession(42)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.ID) != 32 || sess.UserID != 42 || !sess.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("NewSession = %+v", sess)
	}
	tok, err := tokens.Issue(sess)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Valid", func(t *testing.T) {
		got, err := tokens.Verify(tok)
		if err != nil || got.UserID != 42 || got.ID != sess.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Fatalf("Verify = %+v, %v; want %+v", got, err, sess)
		}
	})
	t.Run("OtherSessionsDiffer", func(t *testing.T) {
		other, err := tokens.NewSession(42)
		if err != nil || other.ID == sess.ID {
			t.Fatalf("second session %+v, %v: same id as the first", other, err)
		}
	})
	t.Run("OtherSecret", func(t *testing.T) {
		other := auth.NewTokens([]byte("another secret, long enough"), clock, time.Hour)
		if _, err := other.Verify(tok); err != auth.ErrBadToken {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		if _, err := tokens.Verify(tok[:len(tok)-2] + "xx"); err != auth.ErrBadToken {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("AlgNone", func(t *testing.T) {
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "42", Issuer: "bullpen", ID: sess.ID,
			ExpiresAt: jwt.NewNumericDate(clock.Now().Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if _, err := tokens.Verify(none); err != auth.ErrBadToken {
			t.Errorf("alg=none accepted: %v", err)
		}
	})
	t.Run("NoSession", func(t *testing.T) {
		// A token of the days before sessions (no jti) is refused.
		old, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "42", Issuer: "bullpen",
			ExpiresAt: jwt.NewNumericDate(clock.Now().Add(time.Hour))}).SignedString([]byte("0123456789abcdef0123"))
		if _, err := tokens.Verify(old); err != auth.ErrBadToken {
			t.Errorf("token without jti: err = %v", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		clock.Advance(time.Hour - time.Second)
		if _, err := tokens.Verify(tok); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		clock.Advance(2 * time.Second)
		if _, err := tokens.Verify(tok); err != auth.ErrBadToken {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ExpiresAtItsSecond", func(t *testing.T) {
		// Verified once (and remembered), then at its expiry second: the
		// remembered token is refused as a fresh one is.
		s, _ := tokens.NewSession(7)
		tok, err := tokens.Issue(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Verify(tok); err != nil {
			t.Fatal(err)
		}
		clock.Advance(s.ExpiresAt.Sub(clock.Now()))
		if _, err := tokens.Verify(tok); err != auth.ErrBadToken {
			t.Errorf("remembered token at its expiry: err = %v", err)
		}
		fresh := auth.NewTokens([]byte("0123456789abcdef0123"), clock, time.Hour)
		if _, err := fresh.Verify(tok); err != auth.ErrBadToken {
			t.Errorf("fresh verification at its expiry: err = %v", err)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		if _, err := tokens.Verify("garbage"); err != auth.ErrBadToken {
			t.Errorf("err = %v", err)
		}
	})
}

func TestCheckTTL(t *testing.T) {
	for _, ttl := range []time.Duration{time.Minute, auth.DefaultTokenTTL, 365 * 24 * time.Hour} {
		if err := auth.CheckTTL(ttl); err != nil {
			t.Errorf("CheckTTL(%v) = %v", ttl, err)
		}
	}
	for _, ttl := range []time.Duration{0, -time.Hour, time.Second, 59 * time.Second, 366 * 24 * time.Hour} {
		if err := auth.CheckTTL(ttl); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("CheckTTL(%v) = %v, want out of range", ttl, err)
		}
	}
	if auth.DefaultTokenTTL >= 30*24*time.Hour {
		t.Errorf("the default lifetime %v is not shorter than 30 days", auth.DefaultTokenTTL)
	}
}

func TestLoadSecret(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	clock := clockwork.NewFakeClock()
	open := func() *db.Store {
		s, err := db.Open(ctx, "sqlite:"+path, clock, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	first, err := auth.LoadSecret(ctx, s, "")
	if err != nil || len(first) < 32 {
		t.Fatalf("generated %q, %v", first, err)
	}
	s.Close()
	s = open()
	defer s.Close()
	again, err := auth.LoadSecret(ctx, s, "")
	if err != nil || string(again) != string(first) {
		t.Errorf("secret not kept across restarts")
	}
	given, err := auth.LoadSecret(ctx, s, "a-given-secret-of-some-length")
	if err != nil || string(given) != "a-given-secret-of-some-length" {
		t.Errorf("given secret not used: %q %v", given, err)
	}
	if _, err := auth.LoadSecret(ctx, s, "short"); err == nil {
		t.Error("short secret accepted")
	}
}
