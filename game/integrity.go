package game

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The integrity report (issue 20, part 5): what in a room's log looks
// like cheating, for its owner to check. It is computed from what is
// stored each time the owner reads it and never acts: nobody is blocked,
// warned or changed by it.
//
//   - SHARED_ADDRESS: participants whose accounts signed up or signed in
//     from one client address. Addresses are stored hashed
//     (HMAC-SHA256 keyed with Config.AddressKey), with the account
//     (AddressSighting) and the session; the report compares hashes and
//     never shows one. Score: how many of the room's accounts share it.
//   - MIRRORED_TRADING: two participants whose fills on one symbol, on
//     opposite sides, within MirrorWindow of each other, pair up at least
//     MinMirroredPairs times and make at least MinMirroredShare of their
//     fills (the several-entries-betting-both-ways cheat). Each fill is in
//     at most one pair of the two. Score: the share of their fills that
//     mirror, 2 x pairs / (the two's fills), rounded half-even to 4
//     places.
//   - STALE_PRICE_TRADING: a participant's orders that filled against a
//     quote older than the room's maxQuoteAgeSeconds, or StaleQuoteAge
//     when the room sets none (age: the fill's time less the quote's, as
//     stored with the fill). Score: the share of their priced orders (with
//     a fill priced against a quote) that did, rounded half-even to 4
//     places.

// IntegrityFlagKind names what a flag found.
type IntegrityFlagKind string

// The kinds of flag, in the order the report lists them.
const (
	FlagSharedAddress     IntegrityFlagKind = "SHARED_ADDRESS"
	FlagMirroredTrading   IntegrityFlagKind = "MIRRORED_TRADING"
	FlagStalePriceTrading IntegrityFlagKind = "STALE_PRICE_TRADING"
)

var flagOrder = map[IntegrityFlagKind]int{FlagSharedAddress: 0, FlagMirroredTrading: 1, FlagStalePriceTrading: 2}

// Thresholds of the report.
const (
	// MirrorWindow: two fills mirror when at most this far apart.
	MirrorWindow = 5 * time.Second
	// MinMirroredPairs: fewer mirrored pairs than this are not flagged.
	MinMirroredPairs = 3
	// StaleQuoteAge is the oldest a quote may be, in a room that sets no
	// maxQuoteAgeSeconds, before a fill against it is stale.
	StaleQuoteAge = 60 * time.Second
	// MaxEvidenceItems bounds the pairs or orders an evidence string
	// lists; it says how many there are in all (integrity.csv lists all).
	MaxEvidenceItems = 20
)

// MinMirroredShare: a pair of participants whose mirrored fills are a
// smaller share of their fills is not flagged (a busy symbol pairs
// independent traders by chance now and then; see docs/competitions.md).
var MinMirroredShare = decimal.RequireFromString("0.25")

// IntegrityReport is what the room's log shows, as of GeneratedAt.
type IntegrityReport struct {
	GeneratedAt time.Time
	Flags       []*IntegrityFlag
}

// IntegrityFlag is one finding: who, how strongly (Score, see the kinds
// above) and the evidence a person can check.
type IntegrityFlag struct {
	Kind         IntegrityFlagKind
	Participants []*Participant
	Score        decimal.Decimal
	// Evidence says what was found, with order ids and times, at most
	// MaxEvidenceItems of them.
	Evidence string
	// Lines are every piece of evidence, one line each (integrity.csv).
	Lines []EvidenceLine
}

// EvidenceLine is one piece of a flag's evidence about one participant:
// a fill (OrderID, At its time) or an account's use of an address
// (OrderID 0, At when it was first seen there).
type EvidenceLine struct {
	ParticipantID int64
	OrderID       int64 // 0: none
	At            time.Time
	Detail        string
}

// AddressSighting is one account seen at one client address, hashed: when
// it signed up there (nil: it did not), the first and last time it was
// seen there, and how many sessions started there.
type AddressSighting struct {
	UserID      int64      `db:"user_id"`
	AddressHash string     `db:"address_hash"`
	SignedUpAt  *time.Time `db:"signed_up_at"`
	FirstAt     time.Time  `db:"first_at"`
	LastAt      time.Time  `db:"last_at"`
	Sessions    int        `db:"sessions"`
}

// addressHash is the client address ctx carries, hashed with the
// service's address key: "" without an address or a key (nothing is
// stored then).
func (s *Service) addressHash(ctx context.Context) string {
	addr := ClientAddress(ctx)
	if addr == "" || len(s.addressKey) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, s.addressKey)
	m.Write([]byte(addr))
	return hex.EncodeToString(m.Sum(nil))
}

