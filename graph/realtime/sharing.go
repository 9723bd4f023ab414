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
	// Take serves a WebSocket subscription with no goroutine of its own:
	// whoever produces a result hands the same encoded bytes to each
	// subscriber's Send, which queues them on its connection without
	// waiting. It reports whether it took s; if not, the transport runs
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

// Subscriber is one WebSocket subscription taken by a Sharing.
type Subscriber struct {
	// Op is the subscription, parsed and validated; Exec runs it.
	Op   *graphql.OperationContext
	Exec graphql.GraphExecutor

	c      *wsConn
	id     string
	entry  *opEntry
	prefix []byte // the envelope before a result: {"id":…,"type":"next","payload":
	ctx    context.Context
	base   context.Context // ctx without the operation
	done   atomic.Bool
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
// false when the connection already has MaxQueue messages waiting, and the
// caller should then End the subscription with its SLOW_CONSUMER error.
//
// Send does not wake the connection's writer: call Flush once the results
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
	return s.c.q.pushQuiet(frame{prefix: s.prefix, data: payload, suffix: true, bulk: bulk}, s.c.t.MaxQueue)
}

// Flush wakes the connection's writer for what Send queued.
func (s *Subscriber) Flush() { s.c.q.kick() }

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
	s.c.end(s.id, s.entry, errs)
}

// share offers a subscription to the Sharing's Take; false: run it as
// usual (op then carries the prepared operation, so it is not parsed
// twice).
func (c *wsConn) share(ctx context.Context, id string, entry *opEntry, op *operation) bool {
	ctx = graphql.StartOperationTrace(ctx)
	base := ctx
	rc, gerr := op.exec.CreateOperationContext(ctx, op.params)
	if gerr != nil {
		return false
	}
	op.prepared = rc
	if rc.Operation == nil || rc.Operation.Operation != ast.Subscription {
		return false
	}
	s := &Subscriber{Op: rc, Exec: op.exec, c: c, id: id, entry: entry, ctx: graphql.WithOperationContext(ctx, rc), base: base, prefix: c.envelope(id)}
	stop, ok := c.t.Sharing.Take(s.ctx, s)
	if !ok {
		return false
	}
	entry.setCancel(func() {
		s.done.Store(true)
		stop()
	})
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
