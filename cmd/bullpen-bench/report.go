package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run prints, as JSON with -json and as a table.
type Report struct {
	Scenario    string          `json:"scenario"`
	Config      config          `json:"config"`
	Connections *ConnReport     `json:"connections,omitempty"`
	Orders      *OrderReport    `json:"orders,omitempty"`
	Delivery    *DeliveryReport `json:"delivery,omitempty"`
	Servers     []ServerReport  `json:"servers"`
	CPU         *CPUReport      `json:"cpu,omitempty"`
	Limit       *LimitReport    `json:"limit,omitempty"` // sqlite-limit
	// LoadAverage is the machine's 1-minute load average at the start and
	// at the end: figures taken under other load are not comparable.
	LoadAverage [2]float64 `json:"loadAverage"`
}

// ConnReport counts the subscribed sockets.
type ConnReport struct {
	Members     int     `json:"members"`
	Spectators  int     `json:"spectators"`
	Opened      int     `json:"opened"`
	Failed      int     `json:"failed"`
	NeverLive   int     `json:"neverLive"` // opened but received no event before the measurement
	OpenSeconds float64 `json:"openSeconds"`
	// Drops counts sockets whose stream ended before the bench closed
	// them, by reason: SLOW_CONSUMER, "closed 1011", "dial: ...".
	Drops map[string]int `json:"drops,omitempty"`
}

