package db

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ClaimSQLite makes this process the one server of the SQLite database dsn
// names, until release is called or the process ends (a crash included:
// the kernel drops the lock with the process). A server keeps rooms,
// quotes and sessions in memory as the file's only writer and runs its own
// price feed and scheduler; a second server on the same file would act on
// stale copies (fill an order in a room the other has ended, accept a
// token the other has signed out). For a PostgreSQL URL or an in-memory
// database there is nothing to claim.
//
// The lock is an exclusive flock on PATH.lock, which holds the owner's
// process id for the error a second server gets. `bullpen admin` does not
// claim the file: it writes beside a running server by design.
func ClaimSQLite(dsn string) (release func(), err error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	if t.dialect != SQLite || t.path == ":memory:" {
		return func() {}, nil
	}
	if err := checkSQLiteDir(t.path); err != nil {
		return nil, fmt.Errorf("db: open %s: %w", t.path, err)
	}
	name := t.path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("db: lock %s: %w", name, err)
	}
	if err := lockFile(f); err != nil {
		owner := readOwner(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("db: %s is in use by another bullpen server (%s; lock file %s): one SQLite file has one server; stop it first, or use PostgreSQL for several instances", t.path, owner, name)
		}
		return nil, fmt.Errorf("db: lock %s: %w", name, err)
	}
	// Who holds it, for the next one's error; best effort.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = unlockFile(f)
		_ = f.Close()
	}, nil
}

// errLocked is lockFile's error when another process holds the lock.
var errLocked = errors.New("locked by another process")

// readOwner names the process that wrote f, as well as it can.
func readOwner(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid := strings.TrimSpace(string(b[:n])); pid != "" {
		return "process " + pid
	}
	return "process unknown"
}
