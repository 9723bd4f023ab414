package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// process is one running server.
type process struct {
	name string // also its PostgreSQL application_name
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  *os.File
	exit chan struct{} // closed once the process is reaped
}

// startServer runs bin on a free loopback port and waits until it is
// ready. extra is appended to the flags. On PostgreSQL its sessions carry
// name as their application_name.
func startServer(ctx context.Context, bin, dsn, logDir, name string, extra ...string) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if isPostgres(dsn) {
		if dsn, err = withAppName(dsn, name); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-addr", addr, "-db", dsn, "-bcrypt-cost", "4"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{name: name, base: "http://" + addr, cmd: cmd, log: logf, exit: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exit)
	}()
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exit:
			p.log.Close()
			return nil, fmt.Errorf("server %s exited at start (see %s)", name, logf.Name())
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond): // polling a starting process
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("server %s not ready in 30s (see %s)", name, logf.Name())
		}
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exit
	p.log.Close()
}

// stop asks the process to shut down gracefully and waits.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exit:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exit
	}
	p.log.Close()
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func withAppName(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// serverPrefix starts the application_name of every server process this
// program starts, so that its own sessions are told apart.
const serverPrefix = "bullpen-crash-server-"

// waitForBackends waits until no server session is left on a PostgreSQL
// database: a killed process's last COMMIT, if it was sent, has then
// landed, and what is read next is what the crash left. keep names the
// live servers whose sessions stay. SQLite needs no wait: a process that
// is gone writes nothing more.
func waitForBackends(ctx context.Context, dsn string, keep ...string) error {
	if !isPostgres(dsn) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	keep = append([]string{}, keep...) // never a NULL array
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND application_name LIKE $1 AND NOT application_name = ANY($2)`,
			serverPrefix+"%", keep).Scan(&n)
		if err != nil {
			return fmt.Errorf("waiting for a killed server's sessions to end: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("a killed server's sessions are still there after 20s")
		case <-time.After(5 * time.Millisecond): // waiting for PostgreSQL to notice dead clients
		}
	}
}

// defaultPostgres is where -db postgres creates its database, unless
// BULLPEN_TEST_POSTGRES names another server (as for the tests).
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// database is where a run keeps its data, and how to drop it.
type database struct {
	dsn  string
	drop func()
}

// provision turns -db into a database: "sqlite" is a new file in dir,
// "postgres" a new database on BULLPEN_TEST_POSTGRES's server (dropped at
// the end unless keep), anything else a DSN used as it is.
// setUp gives a run its log directory (logDir, or a new temporary one
// that cleanup removes) and its database (see provision; cleanup drops
// it unless keep).
func setUp(ctx context.Context, spec, logDir, prefix string, keep bool) (dir string, db *database, cleanup func(), err error) {
	dir = logDir
	removeDir := func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			return "", nil, nil, err
		}
		removeDir = func() { os.RemoveAll(dir) }
	}
	if db, err = provision(ctx, spec, dir, keep); err != nil {
		removeDir()
		return "", nil, nil, err
	}
	return dir, db, func() { db.drop(); removeDir() }, nil
}

func provision(ctx context.Context, spec, dir string, keep bool) (*database, error) {
	switch spec {
	case "sqlite":
		return &database{dsn: "sqlite:" + filepath.Join(dir, "bullpen.db"), drop: func() {}}, nil
	case "postgres":
		admin := os.Getenv("BULLPEN_TEST_POSTGRES")
		if admin == "" {
			admin = defaultPostgres
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, admin)
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL at %s: %w", redact(admin), err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := "bullpen_crash_" + hex.EncodeToString(b[:])
		if _, err := conn.Exec(cctx, "CREATE DATABASE "+name); err != nil {
			return nil, fmt.Errorf("create database %s: %w", name, err)
		}
		u, err := url.Parse(admin)
		if err != nil {
			return nil, err
		}
		u.Path = "/" + name
		drop := func() {
			if keep {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if c, err := pgx.Connect(ctx, admin); err == nil {
				_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				c.Close(ctx)
			}
		}
		return &database{dsn: u.String(), drop: drop}, nil
	default:
		if !strings.HasPrefix(spec, "sqlite:") && !isPostgres(spec) {
			return nil, fmt.Errorf("-db %q: want sqlite, postgres, sqlite:PATH or a postgres:// URL", spec)
		}
		return &database{dsn: spec, drop: func() {}}, nil
	}
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
