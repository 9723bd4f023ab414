// Package db stores the game in SQLite (embedded, the default) or
// PostgreSQL through sqlx, with embedded migrations applied by goose.
package db

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/jonboulle/clockwork"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bullpen/bullpen/game"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store implements game.Store over sqlx.
type Store struct {
	queries
	db      *sqlx.DB
	dsn     string
	dialect Dialect
	clock   clockwork.Clock
	// migrator knows the embedded migrations (see Ready).
	migrator *goose.Provider
	log      *slog.Logger

	// writeMu serialises write transactions on SQLite, which has a single
	// writer anyway: waiting here is cheaper than spinning on SQLITE_BUSY.
	// Correctness does not rest on it: every room write locks its row.
	writeMu sync.Mutex

	mu       sync.Mutex
	onCommit []func(rooms map[int64]int64)

	// committers batch Apply's changes into shared transactions: one on
	// SQLite, Options.Committers on PostgreSQL (see committerFor).
	committers []*committer

	// pens and quotes keep rooms' and quotes' rows for the writers;
	// SQLite only (nil).
	pens   *rowCache[int64, game.BullPen]
	quotes *rowCache[string, game.Quote]
}

// The store only reads: its writes are the transaction's (Update, Apply).
var (
	_ game.Store   = (*Store)(nil)
	_ game.Queries = (*Store)(nil)
)

// target is a parsed DSN: a SQLite path or a PostgreSQL configuration.
type target struct {
	dialect Dialect
	path    string          // SQLite
	pg      *pgx.ConnConfig // PostgreSQL
}

// parseDSN reads dsn without touching the database. Its errors never
// repeat dsn, which may hold a password.
func parseDSN(dsn string) (target, error) {
	const want = "want sqlite:PATH, sqlite::memory: or a postgres:// URL"
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return target{}, errors.New("sqlite: needs a path, e.g. sqlite:bullpen.db")
		}
		return target{dialect: SQLite, path: path}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		cfg, err := pgx.ParseConfig(dsn) // pgconn's errors redact the password
		if err != nil {
			return target{}, fmt.Errorf("postgres: %w", err)
		}
		return target{dialect: Postgres, pg: cfg}, nil
	case dsn == "":
		return target{}, errors.New("no database given: " + want)
	default:
		if scheme, _, ok := strings.Cut(dsn, ":"); ok {
			return target{}, fmt.Errorf("unsupported database %q: %s", scheme, want)
		}
		return target{}, errors.New("not a database URL: " + want)
	}
}

// CheckDSN reports whether Open would accept dsn, without connecting.
func CheckDSN(dsn string) error {
	_, err := parseDSN(dsn)
	return err
}

// Options tune a Store; the zero value gives the defaults.
type Options struct {
	// Committers is how many group committers run Apply's changes
	// concurrently on PostgreSQL, each in transactions of its own; 0 means
	// DefaultCommitters. SQLite, a single writer, always has one.
	Committers int
}

// DefaultCommitters is Options.Committers when none is given: enough
// that 20 busy rooms keep a 2-core PostgreSQL busy (BENCHMARKS.md,
// "PostgreSQL throughput").
const DefaultCommitters = 4

// MaxCommitters bounds Options.Committers: each holds a connection.
const MaxCommitters = 64

// CheckCommitters reports whether n is a valid Options.Committers.
func CheckCommitters(n int) error {
	if n < 0 || n > MaxCommitters {
		return fmt.Errorf("%d committers: want 1 to %d (0 for the default, %d)", n, MaxCommitters, DefaultCommitters)
	}
	return nil
}

