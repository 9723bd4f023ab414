package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bullpen/bullpen/internal/gqlclient"
	"github.com/shopspring/decimal"
)

// loopConfig is what the loop subcommand's flags say.
type loopConfig struct {
	Bin      string
	DB       string
	Kills    int
	Traders  int
	MaxKill  time.Duration
	Seed     uint64
	Keep     bool
	LogDir   string
	Progress bool // a line per kill
	// MidnightIn runs the server's clock (-clock-offset) so that 00:00
	// UTC comes this long after the run starts, and the rooms have
	// carrying costs due then; 0 runs it on the real time.
	MidnightIn time.Duration
}

// loopStats is what a run did and checked.
type loopStats struct {
	Kills             int           `json:"kills"`
	Rooms             int           `json:"rooms"`
	OrdersSent        int64         `json:"ordersSent"`        // placeOrder requests, first sends and re-sends
	OrdersAcked       int64         `json:"ordersAcked"`       // answered
	OrdersKept        int64         `json:"ordersKept"`        // distinct orders found in the database and checked
	LostAnswers       int64         `json:"lostAnswers"`       // placeOrder answers cut off by a kill, then re-sent
	Resends           int64         `json:"resends"`           // re-sends of answered clientOrderIds
	Cancels           int64         `json:"cancels"`           // cancelOrder answered CANCELLED
	Quotes            int64         `json:"quotes"`            // setQuote answered
	LiveEvents        int64         `json:"liveEvents"`        // received on bullPenEvents and found equal in the log
	EventsChecked     int64         `json:"eventsChecked"`     // log entries read and checked, summed over checks
	Checks            int           `json:"checks"`            // consistent snapshots checked (one per restart)
	DueMoves          int           `json:"dueMoves"`          // scheduled starts and ends checked
	DueWhileDown      int           `json:"dueWhileDown"`      // of which came due while the server was down
	Accruals          int           `json:"accruals"`          // INTEREST lines checked in ended rooms, each once
	AccrualsWhileDown int           `json:"accrualsWhileDown"` // of which were due while the server was down
	Rejected          int64         `json:"rejectedOrders"`    // orders the server stored REJECTED
	RateLimited       int64         `json:"rateLimited"`       // requests answered RATE_LIMITED (sent again later)
	CorpEvents        int64         `json:"corporateEvents"`   // CorporateActionEvents in the rooms' logs, as last checked
	DividendLines     int64         `json:"dividendLines"`     // DIVIDEND ledger lines, as last checked
	Duration          time.Duration `json:"duration"`
}

var symbols = []string{"AAPL", "MSFT", "NVDA"}

const (
	startingCash = "1000000"
	commission   = "0.25"
	password     = "bullpen-crash-pw"
)

// crashLoop is one run of the loop subcommand.
type crashLoop struct {
	cfg   loopConfig
	out   io.Writer
	db    *database
	proc  *process
	cl    *client
	sub   *subscriber
	rng   *rand.Rand // the main goroutine's
	tag   string     // makes this run's usernames unique
	admin string     // tokens
	owner string
	trade []*trader

	mu      sync.Mutex // guards rooms' membership, orders, prices, findings
	rooms   []*room
	orders  map[string]*order // by clientOrderId
	prices  map[string]decimal.Decimal
	find    []string
	nextCID int
	down    []interval
	started int // server processes started
	// offset is how far the server's clock runs ahead of the real time
	// (see loopConfig.MidnightIn); midnight is the 00:00 UTC, on the
	// server's clock, that the run crosses (zero: none).
	offset   time.Duration
	midnight time.Time

	corp      corpState // under mu once announced
	stats     loopStats
	sent      atomic.Int64
	acked     atomic.Int64
	lost      atomic.Int64
	resends   atomic.Int64
	cancels   atomic.Int64
	quotes    atomic.Int64
	rejected  atomic.Int64
	limited   atomic.Int64
	roomsMade int
}

type trader struct {
	i     int
	name  string
	token string
}

func (l *crashLoop) logf(format string, args ...any) {
	fmt.Fprintf(l.out, format+"\n", args...)
}

// finding records something the server got wrong.
func (l *crashLoop) finding(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.find = append(l.find, fmt.Sprintf(format, args...))
}

func (l *crashLoop) findings() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.find)
}

