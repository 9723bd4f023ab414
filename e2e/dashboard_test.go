package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboardQueriesExistingMetrics: every series the dashboard in
// deploy/grafana queries is one a real server exposes on /metrics, so a
// renamed or dropped metric fails here rather than leaving a panel blank.
func TestGrafanaDashboardQueriesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/bullpen.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Definition string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	metric := regexp.MustCompile(`\b(?:bullpen|go|process)_[a-z0-9_]+\b`)
	queried := map[string]string{} // metric -> a panel that queries it
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range metric.FindAllString(tg.Expr, -1) {
				queried[m] = p.Title
			}
		}
	}
	for _, v := range dash.Templating.List {
		for _, m := range metric.FindAllString(v.Definition, -1) {
			queried[m] = "template variable"
		}
	}
	if len(queried) < 10 {
		t.Fatalf("the dashboard queries only %d metrics: %v", len(queried), queried)
	}

	ts := startServer(t, "-access-log=false")
	room := ts.activeRoom(t) // the labelled counters appear with their first value
	ts.must(room.alice, `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 1}) { status } }`,
		map[string]any{"id": room.id}, nil)
	ts.fails("", `{ noSuchField }`, nil, "BAD_USER_INPUT")
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	exposed := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exposed[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	for m, panel := range queried {
		if !exposed[m] {
			t.Errorf("panel %q queries %s, which /metrics does not expose", panel, m)
		}
	}
}