// Open connects to dsn ("sqlite:PATH", "sqlite::memory:" or a postgres://
// URL) with the default Options and applies every pending migration.
func Open(ctx context.Context, dsn string, clock clockwork.Clock, log *slog.Logger) (*Store, error) {
	return OpenWith(ctx, dsn, clock, log, Options{})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, dsn string, clock clockwork.Clock, log *slog.Logger, o Options) (*Store, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	if err := CheckCommitters(o.Committers); err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	committers := 1
	var db *sqlx.DB
	if t.dialect == SQLite {
		db, err = openSQLite(t.path)
	} else {
		committers = cmp.Or(o.Committers, DefaultCommitters)
		db, err = openPostgres(ctx, t.pg, committers)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dsn: dsn, dialect: t.dialect, clock: clock, log: log}
	s.queries = queries{ext: db, dialect: t.dialect}
	if t.dialect == SQLite {
		s.pens, s.quotes = newRowCache[int64](clonePen), newRowCache[string](cloneQuote)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	for range committers {
		s.committers = append(s.committers, startCommitter(s))
	}
	return s, nil
}

func openSQLite(path string) (*sqlx.DB, error) {
	memory := path == ":memory:"
	// temp_store(MEMORY): each order runs in a savepoint, and a group
	// commit holds many of them; the statement journal they write stays in
	// memory instead of spilling to a temporary file (BENCHMARKS.md).
	params := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	var dsn string
	if memory {
		dsn = "file::memory:?" + params
	} else {
		dsn = "file:" + path + "?" + params + "&_pragma=journal_mode(WAL)"
	}
	if !memory {
		if err := checkSQLiteDir(path); err != nil {
			return nil, fmt.Errorf("db: open %s: %w", path, err)
		}
	}
	connector, err := newSQLiteConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "sqlite")
	if memory {
		// Each connection to :memory: is its own database: keep exactly
		// one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
	} else {
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	return db, nil
}

// checkSQLiteDir names the cause when SQLite could not use path's
// directory, where it creates the database and its -wal and -shm files:
// the driver alone says only "unable to open database file".
func checkSQLiteDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it first", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".bullpen-write-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable (SQLite creates the database and its -wal and -shm files there): %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// openPostgres opens a pool with room for every committer's transaction
// and 16 connections more for reads, Update and the rest.
func openPostgres(ctx context.Context, cfg *pgx.ConnConfig, committers int) (*sqlx.DB, error) {
	db := sqlx.NewDb(stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(scanTimesInUTC)), "pgx")
	conns := max(20, committers+16)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("db: connect to postgres: %w", err)
	}
	return db, nil
}

