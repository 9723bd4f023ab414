package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// WriteTimeout bounds each write: a client that stops reading is cut
	// off once one takes longer. Zero (or less): writes wait forever.
	WriteTimeout time.Duration
	MaxBody      int64
	// MaxQueue bounds the results a Sharing may queue for one stream
	// while its client reads slowly: past it the subscription is dropped
	// with the SLOW_CONSUMER error. Zero (or less): no bound.
	MaxQueue int
	// MaxPerAddress bounds the open streams of one client address
	// (Address): one over it is refused with 429 and RATE_LIMITED. Zero
	// (or less) means no limit.
	MaxPerAddress int
	// Address names the client of a request (RemoteAddr's host when nil).
	Address func(r *http.Request) string
	// Sharing, if set, may serve subscriptions from executions shared
	// with identical ones.
	Sharing Sharing
	Clock   clockwork.Clock
	Log     *slog.Logger

	streams    tracker[*sseStream]
	perAddress counts
	refused    atomic.Int64 // streams refused over MaxPerAddress
}

type sseStream struct {
	cancel   context.CancelFunc
	finished chan struct{}
}

// NewSSE returns an SSE transport.
func NewSSE(clock clockwork.Clock, log *slog.Logger) *SSE {
	return &SSE{KeepAlive: 15 * time.Second, WriteTimeout: 10 * time.Second, MaxBody: 64 << 10, MaxQueue: 1024, Clock: clock, Log: log}
}

var _ graphql.Transport = (*SSE)(nil)

// Supports reports whether r prefers an event stream: of the media types
// the server answers in, text/event-stream has the highest q (the first on
// a tie). A client that lists it after JSON, as urql does for every
// operation, gets JSON for a query or mutation; the HTTP transport hands
// its subscriptions to Stream.
func (t *SSE) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return false
	}
	prefers, _ := EventStreamAccepted(r.Header.Get("Accept"))
	return prefers
}

// AcceptedTypes yields each media range of an Accept header that is well
// formed and accepted (q > 0; 1 when not given), with its q, in order.
func AcceptedTypes(accept string) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil || q <= 0 {
					continue
				}
			}
			if !yield(mt, q) {
				return
			}
		}
	}
}

// EventStreamAccepted reads an Accept header: accepted is whether it lists
// text/event-stream with q > 0, preferred whether that entry also beats
// every JSON type (application/json, application/graphql-response+json,
// application/*, */*), by q and then by order.
func EventStreamAccepted(accept string) (preferred, accepted bool) {
	bestJSON, streamQ := 0.0, 0.0
	streamFirst := false
	for mt, q := range AcceptedTypes(accept) {
		switch mt {
		case "text/event-stream":
			if q > streamQ {
				streamQ, streamFirst = q, q > bestJSON
			}
		case "application/json", "application/graphql-response+json", "application/*", "*/*":
			bestJSON = max(bestJSON, q)
		}
	}
	return streamQ > 0 && (streamQ > bestJSON || (streamQ == bestJSON && streamFirst)), streamQ > 0
}

// Do runs one operation and streams its results.
func (t *SSE) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	params, status, msg := t.readParams(w, r)
	if msg != "" {
		refuse(w, status, "BAD_USER_INPUT", msg)
		return
	}
	params.Headers = r.Header
	now := graphql.Now()
	params.ReadTime = graphql.TraceTiming{Start: now, End: now}
	t.Stream(w, r, exec, params, nil)
}

