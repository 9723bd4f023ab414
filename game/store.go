package game

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Queries reads the game's state. Both the store and a transaction provide
// them; inside a transaction they see the transaction's own writes.
//
// Lookups of a single row return a NOT_FOUND *Error when there is none.
type Queries interface {
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]*User, error)
	// UserIsAdmin reports whether the admin role is stored for user id.
	UserIsAdmin(ctx context.Context, id int64) (bool, error)
	// AdminUsers lists the users with the admin role stored, by username.
	AdminUsers(ctx context.Context) ([]*User, error)

	// SessionUser returns the user of session id (NOT_FOUND when there
	// is no such session).
	SessionUser(ctx context.Context, id string) (*User, error)
	// Sessions lists the sessions of a user.
	Sessions(ctx context.Context, userID int64) ([]*Session, error)

	BullPen(ctx context.Context, id int64) (*BullPen, error)
	// BullPens lists rooms newest first: public ones and those of viewer
	// (owned or joined), optionally in one state, with ids below beforeID
	// when it is > 0. It returns at most limit rooms and the total count.
	BullPens(ctx context.Context, f BullPenFilter) ([]*BullPen, int, error)
	// LiveBullPens lists every room that is SCHEDULED, ACTIVE or PAUSED.
	LiveBullPens(ctx context.Context) ([]*BullPen, error)

	Participant(ctx context.Context, id int64) (*Participant, error)
	ParticipantByUser(ctx context.Context, bullPenID, userID int64) (*Participant, error)
	Participants(ctx context.Context, bullPenID int64) ([]*Participant, error)
	ParticipantCount(ctx context.Context, bullPenID int64) (int, error)

	Positions(ctx context.Context, participantID int64) ([]*Position, error)
	PositionsByRoom(ctx context.Context, bullPenID int64) ([]*Position, error)

	Order(ctx context.Context, id int64) (*Order, error)
	OrderByClientID(ctx context.Context, participantID int64, clientOrderID string) (*Order, error)
	// Orders lists orders newest first with the filter, and the total count.
	Orders(ctx context.Context, f OrderFilter) ([]*Order, int, error)
	// Fills lists an order's fills, oldest first.
	Fills(ctx context.Context, orderID int64) ([]Fill, error)
	// FillsOf lists the fills of orders, oldest first, by order.
	FillsOf(ctx context.Context, orderIDs []int64) (map[int64][]Fill, error)
	// OpenOrders lists a participant's working (OPEN and PARTIALLY_FILLED)
	// orders.
	OpenOrders(ctx context.Context, participantID int64) ([]*Order, error)
	// OpenOrdersBySymbol lists OPEN orders on symbol in ACTIVE rooms,
	// by room, then oldest first (the order rooms are locked in).
	OpenOrdersBySymbol(ctx context.Context, symbol string) ([]*Order, error)
	// MarginedShorts lists the participants short in symbol in ACTIVE
	// rooms that have a maintenance margin, by room, then id (the order
	// rooms are locked in).
	MarginedShorts(ctx context.Context, symbol string) ([]*Participant, error)
	// OpenOrdersByRoom lists every OPEN order of a room.
	OpenOrdersByRoom(ctx context.Context, bullPenID int64) ([]*Order, error)
	// CountOrdersSince counts a participant's orders created after since,
	// except those rejected with ORDER_RATE_LIMIT.
	CountOrdersSince(ctx context.Context, participantID int64, since time.Time) (int, error)
	// DueOrders lists OPEN orders whose ExpiresAt is at or before at,
	// soonest first, at most limit.
	DueOrders(ctx context.Context, at time.Time, limit int) ([]*Order, error)
	// NextExpiry is the earliest ExpiresAt of an OPEN order, or zero.
	NextExpiry(ctx context.Context) (time.Time, error)
	// LastAccrual is the latest 00:00 UTC whose carrying costs the room
	// has booked (see ClaimAccrual), or zero.
	LastAccrual(ctx context.Context, bullPenID int64) (time.Time, error)

	// Ledger lists a participant's ledger entries with id > afterID,
	// oldest first, at most limit, and how many entries they have in all.
	Ledger(ctx context.Context, participantID, afterID int64, limit int) ([]*LedgerEntry, int, error)

	LatestSnapshot(ctx context.Context, bullPenID int64) (*LeaderboardSnapshot, error)
	// LatestSnapshotID is the id of the room's newest snapshot, 0 when it
	// has none; it reads no entries.
	LatestSnapshotID(ctx context.Context, bullPenID int64) (int64, error)
	Snapshots(ctx context.Context, bullPenID int64, limit int) ([]*LeaderboardSnapshot, error)
	// Tracks lists the running aggregates of a room's participants that
	// have any (see Track); Track reads one participant's (NOT_FOUND when
	// it has none yet).
	Tracks(ctx context.Context, bullPenID int64) ([]*Track, error)
	Track(ctx context.Context, participantID int64) (*Track, error)
	// EquityHistory lists a participant's portfolio value in each stored
	// snapshot taken within [from, to] (nil: unbounded), oldest first.
	EquityHistory(ctx context.Context, participantID int64, from, to *time.Time) ([]EquityPoint, error)

	Quote(ctx context.Context, symbol string) (*Quote, error)
	Quotes(ctx context.Context) ([]*Quote, error)

	// Events returns the room's events with sequence > after, oldest first,
	// at most limit.
	Events(ctx context.Context, bullPenID, after int64, limit int) ([]*Event, error)

	Setting(ctx context.Context, key string) (string, error)

	// CorporateAction reads one announced corporate action.
	CorporateAction(ctx context.Context, id int64) (*CorporateAction, error)
	// CorporateActions lists corporate actions oldest first (by id), of
	// f.Symbol when set, with id > f.AfterID, at most f.Limit, and how
	// many match in all.
	CorporateActions(ctx context.Context, f CorporateActionFilter) ([]*CorporateAction, int, error)
	// DueCorporateActions lists the corporate actions with a stage due at
	// at: not yet applied with ExDate <= at, or dividends applied and not
	// yet paid with PayDate <= at; soonest first, at most limit.
	DueCorporateActions(ctx context.Context, at time.Time, limit int) ([]*CorporateAction, error)
	// NextCorporateAction is the earliest time a stage not yet done
	// comes due (an ExDate, or a PayDate of a dividend not yet paid), or
	// zero.
	NextCorporateAction(ctx context.Context) (time.Time, error)
	// AppliedSplits lists every split applied so far, oldest first (a
	// price feed with prices of its own rescales them by these).
	AppliedSplits(ctx context.Context) ([]*CorporateAction, error)
	// RoomsHolding lists the ids of the ACTIVE and PAUSED rooms where a
	// participant holds a position (long or short) in symbol, ascending.
	RoomsHolding(ctx context.Context, symbol string) ([]int64, error)
	// DividendEntitlements lists a dividend's holders of record, by room,
	// then participant (the order rooms are locked in).
	DividendEntitlements(ctx context.Context, actionID int64) ([]*DividendEntitlement, error)
	// League reads a league (NOT_FOUND when there is none); LeagueRooms
	// lists its rooms by id.
	League(ctx context.Context, id int64) (*League, error)
	LeagueRooms(ctx context.Context, leagueID int64) ([]*BullPen, error)
	// RoomAddresses lists the address sightings (hashed) of the accounts
	// of a room's participants, by address hash, then user.
	RoomAddresses(ctx context.Context, bullPenID int64) ([]AddressSighting, error)
	// Assignments lists a room's assignments in the order they were
	// given (none: empty).
	Assignments(ctx context.Context, bullPenID int64) ([]Assignment, error)
	// OrderTallies counts a room's orders by participant and type: how
	// many are FILLED and how many carry a note; of one participant, or of
	// all when participantID is 0. Participants without orders are left
	// out.
	OrderTallies(ctx context.Context, bullPenID, participantID int64) ([]OrderTally, error)
	// FillSteps lists the fills of a room's orders in the order they were
	// made (by fill id), of one participant or of all (participantID 0).
	FillSteps(ctx context.Context, bullPenID, participantID int64) ([]FillStep, error)
	// Teams lists a room's teams by id (the order they were made), each
	// with its MemberIDs in the order they joined; Team reads one so
	// (NOT_FOUND when there is none).
	Teams(ctx context.Context, bullPenID int64) ([]*Team, error)
	Team(ctx context.Context, id int64) (*Team, error)
}

