package game

// What an event shows alike to everyone who may receive it. The rule set
// above decides who receives an event (Viewer.Sees); the table below says
// which parts of it, by the API's type and field names, then answer the
// same for each of them: the event as logged, and what the leaderboard
// shows to whoever sees the room. A subscription whose every field is
// here may be executed once for all its receivers (graph's subscription
// groups); any other field (a participant's positions or buying power, a
// room's invite code, me, orders, anything added later) makes it run per
// receiver.
//
// A rule that makes one of these fields answer differently by viewer must
// take it out of the table. The authorization matrix proves the table
// (e2e's TestAuthzSharedFields): every field here, read by every role
// that receives the event, in every kind of room, answers byte for byte
// alike.
var sharedFields = map[string]map[string]bool{
	"BullPenEvent":     fieldSet("sequence", "bullPenId", "occurredAt"),
	"OrderEvent":       fieldSet("sequence", "bullPenId", "occurredAt", "kind", "order"),
	"PositionEvent":    fieldSet("sequence", "bullPenId", "occurredAt", "position", "participantId"),
	"LeaderboardEvent": fieldSet("sequence", "bullPenId", "occurredAt", "snapshot"),
	"RoomStateEvent": fieldSet("sequence", "bullPenId", "occurredAt", "previousState", "state", "trigger", "actor",
		"startsAt", "endsAt", "elapsedSeconds", "remainingSeconds"),
	"Order": fieldSet("id", "clientOrderId", "bullPen", "participant", "symbol", "side", "type", "quantity", "limitPrice",
		"stopPrice", "status", "filledQuantity", "filledPrice", "commission", "rejectReason", "rejectMessage",
		"createdAt", "updatedAt", "filledAt"),
	"Position": fieldSet("symbol", "quantity", "averageCost", "costBasis", "marketPrice", "marketValue", "unrealizedPnl",
		"realizedPnl", "updatedAt"),
	"Participant": fieldSet("id", "user", "bullPen", "cash", "portfolioValue", "totalReturn", "returnPercent", "rank", "joinedAt",
		"metrics", "equityHistory"),
	"BullPen": fieldSet("id", "name", "description", "owner", "state", "startsAt", "endsAt", "startingCash", "commission",
		"allowShortSelling", "allowedSymbols", "maxParticipants", "visibility", "tradeVisibility", "rankBy", "participants",
		"participantCount", "leaderboard", "leaderboardHistory", "lastSequence", "createdAt"),
	"LeaderboardSnapshot": fieldSet("id", "takenAt", "final", "entries", "teams"),
	"TeamStanding":        fieldSet("team", "rank", "score"),
	"Team":                fieldSet("id", "name", "members", "rank", "score"),
	"LeaderboardEntry":    fieldSet("rank", "participantId", "user", "portfolioValue", "cash", "totalReturn", "returnPercent", "metrics"),
	"User":                fieldSet("id", "username", "displayName", "createdAt"),
	"PerformanceMetrics": fieldSet("totalReturn", "returnPercent", "maxDrawdownPercent", "volatilityPercent", "sharpeRatio",
		"tradeCount", "winRate"),
	"EquityPoint": fieldSet("at", "portfolioValue"),
}

// SameForEveryViewer reports whether field of the API type typ answers
// alike for everyone who may receive the event it is part of.
func SameForEveryViewer(typ, field string) bool { return sharedFields[typ][field] }

// SharedFields lists, by API type, the fields SameForEveryViewer allows
// (for the tests that prove them).
func SharedFields() map[string][]string {
	out := make(map[string][]string, len(sharedFields))
	for typ, fields := range sharedFields {
		for f := range fields {
			out[typ] = append(out[typ], f)
		}
	}
	return out
}

func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
