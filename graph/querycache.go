package graph

import (
	"context"
	"crypto/sha256"
	"io"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/ast"
)

// Bounds of the caches of parsed operations and of persisted queries, in
// bytes (estimated: see documentBytes).
const (
	// QueryCacheBytes bounds the parsed and validated documents kept, so
	// that one kept again skips parsing and validation.
	QueryCacheBytes = 32 << 20
	// MaxCachedDocumentBytes is the largest document kept: a few hundred
	// fields. Parsing and validating a larger one again costs little
	// beside the memory keeping it would (a megabyte of comments, say).
	MaxCachedDocumentBytes = 256 << 10
	// APQCacheBytes bounds the automatic persisted queries' texts kept.
	APQCacheBytes = 8 << 20
	// MaxPersistedQueryBytes is the longest text kept as a persisted
	// query; a client whose hash is not found sends the text again, as the
	// protocol has it.
	MaxPersistedQueryBytes = 64 << 10
)

// nodeBytes is what one node of a parsed document (a field, an argument, a
// value, ...) takes in memory with its position and what validation
// records on it: about 200 to 400 bytes measured, rounded up.
const nodeBytes = 512

// boundedCache is a least-recently-used cache bounded by the bytes its
// entries hold, keyed by the SHA-256 of the key (a query text, up to 1 MiB),
// so the key itself is not kept. Entries above maxEntry bytes are not kept
// at all.
type boundedCache[V any] struct {
	size     func(key string, v V) int
	maxBytes int
	maxEntry int

	mu      sync.Mutex
	held    int
	entries *simplelru.LRU[[sha256.Size]byte, sizedEntry[V]]
}

type sizedEntry[V any] struct {
	v     V
	bytes int
}

var _ graphql.Cache[*ast.QueryDocument] = (*boundedCache[*ast.QueryDocument])(nil)

func newBoundedCache[V any](maxBytes, maxEntry int, size func(key string, v V) int) *boundedCache[V] {
	c := &boundedCache[V]{size: size, maxBytes: maxBytes, maxEntry: maxEntry}
	// The count is never what bounds it: every entry holds more than 64
	// bytes.
	c.entries, _ = simplelru.NewLRU(max(1, maxBytes/64), func(_ [sha256.Size]byte, e sizedEntry[V]) {
		c.held -= e.bytes
	})
	return c
}

func keyOf(key string) [sha256.Size]byte {
	h := sha256.New()
	_, _ = io.WriteString(h, key)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Get implements graphql.Cache.
func (c *boundedCache[V]) Get(_ context.Context, key string) (V, bool) {
	var zero V
	if len(key) > c.maxEntry {
		return zero, false // never kept: skip hashing a megabyte
	}
	k := keyOf(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries.Get(k)
	if !ok {
		return zero, false
	}
	return e.v, true
}

// Add implements graphql.Cache.
func (c *boundedCache[V]) Add(_ context.Context, key string, v V) {
	if len(key) > c.maxEntry {
		return
	}
	n := c.size(key, v)
	if n > c.maxEntry {
		return
	}
	k := keyOf(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries.Contains(k) {
		return
	}
	c.entries.Add(k, sizedEntry[V]{v: v, bytes: n})
	c.held += n
	for c.held > c.maxBytes {
		c.entries.RemoveOldest()
	}
}

// has reports whether key is cached, without making it recently used.
func (c *boundedCache[V]) has(key string) bool {
	if len(key) > c.maxEntry {
		return false
	}
	k := keyOf(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Contains(k)
}

// Bytes is what the cache holds, estimated as its entries were added.
func (c *boundedCache[V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// textBytes estimates a persisted query's text in the cache.
func textBytes(_ string, text string) int { return len(text) + 2*sha256.Size }

// documentBytes estimates a parsed document in the cache: its text, which
// the document keeps, and its nodes.
func documentBytes(query string, doc *ast.QueryDocument) int {
	nodes := 0
	var values func(v *ast.Value)
	values = func(v *ast.Value) {
		if v == nil {
			return
		}
		nodes++
		for _, c := range v.Children {
			values(c.Value)
		}
	}
	directives := func(ds ast.DirectiveList) {
		for _, d := range ds {
			nodes++
			for _, a := range d.Arguments {
				nodes++
				values(a.Value)
			}
		}
	}
	var selections func(set ast.SelectionSet)
	selections = func(set ast.SelectionSet) {
		for _, s := range set {
			nodes++
			switch s := s.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					nodes++
					values(a.Value)
				}
				directives(s.Directives)
				selections(s.SelectionSet)
			case *ast.InlineFragment:
				directives(s.Directives)
				selections(s.SelectionSet)
			case *ast.FragmentSpread:
				directives(s.Directives)
			}
		}
	}
	for _, op := range doc.Operations {
		nodes++
		for _, v := range op.VariableDefinitions {
			nodes++
			values(v.DefaultValue)
			directives(v.Directives)
		}
		directives(op.Directives)
		selections(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		nodes++
		directives(f.Directives)
		selections(f.SelectionSet)
	}
	return len(query) + nodes*nodeBytes
}