// Tx is one write transaction. Every row it writes carries Now().
type Tx interface {
	Queries
	Now() time.Time

	// LockBullPen reads a room and holds it for this transaction: writers
	// of one room serialise here.
	LockBullPen(ctx context.Context, id int64) (*BullPen, error)
	// LockSymbol holds symbol until the transaction ends, exclusively for
	// a price change, shared for an order that may come to rest. Take it
	// before any room: a price and the orders it crosses are decided in
	// one serial order, so no order rests under a price that crosses it.
	// A lock the transaction holds already is not taken again.
	LockSymbol(ctx context.Context, symbol string, exclusive bool) error
	// Savepoint runs fn so that, when fn fails, its writes are undone and
	// the transaction continues as it was before fn.
	Savepoint(ctx context.Context, fn func() error) error

	InsertUser(ctx context.Context, u *User) error
	// SetAdmin stores whether user id holds the admin role.
	SetAdmin(ctx context.Context, id int64, admin bool) error

	InsertSession(ctx context.Context, s *Session) error
	// RecordAddress records that user userID was seen now at the client
	// address whose hash is addressHash: signing up (signUp) or starting
	// a session (one more session there). One row per account and hash.
	RecordAddress(ctx context.Context, userID int64, addressHash string, signUp bool) error
	// ExtendSession sets the expiry of session id of user; it reports
	// false when there is no such session.
	ExtendSession(ctx context.Context, id string, userID int64, expiresAt time.Time) (bool, error)
	// DeleteSessions deletes the sessions of user userID with the given
	// ids, or every one of them when ids is nil, and reports how many went.
	// Other instances hear of it (see db.Listener.Sessions).
	DeleteSessions(ctx context.Context, userID int64, ids []string) (int, error)
	InsertBullPen(ctx context.Context, b *BullPen) error
	// InsertLeague stores a league and sets its ID. LockLeague reads a
	// league and holds it for this transaction: additions to one league
	// serialise there. AddLeagueRoom puts a room in a league (once: a
	// second time changes nothing).
	InsertLeague(ctx context.Context, l *League) error
	LockLeague(ctx context.Context, id int64) (*League, error)
	AddLeagueRoom(ctx context.Context, leagueID, bullPenID int64) error
	// InsertAssignments stores a new room's assignments in their order.
	InsertAssignments(ctx context.Context, bullPenID int64, as []Assignment) error
	// InsertTeam stores a team (no members yet) and sets its ID;
	// AddTeamMember puts a participant in a team, stamped Now() (CONFLICT
	// when they are in a team already).
	InsertTeam(ctx context.Context, t *Team) error
	AddTeamMember(ctx context.Context, teamID, participantID int64) error
	// MoveBullPen sets the room's state to `to` only if it is `from`, and its
	// times; it reports whether the row moved.
	MoveBullPen(ctx context.Context, id int64, from, to RoomState, startsAt, endsAt time.Time) (bool, error)
	InsertParticipant(ctx context.Context, p *Participant) error
	SetCash(ctx context.Context, participantID int64, cash decimal.Decimal) error
	// RemoveParticipant ends a seat (removedAt, removedReason); false when
	// it was ended already.
	RemoveParticipant(ctx context.Context, participantID int64, at time.Time, reason string) (bool, error)
	// ClaimAccrual records that the room's carrying costs due at dueAt
	// (a 00:00 UTC) are booked in this transaction, unless a record is
	// there already; it reports whether it recorded one. The record's
	// key makes the claim once across reruns and instances.
	ClaimAccrual(ctx context.Context, bullPenID int64, dueAt time.Time) (bool, error)
	SavePosition(ctx context.Context, p *Position) error
	InsertOrder(ctx context.Context, o *Order) error
	UpdateOrder(ctx context.Context, o *Order) error
	// InsertFill stores a fill and sets its ID.
	InsertFill(ctx context.Context, f *Fill) error
	// InsertLedger stores ledger entries, in order, in one statement
	// where it can; it does not set their ids.
	InsertLedger(ctx context.Context, entries []*LedgerEntry) error
	// InsertSnapshot stores a complete snapshot with its entries.
	InsertSnapshot(ctx context.Context, s *LeaderboardSnapshot) error
	// BeginSnapshot stores s's row, without its entries, as not yet
	// complete (no reader sees it), and sets s.ID. InsertSnapshotEntries
	// adds entries to it, CompleteSnapshot shows it (false: it is gone,
	// or complete already), and DiscardSnapshots deletes a room's
	// incomplete snapshots, with their entries, that were taken before
	// takenBefore or have the given id, and counts them.
	BeginSnapshot(ctx context.Context, s *LeaderboardSnapshot) error
	InsertSnapshotEntries(ctx context.Context, snapshotID int64, entries []LeaderboardEntry) error
	CompleteSnapshot(ctx context.Context, id int64) (bool, error)
	DiscardSnapshots(ctx context.Context, bullPenID int64, takenBefore time.Time, id int64) (int, error)
	// SaveTracks stores the history aggregates of a snapshot (Observed
	// to MaxDrawdownPercent), leaving the fill counts as they are.
	SaveTracks(ctx context.Context, tracks []Track) error
	// RecordFill counts a fill of participantID: one more fill, and one
	// more closing fill and win when it closed shares and when that made
	// a profit.
	RecordFill(ctx context.Context, participantID int64, closing, win bool) error
	SaveQuote(ctx context.Context, q *Quote) error
	SetSetting(ctx context.Context, key, value string) error
	// InitSetting stores value under key unless the key has one already.
	InitSetting(ctx context.Context, key, value string) error
	// AppendEvent numbers the event with the room's next sequence and
	// stores it. payload is marshalled to JSON (a json.RawMessage is stored
	// as it is).
	AppendEvent(ctx context.Context, bullPenID int64, kind EventKind, participantID *int64, payload any) (*Event, error)

	// InsertCorporateAction stores a new corporate action and sets its ID.
	InsertCorporateAction(ctx context.Context, a *CorporateAction) error
	// ClaimCorporateAction marks a stage of action id done at the
	// transaction's time, only if it is not done yet and due (its ExDate,
	// or for the pay stage its PayDate, at or before now, and the record
	// stage done): it reports whether this transaction claimed it. The
	// effects of the stage go in the same transaction.
	ClaimCorporateAction(ctx context.Context, id int64, stage ActionStage) (bool, error)
	// InsertDividendEntitlements stores a dividend's holders of record.
	InsertDividendEntitlements(ctx context.Context, es []*DividendEntitlement) error
	// AdjustOrder stores a resting order's quantities, prices, trail and
	// hold as a split changed them (UpdateOrder leaves the quantity,
	// limit price and trail amount as placed).
	AdjustOrder(ctx context.Context, o *Order) error
}

