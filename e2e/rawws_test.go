package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// rawWS is a graphql-transport-ws client on a bare TCP socket: it reads
// only when the test says so (a peer that stops reading), with a receive
// buffer as small as the test asks, and checks every byte the server sent
// with a strict frame parser (parseFrames).
type rawWS struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// dialSmallBuffer opens a TCP connection to ts with a receive buffer of
// rcvbuf bytes (0: the system's), set before connecting so the window is
// small from the start.
func (ts *testServer) dialSmallBuffer(t testing.TB, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.Control = socketBuffer(syscall.SO_RCVBUF, rcvbuf)
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// smallSendBuffer is a server.Hooks.ListenControl that sets the send
// buffer of the server's sockets to sndbuf bytes (Linux doubles it, and
// grows it no more). A peer that stops reading then fills its socket
// after that much: with the system's, the buffer grows to tcp_wmem's
// maximum (4 MiB by default) first, and how soon a trickle of events
// gets there is anyone's guess.
func smallSendBuffer(sndbuf int) func(network, address string, c syscall.RawConn) error {
	return socketBuffer(syscall.SO_SNDBUF, sndbuf)
}

// socketBuffer is a Control function (of a net.Dialer or a
// net.ListenConfig) that sets the socket's buffer option (SO_RCVBUF or
// SO_SNDBUF) to size bytes.
func socketBuffer(option, size int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, option, size)
		}); err != nil {
			return err
		}
		return serr
	}
}

// dialRawWS opens a WebSocket to ts with a receive buffer of rcvbuf
// bytes (see dialSmallBuffer).
func (ts *testServer) dialRawWS(t testing.TB, rcvbuf int) *rawWS {
	t.Helper()
	conn := ts.dialSmallBuffer(t, rcvbuf)
	host := strings.TrimPrefix(ts.url, "http://")
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(conn, "GET /query HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
		host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReaderSize(conn, 512)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	return &rawWS{t: t, conn: conn, br: br}
}

// send writes one message as a masked text frame, as a client must.
func (c *rawWS) send(v any) {
	c.t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	b := []byte{0x81}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads frames one by one until a text message that is not a
// keep-alive, and returns it.
func (c *rawWS) next() wsMsg {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head [2]byte
		if _, err := io.ReadFull(c.br, head[:]); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		n := int(head[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, _ = io.ReadFull(c.br, ext[:])
			n = int(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			_, _ = io.ReadFull(c.br, ext[:])
			n = int(binary.BigEndian.Uint64(ext[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		frames, rest, err := parseFrames(append(head[:], append(extLen(n), payload...)...))
		if err != nil || len(rest) > 0 || len(frames) != 1 {
			c.t.Fatalf("bad frame % x: %v", head, err)
		}
		if f := frames[0]; f.opcode == 1 {
			var m wsMsg
			_ = json.Unmarshal(f.payload, &m)
			if m.Type != "ping" && m.Type != "ka" {
				return m
			}
		}
	}
}

// extLen is the extended length field a server frame of n bytes has.
func extLen(n int) []byte {
	switch {
	case n <= 125:
		return nil
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(nil, uint16(n))
	default:
		return binary.BigEndian.AppendUint64(nil, uint64(n))
	}
}

// drain reads everything the server sends until it closes the TCP
// connection (an EOF or a reset; a read that waits 10 s fails the test).
func (c *rawWS) drain() []byte {
	c.t.Helper()
	var buf bytes.Buffer
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := buf.ReadFrom(c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the server did not close the connection (read %d bytes)", buf.Len())
	}
	return buf.Bytes()
}

// wsFrame is one frame a server sent.
type wsFrame struct {
	opcode  byte
	payload []byte
}

// parseFrames parses what a server sent, strictly by RFC 6455: every
// frame final (the server does not fragment), no reserved bits, no mask,
// a known opcode, control frames of at most 125 bytes, text frames that
// are valid UTF-8 and, as graphql-transport-ws messages, valid JSON, and
// nothing after a close frame. rest is a last frame the stream ended in
// the middle of (a connection cut off mid-write).
func parseFrames(b []byte) (frames []wsFrame, rest []byte, err error) {
	for len(b) > 0 {
		at := len(frames)
		if len(frames) > 0 && frames[len(frames)-1].opcode == 8 {
			return frames, nil, fmt.Errorf("frame %d: %d bytes after the close frame: % x", at, len(b), b[:min(len(b), 16)])
		}
		if len(b) < 2 {
			return frames, b, nil
		}
		fin, rsv, opcode, masked := b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f, b[1]&0x80 != 0
		n, hdr := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return frames, b, nil
			}
			n, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return frames, b, nil
			}
			n, hdr = binary.BigEndian.Uint64(b[2:]), 10
		}
		switch {
		case !fin || rsv != 0 || masked:
			return frames, nil, fmt.Errorf("frame %d: header % x: want FIN, no reserved bits, no mask", at, b[:hdr])
		case opcode != 1 && opcode != 8 && opcode != 9 && opcode != 10:
			return frames, nil, fmt.Errorf("frame %d: opcode %#x", at, opcode)
		case opcode >= 8 && n > 125:
			return frames, nil, fmt.Errorf("frame %d: control frame of %d bytes", at, n)
		case n > 64<<20:
			return frames, nil, fmt.Errorf("frame %d: length %d", at, n)
		}
		if uint64(len(b)-hdr) < n {
			return frames, b, nil
		}
		f := wsFrame{opcode: opcode, payload: b[hdr : hdr+int(n)]}
		if opcode == 1 && (!utf8.Valid(f.payload) || !json.Valid(f.payload)) {
			return frames, nil, fmt.Errorf("frame %d: text that is not UTF-8 JSON: %.80q", at, f.payload)
		}
		if opcode == 8 && len(f.payload) == 1 {
			return frames, nil, fmt.Errorf("frame %d: close frame with a 1-byte payload", at)
		}
		frames = append(frames, f)
		b = b[hdr+int(n):]
	}
	return frames, nil, nil
}

// messages decodes the text frames of frames.
func messages(t testing.TB, frames []wsFrame) []wsMsg {
	t.Helper()
	var out []wsMsg
	for _, f := range frames {
		if f.opcode != 1 {
			continue
		}
		var m wsMsg
		if err := json.Unmarshal(f.payload, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
