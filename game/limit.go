package game

import "time"

// Sign-in attempts are limited per (username, client address) and per
// client address, never per username alone: a guesser elsewhere then
// cannot lock the real user out by spending the username's attempts.
//
// One address gets 10 attempts at a username at once, then one every 6
// seconds, and 100 attempts over all usernames at once, then one every 3
// seconds. So guessing one password from A addresses is bounded by A × 10
// per minute, and each address by 20 attempts a minute in all.
const (
	signInBurst    = 10
	signInInterval = 6 * time.Second
	// SignInsPerAddressBurst and signInsPerAddressInterval bound the
	// attempts of one client address, whatever the usernames.
	SignInsPerAddressBurst    = 100
	signInsPerAddressInterval = 3 * time.Second
	// maxLimiters bounds the keys a rateLimit keeps; past it, it forgets
	// those that have fully recovered.
	maxLimiters = 10000
)

// signInKey names the attempts at one lower-cased username from one
// client address.
type signInKey struct{ username, address string }

// signInLimits limit sign-in attempts (see signInBurst).
type signInLimits struct {
	pairs     *rateLimit[signInKey]
	addresses *rateLimit[string]
}

func newSignInLimits() signInLimits {
	return signInLimits{
		pairs:     newRateLimit[signInKey](signInBurst, signInBurst*signInInterval),
		addresses: newRateLimit[string](SignInsPerAddressBurst, SignInsPerAddressBurst*signInsPerAddressInterval),
	}
}