// Stream runs the operation of params, already read from r, and streams
// its results. prepared, if not nil, is params already parsed and
// validated (by a transport that handed the request over).
func (t *SSE) Stream(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, prepared *graphql.OperationContext) {

	flusher, ok := w.(http.Flusher)
	if !ok {
		refuse(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "streaming unsupported")
		return
	}
	addr := t.address(r)
	if !t.perAddress.acquire(addr, t.MaxPerAddress) {
		t.refused.Add(1)
		t.Log.Info("event stream refused: too many streams", "address", addr, "limit", t.MaxPerAddress)
		refuseOverLimit(w, fmt.Sprintf("too many event streams: at most %d per address", t.MaxPerAddress), t.MaxPerAddress)
		return
	}
	if t.MaxPerAddress > 0 && addr != "" {
		defer t.perAddress.release(addr)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s := &sseStream{cancel: cancel, finished: make(chan struct{})}
	defer close(s.finished)
	if !t.streams.add(s) {
		refuse(w, http.StatusServiceUnavailable, "INTERNAL_SERVER_ERROR", "server shutting down")
		return
	}
	defer t.streams.remove(s)

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.Header().Set("X-Accel-Buffering", "no")
	// Each write must go out within WriteTimeout: a client that stops
	// reading would otherwise hold the stream, its goroutine and its
	// connection for ever, and shutdown would wait for it. The deadline
	// is lifted at the end, for the connection's next requests.
	rc := http.NewResponseController(w)
	setDeadline := func() {
		if t.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(t.WriteTimeout))
		}
	}
	if t.WriteTimeout > 0 {
		defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	}
	setDeadline()
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	var mu sync.Mutex // one writer at a time: results and keep-alives
	// event writes one SSE event, unflushed; mu is held.
	event := func(name string, data []byte) bool {
		setDeadline()
		if _, err := io.WriteString(w, "event: "+name+"\ndata: "); err != nil {
			return false
		}
		if _, err := w.Write(data); err != nil {
			return false
		}
		_, err := io.WriteString(w, "\n\n")
		return err == nil
	}
	write := func(name string, data []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		return event(name, data) && rc.Flush() == nil
	}
	// writeBatch writes shared results as next events, flushed once.
	writeBatch := func(payloads [][]byte) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range payloads {
			if !event("next", p) {
				return false
			}
		}
		return rc.Flush() == nil
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
					setDeadline()
					_, err := io.WriteString(w, ":\n\n")
					if err == nil {
						err = rc.Flush()
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
	var errs gqlerror.List
	if shared, ok := t.share(ctx, exec, params, &prepared); ok {
		errs = shared.serve(ctx, writeBatch)
	} else {
		op := operation{exec: exec, log: t.Log, params: params, sharing: t.Sharing, prepared: prepared}
		errs = op.run(ctx, func(payload json.RawMessage) bool {
			return write("next", payload)
		})
	}
	close(kaDone)
	wg.Wait()
	if len(errs) > 0 && r.Context().Err() == nil {
		write("next", mustJSON(&graphql.Response{Errors: errs}))
	}
	if r.Context().Err() == nil {
		write("complete", nil)
	}
}

// share offers the stream's operation to the Sharing's Take, preparing it
// (into *prepared, for the usual run when it is not taken).
func (t *SSE) share(ctx context.Context, exec graphql.GraphExecutor, params *graphql.RawParams, prepared **graphql.OperationContext) (*sseShared, bool) {
	if t.Sharing == nil {
		return nil, false
	}
	ctx = graphql.StartOperationTrace(ctx)
	rc := *prepared
	if rc == nil {
		rc, _ = prepare(ctx, exec, params)
		*prepared = rc
	}
	if !subscription(rc) {
		return nil, false
	}
	out := &sseSink{limit: t.MaxQueue, ready: make(chan struct{}, 1)}
	s := newSubscriber(ctx, rc, exec, out)
	stop, ok := s.take(t.Sharing)
	if !ok {
		return nil, false
	}
	return &sseShared{sink: out, stop: stop}, true
}

// sseShared is a stream's subscription taken by a Sharing: its results
// wait in sink for the stream's own goroutine (the request's), which
// writes them.
type sseShared struct {
	sink *sseSink
	stop func()
}

