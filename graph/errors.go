package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bullpen/bullpen/game"
)

// ErrorPresenter maps every error to a client-safe GraphQL error with
// extensions.code: domain errors keep their code and message; anything
// else is logged and shown as INTERNAL_SERVER_ERROR without detail.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var ge *game.Error
		if errors.As(err, &ge) {
			gqlErr.Message = ge.Message
			gqlErr.Extensions = map[string]any{"code": ge.Code}
			if ge.Field != "" {
				gqlErr.Extensions["field"] = ge.Field
			}
			for k, v := range ge.Extra {
				gqlErr.Extensions[k] = v
			}
			return gqlErr
		}
		var parsed *gqlerror.Error
		if errors.As(err, &parsed) && parsed.Err == nil {
			// Parse and validation errors from gqlgen itself: their text
			// describes the query, never our internals. The contract's
			// code is BAD_USER_INPUT; gqlgen's own (GRAPHQL_PARSE_FAILED,
			// GRAPHQL_VALIDATION_FAILED) stays in extensions.reason.
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			// A reason set already (a limit's) is more precise.
			if c, ok := gqlErr.Extensions["code"].(string); ok && c != game.EINVALID && gqlErr.Extensions["reason"] == nil {
				gqlErr.Extensions["reason"] = c
			}
			gqlErr.Extensions["code"] = game.EINVALID
			return gqlErr
		}
		if te, ok := timedOut(ctx); ok {
			// Whatever failed, it failed because the operation's time ran
			// out: the limit, not a fault.
			log.WarnContext(ctx, "operation timed out", "err", err, "path", gqlErr.Path.String(), "limit", te.limit)
			gqlErr.Message = te.Error()
			gqlErr.Extensions = map[string]any{"code": game.ERATELIMITED, "reason": ReasonTimeout, "limit": te.limit.Seconds()}
			return gqlErr
		}
		log.ErrorContext(ctx, "internal error", "err", err, "path", gqlErr.Path.String())
		gqlErr.Message = "internal error"
		gqlErr.Extensions = map[string]any{"code": game.EINTERNAL}
		return gqlErr
	}
}

// Recover turns a panic in a resolver into an internal error.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", p)
		return errors.New("panic")
	}
}
