package game_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// Names, descriptions, usernames and display names refuse control
// characters and bidi overrides, naming the field; a description may
// hold line breaks, and nothing refused is stored.
func TestControlCharactersAreRefused(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	assertCreateRefused(t, h, owner, []createCase{
		{"NameNUL", func(in *game.CreateBullPenInput) { in.Name = "a\x00b" }, "name"},
		{"NameNewline", func(in *game.CreateBullPenInput) { in.Name = "Friday\ncup" }, "name"},
		{"NameTrailingNewline", func(in *game.CreateBullPenInput) { in.Name = "Friday cup\n" }, "name"},
		{"NameTab", func(in *game.CreateBullPenInput) { in.Name = "Friday\tcup" }, "name"},
		{"NameDEL", func(in *game.CreateBullPenInput) { in.Name = "a\x7fb" }, "name"},
		{"NameC1", func(in *game.CreateBullPenInput) { in.Name = "a\u0085b" }, "name"},
		{"NameBidiOverride", func(in *game.CreateBullPenInput) { in.Name = "cup\u202Egpj.exe" }, "name"},
		{"NameBidiIsolate", func(in *game.CreateBullPenInput) { in.Name = "cup\u2066x\u2069" }, "name"},
		{"DescriptionNUL", func(in *game.CreateBullPenInput) { in.Description = ptr("rules:\x00") }, "description"},
		{"DescriptionEscape", func(in *game.CreateBullPenInput) { in.Description = ptr("\x1b[31mred") }, "description"},
		{"DescriptionTab", func(in *game.CreateBullPenInput) { in.Description = ptr("a\tb") }, "description"},
		{"DescriptionBidi", func(in *game.CreateBullPenInput) { in.Description = ptr("a\u202Db") }, "description"},
	})
	rooms, total, err := h.store.BullPens(h.ctx, game.BullPenFilter{ViewerID: owner.ID, Limit: 10})
	if err != nil || total != 0 || len(rooms) != 0 {
		t.Fatalf("rooms stored: %d, %v", total, err)
	}

	// Line breaks in a description are kept; an emoji with a zero-width
	// joiner (a format character, not a control) is a fine name.
	desc := "Rules:\n- no shorts\r\n- have fun"
	b, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "Cup 👩‍💻", Description: &desc, EndsAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatalf("a description with line breaks: %v", err)
	}
	if b.Description != desc || b.Name != "Cup 👩‍💻" {
		t.Errorf("stored %q / %q", b.Name, b.Description)
	}

	for _, tc := range []struct {
		name, username string
		display        *string
		field          string
	}{
		{"UsernameNUL", "bob\x00", nil, "username"},
		{"UsernameTrailingNewline", "bob\n", nil, "username"},
		{"UsernameLeadingTab", "\tbob", nil, "username"},
		{"DisplayNameNUL", "bob", ptr("Bob\x00"), "displayName"},
		{"DisplayNameNewline", "bob", ptr("Bob\nSmith"), "displayName"},
		{"DisplayNameBell", "bob", ptr("Bob\a"), "displayName"},
		{"DisplayNameBidi", "bob", ptr("Bob\u202E"), "displayName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.SignUp(h.ctx, tc.username, "password123", tc.display)
			assertCode(t, err, game.EINVALID)
			if e, ok := err.(*game.Error); !ok || e.Field != tc.field || !strings.Contains(e.Message, "control") && !strings.Contains(e.Message, "U+") {
				t.Errorf("error %v should name %q and what is wrong", err, tc.field)
			}
		})
	}
	if _, err := h.store.UserByUsername(h.ctx, "bob"); game.ErrorCode(err) != game.ENOTFOUND {
		t.Errorf("bob was stored: %v", err)
	}
	if u, err := h.svc.SignUp(h.ctx, "bob", "password123", ptr("Bob 👩‍💻 Smith")); err != nil || u.DisplayName != "Bob 👩‍💻 Smith" {
		t.Errorf("a clean display name: %v, %v", u, err)
	}
}

