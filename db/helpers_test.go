package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/jonboulle/clockwork"
	"github.com/pressly/goose/v3"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// clockStart is the fake clock's reading when a store is opened. It has
// sub-millisecond digits on purpose: Tx.Now must truncate them.
var clockStart = time.Date(2025, 3, 14, 9, 30, 15, 123456789, time.UTC)

// txNow is what Tx.Now reports while the fake clock reads clockStart.
var txNow = clockStart.Truncate(time.Millisecond)

// ms returns a UTC time at millisecond precision, offset from txNow.
func ms(d time.Duration) time.Time { return txNow.Add(d).Truncate(time.Millisecond) }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Backend names, as dbtest.Backends lists them.
const (
	sqliteBackend   = "sqlite"
	postgresBackend = "postgres"
)

// waitTimeout bounds every wait on another goroutine or connection: generous,
// since it only matters when something is broken.
const waitTimeout = 20 * time.Second

// openDSN opens dsn with a fake clock and closes the store when tb ends.
func openDSN(tb testing.TB, dsn string) (*db.Store, *clockwork.FakeClock) {
	tb.Helper()
	clock := clockwork.NewFakeClockAt(clockStart)
	return openWithClock(tb, dsn, clock), clock
}

// openWithClock opens dsn with clock and closes the store when tb ends.
func openWithClock(tb testing.TB, dsn string, clock clockwork.Clock) *db.Store {
	tb.Helper()
	s, err := db.Open(context.Background(), dsn, clock, discardLogger())
	if err != nil {
		tb.Fatalf("db.Open(%q): %v", dsn, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustOpenWith opens a store with o on a fresh database of the backend,
// with a fake clock, and closes it when tb ends.
func mustOpenWith(tb testing.TB, backend string, o db.Options) *db.Store {
	tb.Helper()
	dsn := dbtest.Open(tb, backend)
	s, err := db.OpenWith(context.Background(), dsn, clockwork.NewFakeClockAt(clockStart), discardLogger(), o)
	if err != nil {
		tb.Fatalf("db.OpenWith(%q): %v", dsn, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustOpenClock opens a store on a fresh database of the backend ("sqlite"
// or "postgres", see dbtest.Backends).
func mustOpenClock(tb testing.TB, backend string) (*db.Store, *clockwork.FakeClock) {
	tb.Helper()
	return openDSN(tb, dbtest.Open(tb, backend))
}

// mustOpen opens a store on a fresh database of the backend.
func mustOpen(tb testing.TB, backend string) *db.Store {
	tb.Helper()
	s, _ := mustOpenClock(tb, backend)
	return s
}

// mustUpdate runs fn in a transaction that must commit.
func mustUpdate(tb testing.TB, s game.Store, fn func(tx game.Tx) error) {
	tb.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { d := dec(s); return &d }

func ptr[T any](v T) *T { return &v }

// wantCode fails unless err carries the game error code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := game.ErrorCode(err); got != code {
		tb.Errorf("%s: error code = %q (err %v), want %q", what, got, err, code)
	}
}

// eqDec fails unless got equals want as a number.
func eqDec(tb testing.TB, what string, got, want decimal.Decimal) {
	tb.Helper()
	if !got.Equal(want) {
		tb.Errorf("%s = %s, want %s", what, got.String(), want.String())
	}
}

// eqDecExact fails unless got equals want and prints identically.
func eqDecExact(tb testing.TB, what string, got, want decimal.Decimal) {
	tb.Helper()
	if !got.Equal(want) || got.String() != want.String() {
		tb.Errorf("%s = %s, want %s", what, got.String(), want.String())
	}
}

func eqDecPtr(tb testing.TB, what string, got, want *decimal.Decimal) {
	tb.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		tb.Errorf("%s = %s, want %s", what, fmtDecPtr(got), fmtDecPtr(want))
	default:
		eqDecExact(tb, what, *got, *want)
	}
}

func fmtDecPtr(d *decimal.Decimal) string {
	if d == nil {
		return "<nil>"
	}
	return d.String()
}

// eqTime fails unless got is in UTC and is the same instant as want.
func eqTime(tb testing.TB, what string, got, want time.Time) {
	tb.Helper()
	if !got.Equal(want) {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		tb.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

func eqTimePtr(tb testing.TB, what string, got, want *time.Time) {
	tb.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		tb.Errorf("%s = %s, want %s", what, fmtPtr(got), fmtPtr(want))
	default:
		eqTime(tb, what, *got, *want)
	}
}

func eqStrPtr(tb testing.TB, what string, got, want *string) {
	tb.Helper()
	if (got == nil) != (want == nil) || (got != nil && *got != *want) {
		tb.Errorf("%s = %s, want %s", what, fmtPtr(got), fmtPtr(want))
	}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v", *p)
}

func eq[T comparable](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if got != want {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}

// eqOrder compares every stored field of an order.
func eqOrder(tb testing.TB, got, want *game.Order) {
	tb.Helper()
	eq(tb, "ID", got.ID, want.ID)
	eq(tb, "BullPenID", got.BullPenID, want.BullPenID)
	eq(tb, "ParticipantID", got.ParticipantID, want.ParticipantID)
	eqStrPtr(tb, "ClientOrderID", got.ClientOrderID, want.ClientOrderID)
	eq(tb, "Symbol", got.Symbol, want.Symbol)
	eq(tb, "Side", got.Side, want.Side)
	eq(tb, "Type", got.Type, want.Type)
	eq(tb, "Quantity", got.Quantity, want.Quantity)
	eqDecPtr(tb, "LimitPrice", got.LimitPrice, want.LimitPrice)
	eqDecPtr(tb, "StopPrice", got.StopPrice, want.StopPrice)
	eq(tb, "Triggered", got.Triggered, want.Triggered)
	eq(tb, "Status", got.Status, want.Status)
	eq(tb, "FilledQuantity", got.FilledQuantity, want.FilledQuantity)
	eqDecPtr(tb, "FilledPrice", got.FilledPrice, want.FilledPrice)
	eqDecExact(tb, "Commission", got.Commission, want.Commission)
	eqDecExact(tb, "Reserved", got.Reserved, want.Reserved)
	eqStrPtr(tb, "RejectReason", got.RejectReason, want.RejectReason)
	eqStrPtr(tb, "RejectMessage", got.RejectMessage, want.RejectMessage)
	eqTime(tb, "CreatedAt", got.CreatedAt, want.CreatedAt)
	eqTime(tb, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	eqTimePtr(tb, "FilledAt", got.FilledAt, want.FilledAt)
}

// eqBullPen compares every stored field of a room.
func eqBullPen(tb testing.TB, got, want *game.BullPen) {
	tb.Helper()
	eq(tb, "ID", got.ID, want.ID)
	eq(tb, "Name", got.Name, want.Name)
	eq(tb, "Description", got.Description, want.Description)
	eq(tb, "OwnerID", got.OwnerID, want.OwnerID)
	eq(tb, "State", got.State, want.State)
	eqTime(tb, "StartsAt", got.StartsAt, want.StartsAt)
	eqTime(tb, "EndsAt", got.EndsAt, want.EndsAt)
	eqDecExact(tb, "StartingCash", got.StartingCash, want.StartingCash)
	eqDecExact(tb, "Commission", got.Commission, want.Commission)
	eq(tb, "AllowShortSelling", got.AllowShortSelling, want.AllowShortSelling)
	if (got.AllowedSymbols == nil) != (want.AllowedSymbols == nil) || fmt.Sprint(got.AllowedSymbols) != fmt.Sprint(want.AllowedSymbols) {
		tb.Errorf("AllowedSymbols = %#v, want %#v", got.AllowedSymbols, want.AllowedSymbols)
	}
	if (got.MaxParticipants == nil) != (want.MaxParticipants == nil) || (got.MaxParticipants != nil && *got.MaxParticipants != *want.MaxParticipants) {
		tb.Errorf("MaxParticipants = %s, want %s", fmtPtr(got.MaxParticipants), fmtPtr(want.MaxParticipants))
	}
	eq(tb, "Visibility", got.Visibility, want.Visibility)
	eq(tb, "TradeVisibility", got.TradeVisibility, want.TradeVisibility)
	eq(tb, "InviteCode", got.InviteCode, want.InviteCode)
	eq(tb, "LastSequence", got.LastSequence, want.LastSequence)
	eqTime(tb, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

// ids lists the ids of rooms, orders or users, in order.
func roomIDs(bs []*game.BullPen) []int64 {
	out := make([]int64, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func orderIDs(os []*game.Order) []int64 {
	out := make([]int64, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func eqIDs(tb testing.TB, what string, got, want []int64) {
	tb.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}

// Fixtures. Each inserts in its own committed transaction.

func addUser(tb testing.TB, s game.Store, username string) *game.User {
	tb.Helper()
	u := &game.User{Username: username, DisplayName: "The " + username, PasswordHash: "hash-" + username, CreatedAt: txNow}
	mustUpdate(tb, s, func(tx game.Tx) error { return tx.InsertUser(context.Background(), u) })
	return u
}

func newRoom(owner int64, state game.RoomState, vis game.Visibility) *game.BullPen {
	return &game.BullPen{
		Name: fmt.Sprintf("%s %s room", state, vis), OwnerID: owner, State: state,
		StartsAt: ms(time.Hour), EndsAt: ms(48 * time.Hour),
		StartingCash: dec("100000.00"), Commission: dec("0"),
		Visibility: vis, TradeVisibility: game.TradesPrivate, InviteCode: "INV",
		CreatedAt: txNow,
	}
}

func addRoom(tb testing.TB, s game.Store, owner int64, state game.RoomState, vis game.Visibility) *game.BullPen {
	tb.Helper()
	b := newRoom(owner, state, vis)
	mustUpdate(tb, s, func(tx game.Tx) error { return tx.InsertBullPen(context.Background(), b) })
	return b
}

func addParticipant(tb testing.TB, s game.Store, room, user int64) *game.Participant {
	tb.Helper()
	p := &game.Participant{BullPenID: room, UserID: user, Cash: dec("100000.00"), JoinedAt: txNow}
	mustUpdate(tb, s, func(tx game.Tx) error { return tx.InsertParticipant(context.Background(), p) })
	return p
}

func newOrder(p *game.Participant, symbol string, status game.OrderStatus) *game.Order {
	return &game.Order{
		BullPenID: p.BullPenID, ParticipantID: p.ID, Symbol: symbol, Side: game.SideBuy, Type: game.OrderTypeMarket,
		Quantity: 10, Status: status, Commission: dec("0"), Reserved: dec("0"),
		CreatedAt: txNow, UpdatedAt: txNow,
	}
}

func addOrder(tb testing.TB, s game.Store, p *game.Participant, symbol string, status game.OrderStatus) *game.Order {
	tb.Helper()
	o := newOrder(p, symbol, status)
	mustUpdate(tb, s, func(tx game.Tx) error { return tx.InsertOrder(context.Background(), o) })
	return o
}

var errBoom = errors.New("boom: caller gave up")

// eqPayload fails unless got is the stored form of the JSON want. SQLite
// keeps the text as written; PostgreSQL stores JSONB, which keeps the value
// but not the text (keys are reordered and spaced), so there the two are
// compared as JSON values, numbers as their exact text.
func eqPayload(tb testing.TB, dialect db.Dialect, what string, got, want []byte) {
	tb.Helper()
	if dialect == db.SQLite {
		if string(got) != string(want) {
			tb.Errorf("%s = %s, want %s", what, got, want)
		}
		return
	}
	g, err := decodeJSON(got)
	if err != nil {
		tb.Errorf("%s = %s: %v", what, got, err)
		return
	}
	w, err := decodeJSON(want)
	if err != nil {
		tb.Fatalf("%s: want %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		tb.Errorf("%s = %s, want the JSON value %s", what, got, want)
	}
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// recv waits for a value on ch, failing tb after waitTimeout.
func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		tb.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// migrator opens a fresh database of backend without migrating it, and
// goose's provider of the embedded migrations over it, for the tests that
// take a migration down and up again; the database closes with the test.
func migrator(tb testing.TB, backend string) (*sql.DB, *goose.Provider) {
	tb.Helper()
	dsn := dbtest.Open(tb, backend)
	d, driver, source := db.SQLite, "sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=foreign_keys(1)"
	if backend == "postgres" {
		d, driver, source = db.Postgres, "pgx", dsn
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	fsys, dialect, err := db.MigrationsFS(d)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, raw, fsys)
	if err != nil {
		tb.Fatal(err)
	}
	return raw, p
}

// migratedTo is a fresh database of backend migrated up to version, for
// the migration tests: its raw handle, the goose provider, exec (one
// statement, its error) and must (statements that must succeed; the test
// stops at the first that fails, naming it).
func migratedTo(t *testing.T, backend string, version int64) (*sql.DB, *goose.Provider, func(string) error, func(...string)) {
	t.Helper()
	ctx := context.Background()
	raw, p := migrator(t, backend)
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	exec := func(q string) error {
		_, err := raw.ExecContext(ctx, q)
		return err
	}
	must := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if err := exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return raw, p, exec, must
}

// The first rows of most migration tests, valid at every version: alice,
// her ACTIVE room r, and her seat in it.
const (
	seedAlice = `INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('alice', 'alice', 'x', '2026-03-02 14:30:00+00')`
	seedRoom  = `INSERT INTO bull_pens (name, owner_id, state, starts_at, ends_at, starting_cash, commission, allow_short_selling,
		visibility, trade_visibility, invite_code, created_at) VALUES ('r', (SELECT id FROM users), 'ACTIVE',
		'2026-03-02 14:30:00+00', '2026-03-05 14:30:00+00', '1000', '0', false, 'PUBLIC', 'PRIVATE', 'CODE', '2026-03-02 14:30:00+00')`
	seedSeat = `INSERT INTO participants (bull_pen_id, user_id, cash, joined_at) VALUES ((SELECT id FROM bull_pens), (SELECT id FROM users), '1000', '2026-03-02 14:30:00+00')`
)
