package db_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00011UpAndDown: on both engines, a room stored before
// 00011 comes out always open, afterHours QUEUE, no maxQuoteAgeSeconds;
// the CHECK on after_hours refuses anything but QUEUE and REJECT; going
// down drops the six columns and keeps the room, and up again works.
func TestMigration00011UpAndDown(t *testing.T) {
	ctx := context.Background()
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			raw, p, exec, must := migratedTo(t, backend, 9)
			must(
				seedAlice,
				`INSERT INTO bull_pens (name, owner_id, state, starts_at, ends_at, starting_cash, commission, allow_short_selling,
					visibility, trade_visibility, invite_code, created_at) VALUES ('r', (SELECT id FROM users), 'ACTIVE', '2026-03-02 14:30:00+00',
					'2026-03-03 14:30:00+00', 1000, 0, false, 'PUBLIC', 'PRIVATE', 'CODE', '2026-03-02 14:30:00+00')`,
			)
			if _, err := p.Up(ctx); err != nil {
				t.Fatal(err)
			}
			var (
				zone, days sql.NullString
				policy     string
				age        sql.NullInt64
			)
			if err := raw.QueryRowContext(ctx, `SELECT trading_time_zone, trading_days, after_hours, max_quote_age_seconds FROM bull_pens`).
				Scan(&zone, &days, &policy, &age); err != nil {
				t.Fatal(err)
			}
			if zone.Valid || days.Valid || policy != "QUEUE" || age.Valid {
				t.Errorf("room after 00011: zone %v days %v afterHours %q maxQuoteAgeSeconds %v", zone, days, policy, age)
			}
			if err := exec(`UPDATE bull_pens SET after_hours = 'HOLD'`); err == nil {
				t.Error("after_hours 'HOLD' was stored: the CHECK should refuse it")
			}
			if _, err := p.DownTo(ctx, 9); err != nil {
				t.Fatal(err)
			}
			if err := exec(`SELECT after_hours FROM bull_pens`); err == nil {
				t.Error("after_hours still there after going down")
			}
			var n int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM bull_pens`).Scan(&n); err != nil || n != 1 {
				t.Errorf("rooms after going down: %d, %v", n, err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
		})
	}
}
