package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// The authorization matrix: every operation and revealing field, for every
// role, in every kind of room, against the rule set (docs/api.md "Who sees what", game/visibility.go).
//
// Roles: anonymous (no token), outsider (signed in, not joined, not owner),
// participant P1 and other participant P2 (joined), owner (created the
// room, not joined), admin (signed in, granted the role with `bullpen admin grant`, not joined, not owner; no
// extra read rights).
//
// Room kinds: a PUBLIC room with PRIVATE trades, a PUBLIC room with PUBLIC
// trades, a PRIVATE room (PRIVATE trades).
//
//	sees(room)  = room.visibility == PUBLIC || owner || member
//	trades(pid) = owner || (member && (self == pid || room.tradeVisibility == PUBLIC))
//
// Each row of the tables below names an operation (or revealing field),
// spells out the expected outcome of each cell, and says how to check it;
// rule restates the rule set (docs/api.md "Who sees what"), and TestAuthzMatrixTable checks that
// every spelled-out cell is what the rule gives. Every cell is its own
// subtest: TestAuthzMatrix/<engine>/<row>/<room kind>/<role>; bad tokens
// are TestAuthzMatrix/<engine>/BadToken/<token>/<transport or operation>.
//
// Run: go test -run 'TestAuthzMatrix' . (PostgreSQL from
// BULLPEN_TEST_POSTGRES or 127.0.0.1:5432; it skips without one unless
// BULLPEN_REQUIRE_POSTGRES=1).
//
// Expected events come from the store's raw log, filtered by the rules
// here, never from the read side under test. Live subscriptions are
// opened one at a time, each until the server refused it or the hub
// counts one more subscriber, before the events that they should (or
// should not) receive are caused.

type role int

const (
	roleAnonymous role = iota
	roleOutsider
	roleP1 // participant
	roleP2 // other participant
	roleOwner
	roleAdmin
)

var allRoles = []role{roleAnonymous, roleOutsider, roleP1, roleP2, roleOwner, roleAdmin}

func (r role) String() string {
	return [...]string{"anonymous", "outsider", "participant", "otherParticipant", "owner", "admin"}[r]
}

func (r role) member() bool { return r == roleP1 || r == roleP2 }

// username is who plays the role ("" for anonymous).
func (r role) username() string {
	return [...]string{"", "outsider", "player1", "player2", "owner", "admin"}[r]
}

type roomKind int

const (
	kindPublic       roomKind = iota // PUBLIC room, PRIVATE trades
	kindPublicTrades                 // PUBLIC room, PUBLIC trades
	kindPrivate                      // PRIVATE room, PRIVATE trades
)

var allKinds = []roomKind{kindPublic, kindPublicTrades, kindPrivate}

func (k roomKind) String() string {
	return [...]string{"PublicRoomPrivateTrades", "PublicRoomPublicTrades", "PrivateRoom"}[k]
}

func (k roomKind) visibility() string {
	if k == kindPrivate {
		return "PRIVATE"
	}
	return "PUBLIC"
}

func (k roomKind) tradeVisibility() string {
	if k == kindPublicTrades {
		return "PUBLIC"
	}
	return "PRIVATE"
}

// The rules, as docs/api.md "Who sees what" states them.

func sees(k roomKind, r role) bool { return k != kindPrivate || r == roleOwner || r.member() }

func seesTrades(k roomKind, r, of role) bool {
	return r == roleOwner || (r.member() && (r == of || k == kindPublicTrades))
}

// tradeSet names the participants whose trades r sees: "p1 p2", "p1", "p2" or "-".
func tradeSet(k roomKind, r role) string {
	var s []string
	if seesTrades(k, r, roleP1) {
		s = append(s, "p1")
	}
	if seesTrades(k, r, roleP2) {
		s = append(s, "p2")
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

// eventSet names the events r may receive: room state, leaderboard, and
// the trades of tradeSet.
func eventSet(k roomKind, r role) string {
	if t := tradeSet(k, r); t != "-" {
		return "state board " + t
	}
	return "state board"
}

// Cell outcomes. Besides these, a cell is an error code (the operation
// fails with exactly that extensions.code), or a set of event classes
// ("state" room-state events, "board" leaderboard events, "p1"/"p2" order
// and position events of P1/P2; "-" none) for streams, or a set of
// participants ("p1 p2", "p1", "p2", "-") whose data shows.
const (
	object    = "object"    // a non-null value
	null      = "null"      // null, no error
	shown     = "shown"     // the room is visible and the field holds the room's exact value
	hidden    = "hidden"    // bullPen(id) is null: nothing of the room shows
	invite    = "invite"    // the room's invite code
	self      = "self"      // the caller's own seat / user
	allOrders = "all"       // every order of the room
	ownOrders = "own"       // the caller's own orders only
	noOrders  = "none"      // an empty connection, totalCount 0
	listed    = "listed"    // the room is in the list
	absent    = "absent"    // the room is not in the list
	allowed   = "ok"        // the mutation succeeds (and does what it says)
	notFound  = "NOT_FOUND" // error codes
	forbidden = "FORBIDDEN"
	unauthed  = "UNAUTHENTICATED"
	badInput  = "BAD_USER_INPUT"
)

func isErrorCode(s string) bool {
	return s == notFound || s == forbidden || s == unauthed || s == badInput
}

// by lists one room kind's cells in role order: anonymous, outsider,
// participant, other participant, owner, admin.
func by(anonymous, outsider, participant, otherParticipant, owner, admin string) [6]string {
	return [6]string{anonymous, outsider, participant, otherParticipant, owner, admin}
}

// grid lists a row's cells by room kind.
func grid(publicRoom, publicTrades, privateRoom [6]string) [3][6]string {
	return [3][6]string{publicRoom, publicTrades, privateRoom}
}

type authzRow struct {
	name  string
	want  [3][6]string // [room kind][role]
	rule  func(k roomKind, r role) string
	check func(c *authzCell)
}

// roomFields: what only needs sees(room).
// orderCells are who sees which orders (BullPen.orders, and what rides on
// an order: its fills): the owner all, a member their own or, when trades
// are PUBLIC, all; anyone else none.
var orderCells = grid(
	by(noOrders, noOrders, ownOrders, ownOrders, allOrders, noOrders),
	by(noOrders, noOrders, allOrders, allOrders, allOrders, noOrders),
	by(hidden, hidden, ownOrders, ownOrders, allOrders, hidden),
)

func orderRule(k roomKind, r role) string {
	switch {
	case !sees(k, r):
		return hidden
	case r == roleOwner, r.member() && k == kindPublicTrades:
		return allOrders
	case r.member():
		return ownOrders
	}
	return noOrders
}

var roomFields = grid(
	by(shown, shown, shown, shown, shown, shown),
	by(shown, shown, shown, shown, shown, shown),
	by(hidden, hidden, shown, shown, shown, hidden),
)

func roomFieldRule(k roomKind, r role) string {
	if !sees(k, r) {
		return hidden
	}
	return shown
}

// eventCells: the log, its replay, and the live bullPenEvents.
var eventCells = grid(
	by("state board", "state board", "state board p1", "state board p2", "state board p1 p2", "state board"),
	by("state board", "state board", "state board p1 p2", "state board p1 p2", "state board p1 p2", "state board"),
	by(notFound, notFound, "state board p1", "state board p2", "state board p1 p2", notFound),
)

func eventRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return eventSet(k, r)
}

// tradeCells: orderUpdates and positionUpdates.
var tradeCells = grid(
	by(forbidden, forbidden, "p1", "p2", "p1 p2", forbidden),
	by(forbidden, forbidden, "p1 p2", "p1 p2", "p1 p2", forbidden),
	by(notFound, notFound, "p1", "p2", "p1 p2", notFound),
)

func tradeStreamRule(k roomKind, r role) string {
	switch {
	case !sees(k, r):
		return notFound
	case r != roleOwner && !r.member():
		return forbidden
	}
	return tradeSet(k, r)
}

// visibleParticipants: Participant.positions and buyingPower.
var visibleParticipants = grid(
	by("-", "-", "p1", "p2", "p1 p2", "-"),
	by("-", "-", "p1 p2", "p1 p2", "p1 p2", "-"),
	by(hidden, hidden, "p1", "p2", "p1 p2", hidden),
)

func participantDataRule(k roomKind, r role) string {
	if !sees(k, r) {
		return hidden
	}
	return tradeSet(k, r)
}

// roomOrNotFound: what whoever sees the room sees, and NOT_FOUND (a 404
// over plain HTTP) for a room the caller may not see, as an unknown one:
// the results export, a read of the room's log.
var roomOrNotFound = grid(
	by(shown, shown, shown, shown, shown, shown),
	by(shown, shown, shown, shown, shown, shown),
	by(notFound, notFound, shown, shown, shown, notFound),
)

func roomOrNotFoundRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return shown
}

// csvTrades: the fills export shows the trades of tradeSet, a 404 for a
// room the caller may not see.
var csvTrades = grid(
	by("-", "-", "p1", "p2", "p1 p2", "-"),
	by("-", "-", "p1 p2", "p1 p2", "p1 p2", "-"),
	by(notFound, notFound, "p1", "p2", "p1 p2", notFound),
)

func csvTradesRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return tradeSet(k, r)
}

var beyondLastSequence = grid(
	by(badInput, badInput, badInput, badInput, badInput, badInput),
	by(badInput, badInput, badInput, badInput, badInput, badInput),
	by(notFound, notFound, badInput, badInput, badInput, notFound),
)

func beyondLastRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return badInput
}

// authzReadRows run against the three rooms as set up: each cell is
// independent and runs in parallel.
var authzReadRows = []authzRow{
	{name: "Query.bullPen", check: checkBullPen,
		want: grid(
			by(object, object, object, object, object, object),
			by(object, object, object, object, object, object),
			by(null, null, object, object, object, null),
		),
		rule: func(k roomKind, r role) string {
			if sees(k, r) {
				return object
			}
			return null
		}},
	{name: "BullPen.name", want: roomFields, rule: roomFieldRule, check: checkName},
	{name: "BullPen.owner", want: roomFields, rule: roomFieldRule, check: checkOwner},
	{name: "BullPen.state", want: roomFields, rule: roomFieldRule, check: checkState},
	{name: "BullPen.participantCount", want: roomFields, rule: roomFieldRule, check: checkParticipantCount},
	{name: "BullPen.lastSequence", want: roomFields, rule: roomFieldRule, check: checkLastSequence},
	{name: "BullPen.participants", want: roomFields, rule: roomFieldRule, check: checkParticipants},
	{name: "BullPen.inviteCode", check: checkInviteCode,
		want: grid(
			by(null, null, null, null, invite, null),
			by(null, null, null, null, invite, null),
			by(hidden, hidden, null, null, invite, hidden),
		),
		rule: func(k roomKind, r role) string {
			switch {
			case !sees(k, r):
				return hidden
			case r == roleOwner:
				return invite
			}
			return null
		}},
	{name: "BullPen.me", check: checkMe,
		want: grid(
			by(null, null, self, self, null, null),
			by(null, null, self, self, null, null),
			by(hidden, hidden, self, self, null, hidden),
		),
		rule: func(k roomKind, r role) string {
			switch {
			case !sees(k, r):
				return hidden
			case r.member():
				return self
			}
			return null
		}},
	{name: "BullPen.leaderboard", want: roomFields, rule: roomFieldRule, check: checkLeaderboard},
	{name: "BullPen.leaderboardHistory", want: roomFields, rule: roomFieldRule, check: checkLeaderboardHistory},
	{name: "BullPen.orders", check: checkOrders, want: orderCells, rule: orderRule},
	// Fills are seen as their order is: the orders a role sees carry
	// every fill, and no other order's.
	{name: "Order.fills", check: checkOrderFills, want: orderCells, rule: orderRule},
	{name: "OrderEvent.order.fills in Query.bullPenEventLog", want: eventCells, rule: eventRule, check: checkEventFills},
	// Notes (the trade journal) ride on their order: the orders a role
	// sees carry their notes, and no other order's note shows; an order
	// event carries its order's note to exactly those who see the event.
	{name: "Order.note", check: checkOrderNotes,
		want: grid(
			by(noOrders, noOrders, ownOrders, ownOrders, allOrders, noOrders),
			by(noOrders, noOrders, allOrders, allOrders, allOrders, noOrders),
			by(hidden, hidden, ownOrders, ownOrders, allOrders, hidden),
		),
		rule: func(k roomKind, r role) string {
			switch {
			case !sees(k, r):
				return hidden
			case r == roleOwner, r.member() && k == kindPublicTrades:
				return allOrders
			case r.member():
				return ownOrders
			}
			return noOrders
		}},
	{name: "OrderEvent.order.note in Query.bullPenEventLog", want: eventCells, rule: eventRule, check: checkEventNotes},
	{name: "BullPen.execution", want: roomFields, rule: roomFieldRule, check: checkExecution},
	{name: "Query.bullPens", check: checkBullPens,
		want: grid(
			by(listed, listed, listed, listed, listed, listed),
			by(listed, listed, listed, listed, listed, listed),
			by(absent, absent, listed, listed, listed, absent),
		),
		rule: func(k roomKind, r role) string {
			if sees(k, r) {
				return listed
			}
			return absent
		}},
	{name: "Participant.positions", want: visibleParticipants, rule: participantDataRule, check: checkPositions},
	{name: "Participant.buyingPower", want: visibleParticipants, rule: participantDataRule, check: checkBuyingPower},
	{name: "Participant.ledger", want: visibleParticipants, rule: participantDataRule, check: checkLedger},
	{name: "Participant.cash", want: roomFields, rule: roomFieldRule, check: checkFigure("cash", "99000")},
	{name: "Participant.portfolioValue", want: roomFields, rule: roomFieldRule, check: checkFigure("portfolioValue", "100000")},
	{name: "Participant.totalReturn", want: roomFields, rule: roomFieldRule, check: checkFigure("totalReturn", "0")},
	{name: "Participant.returnPercent", want: roomFields, rule: roomFieldRule, check: checkFigure("returnPercent", "0")},
	{name: "Participant.rank", want: roomFields, rule: roomFieldRule, check: checkRank},
	{name: "Query.me", check: checkQueryMe,
		want: grid(
			by(null, self, self, self, self, self),
			by(null, self, self, self, self, self),
			by(null, self, self, self, self, self),
		),
		rule: func(k roomKind, r role) string {
			if r == roleAnonymous {
				return null
			}
			return self
		}},
	{name: "Participant.metrics", want: roomFields, rule: roomFieldRule, check: checkParticipantMetrics},
	{name: "Participant.equityHistory", want: roomFields, rule: roomFieldRule, check: checkEquityHistory},
	{name: "LeaderboardEntry.metrics", want: roomFields, rule: roomFieldRule, check: checkEntryMetrics},
	{name: "GET /rooms/{id}/results.csv", want: roomOrNotFound, rule: roomOrNotFoundRule, check: checkResultsCSV},
	{name: "GET /rooms/{id}/trades.csv", want: csvTrades, rule: csvTradesRule, check: checkTradesCSV},
	{name: "Query.bullPenEventLog", want: eventCells, rule: eventRule, check: checkEventLog},
	{name: "bullPenEvents(afterSequence:0)=bullPenEventLog(WebSocket)", want: eventCells, rule: eventRule, check: checkReplay("WebSocket")},
	{name: "bullPenEvents(afterSequence:0)=bullPenEventLog(SSE)", want: eventCells, rule: eventRule, check: checkReplay("SSE")},
	{name: "Query.bullPenEventLog(afterSequence>lastSequence)", want: beyondLastSequence, rule: beyondLastRule, check: checkLogBeyondLast},
	{name: "Subscription.bullPenEvents(afterSequence>lastSequence)(WebSocket)", want: beyondLastSequence, rule: beyondLastRule, check: checkStreamBeyondLast("WebSocket")},
	{name: "Subscription.bullPenEvents(afterSequence>lastSequence)(SSE)", want: beyondLastSequence, rule: beyondLastRule, check: checkStreamBeyondLast("SSE")},
}

