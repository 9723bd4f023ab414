package game

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// snapshot ranks a room now, stores the snapshot and its event. standings
// are the room's as read in tx, or nil to read them here.
func (s *Service) snapshot(ctx context.Context, tx Tx, room *BullPen, final bool, standings []Standing) (*LeaderboardSnapshot, error) {
	if standings == nil {
		var err error
		if standings, err = s.standings(ctx, tx, room.ID); err != nil {
			return nil, err
		}
	}
	teams, err := roomTeams(ctx, tx, room)
	if err != nil {
		return nil, err
	}
	snap := rankSnapshot(room, tx.Now(), final, standings, teams)
	return snap, storeSnapshot(ctx, tx, room, snap, nil)
}

// rankSnapshot ranks standings into a snapshot of room taken at `at`, and
// teams (nil for a room without teams) on the same entries.
func rankSnapshot(room *BullPen, at time.Time, final bool, standings []Standing, teams []*Team) *LeaderboardSnapshot {
	// The history starts with trading: a SCHEDULED room's values are the
	// starting cash, and would only dilute the statistics.
	observe := room.State != RoomScheduled
	snap := &LeaderboardSnapshot{BullPenID: room.ID, TakenAt: at, Final: final, Entries: RankBy(rankMetric(room), room.StartingCash, standings, observe)}
	if room.TeamSize != nil {
		snap.Teams = RankTeams(teamScoring(room), teams, snap.Entries)
	}
	return snap
}

// storeSnapshot stores snap, the participants' running aggregates it
// advanced and its event. entries, when not nil, is snap.Entries already
// encoded as JSON.
func storeSnapshot(ctx context.Context, tx Tx, room *BullPen, snap *LeaderboardSnapshot, entries json.RawMessage) error {
	if err := tx.InsertSnapshot(ctx, snap); err != nil {
		return err
	}
	return advanceSnapshot(ctx, tx, room, snap, entries)
}

// advanceSnapshot stores what follows from snap, stored: the running
// aggregates it advanced and its event (see storeSnapshot).
func advanceSnapshot(ctx context.Context, tx Tx, room *BullPen, snap *LeaderboardSnapshot, entries json.RawMessage) error {
	if room.State != RoomScheduled {
		tracks := make([]Track, len(snap.Entries))
		for i, e := range snap.Entries {
			tracks[i] = e.Track
		}
		if err := tx.SaveTracks(ctx, tracks); err != nil {
			return err
		}
	}
	var payload any = LeaderboardPayload{Snapshot: *snap}
	if entries != nil {
		var err error
		if payload, err = encodedLeaderboardPayload(snap, entries); err != nil {
			return err
		}
	}
	_, err := tx.AppendEvent(ctx, room.ID, EventLeaderboard, nil, payload)
	return err
}

// encodedLeaderboardPayload is the JSON of LeaderboardPayload{snap} made
// from snap.Entries already encoded: the entries are spliced in as they
// are, not encoded (or even scanned) again while the writer is held.
func encodedLeaderboardPayload(snap *LeaderboardSnapshot, entries json.RawMessage) (json.RawMessage, error) {
	head, err := json.Marshal(struct {
		ID        int64     `json:"id"`
		BullPenID int64     `json:"bullPenId"`
		TakenAt   time.Time `json:"takenAt"`
		Final     bool      `json:"final"`
	}{snap.ID, snap.BullPenID, snap.TakenAt, snap.Final})
	if err != nil {
		return nil, err
	}
	teams, err := json.Marshal(snap.Teams)
	if err != nil {
		return nil, err
	}
	out := make(json.RawMessage, 0, len(`{"snapshot":,"entries":,"teams":}}`)+len(head)+len(entries)+len(teams))
	out = append(out, `{"snapshot":`...)
	out = append(out, head[:len(head)-1]...) // without its closing brace
	out = append(out, `,"entries":`...)
	out = append(out, entries...)
	out = append(out, `,"teams":`...)
	out = append(out, teams...)
	return append(out, "}}"...), nil
}

// A preparedSnapshot is a room's snapshot read, ranked and encoded on one
// consistent read snapshot of the store, outside any write: storing it
// then holds the room, and on SQLite every writer, only for its inserts
// (at 5,000 participants the reads, ranking and encoding were half of
// the roughly 100 ms a snapshot held the writer).
type preparedSnapshot struct {
	room    *BullPen // as read
	prevID  int64    // the room's latest snapshot then, 0 for none
	snap    *LeaderboardSnapshot
	entries json.RawMessage
}

