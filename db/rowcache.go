package db

import (
	"context"
	"sync"
	"time"

	"github.com/bullpen/bullpen/game"
)

// rowCache keeps rows as committed, for the writers of a SQLite store:
// this process is its only writer, and writeMu lets one write
// transaction run at a time, so a row no transaction has changed is the
// row as read last. Every order reads its room (LockBullPen) and its
// symbol's quote (Quote) first, and parsing those rows was a visible part
// of the writer's time (BENCHMARKS.md).
//
// A transaction that changes a row (MoveBullPen, SaveQuote) drops it
// from the cache, and neither reads it from there nor puts it back for
// the rest of that transaction (which may roll back). For rooms, one
// that has counted the room's event sequence in the row reads it from
// there but does not put it back; the last sequence of a cached room
// advances with each commit (see Store.committed).
type rowCache[K comparable, V any] struct {
	mu    sync.Mutex
	rows  map[K]V
	clone func(*V) *V // a copy no caller's change reaches the cache through
}

func newRowCache[K comparable, V any](clone func(*V) *V) *rowCache[K, V] {
	return &rowCache[K, V]{rows: map[K]V{}, clone: clone}
}

// get returns a copy of key's row, false when it is not cached.
func (c *rowCache[K, V]) get(key K) (*V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.rows[key]
	if !ok {
		return nil, false
	}
	return c.clone(&v), true
}

func (c *rowCache[K, V]) put(key K, v *V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows[key] = *c.clone(v)
}

func (c *rowCache[K, V]) drop(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rows, key)
}

// advance sets the last sequence of the cached rooms among rooms, as a
// commit left them.
func advance(c *rowCache[int64, game.BullPen], rooms map[int64]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, seq := range rooms {
		if b, ok := c.rows[id]; ok {
			b.LastSequence = seq
			c.rows[id] = b
		}
	}
}

// txCache is a transaction's use of a rowCache (none when cache is nil):
// the rows it changed it neither reads from the cache nor puts back.
type txCache[K comparable, V any] struct {
	cache   *rowCache[K, V]
	changed map[K]bool
}

// usable says whether key's row may be read from and put in the cache.
func (t *txCache[K, V]) usable(key K) bool { return t.cache != nil && !t.changed[key] }

// get returns a copy of key's cached row, false when there is none to use.
func (t *txCache[K, V]) get(key K) (*V, bool) {
	if !t.usable(key) {
		return nil, false
	}
	return t.cache.get(key)
}

// put caches v, key's row as read, unless this transaction changed it.
func (t *txCache[K, V]) put(key K, v *V) {
	if t.usable(key) {
		t.cache.put(key, v)
	}
}

// change drops key's row: this transaction changes it.
func (t *txCache[K, V]) change(key K) {
	if t.cache == nil {
		return
	}
	if t.changed == nil {
		t.changed = map[K]bool{}
	}
	t.changed[key] = true
	t.cache.drop(key)
}

// clonePen copies b with a slice of its own.
func clonePen(b *game.BullPen) *game.BullPen {
	out := *b
	if b.AllowedSymbols != nil {
		out.AllowedSymbols = append([]string{}, b.AllowedSymbols...)
	}
	if h := b.TradingHours; h != nil {
		hours := *h
		hours.Days = append([]game.Weekday{}, h.Days...)
		out.TradingHours = &hours
	}
	return &out
}

func cloneQuote(q *game.Quote) *game.Quote {
	out := *q
	return &out
}

// LockBullPen reads room id and, on PostgreSQL, locks its row until the
// transaction ends (SQLite has one writer at a time).
func (tx *Tx) LockBullPen(ctx context.Context, id int64) (*game.BullPen, error) {
	// The cached row is the committed one; withSequence shows the
	// sequence this transaction's events reached.
	if b, ok := tx.pens.get(id); ok {
		return tx.withSequence(b), nil
	}
	if b, ok := tx.locked[id]; ok { // PostgreSQL: locked already
		return tx.withSequence(clonePen(b)), nil
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
	if tx.dialect == Postgres {
		tx.locked[id] = clonePen(b)
	}
	if tx.stored[id] == 0 { // else its last sequence is this transaction's
		tx.pens.put(id, b)
	}
	return tx.withSequence(b), nil
}

// MoveBullPen is writes.MoveBullPen, dropping the room from the caches.
func (tx *Tx) MoveBullPen(ctx context.Context, id int64, from, to game.RoomState, startsAt, endsAt time.Time) (bool, error) {
	tx.pens.change(id)
	delete(tx.locked, id)
	return tx.writes.MoveBullPen(ctx, id, from, to, startsAt, endsAt)
}

// Quote reads symbol's quote.
func (tx *Tx) Quote(ctx context.Context, symbol string) (*game.Quote, error) {
	if q, ok := tx.heldQuotes[symbol]; ok {
		return cloneQuote(q), nil
	}
	if q, ok := tx.quotes.get(symbol); ok {
		return q, nil
	}
	// Whether the symbol's lock is held before the read: a quote read
	// without it may be older than the lock.
	_, held := tx.symbols[symbol]
	q, err := tx.queries.Quote(ctx, symbol)
	if err == nil {
		tx.quotes.put(symbol, q)
		if held {
			tx.heldQuotes[symbol] = cloneQuote(q)
		}
	}
	return q, err
}

// SaveQuote stores a quote and tells other instances (see notify),
// dropping the symbol from the caches.
func (tx *Tx) SaveQuote(ctx context.Context, qu *game.Quote) error {
	tx.quotes.change(qu.Symbol)
	delete(tx.heldQuotes, qu.Symbol)
	if err := tx.notify(ctx, quotesChannel, qu.Symbol); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO quotes (symbol, price, bid, ask, volume, open, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, bid = excluded.bid, ask = excluded.ask,
		volume = excluded.volume, at = excluded.at`, qu.Symbol, qu.Price, qu.Bid, qu.Ask, qu.Volume, qu.Open, qu.At)
	return err
}
