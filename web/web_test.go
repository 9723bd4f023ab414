package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, method, p string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestIndexAndAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	res, index := get(t, srv, "GET", "/", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q, want no-cache", cc)
	}
	if !strings.Contains(index, `<script type="module"`) {
		t.Fatalf("index.html has no module script:\n%s", index)
	}
	if !strings.Contains(index, "<title>Bullpen GraphiQL</title>") {
		t.Errorf("index.html has not the title:\n%s", index)
	}

	refs := assetRef.FindAllStringSubmatch(index, -1)
	var js int
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue // inline, e.g. the empty favicon
		}
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html references an external URL %q", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/assets/") {
			t.Errorf("reference %q is not under /assets/", ref)
		}
		res, body := get(t, srv, "GET", ref, nil)
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", ref, res.StatusCode, len(body))
			continue
		}
		ct := res.Header.Get("Content-Type")
		switch {
		case strings.HasSuffix(ref, ".js"):
			js++
			if !strings.HasPrefix(ct, "text/javascript") {
				t.Errorf("GET %s: Content-Type %q, want text/javascript", ref, ct)
			}
		case strings.HasSuffix(ref, ".css"):
			if !strings.HasPrefix(ct, "text/css") {
				t.Errorf("GET %s: Content-Type %q, want text/css", ref, ct)
			}
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want long-lived", ref, cc)
		}
	}
	if js == 0 {
		t.Errorf("index.html references no JavaScript: %q", refs)
	}
}

// Every file of the bundle, including the Monaco workers and fonts that only
// the JavaScript refers to, is served with its type.
func TestEveryFileServed(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	want := map[string]string{".js": "text/javascript", ".css": "text/css", ".ttf": "font/ttf", ".wasm": "application/wasm", ".html": "text/html"}
	room := httptest.NewServer(Room())
	defer room.Close()
	league := httptest.NewServer(League())
	defer league.Close()
	// urlOf is where a file of dist/ is served: room.html by Room only,
	// league.html by League only.
	urlOf := func(p string) (*httptest.Server, string) {
		if p == "dist/room.html" {
			return room, "/rooms/1"
		}
		if p == "dist/league.html" {
			return league, "/leagues/1"
		}
		return srv, strings.TrimPrefix(p, "dist")
	}
	n := 0
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		srv, urlPath := urlOf(p)
		res, body := get(t, srv, "GET", urlPath, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", urlPath, res.StatusCode)
			return nil
		}
		want, _ := fs.ReadFile(dist, p)
		if body != string(want) {
			t.Errorf("GET %s: body differs from the embedded file", urlPath)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("dist holds %d files; run npm run build", n)
	}
	for ext, ct := range want {
		err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) {
				return err
			}
			srv, urlPath := urlOf(p)
			res, _ := get(t, srv, "HEAD", urlPath, nil)
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
				t.Errorf("HEAD %s: Content-Type %q, want %s", p, got, ct)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/nope", "/assets/", "/assets", "/assets/nope.js", "/query", "/src/main.jsx", "/dist/index.html", "/../web.go", "/%2e%2e/web.go"} {
		if res, _ := get(t, srv, "GET", p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, srv, "POST", "/", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", res.StatusCode)
	}
	if res, body := get(t, srv, "HEAD", "/", nil); res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /: %d with %d bytes", res.StatusCode, len(body))
	}
}

// index.html is revalidated with its ETag rather than downloaded again.
func TestConditionalGet(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, _ := get(t, srv, "GET", "/", nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /")
	}
	res, body := get(t, srv, "GET", "/", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("conditional GET /: %d with %d bytes, want 304", res.StatusCode, len(body))
	}
}

// The handler mounted as the server mounts it (the catch-all "/") leaves the
// other routes alone and 404s what is not in the bundle.
func TestMountedCatchAll(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "graphql") })
	mux.Handle("GET /healthz", http.NotFoundHandler())
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if _, body := get(t, srv, "GET", "/query", nil); body != "graphql" {
		t.Errorf("GET /query reached %q", body)
	}
	if res, _ := get(t, srv, "GET", "/", nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /: %d", res.StatusCode)
	}
	if _, body := get(t, srv, "POST", "/query", nil); body != "graphql" {
		t.Errorf("POST /query reached %q", body)
	}
	for _, m := range []string{"GET", "POST"} {
		if res, _ := get(t, srv, m, "/metrics-typo", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s /metrics-typo: %d", m, res.StatusCode)
		}
	}
}

// The room page is served at exactly /rooms/{id}, mounted as the server
// mounts it: HTML whose every reference is a same-origin file of the
// bundle, while /rooms/{id}/… stays free for other routes.
func TestRoomPage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("GET /rooms/{id}", Room())
	mux.HandleFunc("GET /rooms/{id}/results.csv", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "csv") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, p := range []string{"/rooms/1", "/rooms/42?replay=1&speed=60", "/rooms/nope"} {
		checkPage(t, srv, p, "Bullpen room", "room")
	}

	if _, body := get(t, srv, "GET", "/rooms/1/results.csv", nil); body != "csv" {
		t.Errorf("GET /rooms/1/results.csv reached %q", body)
	}
	for _, p := range []string{"/rooms/", "/rooms", "/rooms/1/", "/rooms/1/trades.csv", "/room.html"} {
		if res, _ := get(t, srv, "GET", p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	// Other methods fall through to the catch-all, which has no such file.
	if res, _ := get(t, srv, "POST", "/rooms/1", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /rooms/1: %d, want 404", res.StatusCode)
	}
	if res, body := get(t, srv, "HEAD", "/rooms/1", nil); res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /rooms/1: %d with %d bytes", res.StatusCode, len(body))
	}
}

// The league page is served at exactly /leagues/{id}, mounted as the
// server mounts it: HTML whose every reference is a same-origin file of
// the bundle.
func TestLeaguePage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("GET /leagues/{id}", League())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, p := range []string{"/leagues/1", "/leagues/nope"} {
		checkPage(t, srv, p, "Bullpen league", "league")
	}
	for _, p := range []string{"/leagues/", "/leagues", "/leagues/1/", "/league.html"} {
		if res, _ := get(t, srv, "GET", p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

// checkPage checks that GET path is the page titled title mounting
// <div id="div">: HTML whose every reference is a same-origin file under
// /assets/, served, with at least one script and one style sheet.
func checkPage(t *testing.T, srv *httptest.Server, path, title, div string) {
	t.Helper()
	res, page := get(t, srv, "GET", path, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if !strings.Contains(page, "<title>"+title+"</title>") || !strings.Contains(page, `<div id="`+div+`">`) {
		t.Errorf("GET %s is not the %s page:\n%s", path, div, page)
	}
	var js, css int
	for _, m := range assetRef.FindAllStringSubmatch(page, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") || !strings.HasPrefix(ref, "/assets/") {
			t.Errorf("the %s page references %q, not a file under /assets/", div, ref)
			continue
		}
		if res, body := get(t, srv, "GET", ref, nil); res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", ref, res.StatusCode, len(body))
		}
		switch {
		case strings.HasSuffix(ref, ".js"):
			js++
		case strings.HasSuffix(ref, ".css"):
			css++
		}
	}
	if js == 0 || css == 0 {
		t.Errorf("the %s page references %d scripts and %d style sheets", div, js, css)
	}
}
