package db_test

// PostgreSQL-only tests: the engine facts that the SQLite tests check for
// SQLite, and the multi-instance features (NOTIFY, advisory-lock leader)
// that only exist on PostgreSQL. Each skips without a server, see dbtest.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

func TestPostgresOpenMigratesAndReopenAppliesNothing(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.Postgres(t)
	clock := clockwork.NewFakeClockAt(clockStart)

	s, err := db.Open(ctx, dsn, clock, discardLogger())
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	eq(t, "Dialect", s.Dialect(), db.Postgres)
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after first Open: %v", err)
	}
	var tables []string
	if err := s.DB().SelectContext(ctx, &tables, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name != 'goose_db_version'
		ORDER BY table_name`); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	wantTables := []string{"accruals", "bull_pen_assignments", "bull_pens", "corporate_actions", "dividend_entitlements", "events", "fills", "leaderboard_entries", "leaderboard_snapshots", "league_rooms", "leagues", "ledger_entries", "orders",
		"participant_tracks", "participants", "positions", "quotes", "sessions", "settings", "team_members", "teams", "user_addresses", "users"}
	if !slices.Equal(tables, wantTables) {
		t.Errorf("tables = %v, want %v", tables, wantTables)
	}
	type version struct {
		ID      int64 `db:"id"`
		Version int64 `db:"version_id"`
	}
	var before []version
	if err := s.DB().SelectContext(ctx, &before, `SELECT id, version_id FROM goose_db_version WHERE is_applied ORDER BY id`); err != nil {
		t.Fatalf("read goose versions: %v", err)
	}
	u := addUser(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openWithClock(t, dsn, clock)
	if err := s2.Ready(ctx); err != nil {
		t.Errorf("Ready after second Open: %v", err)
	}
	var after []version
	if err := s2.DB().SelectContext(ctx, &after, `SELECT id, version_id FROM goose_db_version WHERE is_applied ORDER BY id`); err != nil {
		t.Fatalf("read goose versions: %v", err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("goose versions after reopen = %v, want %v (nothing applied again)", after, before)
	}
	var versions []int64
	for _, v := range after {
		versions = append(versions, v.Version)
	}
	// goose records version 0 when it creates its table, then each migration once.
	want, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]int64{0}, want...)
	if !slices.Equal(versions, want) {
		t.Errorf("applied migration versions = %v, want %v", versions, want)
	}
	got, err := s2.UserByUsername(ctx, "ALICE")
	if err != nil {
		t.Fatalf("user written before reopen: %v", err)
	}
	eq(t, "ID", got.ID, u.ID)
	eq(t, "DisplayName", got.DisplayName, "The alice")
}

// TestOpenPostgresUnreachable needs no server: nothing listens on port 1.
func TestOpenPostgresUnreachable(t *testing.T) {
	for _, dsn := range []string{
		"postgres://postgres@127.0.0.1:1/x?sslmode=disable",
		"postgresql://postgres@127.0.0.1:1/x?sslmode=disable",
		"postgres://postgres@127.0.0.1:notaport/x",
	} {
		t.Run(dsn, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			s, err := db.Open(ctx, dsn, clockwork.NewFakeClockAt(clockStart), discardLogger())
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", dsn)
			}
			if s != nil {
				t.Errorf("Open(%q) returned a store with error %v", dsn, err)
			}
		})
	}
}

// moneyColumns are every column holding money, a price or a ratio of them.
var moneyColumns = []string{
	"bull_pens.borrow_fee_percent", "bull_pens.cash_interest_percent", "bull_pens.commission", "bull_pens.maintenance_margin_percent",
	"bull_pens.margin_interest_percent", "bull_pens.max_position_percent", "bull_pens.min_share_price", "bull_pens.price_impact",
	"bull_pens.starting_cash", "bull_pens.volume_limit_percent",
	"corporate_actions.amount_per_share", "corporate_actions.ratio", "dividend_entitlements.amount",
	"fills.commission", "fills.impact_cost", "fills.mid_price", "fills.price", "fills.slippage_cost", "fills.spread_cost",
	"leaderboard_entries.cash", "leaderboard_entries.max_drawdown_percent",
	"leaderboard_entries.portfolio_value", "leaderboard_entries.return_percent",
	"leaderboard_entries.sharpe_ratio", "leaderboard_entries.total_return",
	"leaderboard_entries.volatility_percent", "leaderboard_entries.win_rate", "ledger_entries.amount",
	"ledger_entries.buying_power_after", "ledger_entries.cash_after", "orders.commission",
	"orders.filled_price", "orders.limit_price", "orders.reserved", "orders.stop_price", "orders.trail_amount",
	"orders.trail_percent", "participant_tracks.last_value", "participant_tracks.max_drawdown_percent",
	"participant_tracks.peak", "participant_tracks.sum_returns", "participant_tracks.sum_squares",
	"participants.cash",
	"positions.cost_basis", "positions.realized_pnl",
	"quotes.ask", "quotes.bid", "quotes.open", "quotes.price",
}

func TestPostgresMoneyColumnsAreNumeric(t *testing.T) {
	ctx := context.Background()
	s, _ := openDSN(t, dbtest.Postgres(t))

	type column struct {
		Name string `db:"name"`
		Type string `db:"data_type"`
	}
	var cols []column
	if err := s.DB().SelectContext(ctx, &cols, `SELECT table_name || '.' || column_name AS name, data_type
		FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	var numeric []string
	for _, c := range cols {
		switch c.Type {
		case "numeric":
			numeric = append(numeric, c.Name)
		case "real", "double precision", "money":
			t.Errorf("column %s is %s: money must be exact NUMERIC", c.Name, c.Type)
		}
	}
	if !slices.Equal(numeric, moneyColumns) {
		t.Errorf("NUMERIC columns = %v, want %v", numeric, moneyColumns)
	}

	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	for i, tc := range []struct{ in, wantText string }{
		{"100000.00", "100000"},
		{"0.0025", "0.0025"},
		{"0.1", "0.1"},
		{"-0.000000001", "-0.000000001"},
		{"99999999999999999999.99", "99999999999999999999.99"},
		{"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u := addUser(t, s, fmt.Sprintf("holder%d", i))
			p := addParticipant(t, s, room.ID, u.ID)
			mustUpdate(t, s, func(tx game.Tx) error { return tx.SetCash(ctx, p.ID, dec(tc.in)) })
			var raw, typ string
			if err := s.DB().QueryRowContext(ctx, `SELECT cash::text, pg_typeof(cash)::text FROM participants WHERE id = $1`, p.ID).Scan(&raw, &typ); err != nil {
				t.Fatal(err)
			}
			eq(t, "storage type", typ, "numeric")
			eq(t, "stored text", raw, tc.wantText)
			got, err := s.Participant(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqDecExact(t, "Cash", got.Cash, dec(tc.in))
		})
	}
}

