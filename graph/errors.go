package graph

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/scalar"
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
			} else if f := argumentPath(ctx, gqlErr.Path); f != "" && ge.Code == game.EINVALID {
				// A scalar refused an argument (input coercion).
				gqlErr.Message = f + ": " + ge.Message
				gqlErr.Extensions["field"] = f
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
			nameVariable(ctx, gqlErr)
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

// argumentPath names the argument an input coercion error is about: the
// error's path below the field whose arguments were read (gqlgen puts the
// argument and the input fields on it), e.g. "input.quantity"; "" for an
// error of the field itself.
func argumentPath(ctx context.Context, p ast.Path) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	base := fc.Path()
	if len(p) <= len(base) || !slices.Equal(p[:len(base)], base) {
		return ""
	}
	return p[len(base):].String()
}

// nameVariable names the argument whose variable gqlparser's coercion of
// variables refused (its path starts with "variable"): extensions.field
// is the argument path the variable is given to, as for a literal, e.g.
// "input.quantity" for $in.quantity in placeOrder(input: $in); where the
// variable goes to more than one place, the path in the variables with a
// '$', e.g. "$in.quantity". An Int it refused gets a message that says
// why: gqlparser says "cannot use string as Int" of a JSON number beyond
// 64 bits (it is kept exact, as a string).
func nameVariable(ctx context.Context, e *gqlerror.Error) {
	if len(e.Path) < 2 || e.Path[0] != ast.PathName("variable") {
		return
	}
	name, _ := e.Path[1].(ast.PathName)
	field := "$" + e.Path[1:].String()
	if graphql.HasOperationContext(ctx) {
		if at, ok := variableUse(graphql.GetOperationContext(ctx).Operation, string(name)); ok {
			field = append(at, e.Path[2:]...).String()
		}
	}
	e.Extensions["field"] = field
	if strings.HasPrefix(e.Message, "cannot use ") && strings.HasSuffix(e.Message, " as Int") {
		e.Message = field + ": not an Int: an Int is " + scalar.IntRange + ", sent as a JSON number"
		return
	}
	e.Message = field + ": " + e.Message
}

// variableUse is the argument path where op gives variable name, when it
// gives it to exactly one (fragments included).
func variableUse(op *ast.OperationDefinition, name string) (ast.Path, bool) {
	if op == nil {
		return nil, false
	}
	var uses []ast.Path
	var inValue func(v *ast.Value, at ast.Path)
	inValue = func(v *ast.Value, at ast.Path) {
		if v == nil {
			return
		}
		if v.Kind == ast.Variable && v.Raw == name {
			uses = append(uses, at)
		}
		for i, c := range v.Children {
			var next ast.PathElement = ast.PathName(c.Name)
			if v.Kind == ast.ListValue {
				next = ast.PathIndex(i)
			}
			inValue(c.Value, append(at[:len(at):len(at)], next))
		}
	}
	seen := map[string]bool{}
	var inSet func(ast.SelectionSet)
	inSet = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				for _, a := range sel.Arguments {
					inValue(a.Value, ast.Path{ast.PathName(a.Name)})
				}
				inSet(sel.SelectionSet)
			case *ast.InlineFragment:
				inSet(sel.SelectionSet)
			case *ast.FragmentSpread:
				if sel.Definition != nil && !seen[sel.Name] {
					seen[sel.Name] = true
					inSet(sel.Definition.SelectionSet)
				}
			}
		}
	}
	inSet(op.SelectionSet)
	if len(uses) == 0 {
		return nil, false
	}
	for _, u := range uses[1:] {
		if u.String() != uses[0].String() {
			return nil, false
		}
	}
	return uses[0], true
}
