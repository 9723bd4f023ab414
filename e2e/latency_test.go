package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkWebSocketDelivery measures how long a change takes from the
// start of its mutation to each of n WebSocket subscribers
// (graphql-transport-ws), through the whole server on SQLite, with the
// server and the clients on the same cores. "member" subscribers are the
// signed-in owner, "spectator" subscribers anonymous; either way the
// document asks nothing that depends on who asks, so all of them share one
// execution per event. Run:
//
//	go test -run XXX -bench WebSocketDelivery -benchtime 20x .
func BenchmarkWebSocketDelivery(b *testing.B) {
	for _, who := range []string{"member", "spectator"} {
		for _, n := range []int{1, 100, 1000} {
			b.Run(fmt.Sprint(who, "/", n), func(b *testing.B) { benchDelivery(b, who == "spectator", n) })
		}
	}
}

func benchDelivery(b *testing.B, anonymous bool, n int) {
	ts := startServer(b, "-max-ws-per-user", "0", "-max-ws-per-address", "0") // n sockets of one user, from one address
	room := ts.activeRoom(b)
	arrived := make(chan time.Time, n*4)
	var wg sync.WaitGroup
	for i := range n {
		c, _, err := ts.dialWS(b, "graphql-transport-ws", nil)
		if err != nil {
			b.Fatal(err)
		}
		if anonymous {
			c.init(nil)
		} else {
			c.init(map[string]any{"authorization": "Bearer " + room.owner})
		}
		c.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{
			"query":     `subscription($id: ID!) { roomStateChanged(bullPenId: $id) { sequence state trigger actor { username } } }`,
			"variables": map[string]any{"id": room.id}}})
		wg.Go(func() {
			for {
				var m wsMsg
				if err := c.conn.ReadJSON(&m); err != nil {
					return
				}
				if m.Type == "next" && strings.Contains(string(m.Payload), `"trigger":"MANUAL"`) {
					arrived <- time.Now()
				}
			}
		})
	}
	eventually(b, "every subscription to be live", func() bool {
		return ts.query.Sharing.Members() == n && ts.events.Stats().Subscribers == int64(n)
	})
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		mutation := []string{"pauseBullPen", "resumeBullPen"}[i%2]
		start := time.Now()
		ts.must(room.owner, `mutation($id: ID!) { `+mutation+`(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
		for range n {
			lat = append(lat, (<-arrived).Sub(start))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	}
	ts.stop()
	wg.Wait()
}