// liveSubscriptions are the room subscriptions checked live: subscribe,
// cause new events, see who gets which.
var liveSubscriptions = []struct {
	field string
	kinds []game.EventKind // nil: every kind
	want  [3][6]string
	rule  func(k roomKind, r role) string
}{
	{"orderUpdates", []game.EventKind{game.EventOrder}, tradeCells, tradeStreamRule},
	{"positionUpdates", []game.EventKind{game.EventPosition}, tradeCells, tradeStreamRule},
	{"leaderboardUpdates", []game.EventKind{game.EventLeaderboard},
		grid(
			by("board", "board", "board", "board", "board", "board"),
			by("board", "board", "board", "board", "board", "board"),
			by(notFound, notFound, "board", "board", "board", notFound),
		),
		func(k roomKind, r role) string {
			if !sees(k, r) {
				return notFound
			}
			return "board"
		}},
	{"roomStateChanged", []game.EventKind{game.EventRoomState},
		grid(
			by("state", "state", "state", "state", "state", "state"),
			by("state", "state", "state", "state", "state", "state"),
			by(notFound, notFound, "state", "state", "state", notFound),
		),
		func(k roomKind, r role) string {
			if !sees(k, r) {
				return notFound
			}
			return "state"
		}},
	{"bullPenEvents", nil, eventCells, eventRule},
}

var transports = []string{"WebSocket", "SSE"}

// authzLiveRows: one row per live subscription and transport.
var authzLiveRows = func() []authzRow {
	var rows []authzRow
	for i, s := range liveSubscriptions {
		for _, tr := range transports {
			rows = append(rows, authzRow{name: "Subscription." + s.field + "(" + tr + ")", want: s.want, rule: s.rule, check: checkLive(i, tr)})
		}
	}
	return rows
}()

var joinWithoutCode = grid(
	by(unauthed, allowed, allowed, allowed, allowed, allowed),
	by(unauthed, allowed, allowed, allowed, allowed, allowed),
	by(unauthed, notFound, allowed, allowed, allowed, notFound),
)

// joinRule: members joining again get their seat back; see the report on
// this reading of "PRIVATE room needs the right inviteCode".
func joinRule(rightCode bool) func(k roomKind, r role) string {
	return func(k roomKind, r role) string {
		switch {
		case r == roleAnonymous:
			return unauthed
		case k == kindPrivate && !rightCode && !sees(k, r):
			return notFound
		}
		return allowed
	}
}

var ownerOnly = grid(
	by(unauthed, forbidden, forbidden, forbidden, allowed, forbidden),
	by(unauthed, forbidden, forbidden, forbidden, allowed, forbidden),
	by(unauthed, notFound, forbidden, forbidden, allowed, notFound),
)

func ownerOnlyRule(k roomKind, r role) string {
	switch {
	case r == roleAnonymous:
		return unauthed
	case !sees(k, r):
		return notFound
	case r == roleOwner:
		return allowed
	}
	return forbidden
}

func cancelOrderRule(of role) func(k roomKind, r role) string {
	return func(k roomKind, r role) string {
		switch {
		case r == roleAnonymous:
			return unauthed
		case r == of:
			return allowed
		}
		return notFound
	}
}

// authzWriteRows change state: each cell gets a fresh room (or a fresh
// order) so that cells are independent; they run one at a time.
var authzWriteRows = []authzRow{
	{name: "Mutation.joinBullPen(no inviteCode)", want: joinWithoutCode, rule: joinRule(false), check: checkJoin("none")},
	{name: "Mutation.joinBullPen(right inviteCode)", rule: joinRule(true), check: checkJoin("right"),
		want: grid(
			by(unauthed, allowed, allowed, allowed, allowed, allowed),
			by(unauthed, allowed, allowed, allowed, allowed, allowed),
			by(unauthed, allowed, allowed, allowed, allowed, allowed),
		)},
	{name: "Mutation.joinBullPen(wrong inviteCode)", want: joinWithoutCode, rule: joinRule(false), check: checkJoin("wrong")},
	{name: "Mutation.startBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkMove("startBullPen", "SCHEDULED", "ACTIVE")},
	{name: "Mutation.pauseBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkMove("pauseBullPen", "ACTIVE", "PAUSED")},
	{name: "Mutation.resumeBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkMove("resumeBullPen", "PAUSED", "ACTIVE")},
	{name: "Mutation.endBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkMove("endBullPen", "ACTIVE", "ENDED")},
	{name: "Mutation.cancelBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkMove("cancelBullPen", "SCHEDULED", "CANCELLED")},
	{name: "Mutation.cloneBullPen", want: ownerOnly, rule: ownerOnlyRule, check: checkClone},
	// The organiser's hand: owner only, as the room's moves.
	{name: "Mutation.removeParticipant", want: ownerOnly, rule: ownerOnlyRule, check: checkRemoveParticipant},
	{name: "Mutation.adjustCash", want: ownerOnly, rule: ownerOnlyRule, check: checkAdjustCash},
	{name: "Mutation.announce", want: ownerOnly, rule: ownerOnlyRule, check: checkAnnounce},
	{name: "Mutation.placeOrder", check: checkPlaceOrder,
		want: grid(
			by(unauthed, forbidden, allowed, allowed, forbidden, forbidden),
			by(unauthed, forbidden, allowed, allowed, forbidden, forbidden),
			by(unauthed, notFound, allowed, allowed, forbidden, notFound),
		),
		rule: func(k roomKind, r role) string {
			switch {
			case r == roleAnonymous:
				return unauthed
			case !sees(k, r):
				return notFound
			case r.member():
				return allowed
			}
			return forbidden
		}},
	{name: "Mutation.cancelOrder(participant's open order)", rule: cancelOrderRule(roleP1), check: checkCancelOrder(roleP1),
		want: grid(
			by(unauthed, notFound, allowed, notFound, notFound, notFound),
			by(unauthed, notFound, allowed, notFound, notFound, notFound),
			by(unauthed, notFound, allowed, notFound, notFound, notFound),
		)},
	{name: "Mutation.cancelOrder(other participant's open order)", rule: cancelOrderRule(roleP2), check: checkCancelOrder(roleP2),
		want: grid(
			by(unauthed, notFound, notFound, allowed, notFound, notFound),
			by(unauthed, notFound, notFound, allowed, notFound, notFound),
			by(unauthed, notFound, notFound, allowed, notFound, notFound),
		)},
	{name: "Mutation.setQuote", check: checkSetQuote,
		want: grid(
			by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
			by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
			by(unauthed, forbidden, forbidden, forbidden, forbidden, allowed),
		),
		rule: func(k roomKind, r role) string {
			switch r {
			case roleAnonymous:
				return unauthed
			case roleAdmin:
				return allowed
			}
			return forbidden
		}},
}

// signedIn: what any signed-in caller may do, wherever.
var signedIn = grid(
	by(unauthed, allowed, allowed, allowed, allowed, allowed),
	by(unauthed, allowed, allowed, allowed, allowed, allowed),
	by(unauthed, allowed, allowed, allowed, allowed, allowed),
)

func signedInRule(k roomKind, r role) string {
	if r == roleAnonymous {
		return unauthed
	}
	return allowed
}

// authzLiquidationRows read the rooms where shorts were liquidated (see
// authzWorld.liquidate), set up after the read and live rows so that
// those see the world as it was.
var authzLiquidationRows = []authzRow{
	{name: "BullPen.maintenanceMarginPercent", want: roomFields, rule: roomFieldRule, check: checkMaintenanceMargin},
	{name: "BullPen.cashInterestPercent, marginInterestPercent, borrowFeePercent", want: roomFields, rule: roomFieldRule, check: checkCarryingCosts},
	{name: "OrderEvent(LIQUIDATED) in Query.bullPenEventLog", want: liquidatedCells, rule: liquidatedRule, check: checkLiquidatedEvents},
}

// authzHoursRows read rooms with trading hours and a maxQuoteAgeSeconds
// (see authzWorld.openHours): room settings, public as the room is.
var authzHoursRows = []authzRow{
	{name: "BullPen.tradingHours", want: roomFields, rule: roomFieldRule, check: checkTradingHours},
	{name: "BullPen.afterHours", want: roomFields, rule: roomFieldRule, check: checkAfterHours},
	{name: "BullPen.maxQuoteAgeSeconds", want: roomFields, rule: roomFieldRule, check: checkMaxQuoteAge},
}

// authzSessionRows: the session mutations (issue 11). They concern the
// caller alone, so every room kind gives the same cells.
var authzSessionRows = []authzRow{
	{name: "Mutation.signOut", want: signedIn, rule: signedInRule, check: checkSignOut},
	{name: "Mutation.renewToken", want: signedIn, rule: signedInRule, check: checkRenewToken},
	{name: "Mutation.signOutEverywhere", want: signedIn, rule: signedInRule, check: checkSignOutEverywhere},
}

// TestAuthzMatrixTable checks the spelled-out cells against the rules.
func TestAuthzMatrixTable(t *testing.T) {
	rows := slices.Concat(authzReadRows, authzLiveRows, authzLiquidationRows, authzHoursRows, authzCorporateRows, authzWriteRows, authzCorporateWriteRows, authzSessionRows,
		authzLeagueRows, authzLeagueWriteRows, authzHandRows,
		authzIntegrityRows, authzAssignmentRows, authzTeamRows, authzTeamWriteRows)
	for _, row := range rows {
		for _, k := range allKinds {
			for _, r := range allRoles {
				if got := row.rule(k, r); got != row.want[k][r] {
					t.Errorf("%s/%s/%s: the table says %q, the rule gives %q", row.name, k, r, row.want[k][r], got)
				}
			}
		}
	}
}

// TestAuthzMatrix asserts every cell on SQLite and on PostgreSQL.
func TestAuthzMatrix(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			w := newAuthzWorld(t, startServerOn(t, dbtest.Open(t, backend), "-secret", authzSecret))
			t.Run("BeyondLastSetup", w.beyondLastPhase)
			for _, row := range authzReadRows {
				w.runRow(t, row, true)
			}
			for _, k := range allKinds {
				t.Run("LiveSetup/"+k.String(), func(t *testing.T) { w.livePhase(t, k) })
			}
			for _, row := range authzLiveRows {
				w.runRow(t, row, true)
			}
			t.Run("LiquidationSetup", w.liquidate)
			for _, row := range authzLiquidationRows {
				w.runRow(t, row, true)
			}
			t.Run("HoursSetup", w.openHours)
			for _, row := range authzHoursRows {
				w.runRow(t, row, true)
			}
			t.Run("CorporateSetup", w.corporate)
			for _, row := range authzCorporateRows {
				w.runRow(t, row, true)
			}
			t.Run("LeagueSetup", w.openLeagues)
			for _, row := range authzLeagueRows {
				w.runRow(t, row, true)
			}
			for _, row := range authzLeagueWriteRows {
				w.runRow(t, row, false)
			}
			t.Run("HandSetup", w.organisersHand)
			for _, row := range authzHandRows {
				w.runRow(t, row, true)
			}
			for _, row := range authzIntegrityRows {
				w.runRow(t, row, true)
			}
			t.Run("AssignmentsSetup", w.assignments)
			for _, row := range authzAssignmentRows {
				w.runRow(t, row, true)
			}
			t.Run("TeamsSetup", w.openTeams)
			for _, row := range authzTeamRows {
				w.runRow(t, row, true)
			}
			for _, row := range authzTeamWriteRows {
				w.runRow(t, row, false)
			}
			t.Run("SharedFields", w.checkSharedFields)
			for _, row := range slices.Concat(authzWriteRows, authzCorporateWriteRows) {
				w.runRow(t, row, false)
			}
			for _, row := range authzSessionRows {
				w.runRow(t, row, false)
			}
			t.Run("BadToken", w.checkBadTokens)
			t.Run("SignedOutAfterUpgrade", w.checkSignedOutAfterUpgrade)
		})
	}
}

// unknownID is an id no room or order has.
const unknownID = "987654321"

// authzWorld is one server with five users and one room of each kind, in
// which P1 and P2 each hold a filled order and a resting one.
type authzWorld struct {
	ts      *testServer
	store   *db.Store // the server's database, read past every rule
	tokens  [6]string
	userIDs [6]string
	rooms   [3]*authzRoom
	// liquidated are rooms of each kind with a maintenance margin, in
	// which P1's and P2's shorts were liquidated.
	liquidated [3]*authzRoom
	// hours are rooms of each kind with trading hours (REJECT) and a
	// maxQuoteAgeSeconds.
	hours [3]*authzRoom
	// split are rooms of each kind in which P1 and P2 held TSLA when it
	// split (see authzWorld.corporate).
	split [3]*authzRoom
	// leagues are the leagues of the league rows (authz_leagues_test.go).
	leagues *authzLeagues
	// hand are rooms of each kind in which the owner announced, adjusted
	// P1's cash and removed P2 (the organiser's hand).
	hand [3]*authzRoom
	// assigned are rooms of each kind with assignments, in which P1 and
	// P2 traded (see authzWorld.assignments).
	assigned [3]*authzRoom
	// teams are rooms of each kind with teams (authz_teams_test.go).
	teams [3]*authzRoom

	mu     sync.Mutex
	shared map[string]*authzRoom // rooms of the write rows, by row and kind

	live       map[liveKey]streamSnapshot
	beyond     map[beyondKey]streamSnapshot
	liveEvents [3][]*game.Event // what the live phase caused, per kind
}

type liveKey struct {
	kind      roomKind
	sub       int
	transport string
	role      role
}

type authzRoom struct {
	kind                 roomKind
	id, name, inviteCode string
	seats                [6]string         // participant ids of P1 and P2
	orders               [6][]string       // order ids of P1 and P2
	notes                map[string]string // order id -> its note, for the orders placed with one
	events               []*game.Event
}

// class names the event class an event of the room belongs to.
func (room *authzRoom) class(ev *game.Event) string {
	switch ev.Kind {
	case game.EventRoomState:
		return "state"
	case game.EventLeaderboard:
		return "board"
	}
	if ev.ParticipantID != nil {
		switch strconv.FormatInt(*ev.ParticipantID, 10) {
		case room.seats[roleP1]:
			return "p1"
		case room.seats[roleP2]:
			return "p2"
		}
	}
	return "other"
}

var typenames = map[game.EventKind]string{
	game.EventOrder: "OrderEvent", game.EventPosition: "PositionEvent",
	game.EventLeaderboard: "LeaderboardEvent", game.EventRoomState: "RoomStateEvent",
	game.EventCorporateAction: "CorporateActionEvent",
}

// expectedLabels lists "<sequence> <__typename>" of the events of kinds
// (nil: all) whose class is in classes ("-": none).
func (room *authzRoom) expectedLabels(evs []*game.Event, kinds []game.EventKind, classes string) []string {
	want := strings.Fields(classes)
	out := []string{}
	for _, ev := range evs {
		if kinds != nil && !slices.Contains(kinds, ev.Kind) {
			continue
		}
		if slices.Contains(want, room.class(ev)) {
			out = append(out, strconv.FormatInt(ev.Sequence, 10)+" "+typenames[ev.Kind])
		}
	}
	return out
}

func (room *authzRoom) describe(evs []*game.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, " %d:%s/%s", ev.Sequence, ev.Kind, room.class(ev))
	}
	return strings.TrimSpace(b.String())
}

