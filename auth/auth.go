// Package auth hashes passwords and signs session tokens.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/bullpen/bullpen/game"
)

// Bcrypt hashes passwords with bcrypt (salted, slow by design).
type Bcrypt struct{ Cost int }

// CheckCost reports whether cost is a bcrypt cost Bcrypt uses as given:
// 0 (the default, 10) or 4 to 31.
func CheckCost(cost int) error {
	if cost != 0 && (cost < bcrypt.MinCost || cost > bcrypt.MaxCost) {
		return fmt.Errorf("bcrypt cost %d is out of range: want %d to %d, or 0 for the default (%d)",
			cost, bcrypt.MinCost, bcrypt.MaxCost, bcrypt.DefaultCost)
	}
	return nil
}

var _ game.Passwords = Bcrypt{}

// Hash returns the bcrypt hash of password.
func (b Bcrypt) Hash(password string) (string, error) {
	cost := b.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// Compare returns nil when password matches hash.
func (Bcrypt) Compare(hash, password string) error {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
}

// DefaultTokenTTL is how long a session token is valid unless -token-ttl
// says otherwise; renewToken gives a fresh one.
const DefaultTokenTTL = 7 * 24 * time.Hour

// Bounds of a token lifetime (CheckTTL).
const (
	MinTokenTTL = time.Minute
	MaxTokenTTL = 365 * 24 * time.Hour
)

// CheckTTL reports whether ttl is a sensible token lifetime.
func CheckTTL(ttl time.Duration) error {
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return fmt.Errorf("%v is out of range: want a duration from %v to %v, such as 168h (7 days)", ttl, MinTokenTTL, MaxTokenTTL)
	}
	return nil
}

// Tokens issues and verifies HS256-signed session tokens. A token names
// its user (sub) and its session (jti); it is valid while it has not
// expired and, which the game checks, its session has not ended.
type Tokens struct {
	secret []byte
	clock  clockwork.Clock
	ttl    time.Duration
	// verified remembers the sessions of tokens verified lately, by the
	// whole token (signature included): a client sends the same token
	// with every request, and parsing it again (base64, JSON) was about
	// 5% of the server's CPU under the rooms benchmark. A remembered
	// token is still refused once it expires.
	verified *lru.Cache[string, game.Session]
}

// verifiedTokens is how many verified tokens Tokens remembers.
const verifiedTokens = 4096

// NewTokens returns Tokens signing with secret, valid for ttl.
func NewTokens(secret []byte, clock clockwork.Clock, ttl time.Duration) *Tokens {
	verified, err := lru.New[string, game.Session](verifiedTokens)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &Tokens{secret: secret, clock: clock, ttl: ttl, verified: verified}
}

const issuer = "bullpen"

// NewSession returns a new session of userID, with a random id, expiring
// one lifetime from now.
func (t *Tokens) NewSession(userID int64) (*game.Session, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &game.Session{ID: hex.EncodeToString(b[:]), UserID: userID, ExpiresAt: t.Expiry()}, nil
}

// Expiry is when a token issued now expires.
func (t *Tokens) Expiry() time.Time {
	return t.clock.Now().Add(t.ttl).Truncate(time.Second) // JWT times are whole seconds
}

// Issue returns a token of session s, valid until s.ExpiresAt.
func (t *Tokens) Issue(s *game.Session) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   strconv.FormatInt(s.UserID, 10),
		ID:        s.ID,
		IssuedAt:  jwt.NewNumericDate(t.clock.Now()),
		ExpiresAt: jwt.NewNumericDate(s.ExpiresAt),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
}

// ErrBadToken is returned for a token that is malformed, forged or expired.
var ErrBadToken = errors.New("invalid or expired token")

// Verify returns the session a valid token names: its ID, UserID and
// ExpiresAt. Whether the session still exists is for the caller to check
// (game.Service.Authenticate).
func (t *Tokens) Verify(token string) (game.Session, error) {
	if s, ok := t.verified.Get(token); ok {
		// As jwt checks exp: valid while now is before it.
		if !t.clock.Now().Before(s.ExpiresAt) {
			return game.Session{}, ErrBadToken
		}
		return s, nil
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.clock.Now),
	)
	if err != nil || claims.ID == "" || claims.ExpiresAt == nil {
		return game.Session{}, ErrBadToken
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id < 1 {
		return game.Session{}, ErrBadToken
	}
	s := game.Session{ID: claims.ID, UserID: id, ExpiresAt: claims.ExpiresAt.Time}
	t.verified.Add(token, s)
	return s, nil
}

const secretKey = "token_secret"

// MinSecretLen is the length, in bytes, of the shortest secret accepted.
const MinSecretLen = 16

// CheckSecret reports whether a secret given by the operator may sign
// tokens; an empty one means "generate one" and is accepted.
func CheckSecret(given string) error {
	if given != "" && len(given) < MinSecretLen {
		return fmt.Errorf("secret must be at least %d characters (got %d)", MinSecretLen, len(given))
	}
	return nil
}

// LoadSecret returns given when it is set; otherwise the secret kept in
// the store, generating and storing one on first start. Several instances
// starting at once agree: the first write wins and the others read it.
func LoadSecret(ctx context.Context, store game.Store, given string) ([]byte, error) {
	if given != "" {
		if err := CheckSecret(given); err != nil {
			return nil, err
		}
		return []byte(given), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	// Several instances may start at once: the first write wins and every
	// instance reads the one stored.
	err := store.Update(ctx, func(tx game.Tx) error {
		return tx.InitSetting(ctx, secretKey, hex.EncodeToString(b[:]))
	})
	if err != nil {
		return nil, fmt.Errorf("store token secret: %w", err)
	}
	secret, err := store.Setting(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("load token secret: %w", err)
	}
	return []byte(secret), nil
}

// AddressKey derives from the token secret the key that client addresses
// are hashed with before they are stored (game.Config.AddressKey, for the
// integrity report): HMAC-SHA256 of a fixed label under the secret, so
// every instance with the secret hashes alike, and neither key reveals
// the other.
func AddressKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("bullpen client address key v1"))
	return m.Sum(nil)
}
