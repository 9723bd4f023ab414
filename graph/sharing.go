package graph

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/graph/scalar"
	"github.com/bullpen/bullpen/hub"
)

// Sharing runs a subscription's document once for many subscribers, in
// two ways, and the transports offer it every subscription first (see
// realtime.Sharing):
//
//   - Groups (Take, over WebSocket and SSE alike): room subscriptions of
//     any viewer, signed in or not, whatever their role, since visibility
//     decides who receives an event, not what it looks like. Subscribers
//     of one room with the same document and variables form a group; for
//     each event a member may see, the group executes the document once
//     and every member that may see it gets the same encoded bytes on its
//     transport's queue (a WebSocket connection's, under the operation's
//     envelope; an SSE stream's, which its request's goroutine writes),
//     with no goroutine per subscription. Each member follows the room's
//     stream in the hub (hub.FollowAudience) with its own View, fixed when
//     it subscribes, deciding which events it receives.
//   - Streams (Run, over any transport): identical live subscriptions of
//     anonymous spectators that groups do not serve (quotes) share one
//     execution, whose results are encoded once and queued for each
//     spectator (see sharing_streams.go).
//
// A group's room pump only hands each event to the groups (offer): the
// executions run on a few workers of their own (runner), one group at a
// time each, so a document that is slow to execute delays its own
// members, never the room's other subscribers. A group keeps at most
// MaxPending events waiting; a member it cannot take more for is dropped
// with the SLOW_CONSUMER error, as is one whose execution runs past the
// bounds' Timeout.
//
// A document whose every field answers alike for whoever may receive the
// event (see game.SameForEveryViewer) is grouped across viewers; any other
// one, such as one asking an order's participant for positions or
// buyingPower, or the room's inviteCode or me, is grouped per viewer
// (groupKey.viewer): its group executes as that viewer, on the same
// workers, off the hub's goroutine, still with no goroutine per
// subscription. What Take does not take (a refusal, a document with
// @defer or more than one root field) runs per subscriber as the
// resolver's own stream (roomStream).
type Sharing struct {
	r      *Resolver
	bounds *SubscriptionBounds
	// MaxPending bounds the events a group has waiting for its
	// executions: as many as the hub's ring holds, so a burst the hub
	// keeps for a subscriber does not drop it here.
	MaxPending int

	mu     sync.Mutex
	groups map[groupKey]*group

	// run executes the groups shared across viewers, on at most
	// workersPerCore per core; own executes the groups of one viewer, each
	// on a goroutine of its own while it has events waiting: a viewer's
	// heavy document (one viewer may open many) then holds up no other
	// group, as it held up no other subscription when each had
	// goroutines of its own.
	run, own            runner
	executions, dropped atomic.Int64

	streams *streams
}

// DefaultMaxPending is Sharing.MaxPending's default.
const DefaultMaxPending = hub.DefaultQueueSize

// NewSharing returns the sharing of r's subscriptions, each execution of
// a group's document within bounds (nil: unbounded).
func NewSharing(r *Resolver, bounds *SubscriptionBounds) *Sharing {
	if bounds == nil {
		bounds = &SubscriptionBounds{}
	}
	f := &Sharing{r: r, bounds: bounds, MaxPending: DefaultMaxPending, groups: map[groupKey]*group{}, streams: newStreams()}
	f.run.closing, f.run.close = context.WithCancel(context.Background())
	f.own.closing, f.own.close, f.own.max = f.run.closing, f.run.close, math.MaxInt
	return f
}

var _ realtime.Sharing = (*Sharing)(nil)

// Groups reports how many groups' executions are live.
func (f *Sharing) Groups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.groups)
}

// Members reports how many subscriptions groups serve.
func (f *Sharing) Members() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, g := range f.groups {
		n += g.members
	}
	return n
}

// Executions counts the executions run for groups, ever.
func (f *Sharing) Executions() int64 { return f.executions.Load() }

// Dropped counts the members dropped because their connection's queue
// was full when their group's worker had a result for them, ever (the
// hub counts those it drops itself).
func (f *Sharing) Dropped() int64 { return f.dropped.Load() }

// Workers reports how many workers are executing groups' documents now.
func (f *Sharing) Workers() int { return f.run.workers() + f.own.workers() }

