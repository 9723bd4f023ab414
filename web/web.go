// Package web serves the GraphiQL page, the live room page and the league
// page: a Vite build (see package.json and README.md in this folder)
// embedded in the binary, so the pages work without any network access
// beyond the server itself.
//
// Rebuild the bundle with `npm ci && npm run build` in this folder; the output
// in dist/ is committed.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var dist embed.FS

// contentTypes are set explicitly rather than from the host's MIME database,
// which may lack some (.ttf) or, on some systems, map .js wrongly.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".wasm":  "application/wasm",
	".ttf":   "font/ttf",
	".otf":   "font/otf",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".txt":   "text/plain; charset=utf-8",
}

const (
	cacheImmutable  = "public, max-age=31536000, immutable" // hashed file names under /assets/
	cacheRevalidate = "no-cache"                            // index.html and other unhashed files
)

// file is one embedded file, read once.
type file struct {
	body        []byte
	contentType string
	etag        string
	cache       string
}

var (
	loadOnce   sync.Once
	files      map[string]*file // by URL path, e.g. "/", "/assets/index-abc.js"
	roomPage   *file            // room.html
	leaguePage *file            // league.html
	loadErr    error
)

func load() {
	files = map[string]*file{}
	loadErr = fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		urlPath := strings.TrimPrefix(p, "dist")
		sum := sha256.Sum256(body)
		f := &file{
			body:        body,
			contentType: contentTypes[strings.ToLower(path.Ext(p))],
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			cache:       cacheRevalidate,
		}
		if f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		if strings.HasPrefix(urlPath, "/assets/") {
			f.cache = cacheImmutable
		}
		if urlPath == "/room.html" {
			roomPage = f // served by Room only, at /rooms/{id}
			return nil
		}
		if urlPath == "/league.html" {
			leaguePage = f // served by League only, at /leagues/{id}
			return nil
		}
		files[urlPath] = f
		if urlPath == "/index.html" {
			files["/"] = f
		}
		return nil
	})
}

// Room serves the live room page (dist/room.html; its bundle is under
// /assets/, served by Handler). Mount it on exactly one path segment,
// "GET /rooms/{id}", so that /rooms/{id}/… stays free for other routes; the
// page reads the id from its own URL and asks /query for the room, so an
// unknown id gets the page, which says so.
func Room() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := roomPage
		if loadErr != nil || f == nil {
			http.Error(w, "room page missing from the bundle; run npm run build in web/", http.StatusInternalServerError)
			return
		}
		serve(w, r, f)
	})
}

// League serves the live league page (dist/league.html) as Room serves
// the room page: mount it on "GET /leagues/{id}"; the page reads the id
// from its URL and asks /query for the league.
func League() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := leaguePage
		if loadErr != nil || f == nil {
			http.Error(w, "league page missing from the bundle; run npm run build in web/", http.StatusInternalServerError)
			return
		}
		serve(w, r, f)
	})
}

// serve writes one embedded file with its type, cache policy and ETag
// (answering If-None-Match with 304).
func serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cache)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(f.body))
}

// Handler serves dist/index.html at "/" and the files of dist/ (the hashed
// bundle under /assets/) at their paths, and 404s everything else, so it can
// be mounted as the catch-all "/" next to more specific routes. (Mount it as
// "/", not "GET /": net/http rejects "GET /" next to a method-less "/query"
// as a conflicting pattern.) Other methods than GET and HEAD on its files
// get 405.
func Handler() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loadErr != nil {
			http.Error(w, "GraphiQL bundle unreadable: "+loadErr.Error(), http.StatusInternalServerError)
			return
		}
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		serve(w, r, f)
	})
}
