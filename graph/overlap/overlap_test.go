package overlap_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/bullpen/bullpen/graph/overlap"
)

type spec struct {
	Schemas []string
	Cases   []struct{ Name, Schema, Query string }
}

func loadSpec(t testing.TB) (spec, []*ast.Schema) {
	t.Helper()
	b, err := os.ReadFile("testdata/spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var schemas []*ast.Schema
	for i, sdl := range s.Schemas {
		schema, err := validator.LoadSchema(append([]*ast.Source{validator.Prelude}, &ast.Source{Name: "schema" + strconv.Itoa(i), Input: sdl})...)
		if err != nil {
			t.Fatal(err)
		}
		schemas = append(schemas, schema)
	}
	return s, schemas
}

// validate runs every default rule, with c's in place of gqlparser's when
// c is set, and returns the distinct messages of the overlap rule's errors
// and every error.
func validate(t testing.TB, schema *ast.Schema, query string, c *overlap.Check) ([]string, gqlerror.List) {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	rs := rules.NewDefaultRules()
	if c != nil {
		rs.ReplaceRule(overlap.Name, c.Rule().RuleFunc)
	}
	errs := validator.ValidateWithRules(schema, doc, rs)
	var msgs []string
	for _, e := range errs {
		if e.Rule == overlap.Name && !slices.Contains(msgs, e.Message) {
			msgs = append(msgs, e.Message)
		}
	}
	slices.Sort(msgs)
	return msgs, errs
}

// Within its budget the rule finds what gqlparser's finds: graphql-js's
// own cases for the rule, each distinct message once.
func TestSameConflictsAsGqlparser(t *testing.T) {
	s, schemas := loadSpec(t)
	for _, tc := range s.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			n, _ := strconv.Atoi(tc.Schema)
			want, _ := validate(t, schemas[n], tc.Query, nil)
			var c overlap.Check
			got, _ := validate(t, schemas[n], tc.Query, &c)
			if !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
			c = overlap.Check{Budget: 100_000}
			if got, _ := validate(t, schemas[n], tc.Query, &c); !slices.Equal(got, want) {
				t.Errorf("with a budget: got %q\nwant %q", got, want)
			}
		})
	}
}

func repeat(format string, n int) string {
	var b strings.Builder
	for i := range n {
		if strings.Contains(format, "%d") {
			fmt.Fprintf(&b, format, i)
		} else {
			b.WriteString(format)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// A field repeated without aliases costs one step per field, not one per
// pair (gqlparser's rule makes 450 million comparisons of 30,000).
func TestRepeatedFieldsAreComparedOnce(t *testing.T) {
	_, schemas := loadSpec(t)
	for _, tc := range []struct{ name, query string }{
		{"Typename", "{ " + repeat("__typename", 30_000) + "}"},
		{"SameArguments", "{ dog { " + repeat("doesKnowCommand(dogCommand: SIT)", 30_000) + "} }"},
		{"InInlineFragments", "{ dog { " + repeat("... on Dog { name }", 10_000) + "} }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c overlap.Check
			if msgs, _ := validate(t, schemas[0], tc.query, &c); len(msgs) != 0 {
				t.Errorf("conflicts %q", msgs)
			}
			if steps := c.Steps(); steps > 100_000 {
				t.Errorf("%d steps, want about one per field", steps)
			}
		})
	}
}

// Fields that share a response name and can be merged, but are not alike
// (they have selections), are compared pair by pair: the budget stops that
// with one error, however many pairs remain.
func TestBudgetStopsTheCheck(t *testing.T) {
	_, schemas := loadSpec(t)
	for _, tc := range []struct{ name, query string }{
		{"SameSelections", "{ " + repeat(`dog { name }`, 3_000) + "}"},
		{"DifferentSelections", "{ " + repeat(`dog { name } dog { nickname }`, 1_500) + "}"},
		{"Fragments", "{ dog { " + repeat("...F%d", 200) + "} } " + repeat("fragment F%d on Dog { name: nickname }", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const budget = 10_000
			var reported []int
			c := overlap.Check{Budget: budget, Exceeded: func(budget, steps int) core.ErrorOption {
				reported = append(reported, budget, steps)
				return func(e *gqlerror.Error) { e.Extensions = map[string]any{"limit": budget, "value": steps} }
			}}
			msgs, errs := validate(t, schemas[0], tc.query, &c)
			if len(msgs) != 1 || !strings.Contains(msgs[0], "needs more than 10000 comparisons of fields that share a response name") {
				t.Fatalf("got %q, want the budget's error alone", msgs)
			}
			if len(reported) != 2 || reported[0] != budget || reported[1] <= budget {
				t.Errorf("Exceeded got %v", reported)
			}
			for _, e := range errs {
				if e.Rule == overlap.Name && (e.Extensions["limit"] != budget || len(e.Locations) != 1) {
					t.Errorf("error %v at %v", e.Extensions, e.Locations)
				}
			}
			// The last step taken may be a large one (an argument list
			// against another), never more than the document's size.
			if steps := c.Steps(); steps <= budget || steps > budget+int64(len(tc.query)) {
				t.Errorf("%d steps for a budget of %d", steps, budget)
			}
		})
	}
}

// Fields that conflict pair by pair stop the check at MaxConflicts.
func TestConflictsStopAtMaxConflicts(t *testing.T) {
	_, schemas := loadSpec(t)
	var c overlap.Check // no budget
	_, errs := validate(t, schemas[0], "{ dog { "+repeat(`isHouseTrained(atOtherHomes: %d)`, 3_000)+"} }", &c)
	n := 0
	for _, e := range errs {
		if e.Rule == overlap.Name {
			n++
		}
	}
	if n != overlap.MaxConflicts {
		t.Errorf("%d conflicts reported, want %d", n, overlap.MaxConflicts)
	}
	if steps := c.Steps(); steps > 10_000 {
		t.Errorf("%d steps: the check went on after the conflicts it reports", steps)
	}
}

// Conflicts are still found, inside fragments and nested selections, when
// a budget is set and not reached.
func TestConflictsWithinBudget(t *testing.T) {
	_, schemas := loadSpec(t)
	c := overlap.Check{Budget: 10_000}
	msgs, _ := validate(t, schemas[0], `{ dog { ...A ...B name name } } fragment A on Dog { x: name } fragment B on Dog { x: nickname }`, &c)
	want := []string{`Fields "x" conflict because "name" and "nickname" are different fields. Use different aliases on the fields to fetch both if this was intentional.`}
	if !slices.Equal(msgs, want) {
		t.Errorf("got %q, want %q", msgs, want)
	}
}

// The worst documents within a budget of one million steps: the cost of
// a step, so that the budget can be set from a time (BENCHMARKS.md).
func BenchmarkBudget(b *testing.B) {
	_, schemas := loadSpec(b)
	for _, tc := range []struct{ name, query string }{
		{"SameSelections", "{ " + repeat(`dog { name }`, 3_000) + "}"},
		{"DifferentSelections", "{ " + repeat(`dog { name } dog { nickname }`, 1_500) + "}"},
		{"Fragments", "{ dog { " + repeat("...F%d", 2_000) + "} } " + repeat("fragment F%d on Dog { name: nickname }", 2_000)},
		{"ManyArguments", "{ " + repeat(`dog { isHouseTrained(`+repeat("atOtherHomes: true", 300)+`) }`, 30) + "}"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var steps int64
			for b.Loop() {
				c := overlap.Check{Budget: 1_000_000}
				validate(b, schemas[0], tc.query, &c)
				steps = c.Steps()
			}
			b.ReportMetric(float64(steps), "steps")
		})
	}
}
