package e2e

import (
	"slices"
	"strings"
	"testing"
)

// Assignments in the authorization matrix: the room's assignments are one
// of its rules, seen by whoever sees the room; a participant's progress
// reveals what they traded, so it is seen as their orders are (tradeSet),
// an empty list for anyone else, in the API and in results.csv's
// assignment columns (empty cells).

// assignments sets up w.assigned: an ACTIVE room of each kind with two
// assignments (a FILLED MARKET order, a note), in which P1 buys 10 AAPL at
// market with a note and P2 buys 5 without one, and a leaderboard.
func (w *authzWorld) assignments(t *testing.T) {
	t.Helper()
	for _, k := range allKinds {
		room := w.newRoomWith(t, k, "ACTIVE", map[string]any{"assignments": []map[string]any{
			{"kind": "ORDERS_OF_TYPE", "count": 1, "orderType": "MARKET"}, {"kind": "NOTES_WRITTEN", "count": 1}}})
		w.placeOrder(t, roleP1, room, map[string]any{"quantity": 10, "note": "p1's plan"}, "FILLED")
		w.placeOrder(t, roleP2, room, map[string]any{"quantity": 5}, "FILLED")
		w.assigned[k] = room
	}
	if err := w.ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
}

// authzAssignmentProgress is each player's progress in w.assigned, as
// Participant.assignments renders it (kind done/required met).
var authzAssignmentProgress = map[role]string{
	roleP1: "ORDERS_OF_TYPE 1/1 true, NOTES_WRITTEN 1/1 true",
	roleP2: "ORDERS_OF_TYPE 1/1 true, NOTES_WRITTEN 0/1 false",
}

// authzAssignmentRows read w.assigned.
var authzAssignmentRows = []authzRow{
	{name: "BullPen.assignments", want: roomFields, rule: roomFieldRule, check: checkRoomAssignments},
	{name: "Participant.assignments", want: visibleParticipants, rule: participantDataRule, check: checkParticipantAssignments},
	// The columns are there for whoever may export the results; the cells
	// of a participant whose orders the caller may not see are empty.
	{name: "results.csv assignment columns", want: csvTrades, rule: csvTradesRule, check: checkResultsAssignments},
}

func checkRoomAssignments(c *authzCell) {
	c.room = c.w.assigned[c.kind]
	b := c.bullPenField("assignments { kind count orderType }")
	if b == nil {
		return
	}
	got := renderAssignments(decode[struct{ Assignments []assignmentJSON }](c, b).Assignments)
	if want := "ORDERS_OF_TYPE 1 MARKET, NOTES_WRITTEN 1 -"; got != want {
		c.t.Errorf("assignments %s, want %s", got, want)
	}
}

// checkParticipantAssignments reads every participant's progress: a
// participant's shows whole (the cell's set), everyone else's is an empty
// list (never null: the field is non-null).
func checkParticipantAssignments(c *authzCell) {
	c.room = c.w.assigned[c.kind]
	b := c.bullPenField("participants { id assignments { kind required done met } }")
	if b == nil {
		return
	}
	var shown []string
	for _, p := range decode[struct {
		Participants []struct {
			ID          string
			Assignments []progressJSON
		}
	}](c, b).Participants {
		who := roleP1
		if p.ID == c.room.seats[roleP2] {
			who = roleP2
		}
		if p.Assignments == nil {
			c.t.Errorf("assignments of %s are null, want a list", who)
		}
		if len(p.Assignments) == 0 {
			continue
		}
		shown = append(shown, map[role]string{roleP1: "p1", roleP2: "p2"}[who])
		if got := renderProgress(p.Assignments); got != authzAssignmentProgress[who] {
			c.t.Errorf("assignments of %s: %s, want %s", who, got, authzAssignmentProgress[who])
		}
	}
	if got := participantSet(shown); got != c.want {
		c.t.Errorf("assignments shown for %q, want %q (empty for the others)", got, c.want)
	}
}

// checkResultsAssignments reads results.csv's assignment columns: filled
// in the rows of the cell's set, empty in the others.
func checkResultsAssignments(c *authzCell) {
	c.room = c.w.assigned[c.kind]
	if c.want == notFound {
		c.csvRows("results") // checks the 404
		return
	}
	header := slices.Concat(resultsHeader, []string{"a1_ORDERS_OF_TYPE_MARKET_1", "a1_met", "a2_NOTES_WRITTEN_1", "a2_met", "assignmentsMet"})
	rows := c.ts.getCSV(c.t, c.token(), "/rooms/"+c.room.id+"/results.csv").records(c.t, "bullpen-"+c.room.id+"-results.csv", header)
	grades := map[string]string{roleP1.username(): "1 true 1 true 2/2", roleP2.username(): "1 true 0 false 1/2"}
	var shown []string
	for _, row := range rows {
		got := strings.Join(row[len(resultsHeader):], " ")
		if got == "    " { // five empty cells
			continue
		}
		who := map[string]string{roleP1.username(): "p1", roleP2.username(): "p2"}[row[1]]
		shown = append(shown, who)
		if got != grades[row[1]] {
			c.t.Errorf("grades of %s: %q, want %q", row[1], got, grades[row[1]])
		}
	}
	if got := participantSet(shown); got != c.want || len(rows) != 2 {
		c.t.Errorf("grades shown for %q in %d rows, want %q in 2", got, len(rows), c.want)
	}
}

// participantSet writes who shows as a cell does: "p1 p2", "p1", "p2", "-".
func participantSet(who []string) string {
	if len(who) == 0 {
		return "-"
	}
	return strings.Join(slices.Sorted(slices.Values(who)), " ")
}
