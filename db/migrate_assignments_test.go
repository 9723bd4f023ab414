package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00017DownAndUp: assignments (00017) go down and up again on
// both engines: the table holds a room's assignments by position (once
// each), its checks refuse a count below 1, an unknown kind, and an order
// type on any kind but ORDERS_OF_TYPE or none on it; down drops it and
// keeps the rooms; up brings it back, empty.
func TestMigration00017DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 17)
			insert := func(position int, kind, count, orderType string) error {
				return exec(fmt.Sprintf(`INSERT INTO bull_pen_assignments (bull_pen_id, position, kind, count, order_type)
					VALUES ((SELECT id FROM bull_pens), %d, '%s', %s, %s)`, position, kind, count, orderType))
			}
			must(
				seedAlice,
				seedRoom,
			)
			if err := insert(0, "ORDERS_OF_TYPE", "3", "'LIMIT'"); err != nil {
				t.Fatal(err)
			}
			if err := insert(1, "MAX_DRAWDOWN_BELOW", "10", "NULL"); err != nil {
				t.Fatal(err)
			}
			for name, err := range map[string]error{
				"SamePosition":      insert(1, "NOTES_WRITTEN", "1", "NULL"),
				"ZeroCount":         insert(2, "NOTES_WRITTEN", "0", "NULL"),
				"UnknownKind":       insert(2, "PROFIT", "1", "NULL"),
				"TypeOnNotes":       insert(2, "NOTES_WRITTEN", "1", "'LIMIT'"),
				"OrdersWithoutType": insert(2, "ORDERS_OF_TYPE", "1", "NULL"),
				"NegativePosition":  exec(`INSERT INTO bull_pen_assignments (bull_pen_id, position, kind, count) VALUES ((SELECT id FROM bull_pens), -1, 'NOTES_WRITTEN', 1)`),
				"UnknownRoom":       exec(`INSERT INTO bull_pen_assignments (bull_pen_id, position, kind, count) VALUES (999, 0, 'NOTES_WRITTEN', 1)`),
			} {
				if err == nil {
					t.Errorf("%s: stored", name)
				}
			}
			if _, err := p.DownTo(ctx, 16); err != nil {
				t.Fatalf("down to 16: %v", err)
			}
			if err := exec(`SELECT count(*) FROM bull_pen_assignments`); err == nil {
				t.Error("bull_pen_assignments is still there after going down")
			}
			var rooms int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM bull_pens`).Scan(&rooms); err != nil || rooms != 1 {
				t.Errorf("rooms after going down: %d, %v", rooms, err)
			}
			if _, err := p.UpTo(ctx, 17); err != nil {
				t.Fatalf("up again: %v", err)
			}
			var n int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM bull_pen_assignments`).Scan(&n); err != nil || n != 0 {
				t.Errorf("assignments after going up again: %d, %v", n, err)
			}
		})
	}
}
