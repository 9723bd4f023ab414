package graph

import (
	"fmt"
	"strings"
	"testing"
)

// The cache is bounded by the bytes its entries hold, not by their count;
// it keeps none above its largest entry, and the most recently used.
func TestBoundedCache(t *testing.T) {
	const bound, largest = 10_000, 1_000
	c := newBoundedCache(bound, largest, textBytes)
	ctx := t.Context()
	text := func(i, n int) string { return fmt.Sprintf("%d %s", i, strings.Repeat("x", n)) }
	c.Add(ctx, "too large", text(0, largest))
	if _, ok := c.Get(ctx, "too large"); ok || c.Bytes() != 0 {
		t.Errorf("kept an entry of %d bytes, over the largest of %d", textBytes("", text(0, largest)), largest)
	}
	for i := range 1_000 {
		q := text(i, 500)
		c.Add(ctx, q, q)
		if b := c.Bytes(); b > bound {
			t.Fatalf("after %d entries: %d bytes, over the bound of %d", i+1, b, bound)
		}
	}
	if b := c.Bytes(); b < bound-largest {
		t.Errorf("holds %d bytes, want nearly %d", b, bound)
	}
	if _, ok := c.Get(ctx, text(0, 500)); ok {
		t.Error("kept the oldest entry")
	}
	if v, ok := c.Get(ctx, text(999, 500)); !ok || v != text(999, 500) {
		t.Error("lost the newest entry")
	}
	// Keyed by the text's hash: one text, one entry, however often added.
	held := c.Bytes()
	c.Add(ctx, text(999, 500), text(999, 500))
	if c.Bytes() != held {
		t.Errorf("adding a text again changed the bytes held from %d to %d", held, c.Bytes())
	}
}
