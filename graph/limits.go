package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator/core"
)

// Defaults of the limits on one operation's shape.
const (
	DefaultMaxDepth      = 12
	DefaultMaxAliases    = 50
	DefaultMaxComplexity = 5000
	// DefaultMaxTokens is graphql-java's default, and gqlparser's advice
	// (CVE-2023-49559): GraphiQL's introspection query has 160.
	DefaultMaxTokens = 15000
	// DefaultMaxFields is many times the fields of any of our types plus
	// the aliases an operation may have.
	DefaultMaxFields = 200
	// ValidationBudget is the most steps one document's validation may
	// take, twice over: reading each operation with the fragments it
	// spreads (validationWalk), and checking that fields sharing a
	// response name can be merged (package overlap). A step is 100 to
	// 250 ns, so each part stays within tens of milliseconds.
	// GraphiQL's introspection query takes 144.
	ValidationBudget = 100_000
)

// Reasons (extensions.reason) of the BAD_USER_INPUT errors of an operation
// over a limit.
const (
	ReasonDepth      = "QUERY_TOO_DEEP"
	ReasonAliases    = "TOO_MANY_ALIASES"
	ReasonComplexity = "COMPLEXITY_LIMIT_EXCEEDED"
	ReasonTokens     = "TOO_MANY_TOKENS"
	ReasonFields     = "TOO_MANY_FIELDS"
	// ReasonValidation refuses a document whose validation would take
	// more than ValidationBudget steps.
	ReasonValidation = "VALIDATION_BUDGET_EXCEEDED"
	// ReasonBatching refuses an HTTP body that is a JSON array of
	// operations: batching is not supported, so it has no limit to set.
	ReasonBatching = "BATCHING_NOT_SUPPORTED"
)

// QueryLimits bounds the size and shape of every operation, whatever
// carries it (HTTP, SSE, both WebSocket protocols, and automatic persisted
// queries: they all prepare operations through the executor). Zero turns
// a limit off.
//
// The size is checked on the text, before anything parses it for
// validation, whose cost grows faster than the text:
//
//   - MaxTokens: the document's lexical tokens (names, punctuation,
//     numbers, strings and comments), as gqlparser's parser counts them.
//   - MaxFields: the fields, fragment spreads and inline fragments
//     between one pair of braces.
//
// The shape is checked after validation and before anything executes:
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
	MaxTokens, MaxFields                int

	es graphql.ExecutableSchema
	// known reports whether a text was parsed and validated before (it is
	// in the query cache): it passed these limits then.
	known func(query string) bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = (*QueryLimits)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (l *QueryLimits) ExtensionName() string { return "QueryLimits" }

// Validate implements graphql.HandlerExtension.
func (l *QueryLimits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

// MutateOperationParameters refuses a document over MaxTokens or
// MaxFields before the executor parses and validates it. It runs after the
// persisted-query extension has put the text in place, so it checks every
// text whatever its source. The work is linear in the text: a parse that
// stops at MaxTokens, and for a document it stops, one pass of the lexer.
func (l *QueryLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" || (l.known != nil && l.known(p.Query)) {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, max(l.MaxTokens, 0))
	if err != nil {
		// Over the token limit, or not GraphQL: count the tokens for the
		// error (the lexer is cheap beside the parser), or let the
		// executor's parse report the syntax error, as for any document.
		if l.MaxTokens > 0 {
			if n := countTokens(p.Query); n > l.MaxTokens {
				return limitError(ReasonTokens, l.MaxTokens, n,
					"operation has %d tokens, over the limit of %d: send a shorter document", n, l.MaxTokens)
			}
		}
		return nil
	}
	if n := widestSelection(doc); l.MaxFields > 0 && n > l.MaxFields {
		return limitError(ReasonFields, l.MaxFields, n,
			"a selection set has %d fields, over the limit of %d: ask for each field once, or split the operation", n, l.MaxFields)
	}
	if n := validationWalk(doc, ValidationBudget); n > ValidationBudget {
		return limitError(ReasonValidation, ValidationBudget, n,
			"validating this document means reading more than %d fields (each of its %d operations with every fragment it spreads): send only the operation you run",
			ValidationBudget, len(doc.Operations))
	}
	return nil
}

// validationWalk counts the selections gqlparser's validator walks for the
// operations of doc: each operation's own, and those of every fragment it
// spreads, once for each operation. With many operations spreading one
// large fragment that is quadratic in the document, so the count stops as
// soon as it passes limit, and costs no more than the document and limit
// together. (The validator also walks each fragment once on its own: that
// is linear.) A document of one operation never walks more selections
// than it has tokens.
func validationWalk(doc *ast.QueryDocument, limit int) int {
	type fragment struct {
		size    int
		spreads []string
	}
	// Each fragment's own selections and spreads, nested ones included,
	// fragments not expanded.
	measure := func(set ast.SelectionSet) fragment {
		var f fragment
		var walk func(set ast.SelectionSet)
		walk = func(set ast.SelectionSet) {
			for _, s := range set {
				f.size++
				switch s := s.(type) {
				case *ast.Field:
					walk(s.SelectionSet)
				case *ast.InlineFragment:
					walk(s.SelectionSet)
				case *ast.FragmentSpread:
					f.spreads = append(f.spreads, s.Name)
				}
			}
		}
		walk(set)
		return f
	}
	fragments := make(map[string]fragment, len(doc.Fragments))
	for _, def := range doc.Fragments {
		if _, dup := fragments[def.Name]; !dup { // the validator uses the first
			fragments[def.Name] = measure(def.SelectionSet)
		}
	}
	total := 0
	for _, op := range doc.Operations {
		own := measure(op.SelectionSet)
		total += own.size
		visited := map[string]bool{}
		for next := own.spreads; len(next) > 0 && total <= limit; {
			name := next[len(next)-1]
			next = next[:len(next)-1]
			f, ok := fragments[name]
			if !ok || visited[name] {
				continue
			}
			visited[name] = true
			total += f.size
			next = append(next, f.spreads...)
		}
		if total > limit {
			break
		}
	}
	return total
}

// countTokens counts a document's tokens as gqlparser's parser does,
// comments included, until the end or the first lexical error (which the
// parser reports there).
func countTokens(query string) int {
	lex := lexer.New(&ast.Source{Input: query})
	n := 0
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return n
		}
		n++
	}
}

// widestSelection is the most selections between one pair of braces in a
// document, fragments not expanded: each set is looked at once.
func widestSelection(doc *ast.QueryDocument) int {
	widest := 0
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		widest = max(widest, len(set))
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return widest
}

// validationBudgetExceeded gives the overlap check's error our code,
// reason and extensions. The code is replaced by gqlgen's
// GRAPHQL_VALIDATION_FAILED and then by the presenter's BAD_USER_INPUT;
// the reason set here stays.
func validationBudgetExceeded(budget, steps int) core.ErrorOption {
	return func(e *gqlerror.Error) {
		e.Extensions = map[string]any{"reason": ReasonValidation, "limit": budget, "value": steps}
	}
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
