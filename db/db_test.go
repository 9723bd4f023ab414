package db_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
)

func TestScratchPanic(t *testing.T) {
	ctx := context.Background()
	s, err := db.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), clockwork.NewFakeClockAt(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	func() {
		defer func() { t.Log("recovered", recover()) }()
		s.Update(ctx, func(tx game.Tx) error {
			tx.InsertUser(ctx, &game.User{Username: "p"})
			panic("boom")
		})
	}()
	t.Log(s.DB().Stats())
	c2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err = s.Update(c2, func(tx game.Tx) error { return tx.InsertUser(ctx, &game.User{Username: "q"}) })
	t.Log(err, time.Since(start))
}

func TestScratchMemIdle(t *testing.T) {
	ctx := context.Background()
	s, err := db.Open(ctx, "sqlite::memory:", clockwork.NewFakeClockAt(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Log(s.Ready(ctx))
	s.DB().SetConnMaxIdleTime(50 * time.Millisecond) // simulate 5 minutes passing
	time.Sleep(1500 * time.Millisecond)
	t.Log(s.DB().Stats())
	t.Log(s.Ready(ctx))
	_, err = s.UserByID(ctx, 1)
	t.Log(err)
}