// scanTimesInUTC makes TIMESTAMPTZ values come back in UTC, as they do from
// SQLite, rather than in the process's local zone.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// migrationsOf returns the embedded migrations of d and goose's name for it.
func migrationsOf(d Dialect) (fs.FS, goose.Dialect, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if d == Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	return fsys, gd, err
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, gd, err := migrationsOf(s.dialect)
	if err != nil {
		return err
	}
	// Kept for Ready, which asks it on every readiness probe.
	s.migrator, err = goose.NewProvider(gd, s.db.DB, fsys)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	res, err := s.migrator.Up(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	for _, r := range res {
		s.log.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Ready reports whether the database answers and no migration is pending.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	pending, err := s.migrator.HasPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// Dialect reports the engine in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the connection pool (for tests and metrics).
func (s *Store) DB() *sqlx.DB { return s.db }

// Close stops every group committer (each after the batch it is running;
// changes still queued fail) and closes the connection pool.
func (s *Store) Close() error {
	var wg sync.WaitGroup
	for _, c := range s.committers {
		wg.Go(c.close)
	}
	wg.Wait()
	return s.db.Close()
}

// OnCommit registers fn to be called after every commit that appended
// events, with the highest sequence written per room.
func (s *Store) OnCommit(fn func(rooms map[int64]int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCommit = append(s.onCommit, fn)
}

// Update runs fn in a write transaction; see game.Store.
func (s *Store) Update(ctx context.Context, fn func(tx game.Tx) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	sqltx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return formatError(err)
	}
	tx := s.newTx(sqltx)
	defer func() {
		if p := recover(); p != nil {
			_ = sqltx.Rollback() // never leave the write lock held
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqltx.Rollback()
		return formatError(err)
	}
	if err := tx.beforeCommit(ctx); err != nil {
		_ = sqltx.Rollback()
		return formatError(err)
	}
	if err := sqltx.Commit(); err != nil {
		return formatError(err)
	}
	s.committed(tx.rooms)
	return nil
}

func (s *Store) newTx(sqltx *sqlx.Tx) *Tx {
	return &Tx{writes: writes{queries{ext: sqltx, dialect: s.dialect}}, tx: sqltx, now: s.clock.Now().UTC().Truncate(time.Millisecond), rooms: map[int64]int64{}, stored: map[int64]int64{}, symbols: map[string]bool{},
		pens: txCache[int64, game.BullPen]{cache: s.pens}, quotes: txCache[string, game.Quote]{cache: s.quotes},
		locked: map[int64]*game.BullPen{}, heldQuotes: map[string]*game.Quote{}}
}

// committed tells the room cache and the OnCommit hooks which rooms
// advanced. It runs before the writer lets the next transaction in.
func (s *Store) committed(rooms map[int64]int64) {
	if len(rooms) == 0 {
		return
	}
	if s.pens != nil {
		advance(s.pens, rooms)
	}
	s.mu.Lock()
	hooks := s.onCommit
	s.mu.Unlock()
	for _, h := range hooks {
		h(rooms)
	}
}

// Read runs fn on one consistent snapshot of the database: a read-only
// transaction (REPEATABLE READ on PostgreSQL; a deferred transaction on
// SQLite, whose WAL keeps its first read's snapshot), so several reads
// never mix the states before and after a commit.
func (s *Store) Read(ctx context.Context, fn func(q game.Queries) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqltx, err := s.db.BeginTxx(ctx, opts)
	if err != nil {
		return formatError(err)
	}
	defer func() { _ = sqltx.Rollback() }()
	return formatError(fn(queries{ext: sqltx, dialect: s.dialect}))
}

// Tx is one write transaction.
type Tx struct {
	writes
	tx  *sqlx.Tx
	now time.Time
	// rooms holds each room's last event sequence in this transaction;
	// stored, the sequence bull_pens.last_sequence holds so far (see
	// AppendEvent).
	rooms, stored map[int64]int64
	saves         int // savepoints taken, for their names
	// symbols are the symbol locks held: true when exclusive. A change
	// that a batch has already locked for (lockAll) takes none again.
	symbols map[string]bool
	// pens and quotes are this transaction's use of the store's caches
	// (see rowCache).
	pens   txCache[int64, game.BullPen]
	quotes txCache[string, game.Quote]
	// locked are the rooms whose rows this transaction has read and
	// locked (FOR UPDATE, PostgreSQL), as read: nobody else changes them
	// until it ends, so LockBullPen and AppendEvent use them instead of
	// asking again. A write to the row drops it (MoveBullPen).
	locked map[int64]*game.BullPen
	// heldQuotes are quotes read while their symbol's lock was held
	// (PostgreSQL): no price changes under that lock but this
	// transaction's own (SaveQuote drops it).
	heldQuotes map[string]*game.Quote
	// pending are the writes deferred to the commit (see deferred.go).
	pending pendingWrites
}

var _ game.Tx = (*Tx)(nil)

// Now is the time of this transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// symbolLockClass is the first key of the advisory locks on symbols (the
// two-key space, apart from the leader's one-key lock).
const symbolLockClass = 0x4250 // "BP"

// LockSymbol takes symbol's lock until the transaction ends: a price
// change holds it exclusively, an order that may rest shares it. Only
// PostgreSQL needs it; SQLite has one writer at a time.
func (tx *Tx) LockSymbol(ctx context.Context, symbol string, exclusive bool) error {
	if tx.dialect != Postgres {
		return nil
	}
	if held, ok := tx.symbols[symbol]; ok && (held || !exclusive) {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.exec(ctx, `SELECT `+fn+`(?, ?)`, symbolLockClass, symbolKey(symbol)); err != nil {
		return err
	}
	tx.symbols[symbol] = exclusive
	return nil
}

// beforeCommit writes what the transaction kept for its commit, stores
// the rooms' last sequences and queues their wake-ups: on PostgreSQL in
// one statement (see deferred.go), on SQLite, which has no wake-ups to
// queue, a statement per room.
func (tx *Tx) beforeCommit(ctx context.Context) error {
	if tx.deferring() {
		return tx.commitPending(ctx)
	}
	return tx.storeSequences(ctx)
}

// Savepoint runs fn inside a savepoint: when fn fails, what it wrote is
// rolled back and the transaction goes on as before it.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	fnErr, txErr := tx.savepoint(ctx, fn, true)
	return errors.Join(fnErr, txErr)
}

// savepoint runs fn inside a savepoint and tells fn's own error from a
// failure of the transaction (the savepoint could not be taken, released
// or rolled back to), after which the transaction is of no further use.
// When fn succeeds the savepoint is released only if release is set: a
// group commit on PostgreSQL leaves each change's savepoint standing (the
// next one nests in it, and COMMIT ends them all), which saves a RELEASE,
// a round trip, per change.
func (tx *Tx) savepoint(ctx context.Context, fn func() error, release bool) (fnErr, txErr error) {
	tx.saves++
	name := "sp" + strconv.Itoa(tx.saves)
	if _, err := tx.exec(ctx, `SAVEPOINT `+name); err != nil {
		return nil, err
	}
	// Rolling back to the savepoint undoes its events and writes not sent
	// yet, and releases the locks taken since: forget them all.
	before := tx.mark()
	if err := fn(); err != nil {
		if _, rbErr := tx.exec(ctx, `ROLLBACK TO SAVEPOINT `+name); rbErr != nil {
			return err, rbErr
		}
		tx.restore(before)
		return err, nil
	}
	if !release {
		return nil, nil
	}
	_, err := tx.exec(ctx, `RELEASE SAVEPOINT `+name)
	return nil, err
}

// formatError maps driver errors to domain errors where the client can act
// on them; everything else stays internal.
func formatError(err error) error {
	if err == nil {
		return nil
	}
	var ge *game.Error
	if errors.As(err, &ge) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return &game.Error{Code: game.ECONFLICT, Message: "already exists"}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &game.Error{Code: game.ECONFLICT, Message: "already exists"}
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &game.Error{Code: game.ENOTFOUND, Message: "not found"}
	}
	return err
}

// Migrations lists the versions of the embedded migrations for d, in order.
func Migrations(d Dialect) ([]int64, error) {
	fsys, _, err := migrationsOf(d)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, v)
	}
	return out, nil
}
