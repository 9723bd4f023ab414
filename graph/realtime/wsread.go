package realtime

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// frameParser reads a client's WebSocket frames (RFC 6455 section 5) out
// of the bytes that have arrived, as far as they go, and never waits for
// more: a polled connection (see poller) hands it what one readiness
// event brought, and keeps what is left of a frame that came in pieces
// until the next. gorilla's reader cannot do that: it waits in the socket
// for the rest of a frame, and its errors, a deadline's included, are
// final, so it needs a goroutine parked in every connection.
//
// It checks what gorilla's reader checks of a server's peer (reserved
// bits, opcodes, the mask, control frames' length and FIN, continuation
// order, close codes and the close reason's UTF-8, the read limit) and
// answers the same: a protocol error closes with 1002, a message over
// the limit with 1009. Like gorilla, it does not validate a text
// message's UTF-8 (the JSON decoder refuses what is not a message).
type frameParser struct {
	limit int64 // the most a message may hold; 0 for no limit
	// msg holds a fragmented message's payload so far; fragmented tells
	// that one has begun (its final frame has not come).
	msg        []byte
	fragmented bool
}

// readKind is what frameParser.next found.
type readKind uint8

const (
	readMore    readKind = iota // no whole frame: wait for more bytes
	readMessage                 // a whole data message
	readPing                    // a ping (answer it with a pong)
	readPong                    // a pong
	readClose                   // the peer's close frame
	readFail                    // a protocol error or a message too big: close with code
)

// readEvent is one thing frameParser.next found; data is a message or a
// ping's payload, valid until the bytes given to next are reused.
type readEvent struct {
	kind readKind
	data []byte
	code int    // readClose: the peer's code; readFail: ours
	text string // the reason
}

// Client frame opcodes (queue.go has those the server writes).
const (
	opContinuation = 0x0
	opBinary       = 0x2
	opPong         = 0xa
)

// next reads the first whole frame of b (unmasking its payload in place)
// and reports what it is and how many bytes of b it took. A fragment
// that does not end its message is taken and kept, and the next frame
// read; readMore takes only whole frames.
func (p *frameParser) next(b []byte) (ev readEvent, used int) {
	for {
		ev, n := p.frame(b[used:])
		used += n
		if n == 0 || ev.kind != readMore {
			return ev, used
		}
	}
}

// frame reads one frame from the start of b: readMore with n 0 when it
// has not all come, readMore with n > 0 for a fragment that was kept.
func (p *frameParser) frame(b []byte) (ev readEvent, n int) {
	if len(b) < 2 {
		return readEvent{}, 0
	}
	fin, op := b[0]&0x80 != 0, b[0]&0x0f
	size, head := int64(b[1]&0x7f), 2
	var errs []string
	if b[0]&0x40 != 0 {
		errs = append(errs, "RSV1 set")
	}
	if b[0]&0x20 != 0 {
		errs = append(errs, "RSV2 set")
	}
	if b[0]&0x10 != 0 {
		errs = append(errs, "RSV3 set")
	}
	control := false
	switch op {
	case opClose, opPing, opPong:
		control = true
		if size > 125 {
			errs = append(errs, "len > 125 for control")
		}
		if !fin {
			errs = append(errs, "FIN not set on control")
		}
	case opText, opBinary:
		if p.fragmented {
			errs = append(errs, "data before FIN")
		}
	case opContinuation:
		if !p.fragmented {
			errs = append(errs, "continuation after FIN")
		}
	default:
		errs = append(errs, "bad opcode "+strconv.Itoa(int(op)))
	}
	if b[1]&0x80 == 0 {
		errs = append(errs, "bad MASK")
	}
	if len(errs) > 0 {
		return protocolError(strings.Join(errs, ", ")), len(b)
	}
	switch size {
	case 126:
		if len(b) < 4 {
			return readEvent{}, 0
		}
		size, head = int64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return readEvent{}, 0
		}
		size, head = int64(binary.BigEndian.Uint64(b[2:])), 10
	}
	if !control {
		// Refused from its header, before its payload is buffered.
		if total := int64(len(p.msg)) + size; size < 0 || total < 0 || p.limit > 0 && total > p.limit {
			return readEvent{kind: readFail, code: websocket.CloseMessageTooBig, text: "message too big"}, len(b)
		}
	}
	if int64(len(b)-head-4) < size {
		return readEvent{}, 0
	}
	key := b[head : head+4]
	payload := b[head+4 : head+4+int(size)]
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	n = head + 4 + int(size)
	switch op {
	case opPing:
		return readEvent{kind: readPing, data: payload}, n
	case opPong:
		return readEvent{kind: readPong}, n
	case opClose:
		return closeEvent(payload), n
	}
	if fin && !p.fragmented {
		return readEvent{kind: readMessage, data: payload}, n
	}
	p.msg = append(p.msg, payload...)
	p.fragmented = !fin
	if p.fragmented {
		return readEvent{}, n
	}
	msg := p.msg
	p.msg = nil
	return readEvent{kind: readMessage, data: msg}, n
}

// closeEvent reads a close frame's payload as gorilla does: no code is
// 1005, and a code a peer may not send or a reason that is not UTF-8 is
// a protocol error.
func closeEvent(payload []byte) readEvent {
	if len(payload) < 2 {
		return readEvent{kind: readClose, code: websocket.CloseNoStatusReceived}
	}
	code := int(binary.BigEndian.Uint16(payload))
	if !validCloseCode(code) {
		return protocolError("bad close code " + strconv.Itoa(code))
	}
	text := string(payload[2:])
	if !utf8.ValidString(text) {
		return protocolError("invalid utf8 payload in close frame")
	}
	return readEvent{kind: readClose, code: code, text: text}
}

// validCloseCode: the codes a peer may send (gorilla's list).
func validCloseCode(code int) bool {
	switch code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseProtocolError,
		websocket.CloseUnsupportedData, websocket.CloseInvalidFramePayloadData, websocket.ClosePolicyViolation,
		websocket.CloseMessageTooBig, websocket.CloseMandatoryExtension, websocket.CloseInternalServerErr,
		websocket.CloseServiceRestart, websocket.CloseTryAgainLater:
		return true
	}
	return code >= 3000 && code <= 4999
}

func protocolError(msg string) readEvent {
	return readEvent{kind: readFail, code: websocket.CloseProtocolError, text: msg}
}
