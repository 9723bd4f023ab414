// Package hub fans a room's committed events out to its subscribers. It
// reads the event log once per event for all subscribers of a room (never
// once per subscriber) into a bounded ring, and never waits on a
// subscriber: each reads the ring at its own pace, and one that falls more
// than the ring's size behind is dropped with an error saying where to
// resume. Once a room is over (ENDED or CANCELLED: nothing more is
// written to its log) a stream ends, as complete, when its subscriber has
// been offered every event of the room.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/game"
)

// Log is what the hub reads: the rooms' committed event log.
type Log interface {
	BullPen(ctx context.Context, id int64) (*game.BullPen, error)
	// Events returns events of a room with sequence > after, oldest first.
	Events(ctx context.Context, bullPenID, after int64, limit int) ([]*game.Event, error)
}

// Defaults.
const (
	DefaultQueueSize = 1024
	// DefaultPoll is how often a room with subscribers re-reads its log
	// when no commit signal came: a lost signal costs latency, never an
	// event (and other instances' commits are seen).
	DefaultPoll = 2 * time.Second
	pageSize    = 500
)

// ErrClosed is returned by Subscribe once Close has begun.
var ErrClosed = errors.New("hub closed")

// ErrSlowConsumer is reported to a subscriber whose queue overflowed.
var ErrSlowConsumer = errors.New("subscriber too slow")

// DroppedError tells a dropped subscriber where to resume.
type DroppedError struct {
	BullPenID int64
	// Delivered is the last sequence delivered: resume with
	// afterSequence = Delivered.
	Delivered int64
	Reason    error
}

func (e *DroppedError) Error() string {
	return fmt.Sprintf("%v: events of bull pen %d were dropped after sequence %d; resubscribe with afterSequence: %d",
		e.Reason, e.BullPenID, e.Delivered, e.Delivered)
}

func (e *DroppedError) Unwrap() error { return e.Reason }

// Hub owns one pump goroutine per room that has subscribers.
type Hub struct {
	log       Log
	clock     clockwork.Clock
	logger    *slog.Logger
	queueSize int
	poll      time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	// wg counts pumps and streams. Every Add happens under mu while closed
	// is false, so none can happen after (or concurrently with) Close's Wait.
	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	rooms  map[int64]*room

	subscribers, fannedOut, dropped atomic.Int64
}

// Stats are the hub's counters, for metrics.
type Stats struct {
	Rooms       int   // rooms with subscribers here
	Subscribers int64 // open subscriptions
	Events      int64 // events read from the log and fanned out, ever
	Dropped     int64 // subscribers dropped for falling behind, ever
}

// Stats reports the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	rooms := len(h.rooms)
	h.mu.Unlock()
	return Stats{Rooms: rooms, Subscribers: h.subscribers.Load(), Events: h.fannedOut.Load(), Dropped: h.dropped.Load()}
}

// Option configures a Hub.
type Option func(*Hub)

// WithQueueSize sets each subscriber's queue bound.
func WithQueueSize(n int) Option { return func(h *Hub) { h.queueSize = n } }

// WithPoll sets how often rooms re-read the log without a signal.
func WithPoll(d time.Duration) Option { return func(h *Hub) { h.poll = d } }

