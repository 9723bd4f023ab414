package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Sharing serves subscriptions from executions shared among their
// subscribers (graph.Sharing decides who may share what). A transport
// offers it each subscription before running one itself.
type Sharing interface {
	// Take serves a subscription (over WebSocket or SSE) with no
	// goroutine of its own: whoever produces a result hands the same
	// encoded bytes to each subscriber's Send, which queues them for its
	// transport's writer without waiting. It reports whether it took s; if not, the transport runs
	// the operation itself (offering it to Run). Once taken, results go to
	// s.Send until s.End; stop, called when the client completes the
	// operation or the connection closes, ends the feed.
	Take(ctx context.Context, s *Subscriber) (stop func(), ok bool)
	// Run serves a subscription over any transport from an execution it
	// shares with identical ones, started with execute if none runs: it
	// hands each result to send and returns when the stream ends, with
	// the errors that end it. ok is false, at once, for a subscription it
	// does not share; the transport then executes it itself.
	Run(ctx context.Context, rc *graphql.OperationContext, execute Execution, send func(json.RawMessage) bool) (errs gqlerror.List, ok bool)
}

// Execution runs a subscription under ctx, handing each result to emit
// until emit reports false or the stream ends, and returns the errors that
// ended it.
type Execution func(ctx context.Context, emit func(json.RawMessage) bool) gqlerror.List

// Subscriber is one subscription taken by a Sharing, over any transport:
// its results go to the transport's sink.
type Subscriber struct {
	// Op is the subscription, parsed and validated; Exec runs it.
	Op   *graphql.OperationContext
	Exec graphql.GraphExecutor

	out  sink
	ctx  context.Context
	base context.Context // ctx without the operation
	done atomic.Bool
}

// sink is where a taken subscription's results go: a WebSocket
// connection's queue (under the operation's envelope) or an SSE stream's.
// The payload is shared by every subscriber of an execution, so a sink
// frames it without changing it; none of its methods waits.
type sink interface {
	// push queues one result, bulk if it may wait for others' urgent
	// ones; false when the transport already has its bound waiting.
	push(payload []byte, bulk bool) bool
	// kick wakes the writer for what push queued.
	kick()
	// end sends the last message after what is queued: complete when errs
	// is empty, else the errors.
	end(errs gqlerror.List)
}

// newSubscriber is a subscription of rc, under ctx (without the
// operation), whose results go to out.
func newSubscriber(ctx context.Context, rc *graphql.OperationContext, exec graphql.GraphExecutor, out sink) *Subscriber {
	return &Subscriber{Op: rc, Exec: exec, out: out, ctx: graphql.WithOperationContext(ctx, rc), base: ctx}
}

// Share makes s use op, an operation equal to its own that the Sharing
// keeps anyway (a shared execution's), in place of its own, which it then
// drops: a subscriber holds no parsed operation of its own (its variables,
// field cache and the like, about 1.3 KiB). Call it before results flow.
func (s *Subscriber) Share(op *graphql.OperationContext) {
	s.Op = op
	s.ctx = graphql.WithOperationContext(s.base, op)
}

// Send queues one encoded result (a next message's payload; it is shared
// as is, so it must not change afterwards). It never waits: it reports
// false when the transport already has its bound of messages waiting
// (MaxQueue), and the caller should then End the subscription with its
// SLOW_CONSUMER error.
//
// Send does not wake the transport's writer: call Flush once the results
// at hand are queued, so that they leave in one write.
func (s *Subscriber) Send(payload []byte) bool { return s.send(payload, false) }

// SendBulk is Send for a result that may wait while other connections'
// urgent ones are written first (a leaderboard snapshot: see writers). It
// still leaves this connection in the order it was queued.
func (s *Subscriber) SendBulk(payload []byte) bool { return s.send(payload, true) }

func (s *Subscriber) send(payload []byte, bulk bool) bool {
	if s.done.Load() {
		return true // stopped: the feed is being detached
	}
	return s.out.push(payload, bulk)
}

// Flush wakes the transport's writer for what Send queued.
func (s *Subscriber) Flush() { s.out.kick() }

// End ends the subscription after what it has queued: with complete when
// err is nil, else with err as the operation's error. It never waits.
func (s *Subscriber) End(err error) {
	if s.done.Swap(true) {
		return
	}
	var errs gqlerror.List
	if err != nil {
		errs = present(graphql.WithOperationContext(s.ctx, s.Op), s.Exec, []error{err})
	}
	s.out.end(errs)
}

