package game

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// snapshot ranks a room now, stores the snapshot and its event.
func (s *Service) snapshot(ctx context.Context, tx Tx, room *BullPen, final bool) (*LeaderboardSnapshot, error) {
	standings, err := s.standings(ctx, tx, room.ID)
	if err != nil {
		return nil, err
	}
	// The history starts with trading: a SCHEDULED room's values are the
	// starting cash, and would only dilute the statistics.
	observe := room.State != RoomScheduled
	snap := &LeaderboardSnapshot{BullPenID: room.ID, TakenAt: tx.Now(), Final: final, Entries: RankBy(rankMetric(room), room.StartingCash, standings, observe)}
	if err := tx.InsertSnapshot(ctx, snap); err != nil {
		return nil, err
	}
	if observe {
		tracks := make([]Track, len(snap.Entries))
		for i, e := range snap.Entries {
			tracks[i] = e.Track
		}
		if err := tx.SaveTracks(ctx, tracks); err != nil {
			return nil, err
		}
	}
	if _, err := tx.AppendEvent(ctx, room.ID, EventLeaderboard, nil, LeaderboardPayload{Snapshot: *snap}); err != nil {
		return nil, err
	}
	return snap, nil
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
// ActiveSnapshotEvery is how many intervals pass between snapshots of an
// ACTIVE room whose prices move without fills.
const (
	LeaderboardInterval = time.Second
	ActiveSnapshotEvery = 5
)

// RefreshLeaderboards takes a snapshot of every room marked stale since the
// last call, and of every ACTIVE room when periodic is true.
func (s *Service) RefreshLeaderboards(ctx context.Context, periodic bool) error {
	s.mu.Lock()
	rooms := s.dirty
	s.dirty = map[int64]bool{}
	s.mu.Unlock()
	if periodic {
		live, err := s.store.LiveBullPens(ctx)
		if err != nil {
			return err
		}
		for _, r := range live {
			if r.State == RoomActive {
				rooms[r.ID] = true
			}
		}
	}
	for id := range rooms {
		err := s.store.Update(ctx, func(tx Tx) error {
			room, err := tx.LockBullPen(ctx, id)
			if err != nil || room.State == RoomEnded || room.State == RoomCancelled {
				return err
			}
			_, err = s.snapshot(ctx, tx, room, false)
			return err
		})
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

// SetPeriodicSnapshots says whether this instance takes the periodic
// snapshots of ACTIVE rooms: with several instances only the leader does,
// so a room gets one every ActiveSnapshotEvery intervals, not one per
// instance. It is on by default.
func (s *Service) SetPeriodicSnapshots(on bool) { s.noPeriodic.Store(!on) }

// RunLeaderboards refreshes leaderboards every LeaderboardInterval until
// ctx is done: stale rooms at once (so fills show within about a second),
// and every ACTIVE room every ActiveSnapshotEvery intervals (see
// SetPeriodicSnapshots).
func (s *Service) RunLeaderboards(ctx context.Context) error {
	ticker := s.clock.NewTicker(LeaderboardInterval)
	defer ticker.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.Chan():
		}
		periodic := n%ActiveSnapshotEvery == 0 && !s.noPeriodic.Load()
		if err := s.RefreshLeaderboards(ctx, periodic); err != nil && ctx.Err() == nil {
			s.log.Error("leaderboards", "err", err)
		}
	}
}
