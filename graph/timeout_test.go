package graph

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jonboulle/clockwork"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
)

// A query's or mutation's execution runs under a context that ends at the
// operation timeout on the clock, or when its client goes; a
// subscription's is not bounded (it lives as long as its client wants).
// An error the timeout caused is RATE_LIMITED, reason OPERATION_TIMEOUT.
func TestOperationTimeout(t *testing.T) {
	const limit = 10 * time.Second
	operation := func(parent context.Context, typ ast.Operation) context.Context {
		return graphql.WithOperationContext(parent, &graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: typ}})
	}
	// run executes a fake operation that waits for its context to end:
	// the context it ran under, and a channel closed when it returned.
	run := func(ctx context.Context, ot operationTimeout) (context.Context, chan struct{}) {
		started, done := make(chan context.Context), make(chan struct{})
		go func() {
			defer close(done)
			ot.InterceptResponse(ctx, func(ctx context.Context) *graphql.Response {
				started <- ctx
				<-ctx.Done()
				return &graphql.Response{}
			})
		}()
		return <-started, done
	}
	for name, typ := range map[string]ast.Operation{"Query": ast.Query, "Mutation": ast.Mutation} {
		t.Run(name+"StopsAtItsTimeout", func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			exec, done := run(operation(t.Context(), typ), operationTimeout{d: limit, clock: clock})
			if err := clock.BlockUntilContext(t.Context(), 1); err != nil { // its timer
				t.Fatal(err)
			}
			clock.Advance(limit - time.Nanosecond)
			if exec.Err() != nil {
				t.Fatalf("ended %v before its timeout", exec.Err())
			}
			clock.Advance(time.Nanosecond)
			<-done
			te, ok := timedOut(exec)
			if !ok || te.limit != limit {
				t.Fatalf("cause %v, want the timeout", context.Cause(exec))
			}
			e := ErrorPresenter(slog.New(slog.DiscardHandler))(exec, errors.New("interrupted (9)"))
			if e.Extensions["code"] != game.ERATELIMITED || e.Extensions["reason"] != ReasonTimeout || e.Extensions["limit"] != 10.0 ||
				e.Message != "operation ran longer than the limit of 10s and was stopped: ask for less" {
				t.Errorf("presented %q %v", e.Message, e.Extensions)
			}
		})
	}
	t.Run("StopsWhenTheClientGoes", func(t *testing.T) {
		clock := clockwork.NewFakeClock()
		parent, cancel := context.WithCancel(t.Context())
		exec, done := run(operation(parent, ast.Query), operationTimeout{d: limit, clock: clock})
		cancel()
		<-done
		if _, ok := timedOut(exec); ok || !errors.Is(exec.Err(), context.Canceled) {
			t.Errorf("cause %v, want the client's cancellation", context.Cause(exec))
		}
		if err := clock.BlockUntilContext(t.Context(), 0); err != nil { // the timer is stopped
			t.Fatal(err)
		}
	})
	t.Run("SubscriptionIsNotBounded", func(t *testing.T) {
		clock := clockwork.NewFakeClock()
		parent, cancel := context.WithCancel(t.Context())
		exec, done := run(operation(parent, ast.Subscription), operationTimeout{d: limit, clock: clock})
		clock.Advance(time.Hour)
		if exec.Err() != nil {
			t.Errorf("a subscription ended: %v", context.Cause(exec))
		}
		cancel()
		<-done
	})
}