func (p *runner) workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// Streams reports how many streams' executions are running.
func (f *Sharing) Streams() int { return f.streams.count() }

// Spectators reports how many subscriptions streams serve.
func (f *Sharing) Spectators() int { return f.streams.spectators() }

// Close waits (until ctx is done) for the streams' executions to stop,
// then cancels the groups' executions running, starts no more and waits
// for their workers to return. Subscriptions still live get nothing more.
func (f *Sharing) Close(ctx context.Context) {
	f.streams.wait(ctx)
	f.run.stop()
	f.own.stop()
}

type groupKey struct {
	room int64
	doc  string // operation name, document and variables
	// viewer is the user whose subscriptions alone the group serves
	// (anonymousViewer: anonymous ones) when its document has a field that
	// answers per viewer; 0 when every field answers alike for all.
	viewer int64
}

// anonymousViewer is groupKey.viewer for anonymous subscribers of a
// document that answers per viewer: they are all the same viewer.
const anonymousViewer = -1

// group is the subscribers of one room sharing one document.
type group struct {
	f   *Sharing
	key groupKey
	// ctx and op are the first member's: the document's fields answer the
	// same for every member, and every member may see the room.
	ctx     context.Context
	cancel  context.CancelFunc // once the last member has left
	op      *graphql.OperationContext
	exec    graphql.GraphExecutor
	members int // under Sharing.mu

	mu      sync.Mutex
	pending []delivery // events offered and not yet taken by a worker, in order
	queued  bool       // with the runner: in its line, or a worker has it
	// room is signalled (under mu) when a worker takes pending, and when
	// a replay waiting for it must stop waiting (see member.Pace).
	room sync.Cond

	// Owned by the one worker that has the group.
	recent [16]result // the latest results, by sequence
	next   int
}

// runner is the runner that executes g: Sharing.own for one viewer's
// group, else Sharing.run.
func (g *group) runner() *runner {
	if g.key.viewer != 0 {
		return &g.f.own
	}
	return &g.f.run
}

