package game

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the limits a Service enforces.
const (
	DefaultOrdersPerSecond = 10 // per participant
	DefaultSignUpsPerHour  = 30 // per client address
)

type addressKey struct{}

// WithClientAddress returns ctx carrying the address of the client that
// made the request (see graph.ClientAddress); sign-ups are limited per
// address.
func WithClientAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addressKey{}, addr)
}

// ClientAddress returns the client address ctx carries, or "".
func ClientAddress(ctx context.Context) string {
	a, _ := ctx.Value(addressKey{}).(string)
	return a
}

// rateLimit is a token bucket per key on the injected clock: burst
// actions at once, then one every interval. A nil *rateLimit allows
// everything.
type rateLimit[K comparable] struct {
	interval time.Duration
	burst    int

	mu       sync.Mutex
	limiters map[K]*rate.Limiter
}

// newRateLimit allows n actions per period per key (as a burst of n that
// refills evenly over the period); n <= 0 means no limit (nil).
func newRateLimit[K comparable](n int, period time.Duration) *rateLimit[K] {
	if n <= 0 {
		return nil
	}
	return &rateLimit[K]{interval: period / time.Duration(n), burst: n, limiters: map[K]*rate.Limiter{}}
}

// allow takes one action for key at now; when none is left it returns
// how long until the next, and takes nothing.
func (l *rateLimit[K]) allow(key K, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[key]
	if !ok {
		if len(l.limiters) >= maxLimiters {
			// Forget keys that have fully recovered: they would start
			// again with a full bucket anyway.
			for k, old := range l.limiters {
				if old.TokensAt(now) >= float64(l.burst) {
					delete(l.limiters, k)
				}
			}
		}
		lim = rate.NewLimiter(rate.Every(l.interval), l.burst)
		l.limiters[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimited is the RATE_LIMITED error of an action refused for wait:
// extensions.retryAfterSeconds (whole seconds, at least 1) says when to
// try again and extensions.limit names the limit's value.
func rateLimited(wait time.Duration, limit int, format string, args ...any) *Error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &Error{Code: ERATELIMITED, Message: fmt.Sprintf(format, args...) + fmt.Sprintf(" (retry after %d s)", secs),
		Extra: map[string]any{"retryAfterSeconds": secs, "limit": limit}}
}

// participantKey names a participant by user and room, so the order limit
// is checked before anything is read.
type participantKey struct{ user, room int64 }

// limits are the rate limits a Service enforces (see Config).
type limits struct {
	ordersPerSecond, signUpsPerHour int

	orders  *rateLimit[participantKey]
	signUps *rateLimit[string]
}

func newLimits(c Config) limits {
	return limits{
		ordersPerSecond: c.OrdersPerSecond, signUpsPerHour: c.SignUpsPerHour,
		orders:  newRateLimit[participantKey](c.OrdersPerSecond, time.Second),
		signUps: newRateLimit[string](c.SignUpsPerHour, time.Hour),
	}
}

// allowOrder takes one order of user's in room; RATE_LIMITED when the
// participant has placed OrdersPerSecond in the last second.
func (s *Service) allowOrder(user *User, roomID int64) error {
	if ok, wait := s.limits.orders.allow(participantKey{user.ID, roomID}, s.clock.Now()); !ok {
		return rateLimited(wait, s.limits.ordersPerSecond,
			"too many orders: at most %d a second per participant", s.limits.ordersPerSecond)
	}
	return nil
}

// allowSignUp takes one sign-up of the client address ctx carries (none:
// no limit); RATE_LIMITED when the address has used up SignUpsPerHour.
func (s *Service) allowSignUp(ctx context.Context) error {
	addr := ClientAddress(ctx)
	if addr == "" {
		return nil
	}
	if ok, wait := s.limits.signUps.allow(addr, s.clock.Now()); !ok {
		return rateLimited(wait, s.limits.signUpsPerHour,
			"too many sign-ups from your address: at most %d an hour", s.limits.signUpsPerHour)
	}
	return nil
}

// allowSignIn takes one sign-in attempt at username from the client
// address ctx carries (none: one address for all such calls). The
// address's own allowance is taken first, so attempts refused for the
// username still count against the address that makes them.
func (s *Service) allowSignIn(ctx context.Context, username string) error {
	addr, now := ClientAddress(ctx), s.clock.Now()
	if ok, wait := s.signIns.addresses.allow(addr, now); !ok {
		return rateLimited(wait, SignInsPerAddressBurst,
			"too many sign-in attempts from your address: at most %d at once, then one every %d seconds", SignInsPerAddressBurst, int(signInsPerAddressInterval/time.Second))
	}
	if ok, wait := s.signIns.pairs.allow(signInKey{strings.ToLower(username), addr}, now); !ok {
		return rateLimited(wait, signInBurst,
			"too many sign-in attempts for %q from your address: at most %d at once, then one every %d seconds", username, signInBurst, int(signInInterval/time.Second))
	}
	return nil
}
