package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bullpen/bullpen/game"
)

// The fields game.SameForEveryViewer names are executed once for every
// receiver of an event (graph's subscription groups) and their answer is
// sent to each. checkSharedFields proves the table against the rule set
// as the server applies it: the room's log, read by each role on its own
// (no sharing on the query path), with every field of the table selected,
// must answer byte for byte alike for every event two roles both receive,
// in every kind of room and in rooms with liquidations, a split, the
// organiser's hand, assignments and teams. A rule that makes one of those
// fields answer by viewer, left in the table, fails here.

// sharedDepth bounds the generated document: Order.bullPen.participants.
// user is three object levels below the event.
const sharedDepth = 4

// sharedDocument selects every field of game.SharedFields reachable from
// BullPenEvent within sharedDepth object levels (arguments left to their
// defaults), and reports the (type, field) pairs it covered.
func sharedDocument(t *testing.T) (string, map[string]bool) {
	t.Helper()
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	shared := game.SharedFields()
	covered := map[string]bool{}
	var sel func(typ string, depth int) string
	sel = func(typ string, depth int) string {
		def := schema.Types[typ]
		if def == nil {
			t.Fatalf("game.SharedFields names type %s, which the schema lacks", typ)
		}
		var b strings.Builder
		b.WriteString("__typename")
		if def.Kind == ast.Interface || def.Kind == ast.Union {
			for _, impl := range schema.GetPossibleTypes(def) {
				fmt.Fprintf(&b, " ... on %s { %s }", impl.Name, sel(impl.Name, depth))
			}
		}
		fields := slices.Sorted(slices.Values(shared[typ]))
		for _, name := range fields {
			f := def.Fields.ForName(name)
			if f == nil {
				t.Fatalf("game.SharedFields names %s.%s, which the schema lacks", typ, name)
			}
			if slices.ContainsFunc(f.Arguments, func(a *ast.ArgumentDefinition) bool { return a.Type.NonNull && a.DefaultValue == nil }) {
				continue // never reached: no shared field takes a required argument
			}
			inner := schema.Types[f.Type.Name()]
			if inner.Kind == ast.Scalar || inner.Kind == ast.Enum {
				b.WriteString(" " + name)
				covered[typ+"."+name] = true
				continue
			}
			if depth >= sharedDepth {
				continue
			}
			fmt.Fprintf(&b, " %s { %s }", name, sel(inner.Name, depth+1))
			covered[typ+"."+name] = true
		}
		return b.String()
	}
	doc := `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, limit: 1000) { ` + sel("BullPenEvent", 0) + ` } }`
	return doc, covered
}

// TestSharedDocumentCoversTheTable: every field of the table is selected
// somewhere in the proof's document, so none goes unproved.
func TestSharedDocumentCoversTheTable(t *testing.T) {
	_, covered := sharedDocument(t)
	for typ, fields := range game.SharedFields() {
		for _, f := range fields {
			if !covered[typ+"."+f] {
				t.Errorf("%s.%s is shared but the proof's document never selects it", typ, f)
			}
		}
	}
}

// checkSharedFields is the proof over every room set the matrix built.
func (w *authzWorld) checkSharedFields(t *testing.T) {
	doc, _ := sharedDocument(t)
	sets := map[string][3]*authzRoom{"rooms": w.rooms, "liquidated": w.liquidated, "split": w.split,
		"hand": w.hand, "assigned": w.assigned, "teams": w.teams}
	for name, rooms := range sets {
		for _, room := range rooms {
			if room == nil {
				t.Fatalf("room set %s not built", name)
			}
			t.Run(name+"/"+room.kind.String(), func(t *testing.T) {
				byRole := map[role]map[int64]json.RawMessage{}
				for _, r := range allRoles {
					if !sees(room.kind, r) {
						continue
					}
					var out struct{ Ev []json.RawMessage }
					w.ts.with(t).must(w.tokens[r], doc, map[string]any{"id": room.id}, &out)
					byRole[r] = map[int64]json.RawMessage{}
					for _, ev := range out.Ev {
						var head struct{ Sequence int64 }
						if err := json.Unmarshal(ev, &head); err != nil {
							t.Fatal(err)
						}
						byRole[r][head.Sequence] = ev
					}
				}
				compared := 0
				for _, a := range allRoles {
					for _, b := range allRoles {
						if a >= b || byRole[a] == nil || byRole[b] == nil {
							continue
						}
						for seq, ea := range byRole[a] {
							eb, ok := byRole[b][seq]
							if !ok {
								continue
							}
							compared++
							if string(ea) != string(eb) {
								t.Errorf("event %d answers differently to %s and %s through shared fields:\n%s\n%s", seq, a, b, ea, eb)
							}
						}
					}
				}
				// Anonymous, the outsider, the owner and both players see
				// a PUBLIC room; the owner and the players a PRIVATE one:
				// some events are received by several roles in each.
				if compared == 0 {
					t.Fatalf("no event was received by two roles: nothing proved")
				}
			})
		}
	}
}
