//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseFileLimit lifts the soft limit on open files to the hard limit, so
// that the bench can hold thousands of sockets, and says when even that is
// too few for want.
func raiseFileLimit(want int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return err
		}
	}
	if uint64(want) > uint64(l.Cur) {
		return fmt.Errorf("open files limited to %d, the run needs about %d (raise ulimit -Hn)", l.Cur, want)
	}
	return nil
}
