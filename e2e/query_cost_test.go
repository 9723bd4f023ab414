package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/bullpen/bullpen/graph"
)

// repeatedTypename is issue 17's request: one field repeated n times, no aliases.
func repeatedTypename(n int) string { return "{ " + strings.Repeat("__typename ", n) + "}" }

// checkLimitError checks a refusal: BAD_USER_INPUT with the reason, the
// limit and the operation's value in extensions.
func checkLimitError(t *testing.T, how string, errs []gqlError, reason string, limit, value float64) {
	t.Helper()
	if len(errs) != 1 {
		t.Errorf("%s: %d errors %+v, want one", how, len(errs), errs)
		return
	}
	e := errs[0]
	if e.Extensions["code"] != "BAD_USER_INPUT" || e.Extensions["reason"] != reason || e.Extensions["limit"] != limit ||
		(value > 0 && e.Extensions["value"] != value) {
		t.Errorf("%s: got %q %v, want BAD_USER_INPUT %s limit %v value %v", how, e.Message, e.Extensions, reason, limit, value)
	}
}

// One field repeated 5,000, 30,000 or 90,000 times (issue 17: seconds to
// minutes of CPU each, in validation) is refused before validation, over
// every transport and as a persisted query: the check that makes
// validation quadratic takes not one step.
func TestRepeatedFieldsAreRefusedBeforeValidation(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		n             int
		reason        string
		limit, value  float64
		messageSubstr string
	}{
		{5_000, "TOO_MANY_FIELDS", 200, 5_000, "a selection set has 5000 fields, over the limit of 200"},
		{30_000, "TOO_MANY_TOKENS", 15_000, 30_002, "operation has 30002 tokens, over the limit of 15000"},
		{90_000, "TOO_MANY_TOKENS", 15_000, 90_002, "operation has 90002 tokens"},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			steps := ts.query.ValidationSteps()
			status, r := ts.rawPost(t, map[string]string{"Accept": "application/graphql-response+json"}, mustMarshal(map[string]any{"query": repeatedTypename(tc.n)}))
			if status != http.StatusBadRequest || r.Data != nil {
				t.Errorf("POST: status %d, data %s; want 400 and no data", status, r.Data)
			}
			checkLimitError(t, "POST", r.Errors, tc.reason, tc.limit, tc.value)
			if len(r.Errors) == 1 && !strings.Contains(r.Errors[0].Message, tc.messageSubstr) {
				t.Errorf("message %q, want %q in it", r.Errors[0].Message, tc.messageSubstr)
			}
			if got := ts.query.ValidationSteps(); got != steps {
				t.Errorf("validation took %d steps, want none", got-steps)
			}
		})
	}
	q := repeatedTypename(5_000) // 55 KB: fits a WebSocket message and a URL
	t.Run("GET", func(t *testing.T) {
		status, r := ts.rawGet(t, q)
		if status != http.StatusOK {
			t.Errorf("status %d", status)
		}
		checkLimitError(t, "GET", r.Errors, "TOO_MANY_FIELDS", 200, 5_000)
	})
	t.Run("SSE", func(t *testing.T) {
		s := ts.subscribeSSE(t, "", q, nil)
		ev, data := s.next()
		var r gqlResponse
		_ = json.Unmarshal([]byte(data), &r)
		if ev != "next" {
			t.Errorf("event %s %s", ev, data)
		}
		checkLimitError(t, "SSE", r.Errors, "TOO_MANY_FIELDS", 200, 5_000)
	})
	t.Run("WebSocket", func(t *testing.T) {
		// 20,000 comments are 20,000 tokens in 40 KB.
		comments := "{ __typename }\n" + strings.Repeat("#\n", 20_000)
		for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
			c, _, err := ts.dialWS(t, protocol, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.init(map[string]any{})
			start := "subscribe"
			if protocol == "graphql-ws" {
				start = "start"
			}
			steps := ts.query.ValidationSteps()
			for i, tc := range []struct {
				query, reason string
				limit, value  float64
			}{{q, "TOO_MANY_FIELDS", 200, 5_000}, {comments, "TOO_MANY_TOKENS", 15_000, 20_003}} {
				c.send(map[string]any{"id": fmt.Sprint(i), "type": start, "payload": map[string]any{"query": tc.query}})
				m := c.next()
				var errs []gqlError
				if protocol == "graphql-ws" {
					var r gqlResponse
					_ = json.Unmarshal(m.Payload, &r)
					errs = r.Errors
					c.next() // complete
				} else {
					_ = json.Unmarshal(m.Payload, &errs)
				}
				checkLimitError(t, protocol, errs, tc.reason, tc.limit, tc.value)
			}
			if got := ts.query.ValidationSteps(); got != steps {
				t.Errorf("%s: validation took %d steps, want none", protocol, got-steps)
			}
			// The connection stays open and serves the next operation.
			c.send(map[string]any{"id": "9", "type": start, "payload": map[string]any{"query": `{ __typename }`}})
			if m := c.next(); m.Type != "next" && m.Type != "data" {
				t.Errorf("%s: after the refusals got %s %s", protocol, m.Type, m.Payload)
			}
		}
	})
	t.Run("PersistedQuery", func(t *testing.T) {
		sum := sha256.Sum256([]byte(q))
		ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
		steps := ts.query.ValidationSteps()
		// Registered with its text, then sent by its hash alone: the text
		// the persisted-query cache supplies is checked as any other.
		_, r := ts.rawPost(t, nil, mustMarshal(map[string]any{"query": q, "extensions": ext}))
		checkLimitError(t, "with its text", r.Errors, "TOO_MANY_FIELDS", 200, 5_000)
		_, r = ts.rawPost(t, nil, mustMarshal(map[string]any{"extensions": ext}))
		checkLimitError(t, "by its hash", r.Errors, "TOO_MANY_FIELDS", 200, 5_000)
		if got := ts.query.ValidationSteps(); got != steps {
			t.Errorf("validation took %d steps, want none", got-steps)
		}
	})
}

