package graph

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/graph/scalar"
	"github.com/bullpen/bullpen/hub"
)

// RoomFanout shares executions of room subscriptions across subscribers,
// signed in or not, whatever their role: visibility decides who receives an
// event, not what it looks like. Subscribers of one room with the same
// document and variables form a group; for each event the room's pump
// offers, the group executes the document once (when a member may see the
// event) and every member that may see it gets the same encoded bytes on
// its connection's queue, with no goroutine per subscription.
//
// Only documents whose every field answers alike for whoever may receive
// the event are shared (see sharedFields); any other document, such as one
// asking an order's participant for positions or buyingPower, or the room's
// inviteCode or me, runs per subscriber as before. Each member's own View,
// fixed when it subscribes, decides which events it receives.
type RoomFanout struct {
	r *Resolver

	mu     sync.Mutex
	groups map[groupKey]*group

	executions atomic.Int64
}

// NewRoomFanout returns the fan-out of r's room subscriptions.
func NewRoomFanout(r *Resolver) *RoomFanout {
	return &RoomFanout{r: r, groups: map[groupKey]*group{}}
}

var _ realtime.Fanout = (*RoomFanout)(nil)

// Groups reports how many shared executions are live.
func (f *RoomFanout) Groups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.groups)
}

// Members reports how many subscriptions follow shared executions.
func (f *RoomFanout) Members() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, g := range f.groups {
		n += g.members
	}
	return n
}

// Executions counts the executions run for groups, ever.
func (f *RoomFanout) Executions() int64 { return f.executions.Load() }

type groupKey struct {
	room int64
	doc  string // operation name, document and variables
}

// group is the subscribers of one room sharing one document.
type group struct {
	key groupKey
	// ctx and op are the first member's: the document's fields answer the
	// same for every member, and every member may see the room.
	ctx     context.Context
	op      *graphql.OperationContext
	exec    graphql.GraphExecutor
	members int // under RoomFanout.mu

	mu     sync.Mutex // one execution at a time
	recent [16]result // the latest results, by sequence
	next   int
}

type result struct {
	seq     int64
	payload []byte
}

// roomSubscriptions are the subscription fields served from a room's log,
// with the event kinds each streams (all when none).
var roomSubscriptions = map[string][]game.EventKind{
	"bullPenEvents":      nil,
	"orderUpdates":       {game.EventOrder},
	"positionUpdates":    {game.EventPosition},
	"leaderboardUpdates": {game.EventLeaderboard},
	"roomStateChanged":   {game.EventRoomState},
}

// Subscribe takes a room subscription whose document it may share, once
// the caller's View allows it; anything else (including every refusal, so
// the error is the resolver's own) is left to the transport.
func (f *RoomFanout) Subscribe(ctx context.Context, s *realtime.Subscriber) (func(), bool) {
	rc := s.Op
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 || len(rc.Operation.SelectionSet) != 1 {
		return nil, false
	}
	root := fields[0]
	kinds, ok := roomSubscriptions[root.Name]
	if !ok || !plainDirectives(root.Directives) || !viewerIndependent(root.SelectionSet) {
		return nil, false
	}
	args := root.ArgumentMap(rc.Variables)
	roomID, err := scalar.UnmarshalID64(args["bullPenId"])
	if err != nil {
		return nil, false
	}
	var after *int64
	if a, present := args["afterSequence"]; present && a != nil {
		n, err := scalar.UnmarshalInt(a) // as the resolver reads it: a refusal is its error to give
		if err != nil {
			return nil, false
		}
		after = ptr(int64(n))
	}
	user, err := currentUser(ctx)
	if err != nil {
		return nil, false
	}
	v, err := f.r.Svc.View(ctx, user, roomID)
	if err != nil || v.Follow(after, kinds...) != nil {
		return nil, false
	}
	key, ok := docKey(rc, root)
	if !ok {
		return nil, false
	}
	g := f.join(groupKey{room: v.Room.ID, doc: key}, ctx, rc, s.Exec)
	s.Share(g.op) // the group's equal operation: this one's can go
	m := &member{f: f, g: g, s: s}
	sees := v.Filter() // the follower keeps this, not v
	filter := func(ev *game.Event) bool {
		return (len(kinds) == 0 || kinds[0] == ev.Kind) && sees(ev)
	}
	// Followers with the same kinds and audience see the same events: the
	// hub asks one filter per event for all of them.
	audience := struct {
		kinds string
		game.Audience
	}{Audience: v.Audience()}
	if len(kinds) > 0 {
		audience.kinds = string(kinds[0])
	}
	stop, err := f.r.Hub.FollowAudience(v.Room.ID, after, audience, filter, m)
	if err != nil {
		m.leave()
		return nil, false // the resolver reports the hub closing
	}
	m.setStop(stop)
	return m.stop, true
}

