package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/market"
)

// The failover check. Two servers share one PostgreSQL database with the
// simulated market, all started with the same -seed. The one holding the
// leader lock produces a tick for every instrument each second; each tick
// is a transaction that stores the price in the quotes table. A trigger
// the program adds to that table (in its own fresh database) logs every
// stored price with the application_name of the session that wrote it,
// and each server process has its own. The program kills the writer of
// the newest price, waits for the other to take over, starts a new
// standby, and so on; at the end it kills both and reads the log.
//
// "No tick lost or doubled" then means, exactly:
//   - the log splits into runs of one writer each, one run per leadership:
//     every writer appears in one run only (never two producers at once),
//     the run count is kills+1, and each run but the last belongs to the
//     instance killed to end it;
//   - within a run, each symbol's prices are exactly the feed's walk for
//     that seed, step for step, from where the previous run left that
//     symbol (the last stored price; catalogue references for the first
//     run). A new leader re-states the last stored prices once (its first
//     batch) and then walks on: a lost tick would skip a step, a doubled
//     one repeat it, a leader that did not resume would jump;
//   - a kill can cut a batch short: within a run, symbols have tick counts
//     that differ by at most one, the extra ticks on a prefix of the
//     catalogue (the order a batch is written in);
//   - the new leader's first tick comes after the kill, and the takeover
//     (kill to first tick) is reported.

type failoverConfig struct {
	Bin, DB  string
	Kills    int
	Seed     uint64
	Keep     bool
	LogDir   string
	Progress bool
}

type failoverStats struct {
	Kills       int             `json:"kills"`
	Runs        int             `json:"runs"`
	Ticks       int             `json:"ticks"`      // stored prices logged and checked
	Batches     []int           `json:"batches"`    // full batches per run
	Takeovers   []time.Duration `json:"takeovers"`  // kill to the new leader's first tick
	CutBatches  int             `json:"cutBatches"` // kills that landed inside a batch
	Duration    time.Duration   `json:"duration"`
	MaxTakeover time.Duration   `json:"maxTakeover"`
}

func (s *failoverStats) String() string {
	return fmt.Sprintf("%d kills of the leader in %v: %d leader runs, %d ticks checked against the seeded walk, full batches per run %v, %d kills cut a batch short, takeovers %v (max %v)",
		s.Kills, s.Duration, s.Runs, s.Ticks, s.Batches, s.CutBatches, s.Takeovers, s.MaxTakeover)
}

type tick struct {
	id       int64
	symbol   string
	price    decimal.Decimal
	at       time.Time
	writer   string
	loggedAt time.Time
}

const auditSQL = `
CREATE TABLE crash_ticks (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbol    TEXT NOT NULL,
    price     NUMERIC NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    writer    TEXT NOT NULL,
    logged_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION crash_log_tick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crash_ticks (symbol, price, at, writer)
    VALUES (NEW.symbol, NEW.price, NEW.at, current_setting('application_name'));
    RETURN NEW;
END $$;
CREATE TRIGGER crash_log_tick AFTER INSERT OR UPDATE ON quotes FOR EACH ROW EXECUTE FUNCTION crash_log_tick();`

