package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/internal/testbin"
	"github.com/jonboulle/clockwork"
)

// TestMain lets the test binary be the traders process: the bench
// re-executes os.Executable(), which under go test is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == tradersCommand {
		if err := runTraders(context.Background(), os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "bullpen-bench:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(testParentEnv) == "1" {
		fmt.Fprintln(os.Stderr, "bullpen-bench:", runTestParent())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// startServer runs the binary on a free loopback port until the test ends.
func startServer(t *testing.T, bin, dbURL string) string {
	t.Helper()
	addr := testbin.FreeAddr(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", addr, "-db", dbURL, "-market", "manual", "-bcrypt-cost", "4",
		"-orders-per-second", "0", "-signups-per-hour", "0", "-max-ws-per-user", "0", "-max-ws-per-address", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not become ready")
		}
		time.Sleep(20 * time.Millisecond) // waiting for a process to start
	}
}

// grantBenchAdmin signs the bench's admin up and gives the account the
// admin role with `bullpen admin grant`, as the usage tells operators to.
func grantBenchAdmin(t *testing.T, bin, base, dbURL string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation($p: String!) { signUp(input: {username: "admin", password: $p}) { token } }`,
		"variables": map[string]any{"p": "bullpen-bench-admin"}})
	resp, err := http.Post(base+"/query", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out, err := exec.Command(bin, "admin", "grant", "admin", "-db", dbURL).CombinedOutput(); err != nil {
		t.Fatalf("bullpen admin grant admin: %v\n%s", err, out)
	}
}

// runBench runs the bench with -json and decodes its report.
func runBench(t *testing.T, args ...string) *Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, append(args, "-json"), &stdout, &stderr); err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, stderr.String())
	}
	t.Logf("bench %s\n%s", strings.Join(args, " "), stderr.String())
	// Everything but the config, whose durations are strings.
	var r struct {
		Scenario    string          `json:"scenario"`
		Config      map[string]any  `json:"config"`
		Connections *ConnReport     `json:"connections"`
		Orders      *OrderReport    `json:"orders"`
		Delivery    *DeliveryReport `json:"delivery"`
		Servers     []ServerReport  `json:"servers"`
		CPU         *CPUReport      `json:"cpu"`
		Limit       *LimitReport    `json:"limit"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if r.Scenario != args[0] || r.Config["scenario"] != args[0] {
		t.Fatalf("report of %q (config %v), want %s", r.Scenario, r.Config["scenario"], args[0])
	}
	return &Report{Scenario: r.Scenario, Connections: r.Connections, Orders: r.Orders, Delivery: r.Delivery, Servers: r.Servers, CPU: r.CPU, Limit: r.Limit}
}

func checkSockets(t *testing.T, r *Report, want int) {
	t.Helper()
	c := r.Connections
	if c == nil || c.Opened != want || c.Failed != 0 || c.NeverLive != 0 || len(c.Drops) != 0 {
		t.Fatalf("sockets: %+v, want %d opened, none failed or dropped", c, want)
	}
}

func checkServers(t *testing.T, r *Report, n int) {
	t.Helper()
	if len(r.Servers) != n {
		t.Fatalf("%d server reports, want %d", len(r.Servers), n)
	}
	for _, s := range r.Servers {
		if s.Setup.RSSBytes <= 0 || s.End.Goroutines <= 0 || s.End.CPUSeconds <= 0 {
			t.Fatalf("server %s: metrics missing: %+v", s.URL, s)
		}
	}
}

func checkFanout(t *testing.T, r *Report, members, spectators int, public bool) {
	t.Helper()
	checkSockets(t, r, members+spectators)
	o, d := r.Orders, r.Delivery
	if o == nil || o.Sent == 0 || o.Filled != o.Sent || o.Errors != 0 {
		t.Fatalf("orders: %+v", o)
	}
	if d == nil || d.Events == 0 || d.Expected == 0 || d.Delivered != d.Expected || d.Missing != 0 || d.Unexpected != 0 || d.OutOfOrder != 0 {
		t.Fatalf("delivery: %+v", d)
	}
	// Every order fills, making an order and a position event, each
	// timed on every socket that may see it: every member's when trades
	// are PUBLIC, the trader's own when PRIVATE.
	perOrder := 1
	if public {
		perOrder = members
	}
	if d.Latency.Count != o.Filled*2*perOrder {
		t.Fatalf("%d latencies for %d orders, want %d", d.Latency.Count, o.Filled, o.Filled*2*perOrder)
	}
	if d.Latency.P50 <= 0 || d.Latency.Max < d.Latency.P99 || o.Mutation.Count != o.Sent {
		t.Fatalf("latency %+v, mutation %+v", d.Latency, o.Mutation)
	}
	// One FILLED OrderEvent per order on each socket that may see it.
	if d.OrderEvents != int64(o.Filled*perOrder) {
		t.Fatalf("%d order events delivered for %d orders, want %d", d.OrderEvents, o.Filled, o.Filled*perOrder)
	}
	checkCPU(t, r, d.Delivered, d.OrderEvents, int64(o.Sent))
}