func (room *authzRoom) lastSequence() int64 { return room.events[len(room.events)-1].Sequence }

const placeOrderMutation = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`

func newAuthzWorld(t *testing.T, ts *testServer) *authzWorld {
	t.Helper()
	w := &authzWorld{ts: ts, store: ts.openStore(t), shared: map[string]*authzRoom{}, live: map[liveKey]streamSnapshot{}, beyond: map[beyondKey]streamSnapshot{}}
	for _, r := range allRoles[1:] {
		if r == roleAdmin {
			w.tokens[r] = ts.signUpAdmin(r.username())
		} else {
			w.tokens[r] = ts.signUp(r.username())
		}
		var me struct{ Me struct{ ID string } }
		ts.must(w.tokens[r], `{ me { id } }`, nil, &me)
		w.userIDs[r] = me.Me.ID
	}
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "AAPL", price: "100") { price } }`, nil, nil)
	for _, k := range allKinds {
		room := w.newRoom(t, k, "ACTIVE")
		room.notes = map[string]string{}
		for _, p := range []role{roleP1, roleP2} {
			// Each order carries a note of its own (the trade journal),
			// seen exactly as the order is.
			filled := w.placeOrder(t, p, room, map[string]any{"quantity": 10, "note": "filled buy of " + p.String()}, "FILLED")
			resting := w.placeOrder(t, p, room, map[string]any{"quantity": 1, "type": "LIMIT", "limitPrice": "50", "note": "resting buy of " + p.String()}, "OPEN")
			room.orders[p] = []string{filled, resting}
			room.notes[filled], room.notes[resting] = "filled buy of "+p.String(), "resting buy of "+p.String()
		}
		w.rooms[k] = room
	}
	if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	for _, room := range w.rooms {
		room.events = w.rawEvents(t, room, 0)
		// 1 RoomState (start), P1 and P2: Order FILLED, Position, Order ACCEPTED; 1 Leaderboard.
		want := "1:ROOM_STATE/state 2:ORDER/p1 3:POSITION/p1 4:ORDER/p1 5:ORDER/p2 6:POSITION/p2 7:ORDER/p2 8:LEADERBOARD/board"
		if got := room.describe(room.events); got != want {
			t.Fatalf("room %s log after setup: %s\nwant %s", room.kind, got, want)
		}
	}
	return w
}

// liquidate sets up w.liquidated: in a room of each kind with
// maintenanceMarginPercent 25, P1 and P2 each sell 1,000 NVDA short at
// 100 (cash 200,000); NVDA at 200 leaves 0 of margin equity and both are
// liquidated. No other room trades NVDA.
func (w *authzWorld) liquidate(t *testing.T) {
	t.Helper()
	ts := w.ts.with(t)
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "NVDA", price: "100") { price } }`, nil, nil)
	for _, k := range allKinds {
		room := w.newRoomWith(t, k, "ACTIVE", map[string]any{"allowShortSelling": true, "maintenanceMarginPercent": "25",
			"cashInterestPercent": "3.65", "marginInterestPercent": "7.3", "borrowFeePercent": "10.95"})
		for _, p := range []role{roleP1, roleP2} {
			var out struct{ PlaceOrder struct{ Status string } }
			ts.must(w.tokens[p], placeOrderMutation, map[string]any{"in": map[string]any{
				"bullPenId": room.id, "symbol": "NVDA", "side": "SELL", "quantity": 1000}}, &out)
			if out.PlaceOrder.Status != "FILLED" {
				t.Fatalf("short of %s in %s: %s", p, k, out.PlaceOrder.Status)
			}
		}
		w.liquidated[k] = room
	}
	ts.must(w.tokens[roleAdmin], `mutation { setQuote(symbol: "NVDA", price: "200") { price } }`, nil, nil)
	for _, room := range w.liquidated {
		room.events = w.rawEvents(t, room, 0)
		if n := len(liquidatedEvents(room)); n != 2 {
			t.Fatalf("room %s: %d LIQUIDATED events, want P1's and P2's (log: %s)", room.kind, n, room.describe(room.events))
		}
	}
}

// authzHours are the trading hours of w.hours.
var authzHours = game.TradingHours{TimeZone: "America/New_York", Open: "09:30", Close: "16:00",
	Days: []game.Weekday{game.Monday, game.Tuesday, game.Wednesday, game.Thursday, game.Friday}}

// openHours sets up w.hours: an ACTIVE room of each kind on New York
// hours, afterHours REJECT, maxQuoteAgeSeconds 120.
func (w *authzWorld) openHours(t *testing.T) {
	t.Helper()
	for _, k := range allKinds {
		w.hours[k] = w.newRoomWith(t, k, "ACTIVE", map[string]any{"afterHours": "REJECT", "maxQuoteAgeSeconds": 120,
			"tradingHours": map[string]any{"timeZone": authzHours.TimeZone, "open": authzHours.Open, "close": authzHours.Close,
				"days": []string{"MON", "TUE", "WED", "THU", "FRI"}}})
	}
}

// organisersHand sets up w.hand: in an ACTIVE room of each kind the owner
// announces, adds 100 to P1's cash and removes P2.
func (w *authzWorld) organisersHand(t *testing.T) {
	t.Helper()
	ts := w.ts.with(t)
	for _, k := range allKinds {
		room := w.newRoom(t, k, "ACTIVE")
		owner := w.tokens[roleOwner]
		ts.must(owner, `mutation($id: ID!) { announce(bullPenId: $id, message: "welcome") { sequence } }`, map[string]any{"id": room.id}, nil)
		ts.must(owner, `mutation($p: ID!) { adjustCash(participantId: $p, amount: "100", reason: "prize of p1") { id } }`, map[string]any{"p": room.seats[roleP1]}, nil)
		ts.must(owner, `mutation($p: ID!) { removeParticipant(participantId: $p, reason: "p2 left") { id } }`, map[string]any{"p": room.seats[roleP2]}, nil)
		room.events = w.rawEvents(t, room, 0)
		w.hand[k] = room
	}
}

// authzHandRows read what the organiser's hand left in w.hand.
var authzHandRows = []authzRow{
	// A seat's end is seen as the participant is: by whoever sees the room.
	{name: "Participant.removedAt+removedReason", want: roomFields, rule: roomFieldRule, check: checkRemoved},
	// announce's and removeParticipant's announcements reach whoever sees
	// the room ("public"), adjustCash's to P1 whoever sees P1's orders.
	{name: "AnnouncementEvent in Query.bullPenEventLog", check: checkAnnouncements,
		want: grid(
			by("public", "public", "public p1", "public", "public p1", "public"),
			by("public", "public", "public p1", "public p1", "public p1", "public"),
			by(notFound, notFound, "public p1", "public", "public p1", notFound),
		),
		rule: func(k roomKind, r role) string {
			switch {
			case !sees(k, r):
				return notFound
			case seesTrades(k, r, roleP1):
				return "public p1"
			}
			return "public"
		}},
}

// checkRemoved reads the hand room's participants: P2's seat ended with
// its reason, P1's not.
func checkRemoved(c *authzCell) {
	c.room = c.w.hand[c.kind]
	b := c.bullPenField("participants { id removedAt removedReason }")
	if b == nil {
		return
	}
	got := decode[struct {
		Participants []struct {
			ID                       string
			RemovedAt, RemovedReason *string
		}
	}](c, b).Participants
	if len(got) != 2 {
		c.t.Fatalf("participants %+v, want P1 and P2", got)
	}
	for _, p := range got {
		removed := p.RemovedAt != nil && p.RemovedReason != nil && *p.RemovedReason == "p2 left"
		if (p.ID == c.room.seats[roleP2]) != removed || (p.RemovedAt == nil) != (p.RemovedReason == nil) {
			c.t.Errorf("participant %s: removedAt %v, removedReason %v; want only P2 (%s) removed", p.ID, p.RemovedAt, p.RemovedReason, c.room.seats[roleP2])
		}
	}
}

const announcementsQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, kinds: [ANNOUNCEMENT]) {
	__typename sequence ... on AnnouncementEvent { message } } }`

// checkAnnouncements reads the hand room's announcements: the public
// ones (announce's, the removal's) for whoever sees the room, the
// adjustment's (its amount) for whoever sees P1's orders; the sequences
// are the raw log's.
func checkAnnouncements(c *authzCell) {
	c.room = c.w.hand[c.kind]
	data := c.roomRead(announcementsQuery, c.room.id)
	if data == nil {
		return
	}
	evs := decode[struct {
		Ev []struct {
			Typename string `json:"__typename"`
			Sequence int64
			Message  string
		}
	}](c, data).Ev
	var got, want []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%d %s %s", ev.Sequence, ev.Typename, ev.Message))
	}
	for _, ev := range c.room.events {
		if ev.Kind != game.EventAnnouncement {
			continue
		}
		var p game.AnnouncementPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			c.t.Fatal(err)
		}
		if ev.ParticipantID == nil || strings.Contains(c.want, "p1") {
			want = append(want, fmt.Sprintf("%d AnnouncementEvent %s", ev.Sequence, p.Message))
		}
	}
	if n := map[string]int{"public": 2, "public p1": 3}[c.want]; len(want) != n || !slices.Equal(got, want) {
		c.t.Errorf("announcements %q, want %q (%s)", got, want, c.want)
	}
}

// checkRemoveParticipant: the owner ends P1's seat (their resting order
// cancelled); anyone else gets the error and the seat plays on.
func checkRemoveParticipant(c *authzCell) {
	room := c.w.newRoom(c.t, c.kind, "ACTIVE")
	order := c.w.placeOrder(c.t, roleP1, room, map[string]any{"quantity": 1, "type": "LIMIT", "limitPrice": "50"}, "OPEN")
	const q = `mutation($p: ID!) { m: removeParticipant(participantId: $p, reason: "gone") { id removedReason } }`
	got, errs := c.mutate(q, map[string]any{"p": room.seats[roleP1]})
	wantStatus := game.OrderStatusOpen
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the seat ended", errs)
		}
		if r := decode[struct{ RemovedReason *string }](c, got).RemovedReason; r == nil || *r != "gone" {
			c.t.Errorf("removedReason %v, want gone", r)
		}
		wantStatus = game.OrderStatusCancelled
	} else {
		c.expectError(errs, room.seats[roleP1], func() []gqlError { _, u := c.mutate(q, map[string]any{"p": unknownID}); return u })
	}
	id, _ := strconv.ParseInt(room.seats[roleP1], 10, 64)
	p, err := c.w.store.Participant(c.t.Context(), id)
	if err != nil || (p.RemovedAt != nil) != (c.want == allowed) {
		c.t.Errorf("P1's seat after: %+v, %v", p, err)
	}
	oid, _ := strconv.ParseInt(order, 10, 64)
	if o, err := c.w.store.Order(c.t.Context(), oid); err != nil || o.Status != wantStatus {
		c.t.Errorf("P1's resting order after: %+v, %v; want %s", o, err, wantStatus)
	}
}

