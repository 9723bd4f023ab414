package db

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL channels. NOTIFY is only a wake-up: payloads are a room id or
// a symbol, and the log (or the quotes table) stays the source of truth.
const (
	eventsChannel = "bullpen_events"
	quotesChannel = "bullpen_quotes"
	// sessionsChannel carries a user id whose sessions were deleted.
	sessionsChannel = "bullpen_sessions"
)

// Listener receives wake-ups from other instances.
type Listener struct {
	// Rooms is called with the rooms that have new events; nil means
	// "any room": the connection was (re)established and signals may have
	// been missed.
	Rooms func(rooms map[int64]int64)
	// Quote is called with a symbol whose price changed.
	Quote func(symbol string)
	// Sessions is called with a user some of whose sessions ended; 0
	// means "anyone": the connection was (re)established and signals may
	// have been missed.
	Sessions func(userID int64)
}

// Listen delivers other instances' commit signals until ctx is done. On
// SQLite, a single-instance engine, it just waits for ctx. A lost
// connection is retried; after each (re)connect Rooms(nil) asks every
// subscriber to catch up from the log.
func (s *Store) Listen(ctx context.Context, l Listener) error {
	if s.dialect != Postgres {
		<-ctx.Done()
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := s.listenOnce(ctx, l)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("notification listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, l Listener) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{eventsChannel, quotesChannel, sessionsChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	if l.Rooms != nil {
		l.Rooms(nil)
	}
	if l.Sessions != nil {
		l.Sessions(0)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case eventsChannel:
			id, err := strconv.ParseInt(n.Payload, 10, 64)
			if err == nil && l.Rooms != nil {
				l.Rooms(map[int64]int64{id: 0})
			}
		case quotesChannel:
			if l.Quote != nil {
				l.Quote(n.Payload)
			}
		case sessionsChannel:
			id, err := strconv.ParseInt(n.Payload, 10, 64)
			if err == nil && id > 0 && l.Sessions != nil {
				l.Sessions(id)
			}
		}
	}
}

// notify queues a notification in tx: PostgreSQL delivers it only if the
// transaction commits.
func (tx *Tx) notify(ctx context.Context, channel, payload string) error {
	if tx.dialect != Postgres {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT pg_notify(?, ?)`, channel, payload)
	return err
}

// Leader runs fn while this instance holds the advisory lock key, so that
// exactly one instance does the work; another takes over within about
// retry of the holder's death. The holder checks its lock's connection four
// times per retry and stops fn when it is gone, so two leaders overlap for
// at most a quarter of retry. On SQLite fn just runs.
func (s *Store) Leader(ctx context.Context, key int64, retry time.Duration, fn func(ctx context.Context) error) error {
	if s.dialect != Postgres {
		return fn(ctx)
	}
	for {
		err := s.leadOnce(ctx, key, max(retry/4, 10*time.Millisecond), fn)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, errNotLeader) {
			s.log.Warn("leader election", "key", key, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(retry):
		}
	}
}

var errNotLeader = errors.New("another instance leads")

func (s *Store) leadOnce(ctx context.Context, key int64, check time.Duration, fn func(ctx context.Context) error) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return err
	}
	if !got {
		return errNotLeader
	}
	s.log.Info("leading", "key", key)
	work, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- fn(work) }()
	// The lock lives as long as the connection: check it, and stop the
	// work if it is gone (another instance may take over).
	for {
		select {
		case err := <-done:
			return err
		case <-s.clock.After(check):
			pingCtx, cancel := context.WithTimeout(ctx, check)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				stop()
				<-done
				return err
			}
		}
	}
}
