package graph

import (
	"log/slog"
	"net/http"
	"strings"
)

// CORS lets browser apps on allowed origins call /query with fetch (Apollo
// Client, urql): allowed is the same check the WebSocket transport uses
// (same host, localhost, or -allowed-origins). Tokens travel in the
// Authorization header, so no cookie is involved.
func CORS(allowed func(r *http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !allowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			reqHeaders := r.Header.Get("Access-Control-Request-Headers")
			if reqHeaders == "" {
				reqHeaders = "Authorization, Content-Type"
			}
			h.Set("Access-Control-Allow-Headers", sanitizeHeaderList(reqHeaders))
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRefusedOrigins logs, with a hint, each request from a browser page
// whose origin allowed refuses: its WebSocket upgrade then fails with a
// bare 403, and its fetch lacks the CORS headers the browser needs, so
// the operator would otherwise see nothing.
func logRefusedOrigins(log *slog.Logger, allowed func(r *http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !allowed(r) {
			what := "a cross-origin request (no CORS headers sent)"
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				what = "a WebSocket (403)"
			}
			log.Warn("refused "+what+" from a browser origin that is not allowed",
				"origin", sanitizeLogValue(origin), "host", sanitizeLogValue(r.Host), "path", r.URL.Path,
				"hint", "if this page is yours, start the server with -allowed-origins "+sanitizeLogValue(origin)+" (or BULLPEN_ALLOWED_ORIGINS)")
		}
		next.ServeHTTP(w, r)
	})
}

// sanitizeLogValue bounds a client-chosen header value before it is logged.
func sanitizeLogValue(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// sanitizeHeaderList keeps a comma-separated list of header names.
func sanitizeHeaderList(s string) string {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name != "" && !strings.ContainsAny(name, "\r\n:") {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", ")
}
