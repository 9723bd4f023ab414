// Command bullpen-crash kills a Bullpen server with SIGKILL at random
// moments while clients trade, restarts it on the same database, and
// checks after every restart that nothing acknowledged was lost, nothing
// was done twice and the books still add up.
//
//	go build -o /tmp/bullpen . && go build -o /tmp/bullpen-crash ./cmd/bullpen-crash
//	/tmp/bullpen-crash loop -bin /tmp/bullpen -db sqlite -kills 200
//	/tmp/bullpen-crash loop -bin /tmp/bullpen -db postgres -kills 200
//	/tmp/bullpen-crash failover -bin /tmp/bullpen -db postgres -kills 10
//
// loop trades against one server (market and limit orders, stops, cancels,
// re-sent clientOrderIds, setQuote price moves, a live bullPenEvents
// subscriber, rooms that start and end by the clock) and kills it. After
// each restart it checks that every answered order is still there,
// unchanged or legally moved on; that re-sent clientOrderIds made nothing
// new; that each room's event log has no gap and no duplicate and holds,
// byte for byte, every event the subscriber received live; that cash and
// positions reconcile exactly with the fills and the day's interest, and
// each participant's cash ledger with their cash (its running sums, entry
// by entry, and nothing held back once the room has ended); that each
// room's interest at 00:00 UTC (the server's clock runs just before it,
// -midnight-in) was booked once per participant, never early, to the
// cent of the rule; that no order rests OPEN
// across the stored price; and that every scheduled start and end, also
// those due while the server was down, happened exactly once.
//
// failover runs two servers with the simulated market on one PostgreSQL
// database and kills the one that produces prices: the other must take
// over with no tick lost or doubled (see failover.go for the exact rule).
//
// -db is "sqlite" (a new file), "postgres" (a new database on the server
// named by BULLPEN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432,
// dropped at the end unless -keep), or a DSN used as it is.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bullpen-crash:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: bullpen-crash loop|failover -bin PATH [flags]; bullpen-crash loop -h for the flags`

// run parses the subcommand and its flags, runs it, and prints its report
// on stdout (JSON with -json); progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("bullpen-crash "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "the bullpen server binary (go build -o PATH . in the repository)")
	dbSpec := fs.String("db", "sqlite", "sqlite, postgres, sqlite:PATH or a postgres:// URL")
	seed := fs.Uint64("seed", 0, "random seed; 0 picks one from the clock")
	keep := fs.Bool("keep", false, "keep the PostgreSQL database that -db postgres creates")
	logs := fs.String("logs", "", "directory for the servers' logs (kept); a temporary one by default")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("q", false, "no line per kill")
	var (
		kills, traders      int
		maxKill, midnightIn time.Duration
	)
	switch cmd {
	case "loop":
		fs.IntVar(&kills, "kills", 30, "how many times to kill the server")
		fs.IntVar(&traders, "traders", 4, "concurrent traders")
		fs.DurationVar(&maxKill, "max-kill", 500*time.Millisecond, "latest kill after a round's traffic starts")
		fs.DurationVar(&midnightIn, "midnight-in", 5*time.Second, "run the server's clock (-clock-offset) so that 00:00 UTC, when the rooms' interest is due, comes this long after the start; 0: the real time")
	case "failover":
		fs.IntVar(&kills, "kills", 3, "how many times to kill the leading instance")
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *bin == "":
		return errors.New("-bin: the server binary is required (go build -o /tmp/bullpen .)")
	case kills < 1:
		return fmt.Errorf("-kills %d: want at least 1", kills)
	case cmd == "loop" && traders < 1:
		return fmt.Errorf("-traders %d: want at least 1", traders)
	case cmd == "loop" && maxKill <= 0:
		return fmt.Errorf("-max-kill %v: want a positive duration", maxKill)
	case cmd == "loop" && midnightIn < 0:
		return fmt.Errorf("-midnight-in %v: want 0 or a positive duration", midnightIn)
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("-bin: %w", err)
	}
	if *logs != "" {
		if err := os.MkdirAll(*logs, 0o755); err != nil {
			return fmt.Errorf("-logs: %w", err)
		}
	}
	var (
		report any
		err    error
	)
	if cmd == "loop" {
		report, err = runLoop(ctx, loopConfig{Bin: *bin, DB: *dbSpec, Kills: kills, Traders: traders, MaxKill: maxKill,
			Seed: *seed, Keep: *keep, LogDir: *logs, Progress: !*quiet, MidnightIn: midnightIn}, stderr)
	} else {
		report, err = runFailover(ctx, failoverConfig{Bin: *bin, DB: *dbSpec, Kills: kills, Seed: *seed, Keep: *keep,
			LogDir: *logs, Progress: !*quiet}, stderr)
	}
	if report != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(report)
		} else {
			fmt.Fprintf(stdout, "%s\n", summary(report))
		}
	}
	return err
}

func summary(r any) string {
	switch r := r.(type) {
	case *loopStats:
		return fmt.Sprintf("%d kills in %v: %d rooms, %d placeOrder sent (%d answered, %d answers lost and re-sent, %d re-sends of answered ids), "+
			"%d orders kept and checked (%d rejected), %d cancels, %d price moves; %d checks read %d log entries; %d live events equal to the log; "+
			"%d scheduled moves, %d of them due while the server was down; %d interest accruals checked, %d of them due while the server was down; %d requests rate limited; "+
			"%d corporate action events and %d dividend lines checked",
			r.Kills, r.Duration, r.Rooms, r.OrdersSent, r.OrdersAcked, r.LostAnswers, r.Resends, r.OrdersKept, r.Rejected,
			r.Cancels, r.Quotes, r.Checks, r.EventsChecked, r.LiveEvents, r.DueMoves, r.DueWhileDown, r.Accruals, r.AccrualsWhileDown, r.RateLimited,
			r.CorpEvents, r.DividendLines)
	case *failoverStats:
		return r.String()
	}
	return fmt.Sprint(r)
}