func runFailover(ctx context.Context, cfg failoverConfig, out io.Writer) (*failoverStats, error) {
	t0 := time.Now()
	if cfg.Seed == 0 {
		cfg.Seed = uint64(t0.UnixNano())
	}
	seed := int64(cfg.Seed%(1<<62)) + 1 // the server's -seed; 0 would mean "from the clock"
	rng := rand.New(rand.NewPCG(cfg.Seed, 2))
	logDir, db, cleanup, err := setUp(ctx, cfg.DB, cfg.LogDir, "bullpen-failover-", cfg.Keep)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if !isPostgres(db.dsn) {
		return nil, errors.New("failover needs PostgreSQL: -db postgres or a postgres:// URL")
	}
	fmt.Fprintf(out, "failover: %d kills on %s, seed %d, server logs in %s\n", cfg.Kills, redact(db.dsn), seed, logDir)

	// Migrate with a server that produces no prices, then add the audit.
	m, err := startServer(ctx, cfg.Bin, db.dsn, logDir, serverPrefix+"migrate", "-market", "manual")
	if err != nil {
		return nil, err
	}
	m.stop()
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, auditSQL); err != nil {
		return nil, fmt.Errorf("audit trigger: %w", err)
	}

	live := map[string]*process{}
	n := 0
	start := func() error {
		name := fmt.Sprintf("%s%d", serverPrefix, n)
		n++
		p, err := startServer(ctx, cfg.Bin, db.dsn, logDir, name, "-market", "simulated", "-seed", fmt.Sprint(seed))
		if err != nil {
			return err
		}
		live[name] = p
		return nil
	}
	defer func() {
		for _, p := range live {
			p.kill()
		}
	}()
	for range 2 {
		if err := start(); err != nil {
			return nil, err
		}
	}
	st := &failoverStats{}
	var killed []string
	var killedAt []time.Time
	batch := len(market.Catalogue())
	// lead waits until the newest tick's writer has written at least
	// rows, and returns it.
	lead := func(rows int, notBy string) (string, error) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var writer string
			var count int
			err := conn.QueryRow(ctx, `SELECT w.writer, (SELECT count(*) FROM crash_ticks WHERE writer = w.writer)
				FROM (SELECT writer FROM crash_ticks ORDER BY id DESC LIMIT 1) w`).Scan(&writer, &count)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return "", err
			}
			if writer != "" && writer != notBy && count >= rows {
				return writer, nil
			}
			if time.Now().After(deadline) {
				return "", fmt.Errorf("no leader wrote %d prices within 30s (newest by %q, %d)", rows, writer, count)
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(20 * time.Millisecond): // polling the database for ticks
			}
		}
	}
	for k := 0; k < cfg.Kills; k++ {
		leader, err := lead(batch*(1+rng.IntN(2)), "")
		if err != nil {
			return nil, err
		}
		if rng.IntN(2) == 0 {
			// A random moment within the next tick interval.
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second)))) // the random moment of the kill
			if leader, err = lead(0, ""); err != nil {
				return nil, err
			}
		} else if leader, err = midBatch(ctx, conn, batch); err != nil {
			// Inside a batch: the leader has written part of one.
			return nil, err
		}
		p := live[leader]
		if p == nil {
			return nil, fmt.Errorf("the newest price was written by %q, not a live server", leader)
		}
		killedAt = append(killedAt, time.Now())
		p.kill()
		delete(live, leader)
		killed = append(killed, leader)
		st.Kills++
		next, err := lead(1, leader)
		if err != nil {
			return nil, fmt.Errorf("after killing %s: %w", leader, err)
		}
		if cfg.Progress {
			fmt.Fprintf(out, "kill %d: %s killed, %s leads\n", k+1, leader, next)
		}
		if err := start(); err != nil {
			return nil, err
		}
	}
	if _, err := lead(batch*2, ""); err != nil {
		return nil, err
	}
	for name, p := range live {
		p.kill()
		delete(live, name)
	}
	if err := waitForBackends(ctx, db.dsn); err != nil {
		return nil, err
	}

	rows, err := conn.Query(ctx, `SELECT id, symbol, price, at, writer, logged_at FROM crash_ticks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var ticks []tick
	for rows.Next() {
		var t tick
		var price string
		if err := rows.Scan(&t.id, &t.symbol, &price, &t.at, &t.writer, &t.loggedAt); err != nil {
			return nil, err
		}
		t.price = decimal.RequireFromString(price)
		ticks = append(ticks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	st.Ticks = len(ticks)
	findings := checkTicks(ticks, killed, killedAt, seed, st)
	st.Duration = time.Since(t0).Round(time.Millisecond)
	if len(findings) > 0 {
		return st, fmt.Errorf("%d findings:\n  %s", len(findings), strings.Join(findings, "\n  "))
	}
	return st, nil
}

// checkTicks applies the rule at the top of this file.
func checkTicks(ticks []tick, killed []string, killedAt []time.Time, seed int64, st *failoverStats) []string {
	var find []string
	ins := market.Catalogue()
	// Split into runs.
	var runs [][]tick
	for i, t := range ticks {
		if i == 0 || t.writer != ticks[i-1].writer {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], t)
	}
	st.Runs = len(runs)
	seen := map[string]bool{}
	for i, run := range runs {
		w := run[0].writer
		if seen[w] {
			find = append(find, fmt.Sprintf("%s wrote prices in two runs (the second from tick %d): two producers at once", w, run[0].id))
		}
		seen[w] = true
		if i < len(killed) && w != killed[i] {
			find = append(find, fmt.Sprintf("run %d was written by %s; %s was the leader killed to end it", i, w, killed[i]))
		}
	}
	if len(runs) != len(killed)+1 {
		find = append(find, fmt.Sprintf("%d runs of one writer for %d kills: want %d", len(runs), len(killed), len(killed)+1))
	}
	last := map[string]decimal.Decimal{} // where each symbol stands
	for i, run := range runs {
		by := map[string][]tick{}
		for _, t := range run {
			by[t.symbol] = append(by[t.symbol], t)
		}
		most, least := 0, len(run)
		for _, in := range ins {
			most, least = max(most, len(by[in.Symbol])), min(least, len(by[in.Symbol]))
		}
		if most-least > 1 {
			find = append(find, fmt.Sprintf("run %d (%s): tick counts per symbol from %d to %d", i, run[0].writer, least, most))
		}
		for j := 1; j < len(ins); j++ {
			if len(by[ins[j].Symbol]) > len(by[ins[j-1].Symbol]) {
				find = append(find, fmt.Sprintf("run %d (%s): %s has %d ticks, %s before it %d: a batch was written out of order",
					i, run[0].writer, ins[j].Symbol, len(by[ins[j].Symbol]), ins[j-1].Symbol, len(by[ins[j-1].Symbol])))
				break
			}
		}
		if least < most {
			st.CutBatches++
		}
		st.Batches = append(st.Batches, least)
		want := expectedWalk(seed, maps(last), most)
		for _, in := range ins {
			got := by[in.Symbol]
			for k, t := range got {
				if w := want[in.Symbol][k]; !t.price.Equal(w) {
					what := fmt.Sprintf("run %d (%s): %s tick %d is %s, the walk says %s", i, t.writer, in.Symbol, k, t.price, w)
					if k == 0 {
						what += " (a new leader must resume from the last stored price)"
					} else if k+1 < len(want[in.Symbol]) && t.price.Equal(want[in.Symbol][k-1]) {
						what += " (a doubled tick)"
					} else if k+1 < len(want[in.Symbol]) && t.price.Equal(want[in.Symbol][k+1]) {
						what += " (a lost tick)"
					}
					find = append(find, what)
					break
				}
				if k > 0 && !t.at.After(got[k-1].at) {
					find = append(find, fmt.Sprintf("run %d: %s tick %d at %s, not after the one before (%s)", i, in.Symbol, k, t.at, got[k-1].at))
					break
				}
			}
			if len(got) > 0 {
				last[in.Symbol] = got[len(got)-1].price
			}
		}
		if i > 0 && i-1 < len(killedAt) {
			takeover := run[0].loggedAt.Sub(killedAt[i-1])
			if takeover < 0 {
				find = append(find, fmt.Sprintf("run %d (%s) began %v before its predecessor was killed", i, run[0].writer, -takeover))
			}
			st.Takeovers = append(st.Takeovers, takeover.Round(time.Millisecond))
			st.MaxTakeover = max(st.MaxTakeover, takeover.Round(time.Millisecond))
		}
	}
	return find
}

func maps(m map[string]decimal.Decimal) map[string]decimal.Decimal {
	out := make(map[string]decimal.Decimal, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// expectedWalk runs the simulated feed itself, on a fake clock, from
// resume, for batches batches: what a leader that resumed there emits.
func expectedWalk(seed int64, resume map[string]decimal.Decimal, batches int) map[string][]decimal.Decimal {
	out := map[string][]decimal.Decimal{}
	if batches == 0 {
		return out
	}
	fc := clockwork.NewFakeClock()
	feed := market.NewSimulated(fc, seed, time.Second)
	feed.(market.Resumer).ResumeFrom(func(context.Context) map[string]decimal.Decimal { return resume })
	n := len(feed.Instruments())
	ctx, cancel := context.WithCancel(context.Background())
	full := make(chan struct{})
	done := make(chan error, 1)
	count := 0
	go func() {
		done <- feed.Run(ctx, func(ctx context.Context, t market.Tick) error {
			out[t.Symbol] = append(out[t.Symbol], t.Price)
			if count++; count%n == 0 {
				select {
				case full <- struct{}{}:
				case <-ctx.Done():
				}
			}
			return nil
		})
	}()
	for b := range batches {
		<-full
		if b+1 < batches {
			fc.Advance(time.Second)
		}
	}
	cancel()
	<-done
	for s := range out { // one batch past the last may have begun
		out[s] = slices.Clip(out[s][:min(len(out[s]), batches)])
	}
	return out
}

// midBatch polls until the newest tick's writer is part way through a
// batch, and returns it.
func midBatch(ctx context.Context, conn *pgx.Conn, batch int) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var writer string
		var count int
		err := conn.QueryRow(ctx, `SELECT w.writer, (SELECT count(*) FROM crash_ticks WHERE writer = w.writer)
			FROM (SELECT writer FROM crash_ticks ORDER BY id DESC LIMIT 1) w`).Scan(&writer, &count)
		if err != nil {
			return "", err
		}
		if count%batch != 0 || time.Now().After(deadline) {
			return writer, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Millisecond): // polling the database for ticks
		}
	}
}
