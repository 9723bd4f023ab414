package server

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestShiftedClock: times move by the offset, durations and timers do
// not.
func TestShiftedClock(t *testing.T) {
	at := time.Date(2026, 3, 2, 23, 59, 55, 0, time.UTC)
	fake := clockwork.NewFakeClockAt(at)
	c := shiftedClock{Clock: fake, offset: 3 * time.Hour}
	if got := c.Now(); !got.Equal(at.Add(3 * time.Hour)) {
		t.Errorf("Now %v, want %v", got, at.Add(3*time.Hour))
	}
	if d := c.Since(at); d != 3*time.Hour {
		t.Errorf("Since the real now %v, want 3h", d)
	}
	if d := c.Until(at.Add(4 * time.Hour)); d != time.Hour {
		t.Errorf("Until %v, want 1h", d)
	}
	timer := c.NewTimer(time.Second)
	fake.Advance(time.Second)
	select {
	case <-timer.Chan():
	default:
		t.Error("a 1s timer did not fire after 1s")
	}
}

func TestClockOffsetFlag(t *testing.T) {
	c, err := parseConfig([]string{"-clock-offset", "-90m"}, func(string) string { return "" })
	if err != nil || c.clockOffset != -90*time.Minute {
		t.Fatalf("-clock-offset -90m: %v, %v", c.clockOffset, err)
	}
	if c, err = parseConfig(nil, func(string) string { return "" }); err != nil || c.clockOffset != 0 {
		t.Fatalf("default offset %v, %v; want 0", c.clockOffset, err)
	}
}
