package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tradersCommand is the hidden subcommand that runs fanout's traders in a
// process of their own: the parent's thousands of socket readers, runnable
// at once when an event fans out, would otherwise queue the traders (and
// their timing) behind them in one Go scheduler.
const tradersCommand = "traders"

// traderSpec is what the traders need, in either process. The child reads
// it as one JSON line on stdin (the tokens stay out of the command line).
type traderSpec struct {
	URL      string        `json:"url"` // mutations go to the first instance
	Symbol   string        `json:"symbol"`
	Room     string        `json:"room"`
	Tokens   []string      `json:"tokens"` // one per trader
	Orders   int           `json:"orders"`
	Rate     float64       `json:"rate"`
	Duration time.Duration `json:"duration"`
	Drain    time.Duration `json:"drain"`
}

// orderResult is one order as the trader saw it; the child prints one per
// line as {"order":{...}}.
type orderResult struct {
	N         int    `json:"n"`
	SentNs    int64  `json:"sentNs,omitempty"` // wall clock (UnixNano) just before the request
	US        int64  `json:"us,omitempty"`     // placeOrder round trip in microseconds
	Outcome   string `json:"outcome"`          // filled, rejected, error, skipped, or another status in lower case
	ErrorKind string `json:"errorKind,omitempty"`
	Late      bool   `json:"late,omitempty"`
}

// tradersSummary is the child's last line, {"summary":{...}}.
type tradersSummary struct {
	Seconds float64 `json:"seconds"` // first order due -> last answer
	Results int     `json:"results"` // order lines printed before it
}

type tradersLine struct {
	Order   *orderResult    `json:"order,omitempty"`
	Summary *tradersSummary `json:"summary,omitempty"`
}

// placeOrders places spec.Orders market orders at spec.Rate per second,
// spread round-robin over the traders, each trader one at a time: order n
// is trader n%traders's with clientOrderId "b<n>", BUY and SELL in turn.
// A trader that falls behind sends its queued orders late (marked) and
// skips those still queued after Duration + Drain, so the run ends in
// bounded time. record is called once per order, from several goroutines.
// It returns the seconds from the first order due to the last answer.
func placeOrders(ctx context.Context, b *bench, spec traderSpec, record func(orderResult)) (float64, error) {
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / spec.Rate)
	start := time.Now()
	stopSending := start.Add(spec.Duration + spec.Drain)
	queues := make([]chan int, len(spec.Tokens))
	for t := range queues {
		queues[t] = make(chan int, spec.Orders)
		tok := spec.Tokens[t]
		wg.Go(func() {
			k := 0
			for n := range queues[t] {
				due := start.Add(time.Duration(n) * interval)
				if time.Now().After(stopSending) {
					record(orderResult{N: n, Outcome: "skipped"})
					continue
				}
				late := time.Since(due) > interval
				side := []string{"BUY", "SELL"}[k%2]
				k++
				t0 := time.Now()
				status, err := b.placeOrder(ctx, tok, spec.Room, side, "b"+strconv.Itoa(n))
				r := orderResult{N: n, SentNs: t0.UnixNano(), US: max(time.Since(t0).Microseconds(), 1), Late: late}
				switch {
				case err != nil:
					r.Outcome, r.ErrorKind = "error", errKind(err)
				default:
					r.Outcome = strings.ToLower(status)
				}
				record(r)
			}
		})
	}
	for n := range spec.Orders {
		at := start.Add(time.Duration(n) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		queues[n%len(queues)] <- n
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	return time.Since(start).Seconds(), ctx.Err()
}

// orderLog gathers the orders' results in the parent: the report's
// counts and mutation latencies, and each order's send time for the
// delivery latencies computed once every send time is known.
type orderLog struct {
	mu     sync.Mutex
	sentNs []int64 // order n's wall-clock send time; 0 if never sent
	seen   []bool
	lats   []time.Duration
	rep    *OrderReport
}

func newOrderLog(orders int) *orderLog {
	return &orderLog{sentNs: make([]int64, orders), seen: make([]bool, orders),
		rep: &OrderReport{ErrorKind: map[string]int{}}}
}

func (l *orderLog) add(r orderResult) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.N < 0 || r.N >= len(l.seen) {
		return fmt.Errorf("order %d out of range [0, %d)", r.N, len(l.seen))
	}
	if l.seen[r.N] {
		return fmt.Errorf("order %d reported twice", r.N)
	}
	l.seen[r.N] = true
	o := l.rep
	if r.Outcome == "skipped" {
		o.Skipped++
		return nil
	}
	if r.SentNs <= 0 {
		return fmt.Errorf("order %d (%s) has no send time", r.N, r.Outcome)
	}
	l.sentNs[r.N] = r.SentNs
	l.lats = append(l.lats, time.Duration(r.US)*time.Microsecond)
	o.Sent++
	if r.Late {
		o.Late++
	}
	switch r.Outcome {
	case "error":
		o.Errors++
		o.ErrorKind[r.ErrorKind]++
	case "filled":
		o.Filled++
	case "rejected":
		o.Rejected++
	}
	return nil
}