// join adds a member to the group of key, starting it if needed.
func (f *RoomFanout) join(key groupKey, ctx context.Context, rc *graphql.OperationContext, exec graphql.GraphExecutor) *group {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[key]
	if !ok {
		g = &group{key: key, ctx: context.WithoutCancel(ctx), op: rc, exec: exec}
		f.groups[key] = g
	}
	g.members++
	return g
}

func (f *RoomFanout) leave(g *group) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g.members--
	if g.members == 0 && f.groups[g.key] == g {
		delete(f.groups, g.key)
	}
}

// result is the group's encoded result for ev, executed once.
func (g *group) result(f *RoomFanout, ev *game.Event) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.recent {
		if r.seq == ev.Sequence && r.payload != nil {
			return r.payload, nil
		}
	}
	m, err := f.r.cachedModelEvent(g.ctx, ev)
	if err != nil {
		return nil, err
	}
	f.executions.Add(1)
	payload, err := realtime.Execute(context.WithValue(g.ctx, presetKey{}, m), g.exec, g.op)
	if err != nil {
		return nil, err
	}
	g.recent[g.next] = result{seq: ev.Sequence, payload: payload}
	g.next = (g.next + 1) % len(g.recent)
	return payload, nil
}

// member is one subscriber of a group: the hub's Sink for it.
type member struct {
	f *RoomFanout
	g *group
	s *realtime.Subscriber

	mu       sync.Mutex
	unfollow func() // the hub's stop, once Follow has returned
	stopped  bool
	left     sync.Once
}

var _ hub.Sink = (*member)(nil)

// Deliver queues the group's result for ev; false when the connection's
// queue is full (the hub then drops the member with SLOW_CONSUMER).
func (m *member) Deliver(ev *game.Event) bool {
	payload, err := m.g.result(m.f, ev)
	if err != nil {
		m.s.End(err)
		m.stop()
		return true
	}
	if ev.Kind == game.EventLeaderboard {
		return m.s.SendBulk(payload)
	}
	return m.s.Send(payload)
}

// Flush wakes the connection's writer for what Deliver queued.
func (m *member) Flush() { m.s.Flush() }

var _ hub.Flusher = (*member)(nil)

// End ends the subscription as the hub says (it has let go of m).
func (m *member) End(err error) {
	if err != nil {
		err = streamError(err)
	}
	m.s.End(err)
	m.leave()
}

func (m *member) leave() { m.left.Do(func() { m.f.leave(m.g) }) }

func (m *member) setStop(unfollow func()) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		unfollow()
		return
	}
	m.unfollow = unfollow
	m.mu.Unlock()
}

// stop lets go of the hub and the group (when the client completes, the
// connection closes, or the stream failed).
func (m *member) stop() {
	m.mu.Lock()
	m.stopped = true
	unfollow := m.unfollow
	m.mu.Unlock()
	if unfollow != nil {
		unfollow()
	}
	m.leave()
}

type presetKey struct{}

// preset, inside a shared execution, is a stream of the one event being
// executed (none when it is of another type).
func preset[T any](ctx context.Context) (<-chan T, bool) {
	ev, ok := ctx.Value(presetKey{}).(model.BullPenEvent)
	if !ok {
		return nil, false
	}
	ch := make(chan T, 1)
	if t, ok := ev.(T); ok {
		ch <- t
	}
	close(ch)
	return ch, true
}

