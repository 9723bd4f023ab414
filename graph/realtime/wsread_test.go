package realtime

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gorilla/websocket"
)

// clientFrame builds a masked client frame (RFC 6455 section 5.2).
func clientFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// The parser reads what gorilla's reader reads, and refuses what it
// refuses with the same close codes.
func TestFrameParser(t *testing.T) {
	text := func(s string) []byte { return clientFrame(0x80|opText, []byte(s)) }
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	for _, tc := range []struct {
		name  string
		in    []byte
		limit int64
		want  readEvent // the first event that is not readMore
	}{
		{"text", text(`{"type":"ping"}`), 0, readEvent{kind: readMessage, data: []byte(`{"type":"ping"}`)}},
		{"binary", clientFrame(0x80|opBinary, []byte("x")), 0, readEvent{kind: readMessage, data: []byte("x")}},
		{"16-bit length", text(string(bytes.Repeat([]byte("a"), 300))), 0, readEvent{kind: readMessage, data: bytes.Repeat([]byte("a"), 300)}},
		{"fragments around a ping", cat(clientFrame(opText, []byte("ab")), clientFrame(0x80|opPing, []byte("p"))), 0, readEvent{kind: readPing, data: []byte("p")}},
		{"pong", clientFrame(0x80|opPong, nil), 0, readEvent{kind: readPong}},
		{"close", clientFrame(0x80|opClose, closePayload(4400, "bye")), 0, readEvent{kind: readClose, code: 4400, text: "bye"}},
		{"close without a code", clientFrame(0x80|opClose, nil), 0, readEvent{kind: readClose, code: websocket.CloseNoStatusReceived}},
		{"close with 1005", clientFrame(0x80|opClose, closePayload(1005, "")), 0, protocolError("bad close code 1005")},
		{"close reason not UTF-8", clientFrame(0x80|opClose, closePayload(1000, "\xff")), 0, protocolError("invalid utf8 payload in close frame")},
		{"unmasked", []byte{0x80 | opText, 1, 'x'}, 0, protocolError("bad MASK")},
		{"reserved bits", clientFrame(0xc0|opText, []byte("x")), 0, protocolError("RSV1 set")},
		{"bad opcode", clientFrame(0x83, nil), 0, protocolError("bad opcode 3")},
		{"long control", clientFrame(0x80|opPing, bytes.Repeat([]byte("a"), 126)), 0, protocolError("len > 125 for control")},
		{"fragmented control", clientFrame(opPing, nil), 0, protocolError("FIN not set on control")},
		{"continuation first", clientFrame(0x80|opContinuation, []byte("x")), 0, protocolError("continuation after FIN")},
		{"data inside a message", cat(clientFrame(opText, []byte("a")), text("b")), 0, protocolError("data before FIN")},
		// Refused from the header alone: the payload never comes.
		{"over the limit", clientFrame(0x80|opText, make([]byte, 101))[:8], 100,
			readEvent{kind: readFail, code: websocket.CloseMessageTooBig, text: "message too big"}},
		{"fragments over the limit", cat(clientFrame(opText, make([]byte, 60)), clientFrame(0x80|opContinuation, make([]byte, 60))[:8]), 100,
			readEvent{kind: readFail, code: websocket.CloseMessageTooBig, text: "message too big"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := frameParser{limit: tc.limit}
			ev, _ := p.next(append([]byte(nil), tc.in...))
			if ev.kind != tc.want.kind || !bytes.Equal(ev.data, tc.want.data) || ev.code != tc.want.code || ev.text != tc.want.text {
				t.Fatalf("got %+v, want %+v", ev, tc.want)
			}
		})
	}
}

// A message that comes a byte at a time, in fragments with a ping among
// them, is read once all of it has come, and nothing is taken before a
// frame is whole.
func TestFrameParserPieces(t *testing.T) {
	in := bytes.Join([][]byte{
		clientFrame(opText, []byte(`{"type":`)),
		clientFrame(0x80|opPing, []byte("p")),
		clientFrame(0x80|opContinuation, []byte(`"ping"}`)),
	}, nil)
	var (
		p      frameParser
		buf    []byte
		events []readEvent
	)
	for _, c := range in {
		buf = append(buf, c)
		for {
			ev, used := p.next(buf)
			buf = buf[:copy(buf, buf[used:])]
			if ev.kind == readMore {
				break
			}
			ev.data = append([]byte(nil), ev.data...)
			events = append(events, ev)
		}
	}
	if len(events) != 2 || events[0].kind != readPing || string(events[0].data) != "p" ||
		events[1].kind != readMessage || string(events[1].data) != `{"type":"ping"}` || len(buf) != 0 {
		t.Fatalf("got %+v, %d bytes left; want the ping, then the message", events, len(buf))
	}
}