// take offers s to sharing; if it takes s, the returned stop ends the
// feed (the client completed the operation or went away).
func (s *Subscriber) take(sharing Sharing) (func(), bool) {
	stop, ok := sharing.Take(s.ctx, s)
	if !ok {
		return nil, false
	}
	return func() {
		s.done.Store(true)
		stop()
	}, true
}

// prepare parses and validates params for a Sharing's Take: rc is nil
// when the operation is not a subscription or does not parse (the
// transport then runs it as usual, and gives the errors).
func prepare(ctx context.Context, exec graphql.GraphExecutor, params *graphql.RawParams) (rc *graphql.OperationContext, sub bool) {
	rc, gerr := exec.CreateOperationContext(ctx, params)
	if gerr != nil {
		return nil, false
	}
	return rc, subscription(rc)
}

// subscription reports whether rc, prepared, is a subscription.
func subscription(rc *graphql.OperationContext) bool {
	return rc != nil && rc.Operation != nil && rc.Operation.Operation == ast.Subscription
}

// wsSink is a WebSocket operation's sink: its connection's queue, each
// result under the operation's envelope.
type wsSink struct {
	c      *wsConn
	id     string
	entry  *opEntry
	prefix []byte // the envelope before a result: {"id":…,"type":"next","payload":
}

func (w *wsSink) push(payload []byte, bulk bool) bool {
	return w.c.q.pushQuiet(frame{prefix: w.prefix, data: payload, suffix: true, bulk: bulk}, w.c.t.MaxQueue)
}

func (w *wsSink) kick()                  { w.c.q.kick() }
func (w *wsSink) end(errs gqlerror.List) { w.c.end(w.id, w.entry, errs) }

// share offers a subscription to the Sharing's Take; false: run it as
// usual (op then carries the prepared operation, so it is not parsed
// twice).
func (c *wsConn) share(ctx context.Context, id string, entry *opEntry, op *operation) bool {
	ctx = graphql.StartOperationTrace(ctx)
	rc, sub := prepare(ctx, op.exec, op.params)
	op.prepared = rc
	if !sub {
		return false
	}
	s := newSubscriber(ctx, rc, op.exec, &wsSink{c: c, id: id, entry: entry, prefix: c.envelope(id)})
	stop, ok := s.take(c.t.Sharing)
	if !ok {
		return false
	}
	entry.setCancel(stop)
	return true
}

// end sends an operation's last message (its error, or complete) unless
// the client completed it or the connection is gone. It never waits.
func (c *wsConn) end(id string, entry *opEntry, errs gqlerror.List) {
	c.mu.Lock()
	mine := c.ops[id] == entry
	if mine {
		delete(c.ops, id)
	}
	c.mu.Unlock()
	if !mine || c.ctx.Err() != nil {
		return
	}
	push := func(m wsMessage) { c.q.push(frame{data: mustJSON(m)}, 0) }
	if len(errs) > 0 {
		if c.legacy() {
			// subscriptions-transport-ws expects a data message with
			// errors, then complete.
			push(wsMessage{ID: id, Type: "data", Payload: mustJSON(&graphql.Response{Errors: errs})})
			push(wsMessage{ID: id, Type: "complete"})
			return
		}
		push(wsMessage{ID: id, Type: "error", Payload: mustJSON(errs)})
		return
	}
	push(wsMessage{ID: id, Type: "complete"})
}

// Execute runs a subscription for one result: ctx must make its
// subscription resolver yield a single value. It returns the response
// encoded once.
func Execute(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext) (payload []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			payload, err = nil, fmt.Errorf("panic executing a shared subscription: %v", r)
		}
	}()
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil {
		return nil, errors.New("a shared subscription yielded no result")
	}
	return encodeResponse(resp), nil
}

// encodeResponse encodes a response; the usual one (data only) without
// re-encoding the data gqlgen has already encoded.
func encodeResponse(resp *graphql.Response) []byte {
	if len(resp.Errors) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil && len(resp.Extensions) == 0 && len(resp.Data) > 0 {
		b := make([]byte, 0, len(resp.Data)+9)
		b = append(b, `{"data":`...)
		b = append(b, resp.Data...)
		return append(b, '}')
	}
	return mustJSON(resp)
}
