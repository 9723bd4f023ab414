//go:build !linux

package realtime

import (
	"errors"
	"syscall"
)

// poller is Linux's only: elsewhere every connection is read by a
// goroutine of its own (wsConn.serve), as one without a raw socket is on
// Linux.
type poller struct{}

func (p *poller) add(*wsConn) bool         { return false }
func (p *poller) arm(*wsConn) error        { return errStopped }
func (p *poller) remove(*wsConn)           {}
func (p *poller) stop()                    {}
func (p *poller) running() bool            { return false }
func socketFD(syscall.RawConn) (int, bool) { return 0, false }

func readNow(syscall.RawConn, []byte) (int, error) { return 0, errStopped }

var errStopped = errors.New("websocket poller stopped")
