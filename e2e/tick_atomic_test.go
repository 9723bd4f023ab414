package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/internal/testbin"
)

// API.md, Orders: "A stored price and the fills it triggers are one atomic
// step: no crash, restart, failover or concurrent order may leave an order
// resting OPEN while the stored price crosses it." The two tests here try
// to break that promise from both sides: a process killed in the middle of
// a price move, and orders placed while the price moves under them.

const tickSymbol = "AAPL"

// restingAcross says whether an OPEN order contradicts the stored price:
// at that price it would fill, or its stop would have triggered without the
// order saying so. It is game's marketable rule, repeated here so the test
// does not trust the code it checks.
func restingAcross(o *game.Order, price decimal.Decimal) bool {
	triggered := o.Triggered
	if !triggered && o.StopPrice != nil {
		if o.Side == game.SideBuy {
			triggered = !price.LessThan(*o.StopPrice)
		} else {
			triggered = !price.GreaterThan(*o.StopPrice)
		}
	}
	if triggered != o.Triggered {
		return true
	}
	switch o.Type {
	case game.OrderTypeMarket:
		return true
	case game.OrderTypeStop, game.OrderTypeTrailingStop:
		return triggered
	case game.OrderTypeLimit, game.OrderTypeStopLimit:
		if o.Type == game.OrderTypeStopLimit && !triggered {
			return false
		}
		if o.Side == game.SideBuy {
			return !price.GreaterThan(*o.LimitPrice)
		}
		return !price.LessThan(*o.LimitPrice)
	}
	return false
}

// across is an OPEN order and the stored price that crosses it.
type across struct {
	order *game.Order
	price decimal.Decimal
}

func (a across) String() string {
	o := a.order
	s := fmt.Sprintf("order %d %s %s %d %s", o.ID, o.Side, o.Type, o.Quantity, o.Symbol)
	if o.LimitPrice != nil {
		s += " limit " + o.LimitPrice.String()
	}
	if o.StopPrice != nil {
		s += fmt.Sprintf(" stop %s (triggered %v)", o.StopPrice, o.Triggered)
	}
	return s + " is OPEN at stored price " + a.price.String()
}

// ordersAcross lists every OPEN order of an ACTIVE room that the stored
// price of its symbol crosses.
func ordersAcross(ctx context.Context, q game.Queries) ([]across, error) {
	quotes, err := q.Quotes(ctx)
	if err != nil {
		return nil, err
	}
	var bad []across
	for _, quote := range quotes {
		open, err := q.OpenOrdersBySymbol(ctx, quote.Symbol)
		if err != nil {
			return nil, err
		}
		for _, o := range open {
			if restingAcross(o, quote.Price) {
				bad = append(bad, across{o, quote.Price})
			}
		}
	}
	return bad, nil
}

// readerName marks the test's own PostgreSQL sessions, which
// waitForBackendsToExit does not wait for.
const readerName = "bullpen-tick-test-reader"

