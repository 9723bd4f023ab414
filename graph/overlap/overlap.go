// Package overlap is the GraphQL validation rule "Overlapping Fields Can
// Be Merged" with a budget: gqlparser's rule (v2.5.64,
// validator/rules/overlapping_fields_can_be_merged.go, MIT licence,
// Copyright (c) 2018 Adam Scarr) changed in two ways.
//
//   - Fields that are exactly alike (same response name, same field of the
//     same type, same arguments, no selections) are collected once, so
//     `{ __typename __typename … }` costs nothing to compare. graphql-core
//     PR #270 does the same.
//   - Every step of the check (a field compared with a field, an argument
//     with an argument, a response name looked up, a fragment pair, a
//     selection collected) is counted, and the check stops at a budget with
//     one error, as graphql-php (issue #1906) does. Dedupe alone does not
//     bound it: fields that share a response name but differ (in arguments,
//     or in what they select) are still compared pair by pair.
//   - It stops at MaxConflicts conflicts, as graphql-js's validate stops at
//     100 errors: the pairs that conflict can be quadratic in number too.
//
// gqlparser's rule is quadratic in the fields that share a response name
// in one selection set and runs before any limit on the operation's shape,
// so one request of 30,000 repeated fields took a core for a minute. Its
// upstream (v2.5.64, the newest) has neither change. Everything else is
// gqlparser's algorithm, messages included, so a document within the budget
// gets the errors gqlparser gives (each distinct message once).
package overlap

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
)

// Name is the rule's name in gqlparser's rule set, which this rule
// replaces.
const Name = "OverlappingFieldsCanBeMerged"

// MaxConflicts is the most conflicts reported for one document: the check
// stops there, the document being invalid whatever else it finds.
const MaxConflicts = 100

// Check configures the rule. Its zero value has no budget.
type Check struct {
	// Budget is the most steps one document's check may take (0: no
	// limit). A step is one comparison or lookup of constant cost, so the
	// budget bounds the check's CPU time whatever the document.
	Budget int
	// Exceeded, if set, adds to the error reported when a document needs
	// more steps than Budget: the caller's code and extensions. steps is
	// where the check stopped (more than Budget).
	Exceeded func(budget, steps int) core.ErrorOption

	steps atomic.Int64
}

// Steps is the number of steps taken by every check so far: tests use it
// to show that work was bounded, or not done at all.
func (c *Check) Steps() int64 { return c.steps.Load() }

// Rule is the validation rule, to replace gqlparser's of the same Name.
func (c *Check) Rule() core.Rule {
	return core.Rule{Name: Name, RuleFunc: c.ruleFunc}
}

func (c *Check) ruleFunc(observers *core.Events, addError core.AddErrFunc) {
	// The algorithm is gqlparser's (itself graphql-js's); see the comment
	// at the top of its OverlappingFieldsCanBeMergedRule for the steps
	// (A) to (J) named below.
	m := &manager{
		comparedFieldsAndFragmentPairs: newOrderedPairSet[*sequentialFieldsMap, string](),
		comparedFragmentPairs:          pairSet{pairs: newOrderedPairSet[string, string]()},
		cachedFieldsAndFragmentNames:   make(map[selectionSetKey]*fieldsAndFragmentNames),
		budget:                         c.Budget,
	}
	check := func(walker *core.Walker, set ast.SelectionSet, at *ast.Position) {
		if m.stopped() {
			return
		}
		m.walker = walker
		before := m.steps
		conflicts := m.findConflictsWithinSelectionSet(set)
		c.steps.Add(int64(m.steps - before))
		if m.exhausted {
			// Conflicts found so far may be incomplete: the budget error
			// stands alone for this selection set.
			opts := []core.ErrorOption{core.Message(
				"Validating this operation needs more than %d comparisons of fields that share a response name. "+
					"Give such fields different aliases, or ask for each field once.", m.budget), core.At(at)}
			if c.Exceeded != nil {
				opts = append(opts, c.Exceeded(m.budget, m.steps))
			}
			addError(opts...)
			return
		}
		for _, conflict := range conflicts {
			if m.reported == MaxConflicts {
				break
			}
			m.reported++
			conflict.addFieldsConflictMessage(addError)
		}
	}
	observers.OnOperation(func(walker *core.Walker, operation *ast.OperationDefinition) {
		check(walker, operation.SelectionSet, operation.Position)
	})
	observers.OnField(func(walker *core.Walker, field *ast.Field) {
		if walker.CurrentOperation == nil {
			// A fragment walked on its own: its fields were checked when
			// an operation spread it (errors would be reported twice).
			return
		}
		check(walker, field.SelectionSet, field.Position)
	})
	observers.OnInlineFragment(func(walker *core.Walker, inlineFragment *ast.InlineFragment) {
		check(walker, inlineFragment.SelectionSet, inlineFragment.Position)
	})
	observers.OnFragment(func(walker *core.Walker, fragment *ast.FragmentDefinition) {
		check(walker, fragment.SelectionSet, fragment.Position)
	})
}

