package hub

import (
	"context"
	"sync/atomic"

	"github.com/bullpen/bullpen/game"
)

// Sink receives one follower's events. The hub calls it from one
// goroutine at a time, in sequence order: the room's pump, or before that
// the follower's replay.
type Sink interface {
	// Deliver hands over an event the follower's filter accepted. It must
	// not block: it reports false when the follower cannot take it (a full
	// queue), and the follower is then dropped with a *DroppedError.
	Deliver(ev *game.Event) bool
	// End ends the stream: a *DroppedError for a follower that fell
	// behind, an error reading the log, or nil (complete) when the room is
	// over and the follower has been offered every event, or when the hub
	// closes. It is called at most once, and never after stop.
	End(err error)
}

// Pacer is a Sink that paces its own replay. The hub calls Pace from the
// follower's replay goroutine, never from the pump, before each replayed
// event; Pace may wait until the sink has room for it (a replay has all
// its events at hand at once, and would otherwise fill a bounded sink
// that a live stream never fills), and reports false when the follower
// is gone or ctx (the hub's) is done, which ends the replay quietly.
type Pacer interface {
	Pace(ctx context.Context) bool
}

// LiveSink is a Sink that wants to know where its replay ends: the hub
// calls Live once, with the highest sequence offered so far, when the
// follower has caught up (at once when it replays nothing). Events above
// it come live from the room's pump; those up to it were replayed, all at
// hand at once, and wait for nothing that may follow them.
type LiveSink interface {
	Live(from int64)
}

// Flusher is a Sink that buffers what Deliver hands it: the hub calls
// Flush once it has delivered the events at hand (all of one pump round,
// or one replayed page), so that a commit's events leave together.
type Flusher interface {
	Flush()
}

// flush flushes m's sink if anything was delivered to it since the last
// flush: a round of events most followers filter out (an order's events,
// in a room where 10,000 anonymous spectators see only the leaderboard)
// wakes only those who got something, not every follower's connection.
func flush(m *member) {
	if !m.pending {
		return
	}
	m.pending = false
	if f, ok := m.sink.(Flusher); ok {
		f.Flush()
	}
}

// member is one follower of a room.
type member struct {
	filter   Filter
	audience any // see FollowAudience; nil: its own
	sink     Sink
	// hw is the highest sequence offered (delivered or filtered out). The
	// replay goroutine owns it until live is set, the pump after.
	hw int64
	// pending: something was delivered since the last flush (owned as hw
	// is).
	pending bool
	live    bool // under room.mu
	ended   atomic.Bool
}

// offer hands ev to m unless m has had it; false: m could not take it.
func (m *member) offer(ev *game.Event) bool {
	if ev.Sequence <= m.hw {
		return true
	}
	if m.filter == nil || m.filter(ev) {
		return m.take(ev)
	}
	m.hw = ev.Sequence
	return true
}

// take hands ev, which m's filter passes, to m unless m has had it; false:
// m could not take it.
func (m *member) take(ev *game.Event) bool {
	if ev.Sequence <= m.hw {
		return true
	}
	if !m.sink.Deliver(ev) {
		return false
	}
	m.pending = true
	m.hw = ev.Sequence
	return true
}

// Follow is Subscribe without a goroutine or a channel per subscriber:
// the room's pump hands each event that filter accepts to sink.Deliver, in
// sequence order, and never waits for it. With after set it first replays
// the stored events above it (in a goroutine that ends once the follower
// has caught up), then continues live, with no gap and no duplicate;
// without it the stream starts with the next event. Once the room is over
// and the follower has been offered its last event, sink.End(nil)
// completes the stream (at once, though never from within Follow, for a
// room over already with nothing to replay). stop ends the stream;
// sink.End is not called after it. A follower whose Deliver reports false
// is dropped with a *DroppedError naming the last sequence it was offered.
func (h *Hub) Follow(roomID int64, after *int64, filter Filter, sink Sink) (stop func(), err error) {
	return h.FollowAudience(roomID, after, nil, filter, sink)
}

// FollowAudience is Follow for a follower in an audience: followers of a
// room whose audience keys are equal (and not nil) must have filters that
// agree on every event, so that the pump asks one of them per event and
// passes over the whole audience at once when it may not see one (an
// order's events, for 10,000 anonymous spectators who see only the
// leaderboard). game.View.Audience gives such a key.
//
// A follower's sequence in a DroppedError counts only the events its
// audience was offered live: one it could not see may lie above it, and
// a resume from there filters it out again.
func (h *Hub) FollowAudience(roomID int64, after *int64, audience any, filter Filter, sink Sink) (stop func(), err error) {
	m := &member{filter: filter, audience: audience, sink: sink}
	s := &sub{} // join's bookkeeping: a placeholder, removed at once
	r, last, err := h.join(roomID, s)
	if err != nil {
		return nil, err
	}
	h.subscribers.Add(1)
	r.mu.Lock()
	delete(r.subs, s)
	m.hw = last
	if after != nil {
		m.hw = *after
	}
	replay := m.hw < r.last || r.over // over: the replay completes it
	m.live = !replay
	r.members[m] = struct{}{}
	r.live = nil
	from := m.hw
	r.mu.Unlock()
	if !replay {
		if ls, ok := sink.(LiveSink); ok {
			ls.Live(from)
		}
	}
	if replay {
		go func() { // join counted it in h.wg
			defer h.wg.Done()
			h.catchUp(r, m)
		}()
	} else {
		h.wg.Done() // no goroutine after all
	}
	return func() {
		if !m.ended.Swap(true) {
			h.remove(r, m)
		}
	}, nil
}

