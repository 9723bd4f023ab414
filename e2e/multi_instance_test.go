package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/internal/testbin"
)

// instance is a bullpen process.
type instance struct {
	*testServer
	cmd *exec.Cmd
}

func startInstance(t *testing.T, bin, dbURL, name string) *instance {
	t.Helper()
	addr := testbin.FreeAddr(t)
	logf, _ := os.Create(filepath.Join(t.TempDir(), name+".log"))
	// Players here trade flat out: no per-participant order limit.
	cmd := exec.Command(bin, "-addr", addr, "-db", dbURL, "-market", "manual", "-bcrypt-cost", "4", "-orders-per-second", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{testServer: &testServer{t: t, url: "http://" + addr, dbURL: dbURL}, cmd: cmd}
	t.Cleanup(func() {
		in.stop()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become ready", name)
		}
		time.Sleep(20 * time.Millisecond) // waiting for a process to start
	}
}

// streamRecorder keeps every sequence a WebSocket subscription delivers.
type streamRecorder struct {
	mu   sync.Mutex
	seqs []int
	err  error
	done chan struct{}
}

// stop ends the instance as an operator would (SIGTERM) and waits for it
// to exit; stopping it again does nothing.
func (in *instance) stop() {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = in.cmd.Process.Wait()
}

func (in *instance) record(t *testing.T, token, roomID string) *streamRecorder {
	t.Helper()
	c, _, err := in.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init(map[string]any{"authorization": "Bearer " + token})
	// init's 10-second read deadline would cut the recording short on a
	// loaded machine (the stream ends with the test instead).
	_ = c.conn.SetReadDeadline(time.Time{})
	c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { bullPenEvents(bullPenId: $id, afterSequence: 0) { sequence } }`, "variables": map[string]any{"id": roomID}}})
	r := &streamRecorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			var m wsMsg
			if err := c.conn.ReadJSON(&m); err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
			if m.Type != "next" {
				continue
			}
			var p struct {
				Data struct{ BullPenEvents struct{ Sequence int } }
			}
			_ = json.Unmarshal(m.Payload, &p)
			r.mu.Lock()
			r.seqs = append(r.seqs, p.Data.BullPenEvents.Sequence)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *streamRecorder) snapshot() ([]int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seqs...), r.err
}

// TestTwoInstancesShareOnePostgres runs two server processes on one
// PostgreSQL database, subscribes on both, trades on both, kills one with
// SIGKILL mid-stream, and checks the books and the surviving stream.
func TestTwoInstancesShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two server processes")
	}
	dbURL := dbtest.Postgres(t)
	bin := testbin.Build(t)
	a := startInstance(t, bin, dbURL, "a")
	b := startInstance(t, bin, dbURL, "b")

	admin, owner := a.signUpAdmin("admin"), b.signUp("owner") // tokens work on both
	const players = 4
	tokens := make([]string, players)
	for i := range tokens {
		tokens[i] = a.signUp(fmt.Sprintf("player%d", i))
	}
	b.must(admin, `mutation { x: setQuote(symbol: "AAPL", price: "100") { price } y: setQuote(symbol: "MSFT", price: "50") { price } }`, nil, nil)
	var created struct{ CreateBullPen struct{ ID string } }
	a.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Shared", endsAt: $e, startingCash: "20000", commission: "0.5"}) { id } }`,
		map[string]any{"e": fmtTime(time.Now().Add(time.Hour))}, &created)
	roomID := created.CreateBullPen.ID
	for i, tok := range tokens {
		[]*instance{a, b}[i%2].must(tok, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": roomID}, nil)
	}
	r := b.do(owner, `mutation($id: ID!) { startBullPen(id: $id) { state } }`, map[string]any{"id": roomID})
	if len(r.Errors) > 0 && r.Errors[0].Extensions["code"] != "CONFLICT" { // the scheduler may have started it
		t.Fatalf("start: %+v", r.Errors)
	}

	// A price set on a is streamed by b.
	qc, _, err := b.dialWS(t, "graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	qc.init(nil)
	qc.send(map[string]any{"id": "q", "type": "subscribe", "payload": map[string]any{"query": `subscription { quotes(symbols: ["MSFT"]) { symbol price } }`}})
	// The subscription is live once a price set after it arrives: retry the
	// (idempotent) price until one does.
	got := make(chan string, 1)
	go func() {
		m := qc.next()
		got <- string(m.Payload)
	}()
	select {
	case <-got:
		t.Fatal("a quote arrived before any was set")
	default:
	}
	for i := 0; ; i++ {
		a.must(admin, `mutation { setQuote(symbol: "MSFT", price: "51.25") { price } }`, nil, nil)
		select {
		case p := <-got:
			if !strings.Contains(p, `"price":"51.25"`) {
				t.Fatalf("quote on b: %s", p)
			}
		case <-time.After(200 * time.Millisecond):
			if i < 50 {
				continue
			}
			t.Fatal("b never streamed the price set on a")
		}
		break
	}

	onA := a.record(t, owner, roomID) // dies with a
	onB := b.record(t, owner, roomID) // must see everything

	// Trade through both instances; a dies halfway.
	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for p, tok := range tokens {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 3))
			for i := range 40 {
				target := []*instance{a, b}[(p+i)%2]
				select {
				case <-killed:
					target = b
				default:
				}
				in := map[string]any{"bullPenId": roomID, "symbol": []string{"AAPL", "MSFT"}[rng.IntN(2)],
					"side": []string{"BUY", "SELL"}[rng.IntN(2)], "quantity": 1 + rng.IntN(20)}
				if rng.IntN(3) == 0 {
					in["type"], in["limitPrice"] = "LIMIT", fmt.Sprintf("%d", 40+rng.IntN(70))
				}
				resp := target.doQuiet(tok, place, map[string]any{"in": in})
				if resp == nil && target == a {
					continue // a was killed under this request
				}
				if resp == nil || len(resp.Errors) > 0 {
					t.Errorf("place via %s: %+v", target.url, resp)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 40 {
			price := fmt.Sprintf("%d.%02d", 45+i%60, i)
			b.doQuiet(admin, `mutation($p: Decimal!) { setQuote(symbol: "AAPL", price: $p) { price } }`, map[string]any{"p": price})
			if i == 15 {
				_ = a.cmd.Process.Kill() // SIGKILL: no graceful shutdown
				close(killed)
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	<-onA.done // a's socket died with it

	// The survivor's stream catches up to the room's last sequence.
	var last struct{ BullPen struct{ LastSequence int } }
	b.must(owner, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": roomID}, &last)
	deadline := time.Now().Add(15 * time.Second)
	for {
		seqs, err := onB.snapshot()
		if len(seqs) >= last.BullPen.LastSequence {
			for i, s := range seqs[:last.BullPen.LastSequence] {
				if s != i+1 {
					t.Fatalf("stream on b: position %d has sequence %d", i, s)
				}
			}
			t.Logf("b's subscriber has all %d events in order; a's had %d before the kill", last.BullPen.LastSequence, len(mustSeqs(onA)))
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("stream on b has %d of %d events (err %v)", len(seqs), last.BullPen.LastSequence, err)
		}
		time.Sleep(10 * time.Millisecond) // waiting for another process
	}
	aSeqs := mustSeqs(onA)
	for i, s := range aSeqs {
		if s != i+1 {
			t.Fatalf("stream on a: position %d has sequence %d", i, s)
		}
	}

	// The books are read once nothing writes them: b, on the real clock,
	// still snapshots the leaderboard the last prices moved, and an event
	// it appends between checkBooks' read of the room and of the log made
	// the two disagree by one.
	b.stop()
	store, err := db.Open(context.Background(), dbURL, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var id int64
	fmt.Sscan(roomID, &id)
	checkBooks(t, store, id)
}

func mustSeqs(r *streamRecorder) []int {
	s, _ := r.snapshot()
	return s
}

// doQuiet is do without failing the test on transport errors (nil then).
func (ts *testServer) doQuiet(token, query string, vars map[string]any) *gqlResponse {
	out, err := ts.post(token, query, vars)
	if err != nil {
		return nil
	}
	return &out
}