// checkCPU checks the CPU report divides the servers' summed CPU time by
// the work counted.
func checkCPU(t *testing.T, r *Report, delivered, orderEvents, orders int64) {
	t.Helper()
	c := r.CPU
	if c == nil {
		t.Fatal("no CPU report")
	}
	var sum float64
	for _, s := range r.Servers {
		sum += s.CPUSecondsMeasured
	}
	if c.Seconds != sum || c.Seconds <= 0 {
		t.Fatalf("CPU seconds %v, servers' sum %v", c.Seconds, sum)
	}
	near := func(got float64, n int64) bool {
		if n == 0 {
			return got == 0
		}
		want := sum * 1e6 / float64(n)
		return math.Abs(got-want) <= 1e-9*want
	}
	if !near(c.PerDeliveredEventMicros, delivered) || !near(c.PerDeliveredOrderEventMicros, orderEvents) || !near(c.PerOrderMicros, orders) {
		t.Fatalf("CPU report %+v for %d delivered, %d order events, %d orders", c, delivered, orderEvents, orders)
	}
}

func TestScenariosOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin, dbURL := testbin.Build(t), dbtest.SQLite(t)
	url := startServer(t, bin, dbURL)
	grantBenchAdmin(t, bin, url, dbURL)
	t.Run("FanoutPublic", func(t *testing.T) {
		r := runBench(t, "fanout", "-url", url, "-members", "5", "-spectators", "2", "-traders", "2", "-rate", "10", "-duration", "2s")
		checkFanout(t, r, 5, 2, true)
		if !r.Orders.OwnProcess {
			t.Fatal("by default the traders run in their own process; the report says not")
		}
		checkServers(t, r, 1)
		if r.Servers[0].Connections != 7 {
			t.Fatalf("server sockets %d, want 7", r.Servers[0].Connections)
		}
	})
	t.Run("FanoutTradersInProcess", func(t *testing.T) {
		r := runBench(t, "fanout", "-url", url, "-members", "5", "-spectators", "2", "-traders", "2", "-rate", "10", "-duration", "2s", "-traders-process=false")
		checkFanout(t, r, 5, 2, true)
		if r.Orders.OwnProcess {
			t.Fatal("-traders-process=false: report says the traders ran in their own process")
		}
	})
	t.Run("FanoutPrivate", func(t *testing.T) {
		r := runBench(t, "fanout", "-url", url, "-members", "5", "-spectators", "2", "-traders", "2", "-trades", "PRIVATE", "-rate", "10", "-duration", "2s")
		checkFanout(t, r, 5, 2, false)
		// Spectators and the members who do not trade see the leaderboard
		// only; the traders see their own trades too.
		if r.Delivery.Expected >= int64(7*r.Delivery.Events) {
			t.Fatalf("PRIVATE: %d expected of %d events on 7 sockets", r.Delivery.Expected, r.Delivery.Events)
		}
		checkServers(t, r, 1)
	})
	t.Run("FanoutFullDocument", func(t *testing.T) {
		r := runBench(t, "fanout", "-url", url, "-members", "3", "-spectators", "1", "-traders", "1", "-rate", "5", "-duration", "1s", "-doc", "full")
		checkFanout(t, r, 3, 1, true)
	})
	t.Run("FanoutMinimalDocument", func(t *testing.T) {
		r := runBench(t, "fanout", "-url", url, "-members", "3", "-spectators", "1", "-traders", "1", "-rate", "5", "-duration", "1s", "-doc", "min")
		checkFanout(t, r, 3, 1, true)
	})
	t.Run("Rooms", func(t *testing.T) {
		r := runBench(t, "rooms", "-url", url, "-rooms", "2", "-traders", "2", "-duration", "1s")
		if o := r.Orders; o == nil || o.Sent == 0 || o.Filled != o.Sent || o.Errors != 0 || o.PerSecond <= 0 || o.Mutation.Count != o.Sent {
			t.Fatalf("orders: %+v", r.Orders)
		}
		if r.Connections != nil || r.Delivery != nil {
			t.Fatalf("rooms reports no sockets: %+v %+v", r.Connections, r.Delivery)
		}
		checkCPU(t, r, 0, 0, int64(r.Orders.Sent))
		checkServers(t, r, 1)
	})
	t.Run("Idle", func(t *testing.T) {
		r := runBench(t, "idle", "-url", url, "-members", "2", "-spectators", "3", "-duration", "1s")
		checkSockets(t, r, 5)
		checkServers(t, r, 1)
		if s := r.Servers[0]; s.Connections != 5 || s.Live.Goroutines <= s.Setup.Goroutines {
			t.Fatalf("idle server: %+v", s)
		}
	})
}

