package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bullpen/bullpen/internal/gqlclient"
)

// liveRoom is one room with its subscribers connected and live.
type liveRoom struct {
	owner   string // token; the owner also joined, to poke the room
	room    string
	members []*user
	subs    []*subscriber
	m       *matcher
	base    int64 // every socket receives every event it may see after this
	conns   ConnReport
	setup   []Snapshot
	live    []Snapshot
	perURL  []int // sockets opened per instance
}

// openRoom makes a room with -members members and -spectators
// spectators subscribed to its events, and waits until each socket has
// received an event. maxOrders sizes the order matcher.
// setUp sets the price the bench trades at and signs up the owner of its
// rooms, whose token it returns.
func (b *bench) setUp(ctx context.Context) (string, error) {
	if err := b.setPrice(ctx); err != nil {
		return "", err
	}
	owner, err := b.signUp(ctx, b.prefix+"-owner", benchPassword)
	if err != nil {
		return "", fmt.Errorf("signUp owner: %w", err)
	}
	return owner, nil
}

func (b *bench) openRoom(ctx context.Context, maxOrders int) (*liveRoom, error) {
	c := b.cfg
	owner, err := b.setUp(ctx)
	if err != nil {
		return nil, err
	}
	room, err := b.createRoom(ctx, owner, "bench "+b.prefix, c.Trades)
	if err != nil {
		return nil, err
	}
	if err := b.do(ctx, owner, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil); err != nil {
		return nil, fmt.Errorf("owner joins: %w", err)
	}
	b.logf("room %s (trades %s)", room, c.Trades)
	members, err := b.signUpUsers(ctx, "m", c.Members, func(int) string { return room })
	if err != nil {
		return nil, err
	}
	lr := &liveRoom{owner: owner, room: room, members: members,
		conns: ConnReport{Members: c.Members, Spectators: c.Spectators, Drops: map[string]int{}}}
	traders := max(c.Traders, 1)
	lr.m = &matcher{orders: maxOrders, traders: traders, traderOf: map[string]int{}}
	for i, u := range members {
		if i < c.Traders {
			lr.m.traderOf[u.participant] = i
		}
	}
	// Let the sign-ups' garbage go before the baseline.
	time.Sleep(time.Second)
	if lr.setup, err = b.scrapeAll(ctx); err != nil {
		return nil, err
	}
	lr.subs = b.newSubscribers(members, c.Spectators)
	t0 := time.Now()
	failed, err := b.connect(ctx, lr.subs, room, lr.m)
	lr.conns.Failed, lr.conns.Opened = failed, len(lr.subs)-failed
	if err != nil {
		closeAll(lr.subs)
		return nil, err
	}
	lr.perURL = make([]int, len(c.URLs))
	for _, s := range lr.subs {
		if s.conn != nil {
			for i, u := range c.URLs {
				if u == s.url {
					lr.perURL[i]++
				}
			}
		}
	}
	pokes := 0
	poke := func() error {
		side := []string{"BUY", "SELL"}[pokes%2]
		pokes++
		_, err := b.placeOrder(ctx, owner, room, side, "")
		return err
	}
	lr.base, lr.conns.NeverLive, err = b.waitLive(ctx, lr.subs, poke, 60*time.Second)
	lr.conns.OpenSeconds = time.Since(t0).Seconds()
	if err != nil {
		closeAll(lr.subs)
		return nil, err
	}
	b.logf("%d sockets live from sequence %d", lr.conns.Opened-lr.conns.NeverLive, lr.base)
	if lr.live, err = b.scrapeAll(ctx); err != nil {
		closeAll(lr.subs)
		return nil, err
	}
	return lr, nil
}

