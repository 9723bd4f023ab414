package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph"
)

// httpReply is one /query response as the GraphQL-over-HTTP spec sees it:
// the status, the Content-Type, and the body's top-level entries (so a
// missing "data" differs from "data": null).
type httpReply struct {
	status      int
	contentType string
	header      http.Header
	raw         string
	body        map[string]json.RawMessage
	errors      []gqlError
}

// send makes one raw request to /query; query is the URL's query string.
func (ts *testServer) send(method, query string, header map[string]string, body string) httpReply {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := ts.url + "/query"
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s /query: %v", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s /query: reading the body: %v", method, err)
	}
	out := httpReply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		ts.t.Fatalf("%s /query: HTTP %d, body is not a JSON object: %q", method, resp.StatusCode, raw)
	}
	if e, ok := out.body["errors"]; ok {
		if err := json.Unmarshal(e, &out.errors); err != nil {
			ts.t.Fatalf("errors: %v in %s", err, raw)
		}
	}
	return out
}

const (
	acceptJSON            = "application/json"
	acceptGraphQLResponse = "application/graphql-response+json"
)

// TestHTTPSpec checks the statuses, media types and error codes of GraphQL
// over HTTP (https://graphql.github.io/graphql-over-http/draft/) on /query.
func TestHTTPSpec(t *testing.T) {
	ts := startServer(t)
	typename := `{"query":"{ __typename }"}`
	oversized := `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", graph.MaxRequestBytes) + `"}}`
	getQuery := func(q string) string { return url.Values{"query": {q}}.Encode() }

	cases := []struct {
		name        string
		method      string
		query       string // URL query string
		contentType string
		accept      string
		body        string
		status      int
		contentIs   string // the response's media type
		data        bool   // a data entry is present
		code        string // errors[0].extensions.code; "" for no errors
		allow       string // the Allow header of a 405
	}{
		{name: "OversizedBody", method: "POST", contentType: acceptJSON, body: oversized,
			status: http.StatusRequestEntityTooLarge, contentIs: acceptJSON, code: game.EINVALID},
		{name: "TextPlainBody", method: "POST", contentType: "text/plain;charset=UTF-8", body: typename,
			status: http.StatusUnsupportedMediaType, contentIs: acceptJSON, code: game.EINVALID},
		{name: "NoContentType", method: "POST", body: typename,
			status: http.StatusUnsupportedMediaType, contentIs: acceptJSON, code: game.EINVALID},
		{name: "FormBody", method: "POST", contentType: "application/x-www-form-urlencoded", body: "query=%7B__typename%7D",
			status: http.StatusUnsupportedMediaType, contentIs: acceptJSON, code: game.EINVALID},
		{name: "ParseErrorAcceptJSON", method: "POST", contentType: acceptJSON, accept: acceptJSON, body: `{"query":"{"}`,
			status: http.StatusOK, contentIs: acceptJSON, code: game.EINVALID},
		{name: "ValidationErrorAcceptJSON", method: "POST", contentType: acceptJSON, accept: acceptJSON, body: `{"query":"{ nope }"}`,
			status: http.StatusOK, contentIs: acceptJSON, code: game.EINVALID},
		{name: "CoercionErrorAcceptJSON", method: "POST", contentType: acceptJSON, accept: acceptJSON,
			body:   `{"query":"query($id: ID!) { bullPen(id: $id) { id } }","variables":{"id":null}}`,
			status: http.StatusOK, contentIs: acceptJSON, code: game.EINVALID},
		{name: "ParseErrorGraphQLResponse", method: "POST", contentType: acceptJSON, accept: acceptGraphQLResponse, body: `{"query":"{"}`,
			status: http.StatusBadRequest, contentIs: acceptGraphQLResponse, code: game.EINVALID},
		{name: "ValidationErrorGraphQLResponse", method: "POST", contentType: acceptJSON, accept: acceptGraphQLResponse, body: `{"query":"{ nope }"}`,
			status: http.StatusBadRequest, contentIs: acceptGraphQLResponse, code: game.EINVALID},
		{name: "CoercionErrorGraphQLResponse", method: "POST", contentType: acceptJSON, accept: acceptGraphQLResponse,
			body:   `{"query":"query($id: ID!) { bullPen(id: $id) { id } }","variables":{"id":null}}`,
			status: http.StatusBadRequest, contentIs: acceptGraphQLResponse, code: game.EINVALID},
		{name: "MalformedJSON", method: "POST", contentType: acceptJSON, accept: acceptJSON, body: `{"query": "{ __typ`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "BodyNotAnObject", method: "POST", contentType: acceptJSON, body: `["{ __typename }"]`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "NoBody", method: "POST", contentType: acceptJSON,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "MissingQuery", method: "POST", contentType: acceptJSON, body: `{"qeury":"{ __typename }"}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "QueryNotAString", method: "POST", contentType: acceptJSON, body: `{"query":{"obj":"ect"}}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "OperationNameNotAString", method: "POST", contentType: acceptJSON, body: `{"query":"{ __typename }","operationName":false}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "VariablesNotAMap", method: "POST", contentType: acceptJSON, body: `{"query":"{ __typename }","variables":"{}"}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "ExtensionsNotAMap", method: "POST", contentType: acceptJSON, body: `{"query":"{ __typename }","extensions":["x"]}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "NullParameters", method: "POST", contentType: acceptJSON,
			body:   `{"query":"{ __typename }","operationName":null,"variables":null,"extensions":null}`,
			status: http.StatusOK, contentIs: acceptJSON, data: true},
		{name: "PostQueryGraphQLResponse", method: "POST", contentType: "application/json; charset=utf-8", accept: acceptGraphQLResponse, body: typename,
			status: http.StatusOK, contentIs: acceptGraphQLResponse, data: true},
		{name: "AcceptPrefersHigherQ", method: "POST", contentType: acceptJSON, accept: "application/json;q=0.5, application/graphql-response+json", body: typename,
			status: http.StatusOK, contentIs: acceptGraphQLResponse, data: true},
		{name: "AcceptAnything", method: "POST", contentType: acceptJSON, accept: "*/*", body: typename,
			status: http.StatusOK, contentIs: acceptJSON, data: true},
		{name: "FieldErrorKeepsData", method: "POST", contentType: acceptJSON, accept: acceptGraphQLResponse,
			body:   `{"query":"mutation { placeOrder(input: {bullPenId: \"1\", symbol: \"AAPL\", side: BUY, quantity: 1}) { id } }"}`,
			status: http.StatusOK, contentIs: acceptGraphQLResponse, data: true, code: game.EUNAUTHENTICATED},
		{name: "GetQuery", method: "GET", query: getQuery("{ __typename }"),
			status: http.StatusOK, contentIs: acceptJSON, data: true},
		{name: "GetMutation", method: "GET", query: getQuery(`mutation { signIn(input: {username: "nobody", password: "password123"}) { token } }`), accept: acceptGraphQLResponse,
			status: http.StatusMethodNotAllowed, contentIs: acceptGraphQLResponse, code: game.EINVALID, allow: "POST"},
		{name: "GetWithoutQuery", method: "GET",
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "GetVariablesNotJSON", method: "GET", query: getQuery("{ __typename }") + "&variables=%7Bnope",
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "SubscriptionWithoutStream", method: "POST", contentType: acceptJSON, body: `{"query":"subscription { quotes { symbol } }"}`,
			status: http.StatusNotAcceptable, contentIs: acceptJSON, code: game.EINVALID},
		{name: "StreamOversizedBody", method: "POST", contentType: acceptJSON, accept: "text/event-stream", body: oversized,
			status: http.StatusRequestEntityTooLarge, contentIs: acceptJSON, code: game.EINVALID},
		{name: "StreamTextPlainBody", method: "POST", contentType: "text/plain", accept: "text/event-stream", body: typename,
			status: http.StatusUnsupportedMediaType, contentIs: acceptJSON, code: game.EINVALID},
		{name: "StreamMissingQuery", method: "POST", contentType: acceptJSON, accept: "text/event-stream", body: `{"qeury":"{ __typename }"}`,
			status: http.StatusBadRequest, contentIs: acceptJSON, code: game.EINVALID},
		{name: "Put", method: "PUT", contentType: acceptJSON, body: typename,
			status: http.StatusMethodNotAllowed, contentIs: acceptJSON, code: game.EINVALID, allow: "GET, POST, OPTIONS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.contentType != "" {
				h["Content-Type"] = c.contentType
			}
			if c.accept != "" {
				h["Accept"] = c.accept
			}
			r := ts.with(t).send(c.method, c.query, h, c.body)
			if r.status != c.status {
				t.Errorf("status %d, want %d (errors %+v)", r.status, c.status, r.errors)
			}
			if !strings.HasPrefix(r.contentType, c.contentIs) {
				t.Errorf("Content-Type %q, want %s", r.contentType, c.contentIs)
			}
			if _, ok := r.body["data"]; ok != c.data {
				t.Errorf("data entry present: %v, want %v (body %s)", ok, c.data, r.raw)
			}
			if c.code == "" {
				if len(r.errors) > 0 {
					t.Errorf("errors %+v, want none", r.errors)
				}
			} else if len(r.errors) == 0 {
				t.Errorf("no errors, want %s", c.code)
			} else {
				for _, e := range r.errors {
					if e.Extensions["code"] != c.code {
						t.Errorf("error %q has code %v, want %s", e.Message, e.Extensions["code"], c.code)
					}
				}
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
		})
	}
}

// TestHTTPGetMutationDoesNotRun: a mutation over GET is refused before it
// executes, so the same mutation over POST afterwards is the first.
func TestHTTPGetMutationDoesNotRun(t *testing.T) {
	ts := startServer(t)
	signUp := `mutation { signUp(input: {username: "getter", password: "password123"}) { token } }`
	r := ts.send("GET", url.Values{"query": {signUp}}.Encode(), nil, "")
	if r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET mutation: status %d, want 405 (%s)", r.status, r.raw)
	}
	ts.must("", signUp, nil, nil)
}

// TestHTTPPersistedQuery: Apollo's automatic persisted queries over POST
// and GET (a hash without a query is not a missing query).
func TestHTTPPersistedQuery(t *testing.T) {
	ts := startServer(t)
	query := "{ __typename }"
	sum := sha256.Sum256([]byte(query))
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
	jsonBody := map[string]string{"Content-Type": acceptJSON}

	r := ts.send("POST", "", jsonBody, `{"extensions":`+ext+`}`)
	if r.status != http.StatusOK || len(r.errors) != 1 || r.errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: status %d, body %s; want 200 and PersistedQueryNotFound", r.status, r.raw)
	}
	r = ts.send("POST", "", jsonBody, `{"query":"`+query+`","extensions":`+ext+`}`)
	if r.status != http.StatusOK || len(r.errors) != 0 || string(r.body["data"]) != `{"__typename":"Query"}` {
		t.Fatalf("query and hash: status %d, body %s", r.status, r.raw)
	}
	r = ts.send("GET", url.Values{"extensions": {ext}}.Encode(), nil, "")
	if r.status != http.StatusOK || len(r.errors) != 0 || string(r.body["data"]) != `{"__typename":"Query"}` {
		t.Fatalf("GET with the hash only: status %d, body %s", r.status, r.raw)
	}
}
