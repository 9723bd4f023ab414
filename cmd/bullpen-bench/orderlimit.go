package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
)

// The statements db runs for a market order on SQLite, in its order
// (captured from the store's connection while placeOrder ran; the room and
// the quote come from the store's row caches and are not read). They are
// copies: when db's order path changes, change them too.
const (
	limitParticipant = `SELECT id, bull_pen_id, user_id, cash, joined_at, removed_at, removed_reason FROM participants WHERE bull_pen_id = ? AND user_id = ?`
	limitOpenOrders  = `SELECT id, bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity, limit_price,
	stop_price, triggered, CASE WHEN status = 'OPEN' AND filled_quantity > 0 THEN 'PARTIALLY_FILLED' ELSE status END AS status,
	filled_quantity, filled_price, commission, reserved, reject_reason, reject_message,
	created_at, updated_at, filled_at, trail_amount, trail_percent, expires_at, note FROM orders WHERE participant_id = ? AND status = 'OPEN' ORDER BY id`
	limitPositions = `SELECT participant_id, symbol, quantity, cost_basis, realized_pnl, updated_at FROM positions WHERE participant_id = ? ORDER BY symbol`
	limitCash      = `UPDATE participants SET cash = ? WHERE id = ?`
	limitTracks    = `INSERT INTO participant_tracks (participant_id, fills, closing_fills, wins) VALUES (?, ?, ?, ?)
		ON CONFLICT (participant_id) DO UPDATE SET fills = participant_tracks.fills + excluded.fills,
		closing_fills = participant_tracks.closing_fills + excluded.closing_fills, wins = participant_tracks.wins + excluded.wins`
	limitPosition = `INSERT INTO positions (participant_id, symbol, quantity, cost_basis, realized_pnl, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (participant_id, symbol) DO UPDATE SET quantity = excluded.quantity, cost_basis = excluded.cost_basis,
		realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at`
	limitOrder = `INSERT INTO orders (bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity,
		limit_price, stop_price, triggered, status, filled_quantity, filled_price, commission, reserved, reject_reason,
		reject_message, created_at, updated_at, filled_at, trail_amount, trail_percent, expires_at, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	limitFill = `INSERT INTO fills (order_id, at, quantity, price, mid_price, spread_cost, slippage_cost, impact_cost, commission, quote_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	limitLedger        = `INSERT INTO ledger_entries (participant_id, order_id, kind, amount, cash_after, buying_power_after, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	limitSequence      = `UPDATE bull_pens SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence`
	limitStoreSequence = `UPDATE bull_pens SET last_sequence = ? WHERE id = ?`
	limitEvent         = `INSERT INTO events (bull_pen_id, sequence, kind, participant_id, occurred_at, payload) VALUES (?, ?, ?, ?, ?, ?)`
)

// orderLimit prepares the order-shaped limit on the file at path: the
// server's schema, -rooms rooms with -traders participants each (one per
// client, starting with a million in cash) and a quote, and returns the
// transaction client worker runs, its k-th order a buy when k is even and
// a sell of that share when odd.
func orderLimit(ctx context.Context, path string, sqlDB *sql.DB, rooms, traders int) (func(ctx context.Context, worker, k int) error, error) {
	store, err := db.Open(ctx, "sqlite:"+path, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := store.Close(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) (int64, error) {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	type seat struct{ room, user, participant int64 }
	seats := make([]seat, 0, rooms*traders)
	for r := range rooms {
		owner, err := exec(`INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?, ?, 'x', ?)`,
			"owner"+strconv.Itoa(r), "owner", now)
		if err != nil {
			return nil, err
		}
		room, err := exec(`INSERT INTO bull_pens (name, owner_id, state, starts_at, ends_at, starting_cash, commission,
			allow_short_selling, visibility, trade_visibility, invite_code, created_at)
			VALUES (?, ?, 'ACTIVE', ?, ?, '1000000', '0', 0, 'PUBLIC', 'PUBLIC', '', ?)`,
			"room "+strconv.Itoa(r), owner, now, now.Add(24*time.Hour), now)
		if err != nil {
			return nil, err
		}
		for t := range traders {
			user, err := exec(`INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?, ?, 'x', ?)`,
				fmt.Sprintf("trader%d-%d", r, t), "trader", now)
			if err != nil {
				return nil, err
			}
			p, err := exec(`INSERT INTO participants (bull_pen_id, user_id, cash, joined_at) VALUES (?, ?, '1000000', ?)`, room, user, now)
			if err != nil {
				return nil, err
			}
			seats = append(seats, seat{room, user, p})
		}
	}
	if _, err := exec(`INSERT INTO quotes (symbol, price, bid, ask, volume, open, at) VALUES ('AAPL', '100', '100', '100', 10000, '100', ?)`, now); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, worker, k int) error {
		s := seats[worker]
		return limitOrderTx(ctx, sqlDB, s.room, s.user, s.participant, k%2 == 0)
	}, nil
}

// limitOrderTx is one market order of one share at 100, its statements as
// the server's (see above), in a transaction of its own.
func limitOrderTx(ctx context.Context, sqlDB *sql.DB, room, user, participant int64, buy bool) error {
	now := time.Now().UTC()
	side, amount, cash, quantity, basis := "BUY", "-100", "999900", 1, "100"
	if !buy {
		side, amount, cash, quantity, basis = "SELL", "100", "1000000", 0, "0"
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []struct {
		query string
		args  []any
	}{
		{limitParticipant, []any{room, user}},
		{limitOpenOrders, []any{participant}},
		{limitPositions, []any{participant}},
	} {
		rows, err := tx.QueryContext(ctx, q.query, q.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, limitCash, cash, participant); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, limitTracks, participant, 1, 0, 0); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, limitPosition, participant, "AAPL", quantity, basis, "0", now); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, limitOrder, room, participant, nil, "AAPL", side, "MARKET", 1,
		nil, nil, false, "FILLED", 1, "100", "0", "0", nil, nil, now, now, now, nil, nil, nil, nil)
	if err != nil {
		return err
	}
	order, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if res, err = tx.ExecContext(ctx, limitFill, order, now, 1, "100", "100", "0", "0", "0", "0", now); err != nil {
		return err
	}
	fill, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, limitLedger, participant, order, side, amount, cash, cash, now, nil); err != nil {
		return err
	}
	// The first event numbers the room's sequence in the row; the second
	// counts on, and the last one is stored before commit (AppendEvent,
	// storeSequences).
	var seq int64
	if err := tx.QueryRowContext(ctx, limitSequence, room).Scan(&seq); err != nil {
		return err
	}
	stamp := now.Format(time.RFC3339)
	for i, e := range []struct{ kind, payload string }{
		{"ORDER", fmt.Sprintf(`{"kind":"FILLED","order":{"id":%d,"bullPenId":%d,"participantId":%d,"symbol":"AAPL","side":%q,"type":"MARKET","quantity":1,"triggered":false,"status":"FILLED","filledQuantity":1,"filledPrice":"100","commission":"0","createdAt":%q,"updatedAt":%q,"filledAt":%q,"fills":[{"id":%d,"orderId":%d,"at":%q,"quantity":1,"price":"100","midPrice":"100","spreadCost":"0","slippageCost":"0","impactCost":"0","commission":"0"}]}}`,
			order, room, participant, side, stamp, stamp, stamp, fill, order, stamp)},
		{"POSITION", fmt.Sprintf(`{"participantId":%d,"position":{"participantId":%d,"symbol":"AAPL","quantity":%d,"costBasis":%q,"realizedPnl":"0","updatedAt":%q,"marketPrice":"100"}}`,
			participant, participant, quantity, basis, stamp)},
	} {
		if _, err := tx.ExecContext(ctx, limitEvent, room, seq+int64(i), e.kind, participant, now, e.payload); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, limitStoreSequence, seq+1, room); err != nil {
		return err
	}
	return tx.Commit()
}
