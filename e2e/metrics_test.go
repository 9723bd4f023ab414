package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// metric reads one unlabelled value from the server's /metrics.
func (ts *testServer) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	return string(m[1])
}

// TestMetricsCountSharedRoomSubscriptions: a member's and a spectator's
// identical subscriptions show as one group of two members, and an event
// they both may see as one execution.
func TestMetricsCountSharedRoomSubscriptions(t *testing.T) {
	ts := startServer(t)
	room := ts.activeRoom(t)
	sub := map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!) { roomStateChanged(bullPenId: $id) { sequence state } }`,
		"variables": map[string]any{"id": room.id},
	}}
	var clients []*wsClient
	for _, token := range []string{room.alice, ""} {
		c, _, err := ts.dialWS(t, "graphql-transport-ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		payload := map[string]any{}
		if token != "" {
			payload["authorization"] = "Bearer " + token
		}
		c.init(payload)
		c.send(sub)
		clients = append(clients, c)
	}
	eventually(t, "two members in one group", func() bool {
		return ts.metric(t, "bullpen_room_subscription_groups") == "1" && ts.metric(t, "bullpen_room_subscription_group_members") == "2"
	})
	before := ts.metric(t, "bullpen_room_subscription_executions_total")
	ts.must(room.owner, `mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
	for _, c := range clients {
		if m := c.next(); m.Type != "next" || !strings.Contains(string(m.Payload), `"PAUSED"`) {
			t.Fatalf("got %s %s, want the PAUSED event", m.Type, m.Payload)
		}
	}
	if after := ts.metric(t, "bullpen_room_subscription_executions_total"); before != "0" || after != "1" {
		t.Errorf("executions went from %s to %s, want 0 to 1: one execution for both", before, after)
	}
}