// delivery is one event offered to a group, when, and the members to
// send its result to.
type delivery struct {
	ev *game.Event
	at time.Time
	to []*member
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

// Take makes a member of a group of a room subscription whose document it
// may share, once the caller's View allows it; anything else (including
// every refusal, so the error is the resolver's own) is left to the
// transport.
func (f *Sharing) Take(ctx context.Context, s *realtime.Subscriber) (func(), bool) {
	rc := s.Op
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 || len(rc.Operation.SelectionSet) != 1 {
		return nil, false
	}
	root := fields[0]
	kinds, ok := roomSubscriptions[root.Name]
	if !ok || !plainDirectives(root.Directives) {
		return nil, false
	}
	plain, alike := selectionShares(root.SelectionSet)
	if !plain {
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
	if err != nil || v.CheckSubscription(after, kinds...) != nil {
		return nil, false
	}
	key, ok := docKey(rc, root)
	if !ok {
		return nil, false
	}
	gk := groupKey{room: v.Room.ID, doc: key}
	if !alike {
		// The group executes as its first member: with a field that answers
		// per viewer, only the same viewer's subscriptions may join it.
		gk.viewer = anonymousViewer
		if user != nil {
			gk.viewer = user.ID
		}
	}
	g := f.join(gk, ctx, rc, s.Exec)
	s.Share(g.op) // the group's equal operation: this one's can go
	m := &member{g: g, s: s}
	m.liveFrom.Store(math.MaxInt64) // replayed, until the hub says it is live
	sees := v.Filter()              // the follower keeps this, not v
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
func (f *Sharing) join(key groupKey, ctx context.Context, rc *graphql.OperationContext, exec graphql.GraphExecutor) *group {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[key]
	if !ok {
		g = &group{f: f, key: key, op: rc, exec: exec}
		g.room.L = &g.mu
		g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
		f.groups[key] = g
	}
	g.members++
	return g
}

func (f *Sharing) leave(g *group) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g.members--
	if g.members == 0 && f.groups[g.key] == g {
		delete(f.groups, g.key)
		g.cancel() // an execution still running is for nobody
	}
}

// offer queues ev for m, from the hub (the room's pump, or m's replay):
// false when the group already has MaxPending events waiting. Members of
// one group offered the same event one after another share one delivery.
func (g *group) offer(m *member, ev *game.Event) bool {
	g.mu.Lock()
	if n := len(g.pending); n > 0 && g.pending[n-1].ev.Sequence == ev.Sequence {
		g.pending[n-1].to = append(g.pending[n-1].to, m)
		g.mu.Unlock()
		return true
	}
	if len(g.pending) >= g.f.MaxPending {
		g.mu.Unlock()
		return false
	}
	g.pending = append(g.pending, delivery{ev: ev, at: g.f.bounds.now(), to: []*member{m}})
	start := !g.queued
	g.queued = true
	g.mu.Unlock()
	if start {
		g.runner().add(g)
	}
	return true
}

// work executes what the group has waiting and hands each result to its
// members, from the worker that took the group; it reports whether more
// came meanwhile (the group then stays queued, and goes back in line).
func (g *group) work(scratch []delivery) ([]delivery, bool) {
	g.mu.Lock()
	batch := g.pending
	g.pending = scratch[:0]
	g.room.Broadcast() // replays waiting for room (Pace) go on
	g.mu.Unlock()
	var touched, completed []*member
	for i := range batch {
		d := &batch[i]
		if !anyLive(d.to) {
			continue // every member left or was dropped: execute nothing for nobody
		}
		payload, tooSlow, err := g.result(d)
		for _, m := range d.to {
			switch {
			case tooSlow:
				m.fail(func(after int64) error { return tooSlowError(g.f.bounds.Timeout, &after) })
			case err != nil:
				m.fail(func(int64) error { return err })
			case m.send(d.ev, payload, &completed):
				if !m.touched {
					m.touched = true
					touched = append(touched, m)
				}
			default: // its connection's queue is full
				g.f.dropped.Add(1)
				m.fail(func(after int64) error {
					return streamError(&hub.DroppedError{BullPenID: d.ev.BullPenID, Delivered: after, Reason: hub.ErrSlowConsumer})
				})
			}
		}
	}
	for _, m := range touched {
		m.touched = false
		m.s.Flush()
	}
	for _, m := range completed {
		m.end(nil, 0)
		m.leave()
	}
	clear(batch) // drop references to events and members
	g.mu.Lock()
	defer g.mu.Unlock()
	more := len(g.pending) > 0
	g.queued = more
	return batch[:0], more
}

func anyLive(ms []*member) bool {
	for _, m := range ms {
		if !m.done.Load() {
			return true
		}
	}
	return false
}

// result is the group's encoded result for d's event, executed once;
// tooSlow when it was not ready within the bounds' Timeout of the event's
// offer, waiting behind the group's earlier events included.
func (g *group) result(d *delivery) (payload []byte, tooSlow bool, err error) {
	ev := d.ev
	for _, r := range g.recent {
		if r.seq == ev.Sequence && r.payload != nil {
			return r.payload, false, nil
		}
	}
	f := g.f
	var deadline time.Time
	if f.bounds.Timeout > 0 {
		if deadline = d.at.Add(f.bounds.Timeout); !f.bounds.Clock.Now().Before(deadline) {
			return nil, true, nil // the group is that far behind: do not add to it
		}
	}
	m, err := f.r.cachedModelEvent(g.ctx, ev)
	if err != nil {
		return nil, false, err
	}
	f.executions.Add(1)
	ex := f.bounds.begin(g.ctx, deadline, true)
	stop := context.AfterFunc(f.run.closing, func() { ex.cancel(context.Canceled) })
	payload, err = realtime.Execute(context.WithValue(ex.ctx, presetKey{}, m), g.exec, g.op)
	stop()
	switch cause := ex.end(); {
	case errors.Is(cause, errTooSlow):
		return nil, true, nil
	case cause != nil:
		return nil, false, cause // the server closes, or nobody is left to send to
	case err != nil:
		return nil, false, err
	}
	g.recent[g.next] = result{seq: ev.Sequence, payload: payload}
	g.next = (g.next + 1) % len(g.recent)
	return payload, false, nil
}

// runner runs groups' executions: a group with events waiting joins a
// FIFO, and at most max workers take groups from it, each running one
// group's waiting executions at a time, in sequence order. Workers exist
// only while there is work, as the transport's writers do. A group is
// with one worker at most, so a slow document holds one worker, and the
// others go on with the other groups.
type runner struct {
	mu      sync.Mutex
	line    []*group
	head    int
	running int
	max     int
	stopped bool
	wg      sync.WaitGroup
	// closing is cancelled by stop: executions running end at once.
	closing context.Context
	close   context.CancelFunc
}

// workersPerCore: executions wait on the database as much as they
// compute, so a few per core keep the cores busy while one waits.
const workersPerCore = 4

// add queues g, whose events wait, and starts a worker if fewer than max
// run.
func (p *runner) add(g *group) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.line = append(p.line, g)
	if p.max == 0 {
		p.max = workersPerCore * runtime.GOMAXPROCS(0)
	}
	if p.running < p.max {
		p.running++
		p.wg.Add(1)
		go p.work()
	}
}

func (p *runner) work() {
	defer p.wg.Done()
	var scratch []delivery
	for {
		p.mu.Lock()
		if p.head == len(p.line) || p.stopped {
			clear(p.line)
			p.line, p.head = p.line[:0], 0
			p.running--
			p.mu.Unlock()
			return
		}
		g := p.line[p.head]
		p.line[p.head] = nil
		p.head++
		p.mu.Unlock()
		var more bool
		if scratch, more = g.work(scratch); more {
			p.add(g) // back of the line: the others get their turn
		}
	}
}

// stop cancels the executions running, starts no more workers and waits
// for those running.
func (p *runner) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.close()
	p.wg.Wait()
}

