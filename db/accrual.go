package db

import (
	"context"
	"time"
)

// Accruals: one row per room and 00:00 UTC whose carrying costs are
// booked (see game.Service.AccrueDue).

// LastAccrual is the latest due_at a room's accruals reached, or zero.
func (q queries) LastAccrual(ctx context.Context, bullPenID int64) (time.Time, error) {
	// A plain column, not max(): SQLite gives an aggregate's time back
	// as text.
	var at []time.Time
	if err := q.sel(ctx, &at, `SELECT due_at FROM accruals WHERE bull_pen_id = ? ORDER BY due_at DESC LIMIT 1`,
		bullPenID); err != nil || len(at) == 0 {
		return time.Time{}, err
	}
	return at[0].UTC(), nil
}

// ClaimAccrual records the room's accrual at dueAt, stamped now, unless
// it is recorded already; it reports whether this transaction recorded
// it. The primary key decides: a rerun, or another instance's
// transaction, finds the row and claims nothing.
func (tx *Tx) ClaimAccrual(ctx context.Context, bullPenID int64, dueAt time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO accruals (bull_pen_id, due_at, applied_at) VALUES (?, ?, ?)
		ON CONFLICT (bull_pen_id, due_at) DO NOTHING`, bullPenID, dueAt.UTC(), tx.now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
