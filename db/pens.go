package db

import (
	"context"
	"sync"
	"time"

	"github.com/bullpen/bullpen/game"
)

// penCache keeps rooms' rows as committed, for the writers of a SQLite
// store: this process is its only writer, and writeMu lets one write
// transaction run at a time, so a row no transaction has changed is the
// row as read last. Every order locks its room (LockBullPen) first: the
// read, twenty-odd columns with decimals and times to parse, was an
// eighth of the writer's time in the rooms profile (BENCHMARKS.md).
//
// A transaction that changes a room's row (MoveBullPen) drops it from
// the cache, and neither reads it from there nor puts it back for the
// rest of that transaction (which may roll back); one that has counted
// the room's event sequence in the row reads it from there but does not
// put it back. The last sequence of a cached room advances with each
// commit (see Store.committed).
type penCache struct {
	mu   sync.Mutex
	rows map[int64]game.BullPen
}

// get returns a copy of room id's row, false when it is not cached.
func (c *penCache) get(id int64) (*game.BullPen, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.rows[id]
	if !ok {
		return nil, false
	}
	return clonePen(&b), true
}

func (c *penCache) put(b *game.BullPen) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows[b.ID] = *clonePen(b)
}

func (c *penCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rows, id)
}

// advance sets the last sequence of the cached rooms among rooms, as a
// commit left them.
func (c *penCache) advance(rooms map[int64]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, seq := range rooms {
		if b, ok := c.rows[id]; ok {
			b.LastSequence = seq
			c.rows[id] = b
		}
	}
}

// clonePen copies b with a slice of its own, so that no caller's change
// reaches the cache.
func clonePen(b *game.BullPen) *game.BullPen {
	out := *b
	if b.AllowedSymbols != nil {
		out.AllowedSymbols = append([]string{}, b.AllowedSymbols...)
	}
	return &out
}

// LockBullPen reads room id and, on PostgreSQL, locks its row until the
// transaction ends (SQLite has one writer at a time).
func (tx *Tx) LockBullPen(ctx context.Context, id int64) (*game.BullPen, error) {
	// The cached row is the committed one; withSequence shows the
	// sequence this transaction's events reached.
	cached := tx.pens != nil && !tx.penChanged[id]
	if cached {
		if b, ok := tx.pens.get(id); ok {
			return tx.withSequence(b), nil
		}
	}
	lock := ""
	if tx.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var r bullPenRow
	if err := tx.get(ctx, &r, "bull pen", `SELECT `+bullPenCols+` FROM bull_pens WHERE id = ?`+lock, id); err != nil {
		return nil, err
	}
	b := r.domain()
	if cached && tx.stored[id] == 0 { // else its last sequence is this transaction's
		tx.pens.put(b)
	}
	return tx.withSequence(b), nil
}

// MoveBullPen is queries.MoveBullPen, dropping the room from the cache.
func (tx *Tx) MoveBullPen(ctx context.Context, id int64, from, to game.RoomState, startsAt, endsAt time.Time) (bool, error) {
	if tx.pens != nil {
		tx.penChanged[id] = true
		tx.pens.drop(id)
	}
	return tx.queries.MoveBullPen(ctx, id, from, to, startsAt, endsAt)
}