// prepareSnapshot reads and ranks room id. It returns nil when there is
// nothing to take: the room is over, or, unless stale, its board is the
// one its latest snapshot shows (same participants, order, ranks, values
// and cash).
func (s *Service) prepareSnapshot(ctx context.Context, id int64, stale bool) (*preparedSnapshot, error) {
	var p *preparedSnapshot
	err := s.store.Read(ctx, func(q Queries) error {
		room, err := q.BullPen(ctx, id)
		if err != nil || room.State == RoomEnded || room.State == RoomCancelled {
			return err
		}
		var prev *LeaderboardSnapshot
		if stale {
			prev = &LeaderboardSnapshot{}
			if prev.ID, err = q.LatestSnapshotID(ctx, id); err != nil {
				return err
			}
		} else if prev, err = q.LatestSnapshot(ctx, id); ErrorCode(err) == ENOTFOUND {
			prev, err = &LeaderboardSnapshot{}, nil
		} else if err != nil {
			return err
		}
		standings, err := s.standings(ctx, q, id)
		if err != nil {
			return err
		}
		teams, err := roomTeams(ctx, q, room)
		if err != nil {
			return err
		}
		// Taken now, to the millisecond in UTC as a transaction's time is
		// (PostgreSQL would keep microseconds, the event nanoseconds).
		snap := rankSnapshot(room, s.clock.Now().UTC().Truncate(time.Millisecond), false, standings, teams)
		if !stale && prev.ID != 0 && sameBoard(prev, snap) {
			return nil
		}
		entries, err := json.Marshal(snap.Entries)
		if err != nil {
			return err
		}
		p = &preparedSnapshot{room: room, prevID: prev.ID, snap: snap, entries: entries}
		return nil
	})
	return p, err
}

// storePrepared stores p in tx, which holds the room. It reports false,
// storing nothing, when the room has moved on since p was read in a way
// that makes p wrong (see current).
func storePrepared(ctx context.Context, tx Tx, room *BullPen, p *preparedSnapshot) (bool, error) {
	if ok, err := p.current(ctx, tx, room); err != nil || !ok {
		return false, err
	}
	return true, storeSnapshot(ctx, tx, room, p.snap, p.entries)
}

// current says whether p may still be stored in tx, which holds room:
// not when another snapshot advanced the running aggregates p advanced
// from, or the room changed state or ranking. Orders placed since do not
// make p wrong: p shows the room as it was when read, and the room is
// marked stale again by them.
func (p *preparedSnapshot) current(ctx context.Context, tx Tx, room *BullPen) (bool, error) {
	if room.State != p.room.State || room.RankBy != p.room.RankBy {
		return false, nil
	}
	latest, err := tx.LatestSnapshotID(ctx, room.ID)
	return err == nil && latest == p.prevID, err
}

// DefaultSnapshotPart is the default of Config.SnapshotPart: a thousand
// entries are about 4 ms of the SQLite writer (BENCHMARKS.md), where a
// whole snapshot of 5,000 held it for 46.
const DefaultSnapshotPart = 1000

// abandonedSnapshotAge: an incomplete snapshot taken this long ago was
// left by a writer that stopped between its parts (a crash, a shutdown);
// the room's next snapshot in parts deletes it.
const abandonedSnapshotAge = time.Minute

