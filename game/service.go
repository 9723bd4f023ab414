package game

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
)

// Passwords hashes and checks passwords.
type Passwords interface {
	Hash(password string) (string, error)
	// Compare returns nil when password matches hash.
	Compare(hash, password string) error
}

// Config wires a Service.
type Config struct {
	Store Store
	Clock clockwork.Clock
	Log   *slog.Logger
	// Instruments maps every tradable symbol to its name.
	Instruments map[string]string
	// ManualMarket is true when prices come only from SetQuote.
	ManualMarket bool
	// Admins names accounts that hold the admin role while the service
	// runs, besides those granted it in the store (SetAdmin). Only
	// accounts that exist when ApplyAdmins runs get it: signing up later
	// under a listed name gives nothing.
	Admins    map[string]bool
	Passwords Passwords
	// OrdersPerSecond bounds the orders of one participant (a burst of
	// that many, refilled evenly over a second); SignUpsPerHour bounds the
	// sign-ups of one client address (see WithClientAddress) the same way
	// over an hour. Zero: no limit.
	OrdersPerSecond, SignUpsPerHour int
	// CacheSessions lets Authenticate remember live sessions. Only for a
	// store no other process writes (SQLite): this process then sees every
	// sign-out, and forgets the session as it commits. With several
	// instances (PostgreSQL) each request reads the store.
	CacheSessions bool
	// LeaderboardPeriod is how often RunLeaderboards looks for ACTIVE
	// rooms whose board changed without fills (see CheckLeaderboardPeriod);
	// zero means DefaultLeaderboardPeriod.
	LeaderboardPeriod time.Duration
	// SnapshotRestPerParticipant: after a snapshot of n participants (not
	// the final one) a room is not snapshotted again before n × this;
	// zero means DefaultSnapshotRestPerParticipant.
	SnapshotRestPerParticipant time.Duration
	// SnapshotPart is how many entries a snapshot stores per write: a
	// bigger one is stored in parts (see RefreshLeaderboards); zero means
	// DefaultSnapshotPart.
	SnapshotPart int
	// AddressKey keys the HMAC-SHA256 that client addresses are stored
	// under (the integrity report's SHARED_ADDRESS): instances sharing a
	// database must share it (the server derives it from the token
	// secret). Nil: no address is stored.
	AddressKey []byte
}

// Service runs the game: every state change goes through it.
type Service struct {
	store     Store
	clock     clockwork.Clock
	log       *slog.Logger
	symbols   map[string]string
	manual    bool
	admins    map[string]bool          // Config.Admins, lower-cased
	adminIDs  atomic.Pointer[adminSet] // the accounts ApplyAdmins found
	passwords Passwords
	// addressKey is Config.AddressKey.
	addressKey []byte
	// leaderboardPeriod is Config.LeaderboardPeriod, whole intervals.
	leaderboardPeriod time.Duration

	dummyOnce sync.Once
	dummy     string // a hash to compare against for unknown usernames

	sessionsMu    sync.Mutex
	sessionsEnded []func(userID int64)
	sessionCache  *sessionCache // nil: no cache

	// wake nudges the scheduler when rooms change.
	wake chan struct{}

	mu    sync.Mutex
	dirty map[int64]bool // rooms whose leaderboard is stale
	// restUntil: when a room may next be snapshotted (for staleness or
	// the period), its last snapshot's size times restPerParticipant
	// after it; under s.mu.
	restUntil          map[int64]time.Time
	restPerParticipant time.Duration
	snapshotPart       int // Config.SnapshotPart
	// afterPart, when set (tests), is called after each part of a
	// snapshot stored in parts commits, with the snapshot's id.
	afterPart func(snapshotID int64)

	quoteMu        sync.Mutex
	quoteListeners []func(Quote)

	signIns signInLimits
	limits  limits

	usersMu sync.RWMutex
	users   map[int64]*User // see User

	noPeriodic atomic.Bool // see SetPeriodicSnapshots
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	admins := map[string]bool{}
	for u := range c.Admins {
		admins[strings.ToLower(u)] = true
	}
	if c.SnapshotRestPerParticipant <= 0 {
		c.SnapshotRestPerParticipant = DefaultSnapshotRestPerParticipant
	}
	if c.SnapshotPart <= 0 {
		c.SnapshotPart = DefaultSnapshotPart
	}
	period := c.LeaderboardPeriod
	if period <= 0 {
		period = DefaultLeaderboardPeriod
	}
	period = max(period.Truncate(LeaderboardInterval), LeaderboardInterval)
	return &Service{
		store: c.Store, clock: c.Clock, log: c.Log, symbols: c.Instruments, manual: c.ManualMarket,
		admins: admins, passwords: c.Passwords, wake: make(chan struct{}, 1), dirty: map[int64]bool{}, restUntil: map[int64]time.Time{},
		users: map[int64]*User{}, limits: newLimits(c),
		sessionCache: newSessionCache(c.CacheSessions), signIns: newSignInLimits(),
		leaderboardPeriod: period, restPerParticipant: c.SnapshotRestPerParticipant,
		snapshotPart: c.SnapshotPart, addressKey: c.AddressKey,
	}
}

