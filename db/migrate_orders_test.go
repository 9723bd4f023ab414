package db_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pressly/goose/v3"
	"github.com/shopspring/decimal"
	_ "modernc.org/sqlite"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestMigration00004KeepsOrders: 00004 rebuilds the orders table on SQLite
// (to widen its type CHECK for TRAILING_STOP). A database at 00003 with an
// order in it comes out with the order intact, every index made again,
// and the new columns empty.
func TestMigration00004KeepsOrders(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.SQLite(t)
	raw, err := sql.Open("sqlite", "file:"+dsn[len("sqlite:"):]+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fsys, dialect, err := db.MigrationsFS(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, raw, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (1, 'alice', 'alice', 'x', '2026-03-02 14:30:00 +0000 UTC')`,
		`INSERT INTO bull_pens (id, name, owner_id, state, starts_at, ends_at, starting_cash, commission, allow_short_selling,
			visibility, trade_visibility, invite_code, created_at) VALUES (1, 'r', 1, 'ACTIVE', '2026-03-02 14:30:00 +0000 UTC',
			'2026-03-03 14:30:00 +0000 UTC', '1000', '0', 0, 'PUBLIC', 'PRIVATE', 'CODE', '2026-03-02 14:30:00 +0000 UTC')`,
		`INSERT INTO participants (id, bull_pen_id, user_id, cash, joined_at) VALUES (1, 1, 1, '1000', '2026-03-02 14:30:00 +0000 UTC')`,
		`INSERT INTO orders (id, bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity, limit_price, stop_price,
			triggered, status, commission, reserved, created_at, updated_at) VALUES (7, 1, 1, 'k1', 'AAPL', 'BUY', 'STOP_LIMIT', 3,
			'101.5', '100.25', 1, 'OPEN', '0', '304.5', '2026-03-02 14:30:00 +0000 UTC', '2026-03-02 14:30:00 +0000 UTC')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err := db.Open(ctx, dsn, clockwork.NewFakeClockAt(at), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o, err := s.Order(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if o.ClientOrderID == nil || *o.ClientOrderID != "k1" || o.Type != game.OrderTypeStopLimit || o.Quantity != 3 || !o.Triggered ||
		!o.LimitPrice.Equal(decimal.RequireFromString("101.5")) || !o.StopPrice.Equal(decimal.RequireFromString("100.25")) ||
		!o.Reserved.Equal(decimal.RequireFromString("304.5")) || o.Status != game.OrderStatusOpen || !o.CreatedAt.Equal(at) ||
		o.TrailAmount != nil || o.TrailPercent != nil || o.ExpiresAt != nil {
		t.Errorf("order after the migration: %+v", o)
	}
	if open, err := s.OpenOrders(ctx, 1); err != nil || len(open) != 1 {
		t.Errorf("open orders %d, %v", len(open), err)
	}
	var indexes []string
	if err := s.DB().SelectContext(ctx, &indexes, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	want := []string{"orders_client_id", "orders_open_expiry", "orders_open_participant", "orders_open_room", "orders_open_symbol", "orders_participant", "orders_room"}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes on orders = %v, want %v", indexes, want)
	}
	// The idempotency key is still unique, and the new type is allowed.
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO orders (bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity,
		status, commission, reserved, created_at, updated_at) VALUES (1, 1, 'k1', 'AAPL', 'BUY', 'LIMIT', 1, 'OPEN', '0', '0', ?, ?)`, at, at); err == nil {
		t.Error("a second order with client order id k1 was accepted")
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO orders (bull_pen_id, participant_id, symbol, side, type, quantity,
		status, commission, reserved, created_at, updated_at) VALUES (1, 1, 'AAPL', 'SELL', 'TRAILING_STOP', 1, 'OPEN', '0', '0', ?, ?)`, at, at); err != nil {
		t.Errorf("a TRAILING_STOP row: %v", err)
	}
}
