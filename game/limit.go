package game

import "time"

// Sign-in attempts per username: a burst of 10, then one every 6 seconds,
// so a password cannot be guessed quickly.
const (
	signInBurst    = 10
	signInInterval = 6 * time.Second
	// maxLimiters bounds the keys a rateLimit keeps; past it, it forgets
	// those that have fully recovered.
	maxLimiters = 10000
)

// newSignInLimit limits sign-in attempts per lower-cased username.
func newSignInLimit() *rateLimit[string] {
	return newRateLimit[string](signInBurst, signInBurst*signInInterval)
}
