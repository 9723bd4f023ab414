package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bullpen/bullpen/game"
)

// Group commit. Apply queues a change; a committer goroutine, owned by
// the Store (started in Open, stopped in Close), takes whatever is queued
// (up to maxBatch, never waiting for more: batches come from contention,
// not from a delay), runs every change in one transaction, each inside its
// own savepoint (a batch of one needs none), commits once and answers each
// caller with its own result.
//
// SQLite has one writer, and one committer. PostgreSQL has several
// (Options.Committers), each with its own queue and transactions: rooms are
// independent, and one committer running every room's orders one round
// trip after another left the database mostly idle (BENCHMARKS.md,
// "PostgreSQL throughput"). A change goes to the committer of its lowest
// room (its lowest symbol when it names no room), so one room's changes
// keep their order in one queue. Committers commit concurrently as
// several instances' do: each batch takes its locks in the one global
// order (lockAll), sequences are numbered under the room's row lock, and a
// deadlock or serialization failure still only makes a change run alone.
//
// Failures:
//   - A change that fails is rolled back to its savepoint and its caller
//     gets its error; the others go on. A deadlock or serialization
//     failure inside a change is not its outcome: it runs again alone.
//   - When the shared transaction fails before COMMIT was sent (begin,
//     a broken savepoint, the NOTIFY, a commit that SQLite refused or a
//     PostgreSQL commit that failed with a serialization failure), nothing
//     of it committed: every change runs again alone, in its caller's
//     goroutine, retrying deadlocks and serialization failures a few
//     times, so a batch's failure never fails a change that would succeed
//     by itself.
//   - When a PostgreSQL COMMIT fails otherwise (a lost connection), it may
//     or may not have committed: every caller of the batch gets the error,
//     as a caller of Update would; running the changes again could make
//     them twice.

// maxBatch bounds the changes of one transaction, so a batch (and the
// locks it holds on PostgreSQL) stays short.
const maxBatch = 64

// aloneAttempts bounds how often a change running alone is retried after a
// deadlock or serialization failure.
const aloneAttempts = 5

var (
	// errClosed answers changes that Close found still queued.
	errClosed = errors.New("db: store closed")
	// errPanicked rolls back a change that panicked; its caller panics.
	errPanicked = errors.New("db: change panicked")
)

// request is one queued change and, once done is closed, its outcome.
type request struct {
	ctx    context.Context
	change game.Change
	done   chan struct{}
	err    error
	alone  bool // run it again in a transaction of its own
	panic  any  // Run panicked: re-raised in the caller's goroutine
}

// committer batches changes for one Store; a Store has one per
// concurrent writer it runs (see committerFor).
type committer struct {
	s     *Store
	mu    sync.Mutex
	queue []*request
	shut  bool
	wake  chan struct{} // one pending wake-up
	stop  chan struct{}
	exit  chan struct{} // closed when the goroutine has returned

	batches, changes atomic.Int64 // committed, for GroupCommits
}

func startCommitter(s *Store) *committer {
	c := &committer{s: s, wake: make(chan struct{}, 1), stop: make(chan struct{}), exit: make(chan struct{})}
	go c.run()
	return c
}

// close stops the goroutine after the batch it is running and answers
// what is still queued with errClosed.
func (c *committer) close() {
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		<-c.exit
		return
	}
	c.shut = true
	c.mu.Unlock()
	close(c.stop)
	<-c.exit
	c.mu.Lock()
	left := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, r := range left {
		r.err = errClosed
		close(r.done)
	}
}

func (c *committer) submit(r *request) error {
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// take removes up to maxBatch queued changes, oldest first.
func (c *committer) take() []*request {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxBatch)
	batch := slices.Clone(c.queue[:n])
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil // let the backing array go
	}
	return batch
}

func (c *committer) run() {
	defer close(c.exit)
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		for {
			select {
			case <-c.stop:
				return
			default:
			}
			batch := c.take()
			if len(batch) == 0 {
				break
			}
			c.s.commitBatch(c, batch)
		}
	}
}

// Apply makes c in a transaction shared with other queued changes; see
// game.Store.
func (s *Store) Apply(ctx context.Context, c game.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, change: c, done: make(chan struct{})}
	if err := s.committerFor(c).submit(r); err != nil {
		return err
	}
	// Wait even when ctx ends: once Run has started it runs to the end,
	// and the caller learns what happened.
	<-r.done
	if r.panic != nil {
		panic(r.panic)
	}
	if r.alone {
		return s.applyAlone(ctx, c)
	}
	return formatError(r.err)
}

// applyAlone runs c in a transaction of its own, again after a deadlock
// or serialization failure.
func (s *Store) applyAlone(ctx context.Context, c game.Change) error {
	var err error
	for attempt := range aloneAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Millisecond):
			}
		}
		err = s.Update(ctx, func(tx game.Tx) error { return c.Run(ctx, tx) })
		if !retryable(err) {
			return err
		}
		s.log.Warn("change retried after a transient failure", "attempt", attempt+1, "err", err)
	}
	return err
}