// orderedPairSet records pairs already compared, and whether each was
// compared as mutually exclusive.
type orderedPairSet[A comparable, B comparable] struct {
	data map[A]map[B]bool
}

func newOrderedPairSet[A comparable, B comparable]() orderedPairSet[A, B] {
	return orderedPairSet[A, B]{data: make(map[A]map[B]bool)}
}

func (set *orderedPairSet[A, B]) Add(a A, b B, areMutuallyExclusive bool) {
	bs := set.data[a]
	if bs == nil {
		bs = make(map[B]bool)
		set.data[a] = bs
	}
	bs[b] = areMutuallyExclusive
}

func (set *orderedPairSet[A, B]) Has(a A, b B, areMutuallyExclusive bool) bool {
	bs, ok := set.data[a]
	if !ok {
		return false
	}
	result, ok := bs[b]
	if !ok {
		return false
	}
	// Compared as not mutually exclusive covers both questions.
	if !areMutuallyExclusive {
		return !result
	}
	return true
}

// pairSet records pairs of fragments compared, by name, in either order.
type pairSet struct {
	pairs orderedPairSet[string, string]
}

func (p *pairSet) Add(a, b *ast.FragmentSpread, areMutuallyExclusive bool) {
	p.pairs.Add(a.Name, b.Name, areMutuallyExclusive)
	p.pairs.Add(b.Name, a.Name, areMutuallyExclusive)
}

func (p *pairSet) Has(a, b *ast.FragmentSpread, areMutuallyExclusive bool) bool {
	return p.pairs.Has(a.Name, b.Name, areMutuallyExclusive)
}

// fieldsAndFragmentNames is one selection set's collected fields and
// fragment spreads, cached so every lookup of that set yields the same
// *sequentialFieldsMap: the memos above are keyed on that identity, which
// is what makes them terminate on a fragment cycle.
type fieldsAndFragmentNames struct {
	fieldsMap       *sequentialFieldsMap
	fragmentSpreads []*ast.FragmentSpread
}

// selectionSetKey identifies a selection set (a slice) by its first
// element and length. Every empty set shares the zero key, which only
// skips comparing nothing with something.
type selectionSetKey struct {
	first *ast.Selection
	n     int
}

// sequentialFieldsMap is fields by response name, in document order.
type sequentialFieldsMap struct {
	seq  []string
	data map[string][]*ast.Field
}

func (m *sequentialFieldsMap) Push(responseName string, field *ast.Field) {
	fields, ok := m.data[responseName]
	if !ok {
		m.seq = append(m.seq, responseName)
	}
	m.data[responseName] = append(fields, field)
}

func (m *sequentialFieldsMap) Get(responseName string) ([]*ast.Field, bool) {
	fields, ok := m.data[responseName]
	return fields, ok
}

type conflictMessageContainer struct {
	Conflicts []*conflictMessage
}

type conflictMessage struct {
	Message      string
	ResponseName string
	SubMessage   []*conflictMessage
	Position     *ast.Position
}

func (m *conflictMessage) String(buf *bytes.Buffer) {
	if len(m.SubMessage) == 0 {
		buf.WriteString(m.Message)
		return
	}
	for idx, subMessage := range m.SubMessage {
		buf.WriteString(`subfields "`)
		buf.WriteString(subMessage.ResponseName)
		buf.WriteString(`" conflict because `)
		subMessage.String(buf)
		if idx != len(m.SubMessage)-1 {
			buf.WriteString(" and ")
		}
	}
}

