package realtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// FuzzWSFrames feeds a connection arbitrary frames (the fuzz input split
// at newlines) in either subprotocol, through decideFrame, the pure
// decision the socket's reader carries out, with a model of the rest of
// the connection (an init whose payload has "authToken":"bad" fails). It
// must never panic, and it must keep the protocol: a frame that is not a
// JSON object with a type, or a message of the other subprotocol, closes
// with 4400; an operation before an accepted connection_init with 4401; a
// second connection_init with 4429; an id in use with 4409; an operation
// starts only with an id and a query; every reply is valid JSON.
func FuzzWSFrames(f *testing.F) {
	for _, s := range []struct {
		legacy bool
		frames string
	}{
		{false, `{"type":"connection_init"}` + "\n" + `{"id":"1","type":"subscribe","payload":{"query":"subscription { x }"}}` + "\n" + `{"id":"1","type":"complete"}`},
		{false, `{"type":"connection_init","payload":{"authToken":"t"}}` + "\n" + `{"type":"ping","payload":{"a":1}}` + "\n" + `{"type":"pong"}`},
		{false, `{"type":"connection_init","payload":null}` + "\n" + `{"type":"connection_init"}`},
		{false, `{"type":"connection_init","payload":[1]}`},
		{false, `{"type":"connection_init","payload":{"authToken":"bad"}}`},
		{false, `{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}`},
		{false, `{"type":"connection_init"}` + "\n" + `{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}` + "\n" + `{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}`},
		{false, `{"type":"connection_init"}` + "\n" + `{"id":"","type":"subscribe","payload":{"query":"{ a }"}}`},
		{false, `{"type":"connection_init"}` + "\n" + `{"id":"2","type":"subscribe","payload":{"query":""}}`},
		{false, `{"type":"connection_init"}` + "\n" + `{"id":"2","type":"subscribe","payload":{"query":"{ a }","variables":{"n":12345678901234567890}}}`},
		{false, `{"type":"start","id":"1"}`},
		{false, `{"type":"connection_terminate"}`},
		{false, `not json`},
		{false, `{"type":""}`},
		{false, `{"type":7}`},
		{false, `[]`},
		{false, `null`},
		{true, `{"type":"connection_init","payload":{"authorization":"Bearer x"}}` + "\n" + `{"id":"1","type":"start","payload":{"query":"subscription { x }"}}` + "\n" + `{"id":"1","type":"stop"}` + "\n" + `{"type":"connection_terminate"}`},
		{true, `{"type":"connection_init","payload":{"authToken":"bad"}}`},
		{true, `{"type":"connection_init"}` + "\n" + `{"type":"ping"}`},
		{true, `{"type":"connection_init"}` + "\n" + `{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}`},
		{true, `{"type":"connection_init"}` + "\n" + `{"id":"1","type":"complete"}`},
		{true, `{"id":"1","type":"start","payload":{"query":"{ a }"}}`},
		{true, `{"type":"ka"}`},
	} {
		f.Add(s.legacy, []byte(s.frames))
	}
	f.Fuzz(func(t *testing.T, legacy bool, input []byte) {
		protocol := ProtocolTransportWS
		if legacy {
			protocol = ProtocolLegacyWS
		}
		ours := map[string]bool{"connection_init": true, "subscribe": !legacy, "complete": !legacy, "ping": !legacy,
			"pong": !legacy, "start": legacy, "stop": legacy, "connection_terminate": legacy}
		const maxOps = 3
		var (
			initialized, acked bool
			ops                = map[string]bool{}
		)
		st := func() frameState {
			return frameState{initialized: initialized, acked: acked, maxOps: maxOps,
				op: func(id string) (bool, int) { return ops[id], len(ops) }}
		}
		for data := range bytes.SplitSeq(input, []byte("\n")) {
			a := decideFrame(protocol, data, st())

			var m struct {
				ID      string          `json:"id"`
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			isMessage := json.Unmarshal(data, &m) == nil && m.Type != ""
			want := 0 // the close code the protocol prescribes, if any
			switch {
			case !isMessage || !ours[m.Type]:
				want = CloseInvalidMessage
			case m.Type == "connection_init" && initialized:
				want = CloseTooManyInitRequests
			case (m.Type == "subscribe" || m.Type == "start") && m.ID == "":
				want = CloseInvalidMessage
			case (m.Type == "subscribe" || m.Type == "start") && !acked:
				want = CloseUnauthorized
			case (m.Type == "subscribe" || m.Type == "start") && ops[m.ID]:
				want = CloseSubscriberExists
			}
			if want != 0 && (a.kind != frameClose || a.code != want) {
				t.Fatalf("%s: frame %q: got %+v, want close %d", protocol, data, a, want)
			}

			if want == 0 && a.kind == frameClose && a.code == CloseInvalidMessage &&
				m.Type != "connection_init" && m.Type != "subscribe" && m.Type != "start" {
				t.Fatalf("%s: frame %q: a valid %q message closed with 4400", protocol, data, m.Type)
			}
			switch a.kind {
			case frameClose:
				switch a.code {
				case CloseInvalidMessage, CloseTooManyInitRequests, CloseUnauthorized, CloseSubscriberExists:
					if a.reason == "" || len(a.reason) > 123 {
						t.Fatalf("%s: frame %q: close %d with reason %q (a close reason is 1 to 123 bytes)", protocol, data, a.code, a.reason)
					}
				case websocket.CloseNormalClosure:
					if !legacy || m.Type != "connection_terminate" {
						t.Fatalf("%s: frame %q: normal close for a %q message", protocol, data, m.Type)
					}
				default:
					t.Fatalf("%s: frame %q: close code %d is not one the protocol documents here", protocol, data, a.code)
				}
				return // the connection is gone
			case frameInit:
				if m.Type != "connection_init" || initialized {
					t.Fatalf("%s: frame %q: init from a %q message (initialized %v)", protocol, data, m.Type, initialized)
				}
				initialized = true
				if a.payload["authToken"] == "bad" {
					return // the transport closes with 4403
				}
				acked = true
			case frameReply:
				b := mustJSON(a.reply)
				if !json.Valid(b) {
					t.Fatalf("%s: frame %q: reply %s is not JSON", protocol, data, b)
				}
				switch {
				case a.reply.Type == "pong" && m.Type == "ping":
				case a.reply.Type == "error" && a.reply.ID == m.ID && len(ops) >= maxOps:
					if !strings.Contains(string(a.reply.Payload), "RATE_LIMITED") {
						t.Fatalf("%s: frame %q: too many operations answered %s", protocol, data, b)
					}
				default:
					t.Fatalf("%s: frame %q: unexpected reply %s", protocol, data, b)
				}
			case frameIgnore:
				if m.Type != "pong" {
					t.Fatalf("%s: frame %q: a %q message ignored", protocol, data, m.Type)
				}
			case frameStart:
				if a.id == "" || a.id != m.ID || a.params == nil || a.params.Query == "" || !acked || ops[a.id] || len(ops) >= maxOps {
					t.Fatalf("%s: frame %q: start %+v in state initialized=%v acked=%v ops=%v", protocol, data, a, initialized, acked, ops)
				}
				ops[a.id] = true
			case frameStop:
				if a.id != m.ID || (m.Type != "complete" && m.Type != "stop") {
					t.Fatalf("%s: frame %q: stop %+v", protocol, data, a)
				}
				delete(ops, a.id)
			default:
				t.Fatalf("%s: frame %q: unknown decision %+v", protocol, data, a)
			}
		}
	})
}
