package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bullpen/bullpen/graph"
)

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
