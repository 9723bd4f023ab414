package e2e

import (
	"net/http"
	"slices"
	"strings"

	"github.com/bullpen/bullpen/graph"
)

// The authorization matrix's integrity rows (issue 20, part 5; see
// authz_matrix_test.go for the roles and room kinds): the integrity
// report is the owner's alone. Everyone else who sees the room gets
// NOT_FOUND in the API with the message of a room that does not exist
// (the field is non-null, so the error nulls bullPen), and, for
// integrity.csv, the 404 of a room that does not exist. In each room of the world P1 and P2 signed up from one address
// (the test's, 127.0.0.1) and bought AAPL on a fresh price, so the report
// holds exactly one flag: SHARED_ADDRESS of player1 and player2.

// report: the owner's report, with the one flag.
const report = "report"

func ownerOnlyField(k roomKind, r role) string {
	switch {
	case !sees(k, r):
		return hidden
	case r == roleOwner:
		return report
	}
	return notFound
}

func ownerOnlyFile(k roomKind, r role) string {
	if r == roleOwner {
		return shown
	}
	return notFound
}

var authzIntegrityRows = []authzRow{
	{name: "BullPen.integrityReport", rule: ownerOnlyField, check: checkIntegrityReport,
		want: grid(
			by(notFound, notFound, notFound, notFound, report, notFound),
			by(notFound, notFound, notFound, notFound, report, notFound),
			by(hidden, hidden, notFound, notFound, report, hidden),
		)},
	{name: "GET /rooms/{id}/integrity.csv", rule: ownerOnlyFile, check: checkIntegrityCSV,
		want: grid(
			by(notFound, notFound, notFound, notFound, shown, notFound),
			by(notFound, notFound, notFound, notFound, shown, notFound),
			by(notFound, notFound, notFound, notFound, shown, notFound),
		)},
}

func checkIntegrityReport(c *authzCell) {
	const selection = "integrityReport { flags { kind participants { id } score } }"
	if c.want == notFound {
		query := `query($id: ID!) { bullPen(id: $id) { ` + selection + ` } }`
		r := c.do(query, map[string]any{"id": c.room.id})
		// The message of a room that does not exist (an unknown id's
		// bullPen is a plain null: there is no report to ask for).
		c.expectError(r.Errors, c.room.id, nil)
		if len(r.Errors) > 0 && r.Errors[0].Message != "bull pen "+c.room.id+" not found" {
			c.t.Errorf("message %q, want an unknown room's", r.Errors[0].Message)
		}
		if string(r.Data) != `{"bullPen":null}` {
			c.t.Errorf("data %s, want a null bullPen", r.Data)
		}
		return
	}
	b := c.bullPenField(selection)
	if b == nil {
		return
	}
	got := decode[struct {
		IntegrityReport *struct {
			Flags []struct {
				Kind         string
				Participants []struct{ ID string }
				Score        string
			}
		}
	}](c, b).IntegrityReport
	switch {
	case c.want == report:
		if got == nil || len(got.Flags) != 1 {
			c.t.Fatalf("integrityReport %s, want one flag", b)
		}
		f := got.Flags[0]
		ids := []string{}
		for _, p := range f.Participants {
			ids = append(ids, p.ID)
		}
		if f.Kind != "SHARED_ADDRESS" || !decimalIs(&f.Score, "2") || !slices.Equal(ids, []string{c.room.seats[roleP1], c.room.seats[roleP2]}) {
			c.t.Errorf("flag %+v, want SHARED_ADDRESS 2 of P1 and P2", f)
		}
	}
}

func checkIntegrityCSV(c *authzCell) {
	path := func(id string) string { return "/rooms/" + id + "/integrity.csv" }
	r := c.ts.getCSV(c.t, c.token(), path(c.room.id))
	if c.want == notFound {
		u := c.ts.getCSV(c.t, c.token(), path(unknownID))
		if r.status != http.StatusNotFound || u.status != http.StatusNotFound || r.body != strings.ReplaceAll(u.body, unknownID, c.room.id) {
			c.t.Errorf("%d %q; an unknown room %d %q: want the same 404", r.status, r.body, u.status, u.body)
		}
		return
	}
	var users []string
	for _, row := range r.records(c.t, "bullpen-"+c.room.id+"-integrity.csv", graph.IntegrityHeader) {
		if row[1] != "SHARED_ADDRESS" || row[3] != "player1 player2" {
			c.t.Errorf("row %q, want SHARED_ADDRESS of player1 player2", row)
		}
		users = append(users, row[4])
	}
	if !slices.Equal(users, []string{roleP1.username(), roleP2.username()}) {
		c.t.Errorf("rows of %v, want one for each player", users)
	}
}
