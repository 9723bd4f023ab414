package e2e

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkIdleSubscribedConnection measures what an idle WebSocket with
// one bullPenEvents subscription costs: goroutines, goroutine stacks and
// heap per connection, in process (the clients read nothing and use small
// buffers, so nearly all of it is the server's). Run:
//
//	go test -run XXX -bench IdleSubscribedConnection -benchtime 1x .
func BenchmarkIdleSubscribedConnection(b *testing.B) {
	for _, who := range []string{"member", "spectator"} {
		b.Run(who, func(b *testing.B) {
			ts := startServer(b)
			room := ts.activeRoom(b)
			const n = 1000
			dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second,
				ReadBufferSize: 256, WriteBufferSize: 256}
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				g0 := runtime.NumGoroutine()
				var conns []*websocket.Conn
				for i := range n {
					c, _, err := dialer.Dial(strings.Replace(ts.url, "http", "ws", 1)+"/query", nil)
					if err != nil {
						b.Fatal(err)
					}
					conns = append(conns, c)
					init := map[string]any{}
					if who == "member" {
						init["authorization"] = "Bearer " + room.owner
					}
					_ = c.WriteJSON(map[string]any{"type": "connection_init", "payload": init})
					var ack wsMsg
					if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
						b.Fatalf("ack: %v %v", ack, err)
					}
					_ = c.WriteJSON(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{
						"query":     `subscription($id: ID!) { bullPenEvents(bullPenId: $id) { __typename sequence } }`,
						"variables": map[string]any{"id": room.id}}})
				}
				eventually(b, "every subscription to be live", func() bool {
					return ts.events.Stats().Subscribers == n || ts.query.Sharing.Spectators() == n
				})
				time.Sleep(100 * time.Millisecond) // let the handshakes' garbage become garbage
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(runtime.NumGoroutine()-g0)/n, "goroutines/conn")
				b.ReportMetric(float64(after.StackInuse-before.StackInuse)/n, "stack-B/conn")
				b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-B/conn")
				for _, c := range conns {
					c.Close()
				}
			}
		})
	}
}