// storeRound stores p, prepared outside any write, and returns the number
// of entries of the snapshot stored, or -1 when none was: the room is
// over, or nothing changed. When p is no longer current the room is read
// and ranked again in the write. A snapshot of more than s.snapshotPart
// entries is stored in parts, each a short write of its own, so that
// other writers (on SQLite every order) wait for one part at most, never
// for the whole room: its row, not yet complete, with the first part;
// then the other parts; then, in one write, the mark that it is complete,
// the running aggregates it advanced and its event. No reader sees an
// incomplete snapshot, and one that a stopped writer left is deleted.
func (s *Service) storeRound(ctx context.Context, p *preparedSnapshot, stale bool) (int, error) {
	id := p.room.ID
	entries := -1
	// inWrite stores p in tx, or ranks the room again there when p is
	// no longer current.
	inWrite := func(tx Tx, room *BullPen) error {
		stored, err := storePrepared(ctx, tx, room, p)
		if err != nil {
			return err
		}
		if !stored {
			// Read and rank again, in the write: rare (a state change or
			// another snapshot in between).
			if p.snap, err = s.snapshotIfChanged(ctx, tx, room, stale); err != nil || p.snap == nil {
				return err
			}
		}
		entries = len(p.snap.Entries)
		return nil
	}
	lock := func(tx Tx) (*BullPen, error) {
		room, err := tx.LockBullPen(ctx, id)
		if err != nil || room.State == RoomEnded || room.State == RoomCancelled {
			return nil, err
		}
		return room, nil
	}
	all := p.snap.Entries
	begun := false // p's row and first part are stored
	err := s.store.Update(ctx, func(tx Tx) error {
		room, err := lock(tx)
		if err != nil || room == nil {
			return err
		}
		if len(all) > s.snapshotPart {
			ok, err := p.current(ctx, tx, room)
			if err == nil && ok {
				err = s.beginParts(ctx, tx, p)
				begun = err == nil
			}
			if err != nil || ok {
				return err
			}
			// Moved on: rank again, in this write.
		}
		return inWrite(tx, room)
	})
	if err != nil || !begun {
		return entries, err
	}
	if s.afterPart != nil {
		s.afterPart(p.snap.ID)
	}
	for i := s.snapshotPart; i < len(all); i += s.snapshotPart {
		part := all[i:min(i+s.snapshotPart, len(all))]
		if err := s.store.Update(ctx, func(tx Tx) error {
			return tx.InsertSnapshotEntries(ctx, p.snap.ID, part)
		}); err != nil {
			// Left incomplete: no reader sees it, and it is deleted by
			// the room's next snapshot in parts once abandoned.
			return -1, err
		}
		if s.afterPart != nil {
			s.afterPart(p.snap.ID)
		}
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		room, err := lock(tx)
		if err != nil || room == nil {
			if err == nil {
				_, err = tx.DiscardSnapshots(ctx, id, time.Time{}, p.snap.ID)
			}
			return err
		}
		ok, err := p.current(ctx, tx, room)
		if err == nil && ok {
			ok, err = tx.CompleteSnapshot(ctx, p.snap.ID)
		}
		if err != nil {
			return err
		}
		if ok {
			entries = len(all)
			return advanceSnapshot(ctx, tx, room, p.snap, p.entries)
		}
		if _, err := tx.DiscardSnapshots(ctx, id, time.Time{}, p.snap.ID); err != nil {
			return err
		}
		return inWrite(tx, room)
	})
	return entries, err
}

// beginParts stores p's row, incomplete, and its first part, after
// deleting what an earlier writer left of the room's snapshots.
func (s *Service) beginParts(ctx context.Context, tx Tx, p *preparedSnapshot) error {
	if _, err := tx.DiscardSnapshots(ctx, p.room.ID, s.clock.Now().Add(-abandonedSnapshotAge), 0); err != nil {
		return err
	}
	if err := tx.BeginSnapshot(ctx, p.snap); err != nil {
		return err
	}
	return tx.InsertSnapshotEntries(ctx, p.snap.ID, p.snap.Entries[:s.snapshotPart])
}

func (s *Service) standings(ctx context.Context, q Queries, roomID int64) ([]Standing, error) {
	ps, err := q.Participants(ctx, roomID)
	if err != nil {
		return nil, err
	}
	positions, err := q.PositionsByRoom(ctx, roomID)
	if err != nil {
		return nil, err
	}
	prices, err := s.prices(ctx, q)
	if err != nil {
		return nil, err
	}
	tracks, err := q.Tracks(ctx, roomID)
	if err != nil {
		return nil, err
	}
	trackOf := make(map[int64]Track, len(tracks))
	for _, t := range tracks {
		trackOf[t.ParticipantID] = *t
	}
	byParticipant := map[int64][]Position{}
	for _, pos := range positions {
		if pos.Quantity == 0 {
			continue
		}
		pos.MarketPrice = priceOf(prices, *pos)
		byParticipant[pos.ParticipantID] = append(byParticipant[pos.ParticipantID], *pos)
	}
	out := make([]Standing, len(ps))
	for i, p := range ps {
		out[i] = Standing{ParticipantID: p.ID, UserID: p.UserID, JoinedAt: p.JoinedAt, Cash: p.Cash, Positions: byParticipant[p.ID], Track: trackOf[p.ID]}
	}
	return out, nil
}

// rankMetric is what room ranks by (RETURN when unset).
func rankMetric(room *BullPen) RankMetric {
	if room.RankBy == "" {
		return RankReturn
	}
	return room.RankBy
}