func (m *conflictMessage) addFieldsConflictMessage(addError core.AddErrFunc) {
	var buf bytes.Buffer
	m.String(&buf)
	addError(
		core.Message(
			`Fields "%s" conflict because %s. Use different aliases on the fields to fetch both if this was intentional.`,
			m.ResponseName,
			buf.String(),
		),
		core.At(m.Position),
	)
}

type manager struct {
	walker *core.Walker

	// comparedFieldsAndFragmentPairs is keyed on the set of fields too:
	// a fragment reached again while comparing a different set of fields
	// still has to be compared.
	comparedFieldsAndFragmentPairs orderedPairSet[*sequentialFieldsMap, string]
	comparedFragmentPairs          pairSet
	cachedFieldsAndFragmentNames   map[selectionSetKey]*fieldsAndFragmentNames

	budget    int // 0: none
	steps     int
	exhausted bool // over the budget
	found     int  // conflicts found, nested ones included
	reported  int  // conflicts reported
}

// spend counts n steps and reports whether the check may go on: within
// its budget and short of MaxConflicts. Once it may not, every function
// below returns at its next check without doing more.
func (m *manager) spend(n int) bool {
	m.steps += n
	if m.budget > 0 && m.steps > m.budget {
		m.exhausted = true
	}
	return !m.stopped()
}

func (m *manager) stopped() bool { return m.exhausted || m.found >= MaxConflicts }

func (m *manager) add(conflicts *conflictMessageContainer, c *conflictMessage) {
	if c != nil {
		conflicts.Conflicts = append(conflicts.Conflicts, c)
		m.found++
	}
}

func (m *manager) findConflictsWithinSelectionSet(selectionSet ast.SelectionSet) []*conflictMessage {
	if len(selectionSet) == 0 {
		return nil
	}
	fieldsMap, fragmentSpreads := m.getFieldsAndFragmentNames(selectionSet)
	var conflicts conflictMessageContainer
	// (A) Conflicts within this set's own fields: the only place fields of
	// one set are compared with each other.
	m.collectConflictsWithin(&conflicts, fieldsMap)
	for idx, fragmentSpreadA := range fragmentSpreads {
		if m.stopped() {
			break
		}
		// (B) These fields against each spread fragment's.
		m.collectConflictsBetweenFieldsAndFragment(&conflicts, false, fieldsMap, fragmentSpreadA)
		for _, fragmentSpreadB := range fragmentSpreads[idx+1:] {
			// (C) Each spread fragment against every other.
			m.collectConflictsBetweenFragments(&conflicts, false, fragmentSpreadA, fragmentSpreadB)
		}
	}
	return conflicts.Conflicts
}

func (m *manager) collectConflictsBetweenFieldsAndFragment(
	conflicts *conflictMessageContainer,
	areMutuallyExclusive bool,
	fieldsMap *sequentialFieldsMap,
	fragmentSpread *ast.FragmentSpread,
) {
	if !m.spend(1) {
		return
	}
	if m.comparedFieldsAndFragmentPairs.Has(fieldsMap, fragmentSpread.Name, areMutuallyExclusive) {
		return
	}
	m.comparedFieldsAndFragmentPairs.Add(fieldsMap, fragmentSpread.Name, areMutuallyExclusive)
	if fragmentSpread.Definition == nil {
		return
	}
	fieldsMapB, fragmentSpreads := m.getFieldsAndFragmentNames(fragmentSpread.Definition.SelectionSet)
	// Do not compare a fragment's fields with themselves.
	if fieldsMap == fieldsMapB {
		return
	}
	// (D) The fields against the fragment's fields.
	m.collectConflictsBetween(conflicts, areMutuallyExclusive, fieldsMap, fieldsMapB)
	// (E) The fields against the fragments the fragment spreads; the memo
	// above ends a cycle.
	for _, fragmentSpread := range fragmentSpreads {
		m.collectConflictsBetweenFieldsAndFragment(conflicts, areMutuallyExclusive, fieldsMap, fragmentSpread)
	}
}

