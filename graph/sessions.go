package graph

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/model"
)

// errSessionEnded is the cause of a watched context ended by signOut.
var errSessionEnded = errors.New("session ended")

// sessionWatch ends the long-lived streams (WebSocket connections, SSE
// streams) of sessions that end. Each stream runs under a context of its
// own that watch makes; check cancels those whose session is gone from
// the store, which stays the only source of truth: a signal from this
// instance or another only says "look again".
type sessionWatch struct {
	live func(ctx context.Context, userID int64) (map[string]bool, error)
	log  *slog.Logger

	mu     sync.Mutex
	byUser map[int64][]*watched // usually one or two: a slice, not a map, per user
}

type watched struct {
	session string
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// sessions returns the resolver's watch, wired to the service's
// OnSessionsEnded on first use.
func (r *Resolver) sessions() *sessionWatch {
	r.watchOnce.Do(func() {
		log := r.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		r.watch = &sessionWatch{live: r.Svc.LiveSessions, log: log, byUser: map[int64][]*watched{}}
		r.Svc.OnSessionsEnded(r.watch.check)
	})
	return r.watch
}

// watch returns a context that ends with ctx, or when the session of
// ctx's viewer ends. An anonymous ctx is returned as it is.
func (w *sessionWatch) watch(ctx context.Context) context.Context {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	if v.user == nil || v.session.ID == "" {
		return ctx
	}
	ctx, cancel := context.WithCancelCause(ctx)
	e := &watched{session: v.session.ID, ctx: ctx, cancel: cancel}
	uid := v.user.ID
	w.mu.Lock()
	w.byUser[uid] = append(w.byUser[uid], e)
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		rest := slices.DeleteFunc(w.byUser[uid], func(x *watched) bool { return x == e })
		if len(rest) == 0 {
			delete(w.byUser, uid)
		} else {
			w.byUser[uid] = rest
		}
		w.mu.Unlock()
	})
	return ctx
}

// watchLive is watch, then a look at the store: a session that ended
// before the watch began (a sign-out that committed after ctx's token was
// checked) ends the returned context at once. From the watch on, check
// catches every later sign-out, so no window is left between the two.
func (w *sessionWatch) watchLive(ctx context.Context) context.Context {
	watched := w.watch(ctx)
	if watched == ctx {
		return ctx // nothing to watch: anonymous, or a bad token
	}
	v, _ := ctx.Value(viewerKey{}).(viewer)
	live, err := w.live(ctx, v.user.ID)
	if err != nil {
		// Not known to have ended: the next sign-out's check decides.
		w.log.Error("check the session of a new connection", "user", v.user.ID, "err", err)
		return watched
	}
	if !live[v.session.ID] {
		w.end(v.user.ID, watched)
	}
	return watched
}

// end ends the watched context ctx of userID's (as check would).
func (w *sessionWatch) end(userID int64, ctx context.Context) {
	w.mu.Lock()
	var found *watched
	for _, e := range w.byUser[userID] {
		if e.ctx == ctx {
			found = e
		}
	}
	w.mu.Unlock()
	if found != nil {
		found.cancel(errSessionEnded)
	}
}

// check ends the watched streams of userID (of every user when 0) whose
// session no longer exists.
func (w *sessionWatch) check(userID int64) {
	w.mu.Lock()
	users := map[int64][]*watched{}
	for uid, set := range w.byUser {
		if userID != 0 && uid != userID {
			continue
		}
		users[uid] = append(users[uid], set...)
	}
	w.mu.Unlock()
	for uid, entries := range users {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		live, err := w.live(ctx, uid)
		cancel()
		if err != nil {
			// Kept open: the next request of theirs is checked afresh.
			w.log.Error("check sessions of live connections", "user", uid, "err", err)
			continue
		}
		for _, e := range entries {
			if !live[e.session] {
				e.cancel(errSessionEnded)
			}
		}
	}
}

// watchedStreams counts the streams being watched (for tests).
func (w *sessionWatch) watchedStreams() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, set := range w.byUser {
		n += len(set)
	}
	return n
}

// authPayload starts a session for u and returns its first token.
func (r *Resolver) authPayload(ctx context.Context, u *game.User) (*model.AuthPayload, error) {
	sess, err := r.Tokens.NewSession(u.ID)
	if err != nil {
		return nil, err
	}
	if err := r.Svc.StartSession(ctx, sess); err != nil {
		return nil, err
	}
	token, err := r.Tokens.Issue(sess)
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{Token: token, User: *u}, nil
}
