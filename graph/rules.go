package graph

import (
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// validationRules are gqlparser's rules with two of them changed (and
// OverlappingFieldsCanBeMerged replaced by graph/overlap's, with a budget,
// in prepareOperations):
//
//   - SingleFieldSubscriptions counts response keys, as the spec's
//     CollectFields does: gqlparser's counts field names, so
//     `subscription { a: quotes { symbol } b: quotes { price } }` passed
//     validation and failed in execution as an internal error.
//   - ValuesOfCorrectType names the argument a bad literal is given to
//     (extensions.field and the message, e.g. "input.quantity: ..."), and
//     reports a bad value once rather than again for each input object or
//     list around it.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.ReplaceRule(rules.SingleFieldSubscriptionsRule.Name, singleFieldSubscriptions)
	r.ReplaceRule(rules.ValuesOfCorrectTypeRule.Name, namedValues(rules.ValuesOfCorrectTypeRule.RuleFunc))
	return r
}

// singleFieldSubscriptions refuses a subscription whose selection, with
// fragments expanded, has more than one response key, or an
// introspection field at its root.
func singleFieldSubscriptions(observers *core.Events, addError core.AddErrFunc) {
	observers.OnOperation(func(walker *core.Walker, op *ast.OperationDefinition) {
		if walker.Schema.Subscription == nil || op.Operation != ast.Subscription {
			return
		}
		name := "Anonymous Subscription"
		if op.Name != "" {
			name = "Subscription " + strconv.Quote(op.Name)
		}
		var keys []string
		seen := map[string]bool{}
		spread := map[string]bool{}
		var walk func(ast.SelectionSet)
		walk = func(set ast.SelectionSet) {
			for _, sel := range set {
				switch sel := sel.(type) {
				case *ast.Field:
					key := sel.Alias
					if key == "" {
						key = sel.Name
					}
					if strings.HasPrefix(sel.Name, "__") {
						addError(core.Message("%s must not select an introspection top level field.", name), core.At(sel.Position))
					}
					if !seen[key] {
						seen[key] = true
						keys = append(keys, key)
						if len(keys) == 2 {
							addError(core.Message("%s must select only one top level field.", name), core.At(sel.Position))
						}
					}
				case *ast.InlineFragment:
					walk(sel.SelectionSet)
				case *ast.FragmentSpread:
					if sel.Definition != nil && !spread[sel.Name] {
						spread[sel.Name] = true
						walk(sel.Definition.SelectionSet)
					}
				}
			}
		}
		walk(op.SelectionSet)
	})
}

// namedValues wraps a rule about literal values (ValuesOfCorrectType) so
// that each error it reports names the argument path of its value. Values
// are walked innermost first and a field after its arguments, so the
// errors wait, by value, until the field that holds them.
func namedValues(rule core.RuleFunc) core.RuleFunc {
	return func(observers *core.Events, addError core.AddErrFunc) {
		var current *ast.Value
		pending := map[*ast.Value][]*gqlerror.Error{}
		// Registered before the rule's own observer, so it runs first.
		observers.OnValue(func(_ *core.Walker, v *ast.Value) { current = v })
		rule(observers, func(options ...core.ErrorOption) {
			v := current
			if v != nil && (v.Kind == ast.ObjectValue || v.Kind == ast.ListValue) && hasPending(v, pending) {
				return // the value inside it that is wrong has said so
			}
			addError(append(options, func(e *gqlerror.Error) {
				if v != nil {
					pending[v] = append(pending[v], e)
				}
			})...)
		})
		observers.OnField(func(_ *core.Walker, f *ast.Field) {
			if len(pending) == 0 {
				return
			}
			for _, arg := range f.Arguments {
				nameValues(arg.Value, ast.Path{ast.PathName(arg.Name)}, pending)
			}
		})
	}
}

// hasPending reports whether a value inside v has an error waiting.
func hasPending(v *ast.Value, pending map[*ast.Value][]*gqlerror.Error) bool {
	for _, c := range v.Children {
		if len(pending[c.Value]) > 0 || hasPending(c.Value, pending) {
			return true
		}
	}
	return false
}

// nameValues gives the errors waiting on v and the values inside it their
// argument path, and forgets them.
func nameValues(v *ast.Value, path ast.Path, pending map[*ast.Value][]*gqlerror.Error) {
	if v == nil {
		return
	}
	for _, e := range pending[v] {
		field := path.String()
		e.Message = field + ": " + e.Message
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions["field"] = field
	}
	delete(pending, v)
	for i, c := range v.Children {
		var next ast.PathElement = ast.PathName(c.Name)
		if v.Kind == ast.ListValue {
			next = ast.PathIndex(i)
		}
		nameValues(c.Value, append(path[:len(path):len(path)], next), pending)
	}
}