func (m *manager) collectConflictsBetweenFragments(
	conflicts *conflictMessageContainer,
	areMutuallyExclusive bool,
	fragmentSpreadA *ast.FragmentSpread,
	fragmentSpreadB *ast.FragmentSpread,
) {
	var check func(fragmentSpreadA *ast.FragmentSpread, fragmentSpreadB *ast.FragmentSpread)
	check = func(fragmentSpreadA *ast.FragmentSpread, fragmentSpreadB *ast.FragmentSpread) {
		// Eight steps: a pair costs eight map operations, a comparison one.
		if !m.spend(8) {
			return
		}
		if fragmentSpreadA.Name == fragmentSpreadB.Name {
			return
		}
		if m.comparedFragmentPairs.Has(fragmentSpreadA, fragmentSpreadB, areMutuallyExclusive) {
			return
		}
		m.comparedFragmentPairs.Add(fragmentSpreadA, fragmentSpreadB, areMutuallyExclusive)
		if fragmentSpreadA.Definition == nil || fragmentSpreadB.Definition == nil {
			return
		}
		fieldsMapA, fragmentSpreadsA := m.getFieldsAndFragmentNames(fragmentSpreadA.Definition.SelectionSet)
		fieldsMapB, fragmentSpreadsB := m.getFieldsAndFragmentNames(fragmentSpreadB.Definition.SelectionSet)
		// (F) The two fragments' own fields.
		m.collectConflictsBetween(conflicts, areMutuallyExclusive, fieldsMapA, fieldsMapB)
		// (G) Each against the fragments the other spreads.
		for _, fragmentSpread := range fragmentSpreadsB {
			check(fragmentSpreadA, fragmentSpread)
		}
		for _, fragmentSpread := range fragmentSpreadsA {
			check(fragmentSpread, fragmentSpreadB)
		}
	}
	check(fragmentSpreadA, fragmentSpreadB)
}

func (m *manager) findConflictsBetweenSubSelectionSets(
	areMutuallyExclusive bool,
	selectionSetA ast.SelectionSet,
	selectionSetB ast.SelectionSet,
) *conflictMessageContainer {
	var conflicts conflictMessageContainer
	fieldsMapA, fragmentSpreadsA := m.getFieldsAndFragmentNames(selectionSetA)
	fieldsMapB, fragmentSpreadsB := m.getFieldsAndFragmentNames(selectionSetB)
	// (H) The two sets' fields.
	m.collectConflictsBetween(&conflicts, areMutuallyExclusive, fieldsMapA, fieldsMapB)
	// (I) Each set's fields against the fragments the other spreads.
	for _, fragmentSpread := range fragmentSpreadsB {
		m.collectConflictsBetweenFieldsAndFragment(&conflicts, areMutuallyExclusive, fieldsMapA, fragmentSpread)
	}
	for _, fragmentSpread := range fragmentSpreadsA {
		m.collectConflictsBetweenFieldsAndFragment(&conflicts, areMutuallyExclusive, fieldsMapB, fragmentSpread)
	}
	// (J) Each fragment one spreads against each the other spreads.
	for _, fragmentSpreadA := range fragmentSpreadsA {
		for _, fragmentSpreadB := range fragmentSpreadsB {
			m.collectConflictsBetweenFragments(&conflicts, areMutuallyExclusive, fragmentSpreadA, fragmentSpreadB)
		}
	}
	if len(conflicts.Conflicts) == 0 {
		return nil
	}
	return &conflicts
}

func (m *manager) collectConflictsWithin(conflicts *conflictMessageContainer, fieldsMap *sequentialFieldsMap) {
	for _, responseName := range fieldsMap.seq {
		if !m.spend(1) {
			return
		}
		fields := fieldsMap.data[responseName]
		for idx, fieldA := range fields {
			for _, fieldB := range fields[idx+1:] {
				m.add(conflicts, m.findConflict(false, fieldA, fieldB))
				if m.stopped() {
					return
				}
			}
		}
	}
}

func (m *manager) collectConflictsBetween(
	conflicts *conflictMessageContainer,
	parentFieldsAreMutuallyExclusive bool,
	fieldsMapA *sequentialFieldsMap,
	fieldsMapB *sequentialFieldsMap,
) {
	for _, responseName := range fieldsMapA.seq {
		if !m.spend(1) {
			return
		}
		fieldsB, ok := fieldsMapB.Get(responseName)
		if !ok {
			continue
		}
		for _, fieldA := range fieldsMapA.data[responseName] {
			for _, fieldB := range fieldsB {
				m.add(conflicts, m.findConflict(parentFieldsAreMutuallyExclusive, fieldA, fieldB))
				if m.stopped() {
					return
				}
			}
		}
	}
}

