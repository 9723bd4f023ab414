// Package realtime carries GraphQL operations, subscriptions above all,
// over WebSocket (the graphql-transport-ws protocol of the graphql-ws
// library and the legacy graphql-ws protocol of subscriptions-transport-ws)
// and over Server-Sent Events (graphql-sse's distinct connections mode).
//
// It replaces gqlgen's stock WebSocket transport, which sends 1000/1002
// where graphql-transport-ws requires 44xx codes, lets a duplicate
// subscription id leak the old stream, serialises writes behind one mutex
// with no queue or write deadline, and does not end subscriptions on
// shutdown. Operations still run through gqlgen's executor.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

type errorsKey struct{}

type errorSink struct {
	mu   sync.Mutex
	errs []error
}

// ReportError records an error that ended a subscription stream: the
// resolver calls it before closing its channel, and the transport sends it
// as the operation's error instead of a normal completion.
func ReportError(ctx context.Context, err error) {
	if s, ok := ctx.Value(errorsKey{}).(*errorSink); ok {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
	}
}

func withErrorSink(ctx context.Context) (context.Context, *errorSink) {
	s := &errorSink{}
	return context.WithValue(ctx, errorsKey{}, s), s
}

func (s *errorSink) take() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := s.errs
	s.errs = nil
	return errs
}

// present turns errors into client-safe GraphQL errors through the
// executor's error presenter.
func present(ctx context.Context, exec graphql.GraphExecutor, errs []error) gqlerror.List {
	list := make(gqlerror.List, 0, len(errs))
	for _, err := range errs {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			list = append(list, ge)
			continue
		}
		list = append(list, &gqlerror.Error{Err: err, Message: err.Error()})
	}
	return exec.DispatchError(ctx, list).Errors
}

// operation runs one GraphQL operation and calls send for each response.
type operation struct {
	exec   graphql.GraphExecutor
	log    *slog.Logger
	params *graphql.RawParams
	// sharing, if set, may serve a subscription from a shared execution.
	sharing Sharing
	// prepared, if set, is params already parsed and validated.
	prepared *graphql.OperationContext
}

// run executes op until ctx is done or the stream ends. send gets each
// response, already encoded, and returns false when the transport can take
// no more. run returns errors that should end the operation as an error
// (request errors, or a stream's reported error), already presented.
func (op operation) run(ctx context.Context, send func(json.RawMessage) bool) gqlerror.List {
	ctx = graphql.StartOperationTrace(ctx)
	rc := op.prepared
	if rc == nil {
		var gerr gqlerror.List
		rc, gerr = op.exec.CreateOperationContext(ctx, op.params)
		if gerr != nil {
			return op.exec.DispatchError(graphql.WithOperationContext(ctx, rc), gerr).Errors
		}
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	if op.sharing != nil && subscription(rc) {
		errs, ok := op.sharing.Run(ctx, rc, func(ctx context.Context, emit func(json.RawMessage) bool) gqlerror.List {
			return op.execute(ctx, rc, emit)
		}, send)
		if ok {
			return errs
		}
	}
	return op.execute(ctx, rc, send)
}

// execute runs a prepared operation through gqlgen's executor.
func (op operation) execute(ctx context.Context, rc *graphql.OperationContext, send func(json.RawMessage) bool) gqlerror.List {
	ctx, sink := withErrorSink(ctx)
	var (
		ended gqlerror.List
		first = true
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				ended = gqlerror.List{{Message: "internal error", Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}}
				op.log.Error("panic in operation", "panic", r)
			}
		}()
		responses, ctx := op.exec.DispatchOperation(ctx, rc)
		for {
			resp := responses(ctx)
			if resp == nil {
				break
			}
			// A subscription refused at the start (its resolver returned an
			// error) is an operation error, not a stream of one result.
			if first && subscription(rc) && len(resp.Errors) > 0 && isNull(resp.Data) {
				ended = resp.Errors
				return
			}
			first = false
			if !send(encodeResponse(resp)) {
				return
			}
		}
	}()
	if ended != nil {
		return ended
	}
	if errs := sink.take(); len(errs) > 0 {
		return present(ctx, op.exec, errs)
	}
	return nil
}

func isNull(b []byte) bool {
	return len(b) == 0 || string(b) == "null"
}
