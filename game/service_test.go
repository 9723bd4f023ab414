package game_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"

	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
	"golang.org/x/crypto/bcrypt"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/market"
)

var t0 = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// testAddressKey keys the harness's address hashes.
var testAddressKey = auth.AddressKey([]byte("harness secret 0123456789"))

type harness struct {
	t     testing.TB
	ctx   context.Context
	svc   *game.Service
	store *db.Store
	clock *clockwork.FakeClock
	path  string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bullpen.db")
	clock := clockwork.NewFakeClockAt(t0)
	return openHarness(t, path, clock)
}

func openHarness(t testing.TB, path string, clock *clockwork.FakeClock) *harness {
	t.Helper()
	h := openHarnessDSN(t, "sqlite:"+path, clock)
	h.path = path
	return h
}

// openHarnessDSN opens a harness on any database (dbtest.Open gives one).
func openHarnessDSN(t testing.TB, dsn string, clock *clockwork.FakeClock) *harness {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	store, err := db.Open(ctx, dsn, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	symbols := map[string]string{}
	for _, in := range market.Catalogue() {
		symbols[in.Symbol] = in.Name
	}
	svc := game.NewService(game.Config{
		Store: store, Clock: clock, Log: log, Instruments: symbols, ManualMarket: true,
		Admins: map[string]bool{"admin": true}, Passwords: auth.Bcrypt{Cost: bcrypt.MinCost},
		AddressKey: testAddressKey,
	})
	return &harness{t: t, ctx: ctx, svc: svc, store: store, clock: clock}
}

func (h *harness) user(name string) *game.User {
	h.t.Helper()
	u, err := h.svc.SignUp(h.ctx, name, "password123", nil)
	if err != nil {
		h.t.Fatalf("sign up %s: %v", name, err)
	}
	return u
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
func decp(s string) *decimal.Decimal {
	d := dec(s)
	return &d
}
func ptr[T any](v T) *T { return &v }

// room creates a room owned by owner and lets fn adjust the input.
func (h *harness) room(owner *game.User, fn func(*game.CreateBullPenInput)) *game.BullPen {
	h.t.Helper()
	// SCHEDULED a minute ahead, so tests start it when they want.
	in := game.CreateBullPenInput{Name: "Test room", StartsAt: ptr(h.clock.Now().Add(time.Minute)), EndsAt: h.clock.Now().Add(24 * time.Hour)}
	if fn != nil {
		fn(&in)
	}
	b, err := h.svc.CreateBullPen(h.ctx, owner, in)
	if err != nil {
		h.t.Fatalf("create room: %v", err)
	}
	return b
}

// activeRoom creates a room, seats players and starts it.
func (h *harness) activeRoom(owner *game.User, fn func(*game.CreateBullPenInput), players ...*game.User) *game.BullPen {
	h.t.Helper()
	b := h.room(owner, fn)
	for _, p := range players {
		h.join(p, b.ID)
	}
	b, err := h.svc.Move(h.ctx, owner, b.ID, game.RoomActive)
	if err != nil {
		h.t.Fatalf("start room: %v", err)
	}
	return b
}

func (h *harness) join(u *game.User, roomID int64) *game.Participant {
	h.t.Helper()
	p, err := h.svc.JoinBullPen(h.ctx, u, roomID, nil)
	if err != nil {
		h.t.Fatalf("join: %v", err)
	}
	return p
}

func (h *harness) price(symbol, price string) {
	h.t.Helper()
	if _, err := h.svc.Tick(h.ctx, symbol, dec(price)); err != nil {
		h.t.Fatalf("tick %s %s: %v", symbol, price, err)
	}
}

func (h *harness) order(u *game.User, in game.PlaceOrderInput) *game.Order {
	h.t.Helper()
	o, err := h.svc.PlaceOrder(h.ctx, u, in)
	if err != nil {
		h.t.Fatalf("place order %+v: %v", in, err)
	}
	return o
}

func (h *harness) participant(roomID int64, u *game.User) *game.Participant {
	h.t.Helper()
	p, err := h.store.ParticipantByUser(h.ctx, roomID, u.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) position(roomID int64, u *game.User, symbol string) game.Position {
	h.t.Helper()
	ps, err := h.store.Positions(h.ctx, h.participant(roomID, u).ID)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range ps {
		if p.Symbol == symbol {
			return *p
		}
	}
	return game.Position{Symbol: symbol}
}

func (h *harness) events(roomID int64) []*game.Event {
	h.t.Helper()
	evs, err := h.store.Events(h.ctx, roomID, 0, 10000)
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// kinds renders a room's log as "ROOM_STATE", "ORDER:FILLED", "POSITION", ...
func (h *harness) kinds(roomID int64, after int64) []string {
	h.t.Helper()
	var out []string
	for _, ev := range h.events(roomID) {
		if ev.Sequence <= after {
			continue
		}
		k := string(ev.Kind)
		switch ev.Kind {
		case game.EventOrder:
			var p game.OrderPayload
			mustUnmarshal(h.t, ev.Payload, &p)
			k += ":" + string(p.Kind)
		case game.EventRoomState:
			var p game.RoomStatePayload
			mustUnmarshal(h.t, ev.Payload, &p)
			k += ":" + string(p.State) + ":" + string(p.Trigger)
		case game.EventLeaderboard:
			var p game.LeaderboardPayload
			mustUnmarshal(h.t, ev.Payload, &p)
			if p.Snapshot.Final {
				k += ":FINAL"
			}
		}
		out = append(out, k)
	}
	return out
}

func (h *harness) lastSeq(roomID int64) int64 {
	h.t.Helper()
	b, err := h.store.BullPen(h.ctx, roomID)
	if err != nil {
		h.t.Fatal(err)
	}
	return b.LastSequence
}

// snapshots counts the room's leaderboard snapshots.
func (h *harness) snapshots(roomID int64) int {
	h.t.Helper()
	ss, err := h.store.Snapshots(h.ctx, roomID, 1<<20)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(ss)
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func assertDec(t testing.TB, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func assertCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := game.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}
