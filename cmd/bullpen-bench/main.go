// Command bullpen-bench drives a running Bullpen server over real sockets
// and reports delivery latency, throughput and the server's footprint.
//
// Start the server with a cheap password hash, a manual market and an admin
// the bench may sign in as:
//
//	bullpen -addr 127.0.0.1:18181 -db sqlite:/tmp/bench.db -market manual -bcrypt-cost 4 -orders-per-second 0 -signups-per-hour 0 -max-ws-per-user 0 -max-ws-per-address 0
//
// The first run signs the admin up and stops at setQuote until the account
// holds the role: bullpen admin grant admin -db sqlite:/tmp/bench.db
// (once per database). Then run a scenario against it:
//
//	bullpen-bench -url http://127.0.0.1:18181 fanout -members 1000 -trades PUBLIC -rate 10 -duration 20s
//	bullpen-bench -url http://127.0.0.1:18181 rooms -rooms 20 -traders 5 -duration 20s
//	bullpen-bench -url http://127.0.0.1:18181 idle -spectators 2000
//
// -url takes a comma-separated list for several instances on one
// PostgreSQL database: subscribers are spread over them, mutations go to
// the first.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == tradersCommand {
		err = runTraders(ctx, os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bullpen-bench:", err)
		}
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	Scenario   string   `json:"scenario"`
	URLs       []string `json:"urls"`
	Members    int      `json:"members"`
	Spectators int      `json:"spectators"`
	Trades     string   `json:"trades"`
	Traders    int      `json:"traders"`
	Rooms      int      `json:"rooms,omitempty"`
	// RoomsByInstance: the rooms scenario sends each room's orders
	// through one instance (room affinity) instead of every one in turn.
	RoomsByInstance bool          `json:"roomsByInstance,omitempty"`
	Rate            float64       `json:"rate,omitempty"`
	Duration        time.Duration `json:"duration"`
	Doc             string        `json:"doc"`
	Ramp            float64       `json:"ramp"`
	Dialers         int           `json:"dialers"`
	Drain           time.Duration `json:"drain"`
	Symbol          string        `json:"symbol"`
	Price           string        `json:"price"`
	Admin           string        `json:"admin"`
	Execution       string        `json:"execution"`
	// TradersProcess: fanout's traders run in a child process.
	TradersProcess bool `json:"tradersProcess"`
	// LimitTx is the sqlite-limit scenario's transaction: order or pgbench.
	LimitTx   string `json:"limitTx,omitempty"`
	adminPass string
	jsonOut   bool
	timeout   time.Duration
}