// New returns a running hub; Close stops it.
func New(log Log, clock clockwork.Clock, logger *slog.Logger, opts ...Option) *Hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{log: log, clock: clock, logger: logger, queueSize: DefaultQueueSize, poll: DefaultPoll,
		ctx: ctx, cancel: cancel, rooms: map[int64]*room{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Close stops every pump and ends every subscription; it waits for the
// hub's goroutines to return. A Subscribe racing Close either fails with
// ErrClosed or starts a stream that Close waits for. Close may be called
// more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	h.endMembers()
}

// Notify tells the hub that rooms advanced to the given sequences. It
// never blocks: it is called right after commits.
func (h *Hub) Notify(rooms map[int64]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range rooms {
		if r, ok := h.rooms[id]; ok {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
}

// NotifyAll wakes every room: signals may have been lost.
func (h *Hub) NotifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// room is the fan-out point of one bull pen: the pump appends each new
// event once to a bounded ring, and every subscriber reads the ring at its
// own pace through its own cursor.
type room struct {
	id   int64
	wake chan struct{}
	stop context.CancelFunc

	mu   sync.Mutex
	ring []*game.Event // the newest events, oldest first, at most cap
	cap  int
	last int64 // highest sequence appended
	// over: last is the room's last sequence for good, the room being
	// ENDED or CANCELLED (see game.RoomState.Over). Set with the append
	// of the last event, so whoever finds it set has that event at hand.
	over bool
	subs map[*sub]struct{}
	// members are Follow's subscribers: the pump delivers to the live
	// ones itself; the others are still replaying in catch-up goroutines.
	members map[*member]struct{}
	live    []audience // live members by audience, rebuilt when nil
}

// audience is live members that see the same events (see FollowAudience):
// the pump asks one filter per event for all of them, and passes over all
// of them at once for an event they may not see.
type audience struct {
	filter  Filter
	members []*member
}

// empty reports whether nobody follows the room any more.
func (r *room) empty() bool { return len(r.subs) == 0 && len(r.members) == 0 }

// liveMembers returns the live members by audience; r.mu must be held.
// The slice is shared until membership changes, so callers must not
// modify it.
func (r *room) liveMembers() []audience {
	if r.live == nil {
		r.live = []audience{}
		index := map[any]int{}
		for m := range r.members {
			if !m.live {
				continue
			}
			if m.audience != nil {
				if i, ok := index[m.audience]; ok {
					r.live[i].members = append(r.live[i].members, m)
					continue
				}
				index[m.audience] = len(r.live)
			}
			r.live = append(r.live, audience{filter: m.filter, members: []*member{m}})
		}
	}
	return r.live
}

// since copies the ring's events above hw. ok is false when the event
// after hw has already left the ring; over, that the events copied end
// the room's log.
func (r *room) since(hw int64) (evs []*game.Event, ok, over bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hw >= r.last {
		return nil, true, r.over
	}
	if len(r.ring) == 0 || r.ring[0].Sequence > hw+1 {
		return nil, false, false
	}
	i := int(hw + 1 - r.ring[0].Sequence)
	return append([]*game.Event(nil), r.ring[i:]...), true, r.over
}

func (r *room) append(ev *game.Event) {
	if len(r.ring) == r.cap {
		copy(r.ring, r.ring[1:])
		r.ring = r.ring[:len(r.ring)-1]
	}
	r.ring = append(r.ring, ev)
	r.last = ev.Sequence
}

// sub is one subscriber: it is woken when the room has news.
type sub struct {
	notify chan struct{}
}

func (s *sub) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Filter decides which events a subscriber receives.
type Filter func(*game.Event) bool

// Item is what a subscription delivers: an event, or the error that ended
// the subscription (the channel closes after it).
type Item struct {
	Event *game.Event
	Err   error
}

// Subscribe streams the room's events that filter accepts, in sequence
// order, until ctx is done or the room is over and every event has been
// offered. With after set it first replays the stored events above it,
// then continues live, with no gap and no duplicate. Without it the
// stream starts with the next event. The returned channel closes when the
// stream ends. A live subscriber that falls more than the queue size
// behind gets a final Item with a *DroppedError.
func (h *Hub) Subscribe(ctx context.Context, roomID int64, after *int64, filter Filter) (<-chan Item, error) {
	s := &sub{notify: make(chan struct{}, 1)}
	r, hw, err := h.join(roomID, s)
	if err != nil {
		return nil, err
	}
	if after != nil {
		hw = *after
	}
	out := make(chan Item)
	h.subscribers.Add(1)
	go func() { // join counted it in h.wg
		defer h.wg.Done()
		defer h.subscribers.Add(-1)
		defer close(out)
		defer h.leave(r, s)
		h.stream(ctx, r, s, hw, filter, out)
	}()
	return out, nil
}

// stream replays from the log above hw, then follows the room's ring.
func (h *Hub) stream(ctx context.Context, r *room, s *sub, hw int64, filter Filter, out chan<- Item) {
	emit := func(ev *game.Event) bool {
		hw = ev.Sequence
		if filter != nil && !filter(ev) {
			return true
		}
		select {
		case out <- Item{Event: ev}:
			return true
		case <-ctx.Done():
			return false
		case <-h.ctx.Done():
			return false
		}
	}
	fail := func(err error) {
		select {
		case out <- Item{Err: err}:
		case <-ctx.Done():
		case <-h.ctx.Done():
		}
	}
	// Replay: read the log until the ring holds what comes next.
	for {
		if _, ok, _ := r.since(hw); ok {
			break
		}
		evs, err := h.log.Events(ctx, r.id, hw, pageSize)
		if err != nil {
			if ctx.Err() == nil && h.ctx.Err() == nil {
				h.logger.Error("hub: read log", "room", r.id, "err", err)
				fail(err)
			}
			return
		}
		if len(evs) == 0 {
			break // committed events the pump has not read yet
		}
		for _, ev := range evs {
			if !emit(ev) {
				return
			}
		}
	}
	// Live: every event above hw comes from the ring.
	for {
		evs, ok, over := r.since(hw)
		if !ok {
			h.dropped.Add(1)
			fail(&DroppedError{BullPenID: r.id, Delivered: hw, Reason: ErrSlowConsumer})
			return
		}
		for _, ev := range evs {
			if !emit(ev) {
				return
			}
		}
		if over {
			return // complete: the room's log ends here
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		case <-s.notify:
		}
	}
}

// join adds s to a room, starting the room's pump if needed, and returns
// the highest sequence already offered there. It counts the subscriber's
// stream goroutine in h.wg, which the caller must then start; once Close
// has begun it returns ErrClosed.
func (h *Hub) join(roomID int64, s *sub) (*room, int64, error) {
	// add runs under h.mu with the hub open.
	add := func(r *room) int64 {
		h.wg.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.subs[s] = struct{}{}
		return r.last
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, 0, ErrClosed
	}
	if r, ok := h.rooms[roomID]; ok {
		defer h.mu.Unlock()
		return r, add(r), nil
	}
	h.mu.Unlock()
	// Read the room outside the lock: Notify must never wait on the database.
	b, err := h.log.BullPen(h.ctx, roomID)
	if err != nil {
		if h.ctx.Err() != nil {
			return nil, 0, ErrClosed
		}
		return nil, 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, 0, ErrClosed
	}
	if r, ok := h.rooms[roomID]; ok {
		return r, add(r), nil
	}
	ctx, cancel := context.WithCancel(h.ctx)
	r := &room{id: roomID, wake: make(chan struct{}, 1), stop: cancel, last: b.LastSequence, over: b.State.Over(), cap: h.queueSize,
		subs: map[*sub]struct{}{}, members: map[*member]struct{}{}}
	h.rooms[roomID] = r
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.pump(ctx, r)
	}()
	return r, add(r), nil
}

// leave unregisters s, stopping the room's pump with its last subscriber.
func (h *Hub) leave(r *room, s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	delete(r.subs, s)
	empty := r.empty()
	r.mu.Unlock()
	if empty && h.rooms[r.id] == r {
		delete(h.rooms, r.id)
		r.stop()
	}
}

// pump reads the room's new events from the log once, appends them to the
// ring and wakes every subscriber. It never waits for a subscriber.
//
// An event that ends the room (game.Event.EndsRoom) is committed with the
// rest of its transaction, after which nothing is written to the room: so
// once the pump has read it and then the log to its end, the room is over,
// and the live followers complete after their last event.
func (h *Hub) pump(ctx context.Context, r *room) {
	ticker := h.clock.NewTicker(h.poll)
	defer ticker.Stop()
	ending := false // an event read ended the room
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-ticker.Chan():
		}
		for {
			r.mu.Lock()
			last, over := r.last, r.over
			r.mu.Unlock()
			if over {
				break // nothing more will come
			}
			evs, err := h.log.Events(ctx, r.id, last, pageSize)
			if err != nil {
				if ctx.Err() == nil {
					h.logger.Error("hub: read log", "room", r.id, "err", err)
				}
				break
			}
			h.fannedOut.Add(int64(len(evs)))
			r.mu.Lock()
			for _, ev := range evs {
				r.append(ev)
				ending = ending || ev.EndsRoom()
			}
			over = ending && len(evs) < pageSize
			r.over = over
			subs := make([]*sub, 0, len(r.subs))
			for s := range r.subs {
				subs = append(subs, s)
			}
			// Taken with the append, under one lock: a member that goes live
			// after this has replayed these events itself (see catchUp).
			live := r.liveMembers()
			r.mu.Unlock()
			for _, s := range subs {
				s.wake()
			}
			h.deliver(r, live, evs)
			if over {
				h.complete(r, live)
			}
			if len(evs) < pageSize {
				break
			}
		}
	}
}
