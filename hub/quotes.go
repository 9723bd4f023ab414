package hub

import (
	"slices"
	"sync"

	"github.com/bullpen/bullpen/game"
)

// Quotes fans new prices out to subscribers, each with a bounded queue: a
// subscriber that cannot keep up is dropped rather than waited for.
type Quotes struct {
	queueSize int
	mu        sync.Mutex
	subs      map[*quoteSub]struct{}
}

type quoteSub struct {
	symbols []string // nil: every symbol
	queue   chan game.Quote
	dropped chan struct{}
	once    sync.Once
}

// NewQuotes returns a quote broadcaster.
func NewQuotes(queueSize int) *Quotes {
	return &Quotes{queueSize: queueSize, subs: map[*quoteSub]struct{}{}}
}

// Publish offers q to every subscriber that asked for its symbol. It never
// blocks.
func (qs *Quotes) Publish(q game.Quote) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for s := range qs.subs {
		if s.symbols != nil && !slices.Contains(s.symbols, q.Symbol) {
			continue
		}
		select {
		case s.queue <- q:
		default:
			delete(qs.subs, s)
			s.once.Do(func() { close(s.dropped) })
		}
	}
}

// Subscribe registers for quotes of symbols (all when nil). Prices arrive
// on the queue; dropped closes when the subscriber fell behind and was
// removed. Call unsubscribe when done.
func (qs *Quotes) Subscribe(symbols []string) (queue <-chan game.Quote, dropped <-chan struct{}, unsubscribe func()) {
	s := &quoteSub{symbols: symbols, queue: make(chan game.Quote, qs.queueSize), dropped: make(chan struct{})}
	qs.mu.Lock()
	qs.subs[s] = struct{}{}
	qs.mu.Unlock()
	return s.queue, s.dropped, func() {
		qs.mu.Lock()
		delete(qs.subs, s)
		qs.mu.Unlock()
	}
}