// sharedFields are the fields whose answer is the same for everyone who
// may receive the event they are part of: the event as logged, and what
// the leaderboard shows to whoever sees the room. A field not listed (a
// participant's positions or buyingPower, a room's inviteCode, me or
// orders, anything added later) makes a document run per subscriber.
var sharedFields = map[string]map[string]bool{
	"BullPenEvent":     set("sequence", "bullPenId", "occurredAt"),
	"OrderEvent":       set("sequence", "bullPenId", "occurredAt", "kind", "order"),
	"PositionEvent":    set("sequence", "bullPenId", "occurredAt", "position", "participantId"),
	"LeaderboardEvent": set("sequence", "bullPenId", "occurredAt", "snapshot"),
	"RoomStateEvent": set("sequence", "bullPenId", "occurredAt", "previousState", "state", "trigger", "actor",
		"startsAt", "endsAt", "elapsedSeconds", "remainingSeconds"),
	"Order": set("id", "clientOrderId", "bullPen", "participant", "symbol", "side", "type", "quantity", "limitPrice",
		"stopPrice", "status", "filledQuantity", "filledPrice", "commission", "rejectReason", "rejectMessage",
		"createdAt", "updatedAt", "filledAt"),
	"Position": set("symbol", "quantity", "averageCost", "costBasis", "marketPrice", "marketValue", "unrealizedPnl",
		"realizedPnl", "updatedAt"),
	"Participant": set("id", "user", "bullPen", "cash", "portfolioValue", "totalReturn", "returnPercent", "rank", "joinedAt",
		"metrics", "equityHistory"),
	"BullPen": set("id", "name", "description", "owner", "state", "startsAt", "endsAt", "startingCash", "commission",
		"allowShortSelling", "allowedSymbols", "maxParticipants", "visibility", "tradeVisibility", "rankBy", "participants",
		"participantCount", "leaderboard", "leaderboardHistory", "lastSequence", "createdAt"),
	"LeaderboardSnapshot": set("id", "takenAt", "final", "entries"),
	"LeaderboardEntry":    set("rank", "participantId", "user", "portfolioValue", "cash", "totalReturn", "returnPercent", "metrics"),
	"User":                set("id", "username", "displayName", "createdAt"),
	"PerformanceMetrics": set("totalReturn", "returnPercent", "maxDrawdownPercent", "volatilityPercent", "sharpeRatio",
		"tradeCount", "winRate"),
	"EquityPoint": set("at", "portfolioValue"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// viewerIndependent reports whether every field selected (through
// fragments too) is in sharedFields.
func viewerIndependent(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !plainDirectives(s.Directives) {
				return false
			}
			if s.Name == "__typename" {
				continue
			}
			if s.ObjectDefinition == nil || !sharedFields[s.ObjectDefinition.Name][s.Name] || !viewerIndependent(s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			if !plainDirectives(s.Directives) || !viewerIndependent(s.SelectionSet) {
				return false
			}
		case *ast.FragmentSpread:
			if !plainDirectives(s.Directives) || s.Definition == nil || !viewerIndependent(s.Definition.SelectionSet) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// plainDirectives: only @include and @skip (whose variables are in the
// group's key); anything else, @defer say, runs per subscriber.
func plainDirectives(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "include" && d.Name != "skip" {
			return false
		}
	}
	return true
}

// docKey identifies what a group shares: the operation and its variables.
// A variable given only as the root's afterSequence is left out: where a
// subscriber starts decides which events it gets, not what they look like.
func docKey(rc *graphql.OperationContext, root graphql.CollectedField) (string, bool) {
	vars := rc.Variables
	if a := root.Arguments.ForName("afterSequence"); a != nil && a.Value != nil && a.Value.Kind == ast.Variable {
		name := a.Value.Raw
		uses := 0
		countVariable(rc.Operation.SelectionSet, name, &uses, map[string]bool{})
		if uses == 1 {
			vars = make(map[string]any, len(rc.Variables))
			for k, v := range rc.Variables {
				if k != name {
					vars[k] = v
				}
			}
		}
	}
	b, err := json.Marshal(vars) // map keys come out sorted
	if err != nil {
		return "", false
	}
	return rc.OperationName + "\x00" + rc.RawQuery + "\x00" + string(b), true
}

// countVariable counts the references to variable name in sel.
func countVariable(sel ast.SelectionSet, name string, n *int, seen map[string]bool) {
	values := func(args ast.ArgumentList, ds ast.DirectiveList) {
		for _, a := range args {
			countInValue(a.Value, name, n)
		}
		for _, d := range ds {
			for _, a := range d.Arguments {
				countInValue(a.Value, name, n)
			}
		}
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			values(s.Arguments, s.Directives)
			countVariable(s.SelectionSet, name, n, seen)
		case *ast.InlineFragment:
			values(nil, s.Directives)
			countVariable(s.SelectionSet, name, n, seen)
		case *ast.FragmentSpread:
			values(nil, s.Directives)
			if s.Definition != nil && !seen[s.Name] {
				seen[s.Name] = true
				countVariable(s.Definition.SelectionSet, name, n, seen)
			}
		}
	}
}

func countInValue(v *ast.Value, name string, n *int) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable && v.Raw == name {
		*n++
	}
	for _, c := range v.Children {
		countInValue(c.Value, name, n)
	}
}

func ptr[T any](v T) *T { return &v }
