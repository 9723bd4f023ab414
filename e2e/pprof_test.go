package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bullpen/bullpen/internal/testbin"
)

// TestProfilerListensApart: -pprof serves the profiler on its own address,
// the public listener does not, and shutdown stops it (TestMain checks no
// goroutine is left).
func TestProfilerListensApart(t *testing.T) {
	addr := testbin.FreeAddr(t)
	ts := startServer(t, "-pprof", addr)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("http://" + addr + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("profiler answered %d: %.200s", code, body)
	}
	if code, body := get(ts.url + "/debug/pprof/"); strings.Contains(body, "goroutine?debug=1") {
		t.Errorf("the public listener serves the profiler (%d)", code)
	}
	ts.stop()
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("the profiler still answers after shutdown")
	}
}
