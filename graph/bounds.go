package graph

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jonboulle/clockwork"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/realtime"
)

// Defaults of SubscriptionBounds.
const (
	DefaultSubscriptionTimeout = 2 * time.Second
	// DefaultSubscriptionResolvers is how many resolvers one execution of
	// a subscription runs at once. gqlgen resolves each element of a list
	// and each field of an object in a goroutine of its own: 40 aliases of
	// a room's participants' metrics were 6,000 queries at once, queued
	// ahead of the room's own reads and writes on SQLite's 8 connections
	// (the light subscribers' median delivery 0.5 s, not 2 ms, with the
	// execution already off the room's pump). Two leave the rest of the
	// connections to the rest of the server.
	DefaultSubscriptionResolvers = 2
)

// SubscriptionBounds bound what one subscriber's document may cost for
// each event it receives, whatever carries it: an execution resolves at
// most Resolvers fields at a time and is cut off after Timeout (on Clock),
// and the subscription then ends with its SLOW_CONSUMER error, not the
// room. Queries and mutations are not bounded here.
type SubscriptionBounds struct {
	Timeout   time.Duration // 0: none
	Resolvers int           // 0: no bound
	Clock     clockwork.Clock
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = (*SubscriptionBounds)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (b *SubscriptionBounds) ExtensionName() string { return "SubscriptionBounds" }

// Validate implements graphql.HandlerExtension.
func (b *SubscriptionBounds) Validate(graphql.ExecutableSchema) error { return nil }

// execution is one execution of a subscription's document for one event.
type execution struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	gate   chan struct{} // a slot per running resolver; nil: no bound

	b        *SubscriptionBounds
	deadline time.Time
	armed    sync.Once
	mu       sync.Mutex
	timer    clockwork.Timer
}

type executionKey struct{}

// errTooSlow is the cause of an execution cut off at its Timeout.
var errTooSlow = errors.New("subscription execution over its time limit")

// begin starts an execution under ctx that must end by deadline (on the
// bounds' Clock), or, when deadline is zero, within the bounds' Timeout of
// its start: now if armed, else its first resolver (a transport's
// execution waits for its event inside the response first).
func (b *SubscriptionBounds) begin(ctx context.Context, deadline time.Time, armed bool) *execution {
	ex := &execution{b: b, deadline: deadline}
	ex.ctx, ex.cancel = context.WithCancelCause(ctx)
	ex.ctx = context.WithValue(ex.ctx, executionKey{}, ex)
	if b.Resolvers > 0 {
		ex.gate = make(chan struct{}, b.Resolvers)
	}
	if armed {
		ex.arm()
	}
	return ex
}

func (ex *execution) arm() {
	ex.armed.Do(func() {
		if ex.b.Timeout <= 0 {
			return
		}
		now := ex.b.Clock.Now()
		if ex.deadline.IsZero() {
			ex.deadline = now.Add(ex.b.Timeout)
		}
		ex.mu.Lock()
		defer ex.mu.Unlock()
		ex.timer = ex.b.Clock.AfterFunc(ex.deadline.Sub(now), func() { ex.cancel(errTooSlow) })
		if !ex.b.Clock.Now().Before(ex.deadline) {
			ex.cancel(errTooSlow) // the clock passed it meanwhile
		}
	})
}

// end releases the execution and returns why it was cut off, if it was:
// errTooSlow past its deadline.
func (ex *execution) end() error {
	ex.armed.Do(func() {}) // no timer starts after this
	ex.mu.Lock()
	if ex.timer != nil {
		ex.timer.Stop()
	}
	ex.mu.Unlock()
	cause := context.Cause(ex.ctx)
	ex.cancel(context.Canceled)
	return cause
}

// InterceptResponse bounds each result of a subscription the transport
// runs itself (one no group of Sharing takes: a viewer's own document, or
// quotes). Its clock starts with the first resolver, once the event
// is at hand. A result cut off is not sent: the stream ends with the
// SLOW_CONSUMER error instead.
func (b *SubscriptionBounds) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) || ctx.Value(executionKey{}) != nil {
		return next(ctx) // not an operation, or a group's execution (see Sharing)
	}
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation != ast.Subscription {
		return next(ctx)
	}
	ex := b.begin(ctx, time.Time{}, false)
	resp := next(ex.ctx)
	if errors.Is(ex.end(), errTooSlow) {
		realtime.ReportError(ctx, tooSlowError(b.Timeout, nil))
		return nil
	}
	return resp
}

// InterceptField holds each resolver of a bounded execution to its share
// of slots, and starts the execution's clock at the first.
func (b *SubscriptionBounds) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	ex, ok := ctx.Value(executionKey{}).(*execution)
	if !ok {
		return next(ctx)
	}
	ex.arm()
	if ex.gate != nil {
		select {
		case ex.gate <- struct{}{}:
		case <-ex.ctx.Done():
			return nil, errCutOff
		}
		defer func() { <-ex.gate }()
	}
	res, err := next(ctx)
	if err != nil && ex.ctx.Err() != nil {
		// Its result is not sent: nothing to log (a cut-off execution's
		// thousands of fields would each log an internal error).
		return nil, errCutOff
	}
	return res, err
}

// errCutOff fails the fields of an execution cut off, whose result is
// not sent.
var errCutOff = &game.Error{Code: game.ERATELIMITED, Message: "subscription execution cut off"}

// tooSlowError ends a subscription whose document's result for one event
// was not ready within limit: the same RATE_LIMITED SLOW_CONSUMER error as
// a full queue's, with where to resume when it is known.
func tooSlowError(limit time.Duration, after *int64) error {
	e := &game.Error{Code: game.ERATELIMITED, Extra: map[string]any{"reason": "SLOW_CONSUMER"},
		Message: fmt.Sprintf("subscriber too slow: its document's result for one event took over %v; ask for less, then subscribe again with afterSequence", limit)}
	if after != nil {
		e.Message = fmt.Sprintf("subscriber too slow: its document's result for the event after sequence %d was not ready within %v; ask for less, then resubscribe with afterSequence: %d", *after, limit, *after)
		e.Extra["afterSequence"] = *after
	}
	return e
}

func (b *SubscriptionBounds) now() time.Time {
	if b.Timeout <= 0 {
		return time.Time{} // nothing is timed
	}
	return b.Clock.Now()
}