// runLoop trades against a server, kills it cfg.Kills times with SIGKILL
// at random moments, restarts it on the same database and checks after
// every restart. It returns an error listing the findings, if any.
func runLoop(ctx context.Context, cfg loopConfig, out io.Writer) (*loopStats, error) {
	t0 := time.Now()
	if cfg.Seed == 0 {
		cfg.Seed = uint64(t0.UnixNano())
	}
	logDir, db, cleanup, err := setUp(ctx, cfg.DB, cfg.LogDir, "bullpen-crash-", cfg.Keep)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	l := &crashLoop{cfg: cfg, out: out, db: db, rng: rand.New(rand.NewPCG(cfg.Seed, 1)),
		tag: "k" + strconv.FormatUint(cfg.Seed%(36*36*36*36*36*36), 36), orders: map[string]*order{}, prices: map[string]decimal.Decimal{}}
	l.cfg.LogDir = logDir
	if cfg.MidnightIn > 0 {
		real := time.Now()
		l.midnight = nextMidnight(real)
		l.offset = l.midnight.Add(-cfg.MidnightIn).Sub(real)
	}
	l.logf("crash loop: %d kills on %s, seed %d, server logs in %s", cfg.Kills, redact(db.dsn), cfg.Seed, logDir)
	if !l.midnight.IsZero() {
		l.logf("the server's clock runs %v ahead: it reaches %s in %v", l.offset.Round(time.Millisecond), l.midnight.Format(time.RFC3339), cfg.MidnightIn)
	}
	if err := l.start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if l.sub != nil {
			l.sub.close()
		}
		if l.proc != nil {
			l.proc.stop()
		}
	}()
	if err := l.setup(ctx); err != nil {
		return nil, err
	}
	for k := 0; k < cfg.Kills && ctx.Err() == nil; k++ {
		if err := l.round(ctx, k); err != nil {
			return l.report(t0), err
		}
		if n := l.findings(); n > 0 {
			break // what follows a broken invariant says little
		}
	}
	st := l.report(t0)
	if len(l.find) > 0 {
		msg := fmt.Sprintf("%d findings after %d kills:", len(l.find), st.Kills)
		for i, f := range l.find {
			if i == 30 {
				msg += fmt.Sprintf("\n  ... and %d more", len(l.find)-30)
				break
			}
			msg += "\n  " + f
		}
		return st, fmt.Errorf("%s", msg)
	}
	if cfg.Kills >= 10 && st.DueWhileDown == 0 {
		return st, fmt.Errorf("no scheduled move came due while the server was down in %d kills", st.Kills)
	}
	if cfg.Kills >= 10 && !l.midnight.IsZero() && st.Accruals == 0 {
		return st, fmt.Errorf("no carrying cost was checked in %d kills: no room that spanned %s ended", st.Kills, l.midnight.Format(time.RFC3339))
	}
	return st, ctx.Err()
}

func (l *crashLoop) report(t0 time.Time) *loopStats {
	st := &l.stats
	st.Rooms = l.roomsMade
	st.OrdersSent, st.OrdersAcked, st.LostAnswers = l.sent.Load(), l.acked.Load(), l.lost.Load()
	st.Resends, st.Cancels, st.Quotes, st.Rejected, st.RateLimited = l.resends.Load(), l.cancels.Load(), l.quotes.Load(), l.rejected.Load(), l.limited.Load()
	l.mu.Lock()
	st.CorpEvents, st.DividendLines = l.corporateStats()
	l.mu.Unlock()
	st.Duration = time.Since(t0).Round(time.Millisecond)
	return st
}

// start runs a new server process on the run's database and subscribes
// to every followed room from where its stream stopped.
func (l *crashLoop) start(ctx context.Context) error {
	name := fmt.Sprintf("%s%d", serverPrefix, l.started)
	l.started++
	p, err := startServer(ctx, l.cfg.Bin, l.db.dsn, l.cfg.LogDir, name, "-market", "manual", "-orders-per-second", "0",
		"-clock-offset", l.offset.String())
	if err != nil {
		return err
	}
	l.proc, l.cl = p, newClient(p.base)
	if l.owner == "" {
		return nil // setup subscribes
	}
	return l.subscribeAll(ctx)
}

