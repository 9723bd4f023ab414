// Package graph is Bullpen's GraphQL layer: gqlgen's generated executor and
// thin resolvers that call the game service.
package graph

import (
	"log/slog"
	"sync"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/hub"
	"github.com/bullpen/bullpen/market"
)

// Resolver holds what every resolver needs.
type Resolver struct {
	Svc       *game.Service
	Tokens    *auth.Tokens
	Catalogue []market.Instrument
	Hub       *hub.Hub
	Quotes    *hub.Quotes
	Log       *slog.Logger

	watchOnce sync.Once
	watch     *sessionWatch

	eventsOnce sync.Once
	events     *eventCache
}