// A guesser at one address cannot lock the real user out at another:
// attempts are limited per username and address, and per address.
func TestSignInLimitIsPerAddress(t *testing.T) {
	h := newHarness(t)
	h.user("alice")
	guesser := game.WithClientAddress(h.ctx, "203.0.113.7")
	alice := game.WithClientAddress(h.ctx, "198.51.100.1")
	for range 10 {
		_, err := h.svc.SignIn(guesser, "alice", "wrong password")
		assertCode(t, err, game.EUNAUTHENTICATED)
	}
	_, err := h.svc.SignIn(guesser, "alice", "password123")
	assertCode(t, err, game.ERATELIMITED)
	// The guesser keeps trying, one every 6 s, and takes each attempt
	// as it comes back; alice at her own address still signs in.
	for range 5 {
		h.clock.Advance(6 * time.Second)
		_, err := h.svc.SignIn(guesser, "alice", "wrong password")
		assertCode(t, err, game.EUNAUTHENTICATED)
		if u, err := h.svc.SignIn(alice, "alice", "password123"); err != nil || u.Username != "alice" {
			t.Fatalf("alice at her own address: %v, %v", u, err)
		}
	}

	// One address trying many usernames meets the per-address cap.
	h.clock.Advance(time.Hour)
	spray := game.WithClientAddress(h.ctx, "192.0.2.99")
	var limited error
	for i := range game.SignInsPerAddressBurst + 1 {
		_, err := h.svc.SignIn(spray, fmt.Sprintf("user%03d", i), "wrong password")
		if game.ErrorCode(err) == game.ERATELIMITED {
			limited = err
			if i != game.SignInsPerAddressBurst {
				t.Fatalf("limited after %d attempts, want %d", i, game.SignInsPerAddressBurst)
			}
		}
	}
	if limited == nil {
		t.Fatalf("%d attempts from one address were not limited", game.SignInsPerAddressBurst+1)
	}
	if e := limited.(*game.Error); e.Extra["retryAfterSeconds"] == nil {
		t.Errorf("no retryAfterSeconds: %+v", e)
	}
	// ... and that address's cap does not reach another's.
	if _, err := h.svc.SignIn(alice, "alice", "password123"); err != nil {
		t.Fatalf("alice after another address was limited: %v", err)
	}
}

// Room times: a startsAt in the past is now (so the room starts with
// elapsedSeconds 0), endsAt at most MaxRoomDuration from now, and the
// seconds a RoomStateEvent carries fit a GraphQL Int.
func TestRoomTimesAreBounded(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	assertCreateRefused(t, h, owner, []createCase{
		{"EndsInYear9999", func(in *game.CreateBullPenInput) { in.EndsAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }, "endsAt"},
		{"EndsJustPastTheWindow", func(in *game.CreateBullPenInput) { in.EndsAt = t0.Add(game.MaxRoomDuration + time.Second) }, "endsAt"},
		{"StartsInYear1AndEndsInYear9999", func(in *game.CreateBullPenInput) {
			in.StartsAt = ptr(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
			in.EndsAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		}, "endsAt"},
	})

	for _, startsAt := range []time.Time{time.Unix(0, 0).UTC(), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(-time.Millisecond)} {
		b, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "Past", StartsAt: &startsAt, EndsAt: t0.Add(game.MaxRoomDuration)})
		if err != nil {
			t.Fatalf("startsAt %s: %v", startsAt, err)
		}
		if b.State != game.RoomActive || !b.StartsAt.Equal(t0) {
			t.Errorf("startsAt %s: room %s from %s, want ACTIVE from now (%s)", startsAt, b.State, b.StartsAt, t0)
		}
		var rs game.RoomStatePayload
		evs := h.events(b.ID)
		mustUnmarshal(t, evs[0].Payload, &rs)
		if rs.ElapsedSeconds != 0 || rs.RemainingSeconds != int64(game.MaxRoomDuration/time.Second) {
			t.Errorf("startsAt %s: elapsed %d, remaining %d", startsAt, rs.ElapsedSeconds, rs.RemainingSeconds)
		}
		if rs.RemainingSeconds > math.MaxInt32 {
			t.Errorf("remainingSeconds %d is beyond a GraphQL Int", rs.RemainingSeconds)
		}
	}

	// cloneBullPen takes times under the same rules.
	src := h.room(owner, nil)
	_, err := h.svc.CloneBullPen(h.ctx, owner, src.ID, nil, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	assertCode(t, err, game.EINVALID)
	if e := err.(*game.Error); e.Field != "endsAt" {
		t.Errorf("clone: %v should name endsAt", err)
	}
	c, err := h.svc.CloneBullPen(h.ctx, owner, src.ID, ptr(time.Unix(0, 0)), t0.Add(time.Hour))
	if err != nil || c.State != game.RoomActive || !c.StartsAt.Equal(t0) {
		t.Fatalf("clone from 1970: %+v, %v", c, err)
	}

	// The window moves with the clock: a room may end 10 years after the
	// moment it is created.
	h.clock.Advance(24 * time.Hour)
	if _, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "Later", EndsAt: h.clock.Now().Add(game.MaxRoomDuration)}); err != nil {
		t.Errorf("endsAt at the edge of the window, a day later: %v", err)
	}
}

