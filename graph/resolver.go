// Package graph is Bullpen's GraphQL layer: gqlgen's generated executor and
// thin resolvers that call the game service.
package graph

import (
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

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

	// ordersPlaced counts placeOrder answers by status (nil: not counted).
	ordersPlaced *prometheus.CounterVec
}

// countOrder counts a placed order under the status it was answered with
// (FILLED, OPEN or REJECTED; a re-sent clientOrderId counts again).
func (r *Resolver) countOrder(o *game.Order) {
	if r.ordersPlaced != nil && o != nil {
		r.ordersPlaced.WithLabelValues(string(o.Status)).Inc()
	}
}
