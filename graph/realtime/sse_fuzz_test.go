package realtime

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSSERequest feeds the SSE transport arbitrary requests (method,
// Accept, Content-Type, URL query and body). Supports and readParams must
// never panic. A request is either read into an operation with a query,
// whose variables and extensions hold no binary float (numbers stay
// exact), or refused with 400, 413 (only for a body over the limit) or 415
// (only for a POST that is not application/json) and a message, which
// refuse writes as JSON errors with extensions.code and no data.
func FuzzSSERequest(f *testing.F) {
	for _, s := range []struct {
		post                       bool
		accept, ctype, query, body string
	}{
		{true, "text/event-stream", "application/json", "", `{"query":"subscription { x }","variables":{"id":"1","n":12.5}}`},
		{true, "text/event-stream; charset=utf-8, application/json;q=0.5", "application/json; charset=utf-8", "", `{"query":"{ a }","operationName":"A","extensions":{"persistedQuery":{"version":1}}}`},
		{true, "text/event-stream", "text/plain", "", `{"query":"{ a }"}`},
		{true, "text/event-stream", "application/json", "", `{"query":""}`},
		{true, "text/event-stream", "application/json", "", `{"query":7}`},
		{true, "text/event-stream", "application/json", "", `{"query":"{ a }","variables":[1]}`},
		{true, "text/event-stream", "application/json", "", `{"query":"{ a }"} trailing`},
		{true, "text/event-stream", "application/json", "", `{"query":"` + strings.Repeat("a", 300) + `"}`},
		{true, "text/event-stream", "", "", ``},
		{true, "text/event-stream", "application/json", "", `null`},
		{true, "*/*", "application/json", "", `{"query":"{ a }"}`},
		{false, "text/event-stream", "", "query=subscription+%7B+x+%7D&variables=%7B%22n%22%3A1e400%7D", ``},
		{false, "text/event-stream", "", "query=%7Ba%7D&variables=%5B%5D", ``},
		{false, "text/event-stream", "", "query=%7Ba%7D&extensions=nope", ``},
		{false, "text/event-stream", "", "query=%zz", ``},
		{false, "text/event-stream", "", "operationName=A", ``},
		{false, "text/event-stream;;", "", "query=%7Ba%7D;variables=%7B%7D", ``},
	} {
		f.Add(s.post, s.accept, s.ctype, s.query, []byte(s.body))
	}
	const maxBody = 256
	t0 := &SSE{MaxBody: maxBody}
	f.Fuzz(func(t *testing.T, post bool, accept, ctype, rawQuery string, body []byte) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/query", RawQuery: rawQuery}, Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(body)), Host: "example.test"}
		if post {
			r.Method = http.MethodPost
		}
		r.Header.Set("Accept", accept)
		r.Header.Set("Content-Type", ctype)
		_ = t0.Supports(r)

		w := httptest.NewRecorder()
		params, status, msg := t0.readParams(w, r)
		if msg == "" {
			if params == nil || status != 0 || params.Query == "" {
				t.Fatalf("readParams accepted a request as %+v (status %d)", params, status)
			}
			for _, v := range []map[string]any{params.Variables, params.Extensions} {
				if path := floatIn(v); path != "" {
					t.Fatalf("readParams read a number as a binary float at %s", path)
				}
			}
			return
		}
		if params != nil {
			t.Fatalf("readParams refused %q (%d) but returned %+v", msg, status, params)
		}
		switch status {
		case http.StatusBadRequest:
		case http.StatusRequestEntityTooLarge:
			if !post || len(body) <= maxBody {
				t.Fatalf("413 for a %s with a %d-byte body (limit %d)", r.Method, len(body), maxBody)
			}
		case http.StatusUnsupportedMediaType:
			if mt, _, err := mime.ParseMediaType(ctype); !post || err == nil && mt == "application/json" {
				t.Fatalf("415 for a %s with Content-Type %q", r.Method, ctype)
			}
		default:
			t.Fatalf("readParams refused with status %d: %s", status, msg)
		}

		w = httptest.NewRecorder()
		refuse(w, status, "BAD_USER_INPUT", msg)
		var resp map[string]json.RawMessage
		var errs []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		}
		if w.Code != status || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp["data"] != nil ||
			json.Unmarshal(resp["errors"], &errs) != nil || len(errs) != 1 || errs[0].Message != msg ||
			errs[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Fatalf("refuse wrote %d %s", w.Code, w.Body.Bytes())
		}
	})
}

// floatIn returns where v holds a float64, or "".
func floatIn(v any) string {
	switch v := v.(type) {
	case float64, float32:
		return "value"
	case map[string]any:
		for k, e := range v {
			if p := floatIn(e); p != "" {
				return k + "." + p
			}
		}
	case []any:
		for _, e := range v {
			if p := floatIn(e); p != "" {
				return "[]." + p
			}
		}
	}
	return ""
}
