package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
	"github.com/bullpen/bullpen/graph/realtime"
	"github.com/bullpen/bullpen/hub"
)

// roomStream subscribes the caller to a room's events of the given kinds
// (all when none) that they may see, converted to GraphQL events; the
// room's View decides who may subscribe and what they receive.
func (r *Resolver) roomStream(ctx context.Context, roomID int64, after *int, kinds ...game.EventKind) (<-chan model.BullPenEvent, error) {
	v, err := r.view(ctx, roomID)
	if err != nil {
		return nil, err
	}
	var from *int64
	if after != nil {
		n := int64(*after)
		from = &n
	}
	if err := v.CheckSubscription(from, kinds...); err != nil {
		return nil, err
	}
	items, err := r.Hub.Subscribe(ctx, v.Room.ID, from, func(ev *game.Event) bool {
		return (len(kinds) == 0 || slices.Contains(kinds, ev.Kind)) && v.Sees(ev)
	})
	if errors.Is(err, hub.ErrClosed) {
		return nil, game.Errorf(game.EINTERNAL, "the server is shutting down: subscribe again (with afterSequence) in a moment")
	} else if err != nil {
		return nil, err
	}
	out := make(chan model.BullPenEvent)
	go func() {
		defer close(out)
		for it := range items {
			if it.Err != nil {
				realtime.ReportError(ctx, streamError(it.Err))
				return
			}
			m, err := r.cachedModelEvent(ctx, it.Event)
			if err != nil {
				realtime.ReportError(ctx, err)
				return
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// streamError tells a dropped subscriber how to resume.
func streamError(err error) error {
	var d *hub.DroppedError
	if errors.As(err, &d) {
		return &game.Error{Code: game.ERATELIMITED, Message: d.Error(),
			Extra: map[string]any{"reason": "SLOW_CONSUMER", "afterSequence": d.Delivered}}
	}
	return err
}

// typed narrows a stream of events to one concrete type.
func typed[T any](ctx context.Context, in <-chan model.BullPenEvent) <-chan T {
	out := make(chan T)
	go func() {
		defer close(out)
		for ev := range in {
			t, ok := ev.(T)
			if !ok {
				continue
			}
			select {
			case out <- t:
			case <-ctx.Done():
				// Drain so the producer can finish.
				for range in {
				}
				return
			}
		}
	}()
	return out
}

// quoteStream streams prices of symbols (all when empty).
func (r *Resolver) quoteStream(ctx context.Context, symbols []string) (<-chan *game.Quote, error) {
	var want []string
	if len(symbols) > 0 {
		want = []string{}
		for _, s := range symbols {
			s = normalizeSymbol(s)
			if _, ok := r.Svc.InstrumentName(s); !ok {
				return nil, game.Invalid("symbols", "%q is not a known instrument", s)
			}
			want = append(want, s)
		}
	}
	queue, dropped, unsubscribe := r.Quotes.Subscribe(want)
	out := make(chan *game.Quote)
	go func() {
		defer close(out)
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-dropped:
				realtime.ReportError(ctx, &game.Error{Code: game.ERATELIMITED, Message: "subscriber too slow: quotes were dropped; subscribe again",
					Extra: map[string]any{"reason": "SLOW_CONSUMER"}})
				return
			case q := <-queue:
				select {
				case out <- &q:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
