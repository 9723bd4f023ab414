package game

import "context"

// Viewer is who is looking at a room, as visibility rules need it.
type Viewer struct {
	UserID        int64 // 0: anonymous
	Owner         bool
	ParticipantID int64 // 0: not a member
}

// Member reports whether the viewer has joined the room.
func (v Viewer) Member() bool { return v.ParticipantID != 0 }

// SeesRoom reports whether the viewer may see the room's participants,
// leaderboard and room-state events: anyone for PUBLIC rooms, the owner
// and members for PRIVATE ones.
func (v Viewer) SeesRoom(room *BullPen) bool {
	return room.Visibility == VisibilityPublic || v.Owner || v.Member()
}

// SeesTrades reports whether the viewer may see participantID's orders and
// positions: their own, the owner all, and every member when the room's
// tradeVisibility is PUBLIC.
func (v Viewer) SeesTrades(room *BullPen, participantID int64) bool {
	return v.Owner || (v.Member() && (v.ParticipantID == participantID || room.TradeVisibility == TradesPublic))
}

// Sees reports whether the viewer may receive ev.
func (v Viewer) Sees(room *BullPen, ev *Event) bool {
	switch ev.Kind {
	case EventLeaderboard, EventRoomState:
		return v.SeesRoom(room)
	case EventOrder, EventPosition:
		return ev.ParticipantID != nil && v.SeesTrades(room, *ev.ParticipantID)
	}
	return false
}

// ViewerOf works out how user relates to room (user may be nil).
func (s *Service) ViewerOf(ctx context.Context, user *User, room *BullPen) (Viewer, error) {
	if user == nil {
		return Viewer{}, nil
	}
	v := Viewer{UserID: user.ID, Owner: room.OwnerID == user.ID}
	p, err := s.store.ParticipantByUser(ctx, room.ID, user.ID)
	if err == nil {
		v.ParticipantID = p.ID
	} else if ErrorCode(err) != ENOTFOUND {
		return v, err
	}
	return v, nil
}