// TestSQLiteLimit runs the baseline with no server, both transactions:
// every client's transactions commit, and the figures add up.
func TestSQLiteLimit(t *testing.T) {
	for _, tx := range []string{"order", "pgbench"} {
		t.Run(tx, func(t *testing.T) {
			r := runBench(t, "sqlite-limit", "-limit-tx", tx, "-rooms", "1", "-traders", "3", "-duration", "500ms")
			l := r.Limit
			if l == nil || l.Tx != tx || l.Clients != 3 || l.Transactions == 0 || l.Errors != 0 || l.Latency.Count != l.Transactions {
				t.Fatalf("limit report %+v", l)
			}
			if want := float64(l.Transactions) / l.Seconds; math.Abs(l.PerSecond-want) > 1e-9*want {
				t.Fatalf("%v/s, want %v", l.PerSecond, want)
			}
			if r.Orders != nil || r.Delivery != nil || len(r.Servers) != 0 {
				t.Fatalf("sqlite-limit touches no server: %+v %+v %+v", r.Orders, r.Delivery, r.Servers)
			}
		})
	}
}

// TestOrderLimitWritesWhatTheServerReads runs the order-shaped limit's
// transactions on a file and reads them back through the server's store:
// the rows they write are an order's rows, which the server reads as
// filled orders, their ledger, the cash and position the last buy left,
// and events numbered in order.
func TestOrderLimitWritesWhatTheServerReads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "limit.db")
	sqlDB, err := sql.Open("sqlite", "file:"+path+"?"+sqliteParams)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1)
	run, err := orderLimit(ctx, path, sqlDB, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	const orders = 5 // per client: buy, sell, buy, sell, buy
	for worker := range 4 {
		for k := range orders {
			if err := run(ctx, worker, k); err != nil {
				t.Fatalf("client %d order %d: %v", worker, k, err)
			}
		}
	}
	if err := sqlDB.Close(); err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(ctx, "sqlite:"+path, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for room := int64(1); room <= 2; room++ {
		ps, err := store.Participants(ctx, room)
		if err != nil || len(ps) != 2 {
			t.Fatalf("room %d participants %v, %v", room, ps, err)
		}
		for _, p := range ps {
			if p.Cash.String() != "999900" {
				t.Fatalf("participant %d cash %s after buying a share at 100, want 999900", p.ID, p.Cash)
			}
			pos, err := store.Positions(ctx, p.ID)
			if err != nil || len(pos) != 1 || pos[0].Symbol != "AAPL" || pos[0].Quantity != 1 || pos[0].CostBasis.String() != "100" {
				t.Fatalf("participant %d positions %+v, %v", p.ID, pos, err)
			}
			os, total, err := store.Orders(ctx, game.OrderFilter{BullPenID: room, ParticipantID: p.ID, Limit: 100})
			if err != nil || total != orders {
				t.Fatalf("participant %d: %d orders, %v", p.ID, total, err)
			}
			for _, o := range os {
				if o.Status != game.OrderStatusFilled || o.FilledQuantity != 1 {
					t.Fatalf("order %+v", o)
				}
			}
			ledger, n, err := store.Ledger(ctx, p.ID, 0, 100)
			if err != nil || n != orders || len(ledger) != orders {
				t.Fatalf("participant %d ledger %d, %v", p.ID, n, err)
			}
		}
		evs, err := store.Events(ctx, room, 0, 1000)
		if err != nil || len(evs) != 2*2*orders {
			t.Fatalf("room %d: %d events, %v", room, len(evs), err)
		}
		for i, e := range evs {
			if e.Sequence != int64(i+1) {
				t.Fatalf("room %d event %d has sequence %d", room, i, e.Sequence)
			}
		}
	}
}

// TestFanoutAcrossTwoInstances spreads the subscribers over two servers on
// one PostgreSQL database.
func TestFanoutAcrossTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	dbURL := dbtest.Postgres(t)
	bin := testbin.Build(t)
	a, b := startServer(t, bin, dbURL), startServer(t, bin, dbURL)
	grantBenchAdmin(t, bin, a, dbURL)
	r := runBench(t, "fanout", "-url", a+","+b, "-members", "4", "-spectators", "2", "-traders", "2", "-rate", "10", "-duration", "2s")
	checkFanout(t, r, 4, 2, true)
	checkServers(t, r, 2)
	if r.Servers[0].Connections != 3 || r.Servers[1].Connections != 3 {
		t.Fatalf("sockets per instance: %d and %d, want 3 and 3", r.Servers[0].Connections, r.Servers[1].Connections)
	}
	// Each instance's sockets' latencies, together, are the whole.
	var n int
	for _, s := range r.Servers {
		if s.Delivery == nil || s.Delivery.Count == 0 {
			t.Fatalf("instance %s: no delivery latency of its own: %+v", s.URL, s.Delivery)
		}
		n += s.Delivery.Count
	}
	if n != r.Delivery.Latency.Count {
		t.Fatalf("instances' latencies %d, all %d", n, r.Delivery.Latency.Count)
	}

	// rooms: the traders take the instances in turn, so orders go in
	// through both.
	r = runBench(t, "rooms", "-url", a+","+b, "-rooms", "2", "-traders", "2", "-duration", "1s")
	if o := r.Orders; o == nil || o.Sent == 0 || o.Filled != o.Sent || o.Errors != 0 {
		t.Fatalf("orders: %+v", r.Orders)
	}
	var placed int64
	for _, s := range r.Servers {
		got := s.End.OrdersPlaced - s.Setup.OrdersPlaced
		if got == 0 {
			t.Fatalf("instance %s placed no order of %d", s.URL, r.Orders.Sent)
		}
		placed += got
	}
	if placed != int64(r.Orders.Sent) {
		t.Fatalf("instances placed %d orders, the bench sent %d", placed, r.Orders.Sent)
	}

	// -rooms-by-instance: one room's traders all use its instance, the
	// first.
	r = runBench(t, "rooms", "-url", a+","+b, "-rooms", "1", "-traders", "2", "-duration", "1s", "-rooms-by-instance")
	if o := r.Orders; o == nil || o.Sent == 0 || o.Filled != o.Sent || o.Errors != 0 {
		t.Fatalf("orders by instance: %+v", r.Orders)
	}
	for i, want := range []int64{int64(r.Orders.Sent), 0} {
		s := r.Servers[i]
		if got := s.End.OrdersPlaced - s.Setup.OrdersPlaced; got != want {
			t.Fatalf("-rooms-by-instance: instance %s placed %d orders, want %d", s.URL, got, want)
		}
	}
}

