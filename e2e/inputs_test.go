package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestScalarCoercionNamesTheField: every scalar refuses what the GraphQL
// spec's input coercion (and our Decimal's stricter form) refuses, in a
// literal and in variables alike, with BAD_USER_INPUT and the argument's
// path in extensions.field; nothing is stored.
func TestScalarCoercionNamesTheField(t *testing.T) {
	ts := startServer(t, noOrderLimit...)
	room := ts.activeRoom(t)
	const place = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`
	order := func(extra map[string]any) map[string]any {
		in := map[string]any{"bullPenId": room.id, "symbol": "AAPL", "side": "BUY", "type": "LIMIT", "limitPrice": "5", "quantity": 1}
		for k, v := range extra {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	literal := func(fields string) string {
		return `mutation { placeOrder(input: {bullPenId: "` + room.id + `", symbol: "AAPL", side: BUY, type: LIMIT, ` + fields + `}) { id } }`
	}
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		field       string
	}{
		{"DecimalPlusLiteral", literal(`quantity: 1, limitPrice: "+5"`), nil, "input.limitPrice"},
		{"DecimalSpaceLiteral", literal(`quantity: 1, limitPrice: " 5"`), nil, "input.limitPrice"},
		{"DecimalPlusVariable", place, order(map[string]any{"limitPrice": "+5"}), "input.limitPrice"},
		{"DecimalSpaceVariable", place, order(map[string]any{"limitPrice": " 5"}), "input.limitPrice"},
		{"DecimalTrailingSpaceVariable", place, order(map[string]any{"limitPrice": "5 "}), "input.limitPrice"},
		{"DecimalBareFractionVariable", place, order(map[string]any{"limitPrice": ".5"}), "input.limitPrice"},
		{"IntStringLiteral", literal(`quantity: "5", limitPrice: "5"`), nil, "input.quantity"},
		{"IntStringVariable", place, order(map[string]any{"quantity": "5"}), "input.quantity"},
		{"IntStringTopLevelVariable", `mutation($q: Int!) { placeOrder(input: {bullPenId: "` + room.id + `", symbol: "AAPL", side: BUY, quantity: $q}) { id } }`,
			map[string]any{"q": "5"}, "input.quantity"},
		{"Int2To63Literal", literal(`quantity: 9223372036854775808, limitPrice: "5"`), nil, "input.quantity"},
		{"Int2To63Variable", place, order(map[string]any{"quantity": json.Number("9223372036854775808")}), "input.quantity"},
		{"Int2To63TopLevelVariable", `mutation($q: Int!) { placeOrder(input: {bullPenId: "` + room.id + `", symbol: "AAPL", side: BUY, quantity: $q}) { id } }`,
			map[string]any{"q": json.Number("9223372036854775808")}, "input.quantity"},
		{"Int2To31Literal", literal(`quantity: 2147483648, limitPrice: "5"`), nil, "input.quantity"},
		{"Int2To31Variable", place, order(map[string]any{"quantity": json.Number("2147483648")}), "input.quantity"},
		{"IntFractionVariable", place, order(map[string]any{"quantity": json.Number("1.5")}), "input.quantity"},
		{"IDPlusVariable", place, order(map[string]any{"bullPenId": "+" + room.id}), "input.bullPenId"},
		{"IDSpaceLiteral", `mutation { placeOrder(input: {bullPenId: " ` + room.id + `", symbol: "AAPL", side: BUY, quantity: 1}) { id } }`, nil, "input.bullPenId"},
		{"TimeLiteral", literal(`quantity: 1, limitPrice: "5", expiresAt: "tomorrow"`), nil, "input.expiresAt"},
		{"TimeVariable", place, order(map[string]any{"expiresAt": "tomorrow"}), "input.expiresAt"},
		{"TopLevelArgument", `{ bullPen(id: "+1") { id } }`, nil, "id"},
		{"TopLevelIntLiteral", `{ bullPens(first: "5") { totalCount } }`, nil, "first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(room.alice, tc.query, tc.vars)
			if len(r.Errors) != 1 {
				t.Fatalf("errors %+v, data %s; want one", r.Errors, r.Data)
			}
			e := r.Errors[0]
			if e.Extensions["code"] != game.EINVALID || e.Extensions["field"] != tc.field {
				t.Errorf("code %v, field %v (%q); want BAD_USER_INPUT naming %q", e.Extensions["code"], e.Extensions["field"], e.Message, tc.field)
			}
			if !strings.Contains(e.Message, tc.field) {
				t.Errorf("message %q does not name %s", e.Message, tc.field)
			}
		})
	}
	var orders struct {
		BullPen struct{ Orders struct{ TotalCount int } }
	}
	ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { orders { totalCount } } }`, map[string]any{"id": room.id}, &orders)
	if orders.BullPen.Orders.TotalCount != 0 {
		t.Errorf("%d orders stored", orders.BullPen.Orders.TotalCount)
	}

	// What the strict forms accept still works.
	var ok struct{ PlaceOrder struct{ ID string } }
	ts.must(room.alice, place, order(map[string]any{"quantity": json.Number("2"), "limitPrice": "0.50"}), nil)
	ts.must(room.alice, literal(`quantity: 2, limitPrice: "5.25"`), nil, &ok)
	if ok.PlaceOrder.ID == "" {
		t.Error("a well-formed order was not placed")
	}
}

