package db

import (
	"context"
	"strings"

	"github.com/bullpen/bullpen/game"
)

// Assignments (see game/assignment.go): a room's checks, and the tallies
// of its order log their progress is worked out from.

// Assignments lists room bullPenID's assignments by position.
func (q queries) Assignments(ctx context.Context, bullPenID int64) ([]game.Assignment, error) {
	as := []game.Assignment{}
	err := q.sel(ctx, &as, `SELECT kind, count, order_type FROM bull_pen_assignments
		WHERE bull_pen_id = ? ORDER BY position`, bullPenID)
	return as, err
}

// InsertAssignments stores a new room's assignments, positions from 0 in
// the order given, in one statement.
func (q writes) InsertAssignments(ctx context.Context, bullPenID int64, as []game.Assignment) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]string, len(as))
	args := make([]any, 0, 5*len(as))
	for i, a := range as {
		rows[i] = "(?, ?, ?, ?, ?)"
		var orderType *string
		if a.OrderType != nil {
			t := string(*a.OrderType)
			orderType = &t
		}
		args = append(args, bullPenID, i, string(a.Kind), a.Count, orderType)
	}
	_, err := q.exec(ctx, `INSERT INTO bull_pen_assignments (bull_pen_id, position, kind, count, order_type) VALUES `+
		strings.Join(rows, ", "), args...)
	return err
}

// OrderTallies counts the room's orders (of one participant, or all when
// participantID is 0) by participant and type: FILLED ones the player
// placed (not a margin call's forced orders, whose trade the ledger books
// as LIQUIDATION), and those with a note (a note is stored trimmed, and
// NULL when empty). One pass over the room's orders (index orders_room,
// or orders_participant), and one over its players' ledger for the
// forced orders, which are few.
func (q queries) OrderTallies(ctx context.Context, bullPenID, participantID int64) ([]game.OrderTally, error) {
	cond, args := `o.bull_pen_id = ?`, []any{bullPenID, bullPenID}
	if participantID != 0 {
		cond, args = `o.participant_id = ? AND o.bull_pen_id = ?`, []any{bullPenID, participantID, bullPenID}
	}
	var ts []game.OrderTally
	err := q.sel(ctx, &ts, `SELECT o.participant_id, o.type,
		SUM(CASE WHEN o.status = 'FILLED' AND forced.order_id IS NULL THEN 1 ELSE 0 END) AS filled,
		SUM(CASE WHEN o.note IS NOT NULL AND o.note <> '' THEN 1 ELSE 0 END) AS noted
		FROM orders o LEFT JOIN (SELECT DISTINCT l.order_id FROM ledger_entries l
			JOIN participants p ON p.id = l.participant_id
			WHERE p.bull_pen_id = ? AND l.kind = 'LIQUIDATION') forced ON forced.order_id = o.id
		WHERE `+cond+` GROUP BY o.participant_id, o.type ORDER BY o.participant_id, o.type`, args...)
	return ts, err
}

// FillSteps lists the fills of the room's orders (of one participant, or
// all when participantID is 0) by fill id: the order they were made in,
// as a room's writers are serialised.
func (q queries) FillSteps(ctx context.Context, bullPenID, participantID int64) ([]game.FillStep, error) {
	cond, args := `o.bull_pen_id = ?`, []any{bullPenID}
	if participantID != 0 {
		cond, args = `o.participant_id = ? AND o.bull_pen_id = ?`, []any{participantID, bullPenID}
	}
	var steps []game.FillStep
	err := q.sel(ctx, &steps, `SELECT o.participant_id, o.symbol, o.side, f.quantity, f.at
		FROM fills f JOIN orders o ON o.id = f.order_id WHERE `+cond+` ORDER BY f.id`, args...)
	for i := range steps {
		steps[i].At = steps[i].At.UTC()
	}
	return steps, err
}
