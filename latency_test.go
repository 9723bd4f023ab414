package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkWebSocketDelivery measures how long an order's FILLED event
// takes from the mutation's start to each of n WebSocket subscribers
// (graphql-transport-ws, bullPenEvents), through the whole server on
// SQLite. Run: go test -run XXX -bench WebSocketDelivery -benchtime 20x .
func BenchmarkWebSocketDelivery(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n, "subscribers"), func(b *testing.B) {
			ts := startServer(b)
			room := ts.activeRoom(b)
			var last struct{ BullPen struct{ LastSequence int } }
			ts.must(room.owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room.id}, &last)
			arrived := make(chan time.Time, n*4)
			var wg sync.WaitGroup
			for i := range n {
				c, _, err := ts.dialWS(b, "graphql-transport-ws", nil)
				if err != nil {
					b.Fatal(err)
				}
				c.init(map[string]any{"authorization": "Bearer " + room.owner})
				c.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{
					"query": `subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) {
						__typename sequence ... on OrderEvent { kind } } }`,
					"variables": map[string]any{"id": room.id, "after": last.BullPen.LastSequence}}})
				wg.Go(func() {
					for {
						var m wsMsg
						if err := c.conn.ReadJSON(&m); err != nil {
							return
						}
						if m.Type == "next" && strings.Contains(string(m.Payload), `"kind":"FILLED"`) {
							arrived <- time.Now()
						}
					}
				})
			}
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				side := []string{"BUY", "SELL"}[i%2]
				start := time.Now()
				ts.must(room.alice, `mutation($id: ID!, $s: OrderSide!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: $s, quantity: 1}) { id } }`,
					map[string]any{"id": room.id, "s": side}, nil)
				for range n {
					lat = append(lat, (<-arrived).Sub(start))
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-us")
			}
			ts.stop()
			wg.Wait()
		})
	}
}
