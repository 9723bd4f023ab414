package db_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/bullpen/bullpen/db/dbtest"
)

// TestMigration00018DownAndUp: the integrity report's facts (00018) on
// both engines: up, a fill and a session stored before it have no quote
// time and no address hash, and no address is recorded; user_addresses
// holds one row per account and hash; down drops the two columns and the
// table and keeps the fills and sessions; up again brings them back.
func TestMigration00018DownAndUp(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			raw, p, exec, must := migratedTo(t, backend, 17)
			must(
				seedAlice,
				`INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ('s1', (SELECT id FROM users), '2026-03-02 14:30:00+00', '2026-03-09 14:30:00+00')`,
				seedRoom,
				seedSeat,
				`INSERT INTO orders (bull_pen_id, participant_id, symbol, side, type, quantity, status, filled_quantity, commission, reserved, created_at, updated_at)
					VALUES ((SELECT id FROM bull_pens), (SELECT id FROM participants), 'AAPL', 'BUY', 'MARKET', 1, 'FILLED', 1, '0', '0', '2026-03-02 14:30:00+00', '2026-03-02 14:30:00+00')`,
				`INSERT INTO fills (order_id, at, quantity, price, mid_price, spread_cost, slippage_cost, impact_cost, commission)
					VALUES ((SELECT id FROM orders), '2026-03-02 14:30:00+00', 1, '100', '100', '0', '0', '0', '0')`,
			)
			check := func(when string) {
				t.Helper()
				var quoteAt sql.NullTime
				var hash sql.NullString
				var sightings int
				if err := raw.QueryRowContext(ctx, `SELECT f.quote_at, s.address_hash, (SELECT count(*) FROM user_addresses)
					FROM fills f, sessions s`).Scan(&quoteAt, &hash, &sightings); err != nil {
					t.Fatalf("%s: %v", when, err)
				}
				if quoteAt.Valid || hash.Valid || sightings != 0 {
					t.Errorf("%s: quote_at %v, address_hash %v, %d sightings; want NULLs and none", when, quoteAt, hash, sightings)
				}
			}
			if _, err := p.UpTo(ctx, 18); err != nil {
				t.Fatal(err)
			}
			check("after going up")
			sighting := `INSERT INTO user_addresses (user_id, address_hash, signed_up_at, first_at, last_at, sessions)
				VALUES ((SELECT id FROM users), 'abc', NULL, '2026-03-02 14:30:00+00', '2026-03-02 14:30:00+00', 1)`
			if err := exec(sighting); err != nil {
				t.Fatal(err)
			}
			if err := exec(sighting); err == nil {
				t.Error("one account and hash went in twice")
			}
			if err := exec(`UPDATE fills SET quote_at = '2026-03-02 14:29:00+00'`); err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 17); err != nil {
				t.Fatalf("down to 17: %v", err)
			}
			for _, q := range []string{`SELECT quote_at FROM fills`, `SELECT address_hash FROM sessions`, `SELECT count(*) FROM user_addresses`} {
				if err := exec(q); err == nil {
					t.Errorf("%s works after going down", q)
				}
			}
			var fills, sessions int
			if err := raw.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fills), (SELECT count(*) FROM sessions)`).Scan(&fills, &sessions); err != nil || fills != 1 || sessions != 1 {
				t.Errorf("after going down: %d fills, %d sessions, %v; want both kept", fills, sessions, err)
			}
			if _, err := p.UpTo(ctx, 18); err != nil {
				t.Fatalf("up again: %v", err)
			}
			check("after going up again")
		})
	}
}
