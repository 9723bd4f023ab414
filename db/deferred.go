package db

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/bullpen/bullpen/game"
)

// Deferred writes. On PostgreSQL each statement is a round trip and a
// statement's worth of work for the server, and an order wrote rows no
// later statement of its transaction reads: its events, its ledger
// entries and its fill counts (participant_tracks). A transaction keeps
// those and writes them at commit in one statement (writePending), with
// the rooms' last sequences and their wake-ups: a group commit of 64
// orders sends one statement for them, not 260.
//
// What makes it safe:
//   - a savepoint rolled back drops what was deferred since it (mark,
//     restore), as it would have undone the rows, and makes pending again
//     what a read wrote inside it;
//   - a read of those tables in the transaction (Events, Ledger, Tracks,
//     Track, OrderTallies) writes what is pending first;
//   - the rows go in before COMMIT (beforeCommit): a failure there fails
//     the transaction, and a group commit then runs each change alone.
//
// SQLite, in process, has no round trip to save: it writes at once.

// pendingWrites are the rows a transaction will write at commit, by
// column: writePending takes each column as one array, so that its text,
// and the statement PostgreSQL prepared for it, is the same whatever the
// number of rows.
type pendingWrites struct {
	// events
	evRoom, evSeq  []int64
	evKind, evBody []string
	evParticipant  []*int64
	evAt           []time.Time
	// ledger entries
	lgParticipant          []int64
	lgOrder                []*int64
	lgKind                 []string
	lgAmount, lgCash, lgBP []string
	lgAt                   []time.Time
	lgReason               []*string
	// fills counted
	fills []fillCount
	// sent counts the rows of each kind written already: a read's flush
	// inside a savepoint writes rows kept before it, and rolling back to
	// it undoes them, so they stay here until the commit and a rollback
	// makes them pending again (restore).
	sent pendingMark
}

// fillCount is one fill's addition to its participant's fill counts.
type fillCount struct {
	participant        int64
	fill, closing, win int64
}

// pendingMark counts rows of each kind.
type pendingMark struct{ events, ledger, fills int }

// pendingState is what a savepoint restores: the rows kept, and how many
// of them were written, when it was taken.
type pendingState struct{ kept, sent pendingMark }

func (p *pendingWrites) kept() pendingMark {
	return pendingMark{len(p.evRoom), len(p.lgParticipant), len(p.fills)}
}

func (p *pendingWrites) mark() pendingState { return pendingState{p.kept(), p.sent} }

// restore drops what was deferred after m, and makes what was written
// after it pending again: rolling back to the savepoint undid both.
func (p *pendingWrites) restore(st pendingState) {
	m := st.kept
	p.sent = st.sent
	e, l := m.events, m.ledger
	p.evRoom, p.evSeq, p.evKind, p.evBody, p.evParticipant, p.evAt = p.evRoom[:e], p.evSeq[:e], p.evKind[:e], p.evBody[:e], p.evParticipant[:e], p.evAt[:e]
	p.lgParticipant, p.lgOrder, p.lgKind, p.lgAmount, p.lgCash, p.lgBP, p.lgAt, p.lgReason =
		p.lgParticipant[:l], p.lgOrder[:l], p.lgKind[:l], p.lgAmount[:l], p.lgCash[:l], p.lgBP[:l], p.lgAt[:l], p.lgReason[:l]
	p.fills = p.fills[:m.fills]
}

// empty says whether every row kept is written.
func (p *pendingWrites) empty() bool { return p.sent == p.kept() }

func (p *pendingWrites) addEvent(room, seq int64, kind string, participant *int64, at time.Time, body string) {
	p.evRoom, p.evSeq, p.evKind = append(p.evRoom, room), append(p.evSeq, seq), append(p.evKind, kind)
	p.evParticipant, p.evAt, p.evBody = append(p.evParticipant, copyPtr(participant)), append(p.evAt, at.UTC()), append(p.evBody, body)
}

func (p *pendingWrites) addLedger(e *game.LedgerEntry) {
	p.lgParticipant, p.lgOrder, p.lgKind = append(p.lgParticipant, e.ParticipantID), append(p.lgOrder, copyPtr(e.OrderID)), append(p.lgKind, string(e.Kind))
	p.lgAmount, p.lgCash, p.lgBP = append(p.lgAmount, e.Amount.String()), append(p.lgCash, e.CashAfter.String()), append(p.lgBP, e.BuyingPowerAfter.String())
	p.lgAt, p.lgReason = append(p.lgAt, e.At.UTC()), append(p.lgReason, copyPtr(e.Reason))
}