// Within the token and field limits, validation is bounded too: alike
// fields are compared once, and documents whose validation would take
// more than graph.ValidationBudget steps are refused with
// VALIDATION_BUDGET_EXCEEDED, counted in steps, not time.
func TestValidationHasABudget(t *testing.T) {
	ts := startServer(t)
	budget := float64(graph.ValidationBudget)
	t.Run("AlikeFieldsComparedOnce", func(t *testing.T) {
		// 13,930 __typename, 199 to a selection set: 97 million pairs for
		// gqlparser's rule. Validated in one step a field, then refused by
		// the complexity limit, which comes after validation; 3,980 of
		// them are answered.
		alike := func(sets int) string {
			return "{ " + strings.Repeat("... on Query { "+strings.Repeat("__typename ", 199)+"} ", sets) + "}"
		}
		steps := ts.query.ValidationSteps()
		_, r := ts.rawPost(t, nil, mustMarshal(map[string]any{"query": alike(70)}))
		checkLimitError(t, "13,930 fields", r.Errors, "COMPLEXITY_LIMIT_EXCEEDED", 5_000, 13_930)
		ts.must("", alike(20), nil, nil)
		if got := ts.query.ValidationSteps() - steps; got > 4*90*200 {
			t.Errorf("%d steps for 17,910 fields, want about two each (one to collect, one to compare)", got)
		}
	})
	t.Run("SharedResponseNames", func(t *testing.T) {
		// 600 fields named me, with selections: 180,000 pairs to compare.
		q := "{ " + strings.Repeat("... on Query { "+strings.Repeat("me { id } ", 150)+"} ", 4) + "}"
		steps := ts.query.ValidationSteps()
		status, r := ts.rawPost(t, map[string]string{"Accept": "application/graphql-response+json"}, mustMarshal(map[string]any{"query": q}))
		if status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", status)
		}
		checkLimitError(t, "POST", r.Errors, "VALIDATION_BUDGET_EXCEEDED", budget, 0)
		if len(r.Errors) == 1 {
			if v, _ := r.Errors[0].Extensions["value"].(float64); v <= budget {
				t.Errorf("value %v, want more than the budget", v)
			}
			if !strings.Contains(r.Errors[0].Message, "more than 100000 comparisons of fields that share a response name") {
				t.Errorf("message %q", r.Errors[0].Message)
			}
		}
		if got := ts.query.ValidationSteps() - steps; got <= graph.ValidationBudget || got > graph.ValidationBudget+int64(len(q)) {
			t.Errorf("validation took %d steps for a budget of %d", got, graph.ValidationBudget)
		}
	})
	t.Run("OperationsSharingAFragment", func(t *testing.T) {
		// The validator reads the fragment once for each operation: 200
		// operations × 1,000 fields, in 13 KB.
		var q strings.Builder
		q.WriteString("fragment F on Query { " + strings.Repeat("... on Query { "+strings.Repeat("__typename ", 100)+"} ", 10) + "}\n")
		for i := range 200 {
			fmt.Fprintf(&q, "query Q%d { ...F }\n", i)
		}
		steps := ts.query.ValidationSteps()
		_, r := ts.rawPost(t, nil, mustMarshal(map[string]any{"query": q.String(), "operationName": "Q0"}))
		checkLimitError(t, "POST", r.Errors, "VALIDATION_BUDGET_EXCEEDED", budget, 0)
		if got := ts.query.ValidationSteps(); got != steps {
			t.Errorf("validation took %d steps, want none: refused before", got-steps)
		}
		// A few operations sharing it are fine.
		few := strings.Join(strings.SplitAfter(q.String(), "\n")[:6], "")
		if _, r := ts.rawPost(t, nil, mustMarshal(map[string]any{"query": few, "operationName": "Q4"})); string(r.Data) != `{"__typename":"Query"}` {
			t.Errorf("five operations: %s %+v", r.Data, r.Errors)
		}
	})
}