// TestPostgresListen: a listener hears what another Store on the same
// database commits, and only that.
func TestPostgresListen(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.Postgres(t)
	listener, clock := openDSN(t, dsn)
	writer, _ := openDSN(t, dsn)
	owner := addUser(t, writer, "owner")
	roomA := addRoom(t, writer, owner.ID, game.RoomActive, game.VisibilityPublic)
	roomB := addRoom(t, writer, owner.ID, game.RoomActive, game.VisibilityPublic)
	roomC := addRoom(t, writer, owner.ID, game.RoomActive, game.VisibilityPublic)

	rooms := make(chan map[int64]int64, 100)
	quotes := make(chan string, 100)
	sessions := make(chan int64, 100)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- listener.Listen(lctx, db.Listener{
			Rooms:    func(r map[int64]int64) { rooms <- r },
			Quote:    func(symbol string) { quotes <- symbol },
			Sessions: func(userID int64) { sessions <- userID },
		})
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Listen = %v, want nil after cancel", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Listen did not return after its context was cancelled")
		}
	}()

	appendIn := func(t *testing.T, fail bool, ids ...int64) {
		t.Helper()
		err := writer.Update(ctx, func(tx game.Tx) error {
			for _, id := range ids {
				if _, err := tx.AppendEvent(ctx, id, game.EventOrder, nil, map[string]int64{"room": id}); err != nil {
					return err
				}
			}
			if fail {
				return errBoom
			}
			return nil
		})
		if fail && err == nil || !fail && err != nil {
			t.Fatalf("Update = %v (fail=%v)", err, fail)
		}
	}
	saveQuote := func(t *testing.T, fail bool, symbol string) {
		t.Helper()
		err := writer.Update(ctx, func(tx game.Tx) error {
			if err := tx.SaveQuote(ctx, &game.Quote{Symbol: symbol, Price: dec("187.50"), Open: dec("180"), At: tx.Now()}); err != nil {
				return err
			}
			if fail {
				return errBoom
			}
			return nil
		})
		if fail && err == nil || !fail && err != nil {
			t.Fatalf("Update = %v (fail=%v)", err, fail)
		}
	}
	// nextRoom waits for one room signal and returns its room id.
	nextRoom := func(t *testing.T) int64 {
		t.Helper()
		r := recv(t, rooms, "a room signal")
		if len(r) != 1 {
			t.Fatalf("Rooms(%v), want one room", r)
		}
		for id, seq := range r {
			eq(t, "sequence in the signal (unknown to NOTIFY)", seq, int64(0))
			return id
		}
		panic("unreachable")
	}
	// The listener must be listening before anything is committed.
	connected := func(t *testing.T) {
		t.Helper()
		if r := recv(t, rooms, "Rooms(nil) on connect"); r != nil {
			t.Fatalf("first Rooms call after connecting = %v, want nil (catch up on every room)", r)
		}
		if u := recv(t, sessions, "Sessions(0) on connect"); u != 0 {
			t.Fatalf("first Sessions call after connecting = %d, want 0 (check every session)", u)
		}
	}

	t.Run("Rooms(nil) on connect", connected)
	t.Run("events committed by another store", func(t *testing.T) {
		appendIn(t, false, roomA.ID, roomB.ID, roomA.ID)
		got := []int64{nextRoom(t), nextRoom(t)}
		slices.Sort(got)
		eqIDs(t, "rooms signalled", got, []int64{roomA.ID, roomB.ID})
	})
	t.Run("a rolled-back transaction is not signalled", func(t *testing.T) {
		appendIn(t, true, roomC.ID)
		saveQuote(t, true, "GHOST")
		// Signals arrive in commit order: the marker's comes first only if
		// the rolled-back transaction sent none.
		appendIn(t, false, roomB.ID)
		eq(t, "room signalled after the rollback", nextRoom(t), roomB.ID)
		saveQuote(t, false, "MARK")
		eq(t, "quote signalled after the rollback", recv(t, quotes, "a quote signal"), "MARK")
	})
	t.Run("SaveQuote signals the symbol and no room", func(t *testing.T) {
		saveQuote(t, false, "AAPL")
		eq(t, "symbol", recv(t, quotes, "a quote signal"), "AAPL")
		appendIn(t, false, roomC.ID)
		eq(t, "next room signal", nextRoom(t), roomC.ID)
	})
	t.Run("DeleteSessions signals the user on commit only", func(t *testing.T) {
		alice, bob := addUser(t, writer, "alice"), addUser(t, writer, "bob")
		for i, u := range []*game.User{alice, alice, bob} {
			s := &game.Session{ID: fmt.Sprintf("s%d", i), UserID: u.ID, CreatedAt: clockStart, ExpiresAt: clockStart.Add(time.Hour)}
			if err := writer.Update(ctx, func(tx game.Tx) error { return tx.InsertSession(ctx, s) }); err != nil {
				t.Fatal(err)
			}
		}
		del := func(user int64, ids []string, fail bool) int {
			t.Helper()
			var n int
			err := writer.Update(ctx, func(tx game.Tx) error {
				var err error
				if n, err = tx.DeleteSessions(ctx, user, ids); err == nil && fail {
					err = errBoom
				}
				return err
			})
			if fail != (err != nil) {
				t.Fatalf("DeleteSessions: %v (fail=%v)", err, fail)
			}
			return n
		}
		del(bob.ID, nil, true) // rolled back: no signal, bob keeps his session
		eq(t, "deleted of alice's s0 (one id)", del(alice.ID, []string{"s0", "s2"}, false), 1)
		eq(t, "user signalled", recv(t, sessions, "a session signal"), alice.ID)
		eq(t, "deleted of bob's (all)", del(bob.ID, nil, false), 1)
		eq(t, "user signalled after the rollback", recv(t, sessions, "a session signal"), bob.ID)
		eq(t, "deleted of nothing", del(bob.ID, nil, false), 0) // nothing went: no signal
		left, err := writer.Sessions(ctx, alice.ID)
		if err != nil || len(left) != 1 || left[0].ID != "s1" {
			t.Fatalf("alice's sessions = %v, %v; want s1", left, err)
		}
	})
	t.Run("reconnects after losing its connection", func(t *testing.T) {
		var killed int
		if err := writer.DB().GetContext(ctx, &killed, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN bullpen%') k`); err != nil {
			t.Fatal(err)
		}
		eq(t, "listening sessions terminated", killed, 1)
		// The listener backs off on its clock before reconnecting.
		wait, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		if err := clock.BlockUntilContext(wait, 1); err != nil {
			t.Fatalf("listener never waited to reconnect: %v", err)
		}
		clock.Advance(5 * time.Second)
		connected(t)
		appendIn(t, false, roomA.ID)
		eq(t, "room signalled after reconnecting", nextRoom(t), roomA.ID)
	})
	select {
	case r := <-rooms:
		t.Errorf("unexpected Rooms(%v)", r)
	case q := <-quotes:
		t.Errorf("unexpected Quote(%q)", q)
	case u := <-sessions:
		t.Errorf("unexpected Sessions(%d)", u)
	default:
	}
}