// checkAdjustCash: the owner adds 250 to P1's cash (an ADJUSTMENT line);
// anyone else gets the error and cash stays.
func checkAdjustCash(c *authzCell) {
	room := c.w.newRoom(c.t, c.kind, "ACTIVE")
	const q = `mutation($p: ID!) { m: adjustCash(participantId: $p, amount: "250", reason: "prize") { kind amount reason } }`
	got, errs := c.mutate(q, map[string]any{"p": room.seats[roleP1]})
	wantCash := "100000"
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the adjustment", errs)
		}
		e := decode[struct {
			Kind, Amount string
			Reason       *string
		}](c, got)
		if e.Kind != "ADJUSTMENT" || !decimalIs(&e.Amount, "250") || e.Reason == nil || *e.Reason != "prize" {
			c.t.Errorf("adjustment %+v", e)
		}
		wantCash = "100250"
	} else {
		c.expectError(errs, room.seats[roleP1], func() []gqlError { _, u := c.mutate(q, map[string]any{"p": unknownID}); return u })
	}
	id, _ := strconv.ParseInt(room.seats[roleP1], 10, 64)
	p, err := c.w.store.Participant(c.t.Context(), id)
	if err != nil || !p.Cash.Equal(decimal.RequireFromString(wantCash)) {
		c.t.Errorf("P1's cash after: %+v, %v; want %s", p, err, wantCash)
	}
}

// checkAnnounce: the owner's announcement is the room's next event;
// anyone else gets the error and the log stays as it was.
func checkAnnounce(c *authzCell) {
	room := c.w.newRoom(c.t, c.kind, "ACTIVE")
	before := len(c.w.rawEvents(c.t, room, 0))
	const q = `mutation($id: ID!) { m: announce(bullPenId: $id, message: "hello") { sequence message } }`
	got, errs := c.mutate(q, map[string]any{"id": room.id})
	after := before
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the announcement", errs)
		}
		a := decode[struct {
			Sequence int
			Message  string
		}](c, got)
		if a.Message != "hello" || a.Sequence != before+1 {
			c.t.Errorf("announcement %+v, want hello at %d", a, before+1)
		}
		after++
	} else {
		c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(q, map[string]any{"id": unknownID}); return u })
	}
	if n := len(c.w.rawEvents(c.t, room, 0)); n != after {
		c.t.Errorf("the room's log has %d events, want %d", n, after)
	}
}

// liquidatedEvents lists "<sequence> <class>" of the room's LIQUIDATED
// order events, from the raw log.
func liquidatedEvents(room *authzRoom) []string {
	var out []string
	for _, ev := range room.events {
		if ev.Kind != game.EventOrder {
			continue
		}
		var p game.OrderPayload
		if json.Unmarshal(ev.Payload, &p) == nil && p.Kind == game.OrderEventLiquidated {
			out = append(out, strconv.FormatInt(ev.Sequence, 10)+" "+room.class(ev))
		}
	}
	return out
}

// newRoom creates a room of kind k owned by owner, seats P1 and P2, and
// brings it to state (SCHEDULED, ACTIVE or PAUSED).
func (w *authzWorld) newRoom(t *testing.T, k roomKind, state string) *authzRoom {
	return w.newRoomWith(t, k, state, nil)
}