// InstrumentName returns the name of symbol and whether it is tradable.
func (s *Service) InstrumentName(symbol string) (string, bool) {
	n, ok := s.symbols[symbol]
	return n, ok
}

// OnQuote registers fn to be called with every new price.
func (s *Service) OnQuote(fn func(Quote)) {
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	s.quoteListeners = append(s.quoteListeners, fn)
}

func (s *Service) markDirty(roomID int64) {
	s.mu.Lock()
	s.dirty[roomID] = true
	s.mu.Unlock()
}

func (s *Service) nudgeScheduler() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,32}$`)

// SignUp creates an account and records, hashed, the client address ctx
// carries with it (see Config.AddressKey).
//
// Errors: BAD_USER_INPUT for a malformed username, password or display
// name; CONFLICT when the username is taken; RATE_LIMITED when the client
// address has signed up too often (nothing is written).
func (s *Service) SignUp(ctx context.Context, username, password string, displayName *string) (*User, error) {
	if err := checkText("username", username, ""); err != nil {
		return nil, err
	}
	username = strings.TrimSpace(username)
	if !usernameRE.MatchString(username) {
		return nil, Invalid("username", "must be 3 to 32 letters, digits, '.', '_' or '-'")
	}
	if n := len(password); n < 8 || n > 72 {
		return nil, Invalid("password", "must be 8 to 72 bytes long")
	}
	name := username
	if displayName != nil {
		if err := checkText("displayName", *displayName, ""); err != nil {
			return nil, err
		}
		name = strings.TrimSpace(*displayName)
		if name == "" || utf8.RuneCountInString(name) > 64 {
			return nil, Invalid("displayName", "must be 1 to 64 characters")
		}
	}
	if err := s.allowSignUp(ctx); err != nil {
		return nil, err
	}
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return nil, err
	}
	u := &User{Username: username, DisplayName: name, PasswordHash: hash}
	addr := s.addressHash(ctx)
	err = s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.UserByUsername(ctx, username); err == nil {
			return Errorf(ECONFLICT, "username %q is taken", username)
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		u.CreatedAt = tx.Now()
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		return s.recordAddress(ctx, tx, u.ID, addr, true)
	})
	if ErrorCode(err) == ECONFLICT {
		return nil, Errorf(ECONFLICT, "username %q is taken", username)
	} else if err != nil {
		return nil, err
	}
	return u, nil
}

// SignIn checks a username and password.
//
// Errors: UNAUTHENTICATED when they do not match an account;
// RATE_LIMITED after too many attempts for one username from the client
// address ctx carries, or from that address in all (see signInBurst).
func (s *Service) SignIn(ctx context.Context, username, password string) (*User, error) {
	username = strings.TrimSpace(username)
	if err := s.allowSignIn(ctx, username); err != nil {
		return nil, err
	}
	u, err := s.store.UserByUsername(ctx, username)
	if ErrorCode(err) == ENOTFOUND {
		// Spend the same time as a real check so timing does not tell
		// which usernames exist.
		_ = s.passwords.Compare(s.dummyHash(), password)
		return nil, Errorf(EUNAUTHENTICATED, "invalid username or password")
	} else if err != nil {
		return nil, err
	}
	if s.passwords.Compare(u.PasswordHash, password) != nil {
		return nil, Errorf(EUNAUTHENTICATED, "invalid username or password")
	}
	return u, nil
}

// dummyHash is a hash made the way real ones are (same algorithm and
// cost), so comparing against it takes as long as a real check.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy, _ = s.passwords.Hash("not a real password") })
	return s.dummy
}

// maxPrice bounds prices and cash to keep numbers sane.
var maxPrice = decimal.New(1, 9)

func validPrice(field string, d decimal.Decimal) error {
	if !d.IsPositive() {
		return Invalid(field, "must be greater than 0, got %s", d.String())
	}
	if !d.Equal(d.Truncate(4)) {
		return Invalid(field, "must have at most 4 decimal places, got %s", d.String())
	}
	if d.GreaterThan(maxPrice) {
		return Invalid(field, "must be at most %s", maxPrice.String())
	}
	return nil
}
