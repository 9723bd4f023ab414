package db_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00016DownAndUp: teams (00016) go up, down and up again on
// both engines. A room stored before it has no teams (team_size NULL,
// team_scoring AVERAGE) and its snapshots none either (teams NULL); a
// team name is unique in its room by name_key, a participant is in one
// team (unique in team_members); down drops the two tables and the three
// columns and keeps the rooms and snapshots; up again brings them back,
// empty.
func TestMigration00016DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 15)
			must(
				seedAlice,
				seedRoom,
				seedSeat,
				`INSERT INTO leaderboard_snapshots (bull_pen_id, taken_at, final) VALUES ((SELECT id FROM bull_pens), '2026-03-02 14:31:00+00', false)`,
			)
			if _, err := p.UpTo(ctx, 16); err != nil {
				t.Fatalf("up to 16: %v", err)
			}
			var (
				size    sql.NullInt64
				scoring string
				teams   sql.NullString
			)
			if err := raw.QueryRowContext(ctx, `SELECT b.team_size, b.team_scoring, s.teams FROM bull_pens b
				JOIN leaderboard_snapshots s ON s.bull_pen_id = b.id`).Scan(&size, &scoring, &teams); err != nil {
				t.Fatal(err)
			}
			if size.Valid || scoring != "AVERAGE" || teams.Valid {
				t.Errorf("a room from before: team_size %v, team_scoring %q, snapshot teams %v; want NULL, AVERAGE, NULL", size, scoring, teams)
			}
			must(
				`UPDATE bull_pens SET team_size = 2, team_scoring = 'SUM'`,
				`INSERT INTO teams (bull_pen_id, name, name_key, created_at) VALUES ((SELECT id FROM bull_pens), 'Bulls', 'bulls', '2026-03-02 14:32:00+00')`,
				`INSERT INTO team_members (participant_id, team_id, joined_at) VALUES ((SELECT id FROM participants), (SELECT id FROM teams), '2026-03-02 14:32:00+00')`,
				`UPDATE leaderboard_snapshots SET teams = '[]'`,
			)
			// The keys: a name once per room (by name_key), a participant
			// in one team.
			if err := exec(`INSERT INTO teams (bull_pen_id, name, name_key, created_at) VALUES ((SELECT id FROM bull_pens), 'BULLS', 'bulls', '2026-03-02 14:33:00+00')`); err == nil {
				t.Error("two teams of a room share a name")
			}
			if err := exec(`INSERT INTO teams (bull_pen_id, name, name_key, created_at) VALUES ((SELECT id FROM bull_pens), 'Bears', 'bears', '2026-03-02 14:33:00+00')`); err != nil {
				t.Fatal(err)
			}
			if err := exec(`INSERT INTO team_members (participant_id, team_id, joined_at) VALUES ((SELECT id FROM participants), (SELECT max(id) FROM teams), '2026-03-02 14:33:00+00')`); err == nil {
				t.Error("a participant went into a second team")
			}
			if _, err := p.DownTo(ctx, 15); err != nil {
				t.Fatalf("down to 15: %v", err)
			}
			for _, q := range []string{`SELECT count(*) FROM teams`, `SELECT count(*) FROM team_members`,
				`SELECT team_size FROM bull_pens`, `SELECT team_scoring FROM bull_pens`, `SELECT teams FROM leaderboard_snapshots`} {
				if err := exec(q); err == nil {
					t.Errorf("%s works after going down", q)
				}
			}
			var rooms, snaps int
			if err := raw.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM bull_pens), (SELECT count(*) FROM leaderboard_snapshots)`).Scan(&rooms, &snaps); err != nil || rooms != 1 || snaps != 1 {
				t.Errorf("after going down: %d rooms, %d snapshots, %v; want 1 and 1", rooms, snaps, err)
			}
			if _, err := p.UpTo(ctx, 16); err != nil {
				t.Fatalf("up again: %v", err)
			}
			var n int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM teams`).Scan(&n); err != nil || n != 0 {
				t.Errorf("teams after going up again: %d, %v", n, err)
			}
			if err := raw.QueryRowContext(ctx, `SELECT team_scoring FROM bull_pens`).Scan(&scoring); err != nil || scoring != "AVERAGE" {
				t.Errorf("team_scoring after going up again: %q, %v", scoring, err)
			}
		})
	}
}