// commitBatch runs batch, taken from c, in one transaction and answers
// every request.
func (s *Store) commitBatch(c *committer, batch []*request) {
	var live []*request
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	answer := func(rs []*request) {
		for _, r := range rs {
			close(r.done)
		}
	}
	// again sends every request that has no final outcome back to run
	// alone: nothing of the batch committed.
	again := func(why error) {
		s.log.Warn("group commit failed before commit; each change runs alone", "changes", len(live), "err", why)
		for _, r := range live {
			if r.err == nil && r.panic == nil {
				r.alone = true
			}
		}
		answer(live)
	}
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	// The transaction belongs to no caller: a caller's cancellation must
	// not roll back the others' changes.
	ctx := context.Background()
	sqltx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		again(err)
		return
	}
	tx := s.newTx(sqltx)
	if err := tx.lockAll(ctx, live); err != nil {
		_ = sqltx.Rollback()
		again(err)
		return
	}
	// A batch of one runs without a savepoint: when its change fails, the
	// transaction is rolled back whole, which undoes what the savepoint
	// would have, and holds nothing else. At a light load most batches are
	// of one, and this saves each a round trip on PostgreSQL and the
	// statement journal on SQLite.
	single := len(live) == 1
	for _, r := range live {
		rctx := context.WithoutCancel(r.ctx)
		run := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					r.panic, err = p, errPanicked
				}
			}()
			return r.change.Run(rctx, tx)
		}
		var fnErr, txErr error
		if single {
			fnErr = run()
		} else {
			// On PostgreSQL each change's savepoint stays open under the
			// next (a RELEASE is a round trip). SQLite releases it: a
			// RELEASE costs no round trip there, while a savepoint left
			// open makes every later change copy the pages it writes into
			// the statement journal once more, a journal that then grows
			// with the batch (BENCHMARKS.md, "Issue 21, third sitting").
			fnErr, txErr = tx.savepoint(rctx, run, s.dialect == SQLite)
		}
		if txErr != nil {
			_ = sqltx.Rollback()
			again(txErr)
			return
		}
		switch {
		case r.panic != nil:
		case retryable(fnErr):
			r.alone = true
		default:
			r.err = fnErr
		}
		if single && fnErr != nil {
			_ = sqltx.Rollback()
			answer(live)
			return
		}
	}
	if err := tx.beforeCommit(ctx); err != nil {
		_ = sqltx.Rollback()
		again(err)
		return
	}
	if err := sqltx.Commit(); err != nil {
		if s.dialect == SQLite || retryable(err) {
			_ = sqltx.Rollback()
			again(err)
			return
		}
		// PostgreSQL may have committed: say so rather than run it twice.
		for _, r := range live {
			if r.err == nil && r.panic == nil && !r.alone {
				r.err = fmt.Errorf("commit: %w", err)
			}
		}
		answer(live)
		return
	}
	c.batches.Add(1)
	c.changes.Add(int64(len(live)))
	s.committed(tx.rooms)
	answer(live)
}

// GroupCommits reports how many shared transactions Apply has committed
// and how many changes they carried (for metrics and benchmarks).
func (s *Store) GroupCommits() (batches, changes int64) {
	for _, c := range s.committers {
		batches += c.batches.Load()
		changes += c.changes.Load()
	}
	return batches, changes
}

// committerFor picks the committer that runs c: the one of c's lowest
// room, so that a room's changes queue in one place and commit in the
// order they came, else the one of its lowest symbol.
func (s *Store) committerFor(c game.Change) *committer {
	n := len(s.committers)
	switch {
	case n == 1:
	case len(c.Rooms) > 0:
		return s.committers[uint64(slices.Min(c.Rooms))%uint64(n)]
	case len(c.Symbols) > 0:
		return s.committers[uint64(uint32(symbolKey(slices.Min(c.Symbols))))%uint64(n)]
	}
	return s.committers[0]
}

// lockAll takes, on PostgreSQL, the locks every change of the batch will
// take, in the order every writer takes them: symbols (shared) first, then
// rooms by id. Without it, a batch holding room A and waiting for room B
// would deadlock with a Tick holding B and waiting for A.
func (tx *Tx) lockAll(ctx context.Context, batch []*request) error {
	if tx.dialect != Postgres {
		return nil
	}
	var (
		symbols []string
		rooms   []int64
	)
	for _, r := range batch {
		symbols = append(symbols, r.change.Symbols...)
		rooms = append(rooms, r.change.Rooms...)
	}
	slices.Sort(symbols)
	for _, sym := range slices.Compact(symbols) {
		// Held for the whole batch; the changes' own LockSymbol is free.
		if err := tx.LockSymbol(ctx, sym, false); err != nil {
			return err
		}
	}
	slices.SortFunc(rooms, cmp.Compare)
	rooms = slices.Compact(rooms)
	if len(rooms) == 0 {
		return nil
	}
	// ORDER BY sorts before FOR UPDATE locks: the rows are locked by id.
	args := make([]any, len(rooms))
	for i, id := range rooms {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(rooms)), ", ")
	// The whole rows: the changes' LockBullPen reads them from here.
	var locked []*bullPenRow
	if err := tx.sel(ctx, &locked, `SELECT `+bullPenCols+` FROM bull_pens WHERE id IN (`+marks+`) ORDER BY id FOR UPDATE`, args...); err != nil {
		return err
	}
	for _, r := range locked {
		b := r.domain()
		tx.locked[b.ID] = b
	}
	return nil
}

// symbolKey is symbol's second advisory lock key.
func symbolKey(symbol string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(symbol))
	return int32(h.Sum32())
}

// retryable reports a failure that says nothing about the change itself:
// a deadlock or serialization failure on PostgreSQL, a busy database on
// SQLite. Running the change again is the answer.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}
