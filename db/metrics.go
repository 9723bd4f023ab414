package db

import (
	"context"
	"time"

	"github.com/bullpen/bullpen/game"
)

// Participants' running aggregates (game.Track) and equity history.

const trackCols = `participant_id, observed, returns, sum_returns, sum_squares, peak, last_value, max_drawdown_percent,
	fills, closing_fills, wins`

func (q queries) Tracks(ctx context.Context, bullPenID int64) ([]*game.Track, error) {
	var ts []*game.Track
	return ts, q.sel(ctx, &ts, `SELECT `+trackCols+` FROM participant_tracks
		WHERE participant_id IN (SELECT id FROM participants WHERE bull_pen_id = ?) ORDER BY participant_id`, bullPenID)
}

func (q queries) Track(ctx context.Context, participantID int64) (*game.Track, error) {
	var t game.Track
	return &t, q.get(ctx, &t, "track", `SELECT `+trackCols+` FROM participant_tracks WHERE participant_id = ?`, participantID)
}

// SaveTracks upserts the history columns, many rows per statement (a
// room of 10,000 takes 50 statements a snapshot, not 10,000).
func (q writes) SaveTracks(ctx context.Context, tracks []game.Track) error {
	return insertRows(ctx, q.queries, tracks, `INSERT INTO participant_tracks (participant_id, observed, returns, sum_returns, sum_squares,
		peak, last_value, max_drawdown_percent) VALUES `, `
		ON CONFLICT (participant_id) DO UPDATE SET observed = excluded.observed, returns = excluded.returns,
		sum_returns = excluded.sum_returns, sum_squares = excluded.sum_squares, peak = excluded.peak,
		last_value = excluded.last_value, max_drawdown_percent = excluded.max_drawdown_percent`, 8,
		func(args []any, t game.Track) []any {
			return append(args, t.ParticipantID, t.Observed, t.Returns, t.SumReturns, t.SumSquares, t.Peak, t.LastValue, t.MaxDrawdownPercent)
		})
}

// tracksInsert and tracksOnConflict add fills to participants' counts:
// rows of (participant_id, fills, closing_fills, wins); commitTracks too.
const (
	tracksInsert     = `INSERT INTO participant_tracks (participant_id, fills, closing_fills, wins) `
	tracksOnConflict = `
		ON CONFLICT (participant_id) DO UPDATE SET fills = participant_tracks.fills + excluded.fills,
		closing_fills = participant_tracks.closing_fills + excluded.closing_fills, wins = participant_tracks.wins + excluded.wins`
)

// RecordFill counts a fill, or keeps it for the commit (see deferred.go).
func (tx *Tx) RecordFill(ctx context.Context, participantID int64, closing, win bool) error {
	f := fillCount{participant: participantID, fill: 1}
	if closing {
		f.closing = 1
	}
	if win {
		f.win = 1
	}
	if tx.deferring() {
		tx.pending.fills = append(tx.pending.fills, f)
		return nil
	}
	_, err := tx.exec(ctx, tracksInsert+`VALUES (?, ?, ?, ?)`+tracksOnConflict, f.participant, f.fill, f.closing, f.win)
	return err
}

func (q queries) EquityHistory(ctx context.Context, participantID int64, from, to *time.Time) ([]game.EquityPoint, error) {
	query, args := `SELECT s.taken_at AS at, e.portfolio_value FROM leaderboard_entries e
		JOIN leaderboard_snapshots s ON s.id = e.snapshot_id WHERE e.participant_id = ? AND s.complete`, []any{participantID}
	if from != nil {
		query += ` AND s.taken_at >= ?`
		args = append(args, *from)
	}
	if to != nil {
		query += ` AND s.taken_at <= ?`
		args = append(args, *to)
	}
	ps := []game.EquityPoint{}
	if err := q.sel(ctx, &ps, query+` ORDER BY e.snapshot_id`, args...); err != nil {
		return nil, err
	}
	for i := range ps {
		ps[i].At = ps[i].At.UTC()
	}
	return ps, nil
}
