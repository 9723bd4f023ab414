//go:build linux

package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
)

// preparer is the /query pipeline up to execution, configured as
// NewHandler configures it (prepareOperations, the error presenter, the
// HTTP transport), with the default limits. An operation that passes
// every check is answered with empty data instead of executing: what
// happens before execution is what these tests are about, and execution
// is bounded by the complexity limit checked last.
type preparer struct {
	http.Handler
	validation interface{ Steps() int64 }
}

func newPreparer() preparer {
	log := slog.New(slog.DiscardHandler)
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{}}))
	srv.AddTransport(httpTransport{})
	_, _, validation := prepareOperations(srv, Options{Limits: QueryLimits{
		MaxDepth: DefaultMaxDepth, MaxAliases: DefaultMaxAliases, MaxComplexity: DefaultMaxComplexity,
		MaxTokens: DefaultMaxTokens, MaxFields: DefaultMaxFields,
	}, OperationTimeout: DefaultOperationTimeout})
	srv.SetErrorPresenter(ErrorPresenter(log))
	srv.SetRecoverFunc(Recover(log))
	srv.AroundOperations(func(context.Context, graphql.OperationHandler) graphql.ResponseHandler {
		return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{}`)})
	})
	return preparer{Handler: srv, validation: validation}
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// post sends doc to p as a POST and returns the response and the CPU time
// this thread spent on it (ServeHTTP runs on the caller's goroutine).
func (p preparer) post(doc string) (status int, resp gqlResp, cpu time.Duration) {
	body, _ := json.Marshal(map[string]any{"query": doc})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	runtime.LockOSThread()
	start := threadCPU()
	p.ServeHTTP(rec, req)
	cpu = threadCPU() - start
	runtime.UnlockOSThread()
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		panic(fmt.Sprintf("%s: %v", rec.Body.Bytes(), err))
	}
	return rec.Code, resp, cpu
}

type gqlResp struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func repeatDoc(prefix, part string, n int, suffix string) string {
	return prefix + strings.Repeat(part, n) + suffix
}

// hostileDocuments are documents that cost gqlgen and gqlparser CPU out of
// proportion to their size, or once did: the fuzz target's seeds.
func hostileDocuments() map[string]string {
	var frags, ops, nested strings.Builder
	for i := range 1400 {
		fmt.Fprintf(&frags, "fragment F%d on Query { __typename }\n", i)
	}
	ops.WriteString("fragment F on Query { " + strings.Repeat("__typename ", 190) + "}\n")
	for i := range 2000 {
		fmt.Fprintf(&ops, "query Q%d { ...F }\n", i)
	}
	nested.WriteString(strings.Repeat("{ me ", 900) + strings.Repeat("} ", 900))
	return map[string]string{
		"Repeated5000":          repeatDoc("{ ", "__typename ", 5_000, "}"),
		"Repeated30000":         repeatDoc("{ ", "__typename ", 30_000, "}"),
		"Repeated90000":         repeatDoc("{ ", "__typename ", 90_000, "}"),
		"RepeatedInFragments":   repeatDoc("{ ", "... on Query { "+strings.Repeat("__typename ", 199)+"} ", 70, "}"),
		"DifferingArguments":    repeatDoc("{ ", `... on Query { `+strings.Repeat(`bullPen(id: "1") { id } bullPen(id: "2") { id } `, 90)+`} `, 8, "}"),
		"CommentMegabyte":       "{ __typename }\n#" + strings.Repeat("x", 1<<20-64),
		"CommentLines":          repeatDoc("{ __typename }\n", "#\n", 20_000, ""),
		"Directives":            repeatDoc("{ __typename ", "@a ", 7_000, "}"),
		"UnknownFields":         repeatDoc("{ ", "... on Query { "+strings.Repeat("x ", 199)+"} ", 35, "}"),
		"LongName":              "{ " + strings.Repeat("a", 1<<20-64) + " }",
		"LongNames":             repeatDoc("{ ", strings.Repeat("b", 5_000)+" ", 200, "}"),
		"LongString":            `{ quote(symbol: "` + strings.Repeat("z", 1<<20-64) + `") { price } }`,
		"LongBlockString":       `{ quote(symbol: """` + strings.Repeat("z\n  ", 1<<18-64) + `""") { price } }`,
		"ManyFragments":         "{ " + strings.Repeat("...F0 ", 1) + "}\n" + frags.String(),
		"ManyOperations":        ops.String(),
		"Nested":                nested.String(),
		"DeepList":              `{ quote(symbol: ` + strings.Repeat("[", 5_000) + strings.Repeat("]", 5_000) + `) { price } }`,
		"ManyArguments":         `{ quote(` + strings.Repeat("symbol: \"A\" ", 4_000) + `) { price } }`,
		"ManyVariables":         "query(" + strings.Repeat("$v: Int ", 3_000) + ") { __typename }",
		"Introspection":         `{ __schema { types { name fields { name type { name ofType { name } } } } } }`,
		"AliasBomb":             repeatDoc("{ ", "a: __typename ", 3_000, "}"),
		"InlineFragmentsNested": strings.Repeat("{ ... on Query ", 900) + strings.Repeat("} ", 900),
	}
}

// Every hostile document is refused or answered within a bounded CPU time
// and a bounded validation budget (the CPU bound is generous: a safety
// net, not a performance assertion; BENCHMARKS.md has the figures).
func TestHostileDocumentsAreBounded(t *testing.T) {
	p := newPreparer()
	for name, doc := range hostileDocuments() {
		t.Run(name, func(t *testing.T) {
			checkBounded(t, p, doc)
		})
	}
}

func checkBounded(t *testing.T, p preparer, doc string) {
	t.Helper()
	steps := p.validation.Steps()
	status, resp, cpu := p.post(doc)
	if cpu > raceSlowdown*time.Second {
		t.Errorf("%d bytes took %v of CPU", len(doc), cpu)
	}
	if spent := p.validation.Steps() - steps; spent > ValidationBudget+int64(len(doc)) {
		t.Errorf("validation took %d steps, over its budget of %d", spent, ValidationBudget)
	}
	answered := resp.Data != nil && len(resp.Errors) == 0
	if !answered && len(resp.Errors) == 0 {
		t.Fatalf("status %d, neither data nor errors", status)
	}
	for _, e := range resp.Errors {
		if e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("status %d: %q %v, want BAD_USER_INPUT", status, e.Message, e.Extensions)
		}
	}
	var first any
	if len(resp.Errors) > 0 {
		first = resp.Errors[0].Extensions["reason"]
	}
	t.Logf("%d bytes: status %d, %d errors (first: %v), %v CPU, %d validation steps",
		len(doc), status, len(resp.Errors), first, cpu, p.validation.Steps()-steps)
}

// FuzzOperationLimits posts arbitrary documents under 1 MiB (the body
// limit) through the pipeline every transport uses: each is answered, or
// refused with BAD_USER_INPUT naming what is wrong, within a bounded
// validation budget and, as a safety net, a second of CPU.
func FuzzOperationLimits(f *testing.F) {
	// Small seeds of the hostile shapes: the fuzzer mutates and, above
	// all, minimizes small inputs fast (minimizing one of 10 KB can take
	// its whole minute). The large documents are
	// TestHostileDocumentsAreBounded's.
	var ops strings.Builder
	ops.WriteString("fragment F on Query { " + strings.Repeat("__typename ", 20) + "}\n")
	for i := range 20 {
		fmt.Fprintf(&ops, "query Q%d { ...F }\n", i)
	}
	for _, doc := range []string{
		`{ __typename }`,
		`query Q($id: ID!) { bullPen(id: $id) { id name participants { user { username } } } }`,
		`{ a: me { id } a: me { username } }`,
		`{ ...F } fragment F on Query { me { id } }`,
		`{ ... on Query { me { id } } me { username } }`,
		`mutation { signIn(input: {username: "a", password: "b"}) { token } }`,
		`subscription { quotes { symbol } }`,
		`{ me { ...on User { id } } }`,
		repeatDoc("{ ", "__typename ", 250, "}"),
		repeatDoc("{ ", "... on Query { "+strings.Repeat("__typename ", 30)+"} ", 4, "}"),
		repeatDoc("{ ", `bullPen(id: "1") { id } bullPen(id: "2") { id } `, 20, "}"),
		repeatDoc("{ __typename ", "@a ", 300, "}"),
		repeatDoc("{ __typename }\n", "#\n", 300, ""),
		`{ quote(symbol: ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `) { price } }`,
		strings.Repeat("{ me ", 60) + strings.Repeat("} ", 60),
		strings.Repeat("{ ... on Query ", 60) + strings.Repeat("} ", 60),
		ops.String(),
	} {
		f.Add(doc)
	}
	p := newPreparer()
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) >= 1<<20 {
			return
		}
		checkBounded(t, p, doc)
	})
}
