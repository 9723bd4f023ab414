package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/realtime"
)

// Response media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport is GraphQL over HTTP as the GraphQL-over-HTTP spec has it
// (https://graphql.github.io/graphql-over-http/draft/): POST with a JSON
// body, GET with URL parameters (queries only), answered in the media type
// the Accept header prefers.
//
// It replaces gqlgen's GET and POST transports, which answer parse and
// validation failures with 422 (the spec wants 200 for application/json and
// 400 for application/graphql-response+json), write "data": null where a
// request error must have no data entry, let a request they do not take fall
// through to "transport not supported" without extensions.code, and wait on
// a subscription's first event.
//
// It must be added last: it takes every request the WebSocket, SSE and
// OPTIONS transports left, and refuses what it cannot serve with a 4xx and
// errors that carry extensions.code.
type httpTransport struct {
	// sse streams a subscription whose Accept lists text/event-stream
	// after a JSON type (urql sends that list for every operation).
	sse *realtime.SSE
}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(*http.Request) bool { return true }

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	mediaType := responseType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")

	start := graphql.Now()
	var (
		params *graphql.RawParams
		bad    *requestError
	)
	switch r.Method {
	case http.MethodGet:
		params, bad = paramsFromURL(r.URL)
	case http.MethodPost:
		params, bad = paramsFromBody(r)
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		bad = refuse(http.StatusMethodNotAllowed, "GraphQL over HTTP takes GET (queries) and POST, not %s", r.Method)
	}
	if bad == nil && params.Query == "" && params.Extensions["persistedQuery"] == nil {
		bad = refuse(http.StatusBadRequest, `a GraphQL request needs a query: {"query": "{ ... }"}`)
	}
	if bad != nil {
		writeRequestErrors(w, bad.status, exec.DispatchError(ctx, gqlerror.List{bad.gqlError()}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// A request error (parse, validation, variable coercion, unknown
		// operation, complexity, persisted query): nothing executed.
		status := http.StatusOK
		if mediaType == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeRequestErrors(w, status, exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs))
		return
	}
	switch {
	case rc.Operation.Operation == ast.Mutation && r.Method == http.MethodGet:
		w.Header().Set("Allow", "POST")
		bad = refuse(http.StatusMethodNotAllowed, "a mutation must be sent with POST, not GET")
	case rc.Operation.Operation == ast.Subscription:
		if _, accepted := realtime.EventStreamAccepted(r.Header.Get("Accept")); accepted && t.sse != nil {
			t.sse.Stream(w, r, exec, params, rc) // parsed and validated once
			return
		}
		bad = refuse(http.StatusNotAcceptable, "a subscription needs a WebSocket or Accept: text/event-stream")
	}
	if bad != nil {
		writeRequestErrors(w, bad.status, exec.DispatchError(ctx, gqlerror.List{bad.gqlError()}))
		return
	}

	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil {
		resp = &graphql.Response{Data: json.RawMessage("null")}
	}
	writeJSON(w, http.StatusOK, resp)
}

// requestError is a request the transport refuses before GraphQL sees it.
type requestError struct {
	status  int
	message string
	reason  string // extensions.reason, if any
}

func refuse(status int, format string, args ...any) *requestError {
	return &requestError{status: status, message: fmt.Sprintf(format, args...)}
}

func (e *requestError) gqlError() *gqlerror.Error {
	ext := map[string]any{"code": game.EINVALID}
	if e.reason != "" {
		ext["reason"] = e.reason
	}
	return &gqlerror.Error{Message: e.message, Extensions: ext}
}

// paramsFromBody reads a POST body: a JSON object with query, and
// optionally operationName, variables and extensions (each may be null).
func paramsFromBody(r *http.Request) (*graphql.RawParams, *requestError) {
	mt, mtParams, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return nil, refuse(http.StatusUnsupportedMediaType, "a GraphQL POST needs Content-Type: application/json")
	}
	if cs, ok := mtParams["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return nil, refuse(http.StatusUnsupportedMediaType, "a GraphQL POST body must be UTF-8, not %s", cs)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, refuse(http.StatusRequestEntityTooLarge, "request body too large: the limit is %d bytes", tooLarge.Limit)
		}
		return nil, refuse(http.StatusBadRequest, "could not read the request body")
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		// Apollo's BatchHttpLink and others send a JSON array of
		// operations; one request runs one operation here.
		e := refuse(http.StatusBadRequest, "batched requests (a JSON array of operations) are not supported: send one operation per request, or several fields in one operation")
		e.reason = ReasonBatching
		return nil, e
	}
	var fields map[string]json.RawMessage
	if err := decodeJSON(body, &fields); err != nil || fields == nil {
		return nil, refuse(http.StatusBadRequest, `the request body must be a JSON object: {"query": "{ ... }"}`)
	}
	p := &graphql.RawParams{}
	for _, f := range []struct {
		name, want string
		into       any
	}{
		{"query", "a string", &p.Query},
		{"operationName", "a string", &p.OperationName},
		{"variables", "an object", &p.Variables},
		{"extensions", "an object", &p.Extensions},
	} {
		if raw, ok := fields[f.name]; ok {
			if err := decodeJSON(raw, f.into); err != nil {
				return nil, refuse(http.StatusBadRequest, "%s must be %s or null", f.name, f.want)
			}
		}
	}
	return p, nil
}

// paramsFromURL reads the parameters of a GET: query and operationName as
// they are, variables and extensions as JSON.
func paramsFromURL(u *url.URL) (*graphql.RawParams, *requestError) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "the URL's query string is malformed")
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for _, f := range []struct {
		name string
		into *map[string]any
	}{{"variables", &p.Variables}, {"extensions", &p.Extensions}} {
		if v := q.Get(f.name); v != "" {
			if err := decodeJSON([]byte(v), f.into); err != nil {
				return nil, refuse(http.StatusBadRequest, "%s must be a JSON object", f.name)
			}
		}
	}
	return p, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact (the
// Decimal scalar and Int variables read json.Number).
func decodeJSON(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// responseType picks the response's media type from an Accept header: the
// supported type with the highest q (the first on a tie). */*, application/*,
// no header, or nothing supported all get application/json: the spec lets a
// server disregard an Accept it cannot meet rather than refuse with 406.
func responseType(accept string) string {
	best, bestQ := mediaJSON, 0.0
	for mt, q := range realtime.AcceptedTypes(accept) {
		var t string
		switch mt {
		case mediaGraphQLResponse:
			t = mediaGraphQLResponse
		case mediaJSON, "application/*", "*/*":
			t = mediaJSON
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = t, q
		}
	}
	return best
}

// writeRequestErrors writes the errors of a request that never executed:
// the response has no data entry.
func writeRequestErrors(w http.ResponseWriter, status int, resp *graphql.Response) {
	writeJSON(w, status, struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// gqlgen's handler recovers and answers 500 with an internal error.
		panic(fmt.Errorf("encoding a GraphQL response: %w", err))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
