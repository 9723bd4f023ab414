package game

import "context"

// The two halves of a leaderboard round, for tests that put a change
// between them.

// PreparedSnapshot is a snapshot read and ranked outside any write.
type PreparedSnapshot = preparedSnapshot

// PrepareSnapshot reads and ranks room id as RefreshLeaderboards does.
func (s *Service) PrepareSnapshot(ctx context.Context, id int64, stale bool) (*PreparedSnapshot, error) {
	return s.prepareSnapshot(ctx, id, stale)
}

// StorePrepared stores p in a write that holds its room, as
// RefreshLeaderboards does, and reports whether p was still good to store.
func (s *Service) StorePrepared(ctx context.Context, p *PreparedSnapshot) (stored bool, err error) {
	err = s.store.Update(ctx, func(tx Tx) error {
		room, err := tx.LockBullPen(ctx, p.room.ID)
		if err != nil {
			return err
		}
		stored, err = storePrepared(ctx, tx, room, p)
		return err
	})
	return stored, err
}

// SnapshotInWrite takes a snapshot of room id as a round did before it was
// prepared outside the write: read, rank, encode and store, all in the
// write that holds the room.
func (s *Service) SnapshotInWrite(ctx context.Context, id int64) error {
	return s.store.Update(ctx, func(tx Tx) error {
		room, err := tx.LockBullPen(ctx, id)
		if err != nil {
			return err
		}
		_, err = s.snapshotIfChanged(ctx, tx, room, true)
		return err
	})
}

// StoreInParts makes this service store snapshots of more than n entries
// in parts of n, calling after (when not nil) once each part has
// committed, with the snapshot's id.
func (s *Service) StoreInParts(n int, after func(snapshotID int64)) {
	s.snapshotPart, s.afterPart = n, after
}

// StoreRound stores p as RefreshLeaderboards does (in parts when it is
// bigger than a part) and returns the entries of the snapshot stored.
func (s *Service) StoreRound(ctx context.Context, p *PreparedSnapshot) (int, error) {
	return s.storeRound(ctx, p, true)
}
