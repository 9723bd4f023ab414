package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
)

// page bounds a `first` argument.
func page(first *int, def, most int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 1 || *first > most {
		return 0, game.Invalid("first", "must be between 1 and %d", most)
	}
	return *first, nil
}

func cursor(kind string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(id, 10)))
}

// pageOf makes a connection page of items, read with one more than n:
// the first n become edges (made by edge from a node and its cursor), and
// the extra one, when there, says another page follows.
func pageOf[T, E any](items []*T, n int, kind string, id func(*T) int64, edge func(node T, cursor string) *E) ([]*E, model.PageInfo) {
	var info model.PageInfo
	if len(items) > n {
		info.HasNextPage, items = true, items[:n]
	}
	edges := make([]*E, 0, len(items))
	for _, it := range items {
		edges = append(edges, edge(*it, cursor(kind, id(it))))
	}
	if len(items) > 0 {
		c := cursor(kind, id(items[len(items)-1]))
		info.EndCursor = &c
	}
	return edges, info
}

// parseCursor reads an `after` cursor of kind; nil means from the start.
func parseCursor(kind string, after *string) (int64, error) {
	if after == nil || *after == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*after)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(b), kind+":"); ok {
			if id, err := strconv.ParseInt(rest, 10, 64); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	return 0, game.Invalid("after", "is not a cursor from this list")
}

// view is the caller's view of room id, once per response.
//
// Errors: NOT_FOUND for a room that does not exist or is hidden from the
// caller; UNAUTHENTICATED for a bad token.
func (r *Resolver) view(ctx context.Context, id int64) (*game.View, error) {
	return rememberView(ctx, id, func(user *game.User) (*game.View, error) { return r.Svc.View(ctx, user, id) })
}

// roomView is view for a room object already in hand (from a list or a
// mutation), checked by the same rules.
func (r *Resolver) roomView(ctx context.Context, room *game.BullPen) (*game.View, error) {
	return rememberView(ctx, room.ID, func(user *game.User) (*game.View, error) { return r.Svc.ViewOf(ctx, user, room) })
}

// rememberView makes the caller's view of room id with load, once per
// response.
func rememberView(ctx context.Context, id int64, load func(*game.User) (*game.View, error)) (*game.View, error) {
	return remember(ctx, viewKey{id}, func() (*game.View, error) {
		user, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		return load(user)
	})
}

// modelEvent turns a stored event into its GraphQL type.
func (r *Resolver) modelEvent(ctx context.Context, ev *game.Event) (model.BullPenEvent, error) {
	seq := int(ev.Sequence)
	switch ev.Kind {
	case game.EventOrder:
		var p game.OrderPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		return &model.OrderEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt, Kind: p.Kind, Order: p.Order}, nil
	case game.EventPosition:
		var p game.PositionPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		return &model.PositionEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt, Position: p.Position, ParticipantID: p.ParticipantID}, nil
	case game.EventLeaderboard:
		var p game.LeaderboardPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		return &model.LeaderboardEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt, Snapshot: p.Snapshot}, nil
	case game.EventAnnouncement:
		var p game.AnnouncementPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		return &model.AnnouncementEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt, Message: p.Message}, nil
	case game.EventRoomState:
		var p game.RoomStatePayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		e := &model.RoomStateEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt,
			PreviousState: p.PreviousState, State: p.State, Trigger: p.Trigger, StartsAt: p.StartsAt, EndsAt: p.EndsAt,
			// Events stored before room times were bounded may carry more
			// seconds than an Int holds.
			ElapsedSeconds: int(min(p.ElapsedSeconds, math.MaxInt32)), RemainingSeconds: int(min(p.RemainingSeconds, math.MaxInt32))}
		if p.ActorID != nil {
			u, err := r.Svc.User(ctx, *p.ActorID)
			if err != nil {
				return nil, err
			}
			e.Actor = u
		}
		return e, nil
	case game.EventCorporateAction:
		var p game.CorporateActionPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d/%d: %w", ev.BullPenID, ev.Sequence, err)
		}
		return &model.CorporateActionEvent{Sequence: seq, BullPenID: ev.BullPenID, OccurredAt: ev.OccurredAt, Action: p.Action}, nil
	}
	return nil, fmt.Errorf("event %d/%d: unknown kind %q", ev.BullPenID, ev.Sequence, ev.Kind)
}

func normalizeSymbol(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func (r *mutationResolver) move(ctx context.Context, id int64, to game.RoomState, from ...game.RoomState) (*game.BullPen, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	return r.Svc.Move(ctx, u, id, to, from...)
}
