package server

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bullpen/bullpen/graph"
	"github.com/bullpen/bullpen/internal/connlimit"
)

// DefaultMaxConnsPerAddress bounds one client address's TCP connections:
// room for its WebSockets and SSE streams at their own limits (256 each)
// and its requests, while one client still cannot take the descriptors of
// a server under a common limit of 1024 open files.
const DefaultMaxConnsPerAddress = 512

// listenLimited bounds what srv accepts from ln as c says (see
// connlimit): at most -max-conns connections, lowered to what the
// open-file limit leaves after connlimit.Reserve, closing idle keep-alive
// connections when that many are open; at most -max-conns-per-address
// from one address.
func listenLimited(ln net.Listener, srv *http.Server, c config, log *slog.Logger) *connlimit.Listener {
	maxConns := c.maxConns
	if fit := connlimit.MaxForLimit(c.openFiles); c.openFiles > 0 && maxConns > fit {
		log.Warn("-max-conns is above what the open-file limit leaves: lowered (raise the limit with ulimit -n, or LimitNOFILE= in systemd)",
			"max_conns", maxConns, "open_files", c.openFiles, "lowered_to", fit)
		maxConns = fit
	}
	if c.connsPerAddressOff {
		log.Info("-client-ip-header is set: connections per address are not limited (each one is the proxy's); set -max-conns-per-address to limit them anyway")
	}
	log.Info("connection limits", "open_files", c.openFiles, "max_conns", maxConns, "max_conns_per_address", c.maxConnsPerAddress,
		"read_header_timeout", c.readHeaderTimeout, "read_timeout", c.readTimeout, "idle_timeout", c.idleTimeout)
	return connlimit.New(ln, connlimit.Config{
		Max: maxConns, MaxPerAddress: c.maxConnsPerAddress, Log: log,
		// Toggling keep-alive off closes the idle connections.
		Full: func() { srv.SetKeepAlivesEnabled(false); srv.SetKeepAlivesEnabled(true) },
	})
}

// registerConnMetrics exposes the connection limits' gauges and counters.
func registerConnMetrics(reg *prometheus.Registry, conns *connlimit.Listener, query *graph.Handler) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bullpen_open_connections", Help: "Open TCP connections of clients."},
			func() float64 { return float64(conns.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_connections_refused_total", Help: "TCP connections refused over the per-address limit (-max-conns-per-address)."},
			func() float64 { return float64(conns.Refused()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_connection_limit_reached_total", Help: "Times -max-conns connections were open: idle ones were closed and new ones waited."},
			func() float64 { return float64(conns.Full()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bullpen_sse_refused_total", Help: "SSE streams refused (429) over the per-address limit."},
			func() float64 { return float64(query.SSE.Refused()) }),
	)
}