func (l *crashLoop) subscribeAll(ctx context.Context) error {
	sub, err := dialSubscriber(ctx, l.proc.base, l.owner, l.feed, l.subFailed)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	l.sub = sub
	for _, r := range l.rooms {
		r.mu.Lock()
		r.subErr = ""
		after := r.lastLive
		r.mu.Unlock()
		if err := sub.subscribe(r.id, after); err != nil {
			return err
		}
	}
	return nil
}

func (l *crashLoop) roomByID(id string) *room {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.rooms {
		if r.id == id {
			return r
		}
	}
	return nil
}

func (l *crashLoop) feed(id string, ev liveEvent) {
	if r := l.roomByID(id); r != nil {
		r.feed(ev)
	}
}

func (l *crashLoop) subFailed(id, why string) {
	if r := l.roomByID(id); r != nil {
		r.mu.Lock()
		r.subErr = why
		r.mu.Unlock()
	}
}

// setup signs up the admin, the owner and the traders, and sets the first
// prices.
func (l *crashLoop) setup(ctx context.Context) error {
	signUp := func(name string) (string, error) {
		var out struct{ SignUp struct{ Token string } }
		err := l.cl.do(ctx, "", `mutation($u: String!, $p: String!) { signUp(input: {username: $u, password: $p}) { token } }`,
			map[string]any{"u": name, "p": password}, &out)
		if err != nil {
			return "", fmt.Errorf("signUp %s: %w", name, err)
		}
		return out.SignUp.Token, nil
	}
	var err error
	if l.admin, err = signUp(l.tag + "-admin"); err != nil {
		return err
	}
	// The role is granted on the database, as an operator would.
	if out, err := exec.CommandContext(ctx, l.cfg.Bin, "admin", "grant", l.tag+"-admin", "-db", l.db.dsn).CombinedOutput(); err != nil {
		return fmt.Errorf("bullpen admin grant: %v: %s", err, out)
	}
	if l.owner, err = signUp(l.tag + "-owner"); err != nil {
		return err
	}
	for i := range l.cfg.Traders {
		t := &trader{i: i, name: fmt.Sprintf("%s-trader%d", l.tag, i)}
		if t.token, err = signUp(t.name); err != nil {
			return err
		}
		l.trade = append(l.trade, t)
	}
	for _, s := range symbols {
		p := decimal.NewFromInt(100)
		if err := l.cl.do(ctx, l.admin, setQuote, map[string]any{"s": s, "p": p.String()}, nil); err != nil {
			return fmt.Errorf("setQuote: %w", err)
		}
		l.prices[s] = p
	}
	if err := l.cl.do(ctx, l.admin, setQuote, map[string]any{"s": corpSymbol, "p": corpPrice.String()}, nil); err != nil {
		return fmt.Errorf("setQuote: %w", err)
	}
	return l.subscribeAll(ctx)
}

const setQuote = `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`

// now is the time on the server's clock.
func (l *crashLoop) now() time.Time { return time.Now().Add(l.offset) }

// interestPercent is the crash rooms' cashInterestPercent (the loop never
// shorts, and cash never goes negative: the other carrying costs would
// book nothing).
const interestPercent = "5"

