package db_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// TestMain fails the package if a test leaves goroutines behind (an
// unclosed pool, a hook still running).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStore runs every test that is not about one engine against each
// backend of dbtest.Backends, one subtest per case. The PostgreSQL half
// skips, once, when no server answers (see dbtest.Postgres).
func TestStore(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, backend string)
	}{
		{"ReadyFailsAfterClose", testReadyFailsAfterClose},
		{"ReadyReportsPendingMigrations", testReadyReportsPendingMigrations},
		{"ForeignKeysEnforced", testForeignKeysEnforced},
		{"TxNowIsTruncatedClockTime", testTxNowIsTruncatedClockTime},
		{"UpdateRollsBackWhenFnFails", testUpdateRollsBackWhenFnFails},
		{"UpdateRecoversFromPanicInFn", testUpdateRecoversFromPanicInFn},
		{"Users", testUsers},
		{"BullPenRoundTrip", testBullPenRoundTrip},
		{"BullPensFilter", testBullPensFilter},
		{"LiveBullPens", testLiveBullPens},
		{"MoveBullPen", testMoveBullPen},
		{"LockBullPenAsCommitted", testLockBullPenAsCommitted},
		{"QuoteAsCommitted", testQuoteAsCommitted},
		{"Participants", testParticipants},
		{"Positions", testPositions},
		{"OrderRoundTrip", testOrderRoundTrip},
		{"OrderClientIDUnique", testOrderClientIDUnique},
		{"OrdersFilter", testOrdersFilter},
		{"OpenOrders", testOpenOrders},
		{"Snapshots", testSnapshots},
		{"Quotes", testQuotes},
		{"Settings", testSettings},
		{"Events", testEvents},
		{"ConcurrentAppendEventSequences", testConcurrentAppendEventSequences},
		{"SequencesWithinOneTransaction", testSequencesWithinOneTransaction},
		{"TimesComeBackUTC", testTimesComeBackUTC},
		{"TimesInOtherZones", testTimesInOtherZones},
	}
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			// Skip the whole backend with one message when it is not there.
			dbtest.Open(t, backend)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, backend) })
			}
		})
	}
}

// Open, migrations, readiness (SQLite; see postgres_test.go for PostgreSQL)

func TestOpenMigratesFreshFileAndReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bullpen.db")
	clock := clockwork.NewFakeClockAt(clockStart)

	s, err := db.Open(ctx, "sqlite:"+path, clock, discardLogger())
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	eq(t, "Dialect", s.Dialect(), db.SQLite)
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after first Open: %v", err)
	}
	var tables []string
	if err := s.DB().SelectContext(ctx, &tables, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name != 'goose_db_version' ORDER BY name`); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	wantTables := []string{"accruals", "bull_pen_assignments", "bull_pens", "corporate_actions", "dividend_entitlements", "events", "fills", "leaderboard_entries", "leaderboard_snapshots", "league_rooms", "leagues", "ledger_entries", "orders",
		"participant_tracks", "participants", "positions", "quotes", "sessions", "settings", "team_members", "teams", "user_addresses", "users"}
	if !slices.Equal(tables, wantTables) {
		t.Errorf("tables = %v, want %v", tables, wantTables)
	}
	u := addUser(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2, err := db.Open(ctx, "sqlite:"+path, clock, discardLogger())
	if err != nil {
		t.Fatalf("second Open of the same file: %v", err)
	}
	defer s2.Close()
	if err := s2.Ready(ctx); err != nil {
		t.Errorf("Ready after second Open: %v", err)
	}
	var applied []int64
	if err := s2.DB().SelectContext(ctx, &applied, `SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`); err != nil {
		t.Fatalf("read goose versions: %v", err)
	}
	// goose records version 0 when it creates its table, then each migration once.
	want, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]int64{0}, want...)
	if !slices.Equal(applied, want) {
		t.Errorf("applied migration versions = %v, want %v (each applied once)", applied, want)
	}
	got, err := s2.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("user written before reopen: %v", err)
	}
	eq(t, "ID", got.ID, u.ID)
	eq(t, "DisplayName", got.DisplayName, "The alice")
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, tc := range []struct{ name, dsn string }{
		{"mysql URL", "mysql://x"},
		{"sqlite without a path", "sqlite:"},
		{"empty string", ""},
		{"bare path without scheme", "bullpen.db"},
		{"sqlite file in a missing directory", "sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "x.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := db.Open(context.Background(), tc.dsn, clockwork.NewFakeClockAt(clockStart), discardLogger())
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.dsn)
			}
			if s != nil {
				t.Errorf("Open(%q) returned a store with error %v", tc.dsn, err)
			}
		})
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	s, _ := openDSN(t, "sqlite::memory:")
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	u := addUser(t, s, "mem")
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	eq(t, "Username", got.Username, "mem")
	eqTime(t, "CreatedAt", got.CreatedAt, txNow)
}

func testReadyFailsAfterClose(t *testing.T, backend string) {
	s, err := db.Open(context.Background(), dbtest.Open(t, backend), clockwork.NewFakeClockAt(clockStart), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err == nil {
		t.Error("Ready on a closed store = nil, want an error")
	}
}

func testReadyReportsPendingMigrations(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after Open: %v", err)
	}
	// Forget that migration 1 ran, as if the binary were newer than the schema.
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready with a pending migration = nil, want an error")
	}
}

func testForeignKeysEnforced(t *testing.T, backend string) {
	s := mustOpen(t, backend)
	err := s.Update(context.Background(), func(tx game.Tx) error {
		return tx.InsertParticipant(context.Background(), &game.Participant{BullPenID: 404, UserID: 404, Cash: dec("1"), JoinedAt: txNow})
	})
	if err == nil {
		t.Fatal("participant of a missing room and user was stored: foreign keys are not enforced (SQLite: foreign_keys pragma is off)")
	}
}

// Transactions

func testTxNowIsTruncatedClockTime(t *testing.T, backend string) {
	s, clock := mustOpenClock(t, backend)
	var first, second time.Time
	mustUpdate(t, s, func(tx game.Tx) error { first = tx.Now(); return nil })
	clock.Advance(1500*time.Millisecond + 999*time.Microsecond)
	mustUpdate(t, s, func(tx game.Tx) error { second = tx.Now(); return nil })
	eqTime(t, "first Now", first, time.Date(2025, 3, 14, 9, 30, 15, 123000000, time.UTC))
	eqTime(t, "second Now", second, time.Date(2025, 3, 14, 9, 30, 16, 624000000, time.UTC))
}

func testUpdateRollsBackWhenFnFails(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	mustUpdate(t, s, func(tx game.Tx) error {
		_, err := tx.AppendEvent(ctx, room.ID, game.EventRoomState, nil, map[string]int{"n": 1})
		return err
	})

	for _, tc := range []struct {
		name     string
		returned error
		wantCode string
	}{
		{"plain error", errBoom, game.EINTERNAL},
		{"wrapped error", fmt.Errorf("step 3: %w", errBoom), game.EINTERNAL},
		{"game error keeps its code", game.Invalid("quantity", "must be positive"), game.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sawOwnWrites bool
			err := s.Update(ctx, func(tx game.Tx) error {
				if err := tx.InsertUser(ctx, &game.User{Username: "ghost", CreatedAt: tx.Now()}); err != nil {
					return err
				}
				for i := range 3 {
					if _, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, map[string]int{"i": i}); err != nil {
						return err
					}
				}
				if err := tx.SetSetting(ctx, "k", "v"); err != nil {
					return err
				}
				// The transaction sees its own writes; the store does not yet.
				if _, err := tx.UserByUsername(ctx, "ghost"); err != nil {
					return fmt.Errorf("tx does not see its own user: %w", err)
				}
				if _, err := s.UserByUsername(ctx, "ghost"); game.ErrorCode(err) != game.ENOTFOUND {
					return fmt.Errorf("uncommitted user visible outside the tx (err %v)", err)
				}
				sawOwnWrites = true
				return tc.returned
			})
			if !sawOwnWrites {
				t.Fatalf("fn failed before returning its error: %v", err)
			}
			if !errors.Is(err, tc.returned) {
				t.Errorf("Update error = %v, want %v", err, tc.returned)
			}
			wantCode(t, "Update", err, tc.wantCode)

			_, err = s.UserByUsername(ctx, "ghost")
			wantCode(t, "user of the rolled-back tx", err, game.ENOTFOUND)
			_, err = s.Setting(ctx, "k")
			wantCode(t, "setting of the rolled-back tx", err, game.ENOTFOUND)
			evs, err := s.Events(ctx, room.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Sequence != 1 {
				t.Errorf("events after rollback = %d (%v), want only sequence 1", len(evs), evs)
			}
			b, err := s.BullPen(ctx, room.ID)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "LastSequence after rollback", b.LastSequence, int64(1))
		})
	}

	// The next committed event continues right after the rolled-back ones' start.
	var ev *game.Event
	mustUpdate(t, s, func(tx game.Tx) (err error) {
		ev, err = tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, nil)
		return err
	})
	eq(t, "sequence after rollbacks", ev.Sequence, int64(2))
}

func testUpdateRecoversFromPanicInFn(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Update swallowed the panic of fn")
			}
		}()
		_ = s.Update(ctx, func(tx game.Tx) error {
			if err := tx.InsertUser(ctx, &game.User{Username: "panicky", CreatedAt: tx.Now()}); err != nil {
				return err
			}
			panic("fn blew up")
		})
	}()
	guard, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Update(guard, func(tx game.Tx) error {
		return tx.InsertUser(guard, &game.User{Username: "next", CreatedAt: tx.Now()})
	}); err != nil {
		t.Fatalf("Update after a panicking Update: %v", err)
	}
	_, err := s.UserByUsername(ctx, "panicky")
	wantCode(t, "user of the panicked tx", err, game.ENOTFOUND)
}

// Users

func testUsers(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	alice := &game.User{Username: "Alice", DisplayName: "Alice A.", PasswordHash: "$2a$10$abc", CreatedAt: ms(-time.Hour)}
	bob := &game.User{Username: "bob", DisplayName: "Bob", PasswordHash: "h2", CreatedAt: ms(0)}
	mustUpdate(t, s, func(tx game.Tx) error {
		if err := tx.InsertUser(ctx, alice); err != nil {
			return err
		}
		return tx.InsertUser(ctx, bob)
	})
	if alice.ID == 0 || bob.ID == 0 || alice.ID == bob.ID {
		t.Fatalf("InsertUser ids = %d, %d: want distinct non-zero", alice.ID, bob.ID)
	}

	check := func(t *testing.T, got, want *game.User) {
		t.Helper()
		eq(t, "ID", got.ID, want.ID)
		eq(t, "Username", got.Username, want.Username)
		eq(t, "DisplayName", got.DisplayName, want.DisplayName)
		eq(t, "PasswordHash", got.PasswordHash, want.PasswordHash)
		eqTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	}

	t.Run("UserByID", func(t *testing.T) {
		got, err := s.UserByID(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, alice)
	})
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		t.Run("UserByUsername "+name+" finds Alice", func(t *testing.T) {
			got, err := s.UserByUsername(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, alice)
		})
	}
	t.Run("missing user is NOT_FOUND", func(t *testing.T) {
		_, err := s.UserByID(ctx, 999)
		wantCode(t, "UserByID(999)", err, game.ENOTFOUND)
		_, err = s.UserByUsername(ctx, "carol")
		wantCode(t, "UserByUsername(carol)", err, game.ENOTFOUND)
	})
	for _, tc := range []struct {
		name string
		ids  []int64
		want []*game.User
	}{
		{"no ids", nil, nil},
		{"both", []int64{bob.ID, alice.ID}, []*game.User{alice, bob}},
		{"one and a missing id", []int64{999, bob.ID}, []*game.User{bob}},
		{"only missing ids", []int64{998, 999}, nil},
	} {
		t.Run("UsersByIDs "+tc.name, func(t *testing.T) {
			got, err := s.UsersByIDs(ctx, tc.ids)
			if err != nil {
				t.Fatal(err)
			}
			// The order is not specified: compare by id.
			slices.SortFunc(got, func(a, b *game.User) int { return int(a.ID - b.ID) })
			if len(got) != len(tc.want) {
				t.Fatalf("got %d users, want %d", len(got), len(tc.want))
			}
			for i := range got {
				check(t, got[i], tc.want[i])
			}
		})
	}
	for _, dup := range []string{"bob", "BOB", "Bob"} {
		t.Run("duplicate username "+dup+" is CONFLICT and stores nothing", func(t *testing.T) {
			err := s.Update(ctx, func(tx game.Tx) error {
				if err := tx.InsertUser(ctx, &game.User{Username: "carol", CreatedAt: tx.Now()}); err != nil {
					return err
				}
				return tx.InsertUser(ctx, &game.User{Username: dup, CreatedAt: tx.Now()})
			})
			wantCode(t, "Update", err, game.ECONFLICT)
			_, err = s.UserByUsername(ctx, "carol")
			wantCode(t, "carol from the failed tx", err, game.ENOTFOUND)
			got, err := s.UserByUsername(ctx, "bob")
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, bob)
		})
	}
}

// Bull pens

func testBullPenRoundTrip(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	for _, tc := range []struct {
		name    string
		allowed []string
		max     *int
		cash    string
		comm    string
	}{
		{"every symbol and no cap", nil, nil, "100000.00", "0.0025"},
		{"empty allow-list and cap of zero", []string{}, ptr(0), "0", "0"},
		{"one symbol", []string{"AAPL"}, ptr(1), "250.5", "1.99"},
		{"several symbols and a cap", []string{"AAPL", "MSFT", "BRK.B"}, ptr(25), "1000000.000001", "0.0000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &game.BullPen{
				Name: "Room " + tc.name, Description: "Trade — with ünïcode & 'quotes'", OwnerID: owner.ID,
				State: game.RoomScheduled, StartsAt: ms(time.Hour), EndsAt: ms(7 * 24 * time.Hour),
				StartingCash: dec(tc.cash), Commission: dec(tc.comm), AllowShortSelling: tc.max != nil,
				AllowedSymbols: tc.allowed, MaxParticipants: tc.max,
				Visibility: game.VisibilityPrivate, TradeVisibility: game.TradesPublic, InviteCode: "ABCD-1234",
				LastSequence: 7, // ignored: a new room starts at 0
				CreatedAt:    ms(0),
			}
			mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertBullPen(ctx, in) })
			if in.ID == 0 {
				t.Fatal("InsertBullPen left ID 0")
			}
			want := *in
			want.LastSequence = 0

			got, err := s.BullPen(ctx, in.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqBullPen(t, got, &want)

			var locked *game.BullPen
			mustUpdate(t, s, func(tx game.Tx) (err error) { locked, err = tx.LockBullPen(ctx, in.ID); return err })
			eqBullPen(t, locked, &want)
		})
	}
	t.Run("missing room is NOT_FOUND", func(t *testing.T) {
		_, err := s.BullPen(ctx, 999)
		wantCode(t, "BullPen(999)", err, game.ENOTFOUND)
		err = s.Update(ctx, func(tx game.Tx) error { _, err := tx.LockBullPen(ctx, 999); return err })
		wantCode(t, "LockBullPen(999)", err, game.ENOTFOUND)
	})
}

func testBullPensFilter(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	u1 := addUser(t, s, "u1")
	u2 := addUser(t, s, "u2")
	u3 := addUser(t, s, "u3")
	stranger := addUser(t, s, "stranger")

	pub1 := addRoom(t, s, u1.ID, game.RoomScheduled, game.VisibilityPublic) // 1
	priv1 := addRoom(t, s, u1.ID, game.RoomActive, game.VisibilityPrivate)  // 2
	priv2 := addRoom(t, s, u2.ID, game.RoomActive, game.VisibilityPrivate)  // 3, u3 joined
	pub2 := addRoom(t, s, u2.ID, game.RoomActive, game.VisibilityPublic)    // 4, u3 joined too
	priv3 := addRoom(t, s, u2.ID, game.RoomEnded, game.VisibilityPrivate)   // 5
	addParticipant(t, s, priv2.ID, u3.ID)
	addParticipant(t, s, pub2.ID, u3.ID)

	active, ended, paused := game.RoomActive, game.RoomEnded, game.RoomPaused
	for _, tc := range []struct {
		name      string
		f         game.BullPenFilter
		want      []int64
		wantTotal int
	}{
		{"anonymous sees public rooms", game.BullPenFilter{Limit: 10}, []int64{pub2.ID, pub1.ID}, 2},
		{"stranger sees public rooms", game.BullPenFilter{ViewerID: stranger.ID, Limit: 10}, []int64{pub2.ID, pub1.ID}, 2},
		{"owner sees own private room", game.BullPenFilter{ViewerID: u1.ID, Limit: 10}, []int64{pub2.ID, priv1.ID, pub1.ID}, 3},
		{"participant sees joined private room once", game.BullPenFilter{ViewerID: u3.ID, Limit: 10}, []int64{pub2.ID, priv2.ID, pub1.ID}, 3},
		{"owner of several", game.BullPenFilter{ViewerID: u2.ID, Limit: 10}, []int64{priv3.ID, pub2.ID, priv2.ID, pub1.ID}, 4},
		{"state ACTIVE for participant", game.BullPenFilter{ViewerID: u3.ID, State: &active, Limit: 10}, []int64{pub2.ID, priv2.ID}, 2},
		{"state ENDED for anonymous", game.BullPenFilter{State: &ended, Limit: 10}, []int64{}, 0},
		{"state ENDED for owner", game.BullPenFilter{ViewerID: u2.ID, State: &ended, Limit: 10}, []int64{priv3.ID}, 1},
		{"state PAUSED matches none", game.BullPenFilter{ViewerID: u2.ID, State: &paused, Limit: 10}, []int64{}, 0},
		{"page 1 of 2", game.BullPenFilter{ViewerID: u2.ID, Limit: 2}, []int64{priv3.ID, pub2.ID}, 4},
		{"page 2 of 2", game.BullPenFilter{ViewerID: u2.ID, BeforeID: pub2.ID, Limit: 2}, []int64{priv2.ID, pub1.ID}, 4},
		{"past the last page", game.BullPenFilter{ViewerID: u2.ID, BeforeID: pub1.ID, Limit: 2}, []int64{}, 4},
		{"before with state", game.BullPenFilter{ViewerID: u2.ID, State: &active, BeforeID: pub2.ID, Limit: 10}, []int64{priv2.ID}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.BullPens(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			eqIDs(t, "ids", roomIDs(got), tc.want)
			eq(t, "total", total, tc.wantTotal)
		})
	}
	t.Run("rows are complete", func(t *testing.T) {
		got, _, err := s.BullPens(ctx, game.BullPenFilter{ViewerID: u1.ID, State: &active, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d rooms, want 1", len(got))
		}
		eqBullPen(t, got[0], pub2)
	})
}

func testLiveBullPens(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	u := addUser(t, s, "u")
	var want []int64
	for _, st := range []game.RoomState{game.RoomEnded, game.RoomActive, game.RoomScheduled, game.RoomCancelled, game.RoomPaused, game.RoomActive} {
		b := addRoom(t, s, u.ID, st, game.VisibilityPrivate)
		if st == game.RoomScheduled || st == game.RoomActive || st == game.RoomPaused {
			want = append(want, b.ID)
		}
	}
	got, err := s.LiveBullPens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eqIDs(t, "live room ids", roomIDs(got), want)
	for _, b := range got {
		eqTime(t, fmt.Sprintf("room %d StartsAt", b.ID), b.StartsAt, ms(time.Hour))
	}
}

func testMoveBullPen(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	u := addUser(t, s, "u")
	newStart, newEnd := ms(2*time.Minute), ms(90*time.Minute)
	for _, tc := range []struct {
		name      string
		initial   game.RoomState
		from, to  game.RoomState
		missing   bool
		wantMoved bool
	}{
		{"scheduled to active", game.RoomScheduled, game.RoomScheduled, game.RoomActive, false, true},
		{"active to paused", game.RoomActive, game.RoomActive, game.RoomPaused, false, true},
		{"paused to ended", game.RoomPaused, game.RoomPaused, game.RoomEnded, false, true},
		{"wrong from state", game.RoomActive, game.RoomScheduled, game.RoomActive, false, false},
		{"already moved by someone else", game.RoomEnded, game.RoomActive, game.RoomEnded, false, false},
		{"missing room", game.RoomActive, game.RoomActive, game.RoomEnded, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := addRoom(t, s, u.ID, tc.initial, game.VisibilityPublic)
			id := b.ID
			if tc.missing {
				id = 999
			}
			var moved bool
			mustUpdate(t, s, func(tx game.Tx) (err error) {
				moved, err = tx.MoveBullPen(ctx, id, tc.from, tc.to, newStart, newEnd)
				return err
			})
			eq(t, "moved", moved, tc.wantMoved)
			got, err := s.BullPen(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *b
			if tc.wantMoved {
				want.State, want.StartsAt, want.EndsAt = tc.to, newStart, newEnd
			}
			eqBullPen(t, got, &want)
		})
	}
}

// Participants and positions

func testParticipants(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	a := addUser(t, s, "a")
	b := addUser(t, s, "b")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	other := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)

	pa := &game.Participant{BullPenID: room.ID, UserID: a.ID, Cash: dec("100000.00"), JoinedAt: ms(time.Second)}
	pb := &game.Participant{BullPenID: room.ID, UserID: b.ID, Cash: dec("0.0025"), JoinedAt: ms(2 * time.Second)}
	po := &game.Participant{BullPenID: other.ID, UserID: a.ID, Cash: dec("5"), JoinedAt: ms(3 * time.Second)}
	mustUpdate(t, s, func(tx game.Tx) error {
		for _, p := range []*game.Participant{pa, pb, po} {
			if err := tx.InsertParticipant(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(t *testing.T, got, want *game.Participant) {
		t.Helper()
		eq(t, "ID", got.ID, want.ID)
		eq(t, "BullPenID", got.BullPenID, want.BullPenID)
		eq(t, "UserID", got.UserID, want.UserID)
		eqDecExact(t, "Cash", got.Cash, want.Cash)
		eqTime(t, "JoinedAt", got.JoinedAt, want.JoinedAt)
	}

	t.Run("Participant by id", func(t *testing.T) {
		got, err := s.Participant(ctx, pb.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, pb)
	})
	t.Run("ParticipantByUser", func(t *testing.T) {
		got, err := s.ParticipantByUser(ctx, other.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, po)
		_, err = s.ParticipantByUser(ctx, other.ID, b.ID)
		wantCode(t, "ParticipantByUser(other, b)", err, game.ENOTFOUND)
		_, err = s.Participant(ctx, 999)
		wantCode(t, "Participant(999)", err, game.ENOTFOUND)
	})
	t.Run("Participants of a room in id order and count", func(t *testing.T) {
		got, err := s.Participants(ctx, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d participants, want 2", len(got))
		}
		check(t, got[0], pa)
		check(t, got[1], pb)
		n, err := s.ParticipantCount(ctx, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ParticipantCount", n, 2)
		n, err = s.ParticipantCount(ctx, 999)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ParticipantCount of a missing room", n, 0)
	})
	t.Run("joining twice is CONFLICT", func(t *testing.T) {
		err := s.Update(ctx, func(tx game.Tx) error {
			return tx.InsertParticipant(ctx, &game.Participant{BullPenID: room.ID, UserID: a.ID, Cash: dec("1"), JoinedAt: tx.Now()})
		})
		wantCode(t, "second join", err, game.ECONFLICT)
	})
	for _, cash := range []string{"99999.9975", "0", "-12.50", "123456789012345678901234567890.123456789"} {
		t.Run("SetCash "+cash, func(t *testing.T) {
			mustUpdate(t, s, func(tx game.Tx) error { return tx.SetCash(ctx, pa.ID, dec(cash)) })
			got, err := s.Participant(ctx, pa.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqDecExact(t, "Cash", got.Cash, dec(cash))
			unchanged, err := s.Participant(ctx, pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqDecExact(t, "other participant's Cash", unchanged.Cash, pb.Cash)
		})
	}
}

func testPositions(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	a := addUser(t, s, "a")
	b := addUser(t, s, "b")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	other := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	pa := addParticipant(t, s, room.ID, a.ID)
	pb := addParticipant(t, s, room.ID, b.ID)
	po := addParticipant(t, s, other.ID, a.ID)

	save := func(t *testing.T, ps ...*game.Position) {
		t.Helper()
		mustUpdate(t, s, func(tx game.Tx) error {
			for _, p := range ps {
				if err := tx.SavePosition(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	check := func(t *testing.T, got []*game.Position, want ...*game.Position) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %d positions, want %d", len(got), len(want))
		}
		for i := range got {
			what := fmt.Sprintf("[%d] %d/%s", i, want[i].ParticipantID, want[i].Symbol)
			eq(t, what+" ParticipantID", got[i].ParticipantID, want[i].ParticipantID)
			eq(t, what+" Symbol", got[i].Symbol, want[i].Symbol)
			eq(t, what+" Quantity", got[i].Quantity, want[i].Quantity)
			eqDecExact(t, what+" CostBasis", got[i].CostBasis, want[i].CostBasis)
			eqDecExact(t, what+" RealizedPnL", got[i].RealizedPnL, want[i].RealizedPnL)
			eqTime(t, what+" UpdatedAt", got[i].UpdatedAt, want[i].UpdatedAt)
		}
	}

	msftA := &game.Position{ParticipantID: pa.ID, Symbol: "MSFT", Quantity: 3, CostBasis: dec("1230.0075"), RealizedPnL: dec("0"), UpdatedAt: ms(0)}
	aaplA := &game.Position{ParticipantID: pa.ID, Symbol: "AAPL", Quantity: -5, CostBasis: dec("875.25"), RealizedPnL: dec("-3.10"), UpdatedAt: ms(0)}
	aaplB := &game.Position{ParticipantID: pb.ID, Symbol: "AAPL", Quantity: 1, CostBasis: dec("175.05"), RealizedPnL: dec("0"), UpdatedAt: ms(0)}
	aaplO := &game.Position{ParticipantID: po.ID, Symbol: "AAPL", Quantity: 9, CostBasis: dec("9"), RealizedPnL: dec("0"), UpdatedAt: ms(0)}
	save(t, msftA, aaplA, aaplB, aaplO)

	t.Run("Positions of a participant sorted by symbol", func(t *testing.T) {
		got, err := s.Positions(ctx, pa.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, aaplA, msftA)
	})
	t.Run("PositionsByRoom sorted by participant then symbol", func(t *testing.T) {
		got, err := s.PositionsByRoom(ctx, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, aaplA, msftA, aaplB)
	})
	t.Run("saving again updates in place", func(t *testing.T) {
		updated := &game.Position{ParticipantID: pa.ID, Symbol: "MSFT", Quantity: 0, CostBasis: dec("0"), RealizedPnL: dec("41.9925"), UpdatedAt: ms(time.Minute)}
		save(t, updated)
		got, err := s.Positions(ctx, pa.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, aaplA, updated)
		others, err := s.Positions(ctx, po.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, others, aaplO)
	})
	t.Run("no positions is empty, not an error", func(t *testing.T) {
		got, err := s.Positions(ctx, 999)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got)
	})
}

// Orders

func testOrderRoundTrip(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	p := addParticipant(t, s, room.ID, owner.ID)

	full := &game.Order{
		BullPenID: room.ID, ParticipantID: p.ID, ClientOrderID: ptr("client-1"), Symbol: "AAPL",
		Side: game.SideSell, Type: game.OrderTypeStopLimit, Quantity: 42,
		LimitPrice: decp("187.50"), StopPrice: decp("188.0025"), Triggered: true,
		Status: game.OrderStatusFilled, FilledQuantity: 42, FilledPrice: decp("187.55"),
		Commission: dec("0.0025"), Reserved: dec("7875.00"),
		RejectReason: ptr(game.RejectNoPrice), RejectMessage: ptr("no price for AAPL"),
		CreatedAt: ms(-time.Minute), UpdatedAt: ms(0), FilledAt: ptr(ms(500 * time.Millisecond)),
	}
	bare := &game.Order{
		BullPenID: room.ID, ParticipantID: p.ID, Symbol: "MSFT", Side: game.SideBuy, Type: game.OrderTypeMarket,
		Quantity: 1, Status: game.OrderStatusOpen, Commission: dec("0"), Reserved: dec("100000.00"),
		CreatedAt: ms(0), UpdatedAt: ms(0),
	}
	for _, tc := range []struct {
		name string
		o    *game.Order
	}{{"every field set", full}, {"nil pointers stay nil", bare}} {
		t.Run("insert "+tc.name, func(t *testing.T) {
			want := *tc.o
			mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertOrder(ctx, tc.o) })
			if tc.o.ID == 0 {
				t.Fatal("InsertOrder left ID 0")
			}
			want.ID = tc.o.ID
			got, err := s.Order(ctx, tc.o.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqOrder(t, got, &want)
		})
	}

	for _, tc := range []struct {
		name   string
		base   *game.Order
		mutate func(o *game.Order)
	}{
		{"fill sets the nil pointers", bare, func(o *game.Order) {
			o.Triggered, o.Status, o.FilledQuantity = true, game.OrderStatusFilled, 1
			o.FilledPrice, o.FilledAt = decp("411.1234"), ptr(ms(time.Minute))
			o.Commission, o.Reserved, o.UpdatedAt = dec("0.99"), dec("0"), ms(time.Minute)
			o.RejectReason, o.RejectMessage = ptr("X"), ptr("y")
		}},
		{"clearing sets pointers back to nil", full, func(o *game.Order) {
			o.Triggered, o.Status, o.FilledQuantity = false, game.OrderStatusOpen, 0
			o.FilledPrice, o.FilledAt, o.RejectReason, o.RejectMessage = nil, nil, nil, nil
			o.Commission, o.Reserved, o.UpdatedAt = dec("0"), dec("12.34"), ms(2*time.Minute)
		}},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			cur, err := s.Order(ctx, tc.base.ID)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(cur)
			want := *cur
			mustUpdate(t, s, func(tx game.Tx) error { return tx.UpdateOrder(ctx, cur) })
			got, err := s.Order(ctx, tc.base.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqOrder(t, got, &want)
		})
	}

	t.Run("OrderByClientID", func(t *testing.T) {
		got, err := s.OrderByClientID(ctx, p.ID, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ID", got.ID, full.ID)
		_, err = s.OrderByClientID(ctx, p.ID, "client-2")
		wantCode(t, "unknown client id", err, game.ENOTFOUND)
		_, err = s.OrderByClientID(ctx, p.ID+1, "client-1")
		wantCode(t, "client id of another participant", err, game.ENOTFOUND)
		_, err = s.Order(ctx, 999)
		wantCode(t, "Order(999)", err, game.ENOTFOUND)
	})
}

func testOrderClientIDUnique(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	other := addUser(t, s, "other")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	p := addParticipant(t, s, room.ID, owner.ID)
	q := addParticipant(t, s, room.ID, other.ID)
	first := newOrder(p, "AAPL", game.OrderStatusOpen)
	first.ClientOrderID = ptr("dup")
	mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertOrder(ctx, first) })

	for _, tc := range []struct {
		name     string
		who      *game.Participant
		clientID *string
		wantCode string
	}{
		{"same participant same id is CONFLICT", p, ptr("dup"), game.ECONFLICT},
		{"same participant other id", p, ptr("dup2"), ""},
		{"other participant same id", q, ptr("dup"), ""},
		{"no client id twice", p, nil, ""},
		{"no client id again", p, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrder(tc.who, "MSFT", game.OrderStatusOpen)
			o.ClientOrderID = tc.clientID
			err := s.Update(ctx, func(tx game.Tx) error { return tx.InsertOrder(ctx, o) })
			wantCode(t, "InsertOrder", err, tc.wantCode)
		})
	}
	got, total, err := s.Orders(ctx, game.OrderFilter{BullPenID: room.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "orders stored", len(got), 5)
	eq(t, "total", total, 5)
}

func testOrdersFilter(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	ua := addUser(t, s, "a")
	ub := addUser(t, s, "b")
	room := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
	otherRoom := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
	pa := addParticipant(t, s, room.ID, ua.ID)
	pb := addParticipant(t, s, room.ID, ub.ID)
	po := addParticipant(t, s, otherRoom.ID, ua.ID)

	o1 := addOrder(t, s, pa, "AAPL", game.OrderStatusOpen)
	o2 := addOrder(t, s, pb, "AAPL", game.OrderStatusFilled)
	o3 := addOrder(t, s, pa, "MSFT", game.OrderStatusFilled)
	addOrder(t, s, po, "AAPL", game.OrderStatusOpen) // another room: never listed
	o5 := addOrder(t, s, pa, "AAPL", game.OrderStatusRejected)
	o6 := addOrder(t, s, pb, "MSFT", game.OrderStatusOpen)

	open, filled, expired := game.OrderStatusOpen, game.OrderStatusFilled, game.OrderStatusExpired
	for _, tc := range []struct {
		name      string
		f         game.OrderFilter
		want      []int64
		wantTotal int
	}{
		{"whole room newest first", game.OrderFilter{BullPenID: room.ID, Limit: 10}, []int64{o6.ID, o5.ID, o3.ID, o2.ID, o1.ID}, 5},
		{"one participant", game.OrderFilter{BullPenID: room.ID, ParticipantID: pa.ID, Limit: 10}, []int64{o5.ID, o3.ID, o1.ID}, 3},
		{"status OPEN", game.OrderFilter{BullPenID: room.ID, Status: &open, Limit: 10}, []int64{o6.ID, o1.ID}, 2},
		{"participant and status", game.OrderFilter{BullPenID: room.ID, ParticipantID: pb.ID, Status: &filled, Limit: 10}, []int64{o2.ID}, 1},
		{"status nobody has", game.OrderFilter{BullPenID: room.ID, Status: &expired, Limit: 10}, []int64{}, 0},
		{"participant of another room", game.OrderFilter{BullPenID: room.ID, ParticipantID: po.ID, Limit: 10}, []int64{}, 0},
		{"page 1", game.OrderFilter{BullPenID: room.ID, Limit: 2}, []int64{o6.ID, o5.ID}, 5},
		{"page 2", game.OrderFilter{BullPenID: room.ID, BeforeID: o5.ID, Limit: 2}, []int64{o3.ID, o2.ID}, 5},
		{"page 3", game.OrderFilter{BullPenID: room.ID, BeforeID: o2.ID, Limit: 2}, []int64{o1.ID}, 5},
		{"participant page 2", game.OrderFilter{BullPenID: room.ID, ParticipantID: pa.ID, BeforeID: o5.ID, Limit: 1}, []int64{o3.ID}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.Orders(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			eqIDs(t, "ids", orderIDs(got), tc.want)
			eq(t, "total", total, tc.wantTotal)
		})
	}
	t.Run("listed rows are complete", func(t *testing.T) {
		got, _, err := s.Orders(ctx, game.OrderFilter{BullPenID: room.ID, ParticipantID: pb.ID, Status: &filled, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d orders, want 1", len(got))
		}
		eqOrder(t, got[0], o2)
	})
}

func testOpenOrders(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	ua := addUser(t, s, "a")
	ub := addUser(t, s, "b")
	active := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
	paused := addRoom(t, s, ua.ID, game.RoomPaused, game.VisibilityPublic)
	active2 := addRoom(t, s, ub.ID, game.RoomActive, game.VisibilityPublic)
	scheduled := addRoom(t, s, ub.ID, game.RoomScheduled, game.VisibilityPublic)
	pa := addParticipant(t, s, active.ID, ua.ID)
	pb := addParticipant(t, s, active.ID, ub.ID)
	pp := addParticipant(t, s, paused.ID, ua.ID)
	p2 := addParticipant(t, s, active2.ID, ua.ID)
	ps := addParticipant(t, s, scheduled.ID, ua.ID)

	aOpenAAPL := addOrder(t, s, pa, "AAPL", game.OrderStatusOpen)
	addOrder(t, s, pa, "AAPL", game.OrderStatusFilled)
	aOpenMSFT := addOrder(t, s, pa, "MSFT", game.OrderStatusOpen)
	addOrder(t, s, pa, "AAPL", game.OrderStatusCancelled)
	bOpenAAPL := addOrder(t, s, pb, "AAPL", game.OrderStatusOpen)
	pausedOpenAAPL := addOrder(t, s, pp, "AAPL", game.OrderStatusOpen)
	active2OpenAAPL := addOrder(t, s, p2, "AAPL", game.OrderStatusOpen)
	addOrder(t, s, ps, "AAPL", game.OrderStatusOpen)
	addOrder(t, s, p2, "AAPL", game.OrderStatusExpired)

	for _, tc := range []struct {
		name string
		get  func() ([]*game.Order, error)
		want []int64
	}{
		{"OpenOrders of a participant", func() ([]*game.Order, error) { return s.OpenOrders(ctx, pa.ID) }, []int64{aOpenAAPL.ID, aOpenMSFT.ID}},
		{"OpenOrders of a participant with none open", func() ([]*game.Order, error) { return s.OpenOrders(ctx, 999) }, []int64{}},
		{"OpenOrdersBySymbol AAPL: open orders of ACTIVE rooms only", func() ([]*game.Order, error) { return s.OpenOrdersBySymbol(ctx, "AAPL") },
			[]int64{aOpenAAPL.ID, bOpenAAPL.ID, active2OpenAAPL.ID}},
		{"OpenOrdersBySymbol MSFT", func() ([]*game.Order, error) { return s.OpenOrdersBySymbol(ctx, "MSFT") }, []int64{aOpenMSFT.ID}},
		{"OpenOrdersBySymbol is case-sensitive", func() ([]*game.Order, error) { return s.OpenOrdersBySymbol(ctx, "aapl") }, []int64{}},
		{"OpenOrdersByRoom active", func() ([]*game.Order, error) { return s.OpenOrdersByRoom(ctx, active.ID) }, []int64{aOpenAAPL.ID, aOpenMSFT.ID, bOpenAAPL.ID}},
		{"OpenOrdersByRoom paused room still lists its orders", func() ([]*game.Order, error) { return s.OpenOrdersByRoom(ctx, paused.ID) }, []int64{pausedOpenAAPL.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatal(err)
			}
			eqIDs(t, "ids", orderIDs(got), tc.want)
			for _, o := range got {
				eq(t, fmt.Sprintf("order %d status", o.ID), o.Status, game.OrderStatusOpen)
			}
		})
	}

	t.Run("pausing the room drops its orders from OpenOrdersBySymbol", func(t *testing.T) {
		mustUpdate(t, s, func(tx game.Tx) error {
			moved, err := tx.MoveBullPen(ctx, active2.ID, game.RoomActive, game.RoomPaused, active2.StartsAt, active2.EndsAt)
			if err == nil && !moved {
				err = errors.New("room did not move")
			}
			return err
		})
		got, err := s.OpenOrdersBySymbol(ctx, "AAPL")
		if err != nil {
			t.Fatal(err)
		}
		eqIDs(t, "ids", orderIDs(got), []int64{aOpenAAPL.ID, bOpenAAPL.ID})
	})
}

// Leaderboard snapshots

func testSnapshots(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	ua := addUser(t, s, "a")
	ub := addUser(t, s, "b")
	room := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
	other := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
	pa := addParticipant(t, s, room.ID, ua.ID)
	pb := addParticipant(t, s, room.ID, ub.ID)

	t.Run("none yet", func(t *testing.T) {
		_, err := s.LatestSnapshot(ctx, room.ID)
		wantCode(t, "LatestSnapshot", err, game.ENOTFOUND)
		if id, err := s.LatestSnapshotID(ctx, room.ID); err != nil || id != 0 {
			t.Errorf("LatestSnapshotID of a room without snapshots: %d, %v; want 0", id, err)
		}
		got, err := s.Snapshots(ctx, room.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "len", len(got), 0)
	})

	entryB := game.LeaderboardEntry{Rank: 1, ParticipantID: pb.ID, UserID: ub.ID, PortfolioValue: dec("101234.5675"),
		Cash: dec("51234.50"), TotalReturn: dec("1234.5675"), ReturnPercent: dec("1.234568")}
	entryA := game.LeaderboardEntry{Rank: 2, ParticipantID: pa.ID, UserID: ua.ID, PortfolioValue: dec("99000.00"),
		Cash: dec("99000.00"), TotalReturn: dec("-1000"), ReturnPercent: dec("-1")}
	snaps := []*game.LeaderboardSnapshot{
		{BullPenID: room.ID, TakenAt: ms(time.Minute), Entries: []game.LeaderboardEntry{entryA, entryB}},
		{BullPenID: room.ID, TakenAt: ms(2 * time.Minute), Entries: []game.LeaderboardEntry{}},
		{BullPenID: other.ID, TakenAt: ms(2 * time.Minute), Entries: nil},
		{BullPenID: room.ID, TakenAt: ms(3 * time.Minute), Final: true, Entries: []game.LeaderboardEntry{entryA, entryB}},
	}
	for _, sn := range snaps {
		mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertSnapshot(ctx, sn) })
		if sn.ID == 0 {
			t.Fatal("InsertSnapshot left ID 0")
		}
	}

	check := func(t *testing.T, got, want *game.LeaderboardSnapshot) {
		t.Helper()
		eq(t, "ID", got.ID, want.ID)
		eq(t, "BullPenID", got.BullPenID, want.BullPenID)
		eqTime(t, "TakenAt", got.TakenAt, want.TakenAt)
		eq(t, "Final", got.Final, want.Final)
		if got.Entries == nil {
			t.Error("Entries = nil, want a non-nil slice")
		}
		// Entries come back by rank, whatever the insertion order.
		wantEntries := slices.Clone(want.Entries)
		slices.SortFunc(wantEntries, func(a, b game.LeaderboardEntry) int { return a.Rank - b.Rank })
		if len(got.Entries) != len(wantEntries) {
			t.Fatalf("%d entries, want %d", len(got.Entries), len(wantEntries))
		}
		for i, e := range got.Entries {
			w := wantEntries[i]
			what := fmt.Sprintf("entry %d ", i)
			eq(t, what+"Rank", e.Rank, w.Rank)
			eq(t, what+"ParticipantID", e.ParticipantID, w.ParticipantID)
			eq(t, what+"UserID", e.UserID, w.UserID)
			eqDecExact(t, what+"PortfolioValue", e.PortfolioValue, w.PortfolioValue)
			eqDecExact(t, what+"Cash", e.Cash, w.Cash)
			eqDecExact(t, what+"TotalReturn", e.TotalReturn, w.TotalReturn)
			eqDecExact(t, what+"ReturnPercent", e.ReturnPercent, w.ReturnPercent)
		}
	}

	t.Run("LatestSnapshot is the newest of the room", func(t *testing.T) {
		got, err := s.LatestSnapshot(ctx, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, snaps[3])
		if id, err := s.LatestSnapshotID(ctx, room.ID); err != nil || id != snaps[3].ID {
			t.Errorf("LatestSnapshotID: %d, %v; want %d", id, err, snaps[3].ID)
		}
	})
	t.Run("LatestSnapshot of a room with an empty snapshot", func(t *testing.T) {
		got, err := s.LatestSnapshot(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, snaps[2])
	})
	for _, tc := range []struct {
		name  string
		limit int
		want  []*game.LeaderboardSnapshot
	}{
		{"limit 2 newest first", 2, []*game.LeaderboardSnapshot{snaps[3], snaps[1]}},
		{"limit above count", 10, []*game.LeaderboardSnapshot{snaps[3], snaps[1], snaps[0]}},
	} {
		t.Run("Snapshots "+tc.name, func(t *testing.T) {
			got, err := s.Snapshots(ctx, room.ID, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d snapshots, want %d", len(got), len(tc.want))
			}
			for i := range got {
				check(t, got[i], tc.want[i])
			}
		})
	}
	t.Run("same participant twice in a snapshot is CONFLICT and stores nothing", func(t *testing.T) {
		bad := &game.LeaderboardSnapshot{BullPenID: other.ID, TakenAt: ms(time.Hour), Entries: []game.LeaderboardEntry{entryA, entryA}}
		err := s.Update(ctx, func(tx game.Tx) error { return tx.InsertSnapshot(ctx, bad) })
		wantCode(t, "InsertSnapshot", err, game.ECONFLICT)
		got, err := s.LatestSnapshot(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "latest snapshot id", got.ID, snaps[2].ID)
	})
	t.Run("a snapshot larger than one INSERT's chunk keeps every entry", func(t *testing.T) {
		big := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
		n := 2*db.EntryChunk + 37
		sn := &game.LeaderboardSnapshot{BullPenID: big.ID, TakenAt: ms(time.Hour)}
		for i := range n {
			u := addUser(t, s, fmt.Sprintf("big%d", i))
			p := addParticipant(t, s, big.ID, u.ID)
			sn.Entries = append(sn.Entries, game.LeaderboardEntry{Rank: i + 1, ParticipantID: p.ID, UserID: u.ID,
				PortfolioValue: dec(fmt.Sprintf("%d.25", 100000-i)), Cash: dec("1.5"), TotalReturn: dec(fmt.Sprintf("-%d.75", i)), ReturnPercent: dec("0.5")})
		}
		mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertSnapshot(ctx, sn) })
		got, err := s.LatestSnapshot(ctx, big.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, sn)
	})
	t.Run("a failing chunk stores nothing of the snapshot", func(t *testing.T) {
		big := addRoom(t, s, ua.ID, game.RoomActive, game.VisibilityPublic)
		sn := &game.LeaderboardSnapshot{BullPenID: big.ID, TakenAt: ms(time.Hour)}
		for i := range db.EntryChunk + 1 {
			e := entryA
			e.Rank = i + 1
			sn.Entries = append(sn.Entries, e) // the same participant: the first chunk already fails
		}
		err := s.Update(ctx, func(tx game.Tx) error { return tx.InsertSnapshot(ctx, sn) })
		wantCode(t, "InsertSnapshot", err, game.ECONFLICT)
		_, err = s.LatestSnapshot(ctx, big.ID)
		wantCode(t, "LatestSnapshot", err, game.ENOTFOUND)
	})
}

// Quotes and settings

func testQuotes(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	save := func(t *testing.T, q *game.Quote) {
		t.Helper()
		mustUpdate(t, s, func(tx game.Tx) error { return tx.SaveQuote(ctx, q) })
	}
	check := func(t *testing.T, got *game.Quote, symbol, price, open string, at time.Time) {
		t.Helper()
		eq(t, "Symbol", got.Symbol, symbol)
		eqDecExact(t, symbol+" Price", got.Price, dec(price))
		eqDecExact(t, symbol+" Open", got.Open, dec(open))
		eqTime(t, symbol+" At", got.At, at)
	}

	_, err := s.Quote(ctx, "AAPL")
	wantCode(t, "Quote before any save", err, game.ENOTFOUND)

	save(t, &game.Quote{Symbol: "MSFT", Price: dec("410.10"), Open: dec("410.10"), At: ms(0)})
	save(t, &game.Quote{Symbol: "AAPL", Price: dec("187.5025"), Open: dec("187.5025"), At: ms(time.Second)})
	save(t, &game.Quote{Symbol: "GOOG", Price: dec("150"), Open: dec("150"), At: ms(2 * time.Second)})

	t.Run("first save stores price open and at", func(t *testing.T) {
		got, err := s.Quote(ctx, "AAPL")
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, "AAPL", "187.5025", "187.5025", ms(time.Second))
	})
	t.Run("second save updates price and at only, open stays the first one", func(t *testing.T) {
		save(t, &game.Quote{Symbol: "AAPL", Price: dec("190.01"), Open: dec("999.99"), At: ms(time.Minute)})
		got, err := s.Quote(ctx, "AAPL")
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, "AAPL", "190.01", "187.5025", ms(time.Minute))
	})
	t.Run("Quotes sorted by symbol", func(t *testing.T) {
		got, err := s.Quotes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("got %d quotes, want 3", len(got))
		}
		check(t, got[0], "AAPL", "190.01", "187.5025", ms(time.Minute))
		check(t, got[1], "GOOG", "150", "150", ms(2*time.Second))
		check(t, got[2], "MSFT", "410.10", "410.10", ms(0))
	})
}

func testSettings(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	_, err := s.Setting(ctx, "jwt_secret")
	wantCode(t, "missing setting", err, game.ENOTFOUND)
	for _, v := range []string{"first", "second", ""} {
		t.Run("set to "+fmt.Sprintf("%q", v), func(t *testing.T) {
			mustUpdate(t, s, func(tx game.Tx) error { return tx.SetSetting(ctx, "jwt_secret", v) })
			got, err := s.Setting(ctx, "jwt_secret")
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "value", got, v)
		})
	}
}

// Events

func testEvents(t *testing.T, backend string) {
	ctx := context.Background()
	s, clock := mustOpenClock(t, backend)
	owner := addUser(t, s, "owner")
	roomA := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	roomB := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	pa := addParticipant(t, s, roomA.ID, owner.ID)

	var (
		hookMu sync.Mutex
		calls  []map[int64]int64
	)
	s.OnCommit(func(rooms map[int64]int64) {
		// Called after commit: the store already sees every announced event.
		for room, seq := range rooms {
			evs, err := s.Events(ctx, room, seq-1, 10)
			if err != nil || len(evs) != 1 || evs[0].Sequence != seq {
				t.Errorf("in OnCommit: Events(room %d, after %d) = %v, %v: want the committed event %d", room, seq-1, evs, err, seq)
			}
		}
		hookMu.Lock()
		defer hookMu.Unlock()
		calls = append(calls, maps(rooms))
	})
	takeCalls := func() []map[int64]int64 {
		hookMu.Lock()
		defer hookMu.Unlock()
		out := calls
		calls = nil
		return out
	}

	type appendReq struct {
		room    int64
		kind    game.EventKind
		partID  *int64
		payload any
	}
	payloadState := game.RoomStatePayload{PreviousState: game.RoomScheduled, State: game.RoomActive, Trigger: game.TriggerManual,
		ActorID: ptr(owner.ID), StartsAt: ms(0), EndsAt: ms(time.Hour), RemainingSeconds: 3600}
	payloadPos := game.PositionPayload{ParticipantID: pa.ID, Position: game.Position{ParticipantID: pa.ID, Symbol: "AAPL",
		Quantity: 3, CostBasis: dec("562.5075"), RealizedPnL: dec("0"), UpdatedAt: ms(0), MarketPrice: dec("187.50")}}

	var want []*game.Event // every event stored, in append order
	for i, tc := range []struct {
		name     string
		appends  []appendReq
		wantSeqs []int64
		wantHook map[int64]int64
	}{
		{"two in A and one in B in one tx", []appendReq{
			{roomA.ID, game.EventRoomState, nil, payloadState},
			{roomB.ID, game.EventRoomState, nil, payloadState},
			{roomA.ID, game.EventPosition, &pa.ID, payloadPos},
		}, []int64{1, 1, 2}, map[int64]int64{roomA.ID: 2, roomB.ID: 1}},
		{"one more in B", []appendReq{
			{roomB.ID, game.EventLeaderboard, nil, map[string]any{"snapshot": map[string]any{"entries": []any{}}}},
		}, []int64{2}, map[int64]int64{roomB.ID: 2}},
		{"third in each room", []appendReq{
			{roomA.ID, game.EventOrder, &pa.ID, game.OrderPayload{Kind: game.OrderEventAccepted, Order: game.Order{ID: 1, Symbol: "AAPL",
				LimitPrice: decp("187.50"), Commission: dec("0.0025"), Reserved: dec("1"), CreatedAt: ms(0), UpdatedAt: ms(0)}}},
			{roomB.ID, game.EventOrder, nil, "just a string"},
		}, []int64{3, 3}, map[int64]int64{roomA.ID: 3, roomB.ID: 3}},
		{"no events: no hook", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(time.Second)
			var now time.Time
			var got []*game.Event
			mustUpdate(t, s, func(tx game.Tx) error {
				now = tx.Now()
				for _, a := range tc.appends {
					ev, err := tx.AppendEvent(ctx, a.room, a.kind, a.partID, a.payload)
					if err != nil {
						return err
					}
					got = append(got, ev)
				}
				return nil
			})
			eqTime(t, "tx.Now", now, txNow.Add(time.Duration(i+1)*time.Second))
			for j, ev := range got {
				a := tc.appends[j]
				body, _ := json.Marshal(a.payload)
				eq(t, fmt.Sprintf("event %d BullPenID", j), ev.BullPenID, a.room)
				eq(t, fmt.Sprintf("event %d Sequence", j), ev.Sequence, tc.wantSeqs[j])
				eq(t, fmt.Sprintf("event %d Kind", j), ev.Kind, a.kind)
				eq(t, fmt.Sprintf("event %d ParticipantID", j), fmtPtr(ev.ParticipantID), fmtPtr(a.partID))
				eqTime(t, fmt.Sprintf("event %d OccurredAt", j), ev.OccurredAt, now)
				eq(t, fmt.Sprintf("event %d Payload", j), string(ev.Payload), string(body))
				want = append(want, ev)
			}
			hooks := takeCalls()
			if tc.wantHook == nil {
				if len(hooks) != 0 {
					t.Errorf("OnCommit called %v for a tx without events", hooks)
				}
				return
			}
			if len(hooks) != 1 || fmt.Sprint(hooks[0]) != fmt.Sprint(tc.wantHook) {
				t.Errorf("OnCommit calls = %v, want one with %v", hooks, tc.wantHook)
			}
		})
	}

	t.Run("rolled-back events are not announced", func(t *testing.T) {
		err := s.Update(ctx, func(tx game.Tx) error {
			if _, err := tx.AppendEvent(ctx, roomA.ID, game.EventOrder, nil, 1); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Update = %v, want %v", err, errBoom)
		}
		if hooks := takeCalls(); len(hooks) != 0 {
			t.Errorf("OnCommit called %v for a rolled-back tx", hooks)
		}
	})
	t.Run("appending to a missing room is NOT_FOUND and not announced", func(t *testing.T) {
		err := s.Update(ctx, func(tx game.Tx) error {
			_, err := tx.AppendEvent(ctx, 999, game.EventOrder, nil, 1)
			return err
		})
		wantCode(t, "Update", err, game.ENOTFOUND)
		if hooks := takeCalls(); len(hooks) != 0 {
			t.Errorf("OnCommit called %v", hooks)
		}
	})
	t.Run("unmarshalable payload fails", func(t *testing.T) {
		err := s.Update(ctx, func(tx game.Tx) error {
			_, err := tx.AppendEvent(ctx, roomA.ID, game.EventOrder, nil, func() {})
			return err
		})
		if err == nil {
			t.Error("AppendEvent of a func payload succeeded")
		}
	})

	byRoom := func(room int64) []*game.Event {
		var out []*game.Event
		for _, ev := range want {
			if ev.BullPenID == room {
				out = append(out, ev)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		room         int64
		after        int64
		limit        int
		wantSeqs     []int64
		wantLastSeen int64
	}{
		{"room A from the start", roomA.ID, 0, 100, []int64{1, 2, 3}, 3},
		{"room B from the start", roomB.ID, 0, 100, []int64{1, 2, 3}, 3},
		{"room A after 1", roomA.ID, 1, 100, []int64{2, 3}, 3},
		{"room B after 1 limit 1", roomB.ID, 1, 1, []int64{2}, 3},
		{"room A after the last", roomA.ID, 3, 100, []int64{}, 3},
		{"room without events", 999, 0, 100, []int64{}, 0},
	} {
		t.Run("Events "+tc.name, func(t *testing.T) {
			got, err := s.Events(ctx, tc.room, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, ev := range got {
				seqs = append(seqs, ev.Sequence)
			}
			eqIDs(t, "sequences", seqs, tc.wantSeqs)
			all := byRoom(tc.room)
			for _, ev := range got {
				w := all[ev.Sequence-1]
				what := fmt.Sprintf("room %d event %d ", tc.room, ev.Sequence)
				eq(t, what+"BullPenID", ev.BullPenID, w.BullPenID)
				eq(t, what+"Kind", ev.Kind, w.Kind)
				eq(t, what+"ParticipantID", fmtPtr(ev.ParticipantID), fmtPtr(w.ParticipantID))
				eqTime(t, what+"OccurredAt", ev.OccurredAt, w.OccurredAt)
				eqPayload(t, s.Dialect(), what+"Payload", ev.Payload, w.Payload)
			}
			if tc.room != 999 {
				b, err := s.BullPen(ctx, tc.room)
				if err != nil {
					t.Fatal(err)
				}
				eq(t, "LastSequence", b.LastSequence, tc.wantLastSeen)
			}
		})
	}
	t.Run("escaped text and numbers beyond float64 round-trip exactly", func(t *testing.T) {
		roomC := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
		payload := map[string]any{
			"text":  "<b>\"Q&A\"</b> \\ ünïcode 😀\n\t\u2028",
			"huge":  uint64(math.MaxUint64),
			"exact": json.Number("123456789012345678901234567890.123456789"),
			"money": dec("-0.000000000000000001"),
			"list":  []any{nil, true, false, "", map[string]any{}},
		}
		body, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, s, func(tx game.Tx) error {
			_, err := tx.AppendEvent(ctx, roomC.ID, game.EventOrder, nil, payload)
			return err
		})
		takeCalls()
		evs, err := s.Events(ctx, roomC.ID, 0, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events = %v, %v", evs, err)
		}
		eqPayload(t, s.Dialect(), "Payload", evs[0].Payload, body)
		var back struct {
			Text  string          `json:"text"`
			Huge  uint64          `json:"huge"`
			Exact json.Number     `json:"exact"`
			Money decimal.Decimal `json:"money"`
		}
		if err := json.Unmarshal(evs[0].Payload, &back); err != nil {
			t.Fatal(err)
		}
		eq(t, "text", back.Text, payload["text"].(string))
		eq(t, "huge", back.Huge, uint64(math.MaxUint64))
		eq(t, "exact", back.Exact.String(), "123456789012345678901234567890.123456789")
		eqDecExact(t, "money", back.Money, dec("-0.000000000000000001"))
	})
	t.Run("payload decodes back to the struct", func(t *testing.T) {
		evs, err := s.Events(ctx, roomA.ID, 0, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events = %v, %v", evs, err)
		}
		var p game.RoomStatePayload
		if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		eq(t, "PreviousState", p.PreviousState, payloadState.PreviousState)
		eq(t, "State", p.State, payloadState.State)
		eq(t, "ActorID", fmtPtr(p.ActorID), fmtPtr(payloadState.ActorID))
		eqTime(t, "EndsAt", p.EndsAt.UTC(), payloadState.EndsAt)
		eq(t, "RemainingSeconds", p.RemainingSeconds, payloadState.RemainingSeconds)

		evs, err = s.Events(ctx, roomA.ID, 1, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events = %v, %v", evs, err)
		}
		var pp game.PositionPayload
		if err := json.Unmarshal(evs[0].Payload, &pp); err != nil {
			t.Fatal(err)
		}
		eqDecExact(t, "CostBasis", pp.Position.CostBasis, dec("562.5075"))
		eqDecExact(t, "MarketPrice", pp.Position.MarketPrice, dec("187.50"))
	})
}

func maps(m map[int64]int64) map[int64]int64 {
	out := make(map[int64]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func testConcurrentAppendEventSequences(t *testing.T, backend string) {
	const workers, perWorker = 8, 25
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	bystander := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)

	var (
		mu        sync.Mutex
		announced []int64
		returned  []int64
	)
	s.OnCommit(func(rooms map[int64]int64) {
		mu.Lock()
		defer mu.Unlock()
		announced = append(announced, rooms[room.ID])
	})

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var seq int64
				err := s.Update(ctx, func(tx game.Tx) error {
					// Read-modify-write inside the tx, as the game does.
					if _, err := tx.LockBullPen(ctx, room.ID); err != nil {
						return err
					}
					ev, err := tx.AppendEvent(ctx, room.ID, game.EventOrder, nil, map[string]int{"worker": w, "i": i})
					if err != nil {
						return err
					}
					seq = ev.Sequence
					return nil
				})
				if err != nil {
					t.Errorf("worker %d update %d: %v", w, i, err)
					return
				}
				// Readers run alongside the writers.
				if _, err := s.Events(ctx, room.ID, seq-1, 1); err != nil {
					t.Errorf("worker %d read: %v", w, err)
				}
				mu.Lock()
				returned = append(returned, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	const total = workers * perWorker
	wantSeqs := make([]int64, total)
	for i := range wantSeqs {
		wantSeqs[i] = int64(i + 1)
	}
	slices.Sort(returned)
	eqIDs(t, "sequences returned by AppendEvent (sorted)", returned, wantSeqs)
	slices.Sort(announced)
	eqIDs(t, "sequences announced by OnCommit (sorted)", announced, wantSeqs)

	evs, err := s.Events(ctx, room.ID, 0, 10*total)
	if err != nil {
		t.Fatal(err)
	}
	stored := make([]int64, len(evs))
	perWorkerSeen := map[string]bool{}
	for i, ev := range evs {
		stored[i] = ev.Sequence
		perWorkerSeen[string(ev.Payload)] = true
	}
	eqIDs(t, "stored sequences", stored, wantSeqs)
	eq(t, "distinct payloads", len(perWorkerSeen), total)
	b, err := s.BullPen(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "LastSequence", b.LastSequence, int64(total))
	other, err := s.BullPen(ctx, bystander.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "bystander LastSequence", other.LastSequence, int64(0))
}

// Times

func testTimesComeBackUTC(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	// Sub-second digits at millisecond precision, on both sides of a day.
	at := time.Date(2024, 12, 31, 23, 59, 59, 999000000, time.UTC)
	u := &game.User{Username: "u", CreatedAt: at}
	mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertUser(ctx, u) })
	b := newRoom(u.ID, game.RoomActive, game.VisibilityPublic)
	b.StartsAt, b.EndsAt, b.CreatedAt = at, at.Add(time.Millisecond), at.Add(-time.Millisecond)
	mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertBullPen(ctx, b) })
	p := &game.Participant{BullPenID: b.ID, UserID: u.ID, Cash: dec("1"), JoinedAt: at.Add(time.Millisecond)}
	mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertParticipant(ctx, p) })
	mustUpdate(t, s, func(tx game.Tx) error {
		return tx.SavePosition(ctx, &game.Position{ParticipantID: p.ID, Symbol: "X", CostBasis: dec("0"), RealizedPnL: dec("0"), UpdatedAt: at})
	})
	o := newOrder(p, "X", game.OrderStatusFilled)
	o.CreatedAt, o.UpdatedAt, o.FilledAt = at, at.Add(time.Millisecond), ptr(at.Add(2*time.Millisecond))
	mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertOrder(ctx, o) })
	mustUpdate(t, s, func(tx game.Tx) error {
		return tx.InsertSnapshot(ctx, &game.LeaderboardSnapshot{BullPenID: b.ID, TakenAt: at})
	})
	mustUpdate(t, s, func(tx game.Tx) error {
		return tx.SaveQuote(ctx, &game.Quote{Symbol: "X", Price: dec("1"), Open: dec("1"), At: at})
	})

	gotU, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotB, err := s.BullPen(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotP, err := s.Participant(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotPos, err := s.Positions(ctx, p.ID)
	if err != nil || len(gotPos) != 1 {
		t.Fatalf("Positions = %v, %v", gotPos, err)
	}
	gotO, err := s.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotS, err := s.LatestSnapshot(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotQ, err := s.Quote(ctx, "X")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"user CreatedAt", gotU.CreatedAt, at},
		{"room StartsAt", gotB.StartsAt, at},
		{"room EndsAt", gotB.EndsAt, at.Add(time.Millisecond)},
		{"room CreatedAt", gotB.CreatedAt, at.Add(-time.Millisecond)},
		{"participant JoinedAt", gotP.JoinedAt, at.Add(time.Millisecond)},
		{"position UpdatedAt", gotPos[0].UpdatedAt, at},
		{"order CreatedAt", gotO.CreatedAt, at},
		{"order UpdatedAt", gotO.UpdatedAt, at.Add(time.Millisecond)},
		{"order FilledAt", derefTime(gotO.FilledAt), at.Add(2 * time.Millisecond)},
		{"snapshot TakenAt", gotS.TakenAt, at},
		{"quote At", gotQ.At, at},
	} {
		t.Run(tc.name, func(t *testing.T) { eqTime(t, tc.name, tc.got, tc.want) })
	}
}

func derefTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// testTimesInOtherZones writes times that are not in UTC, as a caller that
// forgot to convert (or parsed an RFC 3339 offset) would.
func testTimesInOtherZones(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	for _, loc := range []*time.Location{time.FixedZone("", -3*3600), time.FixedZone("X", 3600), time.FixedZone("CET", 3600)} {
		t.Run(fmt.Sprintf("zone %q", loc.String()), func(t *testing.T) {
			at := time.Date(2025, 1, 2, 3, 4, 5, 6000000, loc)
			u := &game.User{Username: "u" + loc.String(), CreatedAt: at}
			mustUpdate(t, s, func(tx game.Tx) error { return tx.InsertUser(ctx, u) })
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			eqTime(t, "CreatedAt", got.CreatedAt, at)
		})
	}
}

// Decimal storage

func TestDecimalsStoredAsExactText(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, sqliteBackend)
	owner := addUser(t, s, "owner")
	room := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	for i, tc := range []struct{ in, wantText string }{
		{"100000.00", "100000"},
		{"0.0025", "0.0025"},
		{"0.1", "0.1"},
		{"-0.000000001", "-0.000000001"},
		{"99999999999999999999.99", "99999999999999999999.99"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u := addUser(t, s, fmt.Sprintf("holder%d", i))
			p := addParticipant(t, s, room.ID, u.ID)
			mustUpdate(t, s, func(tx game.Tx) error { return tx.SetCash(ctx, p.ID, dec(tc.in)) })
			var raw, typ string
			if err := s.DB().QueryRowContext(ctx, `SELECT cash, typeof(cash) FROM participants WHERE id = ?`, p.ID).Scan(&raw, &typ); err != nil {
				t.Fatal(err)
			}
			eq(t, "storage type", typ, "text")
			eq(t, "stored text", raw, tc.wantText)
			got, err := s.Participant(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			eqDec(t, "Cash", got.Cash, dec(tc.in))
			eq(t, "Cash.String()", got.Cash.String(), dec(tc.in).String())
		})
	}
}

// On SQLite, a single-instance engine, Listen just waits and Leader just runs.
func TestSQLiteListenWaitsAndLeaderRuns(t *testing.T) {
	s := mustOpen(t, sqliteBackend)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, db.Listener{
			Rooms: func(map[int64]int64) { t.Error("Rooms called on SQLite") },
			Quote: func(string) { t.Error("Quote called on SQLite") },
		})
	}()
	cancel()
	if err := recv(t, done, "Listen to return after cancel"); err != nil {
		t.Errorf("Listen = %v, want nil", err)
	}

	runs := 0
	err := s.Leader(context.Background(), 1, time.Second, func(context.Context) error { runs++; return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("Leader = %v, want fn's error %v", err, errBoom)
	}
	eq(t, "fn runs", runs, 1)
}

// TestSQLiteConnectionSettings checks the pragmas every pooled SQLite
// connection runs with: WAL with synchronous NORMAL (durable at each
// checkpoint, one sync per group commit), foreign keys on, and temp_store
// MEMORY, which keeps the statement journal that every order's savepoint
// writes in memory instead of spilling it to a temporary file (pwrite
// calls that were about 9% of the server's CPU under `bullpen-bench rooms`).
func TestSQLiteConnectionSettings(t *testing.T) {
	ctx := context.Background()
	s, _ := openDSN(t, "sqlite:"+filepath.Join(t.TempDir(), "bullpen.db"))
	// Hold several connections at once so the check covers more than the
	// one the pool would hand out again and again.
	var conns []*sql.Conn
	for range 4 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "temp_store": "2",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// testSequencesWithinOneTransaction follows a room's sequence through one
// transaction with several events and savepoints: AppendEvent counts on in
// memory after the room's first event and stores the last sequence before
// commit, so a read inside the transaction, a rolled-back savepoint and the
// next transaction must all agree with the events actually kept.
func testSequencesWithinOneTransaction(t *testing.T, backend string) {
	ctx := context.Background()
	s := mustOpen(t, backend)
	owner := addUser(t, s, "owner")
	roomA := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	roomB := addRoom(t, s, owner.ID, game.RoomActive, game.VisibilityPublic)
	appendN := func(tx game.Tx, room int64, n int) (last int64, err error) {
		for range n {
			ev, err := tx.AppendEvent(ctx, room, game.EventOrder, nil, nil)
			if err != nil {
				return 0, err
			}
			last = ev.Sequence
		}
		return last, nil
	}
	mustUpdate(t, s, func(tx game.Tx) error {
		// A savepoint rolled back holding the room's first events of the
		// transaction: the count starts again from what is stored.
		err := tx.Savepoint(ctx, func() error {
			if _, err := appendN(tx, roomA.ID, 2); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			return fmt.Errorf("savepoint: %v", err)
		}
		last, err := appendN(tx, roomA.ID, 3)
		if err != nil {
			return err
		}
		eq(t, "sequence after a rolled-back first savepoint", last, int64(3))
		// Inside the transaction the room shows the sequence reached.
		for name, read := range map[string]func() (*game.BullPen, error){
			"BullPen":     func() (*game.BullPen, error) { return tx.BullPen(ctx, roomA.ID) },
			"LockBullPen": func() (*game.BullPen, error) { return tx.LockBullPen(ctx, roomA.ID) },
		} {
			b, err := read()
			if err != nil {
				return err
			}
			eq(t, name+" LastSequence inside the transaction", b.LastSequence, int64(3))
		}
		// A savepoint rolled back after the room's first event: its events
		// are forgotten, the count goes on from the kept ones.
		err = tx.Savepoint(ctx, func() error {
			if _, err := appendN(tx, roomA.ID, 4); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			return fmt.Errorf("savepoint: %v", err)
		}
		last, err = appendN(tx, roomA.ID, 1)
		if err != nil {
			return err
		}
		eq(t, "sequence after a rolled-back later savepoint", last, int64(4))
		last, err = appendN(tx, roomB.ID, 2)
		eq(t, "other room's sequence", last, int64(2))
		return err
	})
	for _, c := range []struct {
		room int64
		want int64
	}{{roomA.ID, 4}, {roomB.ID, 2}} {
		b, err := s.BullPen(ctx, c.room)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, fmt.Sprintf("room %d LastSequence after commit", c.room), b.LastSequence, c.want)
		evs, err := s.Events(ctx, c.room, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != int(c.want) || evs[len(evs)-1].Sequence != c.want {
			t.Errorf("room %d: %d events stored, last %d; want 1..%d", c.room, len(evs), evs[len(evs)-1].Sequence, c.want)
		}
	}
	// The next transaction continues from the stored sequence.
	mustUpdate(t, s, func(tx game.Tx) error {
		last, err := appendN(tx, roomA.ID, 2)
		eq(t, "next transaction's sequence", last, int64(6))
		return err
	})
}