// Store is the game's storage. It only reads: every write goes through
// the Tx of Update or Apply, where the store serialises writers, keeps its
// caches and announces the commit.
type Store interface {
	Queries
	// Update runs fn in one write transaction and commits it when fn
	// returns nil. Events appended in it are announced only after commit.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Apply makes c in a write transaction that concurrent changes may
	// share (group commit: one commit, one sync for all of them) and
	// returns once it has committed. Each change keeps its own outcome:
	// when c.Run fails, its writes and events are undone (a savepoint)
	// and its error returned, while the others commit. Events appended
	// by c are announced only after commit.
	//
	// c.Run may run more than once: when the shared transaction fails
	// before it commits (a deadlock, a serialization failure, a lost
	// connection), every change in it is run again in a transaction of
	// its own. A caller whose ctx ends while c waits for its turn gets
	// ctx's error and c does not run; once c runs, it runs to the end.
	Apply(ctx context.Context, c Change) error
	// Read runs fn on one consistent snapshot: every read in it sees the
	// same committed state.
	Read(ctx context.Context, fn func(q Queries) error) error
}

// Change is one write that may share its transaction with others; see
// Store.Apply.
type Change struct {
	// Symbols and Rooms name what Run locks (tx.LockSymbol, shared, and
	// tx.LockBullPen). The store takes them first, for every change of
	// the transaction, in the one order all writers use (symbols before
	// rooms, rooms by id), so changes batched together never deadlock
	// with each other or with other writers. Run must lock nothing else.
	Symbols []string
	Rooms   []int64
	// Run makes the change in tx with ctx, which the store gives it and
	// which no other caller's cancellation reaches. It may run more than
	// once, so it sets whatever it reports afresh each time.
	Run func(ctx context.Context, tx Tx) error
}

// BullPenFilter selects rooms for BullPens.
type BullPenFilter struct {
	ViewerID int64 // 0 for anonymous
	State    *RoomState
	BeforeID int64
	Limit    int
}

// CorporateActionFilter selects corporate actions for CorporateActions.
type CorporateActionFilter struct {
	Symbol  string // "": every symbol
	AfterID int64
	Limit   int
}

// OrderFilter selects orders for Orders.
type OrderFilter struct {
	BullPenID     int64
	ParticipantID int64 // 0: every participant
	Status        *OrderStatus
	Filled        bool // only orders with a fill
	BeforeID      int64
	Limit         int
}