// TestSubscriptionWithTwoRootFieldsIsRefused: the spec makes a
// subscription that selects two root fields (aliases of one field too) a
// validation error: BAD_USER_INPUT over WebSocket (both protocols), SSE
// and HTTP, and nothing logged at ERROR.
func TestSubscriptionWithTwoRootFieldsIsRefused(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServerLogging(t, dbtest.SQLite(t), logs)
	room := ts.activeRoom(t)
	for _, q := range []string{
		`subscription { a: quotes { symbol } b: quotes { price } }`,
		`subscription($id: ID!) { a: roomStateChanged(bullPenId: $id) { state } b: roomStateChanged(bullPenId: $id) { state } }`,
		`subscription($id: ID!) { quotes { symbol } ...F } fragment F on Subscription { bullPenEvents(bullPenId: $id) { sequence } }`,
	} {
		vars := map[string]any{"id": room.id}
		if !strings.Contains(q, "$id") {
			vars = nil
		}
		t.Run("HTTP", func(t *testing.T) {
			ts.with(t).fails(room.alice, q, vars, game.EINVALID)
		})
		for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
			t.Run(protocol, func(t *testing.T) {
				c, _, err := ts.dialWS(t, protocol, nil)
				if err != nil {
					t.Fatal(err)
				}
				c.init(map[string]any{"authorization": "Bearer " + room.alice})
				typ := "subscribe"
				if protocol == "graphql-ws" {
					typ = "start"
				}
				c.send(map[string]any{"id": "1", "type": typ, "payload": map[string]any{"query": q, "variables": vars}})
				// The legacy protocol sends request errors as "data".
				m := c.next()
				if m.Type != "error" && m.Type != "data" || !strings.Contains(string(m.Payload), `"code":"BAD_USER_INPUT"`) ||
					!strings.Contains(string(m.Payload), "one top level field") || strings.Contains(string(m.Payload), "INTERNAL") {
					t.Fatalf("got %s %s, want an error with BAD_USER_INPUT", m.Type, m.Payload)
				}
				// The connection stays open for the next operation.
				c.send(map[string]any{"id": "2", "type": typ, "payload": map[string]any{"query": `{ __typename }`}})
				m = c.next()
				for m.ID == "1" && m.Type == "complete" { // legacy: the refused one completes
					m = c.next()
				}
				if m.ID != "2" || m.Type != "next" && m.Type != "data" {
					t.Fatalf("got %s %s %s after the refusal, want a result", m.ID, m.Type, m.Payload)
				}
			})
		}
		t.Run("SSE", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			resp, err := ts.postSSE(ctx, room.alice, q, vars)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), `"code":"BAD_USER_INPUT"`) || strings.Contains(string(body), "INTERNAL") {
				t.Errorf("status %d: %s, want BAD_USER_INPUT", resp.StatusCode, body)
			}
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	// A subscription with one root field is still fine.
	ts.must(room.alice, `{ __typename }`, nil, nil)
	ts.stop()
	if errs := logs.lines("level=ERROR"); len(errs) > 0 {
		t.Errorf("logged at ERROR:\n%s", strings.Join(errs, "\n"))
	}
}