// member is one subscriber of a group: the hub's Sink for it.
type member struct {
	g *group
	s *realtime.Subscriber

	mu       sync.Mutex
	unfollow func() // the hub's stop, once Follow has returned
	stopped  bool
	// sent is the sequence up to which the member has had every event it
	// may see (0 before its first); offered the last offered to the group
	// for it. Under mu, with ended.
	sent, offered int64
	ended         bool // its stream is over: nothing more is sent
	// completing: the hub completed the stream while results waited for
	// the group's worker, which completes it after the last (under mu).
	completing bool
	// liveFrom: events above it come live (hub.LiveSink); until the hub
	// says so, every event is a replayed one.
	liveFrom atomic.Int64
	done     atomic.Bool
	left     sync.Once
	touched  bool // owned by the group's worker
}

var (
	_ hub.Sink     = (*member)(nil)
	_ hub.Pacer    = (*member)(nil)
	_ hub.LiveSink = (*member)(nil)
)

// Live notes where the member's replay ends (hub.LiveSink).
func (m *member) Live(from int64) { m.liveFrom.Store(from) }

// replayWindow is how many events a member's replay puts before its
// group's worker at a time. A replay has every stored event at hand at
// once: offered all together, a long one would overrun MaxPending, and
// the later events would wait past the subscription timeout behind the
// earlier ones, dropping a subscriber that keeps up. Paced, a replay
// waits for the worker as a live stream does for new events.
const replayWindow = 32

// Pace waits, from the member's replay, until its group has fewer than
// replayWindow events waiting; false when the member is gone, its group
// or the sharing closes, or ctx is done.
func (m *member) Pace(ctx context.Context) bool {
	g := m.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) < replayWindow {
		return !m.done.Load()
	}
	wake := func() {
		g.mu.Lock()
		g.room.Broadcast()
		g.mu.Unlock()
	}
	for _, c := range []context.Context{ctx, g.ctx, g.f.run.closing} {
		defer context.AfterFunc(c, wake)()
	}
	for len(g.pending) >= replayWindow {
		if m.done.Load() || ctx.Err() != nil || g.ctx.Err() != nil || g.f.run.closing.Err() != nil {
			return false
		}
		g.room.Wait()
	}
	return !m.done.Load()
}

// Deliver queues ev for the group's worker; false when the group has too
// many events waiting (the hub then drops the member with SLOW_CONSUMER).
func (m *member) Deliver(ev *game.Event) bool {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return true
	}
	if m.offered == 0 {
		m.sent = ev.Sequence - 1 // none before its first was for it
	}
	m.offered = ev.Sequence
	m.mu.Unlock()
	return m.g.offer(m, ev)
}