// copyPtr is a pointer to a copy of *v: what is kept for the commit
// does not change with the caller's value.
func copyPtr[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// deferring says whether tx defers the writes above.
func (tx *Tx) deferring() bool { return tx.dialect == Postgres }

// commitRows' parts: each writes one kind of row from arrays, and is left
// out when it has none, so that a commit takes no lock on a table it does
// not write (an order that rests writes no ledger entry or fill count,
// and must not wait for whoever holds those tables). Each part's text,
// and so the statement PostgreSQL prepared for each combination, is the
// same whatever the number of rows. The ledger's rows go in in the order
// they were booked (their ids follow it).
const (
	commitEvents = `INSERT INTO events (bull_pen_id, sequence, kind, participant_id, occurred_at, payload)
		SELECT r, s, k, p, a, y::jsonb FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::timestamptz[], ?::text[]) AS x (r, s, k, p, a, y)`
	commitLedger = `INSERT INTO ledger_entries (participant_id, order_id, kind, amount, cash_after, buying_power_after, at, reason)
		SELECT p, o, k, m::numeric, c::numeric, b::numeric, a, w
		FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::text[]) WITH ORDINALITY AS x (p, o, k, m, c, b, a, w, n)
		ORDER BY n`
	commitTracks    = tracksInsert + `SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])` + tracksOnConflict
	commitSequences = `UPDATE bull_pens SET last_sequence = x.s FROM unnest(?::bigint[], ?::bigint[]) AS x (r, s) WHERE bull_pens.id = x.r`
	commitWake      = `SELECT count(pg_notify(?, x.r::text)) FROM unnest(?::bigint[]) AS x (r)`
)

// flush writes what is pending (PostgreSQL).
func (tx *Tx) flush(ctx context.Context) error {
	if tx.pending.empty() {
		return nil
	}
	return tx.writePending(ctx, nil, nil, nil)
}

// writePending writes, in one statement, what is pending, the sequences
// seqs of rooms seqRooms and the wake-ups of rooms wake, and counts what
// it wrote as sent.
func (tx *Tx) writePending(ctx context.Context, seqRooms, seqs, wake []int64) error {
	p := &tx.pending
	e, l := p.sent.events, p.sent.ledger
	var fp, ff, fc, fw []int64
	for _, f := range sumFills(p.fills[p.sent.fills:]) {
		fp, ff, fc, fw = append(fp, f.participant), append(ff, f.fill), append(fc, f.closing), append(fw, f.win)
	}
	var (
		q    strings.Builder
		args []any
		n    int
	)
	part := func(rows int, sql string, a ...any) {
		if rows == 0 {
			return
		}
		if n == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(",\n")
		}
		fmt.Fprintf(&q, "w%d AS (%s)", n, sql)
		args = append(args, a...)
		n++
	}
	part(len(p.evRoom)-e, commitEvents, p.evRoom[e:], p.evSeq[e:], p.evKind[e:], p.evParticipant[e:], p.evAt[e:], p.evBody[e:])
	part(len(p.lgParticipant)-l, commitLedger, p.lgParticipant[l:], p.lgOrder[l:], p.lgKind[l:], p.lgAmount[l:], p.lgCash[l:], p.lgBP[l:], p.lgAt[l:], p.lgReason[l:])
	part(len(fp), commitTracks, fp, ff, fc, fw)
	part(len(seqRooms), commitSequences, seqRooms, seqs)
	q.WriteString("\n" + commitWake)
	args = append(args, eventsChannel, wake)
	var woken int64
	if err := sqlx.GetContext(ctx, tx.ext, &woken, tx.rebind(q.String()), args...); err != nil {
		return fmt.Errorf("deferred writes: %w", err)
	}
	p.sent = p.kept()
	return nil
}

// commitPending is beforeCommit on PostgreSQL: the pending rows, the
// rooms' last sequences and their wake-ups, in one statement.
func (tx *Tx) commitPending(ctx context.Context) error {
	if tx.pending.empty() && len(tx.rooms) == 0 {
		return nil
	}
	// By id: the rows' locks are taken in the one global order.
	wake := slices.Sorted(maps.Keys(tx.rooms))
	var seqRooms, seqs []int64
	for _, room := range wake {
		if seq := tx.rooms[room]; tx.stored[room] != seq {
			seqRooms, seqs = append(seqRooms, room), append(seqs, seq)
		}
	}
	if err := tx.writePending(ctx, seqRooms, seqs, wake); err != nil {
		return err
	}
	for i, room := range seqRooms {
		tx.stored[room] = seqs[i]
	}
	return nil
}

// sumFills adds up the fill counts per participant, by participant id:
// one upsert may not touch a row twice.
func sumFills(fills []fillCount) []fillCount {
	sums := map[int64]fillCount{}
	for _, f := range fills {
		s := sums[f.participant]
		s.participant = f.participant
		s.fill, s.closing, s.win = s.fill+f.fill, s.closing+f.closing, s.win+f.win
		sums[f.participant] = s
	}
	out := make([]fillCount, 0, len(sums))
	for _, id := range slices.Sorted(maps.Keys(sums)) {
		out = append(out, sums[id])
	}
	return out
}

// txMark is what a savepoint restores of a transaction's own state when
// it is rolled back to.
type txMark struct {
	rooms, stored map[int64]int64
	symbols       map[string]bool
	locked        map[int64]*game.BullPen
	quotes        map[string]*game.Quote
	pending       pendingState
}

func (tx *Tx) mark() txMark {
	return txMark{maps.Clone(tx.rooms), maps.Clone(tx.stored), maps.Clone(tx.symbols),
		maps.Clone(tx.locked), maps.Clone(tx.heldQuotes), tx.pending.mark()}
}

func (tx *Tx) restore(m txMark) {
	tx.rooms, tx.stored, tx.symbols = m.rooms, m.stored, m.symbols
	tx.locked, tx.heldQuotes = m.locked, m.quotes
	tx.pending.restore(m.pending)
}

// The reads of the deferred tables write what is pending first.

func (tx *Tx) Events(ctx context.Context, bullPenID, after int64, limit int) ([]*game.Event, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.queries.Events(ctx, bullPenID, after, limit)
}

func (tx *Tx) Ledger(ctx context.Context, participantID, afterID int64, limit int) ([]*game.LedgerEntry, int, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, 0, err
	}
	return tx.queries.Ledger(ctx, participantID, afterID, limit)
}

func (tx *Tx) Tracks(ctx context.Context, bullPenID int64) ([]*game.Track, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.queries.Tracks(ctx, bullPenID)
}

func (tx *Tx) Track(ctx context.Context, participantID int64) (*game.Track, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.queries.Track(ctx, participantID)
}

func (tx *Tx) OrderTallies(ctx context.Context, bullPenID, participantID int64) ([]game.OrderTally, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.queries.OrderTallies(ctx, bullPenID, participantID)
}