// OrderReport sums the orders placed in the measured phase.
type OrderReport struct {
	Sent      int            `json:"sent"`
	Filled    int            `json:"filled"`
	Rejected  int            `json:"rejected"`
	Errors    int            `json:"errors"`
	ErrorKind map[string]int `json:"errorKinds,omitempty"`
	Late      int            `json:"late"`    // fanout: sent more than one interval behind schedule (the trader's previous order was slow)
	Skipped   int            `json:"skipped"` // fanout: still queued after -duration + -drain, never sent
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"perSecond"`
	Mutation  Latency        `json:"mutation"` // placeOrder round trip
	// OwnProcess: fanout's traders ran in a process of their own, not
	// queued behind the subscribers' readers (-traders-process).
	OwnProcess bool `json:"ownProcess"`
}

// DeliveryReport compares what every socket received with what it may see.
type DeliveryReport struct {
	FromSequence int64   `json:"fromSequence"` // exclusive
	ToSequence   int64   `json:"toSequence"`   // inclusive
	Events       int     `json:"events"`       // in the room in that range
	Expected     int64   `json:"expected"`     // summed over sockets
	Delivered    int64   `json:"delivered"`
	Missing      int64   `json:"missing"`
	Unexpected   int64   `json:"unexpected"` // an event the socket may not see, or a duplicate
	OutOfOrder   int64   `json:"outOfOrder"`
	OrderEvents  int64   `json:"orderEvents"` // of Delivered, the OrderEvents
	PerSecond    float64 `json:"perSecond"`   // delivered over the measured phase
	Latency      Latency `json:"latency"`     // order and position events, mutation sent to event read
}

// ServerReport is one instance's footprint: after setup (users and rooms
// made, no sockets), once every socket is live, and at the end (sockets
// still open).
type ServerReport struct {
	URL                 string   `json:"url"`
	Setup               Snapshot `json:"setup"`
	Live                Snapshot `json:"live"`
	End                 Snapshot `json:"end"`
	Connections         int      `json:"connections"`
	RSSPerConnectionKiB float64  `json:"rssPerConnectionKiB,omitempty"`
	GoroutinesPerConn   float64  `json:"goroutinesPerConnection,omitempty"`
	CPUSecondsMeasured  float64  `json:"cpuSecondsMeasured"` // live -> end
	CPUPercentOfOneCore float64  `json:"cpuPercentOfOneCore"`
	// Delivery: fanout over several instances, the delivery latency of
	// this instance's sockets alone.
	Delivery             *Latency `json:"deliveryLatency,omitempty"`
	measuredWallDuration time.Duration
}

// CPUReport is the servers' CPU time (user + system, every instance's
// process_cpu_seconds_total summed) over the measured phase, per unit of
// work: a figure that follows the work rather than the machine's mood,
// unlike wall-clock latency. A field is 0 when its unit did not occur.
type CPUReport struct {
	Seconds float64 `json:"seconds"`
	// PerDeliveredEventMicros: per event any socket received (order,
	// position, leaderboard and room-state events alike), fanout.
	PerDeliveredEventMicros float64 `json:"perDeliveredEventMicros,omitempty"`
	// PerDeliveredOrderEventMicros: per OrderEvent delivered, the whole
	// CPU charged to them (the "per delivered order event").
	PerDeliveredOrderEventMicros float64 `json:"perDeliveredOrderEventMicros,omitempty"`
	// PerOrderMicros: per order sent (rooms: the whole cost of an order,
	// its HTTP request, transaction and events).
	PerOrderMicros float64 `json:"perOrderMicros,omitempty"`
}

// cpuReport divides the servers' CPU over the measured phase by the work
// the report counted.
func cpuReport(r *Report) *CPUReport {
	c := &CPUReport{}
	for _, s := range r.Servers {
		c.Seconds += s.CPUSecondsMeasured
	}
	per := func(n int64) float64 {
		if n <= 0 {
			return 0
		}
		return c.Seconds * 1e6 / float64(n)
	}
	if d := r.Delivery; d != nil {
		c.PerDeliveredEventMicros = per(d.Delivered)
		c.PerDeliveredOrderEventMicros = per(d.OrderEvents)
	}
	if o := r.Orders; o != nil {
		c.PerOrderMicros = per(int64(o.Sent))
	}
	return c
}

// Latency summarises a set of durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// summarise sorts us (microseconds) in place.
func summarise(us []int32) Latency {
	if len(us) == 0 {
		return Latency{}
	}
	slices.Sort(us)
	at := func(q float64) float64 {
		i := int(q*float64(len(us))+0.5) - 1
		i = min(max(i, 0), len(us)-1)
		return float64(us[i]) / 1e3
	}
	return Latency{Count: len(us), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: float64(us[len(us)-1]) / 1e3}
}

func durationsUS(ds []time.Duration) []int32 {
	out := make([]int32, len(ds))
	for i, d := range ds {
		out[i] = int32(min(d.Microseconds(), 1<<31-1))
	}
	return out
}

// serverReports fills in the derived figures.
func serverReports(urls []string, setup, live, end []Snapshot, conns []int, measured time.Duration) []ServerReport {
	out := make([]ServerReport, len(urls))
	for i, u := range urls {
		r := ServerReport{URL: u, Setup: setup[i], Live: live[i], End: end[i], Connections: conns[i], measuredWallDuration: measured}
		if conns[i] > 0 {
			r.RSSPerConnectionKiB = float64(live[i].RSSBytes-setup[i].RSSBytes) / 1024 / float64(conns[i])
			r.GoroutinesPerConn = float64(live[i].Goroutines-setup[i].Goroutines) / float64(conns[i])
		}
		r.CPUSecondsMeasured = end[i].CPUSeconds - live[i].CPUSeconds
		if measured > 0 {
			r.CPUPercentOfOneCore = 100 * r.CPUSecondsMeasured / measured.Seconds()
		}
		out[i] = r
	}
	return out
}

func (r *Report) writeTable(w io.Writer) {
	c := r.Config
	desc := c.Scenario
	switch c.Scenario {
	case "fanout":
		desc = fmt.Sprintf("fanout: %d members + %d spectators, trades %s, %d traders at %g orders/s for %v, doc %s",
			c.Members, c.Spectators, c.Trades, c.Traders, c.Rate, c.Duration, c.Doc)
	case "rooms":
		desc = fmt.Sprintf("rooms: %d rooms x %d traders, market orders flat out for %v", c.Rooms, c.Traders, c.Duration)
	case "idle":
		desc = fmt.Sprintf("idle: %d members + %d spectators subscribed, held %v", c.Members, c.Spectators, c.Duration)
	}
	against := "against " + strings.Join(c.URLs, ", ")
	if c.Scenario == "sqlite-limit" {
		desc, against = "sqlite-limit: "+c.LimitTx+" transactions on a fresh SQLite file", "(no server)"
	}
	fmt.Fprintf(w, "%s %s (load average %.1f -> %.1f)\n", desc, against, r.LoadAverage[0], r.LoadAverage[1])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if l := r.Limit; l != nil {
		fmt.Fprintf(tw, "transactions\t%d by %d clients, %d errors; %.0f/s over %.1fs\n", l.Transactions, l.Clients, l.Errors, l.PerSecond, l.Seconds)
		fmt.Fprintf(tw, "latency\tp50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", l.Latency.P50, l.Latency.P95, l.Latency.P99, l.Latency.Max)
	}
	if cr := r.Connections; cr != nil {
		fmt.Fprintf(tw, "sockets\topened %d, failed %d, never live %d, opened in %.1fs; drops %v\n", cr.Opened, cr.Failed, cr.NeverLive, cr.OpenSeconds, cr.Drops)
	}
	if o := r.Orders; o != nil {
		where := ""
		if o.OwnProcess {
			where = " (traders in their own process)"
		}
		fmt.Fprintf(tw, "orders\t%d sent, %d filled, %d rejected, %d errors %v, %d late, %d skipped; %.0f/s over %.1fs%s\n",
			o.Sent, o.Filled, o.Rejected, o.Errors, o.ErrorKind, o.Late, o.Skipped, o.PerSecond, o.Seconds, where)
		fmt.Fprintf(tw, "placeOrder latency\tp50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)\n",
			o.Mutation.P50, o.Mutation.P95, o.Mutation.P99, o.Mutation.Max, o.Mutation.Count)
	}
	if d := r.Delivery; d != nil {
		fmt.Fprintf(tw, "events\t%d in (%d, %d]; delivered %d of %d expected, missing %d, unexpected %d, out of order %d; %.0f msgs/s\n",
			d.Events, d.FromSequence, d.ToSequence, d.Delivered, d.Expected, d.Missing, d.Unexpected, d.OutOfOrder, d.PerSecond)
		fmt.Fprintf(tw, "delivery latency\tp50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)\n",
			d.Latency.P50, d.Latency.P95, d.Latency.P99, d.Latency.Max, d.Latency.Count)
	}
	for _, s := range r.Servers {
		fmt.Fprintf(tw, "server %s\tRSS %.1f -> %.1f -> %.1f MiB, goroutines %d -> %d -> %d, CPU %.1fs during the run (%.0f%% of a core)",
			s.URL, mib(s.Setup.RSSBytes), mib(s.Live.RSSBytes), mib(s.End.RSSBytes), s.Setup.Goroutines, s.Live.Goroutines, s.End.Goroutines,
			s.CPUSecondsMeasured, s.CPUPercentOfOneCore)
		if s.Connections > 0 {
			fmt.Fprintf(tw, "; %d sockets: %.1f KiB and %.2f goroutines each", s.Connections, s.RSSPerConnectionKiB, s.GoroutinesPerConn)
		}
		if l := s.Delivery; l != nil {
			fmt.Fprintf(tw, "; its sockets' delivery p50 %.1f ms, p99 %.1f ms (n=%d)", l.P50, l.P99, l.Count)
		}
		fmt.Fprintln(tw)
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(tw, "server CPU\t%.2fs in all", c.Seconds)
		if c.PerDeliveredEventMicros > 0 {
			fmt.Fprintf(tw, "; %.1f µs per delivered event, %.1f µs per delivered order event", c.PerDeliveredEventMicros, c.PerDeliveredOrderEventMicros)
		}
		if c.PerOrderMicros > 0 {
			fmt.Fprintf(tw, "; %.0f µs per order", c.PerOrderMicros)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// MarshalJSON spells durations as Go does ("20s"), not in nanoseconds.
func (c config) MarshalJSON() ([]byte, error) {
	type plain config
	return json.Marshal(struct {
		plain
		Duration string `json:"duration"`
		Drain    string `json:"drain"`
	}{plain(c), c.Duration.String(), c.Drain.String()})
}

// loadAverage is the 1-minute load average, or 0 where /proc has none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
