package game_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestTradeJournal: an order's note is checked (at most 500 characters,
// line breaks but no other control or bidi characters), trimmed, stored
// and read back with its order and in its order's events; a room with
// requireNote refuses an order without one (or with only spaces) as
// BAD_USER_INPUT naming note, and stores nothing: no order, no event, no
// cash held. The rule is stored, read back and cloned. Both engines.
func TestTradeJournal(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			h.price("AAPL", "100")
			limit := func(note *string) game.PlaceOrderInput {
				return game.PlaceOrderInput{Symbol: "AAPL", Side: game.SideBuy, Type: ptr(game.OrderTypeLimit),
					Quantity: 1, LimitPrice: decp("90"), Note: note}
			}

			free := h.activeRoom(owner, nil, alice)
			if free.RequireNote {
				t.Fatal("requireNote is on in a room that left it out")
			}
			for name, note := range map[string]string{
				"TooLong":    strings.Repeat("é", game.MaxNoteLength+1),
				"Escape":     "buy \x1b[31mnow",
				"NUL":        "buy\x00",
				"Bidi":       "cup\u202Egpj.exe",
				"TooLongPad": strings.Repeat("x", game.MaxNoteLength) + "y  ",
			} {
				in := limit(&note)
				in.BullPenID = free.ID
				_, err := h.svc.PlaceOrder(h.ctx, alice, in)
				if game.ErrorCode(err) != game.EINVALID || errField(err) != "note" {
					t.Errorf("%s: %v (field %q), want BAD_USER_INPUT naming note", name, err, errField(err))
				}
			}
			if seq := h.lastSeq(free.ID); len(h.kinds(free.ID, 0)) != int(seq) || strings.Contains(strings.Join(h.kinds(free.ID, 0), " "), "ORDER") {
				t.Fatalf("refused notes left events: %v", h.kinds(free.ID, 0))
			}

			// 500 characters (of two bytes each) is the most; a line break is
			// kept, spaces around are trimmed; only spaces is no note.
			long := strings.Repeat("é", game.MaxNoteLength)
			for _, c := range []struct{ in, want string }{
				{long, long},
				{"  breakout above 100,\nstop at 95 \r\n", "breakout above 100,\nstop at 95"},
				{" \n\r ", ""},
			} {
				in := limit(ptr(c.in))
				in.BullPenID = free.ID
				placed := h.order(alice, in)
				stored, err := h.store.Order(h.ctx, placed.ID)
				if err != nil {
					t.Fatal(err)
				}
				for what, o := range map[string]*game.Order{"answered": placed, "stored": stored} {
					if got := deref(o.Note); got != c.want || (c.want == "") != (o.Note == nil) {
						t.Errorf("%s note of %q = %v, want %q (nil when empty)", what, c.in, o.Note, c.want)
					}
				}
				ev := h.events(free.ID)
				var p game.OrderPayload
				mustUnmarshal(t, ev[len(ev)-1].Payload, &p)
				if p.Order.ID != placed.ID || deref(p.Order.Note) != c.want {
					t.Errorf("the order's event carries order %d note %v, want %d %q", p.Order.ID, p.Order.Note, placed.ID, c.want)
				}
			}

			journal := h.activeRoom(owner, func(in *game.CreateBullPenInput) { in.RequireNote = ptr(true) }, alice)
			if stored, err := h.store.BullPen(h.ctx, journal.ID); err != nil || !stored.RequireNote || !journal.RequireNote {
				t.Fatalf("requireNote read back %v, %v", stored, err)
			}
			p := h.participant(journal.ID, alice)
			before, kinds := h.lastSeq(journal.ID), h.kinds(journal.ID, 0)
			for name, note := range map[string]*string{"None": nil, "Spaces": ptr("   \n ")} {
				in := limit(note)
				in.BullPenID = journal.ID
				in.ClientOrderID = ptr("refused-" + name)
				_, err := h.svc.PlaceOrder(h.ctx, alice, in)
				if game.ErrorCode(err) != game.EINVALID || errField(err) != "note" || !strings.Contains(game.ErrorMessage(err), "required") {
					t.Errorf("%s in a room that requires notes: %v, want BAD_USER_INPUT naming note", name, err)
				}
				if _, err := h.store.OrderByClientID(h.ctx, p.ID, *in.ClientOrderID); game.ErrorCode(err) != game.ENOTFOUND {
					t.Errorf("%s: the refused order was stored (%v)", name, err)
				}
			}
			orders, total, err := h.store.Orders(h.ctx, game.OrderFilter{BullPenID: journal.ID, Limit: 10})
			if err != nil || total != 0 || len(orders) != 0 {
				t.Errorf("orders stored after refusals: %d, %v", total, err)
			}
			if h.lastSeq(journal.ID) != before || strings.Join(h.kinds(journal.ID, 0), " ") != strings.Join(kinds, " ") {
				t.Errorf("refusals wrote events: %v, before %v", h.kinds(journal.ID, 0), kinds)
			}
			assertDec(t, "cash after refusals", h.participant(journal.ID, alice).Cash, "100000")
			in := limit(ptr("mean reversion"))
			in.BullPenID = journal.ID
			if o := h.order(alice, in); o.Status != game.OrderStatusOpen || deref(o.Note) != "mean reversion" {
				t.Errorf("a noted order in the journal room: %s, note %v", o.Status, o.Note)
			}

			clone, err := h.svc.CloneBullPen(h.ctx, owner, journal.ID, nil, journal.EndsAt.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if stored, err := h.store.BullPen(h.ctx, clone.ID); err != nil || !stored.RequireNote {
				t.Errorf("the clone's requireNote: %v, %v", stored, err)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// errField is the input field a BAD_USER_INPUT error names.
func errField(err error) string {
	var e *game.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