func (s *Service) prices(ctx context.Context, q Queries) (map[string]decimal.Decimal, error) {
	qs, err := q.Quotes(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]decimal.Decimal, len(qs))
	for _, qu := range qs {
		m[qu.Symbol] = qu.Price
	}
	return m, nil
}

func priceOf(prices map[string]decimal.Decimal, pos Position) decimal.Decimal {
	if p, ok := prices[pos.Symbol]; ok {
		return p
	}
	return pos.AverageCost()
}

// Valuation is a participant's money at current prices.
type Valuation struct {
	// Cash is read with the rest, so the figures add up.
	Cash           decimal.Decimal
	Positions      []*Position
	PortfolioValue decimal.Decimal
	TotalReturn    decimal.Decimal
	ReturnPercent  decimal.Decimal
	BuyingPower    decimal.Decimal
	// Hidden says Positions and BuyingPower were withheld from the viewer.
	Hidden bool
}

// Value prices a participant's positions at the last quotes, all read
// from one snapshot so cash, positions, open orders and prices agree.
func (s *Service) Value(ctx context.Context, p *Participant) (*Valuation, error) {
	var v *Valuation
	err := s.store.Read(ctx, func(q Queries) error {
		var err error
		v, err = s.value(ctx, q, p.ID)
		return err
	})
	return v, err
}