func TestParseEvent(t *testing.T) {
	msg := []byte(`{"id":"1","type":"next","payload":{"data":{"bullPenEvents":{"__typename":"OrderEvent","sequence":42,"kind":"FILLED","order":{"id":"7","clientOrderId":"b123"}}}}}`)
	if typ := envelopeType(msg); typ != "next" {
		t.Fatalf("type %q", typ)
	}
	kind, seq, order, _ := parseEvent(msg)
	if kind != 'O' || seq != 42 || order != 123 {
		t.Fatalf("got %c %d %d", kind, seq, order)
	}
	msg = []byte(`{"payload":{"data":{"bullPenEvents":{"__typename":"PositionEvent","sequence":43,"participantId":"9","position":{"symbol":"AAPL"}}}},"type":"next","id":"1"}`)
	if typ := envelopeType(msg); typ != "next" {
		t.Fatalf("type with the payload first: %q", typ)
	}
	kind, seq, _, pid := parseEvent(msg)
	if kind != 'P' || seq != 43 || string(pid) != "9" {
		t.Fatalf("got %c %d %s", kind, seq, pid)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"ScenarioFirst", []string{"fanout", "-members", "5"}, true},
		{"ScenarioLast", []string{"-members", "5", "idle"}, true},
		{"NoScenario", []string{"-members", "5"}, false},
		{"RemoteServer", []string{"idle", "-url", "http://example.com"}, false},
		{"TooManyTraders", []string{"fanout", "-members", "2", "-traders", "3"}, false},
		{"BadTrades", []string{"fanout", "-trades", "SECRET"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, io.Discard)
			if (err == nil) != tc.ok {
				t.Fatalf("parseConfig(%v): %v", tc.args, err)
			}
		})
	}
}
