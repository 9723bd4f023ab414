package game

import (
	"encoding/json"
	"time"
)

// EventKind names what an event in a room's log reports.
type EventKind string

const (
	EventOrder       EventKind = "ORDER"
	EventPosition    EventKind = "POSITION"
	EventLeaderboard EventKind = "LEADERBOARD"
	EventRoomState   EventKind = "ROOM_STATE"
	// EventCorporateAction reports a split or dividend applied to the
	// room's holdings (see CorporateAction): public to whoever sees the
	// room.
	EventCorporateAction EventKind = "CORPORATE_ACTION"
	// EventAnnouncement is the organiser's word in the room's log (see
	// AnnouncementPayload): announce's and removeParticipant's are for
	// everyone who sees the room (no participant), adjustCash's for
	// whoever sees that participant's orders.
	EventAnnouncement EventKind = "ANNOUNCEMENT"
)

// OrderEventKind is what happened to an order.
type OrderEventKind string

const (
	OrderEventAccepted OrderEventKind = "ACCEPTED"
	OrderEventFilled   OrderEventKind = "FILLED"
	// OrderEventPartiallyFilled reports a fill that leaves shares of the
	// order working (see ExecutionInput's volumeLimitPercent).
	OrderEventPartiallyFilled OrderEventKind = "PARTIALLY_FILLED"
	OrderEventRejected        OrderEventKind = "REJECTED"
	OrderEventCancelled       OrderEventKind = "CANCELLED"
	OrderEventExpired         OrderEventKind = "EXPIRED"
	// OrderEventLiquidated reports an order the system placed and filled
	// at once to close a participant's positions on a margin call.
	OrderEventLiquidated OrderEventKind = "LIQUIDATED"
)

// Event is one entry in a room's log. Sequence increases by exactly one for
// each event of the room. Payload is the JSON of one of the *Payload types,
// frozen as it was when the event happened.
type Event struct {
	BullPenID int64     `db:"bull_pen_id"`
	Sequence  int64     `db:"sequence"`
	Kind      EventKind `db:"kind"`
	// ParticipantID is the participant an order or position event is about;
	// nil for room-wide events. Visibility rules read it.
	ParticipantID *int64          `db:"participant_id"`
	OccurredAt    time.Time       `db:"occurred_at"`
	Payload       json.RawMessage `db:"payload"`
}

// OrderPayload is the body of an ORDER event.
type OrderPayload struct {
	Kind  OrderEventKind `json:"kind"`
	Order Order          `json:"order"`
}

// PositionPayload is the body of a POSITION event.
type PositionPayload struct {
	ParticipantID int64    `json:"participantId"`
	Position      Position `json:"position"`
}

// LeaderboardPayload is the body of a LEADERBOARD event.
type LeaderboardPayload struct {
	Snapshot LeaderboardSnapshot `json:"snapshot"`
}

// EndsRoom reports whether ev moved its room to a state that is over (see
// RoomState.Over): the room's log ends with ev's transaction.
func (ev *Event) EndsRoom() bool {
	if ev.Kind != EventRoomState {
		return false
	}
	var p struct {
		State RoomState `json:"state"`
	}
	return json.Unmarshal(ev.Payload, &p) == nil && p.State.Over()
}

// AnnouncementPayload is the body of an ANNOUNCEMENT event.
type AnnouncementPayload struct {
	Message string `json:"message"`
}

// RoomStatePayload is the body of a ROOM_STATE event.
type RoomStatePayload struct {
	PreviousState    RoomState    `json:"previousState"`
	State            RoomState    `json:"state"`
	Trigger          StateTrigger `json:"trigger"`
	ActorID          *int64       `json:"actorId,omitempty"`
	StartsAt         time.Time    `json:"startsAt"`
	EndsAt           time.Time    `json:"endsAt"`
	ElapsedSeconds   int64        `json:"elapsedSeconds"`
	RemainingSeconds int64        `json:"remainingSeconds"`
}
