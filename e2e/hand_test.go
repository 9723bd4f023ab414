package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestOrganisersHandOverGraphQL: removeParticipant, adjustCash and
// announce through a real server, on both engines. The removed player's
// resting order is cancelled, their seat reads removedAt and
// removedReason (to a spectator too), their orders are FORBIDDEN, and
// results.csv keeps them, marked in its removed column; the adjustment is
// an ADJUSTMENT ledger line with its reason and moves cash; in the log, the
// removal's and announce's AnnouncementEvents reach a spectator, the
// adjustment's only the player and the owner.
func TestOrganisersHandOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { playOrganisersHand(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...)) })
	}
}

func playOrganisersHand(t *testing.T, ts *testServer) {
	ts = ts.with(t)
	admin, owner, alice, bob := ts.signUpAdmin("admin"), ts.signUp("owner"), ts.signUp("alice"), ts.signUp("bob")
	ts.must(admin, `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	var created struct{ CreateBullPen struct{ ID string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Hand", endsAt: $e}) { id } }`, map[string]any{"e": fmtTime(t0.Add(time.Hour))}, &created)
	room := created.CreateBullPen.ID
	seat := map[string]string{}
	for who, token := range map[string]string{"alice": alice, "bob": bob} {
		var j struct{ JoinBullPen struct{ ID string } }
		ts.must(token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, &j)
		seat[who] = j.JoinBullPen.ID
	}
	order := func(token string, in map[string]any) gqlResponse {
		in["bullPenId"], in["symbol"], in["side"] = room, "AAPL", "BUY"
		return ts.do(token, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`, map[string]any{"in": in})
	}
	order(alice, map[string]any{"quantity": 10})
	var resting struct{ PlaceOrder struct{ ID, Status string } }
	ts.must(alice, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`,
		map[string]any{"in": map[string]any{"bullPenId": room, "symbol": "AAPL", "side": "BUY", "quantity": 5, "type": "LIMIT", "limitPrice": "90"}}, &resting)

	const remove = `mutation($p: ID!, $r: String!) { removeParticipant(participantId: $p, reason: $r) { id removedAt removedReason } }`
	if e := ts.fails(bob, remove, map[string]any{"p": seat["alice"], "r": "x"}, game.EFORBIDDEN); e.Message == "" {
		t.Error("no message")
	}
	if e := ts.fails(owner, remove, map[string]any{"p": seat["alice"], "r": " "}, game.EINVALID); e.Extensions["field"] != "reason" {
		t.Errorf("an empty reason: %q (field %v)", e.Message, e.Extensions["field"])
	}
	var removed struct {
		RemoveParticipant struct {
			ID            string
			RemovedAt     *string
			RemovedReason *string
		}
	}
	ts.must(owner, remove, map[string]any{"p": seat["alice"], "r": "two accounts"}, &removed)
	if r := removed.RemoveParticipant; r.RemovedAt == nil || r.RemovedReason == nil || *r.RemovedReason != "two accounts" {
		t.Fatalf("removed %+v", r)
	}
	var seen struct {
		BullPen struct {
			Participants []struct {
				ID                       string
				RemovedAt, RemovedReason *string
			}
		}
	}
	ts.must("", `query($id: ID!) { bullPen(id: $id) { participants { id removedAt removedReason } } }`, map[string]any{"id": room}, &seen)
	for _, p := range seen.BullPen.Participants {
		if (p.ID == seat["alice"]) != (p.RemovedAt != nil && *p.RemovedAt == *removed.RemoveParticipant.RemovedAt && p.RemovedReason != nil) {
			t.Errorf("a spectator reads participant %s: removed %v %v", p.ID, p.RemovedAt, p.RemovedReason)
		}
	}
	var o struct {
		BullPen struct {
			Orders struct {
				Edges []struct{ Node struct{ ID, Status string } }
			}
		}
	}
	ts.must(alice, `query($id: ID!) { bullPen(id: $id) { orders(status: CANCELLED) { edges { node { id status } } } } }`, map[string]any{"id": room}, &o)
	if e := o.BullPen.Orders.Edges; len(e) != 1 || e[0].Node.ID != resting.PlaceOrder.ID {
		t.Errorf("alice's cancelled orders %+v, want her resting buy %s", e, resting.PlaceOrder.ID)
	}
	if r := order(alice, map[string]any{"quantity": 1}); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != game.EFORBIDDEN || !strings.Contains(r.Errors[0].Message, "removed") {
		t.Errorf("a removed player's order: %+v", r.Errors)
	}

	const adjust = `mutation($p: ID!, $a: Decimal!, $r: String!) { adjustCash(participantId: $p, amount: $a, reason: $r) { kind amount cashAfter reason order { id } } }`
	if e := ts.fails(owner, adjust, map[string]any{"p": seat["bob"], "a": "-100000.01", "r": "fine"}, game.EINVALID); e.Extensions["field"] != "amount" {
		t.Errorf("taking more than bob has: %q (field %v)", e.Message, e.Extensions["field"])
	}
	ts.fails(alice, adjust, map[string]any{"p": seat["bob"], "a": "5", "r": "x"}, game.EFORBIDDEN)
	var adj struct {
		AdjustCash struct {
			Kind, Amount, CashAfter string
			Reason                  *string
			Order                   *struct{ ID string }
		}
	}
	ts.must(owner, adjust, map[string]any{"p": seat["bob"], "a": "250.50", "r": "best journal"}, &adj)
	if a := adj.AdjustCash; a.Kind != "ADJUSTMENT" || !decimalIs(&a.Amount, "250.5") || !decimalIs(&a.CashAfter, "100250.5") || a.Reason == nil || *a.Reason != "best journal" || a.Order != nil {
		t.Errorf("adjustment %+v", a)
	}
	var bobs struct {
		BullPen struct {
			Me struct {
				Cash   string
				Ledger struct {
					Edges []struct {
						Node struct {
							Kind, Amount string
							Reason       *string
						}
					}
				}
			}
		}
	}
	ts.must(bob, `query($id: ID!) { bullPen(id: $id) { me { cash ledger { edges { node { kind amount reason } } } } } }`, map[string]any{"id": room}, &bobs)
	lines := bobs.BullPen.Me.Ledger.Edges
	if l := lines[len(lines)-1].Node; !decimalIs(&bobs.BullPen.Me.Cash, "100250.5") || l.Kind != "ADJUSTMENT" || l.Reason == nil || *l.Reason != "best journal" {
		t.Errorf("bob reads cash %s, last line %+v", bobs.BullPen.Me.Cash, l)
	}

	var said struct {
		Announce struct {
			Sequence int
			Message  string
		}
	}
	ts.must(owner, `mutation($id: ID!, $m: String!) { announce(bullPenId: $id, message: $m) { sequence message } }`,
		map[string]any{"id": room, "m": "Half time:\nkeep your journals up"}, &said)
	if said.Announce.Message != "Half time:\nkeep your journals up" || said.Announce.Sequence == 0 {
		t.Errorf("announced %+v", said.Announce)
	}

	// The log: who reads which announcement.
	announcements := func(token string) []string {
		var log struct{ Ev []struct{ Message string } }
		ts.must(token, `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, kinds: [ANNOUNCEMENT]) { ... on AnnouncementEvent { message } } }`, map[string]any{"id": room}, &log)
		var out []string
		for _, e := range log.Ev {
			out = append(out, e.Message)
		}
		return out
	}
	public := []string{"alice was removed from the room by its organiser: two accounts", "Half time:\nkeep your journals up"}
	private := "The organiser adjusted bob's cash by +250.50 (cash now 100250.50): best journal"
	for who, want := range map[string][]string{
		"anonymous": public, "alice": public,
		"bob":   {public[0], private, public[1]},
		"owner": {public[0], private, public[1]},
	} {
		token := map[string]string{"anonymous": "", "alice": alice, "bob": bob, "owner": owner}[who]
		if got := announcements(token); !slices.Equal(got, want) {
			t.Errorf("%s reads the announcements %q, want %q", who, got, want)
		}
	}

	ts.must(owner, `mutation($id: ID!) { endBullPen(id: $id) { state } }`, map[string]any{"id": room}, nil)
	if err := ts.svc.RefreshLeaderboards(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	rows := ts.getCSV(t, owner, "/rooms/"+room+"/results.csv").records(t, "bullpen-"+room+"-results.csv", resultsHeader)
	marks := map[string]string{}
	for _, r := range rows {
		marks[r[1]] = r[slices.Index(resultsHeader, "removed")]
	}
	if len(rows) != 2 || marks["alice"] != *removed.RemoveParticipant.RemovedAt || marks["bob"] != "" {
		t.Errorf("results.csv removed column %q, want alice's removedAt %s and bob's empty", marks, *removed.RemoveParticipant.RemovedAt)
	}
}
