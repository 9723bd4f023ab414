package db_test

import (
	"context"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00015DownAndUp: leagues (00015) go down and up again on
// both engines: down drops the two tables and keeps the rooms; up brings
// them back, empty. The key of league_rooms holds a room once per league.
func TestMigration00015DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 15)
			must(
				seedAlice,
				`INSERT INTO bull_pens (name, owner_id, state, starts_at, ends_at, starting_cash, commission, allow_short_selling,
					visibility, trade_visibility, invite_code, created_at) VALUES ('r', (SELECT id FROM users), 'ENDED',
					'2026-03-02 14:30:00+00', '2026-03-05 14:30:00+00', '1000', '0', false, 'PUBLIC', 'PRIVATE', 'CODE', '2026-03-02 14:30:00+00')`,
				`INSERT INTO leagues (name, owner_id, created_at) VALUES ('Season', (SELECT id FROM users), '2026-03-02 14:30:00+00')`,
				`INSERT INTO league_rooms (league_id, bull_pen_id, added_at) VALUES ((SELECT id FROM leagues), (SELECT id FROM bull_pens), '2026-03-02 14:30:00+00')`,
			)
			// The key: a room is in a league once.
			if err := exec(`INSERT INTO league_rooms (league_id, bull_pen_id, added_at) VALUES ((SELECT id FROM leagues), (SELECT id FROM bull_pens), '2026-03-02 14:31:00+00')`); err == nil {
				t.Error("a room went into a league twice")
			}
			if _, err := p.DownTo(ctx, 14); err != nil {
				t.Fatalf("down to 14: %v", err)
			}
			for _, table := range []string{"leagues", "league_rooms"} {
				if err := exec(`SELECT count(*) FROM ` + table); err == nil {
					t.Errorf("%s is still there after going down", table)
				}
			}
			var rooms int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM bull_pens`).Scan(&rooms); err != nil || rooms != 1 {
				t.Errorf("rooms after going down: %d, %v", rooms, err)
			}
			if _, err := p.UpTo(ctx, 15); err != nil {
				t.Fatalf("up again: %v", err)
			}
			var leagues int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM leagues`).Scan(&leagues); err != nil || leagues != 0 {
				t.Errorf("leagues after going up again: %d, %v", leagues, err)
			}
		})
	}
}
