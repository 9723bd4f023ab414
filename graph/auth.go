package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/bullpen/bullpen/auth"
	"github.com/bullpen/bullpen/game"
)

type viewerKey struct{}

// viewer is who made a request: a user and the session their token names,
// nobody, or a bad token.
type viewer struct {
	user    *game.User
	session game.Session
	err     error
}

// errBadToken is what every refused token gets: malformed, forged,
// expired, or of a session that ended (signOut). One message for all, so
// the answer tells nothing about why.
var errBadToken = game.Errorf(game.EUNAUTHENTICATED, "invalid or expired token: sign in again")

// withToken authenticates a bearer token (possibly empty) into ctx. A bad
// token is remembered, not rejected here: operations that need a user
// report it, and anonymous ones still work.
func (r *Resolver) withToken(ctx context.Context, token string) context.Context {
	v := viewer{}
	if token != "" {
		sess, err := r.Tokens.Verify(token)
		if err == nil {
			// A session ended on any instance is refused at once (on
			// SQLite, the only writer remembers live sessions and forgets
			// them as it signs them out).
			v.user, err = r.Svc.Authenticate(ctx, sess.ID, sess.UserID)
			v.session = sess
		}
		switch {
		case errors.Is(err, auth.ErrBadToken) || game.ErrorCode(err) == game.EUNAUTHENTICATED:
			v = viewer{err: errBadToken}
		case err != nil:
			v = viewer{err: err} // the database failed: not the client's fault
		}
	}
	return context.WithValue(ctx, viewerKey{}, v)
}

// authenticate is HTTP middleware reading `Authorization: Bearer <token>`.
// A request that stream reports as long-lived (SSE) ends when its session
// does.
func (r *Resolver) authenticate(stream func(*http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token := BearerToken(req.Header.Get("Authorization"))
		ctx := r.withToken(req.Context(), token)
		// A bad token fails the whole request rather than quietly
		// running it as anonymous: the client learns to sign in again.
		// A WebSocket hears it as a 4403 close after connection_init.
		if _, err := currentUser(ctx); err != nil && !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			status := http.StatusUnauthorized
			if game.ErrorCode(err) == game.EUNAUTHENTICATED {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			} else {
				status = http.StatusInternalServerError
				if r.Log != nil {
					r.Log.Error("authenticate", "err", err)
				}
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			writeJSON(w, status, map[string]any{"errors": []map[string]any{{
				"message": game.ErrorMessage(err), "extensions": map[string]any{"code": game.ErrorCode(err)},
			}}})
			return
		}
		if stream(req) {
			ctx = r.sessions().watch(ctx)
		}
		next.ServeHTTP(w, req.WithContext(ctx))
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
