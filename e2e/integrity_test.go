package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/graph"
)

// authFrom signs up (or in) as name through a proxy that says the client
// is at forwardedFor (an X-Forwarded-For value), and returns the token.
func (ts *testServer) authFrom(op, name, forwardedFor string) string {
	ts.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation($u: String!) { m: ` + op + `(input: {username: $u, password: "password123"}) { token } }`,
		"variables": map[string]any{"u": name}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   struct{ M struct{ Token string } }
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 || out.Data.M.Token == "" {
		ts.t.Fatalf("%s %s from %s: %v %+v", op, name, forwardedFor, err, out.Errors)
	}
	return out.Data.M.Token
}

const integrityQuery = `query($id: ID!) { bullPen(id: $id) { integrityReport { generatedAt
	flags { kind participants { id user { username } } score evidence } } } }`

type integrityJSON struct {
	BullPen *struct {
		IntegrityReport *struct {
			GeneratedAt string
			Flags       []struct {
				Kind         string
				Participants []struct {
					ID   string
					User struct{ Username string }
				}
				Score, Evidence string
			}
		}
	}
}

// TestIntegrityReportOverGraphQL: the integrity report through a real
// server behind a proxy (-client-ip-header X-Forwarded-For), on both
// engines. Two accounts signed up from different addresses, the second
// then signed in from the first's (the proxy's last entry; a client's
// own claim before it is ignored), a pair taking opposite sides of AAPL
// within 5 s three times, and a player buying on a 2-minute-old price are
// flagged, with their order ids in the evidence, in the report and in
// integrity.csv; an honest player (whose forged first X-Forwarded-For
// entry names the twins' address) is in no flag; nobody but the owner
// gets the report (NOT_FOUND) or the file (the 404 of an unknown room).
func TestIntegrityReportOverGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			ts := startServerOn(t, dbtest.Open(t, backend), append([]string{"-client-ip-header", "X-Forwarded-For"}, noOrderLimit...)...).with(t)
			admin := ts.signUpAdmin("admin")
			owner := ts.authFrom("signUp", "owner", "192.0.2.1")
			twin1 := ts.authFrom("signUp", "twin1", "198.51.100.7")
			twin2 := ts.authFrom("signUp", "twin2", "203.0.113.9")
			twin2 = ts.authFrom("signIn", "twin2", "10.9.9.9, 198.51.100.7")
			mirrorA, mirrorB := ts.authFrom("signUp", "mirrora", "192.0.2.10"), ts.authFrom("signUp", "mirrorb", "192.0.2.11")
			stale := ts.authFrom("signUp", "stale", "192.0.2.12")
			honest := ts.authFrom("signUp", "honest", "198.51.100.7, 192.0.2.13")
			quote := func(symbol, price string) {
				ts.must(admin, `mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { price } }`, map[string]any{"s": symbol, "p": price}, nil)
			}
			quote("AAPL", "100")
			quote("MSFT", "200")
			var created struct{ CreateBullPen struct{ ID string } }
			ts.must(owner, `mutation($e: Time!) { createBullPen(input: {name: "Fair play", endsAt: $e, allowShortSelling: true}) { id } }`,
				map[string]any{"e": fmtTime(t0.Add(24 * time.Hour))}, &created)
			room := created.CreateBullPen.ID
			for _, token := range []string{twin1, twin2, mirrorA, mirrorB, stale, honest} {
				ts.must(token, `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, map[string]any{"id": room}, nil)
			}
			order := func(token, symbol, side string) string {
				var out struct{ PlaceOrder struct{ ID, Status string } }
				ts.must(token, placeOrderMutation, map[string]any{"in": map[string]any{"bullPenId": room, "symbol": symbol, "side": side, "quantity": 5}}, &out)
				if out.PlaceOrder.Status != "FILLED" {
					t.Fatalf("order %s %s: %s", symbol, side, out.PlaceOrder.Status)
				}
				return out.PlaceOrder.ID
			}
			var mirrored []string
			for i, price := range []string{"101", "102", "103"} {
				quote("AAPL", price)
				mirrored = append(mirrored, order(mirrorA, "AAPL", "BUY"))
				ts.clock.Advance(time.Duration(i+1) * time.Second)
				mirrored = append(mirrored, order(mirrorB, "AAPL", "SELL"))
				ts.clock.Advance(10 * time.Second) // beyond 5 s of both
				order(honest, "AAPL", "BUY")
				ts.clock.Advance(20 * time.Second)
			}
			quote("MSFT", "201")
			ts.clock.Advance(2 * time.Minute)
			staleOrder := order(stale, "MSFT", "BUY")

			var rep integrityJSON
			ts.must(owner, integrityQuery, map[string]any{"id": room}, &rep)
			r := rep.BullPen.IntegrityReport
			if r == nil {
				t.Fatal("the owner got no report")
			}
			if r.GeneratedAt != ts.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("generatedAt %s, want %s", r.GeneratedAt, ts.clock.Now())
			}
			var got []string
			for _, f := range r.Flags {
				s := f.Kind + " " + f.Score
				for _, p := range f.Participants {
					s += " " + p.User.Username
				}
				got = append(got, s)
				if strings.Contains(f.Evidence, "198.51.100.7") {
					t.Errorf("evidence shows an address: %s", f.Evidence)
				}
			}
			want := []string{"SHARED_ADDRESS 2.00 twin1 twin2", "MIRRORED_TRADING 1.00 mirrora mirrorb", "STALE_PRICE_TRADING 1.00 stale"} // Decimal: at least 2 places
			if !slices.Equal(got, want) {
				t.Fatalf("flags %q, want %q", got, want)
			}
			for _, id := range mirrored {
				if !strings.Contains(r.Flags[1].Evidence, "order "+id+" ") {
					t.Errorf("MIRRORED_TRADING evidence lacks order %s: %s", id, r.Flags[1].Evidence)
				}
			}
			if !strings.Contains(r.Flags[2].Evidence, "order "+staleOrder+" ") || !strings.Contains(r.Flags[2].Evidence, "2m0s old") {
				t.Errorf("STALE_PRICE_TRADING evidence: %s", r.Flags[2].Evidence)
			}

			// Nobody else gets it.
			for who, token := range map[string]string{"anonymous": "", "a participant": honest, "a flagged twin": twin1} {
				ts.fails(token, integrityQuery, map[string]any{"id": room}, "NOT_FOUND")
				path := "/rooms/" + room + "/integrity.csv"
				got, unknown := ts.getCSV(t, token, path), ts.getCSV(t, token, "/rooms/"+unknownID+"/integrity.csv")
				if got.status != http.StatusNotFound || got.body != strings.ReplaceAll(unknown.body, unknownID, room) {
					t.Errorf("%s: integrity.csv %d %q; an unknown room's %d %q", who, got.status, got.body, unknown.status, unknown.body)
				}
			}

			// The file: a row per piece of evidence.
			rows := ts.getCSV(t, owner, "/rooms/"+room+"/integrity.csv").records(t, "bullpen-"+room+"-integrity.csv", graph.IntegrityHeader)
			var lines []string
			for _, row := range rows {
				lines = append(lines, strings.Join(row[:6], "|"))
				if row[6] == "" || row[7] == "" {
					t.Errorf("row %q has no time or detail", row)
				}
			}
			wantLines := []string{"1|SHARED_ADDRESS|2.00|twin1 twin2|twin1|", "1|SHARED_ADDRESS|2.00|twin1 twin2|twin2|"}
			for i, id := range mirrored {
				wantLines = append(wantLines, "2|MIRRORED_TRADING|1.00|mirrora mirrorb|"+[]string{"mirrora", "mirrorb"}[i%2]+"|"+id)
			}
			wantLines = append(wantLines, "3|STALE_PRICE_TRADING|1.00|stale|stale|"+staleOrder)
			if !slices.Equal(lines, wantLines) {
				t.Errorf("integrity.csv rows\n%q\nwant\n%q", lines, wantLines)
			}
		})
	}
}
