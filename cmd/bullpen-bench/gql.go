package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bullpen/bullpen/internal/gqlclient"
)

// bench holds what every scenario shares: the configuration, an HTTP
// client, the admin's token and a prefix that makes this run's usernames
// unique.
type bench struct {
	cfg    config
	log    io.Writer
	http   *http.Client
	prefix string
	start  time.Time // the clock every latency is measured on
	admin  string    // token
}

func newBench(c config, log io.Writer) *bench {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}
	return &bench{
		cfg: c, log: &lockedWriter{w: log},
		http:   &http.Client{Transport: tr, Timeout: 60 * time.Second},
		prefix: "b" + strconv.FormatInt(time.Now().UnixMilli()%(36*36*36*36*36*36*36), 36),
		start:  time.Now(),
	}
}

func (b *bench) close() { b.http.CloseIdleConnections() }

// lockedWriter lets the bench's goroutines and the traders process's
// stderr share one log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%6.1fs  "+format+"\n", append([]any{time.Since(b.start).Seconds()}, args...)...)
}

// do posts one operation to the first instance and decodes data into out.
func (b *bench) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	return b.doAt(ctx, b.cfg.URLs[0], token, query, vars, out)
}

func (b *bench) doAt(ctx context.Context, base, token, query string, vars map[string]any, out any) error {
	return gqlclient.Post(ctx, b.http, base, token, query, vars, out)
}

const benchPassword = "bullpen-bench-pw"

// signUp creates a user and returns its token.
func (b *bench) signUp(ctx context.Context, name, password string) (string, error) {
	var out struct{ SignUp struct{ Token string } }
	err := b.do(ctx, "", `mutation($u: String!, $p: String!) { signUp(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": name, "p": password}, &out)
	return out.SignUp.Token, err
}

// setPrice signs the admin in, signing them up on first use, and sets
// the price the bench trades at.
func (b *bench) setPrice(ctx context.Context) error {
	tok, err := b.signUp(ctx, b.cfg.Admin, b.cfg.adminPass)
	if gqlclient.Code(err) == "CONFLICT" {
		var out struct{ SignIn struct{ Token string } }
		err = b.do(ctx, "", `mutation($u: String!, $p: String!) { signIn(input: {username: $u, password: $p}) { token } }`,
			map[string]any{"u": b.cfg.Admin, "p": b.cfg.adminPass}, &out)
		tok = out.SignIn.Token
	}
	if err != nil {
		return fmt.Errorf("admin %q: %w", b.cfg.Admin, err)
	}
	b.admin = tok
	err = b.do(ctx, tok, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`,
		map[string]any{"s": b.cfg.Symbol, "p": b.cfg.Price}, nil)
	if err != nil {
		return fmt.Errorf("setQuote (start the server with -market manual; the account %q exists now: give it the admin role with `bullpen admin grant %s -db <the server's database>` and run the bench again): %w", b.cfg.Admin, b.cfg.Admin, err)
	}
	return nil
}

// user is a signed-up user, and their participant once they joined a room.
type user struct {
	name        string
	token       string
	participant string
}

