package realtime

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jonboulle/clockwork"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// SSE is a gqlgen transport for GraphQL over Server-Sent Events in the
// graphql-sse protocol's distinct connections mode: one operation per
// request (POST JSON body, or GET with query parameters) with
// `Accept: text/event-stream`; each result is an `event: next`, the end an
// `event: complete`.
type SSE struct {
	// KeepAlive is the interval of comment lines that keep proxies from
	// closing an idle stream; zero (or less) sends none.
	KeepAlive time.Duration
	MaxBody   int64
	// Share, if set, lets identical subscriptions share one execution.
	Share *Sharing
	Clock clockwork.Clock
	Log   *slog.Logger

	streams tracker[*sseStream]
}

type sseStream struct {
	cancel   context.CancelFunc
	finished chan struct{}
}

// NewSSE returns an SSE transport.
func NewSSE(clock clockwork.Clock, log *slog.Logger) *SSE {
	return &SSE{KeepAlive: 15 * time.Second, MaxBody: 64 << 10, Clock: clock, Log: log}
}

var _ graphql.Transport = (*SSE)(nil)

// Supports reports whether r asks for an event stream.
func (t *SSE) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// Do runs one operation and streams its results.
func (t *SSE) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	params := &graphql.RawParams{}
	var err error
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		params.Query, params.OperationName = q.Get("query"), q.Get("operationName")
		decode := func(v string, into any) error {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber() // keep integers exact for gqlgen's scalars
			return dec.Decode(into)
		}
		if v := q.Get("variables"); v != "" {
			err = decode(v, &params.Variables)
		}
		if v := q.Get("extensions"); err == nil && v != "" {
			err = decode(v, &params.Extensions)
		}
	} else {
		dec := json.NewDecoder(io.LimitReader(r.Body, t.MaxBody))
		dec.UseNumber()
		err = dec.Decode(params)
	}
	if err != nil || params.Query == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{Message: "request body must be a GraphQL request: {\"query\": ...}",
			Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}})
		return
	}
	params.Headers = r.Header
	now := graphql.Now()
	params.ReadTime = graphql.TraceTiming{Start: now, End: now}

	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s := &sseStream{cancel: cancel, finished: make(chan struct{})}
	defer close(s.finished)
	if !t.streams.add(s) {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer t.streams.remove(s)

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	var mu sync.Mutex // one writer at a time: results and keep-alives
	write := func(event string, data []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if _, err := io.WriteString(w, "event: "+event+"\ndata: "); err != nil {
			return false
		}
		if _, err := w.Write(data); err != nil {
			return false
		}
		if _, err := io.WriteString(w, "\n\n"); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	kaDone := make(chan struct{})
	var wg sync.WaitGroup
	if t.KeepAlive > 0 {
		wg.Go(func() {
			ticker := t.Clock.NewTicker(t.KeepAlive)
			defer ticker.Stop()
			for {
				select {
				case <-kaDone:
					return
				case <-ticker.Chan():
					mu.Lock()
					_, err := io.WriteString(w, ":\n\n")
					if err == nil {
						flusher.Flush()
					}
					mu.Unlock()
					if err != nil {
						cancel()
						return
					}
				}
			}
		})
	}
	op := operation{exec: exec, log: t.Log, params: params, share: t.Share}
	errs := op.run(ctx, func(payload json.RawMessage) bool {
		return write("next", payload)
	})
	close(kaDone)
	wg.Wait()
	if len(errs) > 0 && r.Context().Err() == nil {
		write("next", mustJSON(&graphql.Response{Errors: errs}))
	}
	if r.Context().Err() == nil {
		write("complete", nil)
	}
}

func (s *sseStream) stop()                 { s.cancel() }
func (s *sseStream) done() <-chan struct{} { return s.finished }

// Shutdown completes every stream and waits (until ctx is done) for them.
func (t *SSE) Shutdown(ctx context.Context) { t.streams.stopAll(ctx) }
