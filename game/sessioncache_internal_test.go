package game

import "testing"

// A read that began before a sign-out committed (its generation is older)
// is not remembered: it may have seen the session the sign-out ended.
func TestSessionCacheDropsReadsOlderThanAForget(t *testing.T) {
	c := newSessionCache(true)
	u := &User{ID: 7}
	_, gen := c.get("s")
	c.forget(7)
	c.put("s", u, gen)
	if got, _ := c.get("s"); got != nil {
		t.Fatal("a read from before the sign-out was remembered")
	}
	_, gen = c.get("s")
	c.put("s", u, gen)
	if got, _ := c.get("s"); got != u {
		t.Fatal("a read after the sign-out was not remembered")
	}
	c.forget(8) // another user's sign-out keeps u's session
	if got, _ := c.get("s"); got != u {
		t.Fatal("forgetting user 8 dropped user 7's session")
	}
	c.forget(0)
	if got, _ := c.get("s"); got != nil {
		t.Fatal("forget(0) kept a session")
	}
	var off *sessionCache // CacheSessions off: remembers nothing
	off.put("s", u, 0)
	if got, _ := off.get("s"); got != nil {
		t.Fatal("a nil cache remembered a session")
	}
}
