package graph

import (
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
)

// shareKey lets anonymous spectators' identical live subscriptions share
// one execution: what they may see does not depend on who they are, and a
// stream without afterSequence does not depend on when they joined.
// Signed-in users see their own trades, so their subscriptions never share.
func shareKey(ctx context.Context, rc *graphql.OperationContext) (string, bool) {
	if u, err := currentUser(ctx); err != nil || u != nil {
		return "", false
	}
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return "", false
	}
	switch f := fields[0]; f.Name {
	case "leaderboardUpdates", "roomStateChanged", "quotes":
	case "bullPenEvents":
		if f.ArgumentMap(rc.Variables)["afterSequence"] != nil {
			return "", false // a replay depends on when it starts
		}
	default:
		return "", false
	}
	vars, err := json.Marshal(rc.Variables) // map keys come out sorted
	if err != nil {
		return "", false
	}
	return "anonymous\x00" + rc.OperationName + "\x00" + rc.RawQuery + "\x00" + string(vars), true
}
