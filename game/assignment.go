package game

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Assignments: checks the organiser sets on a room at creation (a class's
// homework: "place three limit orders", "hold five symbols at once"),
// evaluated from the order log and the metrics whenever they are read.
// Nothing of the progress is stored.
//
//   - An assignment is a rule of the room: public like the others, stored
//     in the room's transaction, kept in the order given, copied by
//     cloneBullPen, never edited (no mutation edits a room).
//   - A participant's progress reveals what they traded, so it is seen as
//     their orders are (SeesTrades); anyone else gets no progress.
//   - done is the participant's figure, never capped (7 of 3 shows 7);
//     met is done >= required, except for MAX_DRAWDOWN_BELOW (below).
//
// The kinds:
//
//   - ORDERS_OF_TYPE: orders of orderType whose status is FILLED, every
//     share filled. An order still PARTIALLY_FILLED, or cancelled or
//     expired with part of it filled, does not count, and neither does a
//     margin call's forced order: the system placed it, not the player
//     (TestAssignmentsSkipForcedOrders).
//   - DISTINCT_SYMBOLS: the most symbols held at once (a non-zero
//     position, long or short) over the room's history, replayed from the
//     participant's fills in order, with each applied split scaling the
//     positions at its time (before the fills of that instant) as it
//     scaled them then (toward zero).
//   - NOTES_WRITTEN: the participant's stored orders carrying a note,
//     whatever became of them (a REJECTED order's note was written too);
//     an order refused outright is not stored and does not count.
//   - MAX_DRAWDOWN_BELOW: required is count (a percent, 1 to 100), done is
//     the participant's maxDrawdownPercent (as Participant.metrics shows
//     it: as of the latest leaderboard snapshot) rounded up to a whole
//     percent, so done never looks better than the truth; met compares
//     the exact figure: maxDrawdownPercent < count. So done == required
//     may be met (4.2 < 5 shows done 5) or not (exactly 5).

// AssignmentKind is what an assignment checks.
type AssignmentKind string

const (
	AssignmentOrdersOfType     AssignmentKind = "ORDERS_OF_TYPE"
	AssignmentDistinctSymbols  AssignmentKind = "DISTINCT_SYMBOLS"
	AssignmentNotesWritten     AssignmentKind = "NOTES_WRITTEN"
	AssignmentMaxDrawdownBelow AssignmentKind = "MAX_DRAWDOWN_BELOW"
)

// Assignment is one check of a room. OrderType is set for ORDERS_OF_TYPE
// only.
type Assignment struct {
	Kind      AssignmentKind `db:"kind" json:"kind"`
	Count     int            `db:"count" json:"count"`
	OrderType *OrderType     `db:"order_type" json:"orderType,omitempty"`
}

// AssignmentInput is an assignment as the organiser sends it.
type AssignmentInput struct {
	Kind      AssignmentKind `json:"kind"`
	Count     int            `json:"count"`
	OrderType *OrderType     `json:"orderType"`
}

// AssignmentProgress is where one participant stands on one assignment.
type AssignmentProgress struct {
	Kind     AssignmentKind `json:"kind"`
	Required int            `json:"required"`
	Done     int            `json:"done"`
	Met      bool           `json:"met"`
}

// MaxAssignments bounds the assignments of one room; MaxAssignmentCount
// the count of an assignment (but MAX_DRAWDOWN_BELOW's, a percent: 100).
const (
	MaxAssignments     = 20
	MaxAssignmentCount = 100000
)

// validAssignments checks a new room's assignments (nil: none) against
// the room b (its allowed symbols) and the instruments known, and returns
// them in the order given. Errors name the field with its 0-based index,
// as GraphQL paths do: assignments[1].count.
func (s *Service) validAssignments(in []AssignmentInput, b *BullPen) ([]Assignment, error) {
	if len(in) > MaxAssignments {
		return nil, Invalid("assignments", "at most %d assignments, got %d", MaxAssignments, len(in))
	}
	symbols := len(s.symbols)
	if b.AllowedSymbols != nil {
		symbols = len(b.AllowedSymbols)
	}
	out := make([]Assignment, 0, len(in))
	for i, a := range in {
		field := func(name string) string { return fmt.Sprintf("assignments[%d]%s", i, name) }
		most := MaxAssignmentCount
		switch a.Kind {
		case AssignmentOrdersOfType:
			if a.OrderType == nil {
				return nil, Invalid(field(".orderType"), "is required for ORDERS_OF_TYPE")
			}
			if !validOrderType(*a.OrderType) {
				return nil, Invalid(field(".orderType"), "%q is not an order type", *a.OrderType)
			}
		case AssignmentDistinctSymbols, AssignmentNotesWritten, AssignmentMaxDrawdownBelow:
			if a.OrderType != nil {
				return nil, Invalid(field(".orderType"), "is only for ORDERS_OF_TYPE, not %s", a.Kind)
			}
			if a.Kind == AssignmentMaxDrawdownBelow {
				most = 100
			}
			if a.Kind == AssignmentDistinctSymbols && a.Count > symbols {
				// Within the bound below, but never to be met.
				most = symbols
			}
		default:
			return nil, Invalid(field(".kind"), "%q is not an assignment kind", a.Kind)
		}
		if a.Count < 1 || a.Count > most {
			what := ""
			switch {
			case a.Kind == AssignmentMaxDrawdownBelow:
				what = " (a percent)"
			case a.Kind == AssignmentDistinctSymbols && most == symbols:
				what = " (the symbols this room may trade)"
			}
			return nil, Invalid(field(".count"), "must be between 1 and %d%s, got %d", most, what, a.Count)
		}
		for j, prev := range out {
			if prev.Kind == a.Kind && (a.OrderType == nil || *prev.OrderType == *a.OrderType) {
				return nil, Invalid(field(""), "repeats assignments[%d] (%s): one of each per room", j, prev.label())
			}
		}
		out = append(out, Assignment{Kind: a.Kind, Count: a.Count, OrderType: a.OrderType})
	}
	return out, nil
}

// validOrderType reports whether t is an order type.
func validOrderType(t OrderType) bool {
	switch t {
	case OrderTypeMarket, OrderTypeLimit, OrderTypeStop, OrderTypeStopLimit, OrderTypeTrailingStop:
		return true
	}
	return false
}

// label names an assignment's kind, with its order type for
// ORDERS_OF_TYPE: "ORDERS_OF_TYPE LIMIT", "NOTES_WRITTEN".
func (a Assignment) label() string {
	if a.OrderType != nil {
		return string(a.Kind) + " " + string(*a.OrderType)
	}
	return string(a.Kind)
}

// ColumnName is the assignment's column in results.csv, position i
// counting from 1: a1_ORDERS_OF_TYPE_LIMIT_3 (kind, order type, count).
func (a Assignment) ColumnName(i int) string {
	name := fmt.Sprintf("a%d_%s", i, a.Kind)
	if a.OrderType != nil {
		name += "_" + string(*a.OrderType)
	}
	return fmt.Sprintf("%s_%d", name, a.Count)
}

// Assignments lists the room's assignments in the order the organiser
// gave them; like every rule of the room, whoever sees the room sees them.
func (v *View) Assignments(ctx context.Context) ([]Assignment, error) {
	return v.s.store.Assignments(ctx, v.Room.ID)
}

// OrderTally counts one participant's orders of one type: those FILLED,
// and those carrying a note (see Queries.OrderTallies).
type OrderTally struct {
	ParticipantID int64     `db:"participant_id"`
	Type          OrderType `db:"type"`
	Filled        int       `db:"filled"`
	Noted         int       `db:"noted"`
}

// FillStep is one fill as a position replay needs it (see
// Queries.FillSteps).
type FillStep struct {
	ParticipantID int64     `db:"participant_id"`
	Symbol        string    `db:"symbol"`
	Side          Side      `db:"side"`
	Quantity      int64     `db:"quantity"`
	At            time.Time `db:"at"`
}

// AssignmentBoard is the progress of a room's participants on its
// assignments, as one viewer may see it (see View.AssignmentProgress).
type AssignmentBoard struct {
	Assignments []Assignment
	view        *View
	facts       map[int64]*assignmentFacts
}

// assignmentFacts is what a participant's progress is worked out from.
type assignmentFacts struct {
	filled    map[OrderType]int
	noted     int
	symbols   int // the most held at once
	drawdown  decimal.Decimal
	positions map[string]int64 // the replay's positions so far
	held      int              // symbols held now in the replay
}

// Of is participant p's progress, one per assignment in the room's order,
// and whether the viewer may see it: a participant of the room whose
// orders the viewer may not see gets none (nil, false).
func (b *AssignmentBoard) Of(participantID int64) ([]AssignmentProgress, bool) {
	if !b.view.SeesTrades(participantID) {
		return nil, false
	}
	f := b.facts[participantID]
	if f == nil {
		f = &assignmentFacts{}
	}
	out := make([]AssignmentProgress, len(b.Assignments))
	for i, a := range b.Assignments {
		p := AssignmentProgress{Kind: a.Kind, Required: a.Count}
		switch a.Kind {
		case AssignmentOrdersOfType:
			p.Done = f.filled[*a.OrderType]
		case AssignmentDistinctSymbols:
			p.Done = f.symbols
		case AssignmentNotesWritten:
			p.Done = f.noted
		case AssignmentMaxDrawdownBelow:
			p.Done = int(f.drawdown.Ceil().IntPart())
		}
		p.Met = p.Done >= p.Required
		if a.Kind == AssignmentMaxDrawdownBelow {
			p.Met = f.drawdown.LessThan(decimal.NewFromInt(int64(a.Count)))
		}
		out[i] = p
	}
	return out, true
}

// AssignmentProgress works out, in one consistent read, the progress of
// every participant whose orders the viewer may see: the owner all of
// them, a member their own or, when the room's trades are PUBLIC,
// everyone's. It reads the room's order tallies, fills and metrics once
// for all of them (a few queries whatever the number of participants and
// assignments), and only what the room's assignments need.
func (v *View) AssignmentProgress(ctx context.Context) (*AssignmentBoard, error) {
	b := &AssignmentBoard{view: v, facts: map[int64]*assignmentFacts{}}
	scope, ok := v.orderScope(OrderFilter{})
	err := v.s.store.Read(ctx, func(q Queries) error {
		as, err := q.Assignments(ctx, v.Room.ID)
		if err != nil || len(as) == 0 || !ok {
			b.Assignments = as
			return err
		}
		b.Assignments = as
		return b.read(ctx, q, scope.ParticipantID)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// read gathers the facts the board's assignments need, of one participant
// or (0) of every participant of the room.
func (b *AssignmentBoard) read(ctx context.Context, q Queries, participantID int64) error {
	room := b.view.Room
	fact := func(pid int64) *assignmentFacts {
		f := b.facts[pid]
		if f == nil {
			f = &assignmentFacts{filled: map[OrderType]int{}}
			b.facts[pid] = f
		}
		return f
	}
	need := map[AssignmentKind]bool{}
	for _, a := range b.Assignments {
		need[a.Kind] = true
	}
	if need[AssignmentOrdersOfType] || need[AssignmentNotesWritten] {
		ts, err := q.OrderTallies(ctx, room.ID, participantID)
		if err != nil {
			return err
		}
		for _, t := range ts {
			f := fact(t.ParticipantID)
			f.filled[t.Type] += t.Filled
			f.noted += t.Noted
		}
	}
	if need[AssignmentDistinctSymbols] {
		steps, err := q.FillSteps(ctx, room.ID, participantID)
		if err != nil {
			return err
		}
		splits, err := q.AppliedSplits(ctx)
		if err != nil {
			return err
		}
		replayHoldings(steps, splits, fact)
	}
	if need[AssignmentMaxDrawdownBelow] {
		var tracks []*Track
		if participantID != 0 {
			t, err := q.Track(ctx, participantID)
			if err == nil {
				tracks = []*Track{t}
			} else if ErrorCode(err) != ENOTFOUND {
				return err
			}
		} else {
			var err error
			if tracks, err = q.Tracks(ctx, room.ID); err != nil {
				return err
			}
		}
		for _, t := range tracks {
			fact(t.ParticipantID).drawdown = t.MaxDrawdownPercent
		}
	}
	return nil
}

// replayHoldings replays fills (in the order they were made) and applied
// splits (oldest first), merged by time with a split first at an equal
// time, into each participant's positions, keeping the most symbols each
// held at once.
func replayHoldings(steps []FillStep, splits []*CorporateAction, fact func(int64) *assignmentFacts) {
	touched := map[int64]*assignmentFacts{}
	split := func(a *CorporateAction) {
		for _, f := range touched {
			q, ok := f.positions[a.Symbol]
			if !ok || q == 0 {
				continue
			}
			after := decimal.NewFromInt(q).Mul(*a.Ratio).IntPart() // toward zero, as SplitPosition
			f.positions[a.Symbol] = after
			if after == 0 {
				f.held--
			}
		}
	}
	splits = slices.DeleteFunc(slices.Clone(splits), func(a *CorporateAction) bool { return a.Ratio == nil || a.AppliedAt == nil })
	slices.SortStableFunc(splits, func(a, b *CorporateAction) int { return cmp.Compare(a.AppliedAt.UnixNano(), b.AppliedAt.UnixNano()) })
	next := 0
	for _, st := range steps {
		for next < len(splits) && !splits[next].AppliedAt.After(st.At) {
			split(splits[next])
			next++
		}
		f := fact(st.ParticipantID)
		if f.positions == nil {
			f.positions = map[string]int64{}
			touched[st.ParticipantID] = f
		}
		before := f.positions[st.Symbol]
		after := before + st.Quantity
		if st.Side == SideSell {
			after = before - st.Quantity
		}
		f.positions[st.Symbol] = after
		switch {
		case before == 0 && after != 0:
			f.held++
		case before != 0 && after == 0:
			f.held--
		}
		f.symbols = max(f.symbols, f.held)
	}
}
