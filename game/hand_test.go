package game_test

import (
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestOrganisersHand: the owner's removeParticipant, adjustCash and
// announce, on both engines. Each is refused to anyone but the owner and
// for bad input, leaving nothing; each commits its consequences with an
// ANNOUNCEMENT event: a removal cancels the player's working orders (holds
// released in the ledger), ends the seat and bars new orders, and keeps
// the player on the leaderboard; an adjustment books an ADJUSTMENT line
// with its reason and changes cash, may not take more than the buying
// power, and is announced only to whoever sees that player's orders.
func TestOrganisersHand(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice, bob := h.user("owner"), h.user("alice"), h.user("bob")
			h.price("AAPL", "100")
			room := h.activeRoom(owner, nil, alice, bob)
			pa, pb := h.participant(room.ID, alice), h.participant(room.ID, bob)
			buy := func(u *game.User, qty int64, limit string) *game.Order {
				in := game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Quantity: qty, Type: ptr(game.OrderTypeMarket)}
				if limit != "" {
					in.Type, in.LimitPrice = ptr(game.OrderTypeLimit), decp(limit)
				}
				return h.order(u, in)
			}
			buy(alice, 10, "")
			resting := buy(alice, 5, "90")
			sell := h.order(alice, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideSell, Quantity: 5,
				Type: ptr(game.OrderTypeLimit), LimitPrice: decp("200")})
			if !resting.Working() || !sell.Working() {
				t.Fatalf("alice's resting orders: %s, %s", resting.Status, sell.Status)
			}
			ledgerLen := func(p *game.Participant) int {
				_, n, err := h.store.Ledger(h.ctx, p.ID, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}

			// Refusals leave nothing.
			before, aliceLines := h.lastSeq(room.ID), ledgerLen(pa)
			_, err := h.svc.RemoveParticipant(h.ctx, nil, pa.ID, "x")
			assertCode(t, err, game.EUNAUTHENTICATED)
			_, err = h.svc.RemoveParticipant(h.ctx, bob, pa.ID, "x")
			assertCode(t, err, game.EFORBIDDEN)
			_, err = h.svc.RemoveParticipant(h.ctx, owner, 987654, "x")
			assertCode(t, err, game.ENOTFOUND)
			for _, reason := range []string{"", "   ", "two\naccounts", "cup\u202Egpj", strings.Repeat("r", game.MaxReasonLength+1)} {
				_, err = h.svc.RemoveParticipant(h.ctx, owner, pa.ID, reason)
				if game.ErrorCode(err) != game.EINVALID || errField(err) != "reason" {
					t.Errorf("reason %q: %v, want BAD_USER_INPUT naming reason", reason, err)
				}
			}
			_, err = h.svc.AdjustCash(h.ctx, bob, pb.ID, dec("5"), "x")
			assertCode(t, err, game.EFORBIDDEN)
			for _, amount := range []string{"0", "1.001", "-1000000000000.01"} {
				_, err = h.svc.AdjustCash(h.ctx, owner, pb.ID, dec(amount), "x")
				if game.ErrorCode(err) != game.EINVALID || errField(err) != "amount" {
					t.Errorf("amount %s: %v, want BAD_USER_INPUT naming amount", amount, err)
				}
			}
			_, err = h.svc.AdjustCash(h.ctx, owner, pb.ID, dec("5"), "")
			if errField(err) != "reason" {
				t.Errorf("no reason: %v", err)
			}
			_, err = h.svc.Announce(h.ctx, bob, room.ID, "hi")
			assertCode(t, err, game.EFORBIDDEN)
			_, err = h.svc.Announce(h.ctx, owner, room.ID, " \n ")
			if errField(err) != "message" {
				t.Errorf("an empty announcement: %v", err)
			}
			if h.lastSeq(room.ID) != before || ledgerLen(pa) != aliceLines {
				t.Fatalf("refusals wrote: log %v", h.kinds(room.ID, before))
			}

			// removeParticipant: orders cancelled with their events, holds
			// released, the seat ended, one public announcement.
			got, err := h.svc.RemoveParticipant(h.ctx, owner, pa.ID, "  two accounts, one person ")
			if err != nil {
				t.Fatal(err)
			}
			if got.RemovedAt == nil || !got.RemovedAt.Equal(h.clock.Now()) || deref(got.RemovedReason) != "two accounts, one person" {
				t.Errorf("removed seat %+v", got)
			}
			if stored := h.participant(room.ID, alice); stored.RemovedAt == nil || deref(stored.RemovedReason) != "two accounts, one person" {
				t.Errorf("stored seat %+v", stored)
			}
			if k := strings.Join(h.kinds(room.ID, before), " "); k != "ORDER:CANCELLED ORDER:CANCELLED ANNOUNCEMENT" {
				t.Errorf("removal's events: %s", k)
			}
			evs := h.events(room.ID)
			var said game.AnnouncementPayload
			mustUnmarshal(t, evs[len(evs)-1].Payload, &said)
			if evs[len(evs)-1].ParticipantID != nil || said.Message != "alice was removed from the room by its organiser: two accounts, one person" {
				t.Errorf("the removal's announcement: %q, about %v", said.Message, evs[len(evs)-1].ParticipantID)
			}
			for _, id := range []int64{resting.ID, sell.ID} {
				o, err := h.store.Order(h.ctx, id)
				if err != nil || o.Status != game.OrderStatusCancelled || !o.Reserved.IsZero() {
					t.Errorf("order %d after the removal: %+v, %v", id, o, err)
				}
			}
			entries, _, err := h.store.Ledger(h.ctx, pa.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			last := entries[len(entries)-1]
			assertDec(t, "alice's buying power after the removal", last.BuyingPowerAfter, "99000")
			_, err = h.svc.PlaceOrder(h.ctx, alice, game.PlaceOrderInput{BullPenID: room.ID, Symbol: "AAPL", Side: game.SideBuy, Quantity: 1, Type: ptr(game.OrderTypeMarket)})
			if game.ErrorCode(err) != game.EFORBIDDEN || !strings.Contains(game.ErrorMessage(err), "removed") {
				t.Errorf("a removed player's order: %v, want FORBIDDEN saying removed", err)
			}
			_, err = h.svc.RemoveParticipant(h.ctx, owner, pa.ID, "again")
			assertCode(t, err, game.ECONFLICT)
			_, err = h.svc.AdjustCash(h.ctx, owner, pa.ID, dec("1"), "late prize")
			assertCode(t, err, game.ECONFLICT)

			// adjustCash: bob holds 900 back for a resting buy; his buying
			// power is 99100, the most that may be taken.
			buy(bob, 10, "90")
			before = h.lastSeq(room.ID)
			_, err = h.svc.AdjustCash(h.ctx, owner, pb.ID, dec("-99100.01"), "fine")
			if game.ErrorCode(err) != game.EINVALID || errField(err) != "amount" {
				t.Errorf("taking more than the buying power: %v, want BAD_USER_INPUT naming amount", err)
			}
			assertDec(t, "bob's cash after a refused adjustment", h.participant(room.ID, bob).Cash, "100000")
			e, err := h.svc.AdjustCash(h.ctx, owner, pb.ID, dec("500.25"), "best journal")
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != game.LedgerAdjustment || !e.Amount.Equal(dec("500.25")) || !e.CashAfter.Equal(dec("100500.25")) ||
				!e.BuyingPowerAfter.Equal(dec("99600.25")) || deref(e.Reason) != "best journal" || e.OrderID != nil {
				t.Errorf("adjustment %+v", e)
			}
			e, err = h.svc.AdjustCash(h.ctx, owner, pb.ID, dec("-99600.25"), "penalty")
			if err != nil {
				t.Fatalf("taking exactly the buying power: %v", err)
			}
			assertDec(t, "bob's cash", h.participant(room.ID, bob).Cash, "900")
			assertDec(t, "bob's buying power after", e.BuyingPowerAfter, "0")
			lines, _, err := h.store.Ledger(h.ctx, pb.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			cash := dec("0")
			for _, l := range lines {
				if l.Kind.MovesCash() {
					cash = cash.Add(l.Amount)
				}
				if l.Kind == game.LedgerAdjustment {
					reasons = append(reasons, l.Amount.String()+" "+deref(l.Reason))
				} else if l.Reason != nil {
					t.Errorf("a %s line with a reason %q", l.Kind, *l.Reason)
				}
			}
			if strings.Join(reasons, ", ") != "500.25 best journal, -99600.25 penalty" || !cash.Equal(dec("900")) {
				t.Errorf("bob's adjustments %q, cash by the ledger %s", reasons, cash)
			}
			if k := strings.Join(h.kinds(room.ID, before), " "); k != "ANNOUNCEMENT ANNOUNCEMENT" {
				t.Errorf("adjustments' events: %s", k)
			}
			evs = h.events(room.ID)
			mustUnmarshal(t, evs[len(evs)-1].Payload, &said)
			if p := evs[len(evs)-1].ParticipantID; p == nil || *p != pb.ID || said.Message != "The organiser adjusted bob's cash by -99600.25 (cash now 900.00): penalty" {
				t.Errorf("the adjustment's announcement %q, about %v", said.Message, p)
			}

			// announce: public, line breaks kept.
			ev, err := h.svc.Announce(h.ctx, owner, room.ID, " Half time!\nKeep going. ")
			if err != nil {
				t.Fatal(err)
			}
			mustUnmarshal(t, ev.Payload, &said)
			if ev.Kind != game.EventAnnouncement || ev.ParticipantID != nil || said.Message != "Half time!\nKeep going." || ev.Sequence != h.lastSeq(room.ID) {
				t.Errorf("announcement %+v %q", ev, said.Message)
			}

			// The removed player stays in the results.
			if _, err := h.svc.Move(h.ctx, owner, room.ID, game.RoomEnded); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.RefreshLeaderboards(h.ctx, true); err != nil {
				t.Fatal(err)
			}
			snap, err := h.store.LatestSnapshot(h.ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			var players []int64
			for _, e := range snap.Entries {
				players = append(players, e.ParticipantID)
			}
			if len(players) != 2 || !snap.Final {
				t.Errorf("final board of %v (final %v), want alice (removed) and bob", players, snap.Final)
			}
			_, err = h.svc.Announce(h.ctx, owner, room.ID, "too late")
			assertCode(t, err, game.ECONFLICT)
			_, err = h.svc.AdjustCash(h.ctx, owner, pb.ID, dec("1"), "too late")
			assertCode(t, err, game.ECONFLICT)
		})
	}
}