func (b *bench) fanout(ctx context.Context) (*Report, error) {
	c := b.cfg
	maxOrders := max(int(c.Rate*c.Duration.Seconds()), 1)
	lr, err := b.openRoom(ctx, maxOrders)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			closeAll(lr.subs)
		}
	}()

	// Orders at -rate, spread round-robin over the traders (see
	// placeOrders), from a process of their own unless -traders-process=false.
	spec := traderSpec{URL: c.URLs[0], Symbol: c.Symbol, Room: lr.room, Orders: maxOrders,
		Rate: c.Rate, Duration: c.Duration, Drain: c.Drain}
	for _, u := range lr.members[:c.Traders] {
		spec.Tokens = append(spec.Tokens, u.token)
	}
	where := "in this process"
	if c.TradersProcess {
		where = "in their own process"
	}
	b.logf("placing %d orders at %g/s for %v, traders %s", maxOrders, c.Rate, c.Duration, where)
	olog := newOrderLog(maxOrders)
	start := time.Now()
	var secs float64
	if c.TradersProcess {
		secs, err = b.runTradersProcess(ctx, spec, olog)
	} else {
		secs, err = b.runTradersInProcess(ctx, spec, olog)
	}
	if err != nil {
		return nil, err
	}
	orders := olog.finish(secs, c.TradersProcess)

	// The fills' leaderboard comes within about a second.
	time.Sleep(1500 * time.Millisecond)
	last, err := b.lastSequence(ctx, lr.owner, lr.room)
	if err != nil {
		return nil, err
	}
	evs, err := b.eventLog(ctx, lr.owner, lr.room, lr.base, last)
	if err != nil {
		return nil, err
	}
	v := newVisibility(evs, c.Trades == "PUBLIC")
	b.logf("orders done; waiting for sequence %d on every socket", last)
	deadline := time.Now().Add(c.Drain)
	for {
		waiting := 0
		for _, s := range lr.subs {
			select {
			case <-s.done:
				continue
			default:
			}
			if s.lastSeq.Load() < v.lastFor(s.member) {
				waiting++
			}
		}
		if waiting == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			if waiting > 0 {
				b.logf("%d sockets still waiting after %v", waiting, c.Drain)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	window := time.Since(start)
	end, err := b.scrapeAll(ctx)
	if err != nil {
		return nil, err
	}
	closeAll(lr.subs)
	closed = true

	d := &DeliveryReport{FromSequence: lr.base, ToSequence: last, Events: len(evs)}
	var us []int32
	byURL := map[string][]int32{} // the same latencies, by the instance the socket is on
	for _, s := range lr.subs {
		if s.drop != "" {
			lr.conns.Drops[s.drop]++
		}
		if s.conn == nil {
			continue
		}
		d.Expected += v.expected(s.member)
		var got int64
		prev := int32(lr.base)
		for _, seq := range s.seqs {
			if int64(seq) <= lr.base || int64(seq) > last {
				continue
			}
			if seq <= prev {
				d.OutOfOrder++
				continue
			}
			prev = seq
			if v.sees(s.member, int64(seq)) {
				got++
				if v.bySeq[int64(seq)].Kind == 'O' {
					d.OrderEvents++
				}
			} else {
				d.Unexpected++
			}
		}
		d.Delivered += got
		d.Missing += max(v.expected(s.member)-got, 0)
		// Every send time is known now: an event may have been read
		// before the traders process reported its order.
		for _, smp := range s.samples {
			if int64(smp.seq) <= lr.base || int64(smp.seq) > last {
				continue
			}
			if sent := olog.sent(smp.order); sent != 0 {
				l := int32(min(max(smp.at-sent, 0)/1e3, 1<<31-1))
				us = append(us, l)
				byURL[s.url] = append(byURL[s.url], l)
			}
		}
	}
	d.Latency = summarise(us)
	d.PerSecond = float64(d.Delivered) / window.Seconds()
	r := &Report{Scenario: "fanout", Config: c, Connections: &lr.conns, Orders: orders, Delivery: d,
		Servers: serverReports(c.URLs, lr.setup, lr.live, end, lr.perURL, window)}
	if len(c.URLs) > 1 {
		// Orders go in through the first instance; the others learn of
		// each event from the database's notification.
		for i := range r.Servers {
			l := summarise(byURL[c.URLs[i]])
			r.Servers[i].Delivery = &l
		}
	}
	r.CPU = cpuReport(r)
	return r, nil
}

// visibility answers, from the room's log as its owner sees it, which of
// those events a member or a spectator may see.
type visibility struct {
	public   bool // trades PUBLIC
	bySeq    map[int64]logEvent
	shared   int64            // leaderboard and room-state events
	trades   int64            // order and position events
	own      map[string]int64 // order and position events per participant
	lastAll  int64
	lastShar int64
	lastOwn  map[string]int64
}

func newVisibility(evs []logEvent, public bool) *visibility {
	v := &visibility{public: public, bySeq: map[int64]logEvent{}, own: map[string]int64{}, lastOwn: map[string]int64{}}
	for _, e := range evs {
		v.bySeq[e.Seq] = e
		v.lastAll = e.Seq
		if e.Kind == 'O' || e.Kind == 'P' {
			v.trades++
			v.own[e.Participant]++
			v.lastOwn[e.Participant] = e.Seq
		} else {
			v.shared++
			v.lastShar = e.Seq
		}
	}
	return v
}

func (v *visibility) sees(member *user, seq int64) bool {
	e, ok := v.bySeq[seq]
	switch {
	case !ok:
		return false
	case e.Kind != 'O' && e.Kind != 'P':
		return true
	case member == nil:
		return false
	default:
		return v.public || e.Participant == member.participant
	}
}

func (v *visibility) expected(member *user) int64 {
	switch {
	case member == nil:
		return v.shared
	case v.public:
		return v.shared + v.trades
	default:
		return v.shared + v.own[member.participant]
	}
}

// lastFor is the newest event of the range that member may see.
func (v *visibility) lastFor(member *user) int64 {
	switch {
	case member == nil:
		return v.lastShar
	case v.public:
		return v.lastAll
	default:
		return max(v.lastShar, v.lastOwn[member.participant])
	}
}

func errKind(err error) string {
	if code := gqlclient.Code(err); code != "" {
		return code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "transport"
}

func (b *bench) rooms(ctx context.Context) (*Report, error) {
	c := b.cfg
	owner, err := b.setUp(ctx)
	if err != nil {
		return nil, err
	}
	rooms := make([]string, c.Rooms)
	for i := range rooms {
		if rooms[i], err = b.createRoom(ctx, owner, fmt.Sprintf("bench %s %d", b.prefix, i), c.Trades); err != nil {
			return nil, err
		}
	}
	traders, err := b.signUpUsers(ctx, "t", c.Rooms*c.Traders, func(i int) string { return rooms[i/c.Traders] })
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	setup, err := b.scrapeAll(ctx)
	if err != nil {
		return nil, err
	}
	b.logf("%d traders in %d rooms placing market orders for %v", len(traders), c.Rooms, c.Duration)
	orders := &OrderReport{ErrorKind: map[string]int{}}
	var mu sync.Mutex
	bases := make([]string, len(traders))
	for i := range traders {
		// Traders take the instances in turn, so each room's orders come
		// in through every instance, as behind a round-robin balancer.
		bases[i] = c.URLs[i%len(c.URLs)]
		if c.RoomsByInstance {
			bases[i] = c.URLs[(i/c.Traders)%len(c.URLs)]
		}
	}
	lats, elapsed := flatOut(ctx, len(traders), c.Duration, func(i, k int) bool {
		status, err := b.placeOrderAt(ctx, bases[i], traders[i].token, rooms[i/c.Traders], []string{"BUY", "SELL"}[k%2], "")
		mu.Lock()
		defer mu.Unlock()
		orders.Sent++
		switch {
		case err != nil:
			orders.Errors++
			orders.ErrorKind[errKind(err)]++
		case status == "FILLED":
			orders.Filled++
		case status == "REJECTED":
			orders.Rejected++
		}
		return true
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	orders.Seconds = elapsed.Seconds()
	orders.PerSecond = float64(orders.Sent) / orders.Seconds
	orders.Mutation = summarise(durationsUS(lats))
	end, err := b.scrapeAll(ctx)
	if err != nil {
		return nil, err
	}
	r := &Report{Scenario: "rooms", Config: c, Orders: orders,
		Servers: serverReports(c.URLs, setup, setup, end, make([]int, len(c.URLs)), elapsed)}
	r.CPU = cpuReport(r)
	return r, nil
}

// flatOut runs workers side by side for d, each calling call(worker, k)
// for k = 0, 1, ... one call after another, and returns how long each
// call took (those for which call reported true) and how long it ran.
func flatOut(ctx context.Context, workers int, d time.Duration, call func(worker, k int) bool) ([]time.Duration, time.Duration) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range workers {
		wg.Go(func() {
			var mine []time.Duration
			for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				t0 := time.Now()
				if call(i, k) {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lats = append(lats, mine...)
		})
	}
	wg.Wait()
	return lats, time.Since(start)
}

func (b *bench) idle(ctx context.Context) (*Report, error) {
	c := b.cfg
	lr, err := b.openRoom(ctx, 1)
	if err != nil {
		return nil, err
	}
	defer closeAll(lr.subs)
	start := time.Now()
	if c.Duration > 0 {
		b.logf("holding %d sockets for %v", lr.conns.Opened, c.Duration)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.Duration):
		}
	}
	end, err := b.scrapeAll(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range lr.subs {
		select {
		case <-s.done:
			if s.drop != "" {
				lr.conns.Drops[s.drop]++
			}
		default:
		}
	}
	return &Report{Scenario: "idle", Config: c, Connections: &lr.conns,
		Servers: serverReports(c.URLs, lr.setup, lr.live, end, lr.perURL, time.Since(start))}, nil
}
