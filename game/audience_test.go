package game

import (
	"fmt"
	"testing"
)

// TestAudienceDecidesSees: a view's Filter agrees with its Sees, and two
// views of a room with equal audiences agree on every event (the hub asks one of them for all), in each kind of room
// and for every role; members of a room with PRIVATE trades do not share
// one, and a room's views never share one with another room's.
func TestAudienceDecidesSees(t *testing.T) {
	viewers := map[string]Viewer{
		"anonymous":  {},
		"non-member": {UserID: 9},
		"other-user": {UserID: 8},
		"owner":      {UserID: 1, Owner: true},
		"owner-seat": {UserID: 1, Owner: true, ParticipantID: 10},
		"alice":      {UserID: 2, ParticipantID: 20},
		"bob":        {UserID: 3, ParticipantID: 30},
	}
	pid := func(n int64) *int64 { return &n }
	events := []*Event{
		{Kind: EventLeaderboard}, {Kind: EventRoomState},
		{Kind: EventOrder, ParticipantID: pid(20)}, {Kind: EventPosition, ParticipantID: pid(20)},
		{Kind: EventOrder, ParticipantID: pid(30)}, {Kind: EventPosition, ParticipantID: pid(30)},
		{Kind: EventOrder, ParticipantID: pid(10)}, {Kind: EventOrder},
	}
	for _, vis := range []Visibility{VisibilityPublic, VisibilityPrivate} {
		for _, trades := range []TradeVisibility{TradesPublic, TradesPrivate} {
			t.Run(fmt.Sprintf("%s-%s", vis, trades), func(t *testing.T) {
				room := &BullPen{ID: 5, Visibility: vis, TradeVisibility: trades}
				views := map[string]*View{}
				for name, v := range viewers {
					views[name] = &View{Room: room, Viewer: v}
				}
				for an, a := range views {
					sees := a.Filter()
					for _, ev := range events {
						ev.BullPenID = room.ID
						if sees(ev) != a.Sees(ev) {
							t.Errorf("%s: Filter and Sees disagree on %s of %v", an, ev.Kind, ev.ParticipantID)
						}
					}
					for bn, b := range views {
						if a.Audience() != b.Audience() {
							continue
						}
						for _, ev := range events {
							ev.BullPenID = room.ID
							if a.Sees(ev) != b.Sees(ev) {
								t.Errorf("%s and %s share an audience but disagree on %s of %v", an, bn, ev.Kind, ev.ParticipantID)
							}
						}
					}
				}
				if trades == TradesPrivate && views["alice"].Audience() == views["bob"].Audience() {
					t.Error("two members of a room with PRIVATE trades share an audience")
				}
				if trades == TradesPublic && views["alice"].Audience() != views["bob"].Audience() {
					t.Error("members of a room with PUBLIC trades do not share an audience (no harm, but the fan-out saves nothing)")
				}
				other := &View{Room: &BullPen{ID: 6, Visibility: vis, TradeVisibility: trades}}
				if other.Audience() == views["anonymous"].Audience() {
					t.Error("anonymous viewers of two rooms share an audience")
				}
			})
		}
	}
}
