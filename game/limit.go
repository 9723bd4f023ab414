package game

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in attempts per username: a burst of 10, then one every 6 seconds,
// so a password cannot be guessed quickly.
const (
	signInBurst    = 10
	signInInterval = 6 * time.Second
	maxLimiters    = 10000
)

// attempts limits sign-in attempts per username on the injected clock.
type attempts struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// allow takes one attempt for username at now; when none is left it
// returns how long until the next.
func (a *attempts) allow(username string, now time.Time) (bool, time.Duration) {
	key := strings.ToLower(username)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.limiters == nil {
		a.limiters = map[string]*rate.Limiter{}
	}
	l, ok := a.limiters[key]
	if !ok {
		if len(a.limiters) >= maxLimiters {
			a.prune(now)
		}
		l = rate.NewLimiter(rate.Every(signInInterval), signInBurst)
		a.limiters[key] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// prune forgets usernames whose attempts have fully recovered.
func (a *attempts) prune(now time.Time) {
	for k, l := range a.limiters {
		if l.TokensAt(now) >= signInBurst {
			delete(a.limiters, k)
		}
	}
}