func (m *manager) findConflict(parentFieldsAreMutuallyExclusive bool, fieldA, fieldB *ast.Field) *conflictMessage {
	if !m.spend(1) {
		return nil
	}
	if fieldA.ObjectDefinition == nil || fieldB.ObjectDefinition == nil {
		return nil
	}
	areMutuallyExclusive := parentFieldsAreMutuallyExclusive
	if !areMutuallyExclusive {
		areMutuallyExclusive = fieldA.ObjectDefinition.Name != fieldB.ObjectDefinition.Name &&
			fieldA.ObjectDefinition.Kind == ast.Object &&
			fieldB.ObjectDefinition.Kind == ast.Object &&
			fieldA.Definition != nil && fieldB.Definition != nil
	}
	fieldNameA := fieldA.Name
	if fieldA.Alias != "" {
		fieldNameA = fieldA.Alias
	}
	if !areMutuallyExclusive {
		// Two aliases must refer to the same field.
		if fieldA.Name != fieldB.Name {
			return &conflictMessage{
				ResponseName: fieldNameA,
				Message:      fmt.Sprintf(`"%s" and "%s" are different fields`, fieldA.Name, fieldB.Name),
				Position:     fieldB.Position,
			}
		}
		// Two field calls must have the same arguments.
		if !m.sameArguments(fieldA.Arguments, fieldB.Arguments) {
			return &conflictMessage{
				ResponseName: fieldNameA,
				Message:      "they have differing arguments",
				Position:     fieldB.Position,
			}
		}
	}
	if m.stopped() {
		return nil
	}
	if fieldA.Definition != nil && fieldB.Definition != nil &&
		doTypesConflict(m.walker, fieldA.Definition.Type, fieldB.Definition.Type) {
		return &conflictMessage{
			ResponseName: fieldNameA,
			Message: fmt.Sprintf(`they return conflicting types "%s" and "%s"`,
				fieldA.Definition.Type.String(), fieldB.Definition.Type.String()),
			Position: fieldB.Position,
		}
	}
	// The sub-fields, collected with one "visited fragments" memo so that
	// fields in a fragment are never compared with themselves.
	conflicts := m.findConflictsBetweenSubSelectionSets(areMutuallyExclusive, fieldA.SelectionSet, fieldB.SelectionSet)
	if conflicts == nil {
		return nil
	}
	return &conflictMessage{
		ResponseName: fieldNameA,
		SubMessage:   conflicts.Conflicts,
		Position:     fieldB.Position,
	}
}