// recordAddress stores, in tx, that userID was seen at the client address
// ctx carries (signing up, or starting a session); nothing without one.
func (s *Service) recordAddress(ctx context.Context, tx Tx, userID int64, hash string, signUp bool) error {
	if hash == "" {
		return nil
	}
	return tx.RecordAddress(ctx, userID, hash, signUp)
}

// IntegrityReport is the room's integrity report for its owner; anyone
// else gets NOT_FOUND, the error of a room that does not exist (as
// integrity.csv's 404), so the report's existence says nothing.
func (v *View) IntegrityReport(ctx context.Context) (*IntegrityReport, error) {
	if !v.Viewer.Owner {
		return nil, v.NotFound()
	}
	now := v.s.clock.Now()
	ps, err := v.s.store.Participants(ctx, v.Room.ID)
	if err != nil {
		return nil, err
	}
	seats := make(map[int64]*Participant, len(ps))
	byUser := make(map[int64]*Participant, len(ps))
	names := make(map[int64]string, len(ps))
	for _, p := range ps {
		seats[p.ID], byUser[p.UserID] = p, p
		u, err := v.s.User(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		names[p.ID] = u.Username
	}
	sightings, err := v.s.store.RoomAddresses(ctx, v.Room.ID)
	if err != nil {
		return nil, err
	}
	trades, err := v.Trades(ctx) // the owner's: every fill
	if err != nil {
		return nil, err
	}
	in := integrityInput{room: v.Room, seats: seats, byUser: byUser, names: names, sightings: sightings, trades: trades}
	return &IntegrityReport{GeneratedAt: now, Flags: in.flags()}, nil
}

// NotFound is the error of a room this view's viewer may not see: the
// same as for a room that does not exist (for what only the owner may
// read, over plain HTTP).
func (v *View) NotFound() error { return roomNotFound(v.Room.ID) }

type integrityInput struct {
	room      *BullPen
	seats     map[int64]*Participant // by participant id
	byUser    map[int64]*Participant // by user id
	names     map[int64]string       // usernames by participant id
	sightings []AddressSighting
	trades    []Trade // oldest fill first
}

func (in *integrityInput) flags() []*IntegrityFlag {
	flags := slices.Concat(in.sharedAddresses(), in.mirrored(), in.stale())
	slices.SortStableFunc(flags, func(a, b *IntegrityFlag) int {
		if c := cmp.Compare(flagOrder[a.Kind], flagOrder[b.Kind]); c != 0 {
			return c
		}
		if c := b.Score.Cmp(a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Participants[0].ID, b.Participants[0].ID)
	})
	if flags == nil {
		flags = []*IntegrityFlag{}
	}
	return flags
}

// participants lists the seats of ids, by id.
func (in *integrityInput) participants(ids []int64) []*Participant {
	slices.Sort(ids)
	out := make([]*Participant, len(ids))
	for i, id := range ids {
		out[i] = in.seats[id]
	}
	return out
}

// nameList writes usernames as "a, b and c".
func nameList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// capped joins items, at most MaxEvidenceItems, saying how many more.
func capped(items []string, what string) string {
	s := strings.Join(items[:min(len(items), MaxEvidenceItems)], "; ")
	if n := len(items) - MaxEvidenceItems; n > 0 {
		s += fmt.Sprintf("; and %d more %s (integrity.csv lists all)", n, what)
	}
	return s
}

// share is part/whole rounded half-even to 4 places.
func share(part, whole int) decimal.Decimal {
	return divRoundHalfEven(decimal.NewFromInt(int64(part)), decimal.NewFromInt(int64(whole)), 4)
}

// sharedAddresses flags each set of two or more of the room's accounts
// seen at one address hash; sets seen at several addresses are one flag.
func (in *integrityInput) sharedAddresses() []*IntegrityFlag {
	byHash := map[string][]AddressSighting{}
	var hashes []string
	for _, s := range in.sightings {
		if in.byUser[s.UserID] == nil {
			continue
		}
		if byHash[s.AddressHash] == nil {
			hashes = append(hashes, s.AddressHash)
		}
		byHash[s.AddressHash] = append(byHash[s.AddressHash], s)
	}
	// Groups by their set of participants, in the order first seen (by
	// the earliest sighting, so the report does not follow hash order).
	type group struct {
		ids   []int64
		addrs [][]AddressSighting
		first time.Time
	}
	groups := map[string]*group{}
	var keys []string
	for _, h := range hashes {
		ss := byHash[h]
		if len(ss) < 2 {
			continue
		}
		slices.SortFunc(ss, func(a, b AddressSighting) int { return cmp.Compare(in.byUser[a.UserID].ID, in.byUser[b.UserID].ID) })
		var ids []string
		var pids []int64
		first := ss[0].FirstAt
		for _, s := range ss {
			pid := in.byUser[s.UserID].ID
			ids, pids = append(ids, strconv.FormatInt(pid, 10)), append(pids, pid)
			if s.FirstAt.Before(first) {
				first = s.FirstAt
			}
		}
		key := strings.Join(ids, ",")
		g := groups[key]
		if g == nil {
			g = &group{ids: pids, first: first}
			groups[key] = g
			keys = append(keys, key)
		}
		g.addrs = append(g.addrs, ss)
		if first.Before(g.first) {
			g.first = first
		}
	}
	var out []*IntegrityFlag
	for _, key := range keys {
		g := groups[key]
		slices.SortFunc(g.addrs, func(a, b []AddressSighting) int { return earliest(a).Compare(earliest(b)) })
		var names []string
		for _, id := range g.ids {
			names = append(names, in.names[id])
		}
		f := &IntegrityFlag{Kind: FlagSharedAddress, Participants: in.participants(g.ids), Score: decimal.NewFromInt(int64(len(g.ids)))}
		var parts []string
		for i, ss := range g.addrs {
			var seen []string
			for _, s := range ss {
				pid := in.byUser[s.UserID].ID
				d := sightingText(s)
				seen = append(seen, in.names[pid]+" "+d)
				f.Lines = append(f.Lines, EvidenceLine{ParticipantID: pid, At: s.FirstAt, Detail: fmt.Sprintf("address %d: %s", i+1, d)})
			}
			parts = append(parts, fmt.Sprintf("address %d: %s", i+1, strings.Join(seen, "; ")))
		}
		where := "one client address"
		if len(g.addrs) > 1 {
			where = fmt.Sprintf("each of %d client addresses", len(g.addrs))
		}
		f.Evidence = fmt.Sprintf("%s signed up or signed in from %s (the address is stored hashed, never shown). %s",
			nameList(names), where, capped(parts, "addresses"))
		out = append(out, f)
	}
	return out
}

func earliest(ss []AddressSighting) time.Time {
	t := ss[0].FirstAt
	for _, s := range ss[1:] {
		if s.FirstAt.Before(t) {
			t = s.FirstAt
		}
	}
	return t
}

// sightingText says when an account was seen at an address.
func sightingText(s AddressSighting) string {
	var b strings.Builder
	if s.SignedUpAt != nil {
		fmt.Fprintf(&b, "signed up at %s", stamp(*s.SignedUpAt))
		if s.Sessions > 0 {
			b.WriteString(", ")
		}
	}
	if s.Sessions > 0 {
		fmt.Fprintf(&b, "sessions started there: %d, from %s to %s", s.Sessions, stamp(s.FirstAt), stamp(s.LastAt))
	}
	return b.String()
}

// fillOf is one fill of the room, as the mirror check reads it.
type fillOf struct {
	pid    int64
	symbol string
	side   Side
	order  int64
	id     int64
	at     time.Time
	qty    int64
}

// mirrored flags the pairs of participants whose fills mirror (see the
// package comment above).
func (in *integrityInput) mirrored() []*IntegrityFlag {
	count := map[int64]int{}
	bySymbol := map[string][]fillOf{}
	for _, t := range in.trades {
		f := fillOf{pid: t.Order.ParticipantID, symbol: t.Order.Symbol, side: t.Order.Side, order: t.Order.ID, id: t.Fill.ID, at: t.Fill.At, qty: t.Fill.Quantity}
		count[f.pid]++
		bySymbol[f.symbol] = append(bySymbol[f.symbol], f)
	}
	type pairKey struct{ a, b int64 } // participant ids, a < b
	type match struct{ x, y fillOf }  // x is a's fill, y b's
	candidates := map[pairKey][]match{}
	var keys []pairKey
	symbols := make([]string, 0, len(bySymbol))
	for s := range bySymbol {
		symbols = append(symbols, s)
	}
	slices.Sort(symbols)
	for _, s := range symbols {
		fs := bySymbol[s]
		slices.SortFunc(fs, func(a, b fillOf) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		for i, x := range fs {
			for _, y := range fs[i+1:] {
				if y.at.Sub(x.at) > MirrorWindow {
					break
				}
				if x.pid == y.pid || x.side == y.side {
					continue
				}
				k, m := pairKey{x.pid, y.pid}, match{x, y}
				if k.a > k.b {
					k, m = pairKey{y.pid, x.pid}, match{y, x}
				}
				if candidates[k] == nil {
					keys = append(keys, k)
				}
				candidates[k] = append(candidates[k], m)
			}
		}
	}
	var out []*IntegrityFlag
	for _, k := range keys {
		// Each fill in at most one pair of the two: the earliest first.
		ms := candidates[k]
		slices.SortStableFunc(ms, func(a, b match) int {
			return minTime(a.x.at, a.y.at).Compare(minTime(b.x.at, b.y.at))
		})
		used := map[int64]bool{}
		var pairs []match
		for _, m := range ms {
			if used[m.x.id] || used[m.y.id] {
				continue
			}
			used[m.x.id], used[m.y.id] = true, true
			pairs = append(pairs, m)
		}
		total := count[k.a] + count[k.b]
		score := share(2*len(pairs), total)
		if len(pairs) < MinMirroredPairs || score.LessThan(MinMirroredShare) {
			continue
		}
		na, nb := in.names[k.a], in.names[k.b]
		f := &IntegrityFlag{Kind: FlagMirroredTrading, Participants: in.participants([]int64{k.a, k.b}), Score: score}
		var items []string
		for i, m := range pairs {
			apart := m.y.at.Sub(m.x.at).Abs()
			items = append(items, fmt.Sprintf("%s %s %s %d order %d at %s / %s %s %d order %d at %s (%s apart)",
				m.x.symbol, na, m.x.side, m.x.qty, m.x.order, stamp(m.x.at), nb, m.y.side, m.y.qty, m.y.order, stamp(m.y.at), apart))
			for _, side := range [2]struct {
				f     fillOf
				other string
				o     fillOf
			}{{m.x, nb, m.y}, {m.y, na, m.x}} {
				f.Lines = append(f.Lines, EvidenceLine{ParticipantID: side.f.pid, OrderID: side.f.order, At: side.f.at,
					Detail: fmt.Sprintf("pair %d: %s %s %d mirrored by %s's %s %d, order %d at %s (%s apart)",
						i+1, side.f.side, side.f.symbol, side.f.qty, side.other, side.o.side, side.o.qty, side.o.order, stamp(side.o.at), apart)})
			}
		}
		f.Evidence = fmt.Sprintf("%s and %s: %d of their %d fills mirror (%d pairs on one symbol, opposite sides, within %s): %s",
			na, nb, 2*len(pairs), total, len(pairs), MirrorWindow, capped(items, "pairs"))
		out = append(out, f)
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// stale flags each participant with an order filled against a quote
// older than the room allows (see the package comment above).
func (in *integrityInput) stale() []*IntegrityFlag {
	limit, rule := StaleQuoteAge, fmt.Sprintf("%d s (the room sets no maxQuoteAgeSeconds)", int(StaleQuoteAge/time.Second))
	if n := in.room.MaxQuoteAgeSeconds; n != nil {
		limit, rule = time.Duration(*n)*time.Second, fmt.Sprintf("the room's maxQuoteAgeSeconds, %d s", *n)
	}
	priced := map[int64]map[int64]bool{} // participant -> orders with a priced fill
	staleOrders := map[int64]map[int64]bool{}
	type staleFill struct {
		t   Trade
		age time.Duration
	}
	fills := map[int64][]staleFill{}
	var pids []int64
	for _, t := range in.trades {
		if t.Fill.QuoteAt == nil {
			continue // a forced fill, or one stored before quotes were
		}
		pid := t.Order.ParticipantID
		if priced[pid] == nil {
			priced[pid], staleOrders[pid] = map[int64]bool{}, map[int64]bool{}
		}
		priced[pid][t.Order.ID] = true
		if age := t.Fill.At.Sub(*t.Fill.QuoteAt); age > limit {
			if len(fills[pid]) == 0 {
				pids = append(pids, pid)
			}
			staleOrders[pid][t.Order.ID] = true
			fills[pid] = append(fills[pid], staleFill{t, age})
		}
	}
	var out []*IntegrityFlag
	for _, pid := range pids {
		f := &IntegrityFlag{Kind: FlagStalePriceTrading, Participants: in.participants([]int64{pid}),
			Score: share(len(staleOrders[pid]), len(priced[pid]))}
		var items []string
		for _, sf := range fills[pid] {
			o, fl := sf.t.Order, sf.t.Fill
			d := fmt.Sprintf("%s %s %d at %s filled at %s against a quote from %s, %s old",
				o.Side, o.Symbol, fl.Quantity, fl.Price.String(), stamp(fl.At), stamp(*fl.QuoteAt), sf.age.Truncate(time.Millisecond))
			items = append(items, fmt.Sprintf("order %d %s", o.ID, d))
			f.Lines = append(f.Lines, EvidenceLine{ParticipantID: pid, OrderID: o.ID, At: fl.At, Detail: d})
		}
		f.Evidence = fmt.Sprintf("%s: %d of %d priced orders filled against a quote older than %s: %s",
			in.names[pid], len(staleOrders[pid]), len(priced[pid]), rule, capped(items, "fills"))
		out = append(out, f)
	}
	return out
}
