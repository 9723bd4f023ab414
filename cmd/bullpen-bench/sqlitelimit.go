package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // the driver the server uses
)

// The sqlite-limit scenario is the baseline the rooms scenario on SQLite is
// compared with, as PostgreSQL's is with `pgbench -N`: how many write
// transactions, one at a time each and committed one by one, SQLite itself
// completes on this machine in the same sitting, from -rooms × -traders
// clients on a fresh file with the server's settings (WAL, synchronous
// NORMAL, a busy timeout, IMMEDIATE transactions). No server is involved.
// -limit-tx says which transaction:
//
//   - order (the default): the issue's "raw one-transaction-per-order
//     limit". A market order's own statements, as db runs them for
//     placeOrder on SQLite (read the participant, its open orders and
//     positions; write its cash, fill counts and position; insert the
//     order, its fill and ledger entry; number and insert its two events),
//     on the server's schema (db.Open migrates the file first), each client
//     a participant of one of -rooms rooms, alternately buying and selling
//     one share. No HTTP, GraphQL, game rules or group commit: the SQL
//     alone, one order a transaction.
//   - pgbench: pgbench's -N transaction (TPC-B without the branch and
//     teller updates: update an account, read it back, insert a history
//     row), a smaller transaction than an order's.

// sqliteLimitAccounts is pgbench's scale 1.
const sqliteLimitAccounts = 100_000

// sqliteParams are db.openSQLite's, so the limit is measured as the
// server writes.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate&_pragma=journal_mode(WAL)"

// LimitReport is what the sqlite-limit scenario measured.
type LimitReport struct {
	Tx           string  `json:"tx"` // order or pgbench
	Clients      int     `json:"clients"`
	Transactions int     `json:"transactions"`
	Errors       int     `json:"errors"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"perSecond"`
	Latency      Latency `json:"latency"`
}

func (b *bench) sqliteLimit(ctx context.Context) (*Report, error) {
	c := b.cfg
	dir, err := os.MkdirTemp("", "bullpen-sqlite-limit")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "limit.db")
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqliteParams)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	clients := c.Rooms * c.Traders
	// One connection, which the clients take in turn, as the server's
	// writes take its one writer: with a connection each, SQLite's busy
	// handler has the waiting ones sleep (1 to 100 ms) while the lock
	// goes free, and the limit measured that instead (362 against 1,003
	// order transactions/s in one trial).
	db.SetMaxOpenConns(1)
	run := func(ctx context.Context, _, _ int) error { return sqliteLimitTx(ctx, db) }
	if c.LimitTx == "order" {
		if run, err = orderLimit(ctx, path, db, c.Rooms, c.Traders); err != nil {
			return nil, fmt.Errorf("sqlite-limit: %w", err)
		}
	} else if err := sqliteLimitSchema(ctx, db); err != nil {
		return nil, fmt.Errorf("sqlite-limit: schema: %w", err)
	}
	b.logf("%d clients running %s transactions on SQLite for %v", clients, c.LimitTx, c.Duration)
	rep := &LimitReport{Tx: c.LimitTx, Clients: clients}
	var mu sync.Mutex
	lats, elapsed := flatOut(ctx, clients, c.Duration, func(worker, k int) bool {
		if err := run(ctx, worker, k); err != nil {
			mu.Lock()
			if rep.Errors == 0 {
				b.logf("sqlite-limit: %v", err)
			}
			rep.Errors++
			mu.Unlock()
			return false
		}
		return true
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Seconds = elapsed.Seconds()
	rep.Transactions = len(lats)
	rep.PerSecond = float64(rep.Transactions) / rep.Seconds
	rep.Latency = summarise(durationsUS(lats))
	return &Report{Scenario: "sqlite-limit", Config: c, Limit: rep}, nil
}

func sqliteLimitSchema(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		`CREATE TABLE accounts (aid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, abalance INTEGER NOT NULL, filler TEXT NOT NULL)`,
		`CREATE TABLE history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ` + fmt.Sprint(sqliteLimitAccounts) + `)
		 INSERT INTO accounts SELECT i, 1, 0, printf('%84s', '') FROM n`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// sqliteLimitTx is one pgbench -N transaction.
func sqliteLimitTx(ctx context.Context, db *sql.DB) error {
	aid, tid, delta := 1+rand.IntN(sqliteLimitAccounts), 1+rand.IntN(10), rand.IntN(10001)-5000
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET abalance = abalance + ? WHERE aid = ?`, delta, aid); err != nil {
		return err
	}
	var balance int64
	if err := tx.QueryRowContext(ctx, `SELECT abalance FROM accounts WHERE aid = ?`, aid).Scan(&balance); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (?, 1, ?, ?, CURRENT_TIMESTAMP)`, tid, aid, delta); err != nil {
		return err
	}
	return tx.Commit()
}