// No fill is stamped at or after endsAt, even when the scheduler has not
// ended the room yet: an order placed then is refused and ends the room
// in its own transaction (once: the scheduler then finds nothing to do),
// and a resting order is not filled by a price at endsAt.
func TestNoFillAtOrAfterEndsAt(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			testNoFillAtOrAfterEndsAt(t, openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0)))
		})
	}
}

func testNoFillAtOrAfterEndsAt(t *testing.T, h *harness) {
	owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
	endsAt := t0.Add(2 * time.Hour)
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.EndsAt = endsAt }, alice, bob)
	h.price("AAPL", "100")
	resting := h.order(bob, limit(buy(room.ID, "AAPL", 5), "90"))
	if resting.Status != game.OrderStatusOpen {
		t.Fatalf("resting order is %s", resting.Status)
	}

	// Exactly at endsAt, before the scheduler runs.
	h.clock.Advance(endsAt.Sub(h.clock.Now()))
	before := h.lastSeq(room.ID)
	h.price("AAPL", "89")
	o, err := h.store.Order(h.ctx, resting.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status == game.OrderStatusFilled || o.FilledAt != nil {
		t.Fatalf("a resting order filled at endsAt: %+v", o)
	}
	for _, k := range h.kinds(room.ID, before) {
		if k == "ORDER:FILLED" || k == "POSITION" {
			t.Fatalf("a price at endsAt wrote %v", h.kinds(room.ID, before))
		}
	}

	placed := h.order(alice, buy(room.ID, "AAPL", 1))
	if placed.Status != game.OrderStatusRejected || placed.RejectReason == nil || *placed.RejectReason != game.RejectRoomNotActive || placed.FilledAt != nil {
		t.Fatalf("an order at endsAt: %s %v", placed.Status, placed.RejectReason)
	}
	if p := h.position(room.ID, alice, "AAPL"); p.Quantity != 0 {
		t.Errorf("alice holds %d AAPL", p.Quantity)
	}
	b, err := h.store.BullPen(h.ctx, room.ID)
	if err != nil || b.State != game.RoomEnded || !b.EndsAt.Equal(endsAt) {
		t.Fatalf("room after an order at endsAt: %+v, %v", b, err)
	}
	if _, err := h.svc.AdvanceDue(h.ctx); err != nil {
		t.Fatal(err)
	}
	var ended, final int
	for _, k := range h.kinds(room.ID, 0) {
		switch k {
		case "ROOM_STATE:ENDED:SCHEDULE":
			ended++
		case "LEADERBOARD:FINAL":
			final++
		}
	}
	if ended != 1 || final != 1 {
		t.Errorf("ENDED %d times with %d final leaderboards, want once: %v", ended, final, h.kinds(room.ID, before))
	}
	if o, _ := h.store.Order(h.ctx, resting.ID); o.Status != game.OrderStatusExpired {
		t.Errorf("resting order is %s after the end, want EXPIRED", o.Status)
	}
	for _, ev := range h.events(room.ID) {
		if ev.Kind != game.EventOrder {
			continue
		}
		var p game.OrderPayload
		mustUnmarshal(t, ev.Payload, &p)
		if p.Order.FilledAt != nil && !p.Order.FilledAt.Before(endsAt) {
			t.Errorf("order %d filled at %s, endsAt %s", p.Order.ID, p.Order.FilledAt, endsAt)
		}
	}
}
