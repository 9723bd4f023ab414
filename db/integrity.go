package db

import (
	"context"
	"time"

	"github.com/bullpen/bullpen/game"
)

// The integrity report's stored facts (see game/integrity.go): where
// accounts were seen, as address hashes.

// RecordAddress records that user userID was seen at addressHash at the
// transaction's time: signing up (signUp, which sets signed_up_at once) or
// starting a session (one more in sessions). The key makes it one row per
// account and hash; first_at stays, last_at moves.
func (tx *Tx) RecordAddress(ctx context.Context, userID int64, addressHash string, signUp bool) error {
	var signedUp *time.Time
	sessions := int64(1)
	if signUp {
		signedUp, sessions = &tx.now, 0
	}
	_, err := tx.exec(ctx, `INSERT INTO user_addresses (user_id, address_hash, signed_up_at, first_at, last_at, sessions)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, address_hash) DO UPDATE SET last_at = excluded.last_at,
			signed_up_at = COALESCE(user_addresses.signed_up_at, excluded.signed_up_at),
			sessions = user_addresses.sessions + excluded.sessions`,
		userID, addressHash, signedUp, tx.now, tx.now, sessions)
	return err
}

// RoomAddresses lists the address sightings of the accounts seated in
// room bullPenID (removed seats too), by address hash, then user.
func (q queries) RoomAddresses(ctx context.Context, bullPenID int64) ([]game.AddressSighting, error) {
	out := []game.AddressSighting{}
	err := q.sel(ctx, &out, `SELECT user_id, address_hash, signed_up_at, first_at, last_at, sessions FROM user_addresses
		WHERE user_id IN (SELECT user_id FROM participants WHERE bull_pen_id = ?) ORDER BY address_hash, user_id`, bullPenID)
	for i := range out {
		s := &out[i]
		s.SignedUpAt, s.FirstAt, s.LastAt = utcp(s.SignedUpAt), s.FirstAt.UTC(), s.LastAt.UTC()
	}
	return out, err
}

// utcp is t in UTC, nil as nil.
func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