// newRoomWith is newRoom with more fields of CreateBullPenInput.
func (w *authzWorld) newRoomWith(t *testing.T, k roomKind, state string, extra map[string]any) *authzRoom {
	t.Helper()
	ts := w.ts.with(t)
	room := &authzRoom{kind: k, name: fmt.Sprintf("Authz %s %d", k, time.Now().UnixNano())}
	var created struct {
		CreateBullPen struct{ ID, InviteCode string }
	}
	in := map[string]any{"name": room.name, "startsAt": fmtTime(t0.Add(time.Hour)), "endsAt": fmtTime(t0.Add(2 * time.Hour)),
		"visibility": k.visibility(), "tradeVisibility": k.tradeVisibility()}
	for f, v := range extra {
		in[f] = v
	}
	ts.must(w.tokens[roleOwner], `mutation($in: CreateBullPenInput!) { createBullPen(input: $in) { id inviteCode } }`,
		map[string]any{"in": in}, &created)
	room.id, room.inviteCode = created.CreateBullPen.ID, created.CreateBullPen.InviteCode
	if room.inviteCode == "" {
		t.Fatalf("the owner got no invite code for room %s", room.id)
	}
	for _, p := range []role{roleP1, roleP2} {
		var joined struct{ JoinBullPen struct{ ID string } }
		ts.must(w.tokens[p], `mutation($id: ID!, $code: String) { joinBullPen(bullPenId: $id, inviteCode: $code) { id } }`,
			map[string]any{"id": room.id, "code": room.inviteCode}, &joined)
		room.seats[p] = joined.JoinBullPen.ID
	}
	moves := map[string][]string{"SCHEDULED": nil, "ACTIVE": {"startBullPen"}, "PAUSED": {"startBullPen", "pauseBullPen"}}[state]
	for _, m := range moves {
		ts.must(w.tokens[roleOwner], `mutation($id: ID!) { `+m+`(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
	}
	return room
}

// sharedRoom is one fresh room per write row and kind.
func (w *authzWorld) sharedRoom(t *testing.T, row string, k roomKind, state string) *authzRoom {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := row + "/" + k.String()
	if w.shared[key] == nil {
		w.shared[key] = w.newRoom(t, k, state)
	}
	return w.shared[key]
}

// placeOrder places a BUY of AAPL for p and checks its status.
func (w *authzWorld) placeOrder(t *testing.T, p role, room *authzRoom, in map[string]any, status string) string {
	t.Helper()
	in["bullPenId"], in["symbol"], in["side"] = room.id, "AAPL", "BUY"
	var out struct{ PlaceOrder struct{ ID, Status string } }
	w.ts.with(t).must(w.tokens[p], placeOrderMutation, map[string]any{"in": in}, &out)
	if out.PlaceOrder.Status != status {
		t.Fatalf("order of %s in %s: %s, want %s", p, room.kind, out.PlaceOrder.Status, status)
	}
	return out.PlaceOrder.ID
}

// rawEvents reads the room's log from the store, past every read rule.
func (w *authzWorld) rawEvents(t *testing.T, room *authzRoom, after int64) []*game.Event {
	t.Helper()
	id, _ := strconv.ParseInt(room.id, 10, 64)
	evs, err := w.store.Events(t.Context(), id, after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (w *authzWorld) runRow(t *testing.T, row authzRow, parallel bool) {
	t.Run(row.name, func(t *testing.T) {
		for _, k := range allKinds {
			t.Run(k.String(), func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				for _, r := range allRoles {
					t.Run(r.String(), func(t *testing.T) {
						if parallel {
							t.Parallel()
						}
						row.check(&authzCell{t: t, w: w, ts: w.ts.with(t), row: row, kind: k, role: r, want: row.want[k][r], room: w.rooms[k]})
					})
				}
			})
		}
	})
}

// authzCell is one cell: a role, a room kind, and what the row expects.
type authzCell struct {
	t    *testing.T
	w    *authzWorld
	ts   *testServer
	row  authzRow
	kind roomKind
	role role
	want string
	room *authzRoom
}

func (c *authzCell) token() string { return c.w.tokens[c.role] }

func (c *authzCell) do(query string, vars map[string]any) gqlResponse {
	c.t.Helper()
	return c.ts.do(c.token(), query, vars)
}

// expectError checks errs against the cell's error code. For NOT_FOUND,
// unknown gives the errors of the same operation on an id that does not
// exist: the message must be the same (with the id swapped), so that an
// invisible room is indistinguishable from no room.
func (c *authzCell) expectError(errs []gqlError, id string, unknown func() []gqlError) {
	c.t.Helper()
	if len(errs) == 0 {
		c.t.Errorf("no error, want %s", c.want)
		return
	}
	if got := errs[0].Extensions["code"]; got != c.want {
		c.t.Errorf("error code %v (%q), want %s", got, errs[0].Message, c.want)
		return
	}
	if c.want == notFound && unknown != nil {
		u := unknown()
		if len(u) == 0 {
			c.t.Errorf("the same operation on unknown id %s gave no error", unknownID)
			return
		}
		if want := strings.ReplaceAll(u[0].Message, unknownID, id); errs[0].Message != want {
			c.t.Errorf("message %q differs from an unknown id's %q: the room's existence shows", errs[0].Message, want)
		}
	}
}

// bullPenField runs bullPen(id) { selection } on the cell's room and
// returns the room, or nil when it is hidden (after checking it is null,
// as the cell wants).
func (c *authzCell) bullPenField(selection string) json.RawMessage {
	c.t.Helper()
	r := c.do(`query($id: ID!) { bullPen(id: $id) { `+selection+` } }`, map[string]any{"id": c.room.id})
	if len(r.Errors) > 0 {
		c.t.Errorf("errors %+v, want none", r.Errors)
		return nil
	}
	var out struct {
		BullPen json.RawMessage `json:"bullPen"`
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		c.t.Fatalf("decode %s: %v", r.Data, err)
	}
	isNull := len(out.BullPen) == 0 || string(out.BullPen) == "null"
	if c.want == hidden {
		if !isNull {
			c.t.Errorf("bullPen is %s, want null: the room must not show", out.BullPen)
		}
		return nil
	}
	if isNull {
		c.t.Errorf("bullPen is null, want the room (%s)", c.want)
		return nil
	}
	return out.BullPen
}

func decode[T any](c *authzCell, raw json.RawMessage) T {
	c.t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		c.t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

func decimalIs(s *string, want string) bool {
	if s == nil {
		return false
	}
	d, err := decimal.NewFromString(*s)
	return err == nil && d.Equal(decimal.RequireFromString(want))
}

// Checks of the read rows.

func checkBullPen(c *authzCell) {
	r := c.do(`query($id: ID!) { bullPen(id: $id) { id } }`, map[string]any{"id": c.room.id})
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want none", r.Errors)
	}
	out := decode[struct{ BullPen *struct{ ID string } }](c, r.Data)
	switch {
	case c.want == object && (out.BullPen == nil || out.BullPen.ID != c.room.id):
		c.t.Errorf("bullPen = %s, want room %s", r.Data, c.room.id)
	case c.want == null && out.BullPen != nil:
		c.t.Errorf("bullPen = %s, want null as for an unknown id", r.Data)
	}
}

func checkName(c *authzCell) {
	if b := c.bullPenField("name"); b != nil {
		if got := decode[struct{ Name string }](c, b).Name; got != c.room.name {
			c.t.Errorf("name %q, want %q", got, c.room.name)
		}
	}
}

func checkOwner(c *authzCell) {
	if b := c.bullPenField("owner { username }"); b != nil {
		if got := decode[struct{ Owner struct{ Username string } }](c, b).Owner.Username; got != "owner" {
			c.t.Errorf("owner %q, want owner", got)
		}
	}
}

func checkState(c *authzCell) {
	if b := c.bullPenField("state"); b != nil {
		if got := decode[struct{ State string }](c, b).State; got != "ACTIVE" {
			c.t.Errorf("state %q, want ACTIVE", got)
		}
	}
}

func checkParticipantCount(c *authzCell) {
	if b := c.bullPenField("participantCount"); b != nil {
		if got := decode[struct{ ParticipantCount int }](c, b).ParticipantCount; got != 2 {
			c.t.Errorf("participantCount %d, want 2", got)
		}
	}
}

func checkLastSequence(c *authzCell) {
	if b := c.bullPenField("lastSequence"); b != nil {
		if got := decode[struct{ LastSequence int64 }](c, b).LastSequence; got != c.room.lastSequence() {
			c.t.Errorf("lastSequence %d, want %d", got, c.room.lastSequence())
		}
	}
}

func checkParticipants(c *authzCell) {
	if b := c.bullPenField("participants { id }"); b != nil {
		var ids []string
		for _, p := range decode[struct{ Participants []struct{ ID string } }](c, b).Participants {
			ids = append(ids, p.ID)
		}
		if want := []string{c.room.seats[roleP1], c.room.seats[roleP2]}; !sameSet(ids, want) {
			c.t.Errorf("participants %v, want %v", ids, want)
		}
	}
}

func checkInviteCode(c *authzCell) {
	if b := c.bullPenField("inviteCode"); b != nil {
		got := decode[struct{ InviteCode *string }](c, b).InviteCode
		switch {
		case c.want == invite && (got == nil || *got != c.room.inviteCode):
			c.t.Errorf("inviteCode %s, want the code", b)
		case c.want == null && got != nil:
			c.t.Errorf("inviteCode %q, want null", *got)
		}
	}
}

func checkMe(c *authzCell) {
	if b := c.bullPenField("me { id }"); b != nil {
		got := decode[struct{ Me *struct{ ID string } }](c, b).Me
		switch {
		case c.want == self && (got == nil || got.ID != c.room.seats[c.role]):
			c.t.Errorf("me %s, want seat %s", b, c.room.seats[c.role])
		case c.want == null && got != nil:
			c.t.Errorf("me %s, want null", b)
		}
	}
}

type leaderboardJSON struct {
	Final   bool
	Entries []struct {
		ParticipantID string
		Rank          int
	}
}

func (c *authzCell) checkSnapshot(s leaderboardJSON) {
	c.t.Helper()
	got := map[string]int{}
	for _, e := range s.Entries {
		got[e.ParticipantID] = e.Rank
	}
	want := map[string]int{c.room.seats[roleP1]: 1, c.room.seats[roleP2]: 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.t.Errorf("leaderboard ranks %v, want %v", got, want)
	}
}

func checkLeaderboard(c *authzCell) {
	if b := c.bullPenField("leaderboard { final entries { participantId rank } }"); b != nil {
		got := decode[struct{ Leaderboard *leaderboardJSON }](c, b).Leaderboard
		if got == nil {
			c.t.Errorf("leaderboard null, want the snapshot")
			return
		}
		c.checkSnapshot(*got)
	}
}

func checkLeaderboardHistory(c *authzCell) {
	if b := c.bullPenField("leaderboardHistory { final entries { participantId rank } }"); b != nil {
		got := decode[struct{ LeaderboardHistory []leaderboardJSON }](c, b).LeaderboardHistory
		if len(got) != 1 {
			c.t.Errorf("leaderboardHistory has %d snapshots, want 1", len(got))
			return
		}
		c.checkSnapshot(got[0])
	}
}

func checkOrders(c *authzCell) {
	b := c.bullPenField("orders(first: 100) { totalCount edges { node { id } } }")
	if b == nil {
		return
	}
	got := decode[struct {
		Orders struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
	}](c, b).Orders
	var ids []string
	for _, e := range got.Edges {
		ids = append(ids, e.Node.ID)
	}
	want := c.ordersSeen()
	if !sameSet(ids, want) || got.TotalCount != len(want) {
		c.t.Errorf("orders %v (totalCount %d), want %v (%s, totalCount %d)", ids, got.TotalCount, want, c.want, len(want))
	}
}

// checkOrderFills reads the fills of the orders the role sees: each
// filled order carries fills that make its filledQuantity, at its price.
func checkOrderFills(c *authzCell) {
	b := c.bullPenField("orders(first: 100) { edges { node { id filledQuantity filledPrice fills { quantity price midPrice } } } }")
	if b == nil {
		return
	}
	got := decode[struct {
		Orders struct {
			Edges []struct {
				Node struct {
					ID             string
					FilledQuantity int
					FilledPrice    *string
					Fills          []struct {
						Quantity        int
						Price, MidPrice string
					}
				}
			}
		}
	}](c, b).Orders
	var ids []string
	for _, e := range got.Edges {
		n := e.Node
		ids = append(ids, n.ID)
		sum := 0
		for _, f := range n.Fills {
			sum += f.Quantity
			if !decimalIs(n.FilledPrice, f.Price) || !decimalIs(&f.MidPrice, f.Price) {
				c.t.Errorf("order %s fill %+v, want at its filledPrice %v, the mid (FRICTIONLESS)", n.ID, f, n.FilledPrice)
			}
		}
		if sum != n.FilledQuantity {
			c.t.Errorf("order %s: fills of %d shares, filledQuantity %d", n.ID, sum, n.FilledQuantity)
		}
	}
	want := c.ordersSeen()
	if !sameSet(ids, want) {
		c.t.Errorf("orders with fills %v, want %v (%s)", ids, want, c.want)
	}
}

// ordersSeen are the ids of the orders the cell's rule lets its role
// see: every player's (allOrders), its own (ownOrders), or none.
func (c *authzCell) ordersSeen() []string {
	switch c.want {
	case allOrders:
		return slices.Concat(c.room.orders[roleP1], c.room.orders[roleP2])
	case ownOrders:
		return c.room.orders[c.role]
	}
	return []string{}
}

// checkOrderNotes reads the notes of the orders the role sees: each
// carries the note it was placed with, and the orders seen are those of
// the rule (so no note of an order the role may not see shows).
func checkOrderNotes(c *authzCell) {
	b := c.bullPenField("orders(first: 100) { edges { node { id note } } }")
	if b == nil {
		return
	}
	got := decode[struct {
		Orders struct {
			Edges []struct{ Node struct{ ID, Note string } }
		}
	}](c, b).Orders
	var ids []string
	for _, e := range got.Edges {
		ids = append(ids, e.Node.ID)
		if want := c.room.notes[e.Node.ID]; e.Node.Note != want {
			c.t.Errorf("order %s: note %q, want %q", e.Node.ID, e.Node.Note, want)
		}
	}
	want := c.ordersSeen()
	if !sameSet(ids, want) {
		c.t.Errorf("orders with notes %v, want %v (%s)", ids, want, c.want)
	}
}

const eventNotesQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, limit: 1000, kinds: [ORDER]) {
	sequence ... on OrderEvent { order { id note } } } }`

// checkEventNotes reads the order events the role sees: each carries its
// order's note, and the events seen are those of the log's rule.
func checkEventNotes(c *authzCell) {
	data := c.roomRead(eventNotesQuery, c.room.id)
	if data == nil {
		return
	}
	evs := decode[struct {
		Ev []struct {
			Sequence int64
			Order    struct{ ID, Note string }
		}
	}](c, data).Ev
	var got []string
	for _, ev := range evs {
		got = append(got, strconv.FormatInt(ev.Sequence, 10)+" OrderEvent")
		if want := c.room.notes[ev.Order.ID]; ev.Order.Note != want || want == "" {
			c.t.Errorf("event %d of order %s: note %q, want %q", ev.Sequence, ev.Order.ID, ev.Order.Note, want)
		}
	}
	if want := c.room.expectedLabels(c.room.events, []game.EventKind{game.EventOrder}, c.want); !sameSet(got, want) {
		c.t.Errorf("order events %v, want %v (%s)", got, want, c.want)
	}
}

const eventFillsQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, limit: 1000, kinds: [ORDER]) {
	sequence ... on OrderEvent { kind order { id filledQuantity fills { quantity } } } } }`

// checkEventFills reads the order events the role sees: each carries its
// order's fills as the event left it (a FILLED event all of them, an
// ACCEPTED one none), and the events seen are those of the log's rule.
func checkEventFills(c *authzCell) {
	data := c.roomRead(eventFillsQuery, c.room.id)
	if data == nil {
		return
	}
	evs := decode[struct {
		Ev []struct {
			Sequence int64
			Kind     string
			Order    struct {
				ID             string
				FilledQuantity int
				Fills          []struct{ Quantity int }
			}
		}
	}](c, data).Ev
	seen := map[int64]bool{}
	for _, ev := range evs {
		seen[ev.Sequence] = true
		sum := 0
		for _, f := range ev.Order.Fills {
			sum += f.Quantity
		}
		if sum != ev.Order.FilledQuantity || (ev.Kind == "FILLED") != (len(ev.Order.Fills) > 0) {
			c.t.Errorf("event %d (%s) of order %s: fills of %d shares in %d fills, filledQuantity %d", ev.Sequence, ev.Kind, ev.Order.ID, sum, len(ev.Order.Fills), ev.Order.FilledQuantity)
		}
	}
	var got []string
	for seq := range seen {
		got = append(got, strconv.FormatInt(seq, 10)+" OrderEvent")
	}
	if want := c.room.expectedLabels(c.room.events, []game.EventKind{game.EventOrder}, c.want); !sameSet(got, want) {
		c.t.Errorf("order events %v, want %v (%s)", got, want, c.want)
	}
}

func checkExecution(c *authzCell) {
	b := c.bullPenField("execution { preset spreadBps slippageBps priceImpact volumeLimitPercent }")
	if b == nil {
		return
	}
	e := decode[struct {
		Execution struct {
			Preset                 string
			SpreadBps, SlippageBps int
			PriceImpact            string
			VolumeLimitPercent     *string
		}
	}](c, b).Execution
	if e.Preset != "FRICTIONLESS" || e.SpreadBps != 0 || e.SlippageBps != 0 || !decimalIs(&e.PriceImpact, "0") || e.VolumeLimitPercent != nil {
		c.t.Errorf("execution %+v, want FRICTIONLESS with no costs", e)
	}
}

func checkBullPens(c *authzCell) {
	r := c.do(`{ bullPens(first: 100) { totalCount edges { node { id } } } }`, nil)
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want none", r.Errors)
	}
	got := decode[struct {
		BullPens struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
	}](c, r.Data).BullPens
	in := slices.ContainsFunc(got.Edges, func(e struct{ Node struct{ ID string } }) bool { return e.Node.ID == c.room.id })
	if in != (c.want == listed) {
		c.t.Errorf("room %s listed: %v, want %s", c.room.id, in, c.want)
	}
	visible := 0
	for _, k := range allKinds {
		if c.row.want[k][c.role] == listed {
			visible++
		}
	}
	if got.TotalCount != visible || len(got.Edges) != visible {
		c.t.Errorf("totalCount %d with %d edges, want %d: only rooms the caller sees count", got.TotalCount, len(got.Edges), visible)
	}
}

// participantData reads field (with its selection) of every participant and says whose is
// non-null ("p1 p2", "p1", "p2", "-"), handing each non-null one to ok.
func (c *authzCell) participantData(field, selection string, ok func(who role, raw json.RawMessage) bool) {
	c.t.Helper()
	b := c.bullPenField("participants { id " + field + selection + " }")
	if b == nil {
		return
	}
	var out struct{ Participants []map[string]json.RawMessage }
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatal(err)
	}
	var shown []string
	for _, p := range out.Participants {
		var id string
		_ = json.Unmarshal(p["id"], &id)
		who := roleP1
		if id == c.room.seats[roleP2] {
			who = roleP2
		}
		v := p[field]
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		shown = append(shown, map[role]string{roleP1: "p1", roleP2: "p2"}[who])
		if !ok(who, v) {
			c.t.Errorf("%s of %s is %s", field, who, v)
		}
	}
	slices.Sort(shown)
	got := strings.Join(shown, " ")
	if got == "" {
		got = "-"
	}
	if got != c.want {
		c.t.Errorf("%s shown for %q, want %q (null for the others)", field, got, c.want)
	}
}

func checkPositions(c *authzCell) {
	c.participantData("positions", " { symbol quantity }", func(_ role, raw json.RawMessage) bool {
		var ps []struct {
			Symbol   string
			Quantity int
		}
		return json.Unmarshal(raw, &ps) == nil && len(ps) == 1 && ps[0].Symbol == "AAPL" && ps[0].Quantity == 10
	})
}

func checkBuyingPower(c *authzCell) {
	// 100000 - 10 x 100 filled - 1 x 50 held back by the resting buy.
	c.participantData("buyingPower", "", func(_ role, raw json.RawMessage) bool {
		var s string
		return json.Unmarshal(raw, &s) == nil && decimalIs(&s, "98950")
	})
}

// checkLedger reads every participant's ledger: a participant's shows
// whole (the cell's set) and everyone else's is empty with totalCount 0.
func checkLedger(c *authzCell) {
	b := c.bullPenField(`participants { id ledger { totalCount edges { node { kind amount cashAfter buyingPowerAfter order { id } } } } }`)
	if b == nil {
		return
	}
	var out struct {
		Participants []struct {
			ID     string
			Ledger struct {
				TotalCount int
				Edges      []struct{ Node ledgerNode }
			}
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatal(err)
	}
	var shown []string
	for _, p := range out.Participants {
		who := roleP1
		if p.ID == c.room.seats[roleP2] {
			who = roleP2
		}
		l := p.Ledger
		if l.TotalCount == 0 && len(l.Edges) == 0 {
			continue
		}
		shown = append(shown, map[role]string{roleP1: "p1", roleP2: "p2"}[who])
		// Joined with 100000; bought 10 at 100 (no commission); a resting
		// buy of 1 at 50 holds 50 back.
		orders := c.room.orders[who]
		want := []string{
			"STARTING_CASH 100000 100000 100000 -",
			"BUY -1000 99000 99000 " + orders[0],
			"RESERVE -50 99000 98950 " + orders[1],
		}
		var got []string
		for _, e := range l.Edges {
			got = append(got, e.Node.line())
		}
		if l.TotalCount != len(want) || !slices.Equal(got, want) {
			c.t.Errorf("ledger of %s: totalCount %d, entries %q; want %q", who, l.TotalCount, got, want)
		}
	}
	slices.Sort(shown)
	got := strings.Join(shown, " ")
	if got == "" {
		got = "-"
	}
	if got != c.want {
		c.t.Errorf("ledger shown for %q, want %q (empty, totalCount 0, for the others)", got, c.want)
	}
}

func checkFigure(field, want string) func(c *authzCell) {
	return func(c *authzCell) {
		if b := c.bullPenField("participants { id " + field + " }"); b != nil {
			var out struct{ Participants []map[string]*string }
			if err := json.Unmarshal(b, &out); err != nil {
				c.t.Fatal(err)
			}
			if len(out.Participants) != 2 {
				c.t.Errorf("%d participants, want 2", len(out.Participants))
			}
			for _, p := range out.Participants {
				if !decimalIs(p[field], want) {
					c.t.Errorf("%s of participant %v = %v, want %s", field, *p["id"], p[field], want)
				}
			}
		}
	}
}

func checkRank(c *authzCell) {
	if b := c.bullPenField("participants { id rank }"); b != nil {
		for _, p := range decode[struct {
			Participants []struct {
				ID   string
				Rank *int
			}
		}](c, b).Participants {
			if p.Rank == nil || *p.Rank != 1 {
				c.t.Errorf("rank of %s = %v, want 1 (a tie)", p.ID, p.Rank)
			}
		}
	}
}

// checkParticipantMetrics: after one filled buy of 10 at 100 and one
// snapshot, each participant has one trade, no return, no drawdown, and too
// short a history for volatility, Sharpe or a win rate.
func checkParticipantMetrics(c *authzCell) {
	if b := c.bullPenField("participants { id metrics { totalReturn maxDrawdownPercent volatilityPercent sharpeRatio tradeCount winRate } }"); b != nil {
		ps := decode[struct {
			Participants []struct{ Metrics metricsJSON }
		}](c, b).Participants
		if len(ps) != 2 {
			c.t.Errorf("%d participants, want 2", len(ps))
		}
		for _, p := range ps {
			c.checkMetrics(p.Metrics)
		}
	}
}

type metricsJSON struct {
	TotalReturn, MaxDrawdownPercent         string
	VolatilityPercent, SharpeRatio, WinRate *string
	TradeCount                              int
}

func (c *authzCell) checkMetrics(m metricsJSON) {
	c.t.Helper()
	if !decimalIs(&m.TotalReturn, "0") || !decimalIs(&m.MaxDrawdownPercent, "0") || m.TradeCount != 1 ||
		m.VolatilityPercent != nil || m.SharpeRatio != nil || m.WinRate != nil {
		c.t.Errorf("metrics %+v, want totalReturn 0, drawdown 0, tradeCount 1, the rest null", m)
	}
}

// checkEquityHistory: one snapshot so far, at 100000 for both.
func checkEquityHistory(c *authzCell) {
	if b := c.bullPenField("participants { id equityHistory { at portfolioValue } }"); b != nil {
		ps := decode[struct {
			Participants []struct {
				EquityHistory []struct{ At, PortfolioValue string }
			}
		}](c, b).Participants
		if len(ps) != 2 {
			c.t.Errorf("%d participants, want 2", len(ps))
		}
		for _, p := range ps {
			if h := p.EquityHistory; len(h) != 1 || !decimalIs(&h[0].PortfolioValue, "100000") || h[0].At == "" {
				c.t.Errorf("equityHistory %+v, want one point at 100000", h)
			}
		}
	}
}

func checkEntryMetrics(c *authzCell) {
	if b := c.bullPenField("leaderboard { entries { metrics { totalReturn maxDrawdownPercent volatilityPercent sharpeRatio tradeCount winRate } } }"); b != nil {
		es := decode[struct {
			Leaderboard struct {
				Entries []struct{ Metrics metricsJSON }
			}
		}](c, b).Leaderboard.Entries
		if len(es) != 2 {
			c.t.Errorf("%d entries, want 2", len(es))
		}
		for _, e := range es {
			c.checkMetrics(e.Metrics)
		}
	}
}

// csvRows fetches an export of the cell's room; for a NOT_FOUND cell it
// checks the 404 is the one an unknown room gets (its id swapped) and
// returns nil.
func (c *authzCell) csvRows(export string) [][]string {
	c.t.Helper()
	path := func(id string) string { return "/rooms/" + id + "/" + export + ".csv" }
	r := c.ts.getCSV(c.t, c.token(), path(c.room.id))
	if c.want == notFound {
		u := c.ts.getCSV(c.t, c.token(), path(unknownID))
		if r.status != http.StatusNotFound || u.status != http.StatusNotFound || r.body != strings.ReplaceAll(u.body, unknownID, c.room.id) {
			c.t.Errorf("%d %q; an unknown room %d %q: want the same 404", r.status, r.body, u.status, u.body)
		}
		return nil
	}
	header := resultsHeader
	if export == "trades" {
		header = tradesHeader
	}
	return r.records(c.t, "bullpen-"+c.room.id+"-"+export+".csv", header)
}

func checkResultsCSV(c *authzCell) {
	rows := c.csvRows("results")
	if rows == nil {
		return
	}
	var users []string
	for _, row := range rows {
		users = append(users, row[1])
		if row[0] != "1" || !decimalIs(&row[2], "100000") || row[9] != "1" {
			c.t.Errorf("results row %q, want rank 1 (a tie), value 100000, 1 trade", row)
		}
	}
	if !sameSet(users, []string{roleP1.username(), roleP2.username()}) {
		c.t.Errorf("results of %v, want both players", users)
	}
}

func checkTradesCSV(c *authzCell) {
	rows := c.csvRows("trades")
	if rows == nil {
		return
	}
	var shown, ids, want []string
	for _, row := range rows {
		who := map[string]string{roleP1.username(): "p1", roleP2.username(): "p2"}[row[1]]
		shown = append(shown, who)
		ids = append(ids, row[7])
		if note := c.room.notes[row[7]]; row[12] != note {
			c.t.Errorf("trades.csv row of order %s: note %q, want %q", row[7], row[12], note)
		}
	}
	for _, p := range []role{roleP1, roleP2} {
		if seesTrades(c.kind, c.role, p) {
			want = append(want, c.room.orders[p][0]) // the filled buy; the resting one is no fill
		}
	}
	slices.Sort(shown)
	got := strings.Join(shown, " ")
	if got == "" {
		got = "-"
	}
	if got != c.want || !sameSet(ids, want) {
		c.t.Errorf("fills of %q (orders %v), want %q (orders %v)", got, ids, c.want, want)
	}
}

func checkQueryMe(c *authzCell) {
	r := c.do(`{ me { username } }`, nil)
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want none", r.Errors)
	}
	got := decode[struct{ Me *struct{ Username string } }](c, r.Data).Me
	switch {
	case c.want == null && got != nil:
		c.t.Errorf("me = %s, want null", r.Data)
	case c.want == self && (got == nil || got.Username != c.role.username()):
		c.t.Errorf("me = %s, want %s", r.Data, c.role.username())
	}
}

const eventLogQuery = `query($id: ID!, $after: Int) { ev: bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000) { __typename sequence } }`

// eventLog runs bullPenEventLog(afterSequence: after) for the cell's role.
func (c *authzCell) eventLog(id string, after int64) ([]string, []gqlError) {
	c.t.Helper()
	r := c.do(eventLogQuery, map[string]any{"id": id, "after": after})
	if len(r.Errors) > 0 {
		if len(r.Data) > 0 && string(r.Data) != "null" {
			c.t.Errorf("data %s alongside the error", r.Data)
		}
		return nil, r.Errors
	}
	var out struct {
		Ev []struct {
			Typename string `json:"__typename"`
			Sequence int64
		}
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		c.t.Fatalf("decode %s: %v", r.Data, err)
	}
	labels := []string{}
	for _, e := range out.Ev {
		labels = append(labels, strconv.FormatInt(e.Sequence, 10)+" "+e.Typename)
	}
	return labels, nil
}

// liquidatedCells: an order's LIQUIDATED event shows to whoever sees
// the participant's orders, in a room the caller may see.
var liquidatedCells = grid(
	by("-", "-", "p1", "p2", "p1 p2", "-"),
	by("-", "-", "p1 p2", "p1 p2", "p1 p2", "-"),
	by(notFound, notFound, "p1", "p2", "p1 p2", notFound),
)

func liquidatedRule(k roomKind, r role) string {
	if !sees(k, r) {
		return notFound
	}
	return tradeSet(k, r)
}

// checkMaintenanceMargin reads the rule of a room that has one: public,
// like every room rule.
func checkMaintenanceMargin(c *authzCell) {
	c.room = c.w.liquidated[c.kind]
	if b := c.bullPenField("maintenanceMarginPercent"); b != nil {
		if got := decode[struct{ MaintenanceMarginPercent *string }](c, b).MaintenanceMarginPercent; !decimalIs(got, "25") {
			c.t.Errorf("maintenanceMarginPercent %v, want 25", got)
		}
	}
}

// checkCarryingCosts reads the carrying costs of a room that has them
// (the liquidation rooms): public, like every room setting.
func checkCarryingCosts(c *authzCell) {
	c.room = c.w.liquidated[c.kind]
	if b := c.bullPenField("cashInterestPercent marginInterestPercent borrowFeePercent"); b != nil {
		got := decode[struct{ CashInterestPercent, MarginInterestPercent, BorrowFeePercent *string }](c, b)
		if !decimalIs(got.CashInterestPercent, "3.65") || !decimalIs(got.MarginInterestPercent, "7.3") || !decimalIs(got.BorrowFeePercent, "10.95") {
			c.t.Errorf("carrying costs %v %v %v, want 3.65 7.3 10.95", got.CashInterestPercent, got.MarginInterestPercent, got.BorrowFeePercent)
		}
	}
}

// checkTradingHours reads a room's trading hours: the settings and
// where they stand at the server's clock, the same for whoever sees the
// room.
func checkTradingHours(c *authzCell) {
	c.room = c.w.hours[c.kind]
	b := c.bullPenField("tradingHours { timeZone open close days isOpen nextOpen nextClose }")
	if b == nil {
		return
	}
	type hours struct {
		TimeZone, Open, Close string
		Days                  []string
		IsOpen                bool
		NextOpen, NextClose   *string
	}
	got := decode[struct{ TradingHours *hours }](c, b).TradingHours
	st := authzHours.At(c.w.ts.clock.Now())
	want := hours{TimeZone: "America/New_York", Open: "09:30", Close: "16:00", Days: []string{"MON", "TUE", "WED", "THU", "FRI"},
		IsOpen: st.IsOpen, NextOpen: ptrTo(st.NextOpen.Format(timeMillis)), NextClose: ptrTo(st.NextClose.Format(timeMillis))}
	if got == nil || got.TimeZone != want.TimeZone || got.Open != want.Open || got.Close != want.Close || !slices.Equal(got.Days, want.Days) ||
		got.IsOpen != want.IsOpen || got.NextOpen == nil || *got.NextOpen != *want.NextOpen || got.NextClose == nil || *got.NextClose != *want.NextClose {
		c.t.Errorf("tradingHours %+v, want %+v", got, want)
	}
}

func ptrTo[T any](v T) *T { return &v }

// timeMillis is how the Time scalar writes a time (UTC).
const timeMillis = "2006-01-02T15:04:05.000Z"

// checkAfterHours reads a room's afterHours policy.
func checkAfterHours(c *authzCell) {
	c.room = c.w.hours[c.kind]
	if b := c.bullPenField("afterHours"); b != nil {
		if got := decode[struct{ AfterHours string }](c, b).AfterHours; got != "REJECT" {
			c.t.Errorf("afterHours %q, want REJECT", got)
		}
	}
}

// checkMaxQuoteAge reads a room's maxQuoteAgeSeconds.
func checkMaxQuoteAge(c *authzCell) {
	c.room = c.w.hours[c.kind]
	if b := c.bullPenField("maxQuoteAgeSeconds"); b != nil {
		if got := decode[struct{ MaxQuoteAgeSeconds *int }](c, b).MaxQuoteAgeSeconds; got == nil || *got != 120 {
			c.t.Errorf("maxQuoteAgeSeconds %v, want 120", got)
		}
	}
}

const liquidatedLogQuery = `query($id: ID!) { ev: bullPenEventLog(bullPenId: $id, limit: 1000, kinds: [ORDER]) { sequence ... on OrderEvent { kind } } }`

// checkLiquidatedEvents reads the LIQUIDATED order events of the room
// where P1's and P2's shorts were liquidated.
func checkLiquidatedEvents(c *authzCell) {
	room := c.w.liquidated[c.kind]
	data := c.roomRead(liquidatedLogQuery, room.id)
	if data == nil {
		return
	}
	var seen struct {
		Ev []struct {
			Sequence int64
			Kind     string
		}
	}
	if err := json.Unmarshal(data, &seen); err != nil {
		c.t.Fatalf("decode %s: %v", data, err)
	}
	var got []int64
	for _, e := range seen.Ev {
		if e.Kind == "LIQUIDATED" {
			got = append(got, e.Sequence)
		}
	}
	var want []int64
	for _, l := range liquidatedEvents(room) {
		seq, class, _ := strings.Cut(l, " ")
		if slices.Contains(strings.Fields(c.want), class) {
			n, _ := strconv.ParseInt(seq, 10, 64)
			want = append(want, n)
		}
	}
	if !slices.Equal(got, want) {
		c.t.Errorf("LIQUIDATED events at %v, want %v (%s; the room's: %v)", got, want, c.want, liquidatedEvents(room))
	}
}

func checkEventLog(c *authzCell) {
	got, errs := c.eventLog(c.room.id, 0)
	if isErrorCode(c.want) {
		c.expectError(errs, c.room.id, func() []gqlError { _, u := c.eventLog(unknownID, 0); return u })
		return
	}
	if len(errs) > 0 {
		c.t.Fatalf("errors %+v, want events %s", errs, c.want)
	}
	if want := c.room.expectedLabels(c.room.events, nil, c.want); !slices.Equal(got, want) {
		c.t.Errorf("log %v, want %v (%s; the room's log: %s)", got, want, c.want, c.room.describe(c.room.events))
	}
}

// stream runs a subscription over transport for the cell's role.
func (c *authzCell) stream(transport, query string, vars map[string]any) *streamOp {
	c.t.Helper()
	if transport == "SSE" {
		return c.ts.openSSE(c.t, c.token(), query, vars)
	}
	m := c.ts.openWS(c.t, c.token())
	if !m.waitAck() {
		c.t.Fatalf("no connection_ack (close code %d)", m.code)
	}
	return m.subscribe(query, vars)
}

// refusal runs a subscription expected to be refused and returns its errors.
func (c *authzCell) refusal(transport, query string, vars map[string]any) []gqlError {
	c.t.Helper()
	op := c.stream(transport, query, vars)
	op.waitUntil(streamWait, settled)
	return op.snapshot().errs
}

const replayQuery = `subscription($id: ID!, $after: Int) { ev: bullPenEvents(bullPenId: $id, afterSequence: $after) { __typename sequence } }`

func checkReplay(transport string) func(c *authzCell) {
	return func(c *authzCell) {
		log, logErrs := c.eventLog(c.room.id, 0)
		op := c.stream(transport, replayQuery, map[string]any{"id": c.room.id, "after": 0})
		last := c.room.lastSequence()
		// The room's last event (its leaderboard) is one everybody who sees
		// the room receives: once it is in, the replay is complete.
		op.waitUntil(streamWait, func(s streamSnapshot) bool {
			return settled(s) || slices.ContainsFunc(s.eventLabels(), func(l string) bool { return strings.HasPrefix(l, strconv.FormatInt(last, 10)+" ") })
		})
		s := op.snapshot()
		if isErrorCode(c.want) {
			if len(s.events) > 0 {
				c.t.Errorf("replayed %v, want the error %s", s.eventLabels(), c.want)
			}
			c.expectError(s.errs, c.room.id, func() []gqlError {
				return c.refusal(transport, replayQuery, map[string]any{"id": unknownID, "after": 0})
			})
			if len(logErrs) == 0 || logErrs[0].Extensions["code"] != c.want {
				c.t.Errorf("bullPenEventLog gave %v %+v where the replay must fail with %s", log, logErrs, c.want)
			}
			return
		}
		if len(s.errs) > 0 || s.fault != "" {
			c.t.Errorf("replay errors %+v %s, want events", s.errs, s.fault)
		}
		got := s.eventLabels()
		want := c.room.expectedLabels(c.room.events, nil, c.want)
		if !slices.Equal(got, want) {
			c.t.Errorf("replay %v, want %v (%s; the room's log: %s)", got, want, c.want, c.room.describe(c.room.events))
		}
		if len(logErrs) > 0 || !slices.Equal(got, log) {
			c.t.Errorf("replay %v but bullPenEventLog %v %+v for the same caller", got, log, logErrs)
		}
	}
}

func checkLogBeyondLast(c *authzCell) {
	after := c.room.lastSequence() + 5
	got, errs := c.eventLog(c.room.id, after)
	if len(errs) == 0 {
		c.t.Errorf("log after %d = %v, want %s", after, got, c.want)
		return
	}
	c.expectError(errs, c.room.id, func() []gqlError { _, u := c.eventLog(unknownID, after); return u })
}

// beyondLastPhase opens bullPenEvents(afterSequence: lastSequence + 5)
// for every role, room kind and transport at once, so that a server that
// stays silent (instead of refusing) costs one wait, not one per cell.
func (w *authzWorld) beyondLastPhase(t *testing.T) {
	ts := w.ts.with(t)
	ops := map[beyondKey]*streamOp{}
	for _, r := range allRoles {
		m := ts.openWS(t, w.tokens[r])
		if !m.waitAck() {
			t.Fatalf("%s: no connection_ack", r)
		}
		for _, k := range allKinds {
			vars := map[string]any{"id": w.rooms[k].id, "after": w.rooms[k].lastSequence() + 5}
			ops[beyondKey{"WebSocket", k, r}] = m.subscribe(replayQuery, vars)
			ops[beyondKey{"SSE", k, r}] = ts.openSSE(t, w.tokens[r], replayQuery, vars)
		}
	}
	deadline := time.Now().Add(streamWait)
	for _, op := range ops {
		op.waitUntil(time.Until(deadline), settled)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, op := range ops {
		w.beyond[key] = op.snapshot()
	}
}

type beyondKey struct {
	transport string
	kind      roomKind
	role      role
}

func checkStreamBeyondLast(transport string) func(c *authzCell) {
	return func(c *authzCell) {
		c.w.mu.Lock()
		s, ok := c.w.beyond[beyondKey{transport, c.kind, c.role}]
		c.w.mu.Unlock()
		if !ok {
			c.t.Fatal("no result: BeyondLastSetup failed")
		}
		after := c.room.lastSequence() + 5
		if len(s.events) > 0 {
			c.t.Errorf("events %v, want the error %s", s.eventLabels(), c.want)
		}
		if len(s.errs) == 0 && !s.ended {
			c.t.Errorf("no error within %s: the subscription waits silently past lastSequence %d", streamWait, c.room.lastSequence())
			return
		}
		c.expectError(s.errs, c.room.id, func() []gqlError {
			return c.refusal(transport, replayQuery, map[string]any{"id": unknownID, "after": after})
		})
	}
}

func liveQuery(field, transport string) string {
	// The operation name keeps anonymous WebSocket and SSE subscriptions
	// from sharing one execution, so each is one hub subscriber.
	return fmt.Sprintf(`subscription Live%s($id: ID!) { ev: %s(bullPenId: $id) { __typename sequence } }`, transport, field)
}

// livePhase subscribes every role to every room subscription over both
// transports, one at a time, each until the server has refused it or the
// hub counts it; then P1 and P2 each fill an order, a leaderboard is
// taken, and the owner pauses and resumes the room, twice. It records what
// each subscription received of the first round for the live rows, once
// an event of the second has arrived (a barrier, never a sleep).
func (w *authzWorld) livePhase(t *testing.T, k roomKind) {
	ts := w.ts.with(t)
	room := w.rooms[k]
	eventually(t, "earlier subscriptions to end", func() bool { return ts.events.Stats().Subscribers == 0 })
	var muxes [6]*wsMux
	for _, r := range allRoles {
		muxes[r] = ts.openWS(t, w.tokens[r])
		if !muxes[r].waitAck() {
			t.Fatalf("%s: no connection_ack", r)
		}
	}
	ops := map[liveKey]*streamOp{}
	for i, sub := range liveSubscriptions {
		for _, r := range allRoles {
			for _, tr := range transports {
				before := ts.events.Stats().Subscribers
				vars := map[string]any{"id": room.id}
				var op *streamOp
				if tr == "SSE" {
					op = ts.openSSE(t, w.tokens[r], liveQuery(sub.field, tr), vars)
				} else {
					op = muxes[r].subscribe(liveQuery(sub.field, tr), vars)
				}
				if !op.waitUntil(streamWait, func(s streamSnapshot) bool { return settled(s) || ts.events.Stats().Subscribers > before }) {
					op.end(fmt.Sprintf("neither refused nor subscribed within %s", streamWait))
				}
				ops[liveKey{k, i, tr, r}] = op
			}
		}
	}
	// From the store: nothing but this phase may have added to the log.
	logged := w.rawEvents(t, room, 0)
	base := logged[len(logged)-1].Sequence
	// One round of changes: P1 and P2 each fill an order, a leaderboard is
	// taken, the owner pauses and resumes the room.
	round := func(from int64) []*game.Event {
		t.Helper()
		for _, p := range []role{roleP1, roleP2} {
			w.placeOrder(t, p, room, map[string]any{"quantity": 1}, "FILLED")
		}
		if err := ts.svc.RefreshLeaderboards(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"pauseBullPen", "resumeBullPen"} {
			ts.must(w.tokens[roleOwner], `mutation($id: ID!) { `+m+`(id: $id) { state } }`, map[string]any{"id": room.id}, nil)
		}
		evs := w.rawEvents(t, room, from)
		want := fmt.Sprintf("%d:ORDER/p1 %d:POSITION/p1 %d:ORDER/p2 %d:POSITION/p2 %d:LEADERBOARD/board %d:ROOM_STATE/state %d:ROOM_STATE/state",
			from+1, from+2, from+3, from+4, from+5, from+6, from+7)
		if got := room.describe(evs); got != want {
			t.Fatalf("live events %s, want %s", got, want)
		}
		return evs
	}
	evs := round(base)
	last := evs[len(evs)-1].Sequence
	w.mu.Lock()
	w.liveEvents[k] = evs
	w.mu.Unlock()
	// A second round is the barrier: it gives every subscription that may
	// receive anything the same kinds of event as the first, and each
	// subscription receives its events in sequence order, so once one of
	// the second round's has arrived, whatever it would (wrongly) get of
	// the first has arrived before it. What is checked is the first round.
	round(last)
	deadline := time.Now().Add(streamWait)
	for key, op := range ops {
		if !op.waitUntil(time.Until(deadline), func(s streamSnapshot) bool { return settled(s) || s.lastSequence() > last }) {
			cell := liveSubscriptions[key.sub].want[k][key.role]
			if !isErrorCode(cell) {
				op.end(fmt.Sprintf("no event of the second round within %s", streamWait))
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, op := range ops {
		w.live[key] = op.snapshot().upTo(last)
	}
}

// lastSequence is the sequence of the newest event received (0 if none).
func (s streamSnapshot) lastSequence() int64 {
	var last int64
	for _, d := range s.events {
		var v struct {
			Ev *struct {
				Sequence int64 `json:"sequence"`
			} `json:"ev"`
		}
		if json.Unmarshal(d, &v) == nil && v.Ev != nil {
			last = max(last, v.Ev.Sequence)
		}
	}
	return last
}

// upTo keeps the events received up to sequence last (and everything
// that is not an event, which the checks then report).
func (s streamSnapshot) upTo(last int64) streamSnapshot {
	kept := s.events[:0:0]
	for _, d := range s.events {
		var v struct {
			Ev *struct {
				Sequence int64 `json:"sequence"`
			} `json:"ev"`
		}
		if json.Unmarshal(d, &v) == nil && v.Ev != nil && v.Ev.Sequence > last {
			continue
		}
		kept = append(kept, d)
	}
	s.events = kept
	return s
}

func checkLive(sub int, transport string) func(c *authzCell) {
	return func(c *authzCell) {
		c.w.mu.Lock()
		s, ok := c.w.live[liveKey{c.kind, sub, transport, c.role}]
		evs := c.w.liveEvents[c.kind]
		c.w.mu.Unlock()
		if !ok {
			c.t.Fatal("no result: LiveSetup failed")
		}
		field := liveSubscriptions[sub].field
		if isErrorCode(c.want) {
			if len(s.events) > 0 {
				c.t.Errorf("received %v, want the error %s", s.eventLabels(), c.want)
			}
			c.expectError(s.errs, c.room.id, func() []gqlError {
				return c.refusal(transport, liveQuery(field, transport), map[string]any{"id": unknownID})
			})
			return
		}
		if len(s.errs) > 0 || s.fault != "" {
			c.t.Errorf("errors %+v %s, want events", s.errs, s.fault)
		}
		want := c.room.expectedLabels(evs, liveSubscriptions[sub].kinds, c.want)
		if got := s.eventLabels(); !slices.Equal(got, want) {
			c.t.Errorf("received %v, want %v (%s; the events caused: %s)", got, want, c.want, c.room.describe(evs))
		}
	}
}

// Checks of the write rows.

// mutate runs a mutation whose single field is aliased m and returns m's
// object, or the errors.
func (c *authzCell) mutate(query string, vars map[string]any) (json.RawMessage, []gqlError) {
	c.t.Helper()
	r := c.do(query, vars)
	if len(r.Errors) > 0 {
		if len(r.Data) > 0 && string(r.Data) != "null" {
			c.t.Errorf("data %s alongside the error", r.Data)
		}
		return nil, r.Errors
	}
	var out struct{ M json.RawMessage }
	if err := json.Unmarshal(r.Data, &out); err != nil {
		c.t.Fatalf("decode %s: %v", r.Data, err)
	}
	return out.M, nil
}

func (c *authzCell) storeRoom(id string) *game.BullPen {
	c.t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	b, err := c.w.store.BullPen(c.t.Context(), n)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

const joinMutation = `mutation($id: ID!, $code: String) { m: joinBullPen(bullPenId: $id, inviteCode: $code) { id user { username } } }`

func checkJoin(code string) func(c *authzCell) {
	return func(c *authzCell) {
		room := c.w.newRoom(c.t, c.kind, "SCHEDULED")
		vars := func(id string) map[string]any {
			v := map[string]any{"id": id}
			switch code {
			case "right":
				v["code"] = room.inviteCode
			case "wrong":
				v["code"] = "NOT-THE-CODE"
			}
			return v
		}
		got, errs := c.mutate(joinMutation, vars(room.id))
		seats := 2
		if c.want == allowed {
			if len(errs) > 0 {
				c.t.Fatalf("errors %+v, want to join", errs)
			}
			p := decode[struct {
				ID   string
				User struct{ Username string }
			}](c, got)
			if p.User.Username != c.role.username() || c.role.member() && p.ID != room.seats[c.role] {
				c.t.Errorf("joined as %+v, want %s's seat", p, c.role.username())
			}
			if !c.role.member() {
				seats = 3
			}
		} else {
			c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(joinMutation, vars(unknownID)); return u })
		}
		n, _ := strconv.ParseInt(room.id, 10, 64)
		if count, err := c.w.store.ParticipantCount(c.t.Context(), n); err != nil || count != seats {
			c.t.Errorf("the room has %d participants (%v), want %d", count, err, seats)
		}
	}
}

func checkMove(field, from, to string) func(c *authzCell) {
	query := `mutation($id: ID!) { m: ` + field + `(id: $id) { id state } }`
	return func(c *authzCell) {
		room := c.w.newRoom(c.t, c.kind, from)
		got, errs := c.mutate(query, map[string]any{"id": room.id})
		after := from
		if c.want == allowed {
			if len(errs) > 0 {
				c.t.Fatalf("errors %+v, want %s -> %s", errs, from, to)
			}
			if s := decode[struct{ State string }](c, got).State; s != to {
				c.t.Errorf("state %s, want %s", s, to)
			}
			after = to
		} else {
			c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(query, map[string]any{"id": unknownID}); return u })
		}
		if s := string(c.storeRoom(room.id).State); s != after {
			c.t.Errorf("the room is %s, want %s", s, after)
		}
	}
}

const cloneMutation = `mutation($id: ID!, $e: Time!) { m: cloneBullPen(id: $id, endsAt: $e) { id state visibility tradeVisibility inviteCode } }`

// checkClone: the owner gets a rematch with the room's settings; anyone
// else gets the error and no room is made.
func checkClone(c *authzCell) {
	room := c.w.newRoom(c.t, c.kind, "SCHEDULED")
	newest := func() int64 {
		owner, _ := strconv.ParseInt(c.w.userIDs[roleOwner], 10, 64)
		rooms, _, err := c.w.store.BullPens(c.t.Context(), game.BullPenFilter{ViewerID: owner, Limit: 1})
		if err != nil || len(rooms) == 0 {
			c.t.Fatalf("newest room: %v", err)
		}
		return rooms[0].ID
	}
	before := newest()
	vars := func(id string) map[string]any { return map[string]any{"id": id, "e": fmtTime(t0.Add(3 * time.Hour))} }
	got, errs := c.mutate(cloneMutation, vars(room.id))
	if c.want != allowed {
		c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(cloneMutation, vars(unknownID)); return u })
		if after := newest(); after != before {
			c.t.Errorf("room %d was made by a refused clone", after)
		}
		return
	}
	if len(errs) > 0 {
		c.t.Fatalf("errors %+v, want the clone", errs)
	}
	b := decode[struct{ ID, State, Visibility, TradeVisibility, InviteCode string }](c, got)
	if b.ID == room.id || b.State != "ACTIVE" || b.Visibility != c.kind.visibility() || b.TradeVisibility != c.kind.tradeVisibility() ||
		b.InviteCode == "" || b.InviteCode == room.inviteCode {
		c.t.Errorf("clone %+v of room %s (%s)", b, room.id, c.kind)
	}
}

const placeOrderAliased = `mutation($in: PlaceOrderInput!) { m: placeOrder(input: $in) { id status } }`

func checkPlaceOrder(c *authzCell) {
	room := c.w.sharedRoom(c.t, "placeOrder", c.kind, "ACTIVE")
	in := func(id string) map[string]any {
		return map[string]any{"in": map[string]any{"bullPenId": id, "symbol": "AAPL", "side": "BUY", "quantity": 1}}
	}
	got, errs := c.mutate(placeOrderAliased, in(room.id))
	if c.want != allowed {
		c.expectError(errs, room.id, func() []gqlError { _, u := c.mutate(placeOrderAliased, in(unknownID)); return u })
		return
	}
	if len(errs) > 0 {
		c.t.Fatalf("errors %+v, want the order", errs)
	}
	if s := decode[struct{ Status string }](c, got).Status; s != "FILLED" {
		c.t.Errorf("order %s, want FILLED", got)
	}
}

const cancelOrderMutation = `mutation($o: ID!) { m: cancelOrder(orderId: $o) { id status } }`

func checkCancelOrder(of role) func(c *authzCell) {
	return func(c *authzCell) {
		room := c.w.sharedRoom(c.t, "cancelOrder", c.kind, "ACTIVE")
		order := c.w.placeOrder(c.t, of, room, map[string]any{"quantity": 1, "type": "LIMIT", "limitPrice": "50"}, "OPEN")
		got, errs := c.mutate(cancelOrderMutation, map[string]any{"o": order})
		status := "OPEN"
		if c.want == allowed {
			if len(errs) > 0 {
				c.t.Fatalf("errors %+v, want the order cancelled", errs)
			}
			if s := decode[struct{ Status string }](c, got).Status; s != "CANCELLED" {
				c.t.Errorf("order %s, want CANCELLED", got)
			}
			status = "CANCELLED"
		} else {
			c.expectError(errs, order, func() []gqlError { _, u := c.mutate(cancelOrderMutation, map[string]any{"o": unknownID}); return u })
		}
		n, _ := strconv.ParseInt(order, 10, 64)
		if o, err := c.w.store.Order(c.t.Context(), n); err != nil || string(o.Status) != status {
			c.t.Errorf("the order is %v (%v), want %s", o, err, status)
		}
	}
}

func checkSetQuote(c *authzCell) {
	price := strconv.Itoa(200 + 10*int(c.kind) + int(c.role))
	got, errs := c.mutate(`mutation($p: Decimal!) { m: setQuote(symbol: "MSFT", price: $p) { symbol price } }`, map[string]any{"p": price})
	if c.want == allowed {
		if len(errs) > 0 {
			c.t.Fatalf("errors %+v, want the quote set", errs)
		}
		if q := decode[struct{ Price string }](c, got); !decimalIs(&q.Price, price) {
			c.t.Errorf("quote %s, want price %s", got, price)
		}
	} else {
		c.expectError(errs, "", nil)
	}
	q, err := c.w.store.Quote(c.t.Context(), "MSFT")
	set := err == nil && q.Price.Equal(decimal.RequireFromString(price))
	if set != (c.want == allowed) {
		c.t.Errorf("MSFT is %v (%v) after the attempt to set %s (%s)", q, err, price, c.want)
	}
}

// signInAgain opens a new session of the cell's role and returns its token.
func (c *authzCell) signInAgain() string {
	c.t.Helper()
	var in struct{ SignIn struct{ Token string } }
	c.ts.must("", `mutation($u: String!) { signIn(input: {username: $u, password: "password123"}) { token } }`, map[string]any{"u": c.role.username()}, &in)
	return in.SignIn.Token
}

// meIs checks what `me` answers with token: the role's user, or (want
// "") a 401 UNAUTHENTICATED as for any bad token.
func (c *authzCell) meIs(token, want string) {
	c.t.Helper()
	r := c.ts.do(token, `{ me { username } }`, nil)
	if want == "" {
		if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != unauthed || leaked(r.Data) {
			c.t.Errorf("a signed-out token: data %s, errors %+v; want UNAUTHENTICATED", r.Data, r.Errors)
		}
		return
	}
	var out struct{ Me *struct{ Username string } }
	if len(r.Errors) > 0 || json.Unmarshal(r.Data, &out) != nil || out.Me == nil || out.Me.Username != want {
		c.t.Errorf("me = %s, errors %+v; want %s", r.Data, r.Errors, want)
	}
}

// checkSignOut: signOut ends the session of the token it is sent with,
// and no other.
func checkSignOut(c *authzCell) {
	if c.want != allowed {
		_, errs := c.mutate(`mutation { m: signOut }`, nil)
		c.expectError(errs, "", nil)
		return
	}
	fresh := c.signInAgain()
	r := c.ts.do(fresh, `mutation { signOut }`, nil)
	if len(r.Errors) > 0 || string(r.Data) != `{"signOut":true}` {
		c.t.Fatalf("signOut: data %s, errors %+v", r.Data, r.Errors)
	}
	c.meIs(fresh, "")
	c.meIs(c.token(), c.role.username()) // the role's other session lives on
}

// checkRenewToken: a fresh token of the same session, for the caller.
func checkRenewToken(c *authzCell) {
	got, errs := c.mutate(`mutation { m: renewToken { token user { username } } }`, nil)
	if c.want != allowed {
		c.expectError(errs, "", nil)
		return
	}
	if len(errs) > 0 {
		c.t.Fatalf("errors %+v", errs)
	}
	p := decode[struct {
		Token string
		User  struct{ Username string }
	}](c, got)
	if p.User.Username != c.role.username() || p.Token == "" {
		c.t.Fatalf("renewToken = %s", got)
	}
	if tokenClaims(c.t, p.Token).ID != tokenClaims(c.t, c.token()).ID {
		c.t.Errorf("the renewed token names another session")
	}
	c.meIs(p.Token, c.role.username())
	c.meIs(c.token(), c.role.username())
}

// checkSignOutEverywhere: every session of the caller ends; the role then
// signs in again for the cells that follow.
func checkSignOutEverywhere(c *authzCell) {
	if c.want != allowed {
		_, errs := c.mutate(`mutation { m: signOutEverywhere }`, nil)
		c.expectError(errs, "", nil)
		return
	}
	other := c.signInAgain()
	got, errs := c.mutate(`mutation { m: signOutEverywhere }`, nil)
	if len(errs) > 0 || string(got) != "true" {
		c.t.Fatalf("signOutEverywhere = %s, errors %+v", got, errs)
	}
	c.meIs(c.token(), "")
	c.meIs(other, "")
	c.w.tokens[c.role] = c.signInAgain()
	c.meIs(c.token(), c.role.username())
}

// checkBadTokens: a garbage, tampered, alg-none, wrongly signed or expired
// token, or one of no session, another user's or a signed-out one,
// token is refused everywhere: UNAUTHENTICATED with no data over HTTP,
// close 4403 on WebSocket, an UNAUTHENTICATED error and no events over
// SSE. Never a fallback to anonymous.
func (w *authzWorld) checkBadTokens(t *testing.T) {
	ts := w.ts.with(t)
	p1 := w.userIDs[roleP1]
	hs256 := jwt.SigningMethodHS256
	// A token made here the way the server makes them must work, or the
	// bad ones below prove nothing.
	session := tokenClaims(t, w.tokens[roleP1]).ID // P1's live session
	control := signToken(t, hs256, []byte(authzSecret), p1, session, t0, t0.Add(time.Hour))
	var me struct{ Me *struct{ Username string } }
	ts.must(control, `{ me { username } }`, nil, &me)
	if me.Me == nil || me.Me.Username != roleP1.username() {
		t.Fatalf("a token signed here is not accepted as %s: me = %+v", roleP1.username(), me.Me)
	}
	tokens := []struct{ name, token string }{
		{"Garbage", "garbage"},
		{"TamperedPayload", tamperPayload(t, w.tokens[roleP1], w.userIDs[roleAdmin])},
		{"TamperedSignature", tamperSignature(t, w.tokens[roleP1])},
		{"AlgNone", signToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, p1, session, t0, t0.Add(time.Hour))},
		{"WrongKey", signToken(t, hs256, []byte("some-other-secret-0123456789abcd"), p1, session, t0, t0.Add(time.Hour))},
		{"Expired", signToken(t, hs256, []byte(authzSecret), p1, session, t0.Add(-31*24*time.Hour), t0.Add(-time.Minute))},
		{"NoSession", signToken(t, hs256, []byte(authzSecret), p1, "", t0, t0.Add(time.Hour))},
		{"UnknownSession", signToken(t, hs256, []byte(authzSecret), p1, "0123456789abcdef0123456789abcdef", t0, t0.Add(time.Hour))},
		{"OtherUsersSession", signToken(t, hs256, []byte(authzSecret), w.userIDs[roleAdmin], session, t0, t0.Add(time.Hour))},
		{"SignedOut", w.signedOutToken(t, roleP1)},
	}
	room := w.rooms[kindPublic] // anonymous callers get data here: a fallback would show
	vars := map[string]any{"id": room.id}
	ops := []struct {
		name, query string
		vars        map[string]any
	}{
		{"Query.me", `{ me { id username } }`, nil},
		{"Query.bullPen", `query($id: ID!) { bullPen(id: $id) { id name lastSequence } }`, vars},
		{"Query.bullPens", `{ bullPens(first: 100) { totalCount edges { node { id } } } }`, nil},
		{"Query.bullPenEventLog", `query($id: ID!) { bullPenEventLog(bullPenId: $id, afterSequence: 0) { sequence } }`, vars},
		{"Query.instruments", `{ instruments { symbol } }`, nil},
		{"Mutation.joinBullPen", `mutation($id: ID!) { joinBullPen(bullPenId: $id) { id } }`, vars},
		{"Mutation.placeOrder", `mutation($id: ID!) { placeOrder(input: {bullPenId: $id, symbol: "AAPL", side: BUY, quantity: 1}) { id } }`, vars},
	}
	for _, tok := range tokens {
		t.Run(tok.name, func(t *testing.T) {
			for _, op := range ops {
				t.Run("HTTP/"+op.name, func(t *testing.T) {
					r := w.ts.with(t).do(tok.token, op.query, op.vars)
					if len(r.Errors) == 0 {
						t.Fatalf("no error, data %s; want UNAUTHENTICATED", r.Data)
					}
					for _, e := range r.Errors {
						if e.Extensions["code"] != unauthed {
							t.Errorf("error code %v (%q), want UNAUTHENTICATED", e.Extensions["code"], e.Message)
						}
					}
					if leaked(r.Data) {
						t.Errorf("data %s alongside UNAUTHENTICATED", r.Data)
					}
				})
			}
			for _, init := range []struct {
				name    string
				payload map[string]any
			}{
				{"WebSocket(authorization)", map[string]any{"authorization": "Bearer " + tok.token}},
				{"WebSocket(authToken)", map[string]any{"authToken": tok.token}},
			} {
				t.Run(init.name, func(t *testing.T) {
					m := w.ts.with(t).openWSWith(t, init.payload)
					if code := m.closeCode(); code != 4403 {
						m.mu.Lock()
						acked := m.acked
						m.mu.Unlock()
						t.Errorf("close code %d (acknowledged: %v), want 4403", code, acked)
					}
				})
			}
			t.Run("WebSocket(upgrade header)", func(t *testing.T) {
				m := w.ts.with(t).openWSUpgraded(t, tok.token)
				m.write(map[string]any{"type": "connection_init", "payload": map[string]any{}})
				if code := m.closeCode(); code != 4403 {
					t.Errorf("close code %d, want 4403", code)
				}
			})
			t.Run("SSE", func(t *testing.T) {
				op := w.ts.with(t).openSSE(t, tok.token, replayQuery, map[string]any{"id": room.id, "after": 0})
				op.waitUntil(streamWait, settled)
				s := op.snapshot()
				if len(s.events) > 0 {
					t.Errorf("events %v, want none", s.eventLabels())
				}
				if len(s.errs) == 0 || s.errs[0].Extensions["code"] != unauthed {
					t.Errorf("errors %+v (%s), want UNAUTHENTICATED", s.errs, s.fault)
				}
			})
		})
	}
}

// checkSignedOutAfterUpgrade: a WebSocket upgraded with a live token
// whose session then ends (signOut, signOutEverywhere) is closed with 4403
// without a connection_init, and refused at one sent after: the upgrade's
// check never stands in for the session.
func (w *authzWorld) checkSignedOutAfterUpgrade(t *testing.T) {
	for i, signOut := range []string{`mutation { signOut }`, `mutation { signOutEverywhere }`} {
		t.Run(strings.Fields(signOut)[2], func(t *testing.T) {
			signedOutBeforeInit(t, w.ts, w.ts, fmt.Sprintf("upgraded%d", i), signOut)
		})
	}
}

// signedOutToken signs r in afresh and signs that session out.
func (w *authzWorld) signedOutToken(t *testing.T, r role) string {
	t.Helper()
	ts := w.ts.with(t)
	var in struct{ SignIn struct{ Token string } }
	ts.must("", `mutation($u: String!) { signIn(input: {username: $u, password: "password123"}) { token } }`, map[string]any{"u": r.username()}, &in)
	var out struct{ SignOut bool }
	ts.must(in.SignIn.Token, `mutation { signOut }`, nil, &out)
	if !out.SignOut {
		t.Fatal("signOut answered false")
	}
	return in.SignIn.Token
}

// leaked reports whether data holds anything but nulls at its top level.
func leaked(data json.RawMessage) bool {
	if len(data) == 0 || string(data) == "null" {
		return false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return true
	}
	for _, v := range fields {
		if string(v) != "null" {
			return true
		}
	}
	return false
}

// roomRead runs query (whose one variable $id is the room) on room id. For
// a cell that wants an error it checks the error, which must be the same
// as for an unknown room's, and returns nil; otherwise it fails on errors
// and returns the data.
func (c *authzCell) roomRead(query, id string) json.RawMessage {
	c.t.Helper()
	r := c.do(query, map[string]any{"id": id})
	if isErrorCode(c.want) {
		c.expectError(r.Errors, id, func() []gqlError { return c.do(query, map[string]any{"id": unknownID}).Errors })
		return nil
	}
	if len(r.Errors) > 0 {
		c.t.Fatalf("errors %+v, want %s", r.Errors, c.want)
	}
	return r.Data
}