// openReader opens the database a server process uses, for reading; on
// PostgreSQL its sessions carry readerName.
func openReader(t *testing.T, dbURL string) *db.Store {
	t.Helper()
	if strings.HasPrefix(dbURL, "postgres") {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("application_name", readerName)
		u.RawQuery = q.Encode()
		dbURL = u.String()
	}
	store, err := db.Open(context.Background(), dbURL, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// waitForBackendsToExit waits until no session but the test's readers is
// connected to a PostgreSQL database, so that a killed process's last
// COMMIT, if it was sent, has landed before the database is read. SQLite
// needs no wait: a process that is gone writes nothing more.
func waitForBackendsToExit(t *testing.T, dbURL string) {
	t.Helper()
	if !strings.HasPrefix(dbURL, "postgres") {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND application_name <> $1`, readerName).Scan(&n)
		if err != nil {
			t.Fatalf("waiting for the killed server's sessions to end: %v", err)
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // waiting for PostgreSQL to notice a dead client
	}
}

// TestTickIsAtomicUnderSIGKILL kills the server with SIGKILL while
// setQuote moves a price down through many resting orders, then reads the
// database: no order may rest OPEN across the stored price, neither as the
// crash left it nor after a restart, and the books must match the fills.
// BULLPEN_KILLS sets the kills per engine (default 15); BULLPEN_KILL_MAX_MS
// the latest kill after the first setQuote is sent (default 40).
func TestTickIsAtomicUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and kills it many times")
	}
	kills := testbin.EnvCount(t, "BULLPEN_KILLS", 15)
	maxDelay := time.Duration(testbin.EnvCount(t, "BULLPEN_KILL_MAX_MS", 40)) * time.Millisecond
	bin := testbin.Build(t)
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) { killDuringTicks(t, bin, dbtest.Open(t, backend), kills, maxDelay) })
	}
}

// The book lives between floorPrice and resetPrice: each round rests it
// at resetPrice, sweeps down through it in sweepSteps (killed somewhere),
// and after the restart a tick at floorPrice fills what is left.
const resetPrice, floorPrice = "100", "90"

var sweepSteps = []string{"99.5", "99", "98.5", "98", "97.5", "97", "96.5", "96", "95.5", "95", "94"}

func killDuringTicks(t *testing.T, bin, dbURL string, kills int, maxDelay time.Duration) {
	in := startInstance(t, bin, dbURL, "setup")
	admin, owner := in.signUpAdmin("admin"), in.signUp("owner")
	const players = 4
	tokens := make([]string, players)
	for i := range tokens {
		tokens[i] = in.signUp(fmt.Sprintf("player%d", i))
	}
	setQuote := func(in *instance, price string) *gqlResponse {
		return in.doQuiet(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`, map[string]any{"s": tickSymbol, "p": price})
	}
	mustSetQuote := func(in *instance, price string) {
		if r := setQuote(in, price); r == nil || len(r.Errors) > 0 {
			t.Fatalf("setQuote %s: %+v", price, r)
		}
	}
	mustSetQuote(in, resetPrice)
	// Two rooms, so that one tick spans rooms as well as orders.
	rooms := make([]string, 2)
	for r := range rooms {
		var created struct{ CreateBullPen struct{ ID, State string } }
		in.must(owner, `mutation($n: String!, $e: Time!) { createBullPen(input: {name: $n, endsAt: $e, startingCash: "10000000", commission: "0.25"}) { id state } }`,
			map[string]any{"n": fmt.Sprintf("Kill %d", r), "e": fmtTime(time.Now().Add(24 * time.Hour))}, &created)
		rooms[r] = created.CreateBullPen.ID
		activate(in.testServer, owner, rooms[r], created.CreateBullPen.State)
	}
	for p, tok := range tokens {
		in.must(tok, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": rooms[p%len(rooms)]}, nil)
		in.must(tok, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { status } }`,
			map[string]any{"in": map[string]any{"bullPenId": rooms[p%len(rooms)], "symbol": tickSymbol, "side": "BUY", "quantity": 500}}, nil)
	}
	reader := openReader(t, dbURL)
	ctx := context.Background()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	var (
		beforeFirstPrice, midSweep, afterSweep  int // where the kills landed, by what was stored
		brokenKills, brokenOrders, afterRestart int
		examples                                []string
	)
	for i := range kills {
		mustSetQuote(in, resetPrice) // triggered stop-limits fill here
		for p, tok := range tokens {
			restBook(t, in, tok, rooms[p%len(rooms)], rng, p)
		}

		delay := time.Millisecond + time.Duration(rng.Int64N(int64(maxDelay)))
		var wg sync.WaitGroup
		var swept atomic.Bool
		wg.Go(func() {
			for _, price := range sweepSteps {
				r := setQuote(in, price)
				if r == nil {
					return // killed under this request
				}
				if len(r.Errors) > 0 {
					t.Errorf("setQuote %s: %+v", price, r.Errors)
					return
				}
			}
			swept.Store(true)
		})
		time.Sleep(delay) // the randomised moment of the kill
		_ = in.cmd.Process.Kill()
		_, _ = in.cmd.Process.Wait()
		wg.Wait()
		if t.Failed() {
			return
		}
		waitForBackendsToExit(t, dbURL)

		// As the crash left it.
		q, err := reader.Quote(ctx, tickSymbol)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case swept.Load():
			afterSweep++
		case q.Price.Equal(decimal.RequireFromString(resetPrice)):
			beforeFirstPrice++
		default:
			midSweep++
		}
		bad, err := ordersAcross(ctx, reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			brokenKills++
			brokenOrders += len(bad)
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("kill %d, %v after the first setQuote was sent: %s (and %d more)", i, delay, bad[0], len(bad)-1))
			}
		}

		// After a restart, before any new price.
		in = startInstance(t, bin, dbURL, fmt.Sprintf("restart%d", i))
		if bad, err = ordersAcross(ctx, reader); err != nil {
			t.Fatal(err)
		} else if len(bad) > 0 {
			afterRestart++
		}

		// A tick nobody interrupts leaves nothing across: the control.
		mustSetQuote(in, floorPrice)
		if bad, err = ordersAcross(ctx, reader); err != nil {
			t.Fatal(err)
		} else if len(bad) > 0 {
			t.Fatalf("round %d: a tick that ran to the end left %s (and %d more)", i, bad[0], len(bad)-1)
		}
	}
	t.Logf("%d kills: %d before the first new price was stored, %d mid-sweep, %d after the sweep had finished", kills, beforeFirstPrice, midSweep, afterSweep)
	if brokenKills > 0 {
		t.Errorf("%d of %d kills left orders resting OPEN across the stored price (%d orders in all; %d rounds still so after the restart):\n%s",
			brokenKills, kills, brokenOrders, afterRestart, strings.Join(examples, "\n"))
	} else if afterRestart > 0 {
		t.Errorf("%d of %d restarts left orders resting OPEN across the stored price", afterRestart, kills)
	}
	for _, room := range rooms {
		id, _ := strconv.ParseInt(room, 10, 64)
		checkBooks(t, reader, id)
	}
}

// activate starts a room that came back SCHEDULED (API.md promises ACTIVE
// for a room without startsAt; these tests are about ticks, not that).
func activate(ts *testServer, owner, roomID, state string) {
	ts.t.Helper()
	if state == "ACTIVE" {
		return
	}
	r := ts.do(owner, `mutation($id: ID!) { startBullPen(id: $id) { state } }`, map[string]any{"id": roomID})
	if len(r.Errors) > 0 && r.Errors[0].Extensions["code"] != game.ECONFLICT { // the scheduler may have started it
		ts.t.Fatalf("start: %+v", r.Errors)
	}
}

// restBook places, in one request, the orders one participant rests for a
// sweep while the price is resetPrice: LIMIT buys, STOP sells and
// STOP_LIMIT sells, all between the first and the last sweep step.
func restBook(t *testing.T, in *instance, token, roomID string, rng *rand.Rand, player int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`mutation($id: ID!) {`)
	level := func() decimal.Decimal { return decimal.New(9450+rng.Int64N(549), -2) } // 94.50 to 99.98
	n := 0
	add := func(side, typ string, prices string) {
		fmt.Fprintf(&b, " o%d: placeOrder(input: {bullPenId: $id, symbol: %q, side: %s, type: %s, quantity: %d, %s}) { status }",
			n, tickSymbol, side, typ, 1+rng.IntN(5), prices)
		n++
	}
	for range 8 {
		add("BUY", "LIMIT", fmt.Sprintf("limitPrice: %q", level()))
	}
	for range 2 {
		add("SELL", "STOP", fmt.Sprintf("stopPrice: %q", level()))
	}
	stop := level()
	add("SELL", "STOP_LIMIT", fmt.Sprintf("stopPrice: %q, limitPrice: %q", stop, stop.Sub(decimal.NewFromInt(rng.Int64N(3)))))
	b.WriteString(" }")
	r := in.do(token, b.String(), map[string]any{"id": roomID})
	if len(r.Errors) > 0 {
		t.Fatalf("player %d rests orders: %+v", player, r.Errors)
	}
}

// TestPlaceOrderCannotRestBehindATick places LIMIT buys at one level from
// many goroutines while another moves the price above and below it. Each
// time setQuote returns, and at the end, no order may rest OPEN across the
// committed price: on PostgreSQL an order that read the old price must not
// come to rest after the tick has looked for the orders it crosses.
// BULLPEN_RACE_TICKS bounds the price moves per engine (default 400),
// BULLPEN_RACE_SECONDS the time per engine (default 12).
func TestPlaceOrderCannotRestBehindATick(t *testing.T) {
	if testing.Short() {
		t.Skip("races orders against prices for many seconds")
	}
	ticks := testbin.EnvCount(t, "BULLPEN_RACE_TICKS", 400)
	budget := time.Duration(testbin.EnvCount(t, "BULLPEN_RACE_SECONDS", 12)) * time.Second
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			raceTicks(t, startServerOn(t, dbtest.Open(t, backend), noOrderLimit...), ticks, budget)
		})
	}
}

func raceTicks(t *testing.T, ts *testServer, ticks int, budget time.Duration) {
	admin, owner := ts.signUpAdmin("admin"), ts.signUp("owner")
	const players, placersEach = 8, 2
	tokens := make([]string, players)
	for i := range tokens {
		tokens[i] = ts.signUp(fmt.Sprintf("player%d", i))
	}
	const level, above, below = "100", "100.5", "99.5"
	ts.must(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`, map[string]any{"s": tickSymbol, "p": above}, nil)
	var created struct{ CreateBullPen struct{ ID, State string } }
	ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Race ticks", endsAt: $e, startingCash: "100000000"}) { id state } }`,
		map[string]any{"e": fmtTime(t0.Add(48 * time.Hour))}, &created)
	roomID := created.CreateBullPen.ID
	activate(ts, owner, roomID, created.CreateBullPen.State)
	for _, tok := range tokens {
		ts.must(tok, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": roomID}, nil)
	}

	ctx := context.Background()
	store := ts.openStore(t)
	var (
		stop           atomic.Bool
		placed, rested atomic.Int64
		wg             sync.WaitGroup
	)
	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { status } }`
	in := map[string]any{"bullPenId": roomID, "symbol": tickSymbol, "side": "BUY", "type": "LIMIT", "quantity": 1, "limitPrice": level}
	for p := range players * placersEach {
		wg.Go(func() {
			for !stop.Load() {
				r, err := ts.post(tokens[p%players], place, map[string]any{"in": in})
				if err != nil || len(r.Errors) > 0 {
					t.Errorf("placeOrder: %v %+v", err, r.Errors)
					return
				}
				var o struct{ PlaceOrder struct{ Status string } }
				_ = json.Unmarshal(r.Data, &o)
				placed.Add(1)
				if o.PlaceOrder.Status == "OPEN" {
					rested.Add(1)
				}
			}
		})
	}

	seen := map[int64]bool{} // each violating order once
	var examples []string
	check := func(when string) {
		bad, err := ordersAcross(ctx, store)
		if err != nil {
			t.Error(err)
			return
		}
		for _, b := range bad {
			if !seen[b.order.ID] {
				seen[b.order.ID] = true
				if len(examples) < 5 {
					examples = append(examples, when+": "+b.String())
				}
			}
		}
	}
	deadline := time.Now().Add(budget)
	n := 0
	for ; n < ticks && time.Now().Before(deadline) && !t.Failed(); n++ {
		price := above
		if n%2 == 0 {
			price = below
		}
		r, err := ts.post(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`, map[string]any{"s": tickSymbol, "p": price})
		if err != nil || len(r.Errors) > 0 {
			t.Errorf("setQuote %s: %v %+v", price, err, r.Errors)
			break
		}
		check(fmt.Sprintf("after setQuote %d (%s)", n, price))
	}
	stop.Store(true)
	wg.Wait()
	check("at the end")
	t.Logf("%d price moves, %d orders placed at %s, %d came to rest", n, placed.Load(), level, rested.Load())
	if len(seen) > 0 {
		t.Errorf("%d of %d orders rested OPEN across the committed price:\n%s", len(seen), placed.Load(), strings.Join(examples, "\n"))
	}
	id, _ := strconv.ParseInt(roomID, 10, 64)
	checkBooks(t, store, id)
}