func (s *Service) value(ctx context.Context, q Queries, participantID int64) (*Valuation, error) {
	p, err := q.Participant(ctx, participantID)
	if err != nil {
		return nil, err
	}
	room, err := q.BullPen(ctx, p.BullPenID)
	if err != nil {
		return nil, err
	}
	ps, err := q.Positions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	prices, err := s.prices(ctx, q)
	if err != nil {
		return nil, err
	}
	open, err := q.OpenOrders(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	v := &Valuation{Cash: p.Cash, Positions: []*Position{}}
	a := &account{p: p, room: room, open: open, positions: map[string]*Position{}, prices: prices}
	vals := make([]Position, 0, len(ps))
	for _, pos := range ps {
		pos.MarketPrice = priceOf(prices, *pos)
		a.positions[pos.Symbol] = pos
		if pos.Quantity != 0 || !pos.RealizedPnL.IsZero() {
			v.Positions = append(v.Positions, pos)
		}
		vals = append(vals, *pos)
	}
	v.PortfolioValue = PortfolioValue(p.Cash, vals)
	v.TotalReturn = TotalReturn(v.PortfolioValue, room.StartingCash)
	v.ReturnPercent = ReturnPercent(v.PortfolioValue, room.StartingCash)
	v.BuyingPower = decimal.Max(a.buyingPower(0), decimal.Zero)
	return v, nil
}

// LeaderboardInterval is how often stale leaderboards are refreshed;
// ActiveSnapshotEvery is how many intervals pass, by default, between
// periodic snapshots of an ACTIVE room whose prices move without fills
// (Config.LeaderboardPeriod).
const (
	// DefaultSnapshotRestPerParticipant: after a snapshot of n
	// participants a room takes no other before n × this (5,000: 2 s;
	// under 2,500 it is less than LeaderboardInterval and changes
	// nothing). A snapshot costs about 20 µs a participant of the one
	// SQLite writer (BENCHMARKS.md): at most 5% of the time.
	DefaultSnapshotRestPerParticipant = 400 * time.Microsecond
	LeaderboardInterval               = time.Second
	ActiveSnapshotEvery               = 5
)

// DefaultLeaderboardPeriod is the default of Config.LeaderboardPeriod.
const DefaultLeaderboardPeriod = ActiveSnapshotEvery * LeaderboardInterval

// CheckLeaderboardPeriod accepts a period of periodic snapshots: whole
// seconds from 1s to 1h.
func CheckLeaderboardPeriod(d time.Duration) error {
	if d < LeaderboardInterval || d > time.Hour || d%LeaderboardInterval != 0 {
		return fmt.Errorf("%v: want whole seconds from 1s to 1h, e.g. 5s", d)
	}
	return nil
}

// RefreshLeaderboards takes a snapshot of every room marked stale since the
// last call and, when periodic is true, of every ACTIVE room whose board
// differs from its latest snapshot (prices moved someone's value): an idle
// room adds nothing to its event log.
func (s *Service) RefreshLeaderboards(ctx context.Context, periodic bool) error {
	s.mu.Lock()
	rooms := s.dirty // true: stale, snapshot it; false: only if its board changed
	s.dirty = map[int64]bool{}
	s.mu.Unlock()
	if periodic {
		live, err := s.store.LiveBullPens(ctx)
		if err != nil {
			return err
		}
		for _, r := range live {
			if r.State == RoomActive && !rooms[r.ID] {
				rooms[r.ID] = false
			}
		}
	}
	now := s.clock.Now()
	for id, stale := range rooms {
		s.mu.Lock()
		resting := now.Before(s.restUntil[id])
		if resting && stale {
			s.dirty[id] = true // its turn comes when the rest is over
		}
		s.mu.Unlock()
		if resting {
			continue
		}
		began := s.clock.Now()
		entries := -1
		p, err := s.prepareSnapshot(ctx, id, stale)
		if err == nil && p != nil {
			entries, err = s.storeRound(ctx, p, stale)
		}
		if entries >= 0 && err == nil {
			// Storing a snapshot costs the room's writer (on SQLite every
			// writer) a row per participant: in a big room tens of
			// milliseconds, in parts, which orders would share the writer
			// with once a second. Its cost grows with the room, so the room
			// rests in proportion (see Config.SnapshotRestPerParticipant).
			// A room small enough to rest less than LeaderboardInterval
			// does not rest at all: its rounds come once a second anyway.
			if rest := time.Duration(entries) * s.restPerParticipant; rest > LeaderboardInterval {
				s.mu.Lock()
				s.restUntil[id] = began.Add(rest)
				s.mu.Unlock()
			}
		}
		if err != nil {
			// Still stale: the next round tries again (unless the room
			// is gone).
			if ErrorCode(err) != ENOTFOUND {
				s.markDirty(id)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Error("leaderboard snapshot", "room", id, "err", err)
		}
	}
	return nil
}

// snapshotIfChanged takes a snapshot of room in tx, unless the room is
// not stale and the board is the one its latest snapshot shows; it returns
// the snapshot taken, or nil.
func (s *Service) snapshotIfChanged(ctx context.Context, tx Tx, room *BullPen, stale bool) (*LeaderboardSnapshot, error) {
	standings, err := s.standings(ctx, tx, room.ID)
	if err != nil {
		return nil, err
	}
	teams, err := roomTeams(ctx, tx, room)
	if err != nil {
		return nil, err
	}
	snap := rankSnapshot(room, tx.Now(), false, standings, teams)
	if !stale {
		prev, err := tx.LatestSnapshot(ctx, room.ID)
		if err == nil && sameBoard(prev, snap) {
			return nil, nil
		} else if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	return snap, storeSnapshot(ctx, tx, room, snap, nil)
}

// sameBoard says whether two snapshots show the same thing: the same
// participants in the same order with equal rank, portfolio value and cash
// (returns follow from the value), and the same team board.
func sameBoard(x, y *LeaderboardSnapshot) bool {
	return sameEntries(x.Entries, y.Entries) && sameTeams(x.Teams, y.Teams)
}

// sameEntries is sameBoard for the players' board.
func sameEntries(a, b []LeaderboardEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ParticipantID != y.ParticipantID || x.Rank != y.Rank ||
			!x.PortfolioValue.Equal(y.PortfolioValue) || !x.Cash.Equal(y.Cash) {
			return false
		}
	}
	return true
}

// SetPeriodicSnapshots says whether this instance takes the periodic
// snapshots of ACTIVE rooms: with several instances only the leader does,
// so a room gets at most one every Config.LeaderboardPeriod, not one per
// instance. It is on by default.
func (s *Service) SetPeriodicSnapshots(on bool) { s.noPeriodic.Store(!on) }

// RunLeaderboards refreshes leaderboards every LeaderboardInterval until
// ctx is done: stale rooms at once (so fills show within about a second),
// and every ACTIVE room whose board changed every Config.LeaderboardPeriod
// (see SetPeriodicSnapshots).
func (s *Service) RunLeaderboards(ctx context.Context) error {
	ticker := s.clock.NewTicker(LeaderboardInterval)
	defer ticker.Stop()
	// Due by the clock, not by counting ticks: a tick dropped while a
	// round ran late does not postpone the next periodic round.
	due := s.clock.Now().Add(s.leaderboardPeriod)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.Chan():
		}
		now := s.clock.Now()
		periodic := !now.Before(due)
		if periodic {
			due = now.Add(s.leaderboardPeriod)
		}
		periodic = periodic && !s.noPeriodic.Load()
		if err := s.RefreshLeaderboards(ctx, periodic); err != nil && ctx.Err() == nil {
			s.log.Error("leaderboards", "err", err)
		}
	}
}
