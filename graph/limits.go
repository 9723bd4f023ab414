package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Defaults of the limits on one operation's shape.
const (
	DefaultMaxDepth      = 12
	DefaultMaxAliases    = 50
	DefaultMaxComplexity = 5000
)

// Reasons (extensions.reason) of the BAD_USER_INPUT errors of an operation
// over a limit.
const (
	ReasonDepth      = "QUERY_TOO_DEEP"
	ReasonAliases    = "TOO_MANY_ALIASES"
	ReasonComplexity = "COMPLEXITY_LIMIT_EXCEEDED"
	// ReasonBatching refuses an HTTP body that is a JSON array of
	// operations: batching is not supported, so it has no limit to set.
	ReasonBatching = "BATCHING_NOT_SUPPORTED"
)

// QueryLimits bounds the shape of every operation, whatever carries it
// (HTTP, SSE, both WebSocket protocols: they all prepare operations
// through the executor, which runs this check after validation and before
// anything executes). Zero turns a limit off.
//
//   - MaxDepth: how deeply fields nest, the operation's top-level fields
//     being depth 1. Fragments add no depth of their own; the selections
//     under the introspection fields __schema and __type add none either
//     (GraphiQL's introspection query nests 15 deep), which the complexity
//     limit bounds instead.
//   - MaxAliases: fields given an alias (`a: quote(...)`), counted as
//     often as their fragments are spread.
//   - MaxComplexity: gqlgen's complexity, where every field costs 1 plus
//     its selections, fragments expanded, and __schema is free.
type QueryLimits struct {
	MaxDepth, MaxAliases, MaxComplexity int

	es graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*QueryLimits)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (l *QueryLimits) ExtensionName() string { return "QueryLimits" }

// Validate implements graphql.HandlerExtension.
func (l *QueryLimits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

// MutateOperationContext refuses an operation over a limit with a
// BAD_USER_INPUT error (the presenter moves the reason set here to
// extensions.reason) that names the limit and the operation's value.
func (l *QueryLimits) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	op := rc.Operation
	if op == nil {
		return nil
	}
	m := measurer{memo: map[fragmentKey]shape{}}
	s := m.selections(op.SelectionSet, modeNormal)
	switch {
	case l.MaxDepth > 0 && s.depth > l.MaxDepth:
		return limitError(ReasonDepth, l.MaxDepth, s.depth,
			"operation is %d fields deep, over the limit of %d: ask for less nested data", s.depth, l.MaxDepth)
	case l.MaxAliases > 0 && s.aliases > l.MaxAliases:
		return limitError(ReasonAliases, l.MaxAliases, s.aliases,
			"operation has %d aliased fields, over the limit of %d: split it into several operations", s.aliases, l.MaxAliases)
	case l.MaxComplexity > 0 && s.fields > l.MaxComplexity:
		// Counted without expanding fragments again and again, so a
		// fragment spread many times over cannot make the count itself
		// expensive; below the limit gqlgen's walk is bounded too.
		return complexityError(s.fields, l.MaxComplexity)
	case l.MaxComplexity > 0:
		if c := complexity.Calculate(ctx, l.es, op, rc.Variables); c > l.MaxComplexity {
			return complexityError(c, l.MaxComplexity)
		}
	}
	return nil
}

func complexityError(c, limit int) *gqlerror.Error {
	return limitError(ReasonComplexity, limit, c,
		"operation has complexity %d, over the limit of %d: ask for fewer fields", c, limit)
}

func limitError(reason string, limit, value int, format string, args ...any) *gqlerror.Error {
	// code is the reason until the presenter turns it into BAD_USER_INPUT.
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{
		"code": reason, "limit": limit, "value": value,
	}}
}

// shape is what the limits measure of a selection set.
type shape struct {
	depth   int // deepest field, this set's own fields being 1
	aliases int
	fields  int // gqlgen's default complexity: every field 1, __schema free
}

// mode is where a selection set sits: inside __schema or __type nothing
// adds depth, and inside __schema nothing adds complexity.
type mode uint8

const (
	modeNormal mode = iota
	modeType
	modeSchema
)

type fragmentKey struct {
	name string
	mode mode
}

// measurer measures an operation with fragments expanded, each fragment
// measured once per mode, so the work is linear in the document's size.
// Fragments cannot form cycles: validation has refused those already.
type measurer struct {
	memo map[fragmentKey]shape
}

func (m *measurer) selections(set ast.SelectionSet, md mode) shape {
	var out shape
	merge := func(s shape) {
		out.depth = max(out.depth, s.depth)
		out.aliases = satAdd(out.aliases, s.aliases)
		out.fields = satAdd(out.fields, s.fields)
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			childMode := md
			switch s.Name {
			case "__schema":
				childMode = modeSchema
			case "__type":
				if md == modeNormal {
					childMode = modeType
				}
			}
			child := m.selections(s.SelectionSet, childMode)
			f := shape{depth: 1, aliases: child.aliases}
			if childMode == modeNormal {
				f.depth += child.depth
			}
			if s.Alias != "" && s.Alias != s.Name {
				f.aliases = satAdd(f.aliases, 1)
			}
			if childMode != modeSchema {
				f.fields = satAdd(1, child.fields)
			}
			merge(f)
		case *ast.InlineFragment:
			merge(m.selections(s.SelectionSet, md))
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			key := fragmentKey{s.Name, md}
			fs, ok := m.memo[key]
			if !ok {
				fs = m.selections(s.Definition.SelectionSet, md)
				m.memo[key] = fs
			}
			merge(fs)
		}
	}
	return out
}

// satAdd adds without overflowing: a fragment spread 2^64 times over
// stays over every limit.
func satAdd(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return int(^uint(0) >> 1)
}