// The caches of parsed documents and of persisted queries are bounded in
// bytes and keep no document above a size worth caching: issue 17 made
// the heap hold 1.6 GB with a thousand megabyte comments.
func TestQueryCachesAreBoundedInBytes(t *testing.T) {
	ts := startServer(t)
	apq := func(q string) map[string]any {
		sum := sha256.Sum256([]byte(q))
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	}
	post := func(body map[string]any) {
		t.Helper()
		if _, r := ts.rawPost(t, nil, mustMarshal(body)); len(r.Errors) > 0 || string(r.Data) != `{"__typename":"Query"}` {
			t.Fatalf("got %s %+v", r.Data, r.Errors)
		}
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	// Six distinct documents and three persisted queries of 1000 KB each.
	for i := range 6 {
		post(map[string]any{"query": fmt.Sprintf("{ __typename }\n# %d %s", i, strings.Repeat("x", 1000<<10))})
	}
	for i := range 3 {
		q := fmt.Sprintf("{ __typename }\n# persisted %d %s", i, strings.Repeat("x", 1000<<10))
		post(map[string]any{"query": q, "extensions": apq(q)})
	}
	if grown := int64(heap()) - int64(before); grown > 3<<20 {
		t.Errorf("the heap grew by %.1f MB after 9 MB of documents too large to cache", float64(grown)/(1<<20))
	} else {
		t.Logf("the heap grew by %.1f MB", float64(grown)/(1<<20))
	}
	if b := ts.query.QueryCacheBytes(); b > 0 {
		t.Errorf("the query cache holds %d bytes, want none of those documents", b)
	}
	if b := ts.query.APQCacheBytes(); b > 0 {
		t.Errorf("the persisted-query cache holds %d bytes, want none of those texts", b)
	}

	// Many distinct documents small enough to cache, of 380 fields each
	// (about 200 KB parsed, 4 KB of text): the cache fills up to its bound
	// and no further.
	fields := "{ " + strings.Repeat("... on Query { "+strings.Repeat("__typename ", 190)+"} ", 2) + "}"
	for i := range 200 {
		post(map[string]any{"query": fmt.Sprintf("%s\n# %d", fields, i)})
	}
	if b := ts.query.QueryCacheBytes(); b > graph.QueryCacheBytes || b < graph.QueryCacheBytes-graph.MaxCachedDocumentBytes {
		t.Errorf("the query cache holds %d bytes, want up to %d and nearly that", b, graph.QueryCacheBytes)
	}
	// Persisted queries small enough to keep are kept (TestBoundedCache
	// fills a cache to its bound).
	q := "{ __typename }\n# persisted small"
	post(map[string]any{"query": q, "extensions": apq(q)})
	post(map[string]any{"extensions": apq(q)}) // by its hash alone
	if b := ts.query.APQCacheBytes(); b == 0 {
		t.Error("the persisted-query cache holds nothing")
	}
}