// TestPostgresLeader: two stores on one database compete for one advisory
// lock. Both run on one fake clock, so each Advance is one retry of the
// standby and one lock check of the leader.
func TestPostgresLeader(t *testing.T) {
	const (
		key    = 0xB011
		period = time.Second
	)
	ctx := context.Background()
	dsn := dbtest.Postgres(t)
	clock := clockwork.NewFakeClockAt(clockStart)
	stores := map[string]*db.Store{"a": openWithClock(t, dsn, clock), "b": openWithClock(t, dsn, clock)}

	var (
		leaders atomic.Int32
		// cutOff is set while a leader's connection is gone: it works on
		// until its next lock check fails, and a standby retrying in the
		// same period may already hold the lock, so two may overlap for up
		// to one period. Nothing else allows two at a time.
		cutOff atomic.Bool
	)
	started := make(chan string, 100)
	stopped := make(chan string, 100)
	work := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			if n := leaders.Add(1); n != 1 && !cutOff.Load() {
				t.Errorf("%s leads while %d others do", name, n-1)
			}
			started <- name
			<-ctx.Done()
			leaders.Add(-1)
			stopped <- name
			return nil
		}
	}
	cancels := map[string]context.CancelFunc{}
	dones := map[string]chan error{}
	for name, s := range stores {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		cancels[name], dones[name] = cancel, done
		go func() { done <- s.Leader(lctx, key, period, work(name)) }()
	}
	wait := func(t *testing.T, name string) {
		t.Helper()
		if err := recv(t, dones[name], "Leader "+name+" to return"); err != nil {
			t.Errorf("Leader %s = %v, want nil after cancel", name, err)
		}
		delete(dones, name)
	}
	defer func() {
		for name, cancel := range cancels {
			cancel()
			if _, ok := dones[name]; ok {
				wait(t, name)
			}
		}
	}()

	deadline, cancelDeadline := context.WithTimeout(ctx, waitTimeout)
	defer cancelDeadline()
	// tick waits until every live Leader waits on the clock (the leader
	// before its next lock check, a standby before its next try), then
	// lets that period pass.
	tick := func(t *testing.T) {
		t.Helper()
		if err := clock.BlockUntilContext(deadline, len(dones)); err != nil {
			t.Fatalf("Leaders never waited on the clock: %v", err)
		}
		clock.Advance(period)
	}
	// await ticks until ch yields a name.
	await := func(t *testing.T, ch chan string, what string) string {
		t.Helper()
		for {
			select {
			case name := <-ch:
				return name
			default:
				tick(t)
			}
		}
	}
	other := func(name string) string {
		if name == "a" {
			return "b"
		}
		return "a"
	}
	holder := func(t *testing.T) (pid int) {
		t.Helper()
		if err := stores["a"].DB().GetContext(ctx, &pid, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid = 0 AND objid = $1 AND objsubid = 1`, key); err != nil {
			t.Fatalf("advisory lock holder: %v", err)
		}
		return pid
	}

	var leader string
	t.Run("one store leads, the other keeps trying", func(t *testing.T) {
		leader = await(t, started, "a leader")
		for range 5 {
			tick(t)
		}
		select {
		case name := <-started:
			t.Fatalf("%s started leading while %s leads", name, leader)
		case name := <-stopped:
			t.Fatalf("%s stopped leading", name)
		default:
		}
		eq(t, "leaders", leaders.Load(), int32(1))
		holder(t)
	})
	if t.Failed() {
		return
	}
	t.Run("losing the lock's connection stops the work, and someone leads again", func(t *testing.T) {
		cutOff.Store(true)
		var terminated bool
		if err := stores["a"].DB().GetContext(ctx, &terminated, `SELECT pg_terminate_backend($1)`, holder(t)); err != nil || !terminated {
			t.Fatalf("terminate the lock holder: %v, %v", terminated, err)
		}
		eq(t, "stopped", await(t, stopped, "the cut-off leader to stop"), leader)
		leader = await(t, started, "a new leader")
		eq(t, "leaders", leaders.Load(), int32(1))
		cutOff.Store(false)
		for range 3 {
			tick(t)
		}
		select {
		case name := <-started:
			t.Fatalf("%s started leading while %s leads", name, leader)
		case name := <-stopped:
			t.Fatalf("%s stopped leading", name)
		default:
		}
	})
	if t.Failed() {
		return
	}
	t.Run("cancelling the leader hands over to the other", func(t *testing.T) {
		cancels[leader]()
		eq(t, "stopped", recv(t, stopped, "the cancelled leader to stop"), leader)
		wait(t, leader)
		eq(t, "new leader", await(t, started, "the other to take over"), other(leader))
		eq(t, "leaders", leaders.Load(), int32(1))
	})
}
