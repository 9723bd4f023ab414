package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jonboulle/clockwork"
	"github.com/vektah/gqlparser/v2/ast"
)

// DefaultOperationTimeout bounds one query's or mutation's execution.
// Every operation within the other limits takes milliseconds; this stops
// the one that waits on something that never comes.
const DefaultOperationTimeout = 10 * time.Second

// ReasonTimeout is the extensions.reason of the RATE_LIMITED error of an
// execution stopped by the operation timeout.
const ReasonTimeout = "OPERATION_TIMEOUT"

// timeoutError is the cause of an execution's context ending at its
// timeout, so the presenter can tell it from a client that went away.
type timeoutError struct{ limit time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("operation ran longer than the limit of %s and was stopped: ask for less", e.limit)
}

// operationTimeout runs each query's and mutation's execution under a
// context that ends after d on the clock, or as soon as its transport's
// context ends (the client went away, the socket closed): resolvers stop
// at their next database call. A subscription is long-lived and is not
// bounded here: each event's execution is the subscription machinery's to
// bound.
type operationTimeout struct {
	d     time.Duration
	clock clockwork.Clock
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = operationTimeout{}

func (operationTimeout) ExtensionName() string                   { return "OperationTimeout" }
func (operationTimeout) Validate(graphql.ExecutableSchema) error { return nil }

func (t operationTimeout) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if t.d <= 0 || !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := t.clock.AfterFunc(t.d, func() { cancel(&timeoutError{limit: t.d}) })
	defer timer.Stop()
	return next(ctx)
}

// timedOut is the timeout that stopped the execution ctx belongs to, if
// one did.
func timedOut(ctx context.Context) (*timeoutError, bool) {
	if ctx == nil {
		return nil, false
	}
	var te *timeoutError
	ok := errors.As(context.Cause(ctx), &te)
	return te, ok
}
