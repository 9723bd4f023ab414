package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

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