// send queues ev's result on the member's connection unless its stream
// is over; false when the connection's queue is full. A member whose
// stream completes after this result is added to completed.
func (m *member) send(ev *game.Event, payload []byte, completed *[]*member) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return true
	}
	if ev.Sequence > m.sent {
		var ok bool
		// A live leaderboard may wait for the next order's events to share
		// their write (realtime.BulkLinger); a replayed one has nothing to
		// wait for: what follows it is at hand already.
		if ev.Kind == game.EventLeaderboard && ev.Sequence > m.liveFrom.Load() {
			ok = m.s.SendBulk(payload)
		} else {
			ok = m.s.Send(payload)
		}
		if !ok {
			return false
		}
		m.sent = ev.Sequence
	}
	if m.completing && m.sent >= m.offered {
		m.completing = false
		*completed = append(*completed, m)
	}
	return true
}

// completeLater reports whether results offered to m's group still wait
// to be sent to m; if so, the group's worker completes m after the last
// of them (see send).
func (m *member) completeLater() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended || m.sent >= m.offered {
		return false
	}
	m.completing = true
	return true
}

// resumeAt is where the member's stream can resume: every event up to it
// that the member may see was sent, or else offered and not yet sent.
// m.mu must be held.
func (m *member) resumeAt(offered int64) int64 {
	if m.sent < m.offered {
		return m.sent // the rest waits with the group, and is dropped
	}
	return max(offered, m.sent)
}

// end ends the member's stream once with the error err gives for where it
// may resume (nil err: complete).
func (m *member) end(err func(after int64) error, offered int64) bool {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return false
	}
	m.ended = true
	m.done.Store(true)
	after := m.resumeAt(offered)
	m.mu.Unlock()
	var e error
	if err != nil {
		e = err(after)
	}
	m.s.End(e)
	return true
}

// fail ends the member from its group's worker and lets go of the hub.
func (m *member) fail(err func(after int64) error) {
	if m.end(err, 0) {
		m.stop()
	}
}

// End ends the subscription as the hub says (it has let go of m). A
// completed member completes after the results still waiting for the
// group's worker (the room's final leaderboard, say); a dropped one
// resumes after what was sent, not after what the hub offered: the rest
// still waited for the group's worker.
func (m *member) End(err error) {
	var d *hub.DroppedError
	switch {
	case err == nil:
		if m.completeLater() {
			return // the worker ends it, and then leaves the group
		}
		m.end(nil, 0)
	case errors.As(err, &d):
		m.end(func(after int64) error {
			return streamError(&hub.DroppedError{BullPenID: d.BullPenID, Delivered: after, Reason: d.Reason})
		}, d.Delivered)
	default:
		m.end(func(int64) error { return streamError(err) }, 0)
	}
	m.leave()
}

func (m *member) leave() { m.left.Do(func() { m.g.f.leave(m.g) }) }

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
	m.ended = true
	m.done.Store(true)
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

// selectionShares reads a selection (through fragments too): plain when
// no directive but @include and @skip appears in it (a group can run
// it), alike when every field selected answers alike for every receiver,
// as game's rule set says (game.SameForEveryViewer), so that every
// viewer's subscription may share its execution.
func selectionShares(sel ast.SelectionSet) (plain, alike bool) {
	plain, alike = true, true
	for _, s := range sel {
		var sub ast.SelectionSet
		switch s := s.(type) {
		case *ast.Field:
			if !plainDirectives(s.Directives) {
				return false, false
			}
			if s.Name == "__typename" {
				continue
			}
			if s.ObjectDefinition == nil || !game.SameForEveryViewer(s.ObjectDefinition.Name, s.Name) {
				alike = false
			}
			sub = s.SelectionSet
		case *ast.InlineFragment:
			if !plainDirectives(s.Directives) {
				return false, false
			}
			sub = s.SelectionSet
		case *ast.FragmentSpread:
			if !plainDirectives(s.Directives) || s.Definition == nil {
				return false, false
			}
			sub = s.Definition.SelectionSet
		default:
			return false, false
		}
		p, a := selectionShares(sub)
		if !p {
			return false, false
		}
		alike = alike && a
	}
	return plain, alike
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
