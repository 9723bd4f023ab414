package graph

import (
	"context"
	"net/http"
	"strings"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/game"
)

type viewerKey struct{}

// viewer is who made a request: a user, nobody, or a bad token.
type viewer struct {
	user *game.User
	err  error
}

// Users finds the account a token names.
type Users interface {
	User(ctx context.Context, id int64) (*game.User, error)
}

// WithToken authenticates a bearer token (possibly empty) into ctx. A bad
// token is remembered, not rejected here: operations that need a user
// report it, and anonymous ones still work.
func WithToken(ctx context.Context, tokens *auth.Tokens, users Users, token string) context.Context {
	v := viewer{}
	if token != "" {
		id, err := tokens.Verify(token)
		if err == nil {
			v.user, err = users.User(ctx, id)
		}
		if err != nil {
			v = viewer{err: game.Errorf(game.EUNAUTHENTICATED, "invalid or expired token: sign in again")}
		}
	}
	return context.WithValue(ctx, viewerKey{}, v)
}

// Authenticate is HTTP middleware reading `Authorization: Bearer <token>`.
func Authenticate(tokens *auth.Tokens, users Users, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := BearerToken(r.Header.Get("Authorization"))
		ctx := WithToken(r.Context(), tokens, users, token)
		// A bad token fails the whole request rather than quietly
		// running it as anonymous: the client learns to sign in again.
		// A WebSocket hears it as a 4403 close after connection_init.
		if _, err := currentUser(ctx); err != nil && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]any{{
				"message": game.ErrorMessage(err), "extensions": map[string]any{"code": game.ErrorCode(err)},
			}}})
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// BearerToken extracts the token of an Authorization header value.
func BearerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}

// currentUser returns the caller, nil when anonymous, or the token error.
func currentUser(ctx context.Context) (*game.User, error) {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	return v.user, v.err
}

// requireUser returns the caller or UNAUTHENTICATED.
func requireUser(ctx context.Context) (*game.User, error) {
	u, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, game.Errorf(game.EUNAUTHENTICATED, "sign in first: send Authorization: Bearer <token>")
	}
	return u, nil
}