// results counts the orders reported, sent or skipped.
func (l *orderLog) results() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rep.Sent + l.rep.Skipped
}

// finish fills in the rates and the mutation latency.
func (l *orderLog) finish(seconds float64, ownProcess bool) *OrderReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.rep
	o.OwnProcess = ownProcess
	o.Seconds = seconds
	o.PerSecond = float64(o.Sent) / seconds
	o.Mutation = summarise(durationsUS(l.lats))
	return o
}

// sent is order n's send time, 0 if it was not sent. Call after the
// traders are done.
func (l *orderLog) sent(n int32) int64 {
	if n < 0 || int(n) >= len(l.sentNs) {
		return 0
	}
	return l.sentNs[n]
}

// runTradersInProcess places the orders from this process.
func (b *bench) runTradersInProcess(ctx context.Context, spec traderSpec, log *orderLog) (float64, error) {
	var mu sync.Mutex
	var bad error
	secs, err := placeOrders(ctx, b, spec, func(r orderResult) {
		if e := log.add(r); e != nil {
			mu.Lock()
			bad = errors.Join(bad, e)
			mu.Unlock()
		}
	})
	return secs, errors.Join(err, bad)
}

// runTradersProcess re-executes this binary as `bullpen-bench traders`,
// hands it spec on stdin and reads its results from its stdout. The child
// is killed when ctx ends or this returns early, and (on Linux) when this
// process dies; it also stops when its stdin closes.
func (b *bench) runTradersProcess(ctx context.Context, spec traderSpec, log *orderLog) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("traders process: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, tradersCommand)
	cmd.SysProcAttr = childProcAttr()
	cmd.Stderr = b.log
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("traders process: %w", err)
	}
	b.logf("traders run in process %d", cmd.Process.Pid)
	sum, rerr := func() (*tradersSummary, error) {
		if err := json.NewEncoder(stdin).Encode(spec); err != nil {
			return nil, err
		}
		return readTraderLines(stdout, log)
	}()
	if rerr != nil {
		cancel() // kill it: its output is of no use
	}
	// stdin stays open until now: its end tells the child its parent is gone.
	stdin.Close()
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case rerr != nil:
		return 0, fmt.Errorf("traders process: %w (exit: %v)", rerr, werr)
	case werr != nil:
		return 0, fmt.Errorf("traders process: %w", werr)
	}
	return sum.Seconds, nil
}

// readTraderLines reads the child's order lines into log up to its summary.
func readTraderLines(r io.Reader, log *orderLog) (*tradersSummary, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line tradersLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("bad line %.200q: %w", sc.Text(), err)
		}
		switch {
		case line.Order != nil:
			if err := log.add(*line.Order); err != nil {
				return nil, err
			}
		case line.Summary != nil:
			if got := log.results(); got != line.Summary.Results {
				return nil, fmt.Errorf("summary counts %d orders, %d lines read", line.Summary.Results, got)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return nil, err
			}
			return line.Summary, nil
		default:
			return nil, fmt.Errorf("bad line %.200q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("ended without a summary")
}

// runTraders is the child: it reads a traderSpec line on stdin, places
// the orders, prints one line per order and a summary on stdout. It stops
// when ctx ends or stdin closes (the parent is gone).
func runTraders(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	in := bufio.NewReader(stdin)
	first, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s: reading the spec on stdin: %w", tradersCommand, err)
	}
	var spec traderSpec
	if err := json.Unmarshal(first, &spec); err != nil {
		return fmt.Errorf("%s: bad spec: %w", tradersCommand, err)
	}
	if spec.Orders < 1 || len(spec.Tokens) < 1 || spec.Rate <= 0 || spec.Room == "" {
		return fmt.Errorf("%s: spec needs orders, tokens, a rate and a room", tradersCommand)
	}
	if err := checkLoopback(spec.URL); err != nil {
		return fmt.Errorf("%s: url %s: %w", tradersCommand, spec.URL, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Owned by this process: it returns when the parent closes stdin or
	// dies, and cancels the orders.
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	b := newBench(config{URLs: []string{spec.URL}, Symbol: spec.Symbol}, stderr)
	defer b.close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	var (
		mu     sync.Mutex
		n      int
		outErr error
	)
	secs, err := placeOrders(ctx, b, spec, func(r orderResult) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if outErr == nil {
			outErr = enc.Encode(tradersLine{Order: &r})
		}
		if outErr == nil {
			outErr = w.Flush()
		}
	})
	if err != nil {
		return err
	}
	if outErr != nil {
		return outErr
	}
	if err := enc.Encode(tradersLine{Summary: &tradersSummary{Seconds: secs, Results: n}}); err != nil {
		return err
	}
	return w.Flush()
}