// nextMidnight is the first 00:00 UTC strictly after t.
func nextMidnight(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

// ensureRooms keeps three rooms that have not ended, each starting a moment
// from now and ending a few seconds later, every trader in each. While the
// run's 00:00 UTC is ahead, the first room ends a few seconds after it.
func (l *crashLoop) ensureRooms(ctx context.Context) error {
	live := 0
	now := l.now()
	for _, r := range l.rooms {
		if r.endsAt.After(now) {
			live++
		}
	}
	for ; live < 3; live++ {
		starts := now.Add(100*time.Millisecond + time.Duration(l.rng.Int64N(int64(700*time.Millisecond))))
		ends := starts.Add(2*time.Second + time.Duration(l.rng.Int64N(int64(4*time.Second))))
		if l.roomsMade == 0 && l.midnight.After(starts) {
			ends = l.midnight.Add(2*time.Second + time.Duration(l.rng.Int64N(int64(2*time.Second))))
		}
		if _, err := l.newRoom(ctx, starts, ends); err != nil {
			return err
		}
	}
	return nil
}

// newRoom creates a followed room from starts (now or before: it starts
// at once) to ends, every trader in it.
func (l *crashLoop) newRoom(ctx context.Context, starts, ends time.Time) (*room, error) {
	var out struct {
		CreateBullPen struct {
			ID               string
			State            string
			StartsAt, EndsAt time.Time
		}
	}
	err := l.cl.do(ctx, l.owner, `mutation($n: String!, $s: Time!, $e: Time!) { createBullPen(input: {name: $n, startsAt: $s, endsAt: $e,
		startingCash: "`+startingCash+`", commission: "`+commission+`", allowedSymbols: ["AAPL", "MSFT", "NVDA", "`+corpSymbol+`"],
		cashInterestPercent: "`+interestPercent+`"}) { id state startsAt endsAt } }`,
		map[string]any{"n": fmt.Sprintf("%s crash room %d", l.tag, l.roomsMade), "s": starts.UTC().Format(time.RFC3339Nano), "e": ends.UTC().Format(time.RFC3339Nano)}, &out)
	if err != nil {
		return nil, fmt.Errorf("createBullPen: %w", err)
	}
	c := out.CreateBullPen
	r := &room{id: c.ID, startsAt: c.StartsAt, endsAt: c.EndsAt, participants: map[int]string{}, state: c.State, unproved: map[int64]string{}}
	for _, t := range l.trade {
		var j struct{ JoinBullPen struct{ ID string } }
		if err := l.cl.do(ctx, t.token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": r.id}, &j); err != nil {
			return nil, fmt.Errorf("joinBullPen: %w", err)
		}
		r.participants[t.i] = j.JoinBullPen.ID
	}
	l.mu.Lock()
	l.rooms = append(l.rooms, r)
	l.mu.Unlock()
	l.roomsMade++
	return r, l.sub.subscribe(r.id, 0)
}

// round trades until a random moment, kills the server, keeps it down
// (sometimes until a room's start or end has come due), restarts it and
// checks everything.
func (l *crashLoop) round(ctx context.Context, k int) error {
	if err := l.ensureRooms(ctx); err != nil {
		return err
	}
	if k > 0 {
		if err := l.announceCorporate(ctx); err != nil {
			return err
		}
	}
	work, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, t := range l.trade {
		rng := rand.New(rand.NewPCG(l.rng.Uint64(), uint64(t.i)))
		wg.Go(func() { l.trader(work, t, rng) })
	}
	prng := rand.New(rand.NewPCG(l.rng.Uint64(), 99))
	wg.Go(func() { l.movePrices(work, prng) })
	delay := 10*time.Millisecond + time.Duration(l.rng.Int64N(int64(l.cfg.MaxKill)))
	select {
	case <-time.After(delay): // the random moment of the kill
	case <-ctx.Done():
	}
	downFrom := l.now()
	l.proc.kill()
	l.sub.close() // what it received until the kill is kept
	stop()
	wg.Wait()
	l.stats.Kills++
	if err := waitForBackends(ctx, l.db.dsn); err != nil {
		return err
	}
	// Half the time a start or end (or the run's 00:00 UTC) due within a
	// second and a half comes due while the server is down.
	if due, ok := l.nextDue(l.now()); ok && due.Sub(l.now()) < 1500*time.Millisecond && l.rng.IntN(2) == 0 {
		time.Sleep(due.Sub(l.now()) + 30*time.Millisecond) // the server is down: no timer of its own is waited for
	}
	l.down = append(l.down, interval{downFrom, l.now()})
	if err := l.start(ctx); err != nil {
		return err
	}
	if err := l.check(ctx); err != nil {
		return err
	}
	if l.cfg.Progress {
		st := l.report(time.Now())
		l.logf("kill %d after %v: %d orders sent, %d kept, %d answers lost, %d live events proved, %d due moves (%d while down)",
			k+1, delay.Round(time.Millisecond), st.OrdersSent, st.OrdersKept, st.LostAnswers, st.LiveEvents, st.DueMoves, st.DueWhileDown)
	}
	return nil
}

// nextDue is the earliest start or end after now of a followed room, or
// the run's 00:00 UTC.
func (l *crashLoop) nextDue(now time.Time) (time.Time, bool) {
	var next time.Time
	if l.midnight.After(now) {
		next = l.midnight
	}
	for _, r := range l.rooms {
		for _, t := range []time.Time{r.startsAt, r.endsAt} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next, !next.IsZero()
}

// tradable lists the followed rooms open for trading now, or, when none
// is, every room that has not ended.
func (l *crashLoop) tradable() []*room {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var open, later []*room
	for _, r := range l.rooms {
		if !now.Before(r.startsAt) && now.Before(r.endsAt) {
			open = append(open, r)
		} else if now.Before(r.endsAt) {
			later = append(later, r)
		}
	}
	if len(open) > 0 {
		return open
	}
	return later
}

const placeOrder = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { ` + orderFields + ` } }`

// trader places, cancels and re-sends orders until the round ends or the
// server is gone.
func (l *crashLoop) trader(ctx context.Context, t *trader, rng *rand.Rand) {
	for ctx.Err() == nil {
		var err error
		switch o, kind := l.nextAction(t, rng); kind {
		case "pending", "resend", "new":
			err = l.send(ctx, t, o, kind == "resend")
		case "cancel":
			err = l.cancel(ctx, t, o)
		default:
			return // nowhere to trade
		}
		if !answered(err) {
			return
		}
		if gqlclient.Code(err) == "RATE_LIMITED" {
			l.limited.Add(1)
			select { // a server with an order rate limit: slow down, as a client would
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// nextAction picks what the trader does next: first every order whose
// answer a kill cut off is sent again, then new orders, cancels of open
// ones and re-sends of answered ones.
func (l *crashLoop) nextAction(t *trader, rng *rand.Rand) (*order, string) {
	l.mu.Lock()
	var open, answered []*order
	for _, o := range l.orders {
		if o.trader != t.i {
			continue
		}
		if o.pending {
			l.mu.Unlock()
			return o, "pending"
		}
		if o.seen != nil {
			answered = append(answered, o)
			if o.seen.Status == "OPEN" {
				open = append(open, o)
			}
		}
	}
	l.mu.Unlock()
	switch r := rng.IntN(100); {
	case r < 12 && len(open) > 0:
		return open[rng.IntN(len(open))], "cancel"
	case r < 22 && len(answered) > 0:
		return answered[rng.IntN(len(answered))], "resend"
	}
	rooms := l.tradable()
	if len(rooms) == 0 {
		return nil, ""
	}
	return l.newOrder(t, rooms[rng.IntN(len(rooms))], rng), "new"
}

// newOrder makes a random order around the last price: market orders,
// limits that rest or cross, and stops.
func (l *crashLoop) newOrder(t *trader, r *room, rng *rand.Rand) *order {
	l.mu.Lock()
	defer l.mu.Unlock()
	sym := symbols[rng.IntN(len(symbols))]
	p := l.prices[sym]
	side := "BUY"
	if rng.IntN(100) < 35 {
		side = "SELL"
	}
	sign := decimal.NewFromInt(1) // toward resting: below for a buy
	if side == "SELL" {
		sign = sign.Neg()
	}
	away := func(lo, hi int) decimal.Decimal { // p moved by lo..hi tenths of a percent, away from crossing
		f := decimal.New(int64(lo+rng.IntN(hi-lo+1)), -3)
		return p.Sub(p.Mul(f).Mul(sign)).Round(2)
	}
	in := orderInput{room: r.id, symbol: sym, side: side, qty: 1 + rng.Int64N(20)}
	switch x := rng.IntN(100); {
	case x < 35:
		in.typ = "MARKET"
	case x < 80:
		in.typ = "LIMIT"
		lim := away(-10, 30) // a third cross at once
		in.limit = &lim
	case x < 92:
		in.typ = "STOP"
		stop := away(-30, -2) // above for a buy
		in.stop = &stop
	default:
		in.typ = "STOP_LIMIT"
		stop := away(-30, -2)
		lim := stop.Add(p.Mul(decimal.New(int64(rng.IntN(10)), -3)).Mul(sign.Neg()).Round(2))
		in.stop, in.limit = &stop, &lim
	}
	l.nextCID++
	o := &order{cid: fmt.Sprintf("%s-%d", l.tag, l.nextCID), trader: t.i, in: in}
	l.orders[o.cid] = o
	return o
}

// send places o (again, if it was sent before) and checks the answer.
func (l *crashLoop) send(ctx context.Context, t *trader, o *order, resend bool) error {
	l.mu.Lock()
	if o.pending {
		l.lost.Add(1) // this send repeats one whose answer was lost
	}
	o.pending = true
	r := l.roomByIDLocked(o.in.room)
	l.mu.Unlock()
	l.sent.Add(1)
	var out struct{ PlaceOrder orderState }
	err := l.cl.do(ctx, t.token, placeOrder, map[string]any{"in": o.in.vars(o.cid)}, &out)
	if err != nil {
		if answered(err) && gqlclient.Code(err) != "RATE_LIMITED" { // refused as a whole: the order stays owed
			l.finding("placeOrder %s (%s %s %s in room %s) answered %v", o.cid, o.in.side, o.in.typ, o.in.symbol, o.in.room, err)
		}
		return err
	}
	l.acked.Add(1)
	if resend {
		l.resends.Add(1)
	}
	s := &out.PlaceOrder
	l.mu.Lock()
	defer l.mu.Unlock()
	participant := ""
	if r != nil {
		participant = r.participants[t.i]
	}
	if why := o.matchesInput(s, participant); why != "" && r != nil {
		l.find = append(l.find, fmt.Sprintf("placeOrder %s answered an order that is not what was sent: %s", o.cid, why))
	}
	if o.seen != nil {
		if s.ID != o.seen.ID {
			l.find = append(l.find, fmt.Sprintf("re-sent clientOrderId %s made order %s; the first was %s", o.cid, s.ID, o.seen.ID))
		} else if why := legalMove(o.seen, s); why != "" {
			l.find = append(l.find, fmt.Sprintf("re-sent clientOrderId %s (order %s): %s", o.cid, s.ID, why))
		}
	}
	if s.Status == "REJECTED" && (o.seen == nil || o.seen.Status != "REJECTED") {
		l.rejected.Add(1)
	}
	o.seen, o.pending = s, false
	return nil
}

func (l *crashLoop) roomByIDLocked(id string) *room {
	for _, r := range l.rooms {
		if r.id == id {
			return r
		}
	}
	return nil
}

// cancel cancels an order last seen OPEN: the answer is the order
// CANCELLED, or CONFLICT when it had moved on.
func (l *crashLoop) cancel(ctx context.Context, t *trader, o *order) error {
	var out struct{ CancelOrder orderState }
	err := l.cl.do(ctx, t.token, `mutation($id: ID!) { cancelOrder(orderId: $id) { `+orderFields+` } }`, map[string]any{"id": o.seen.ID}, &out)
	if gqlclient.Code(err) == "CONFLICT" {
		return nil
	}
	if err != nil {
		if answered(err) && gqlclient.Code(err) != "RATE_LIMITED" {
			l.finding("cancelOrder %s (%s) answered %v", o.seen.ID, o.cid, err)
		}
		return err
	}
	s := &out.CancelOrder
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.Status != "CANCELLED" {
		l.find = append(l.find, fmt.Sprintf("cancelOrder %s answered status %s", s.ID, s.Status))
	} else if why := legalMove(o.seen, s); why != "" {
		l.find = append(l.find, fmt.Sprintf("cancelOrder %s: %s", s.ID, why))
	}
	o.seen = s
	l.cancels.Add(1)
	return nil
}

// movePrices walks the prices with setQuote, a few moves at a time, until
// the round ends or the server is gone.
func (l *crashLoop) movePrices(ctx context.Context, rng *rand.Rand) {
	lo, hi := decimal.NewFromInt(60), decimal.NewFromInt(160)
	for ctx.Err() == nil {
		sym := symbols[rng.IntN(len(symbols))]
		l.mu.Lock()
		p := l.prices[sym]
		l.mu.Unlock()
		step := p.Mul(decimal.New(int64(rng.IntN(21)-10), -3)).Round(2) // -1% .. +1%
		next := p.Add(step)
		if next.LessThan(lo) || next.GreaterThan(hi) {
			next = p.Sub(step)
		}
		err := l.cl.do(ctx, l.admin, setQuote, map[string]any{"s": sym, "p": next.String()}, nil)
		if err != nil {
			if answered(err) {
				l.finding("setQuote %s %s answered %v", sym, next, err)
			}
			return
		}
		l.quotes.Add(1)
		l.mu.Lock()
		l.prices[sym] = next
		l.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(1+rng.IntN(4)) * time.Millisecond): // pacing the market, not waiting for the server
		}
	}
}

// sortedRooms is the followed rooms in the order they were made.
func (l *crashLoop) sortedRooms() []*room {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.rooms)
}
