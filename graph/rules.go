package graph

import (
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// validationRules are gqlparser's rules with one of them changed:
//
//   - SingleFieldSubscriptions counts response keys, as the spec's
//     CollectFields does: gqlparser's counts field names, so
//     `subscription { a: quotes { symbol } b: quotes { price } }` passed
//     validation and failed in execution as an internal error.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.ReplaceRule(rules.SingleFieldSubscriptionsRule.Name, singleFieldSubscriptions)
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
