package db_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00014DownAndUp: the trade journal and the organiser's hand
// (00014) on both engines: up, a room stored before it requires no note
// and its order, seat and ledger line have none of the new values; down
// drops the five columns and keeps the rows; up again brings them back.
func TestMigration00014DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 13)
			must(
				seedAlice,
				seedRoom,
				seedSeat,
				`INSERT INTO orders (bull_pen_id, participant_id, symbol, side, type, quantity, status, filled_quantity, commission, reserved, created_at, updated_at)
					VALUES ((SELECT id FROM bull_pens), (SELECT id FROM participants), 'AAPL', 'BUY', 'MARKET', 1, 'OPEN', 0, '0', '0', '2026-03-02 14:30:00+00', '2026-03-02 14:30:00+00')`,
				`INSERT INTO ledger_entries (participant_id, kind, amount, cash_after, buying_power_after, at)
					VALUES ((SELECT id FROM participants), 'STARTING_CASH', '1000', '1000', '1000', '2026-03-02 14:30:00+00')`,
			)
			check := func(when string) {
				t.Helper()
				var require bool
				var note, removedReason, reason sql.NullString
				var removedAt sql.NullTime
				if err := raw.QueryRowContext(ctx, `SELECT b.require_note, o.note, p.removed_at, p.removed_reason, l.reason
					FROM bull_pens b JOIN participants p ON p.bull_pen_id = b.id JOIN orders o ON o.participant_id = p.id
					JOIN ledger_entries l ON l.participant_id = p.id`).Scan(&require, &note, &removedAt, &removedReason, &reason); err != nil {
					t.Fatalf("%s: %v", when, err)
				}
				if require || note.Valid || removedAt.Valid || removedReason.Valid || reason.Valid {
					t.Errorf("%s: requireNote %v, note %v, removed %v %v, reason %v; want false and NULLs", when, require, note, removedAt, removedReason, reason)
				}
			}
			if _, err := p.UpTo(ctx, 14); err != nil {
				t.Fatal(err)
			}
			check("after going up")
			if err := exec(`UPDATE orders SET note = 'why'`); err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 13); err != nil {
				t.Fatalf("down to 13: %v", err)
			}
			for _, q := range []string{`SELECT note FROM orders`, `SELECT require_note FROM bull_pens`, `SELECT removed_at FROM participants`,
				`SELECT removed_reason FROM participants`, `SELECT reason FROM ledger_entries`} {
				if err := exec(q); err == nil {
					t.Errorf("%s works after going down", q)
				}
			}
			var orders int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&orders); err != nil || orders != 1 {
				t.Errorf("orders after going down: %d, %v", orders, err)
			}
			if _, err := p.UpTo(ctx, 14); err != nil {
				t.Fatalf("up again: %v", err)
			}
			check("after going up again")
		})
	}
}
