package server

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// shiftedClock is a clock offset from another by a fixed duration
// (-clock-offset): its times are shifted, its durations, timers and
// tickers are the other's. Tests use it to run the real server at a
// moment of their choice, e.g. the crash loop just before 00:00 UTC so
// that the server's carrying costs come due while it is being killed.
type shiftedClock struct {
	clockwork.Clock
	offset time.Duration
}

func (c shiftedClock) Now() time.Time                  { return c.Clock.Now().Add(c.offset) }
func (c shiftedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c shiftedClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