const usage = `usage: bullpen-bench [flags] fanout|rooms|idle|sqlite-limit [flags]

Drives a running Bullpen server over real sockets (loopback only). Start the
server with a cheap password hash, the manual market and an admin:

  bullpen -addr 127.0.0.1:18181 -db sqlite:/tmp/bench.db -market manual -bcrypt-cost 4 -orders-per-second 0 -signups-per-hour 0 -max-ws-per-user 0 -max-ws-per-address 0

The first run signs up -admin and stops at setQuote until that account holds
the admin role; give it once per database, then run again:

  bullpen admin grant admin -db sqlite:/tmp/bench.db

Scenarios:
  fanout  one room; -members signed-in members (each a different user) and
          -spectators anonymous ones, all on bullPenEvents; -traders of the
          members place market orders at -rate per second for -duration.
          Reports delivery latency, delivered vs expected, drops. The
          traders run in a child process of their own (the same binary),
          so that the placeOrder and delivery timings do not wait behind
          thousands of socket readers in this process's scheduler;
          -traders-process=false keeps them in this process.
  rooms   -rooms rooms x -traders traders placing market orders flat out
          for -duration. Reports orders/s and placeOrder latency.
  idle    -members + -spectators subscribed idle connections, held for
          -duration. Reports server RSS and goroutines per connection.
  sqlite-limit
          no server: -rooms x -traders clients, one transaction at a time
          each, on a fresh SQLite file with the server's settings, for
          -duration. -limit-tx order (the default) runs a market order's
          own statements as the server runs them on its schema, one order
          a transaction; -limit-tx pgbench runs pgbench's -N transaction
          (update, select, insert). Reports transactions/s: the baseline
          that rooms on SQLite is compared with, as rooms on PostgreSQL is
          with pgbench.

Flags:
`

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bullpen-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	urls := fs.String("url", "http://127.0.0.1:8080", "server URL; a comma-separated list spreads subscribers over several instances, and the rooms scenario's traders in turn (other mutations go to the first)")
	fs.IntVar(&c.Members, "members", 100, "signed-in subscribers, each a different user who joins the room (idle: default 0)")
	fs.IntVar(&c.Spectators, "spectators", 0, "anonymous subscribers")
	fs.StringVar(&c.Trades, "trades", "PUBLIC", "the room's tradeVisibility: PUBLIC or PRIVATE")
	fs.IntVar(&c.Traders, "traders", 0, "fanout: members that place orders (default 10); rooms: traders per room (default 5)")
	fs.IntVar(&c.Rooms, "rooms", 20, "rooms: how many rooms")
	fs.BoolVar(&c.RoomsByInstance, "rooms-by-instance", false, "rooms, with several -url: each room's traders all use one instance (room i: instance i mod n), as behind a balancer with room affinity")
	fs.Float64Var(&c.Rate, "rate", 10, "fanout: market orders per second, over all traders")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long orders run (idle: how long connections are held)")
	fs.StringVar(&c.Doc, "doc", "lean", "subscription document: min (sequence and what the bench matches on), lean (the events' fields, leaderboard snapshot without entries) or full (lean plus the entries with their users)")
	fs.Float64Var(&c.Ramp, "ramp", 1000, "new WebSocket connections per second")
	fs.IntVar(&c.Dialers, "dialers", 32, "WebSocket connections being opened at once")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "fanout: how long to wait for the last events after the orders stop")
	fs.StringVar(&c.Symbol, "symbol", "AAPL", "symbol traded")
	fs.StringVar(&c.Price, "price", "100", "price set with setQuote before trading")
	fs.StringVar(&c.Execution, "execution", "FRICTIONLESS", "the rooms' execution preset: FRICTIONLESS, REALISTIC or THIN_BOOK")
	fs.StringVar(&c.Admin, "admin", "admin", "admin username used for setQuote; signed up on first use, then given the role with `bullpen admin grant NAME`")
	fs.StringVar(&c.adminPass, "admin-password", "bullpen-bench-admin", "the admin's password")
	fs.BoolVar(&c.TradersProcess, "traders-process", true, "fanout: run the traders in a child process (this binary again) so that their timing does not queue behind the subscribers' readers; false runs them in this process")
	fs.StringVar(&c.LimitTx, "limit-tx", "order", "sqlite-limit: the transaction each client runs: order (a market order's statements as the server runs them) or pgbench (pgbench's -N)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON on stdout (the table goes to stderr)")
	fs.DurationVar(&c.timeout, "timeout", 0, "stop the whole run after this long (default: duration + 10m)")

	// The scenario may come first or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.Scenario, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	rest := fs.Args()
	if c.Scenario == "" && len(rest) > 0 {
		c.Scenario, rest = rest[0], rest[1:]
		if err := fs.Parse(rest); err != nil {
			return c, err
		}
		rest = fs.Args()
	}
	if len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Scenario == "idle" && !set["members"] {
		c.Members = 0
	}
	switch c.Scenario {
	case "fanout", "rooms", "idle", "sqlite-limit":
	case "":
		fs.Usage()
		return c, errors.New("name a scenario: fanout, rooms, idle or sqlite-limit")
	default:
		return c, fmt.Errorf("unknown scenario %q: fanout, rooms, idle or sqlite-limit", c.Scenario)
	}
	for _, u := range strings.Split(*urls, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if err := checkLoopback(u); err != nil {
			return c, fmt.Errorf("-url %s: %w", u, err)
		}
		c.URLs = append(c.URLs, u)
	}
	c.Trades = strings.ToUpper(c.Trades)
	if c.Trades != "PUBLIC" && c.Trades != "PRIVATE" {
		return c, fmt.Errorf("-trades %q: PUBLIC or PRIVATE", c.Trades)
	}
	if c.Scenario != "sqlite-limit" {
		c.LimitTx = ""
	} else if c.LimitTx != "order" && c.LimitTx != "pgbench" {
		return c, fmt.Errorf("-limit-tx %q: order or pgbench", c.LimitTx)
	}
	if c.Doc != "min" && c.Doc != "lean" && c.Doc != "full" {
		return c, fmt.Errorf("-doc %q: min, lean or full", c.Doc)
	}
	if c.Traders == 0 {
		c.Traders = 10
		if c.Scenario == "rooms" || c.Scenario == "sqlite-limit" {
			c.Traders = 5
		}
		if c.Scenario == "fanout" {
			c.Traders = min(c.Traders, c.Members)
		}
	}
	switch {
	case c.Members < 0 || c.Spectators < 0 || c.Traders < 0 || c.Rooms < 1:
		return c, errors.New("-members, -spectators, -traders and -rooms must not be negative (-rooms at least 1)")
	case c.Scenario == "fanout" && (c.Traders < 1 || c.Traders > c.Members):
		return c, fmt.Errorf("fanout: -traders %d must be between 1 and -members %d", c.Traders, c.Members)
	case c.Scenario == "fanout" && c.Rate <= 0:
		return c, errors.New("fanout: -rate must be positive")
	case c.Scenario == "idle" && c.Members+c.Spectators == 0:
		return c, errors.New("idle: give -members or -spectators")
	case c.Members+c.Spectators > 100000 || c.Rooms*c.Traders > 100000:
		return c, errors.New("at most 100000 connections or traders")
	case c.Duration <= 0 && c.Scenario != "idle":
		return c, errors.New("-duration must be positive")
	case c.Ramp <= 0 || c.Dialers < 1:
		return c, errors.New("-ramp and -dialers must be positive")
	}
	if c.Scenario == "rooms" || c.Scenario == "sqlite-limit" {
		c.Members, c.Spectators = 0, 0
	}
	if c.timeout == 0 {
		c.timeout = c.Duration + 10*time.Minute
	}
	return c, nil
}

// checkLoopback refuses anything but a loopback server: the bench opens
// thousands of sockets and must never point them elsewhere.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("want an http:// URL")
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("the bench only drives a server on the loopback interface (127.0.0.1, ::1 or localhost)")
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := raiseFileLimit(c.Members + c.Spectators + c.Rooms*c.Traders + 256); err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	load := loadAverage()
	b := newBench(c, stderr)
	defer b.close()
	var rep *Report
	switch c.Scenario {
	case "fanout":
		rep, err = b.fanout(ctx)
	case "rooms":
		rep, err = b.rooms(ctx)
	case "idle":
		rep, err = b.idle(ctx)
	case "sqlite-limit":
		rep, err = b.sqliteLimit(ctx)
	}
	if err != nil {
		return err
	}
	rep.LoadAverage = [2]float64{load, loadAverage()}
	table := stdout
	if c.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
		table = stderr
	}
	rep.writeTable(table)
	return nil
}
