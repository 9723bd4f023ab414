package graph

import (
	"context"

	"github.com/bullpen/bullpen/game"
)

type leagueViewKey struct{ league int64 }

// leagueView is the caller's view of league id, once per response: every
// field of a league reads through it, so its rooms and standings follow
// game's rules (see game.Service.League).
//
// Errors: NOT_FOUND for a league that does not exist or is hidden from
// the caller; UNAUTHENTICATED for a bad token.
func (r *Resolver) leagueView(ctx context.Context, id int64) (*game.LeagueView, error) {
	return remember(ctx, leagueViewKey{id}, func() (*game.LeagueView, error) {
		user, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		return r.Svc.League(ctx, user, id)
	})
}