// signUpUsers creates n users named prefix-tag-i, each joining the room
// given by roomOf(i) (none when it returns ""), a few at a time.
func (b *bench) signUpUsers(ctx context.Context, tag string, n int, roomOf func(i int) string) ([]*user, error) {
	users := make([]*user, n)
	if n == 0 {
		return users, nil
	}
	t0 := time.Now()
	// One first, to warn early about an expensive password hash.
	first := func(i int) error {
		u := &user{name: fmt.Sprintf("%s-%s%d", b.prefix, tag, i)}
		var err error
		if u.token, err = b.signUp(ctx, u.name, benchPassword); err != nil {
			return fmt.Errorf("signUp %s: %w", u.name, err)
		}
		if room := roomOf(i); room != "" {
			var out struct{ JoinBullPen struct{ ID string } }
			if err := b.do(ctx, u.token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, &out); err != nil {
				return fmt.Errorf("joinBullPen %s: %w", u.name, err)
			}
			u.participant = out.JoinBullPen.ID
		}
		users[i] = u
		return nil
	}
	if err := first(0); err != nil {
		return nil, err
	}
	if d := time.Since(t0); d > 50*time.Millisecond && n > 100 {
		b.logf("warning: a sign-up took %v; start the server with -bcrypt-cost 4", d.Round(time.Millisecond))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		next = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := first(i); err != nil {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	lastLog := time.Now()
	for i := 1; i < n; i++ {
		mu.Lock()
		failed := errs != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
		if time.Since(lastLog) > 5*time.Second {
			b.logf("signed up %d/%d %s users", i, n, tag)
			lastLog = time.Now()
		}
	}
	close(next)
	wg.Wait()
	if errs != nil {
		return nil, errs
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.logf("signed up %d %s users in %v", n, tag, time.Since(t0).Round(time.Millisecond))
	return users, nil
}

// createRoom opens an ACTIVE public room owned by owner, with the
// configured execution preset.
func (b *bench) createRoom(ctx context.Context, owner, name, trades string) (string, error) {
	var out struct{ CreateBullPen struct{ ID, State string } }
	err := b.do(ctx, owner, `mutation($n: String!, $e: Time!, $t: TradeVisibility!, $x: ExecutionPreset!) {
  createBullPen(input: {name: $n, endsAt: $e, startingCash: "1000000", visibility: PUBLIC, tradeVisibility: $t,
    execution: {preset: $x}}) { id state } }`,
		map[string]any{"n": name, "e": time.Now().Add(b.cfg.Duration + 2*time.Hour).UTC().Format(time.RFC3339), "t": trades, "x": b.cfg.Execution}, &out)
	if err != nil {
		return "", fmt.Errorf("createBullPen: %w", err)
	}
	if out.CreateBullPen.State != "ACTIVE" {
		return "", fmt.Errorf("createBullPen: room is %s, want ACTIVE", out.CreateBullPen.State)
	}
	return out.CreateBullPen.ID, nil
}

const placeOrderDoc = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`

// placeOrder places a market order for one share and reports its status.
func (b *bench) placeOrder(ctx context.Context, token, room, side, clientOrderID string) (string, error) {
	return b.placeOrderAt(ctx, b.cfg.URLs[0], token, room, side, clientOrderID)
}

// placeOrderAt places a market order through the instance at base.
func (b *bench) placeOrderAt(ctx context.Context, base, token, room, side, clientOrderID string) (string, error) {
	in := map[string]any{"bullPenId": room, "symbol": b.cfg.Symbol, "side": side, "type": "MARKET", "quantity": 1}
	if clientOrderID != "" {
		in["clientOrderId"] = clientOrderID
	}
	var out struct{ PlaceOrder struct{ ID, Status string } }
	err := b.doAt(ctx, base, token, placeOrderDoc, map[string]any{"in": in}, &out)
	return out.PlaceOrder.Status, err
}

// lastSequence is the room's newest event sequence.
func (b *bench) lastSequence(ctx context.Context, token, room string) (int64, error) {
	var out struct{ BullPen *struct{ LastSequence int64 } }
	if err := b.do(ctx, token, `query($id: ID!) { bullPen(id: $id) { lastSequence } }`, map[string]any{"id": room}, &out); err != nil {
		return 0, err
	}
	if out.BullPen == nil {
		return 0, errors.New("room not found")
	}
	return out.BullPen.LastSequence, nil
}

// logEvent is one entry of the room's event log as its owner sees it.
type logEvent struct {
	Seq         int64
	Kind        byte   // 'O'rder, 'P'osition, 'L'eaderboard, 'R'oom state
	Participant string // order and position events
}

// eventLog reads the room's events in (after, upTo] as its owner, who sees
// them all.
func (b *bench) eventLog(ctx context.Context, owner, room string, after, upTo int64) ([]logEvent, error) {
	var evs []logEvent
	for after < upTo {
		var out struct {
			BullPenEventLog []struct {
				Typename      string `json:"__typename"`
				Sequence      int64
				ParticipantID string
				Order         *struct{ Participant struct{ ID string } }
			}
		}
		err := b.do(ctx, owner, `query($id: ID!, $a: Int!) { bullPenEventLog(bullPenId: $id, afterSequence: $a, limit: 1000) {
  __typename sequence ... on OrderEvent { order { participant { id } } } ... on PositionEvent { participantId } } }`,
			map[string]any{"id": room, "a": after}, &out)
		if err != nil {
			return nil, fmt.Errorf("bullPenEventLog: %w", err)
		}
		if len(out.BullPenEventLog) == 0 {
			return nil, fmt.Errorf("bullPenEventLog: nothing after %d, want up to %d", after, upTo)
		}
		for _, e := range out.BullPenEventLog {
			if e.Sequence > upTo {
				return evs, nil
			}
			le := logEvent{Seq: e.Sequence, Kind: kindOf(e.Typename), Participant: e.ParticipantID}
			if e.Order != nil {
				le.Participant = e.Order.Participant.ID
			}
			evs = append(evs, le)
			after = e.Sequence
		}
	}
	return evs, nil
}

func kindOf(typename string) byte {
	if strings.HasSuffix(typename, "Event") && typename != "" {
		return typename[0]
	}
	return '?'
}
