package db_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00012DownAndUp: carrying costs (00012) go down and up
// again on both engines: down drops the accruals table and the three
// columns and keeps the rooms; up brings them back, empty.
func TestMigration00012DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 12)
			must(
				seedAlice,
				`INSERT INTO bull_pens (name, owner_id, state, starts_at, ends_at, starting_cash, commission, allow_short_selling,
					visibility, trade_visibility, invite_code, created_at, cash_interest_percent, borrow_fee_percent) VALUES ('r', (SELECT id FROM users), 'ACTIVE',
					'2026-03-02 14:30:00+00', '2026-03-05 14:30:00+00', '1000', '0', false, 'PUBLIC', 'PRIVATE', 'CODE', '2026-03-02 14:30:00+00', '3.65', '10.95')`,
				`INSERT INTO accruals (bull_pen_id, due_at, applied_at) VALUES ((SELECT id FROM bull_pens), '2026-03-03 00:00:00+00', '2026-03-03 00:00:00+00')`,
			)
			if _, err := p.DownTo(ctx, 11); err != nil {
				t.Fatalf("down to 11: %v", err)
			}
			if err := exec(`SELECT count(*) FROM accruals`); err == nil {
				t.Error("accruals is still there after going down")
			}
			if err := exec(`SELECT cash_interest_percent FROM bull_pens`); err == nil {
				t.Error("cash_interest_percent is still there after going down")
			}
			var rooms int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM bull_pens`).Scan(&rooms); err != nil || rooms != 1 {
				t.Errorf("rooms after going down: %d, %v", rooms, err)
			}
			if _, err := p.UpTo(ctx, 12); err != nil {
				t.Fatalf("up again: %v", err)
			}
			var claims int
			var pct sql.NullString
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM accruals`).Scan(&claims); err != nil || claims != 0 {
				t.Errorf("accruals after going up again: %d, %v", claims, err)
			}
			if err := raw.QueryRowContext(ctx, `SELECT cash_interest_percent FROM bull_pens`).Scan(&pct); err != nil || pct.Valid {
				t.Errorf("cash_interest_percent after going up again: %v, %v; want NULL", pct, err)
			}
		})
	}
}