func (m *manager) sameArguments(args1, args2 []*ast.Argument) bool {
	if len(args1) != len(args2) {
		return false
	}
	if !m.spend(len(args1) * len(args2)) {
		return true // the caller stops; the answer is not used
	}
	for _, arg1 := range args1 {
		var matched bool
		for _, arg2 := range args2 {
			if arg1.Name == arg2.Name && m.sameValue(arg1.Value, arg2.Value) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// sameValue reports whether two argument values are identical: input
// object fields in name order, list elements in the order written.
func (m *manager) sameValue(value1, value2 *ast.Value) bool {
	if value1.Kind != value2.Kind || value1.Raw != value2.Raw || len(value1.Children) != len(value2.Children) {
		return false
	}
	if !m.spend(1 + len(value1.Children)) {
		return true // the caller stops; the answer is not used
	}
	children1, children2 := value1.Children, value2.Children
	if value1.Kind == ast.ObjectValue {
		children1, children2 = childrenSortedByName(children1), childrenSortedByName(children2)
	}
	for i, child1 := range children1 {
		child2 := children2[i]
		if child1.Name != child2.Name || !m.sameValue(child1.Value, child2.Value) {
			return false
		}
	}
	return true
}

// childrenSortedByName sorts a copy: the AST is shared.
func childrenSortedByName(children ast.ChildValueList) ast.ChildValueList {
	sorted := slices.Clone(children)
	slices.SortStableFunc(sorted, func(child1, child2 *ast.ChildValue) int {
		return strings.Compare(child1.Name, child2.Name)
	})
	return sorted
}

// doTypesConflict reports whether two types could not both apply to one
// value. Composite types are compared later, field by field; list and
// non-null wrappers must match.
func doTypesConflict(walker *core.Walker, type1, type2 *ast.Type) bool {
	if type1.NonNull != type2.NonNull || (type1.Elem == nil) != (type2.Elem == nil) {
		return true
	}
	if type1.Elem != nil {
		return doTypesConflict(walker, type1.Elem, type2.Elem)
	}
	t1 := walker.Schema.Types[type1.NamedType]
	t2 := walker.Schema.Types[type2.NamedType]
	if t1.IsLeafType() || t2.IsLeafType() {
		return t1.Name != t2.Name
	}
	return false
}

// getFieldsAndFragmentNames collects a selection set's fields and fragment
// spreads once; later lookups of the same set get the same values, which
// callers only read.
func (m *manager) getFieldsAndFragmentNames(selectionSet ast.SelectionSet) (*sequentialFieldsMap, []*ast.FragmentSpread) {
	key := selectionSetKey{n: len(selectionSet)}
	if key.n > 0 {
		key.first = &selectionSet[0]
	}
	if cached, ok := m.cachedFieldsAndFragmentNames[key]; ok {
		return cached.fieldsMap, cached.fragmentSpreads
	}
	fieldsMap, fragmentSpreads, walked := collectFieldsAndFragmentNames(selectionSet)
	m.spend(walked)
	m.cachedFieldsAndFragmentNames[key] = &fieldsAndFragmentNames{fieldsMap: fieldsMap, fragmentSpreads: fragmentSpreads}
	return fieldsMap, fragmentSpreads
}

// leaf identifies a field without selections by all that the rule
// compares: two with the same leaf cannot conflict with each other, and
// conflict with a third field exactly when either does.
type leaf struct {
	responseName string
	parent       *ast.Definition
	name         string
	arguments    string
}

// collectFieldsAndFragmentNames collects the fields of a selection set and
// of its inline fragments, each alike leaf once, and the fragments it
// spreads; walked is the number of selections it looked at.
func collectFieldsAndFragmentNames(selectionSet ast.SelectionSet) (_ *sequentialFieldsMap, _ []*ast.FragmentSpread, walked int) {
	fieldsMap := sequentialFieldsMap{data: make(map[string][]*ast.Field)}
	var fragmentSpreads []*ast.FragmentSpread
	seen := map[leaf]bool{}
	var walk func(selectionSet ast.SelectionSet)
	walk = func(selectionSet ast.SelectionSet) {
		for _, selection := range selectionSet {
			walked++
			switch selection := selection.(type) {
			case *ast.Field:
				responseName := selection.Name
				if selection.Alias != "" {
					responseName = selection.Alias
				}
				if len(selection.SelectionSet) == 0 {
					l := leaf{responseName: responseName, parent: selection.ObjectDefinition, name: selection.Name}
					if len(selection.Arguments) > 0 {
						l.arguments = arguments(selection.Arguments)
					}
					if seen[l] {
						continue
					}
					seen[l] = true
				}
				fieldsMap.Push(responseName, selection)
			case *ast.InlineFragment:
				walk(selection.SelectionSet)
			case *ast.FragmentSpread:
				fragmentSpreads = append(fragmentSpreads, selection)
			}
		}
	}
	walk(selectionSet)
	return &fieldsMap, fragmentSpreads, walked
}

// arguments spells a field's arguments as written, kinds included (a
// block string is not a string to the rule): alike spellings are alike
// values, and different spellings of one value are merely compared.
func arguments(args ast.ArgumentList) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(strconv.Quote(a.Name))
		writeValue(&b, a.Value)
	}
	return b.String()
}

func writeValue(b *strings.Builder, v *ast.Value) {
	b.WriteString(strconv.Itoa(int(v.Kind)))
	b.WriteString(strconv.Quote(v.Raw))
	b.WriteByte('[')
	for _, c := range v.Children {
		b.WriteString(strconv.Quote(c.Name))
		writeValue(b, c.Value)
	}
	b.WriteByte(']')
}