// serve writes the subscription's results with write until it ends
// (returning its errors), ctx is done or a write fails.
func (s *sseShared) serve(ctx context.Context, write func([][]byte) bool) gqlerror.List {
	defer s.stop()
	var batch [][]byte
	for {
		select {
		case <-ctx.Done():
			return nil // shutdown, or the client left
		case <-s.sink.ready:
		}
		var (
			ended bool
			errs  gqlerror.List
		)
		batch, ended, errs = s.sink.take(batch)
		if len(batch) > 0 && !write(batch) {
			return nil // the client is gone, or stopped reading
		}
		clear(batch)
		if ended {
			return errs
		}
	}
}

// sseSink is an SSE stream's sink: results wait (at most limit; no bound
// when limit <= 0) for the stream's goroutine.
type sseSink struct {
	limit int
	ready chan struct{} // cap 1: something waits

	mu      sync.Mutex
	results [][]byte
	ended   bool
	errs    gqlerror.List
}

func (o *sseSink) push(payload []byte, _ bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.limit > 0 && len(o.results) >= o.limit {
		return false
	}
	o.results = append(o.results, payload)
	return true
}

func (o *sseSink) kick() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

func (o *sseSink) end(errs gqlerror.List) {
	o.mu.Lock()
	o.ended, o.errs = true, errs
	o.mu.Unlock()
	o.kick()
}

// take swaps the waiting results for buf (emptied), with whether the
// subscription has ended after them, and its errors.
func (o *sseSink) take(buf [][]byte) ([][]byte, bool, gqlerror.List) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.results
	o.results = buf[:0]
	return out, o.ended, o.errs
}

// readParams reads the operation of a request: from the URL of a GET, from
// the JSON body (at most MaxBody bytes) of a POST. It returns the status and
// message to refuse the request with when it cannot.
func (t *SSE) readParams(w http.ResponseWriter, r *http.Request) (*graphql.RawParams, int, string) {
	params := &graphql.RawParams{}
	decode := func(rd io.Reader, into any) error {
		dec := json.NewDecoder(rd)
		dec.UseNumber() // keep integers exact for gqlgen's scalars
		return dec.Decode(into)
	}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		params.Query, params.OperationName = q.Get("query"), q.Get("operationName")
		for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
			if v := q.Get(name); v != "" {
				if err := decode(strings.NewReader(v), into); err != nil {
					return nil, http.StatusBadRequest, name + " must be a JSON object"
				}
			}
		}
	} else {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			return nil, http.StatusUnsupportedMediaType, "a GraphQL POST needs Content-Type: application/json"
		}
		if err := decode(http.MaxBytesReader(w, r.Body, t.MaxBody), params); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes", tooLarge.Limit)
			}
			return nil, http.StatusBadRequest, `the request body must be a GraphQL request: {"query": ...}`
		}
	}
	if params.Query == "" {
		return nil, http.StatusBadRequest, `a GraphQL request needs a query: {"query": ...}`
	}
	return params, 0, ""
}

// refuse answers a request that never became an operation: a JSON error
// with extensions.code and no data entry.
func refuse(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]gqlerror.List{"errors": {{Message: message, Extensions: map[string]any{"code": code}}}})
}

// refuseOverLimit refuses a stream over a limit: 429, RATE_LIMITED with
// the limit in extensions.
func refuseOverLimit(w http.ResponseWriter, message string, limit int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(map[string]gqlerror.List{"errors": {{Message: message, Extensions: map[string]any{"code": "RATE_LIMITED", "limit": limit}}}})
}

func (t *SSE) address(r *http.Request) string {
	if t.Address != nil {
		return t.Address(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Refused reports how many streams the per-address limit has refused.
func (t *SSE) Refused() int64 { return t.refused.Load() }

// StreamsOf reports the open streams counted for a client address (as
// Address names it), for tests.
func (t *SSE) StreamsOf(address string) int { return t.perAddress.get(address) }

func (s *sseStream) stop()                 { s.cancel() }
func (s *sseStream) done() <-chan struct{} { return s.finished }

// Shutdown completes every stream and waits (until ctx is done) for them.
func (t *SSE) Shutdown(ctx context.Context) { t.streams.stopAll(ctx) }