// catchUp replays from the log, then the ring, until m has had every
// event the room has; it then makes m live, under the lock the pump
// appends under, so the pump delivers everything after, or completes m
// when the room is over.
func (h *Hub) catchUp(r *room, m *member) {
	for !m.ended.Load() {
		if h.ctx.Err() != nil {
			return // Close ends the member
		}
		evs, ok, _ := r.since(m.hw)
		if ok && len(evs) == 0 {
			r.mu.Lock()
			if r.last == m.hw && r.over {
				r.mu.Unlock()
				h.end(r, m, nil)
				return
			}
			if r.last == m.hw {
				m.live = true
				r.live = nil
				from := m.hw // the pump owns m.hw from here on
				r.mu.Unlock()
				if ls, ok := m.sink.(LiveSink); ok {
					ls.Live(from)
				}
				return
			}
			r.mu.Unlock()
			continue
		}
		if !ok {
			var err error
			evs, err = h.log.Events(h.ctx, r.id, m.hw, pageSize)
			if err != nil {
				if h.ctx.Err() == nil {
					h.logger.Error("hub: read log", "room", r.id, "err", err)
					h.end(r, m, err)
				}
				return
			}
			if len(evs) == 0 { // the ring has moved past what the log holds
				h.dropped.Add(1)
				h.end(r, m, &DroppedError{BullPenID: r.id, Delivered: m.hw, Reason: ErrSlowConsumer})
				return
			}
		}
		pacer, paced := m.sink.(Pacer)
		for _, ev := range evs {
			if m.ended.Load() {
				return
			}
			if paced && ev.Sequence > m.hw && !pacer.Pace(h.ctx) {
				return
			}
			if !m.offer(ev) {
				h.dropped.Add(1)
				h.end(r, m, &DroppedError{BullPenID: r.id, Delivered: m.hw, Reason: ErrSlowConsumer})
				return
			}
		}
		flush(m)
	}
}

// deliver offers the pump's new events to the live members, event by
// event (members sharing an execution then find each result fresh), each
// audience's filter asked once per event, and flushes those who got any.
func (h *Hub) deliver(r *room, live []audience, evs []*game.Event) {
	if len(live) == 0 || len(evs) == 0 {
		return
	}
	var dropped []*member
	got := make([]bool, len(live))
	for _, ev := range evs {
		for i := range live {
			a := &live[i]
			if a.filter != nil && !a.filter(ev) {
				continue
			}
			got[i] = true
			for _, m := range a.members {
				if m.ended.Load() {
					continue
				}
				if !m.take(ev) && m.ended.CompareAndSwap(false, true) {
					dropped = append(dropped, m) // no more offers; End below
				}
			}
		}
	}
	for i := range live {
		if got[i] {
			for _, m := range live[i].members {
				flush(m) // an ended one's End wakes its writer anyway
			}
		}
	}
	for _, m := range dropped {
		h.dropped.Add(1)
		h.remove(r, m)
		m.sink.End(&DroppedError{BullPenID: r.id, Delivered: m.hw, Reason: ErrSlowConsumer})
	}
}

// complete ends the live members, who have been offered the room's last
// event, as complete.
func (h *Hub) complete(r *room, live []audience) {
	for _, a := range live {
		for _, m := range a.members {
			h.end(r, m, nil)
		}
	}
}

// end ends m with err unless it has ended already.
func (h *Hub) end(r *room, m *member, err error) {
	if !m.ended.Swap(true) {
		h.remove(r, m)
		m.sink.End(err)
	}
}

// remove unregisters m, stopping the room's pump with its last follower.
func (h *Hub) remove(r *room, m *member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	if _, ok := r.members[m]; ok {
		delete(r.members, m)
		r.live = nil
		h.subscribers.Add(-1)
	}
	empty := r.empty()
	r.mu.Unlock()
	if empty && h.rooms[r.id] == r {
		delete(h.rooms, r.id)
		r.stop()
	}
}

// endMembers ends every follower when the hub closes.
func (h *Hub) endMembers() {
	h.mu.Lock()
	var all []*member
	for _, r := range h.rooms {
		r.mu.Lock()
		for m := range r.members {
			all = append(all, m)
		}
		clear(r.members)
		r.live = nil
		r.mu.Unlock()
	}
	h.mu.Unlock()
	for _, m := range all {
		h.subscribers.Add(-1)
		if !m.ended.Swap(true) {
			m.sink.End(nil)
		}
	}
}
