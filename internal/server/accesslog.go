package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/felixge/httpsnoop"
)

// accessLog writes one line per HTTP request to log once it is answered:
// method, path, status, bytes written, duration and the remote address. A
// WebSocket is one request, logged at its upgrade with status 101, never
// per frame; an SSE stream is logged when it ends. The query string is
// left out (a GET carries the operation in it) and so are the headers
// (the token travels in Authorization).
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status, written, hijacked := 0, int64(0), false
		w = httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) {
					if status == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
						status = code
					}
					next(code)
				}
			},
			Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) {
					if status == 0 {
						status = http.StatusOK
					}
					n, err := next(b)
					written += int64(n)
					return n, err
				}
			},
			ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
				return func(src io.Reader) (int64, error) {
					if status == 0 {
						status = http.StatusOK
					}
					n, err := next(src)
					written += n
					return n, err
				}
			},
			Hijack: func(next httpsnoop.HijackFunc) httpsnoop.HijackFunc {
				return func() (net.Conn, *bufio.ReadWriter, error) {
					hijacked = true
					return next()
				}
			},
		})
		next.ServeHTTP(w, r)
		switch {
		case hijacked:
			status = http.StatusSwitchingProtocols // the upgrader wrote its 101 on the raw connection
		case status == 0:
			status = http.StatusOK
		}
		log.Info("http", "method", r.Method, "path", r.URL.Path, "status", status, "bytes", written,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	})
}
