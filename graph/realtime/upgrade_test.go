package realtime

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jonboulle/clockwork"
)

// upgradeServer serves the transport with an Upgraded hook whose context
// the test ends by calling revoke.
func upgradeServer(t *testing.T) (url string, revoke func()) {
	t.Helper()
	revoked := make(chan context.CancelFunc, 1)
	ws := NewWebSocket(func(ctx context.Context, _ map[string]any) (context.Context, error) { return ctx, nil },
		clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	ws.KeepAlive = 0
	ws.Upgraded = func(ctx context.Context) context.Context {
		ctx, cancel := context.WithCancel(ctx)
		revoked <- cancel
		return ctx
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ws.Do(w, r, nil) }))
	t.Cleanup(func() {
		ws.Shutdown(context.Background())
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http"), func() { (<-revoked)() }
}

func dialTransportWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{ProtocolTransportWS}, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntilClose returns the type of each message read and the close
// code that ended the connection (0 if it ended otherwise).
func readUntilClose(c *websocket.Conn) (types []string, code int) {
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m wsMessage
		if err := c.ReadJSON(&m); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return types, ce.Code
			}
			return types, 0
		}
		types = append(types, m.Type)
	}
}

// Credentials of the upgrade revoked before connection_init close the
// socket with 4403.
func TestUpgradeRevokedBeforeInit(t *testing.T) {
	url, revoke := upgradeServer(t)
	c := dialTransportWS(t, url)
	revoke()
	if types, code := readUntilClose(c); code != CloseForbidden || len(types) != 0 {
		t.Fatalf("got %v then close %d, want close %d and nothing before", types, code, CloseForbidden)
	}
}

// After connection_init, what Init returned decides: revoking what the
// upgrade was watched under no longer closes the socket.
func TestUpgradeWatchEndsAtInit(t *testing.T) {
	url, revoke := upgradeServer(t)
	c := dialTransportWS(t, url)
	if err := c.WriteJSON(wsMessage{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	var ack wsMessage
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("got %+v (%v), want connection_ack", ack, err)
	}
	revoke()
	// The connection still answers: a ping gets its pong.
	if err := c.WriteJSON(wsMessage{Type: "ping"}); err != nil {
		t.Fatal(err)
	}
	var pong wsMessage
	if err := c.ReadJSON(&pong); err != nil || pong.Type != "pong" {
		t.Fatalf("got %+v (%v) after the revocation, want pong", pong, err)
	}
}
