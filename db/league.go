package db

import (
	"context"

	"github.com/bullpen/bullpen/game"
)

// Leagues (see game/league.go): a league row and the rooms in it.

const leagueCols = `id, name, owner_id, created_at`

// League reads league id.
func (q queries) League(ctx context.Context, id int64) (*game.League, error) {
	var l game.League
	if err := q.get(ctx, &l, "league", `SELECT `+leagueCols+` FROM leagues WHERE id = ?`, id); err != nil {
		return nil, err
	}
	l.CreatedAt = l.CreatedAt.UTC()
	return &l, nil
}

// LeagueRooms lists the rooms of league leagueID by id.
func (q queries) LeagueRooms(ctx context.Context, leagueID int64) ([]*game.BullPen, error) {
	var rows []*bullPenRow
	err := q.sel(ctx, &rows, `SELECT `+bullPenCols+` FROM bull_pens
		WHERE id IN (SELECT bull_pen_id FROM league_rooms WHERE league_id = ?) ORDER BY id`, leagueID)
	return bullPens(rows), err
}

// InsertLeague stores l and sets its id.
func (q writes) InsertLeague(ctx context.Context, l *game.League) (err error) {
	l.ID, err = q.insertID(ctx, `INSERT INTO leagues (name, owner_id, created_at) VALUES (?, ?, ?)`,
		l.Name, l.OwnerID, l.CreatedAt)
	return err
}

// LockLeague reads league id and holds its row until the transaction
// ends (SQLite has one writer at a time anyway).
func (tx *Tx) LockLeague(ctx context.Context, id int64) (*game.League, error) {
	lock := ""
	if tx.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var l game.League
	if err := tx.get(ctx, &l, "league", `SELECT `+leagueCols+` FROM leagues WHERE id = ?`+lock, id); err != nil {
		return nil, err
	}
	l.CreatedAt = l.CreatedAt.UTC()
	return &l, nil
}

// AddLeagueRoom puts room bullPenID in league leagueID, stamped now; the
// primary key makes a second addition change nothing.
func (tx *Tx) AddLeagueRoom(ctx context.Context, leagueID, bullPenID int64) error {
	_, err := tx.exec(ctx, `INSERT INTO league_rooms (league_id, bull_pen_id, added_at) VALUES (?, ?, ?)
		ON CONFLICT (league_id, bull_pen_id) DO NOTHING`, leagueID, bullPenID, tx.now)
	return err
}
