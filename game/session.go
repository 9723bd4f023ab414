package game

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// errSessionEnded is what a token of an ended (or unknown) session gets:
// the same as any other bad token.
var errSessionEnded = Errorf(EUNAUTHENTICATED, "invalid or expired token: sign in again")

// StartSession stores sess, a session of a user who just signed up or in,
// with the client address ctx carries, hashed (also recorded with the
// account, where it outlives the session: see AddressSighting), and
// deletes that user's expired sessions, so the table holds about one row
// per live sign-in.
func (s *Service) StartSession(ctx context.Context, sess *Session) error {
	addr := s.addressHash(ctx)
	sess.AddressHash = nil
	if addr != "" {
		sess.AddressHash = &addr
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		sess.CreatedAt = tx.Now()
		old, err := tx.Sessions(ctx, sess.UserID)
		if err != nil {
			return err
		}
		var expired []string
		for _, o := range old {
			if !o.ExpiresAt.After(tx.Now()) {
				expired = append(expired, o.ID)
			}
		}
		if len(expired) > 0 {
			if _, err := tx.DeleteSessions(ctx, sess.UserID, expired); err != nil {
				return err
			}
		}
		if err := tx.InsertSession(ctx, sess); err != nil {
			return err
		}
		return s.recordAddress(ctx, tx, sess.UserID, addr, false)
	})
	if err == nil {
		s.sessionCache.forget(sess.UserID) // it may have deleted expired ones
	}
	return err
}

// Authenticate returns the user of session id, which a token verified as
// issued to user userID names. It never answers from a cache: a session
// ended on any instance is refused on the next request.
//
// Errors: UNAUTHENTICATED when the session has ended or never was.
//
// With Config.CacheSessions it answers from memory what it has read
// before; a sign-out on this process (the only writer) forgets the
// session before it returns.
func (s *Service) Authenticate(ctx context.Context, sessionID string, userID int64) (*User, error) {
	u, gen := s.sessionCache.get(sessionID)
	if u == nil {
		var err error
		u, err = s.store.SessionUser(ctx, sessionID)
		if ErrorCode(err) == ENOTFOUND {
			return nil, errSessionEnded
		} else if err != nil {
			return nil, err
		}
		s.sessionCache.put(sessionID, u, gen)
	}
	if u.ID != userID {
		return nil, errSessionEnded
	}
	return u, nil
}

// sessionCache remembers the user of each live session it has read.
// forget, called once a sign-out has committed, drops the user's entries
// and bumps gen; a read that began before (its gen is older) is not
// remembered, so no ended session is ever answered from memory. A nil
// cache remembers nothing.
type sessionCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]*User
}

// maxCachedSessions bounds the cache; past it, it starts afresh.
const maxCachedSessions = 100_000

func newSessionCache(on bool) *sessionCache {
	if !on {
		return nil
	}
	return &sessionCache{m: map[string]*User{}}
}

func (c *sessionCache) get(id string) (*User, uint64) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id], c.gen
}

// put remembers u for session id, read at generation gen.
func (c *sessionCache) put(id string, u *User, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // a sign-out committed meanwhile: the read may predate it
	}
	if len(c.m) >= maxCachedSessions {
		clear(c.m)
	}
	c.m[id] = u
}

// forget drops the sessions of userID (of everyone when 0).
func (c *sessionCache) forget(userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id, u := range c.m {
		if userID == 0 || u.ID == userID {
			delete(c.m, id)
		}
	}
}

// RenewSession moves the expiry of sess (its ID and UserID) to
// sess.ExpiresAt.
//
// Errors: UNAUTHENTICATED when the session has ended.
func (s *Service) RenewSession(ctx context.Context, sess *Session) error {
	return s.store.Update(ctx, func(tx Tx) error {
		ok, err := tx.ExtendSession(ctx, sess.ID, sess.UserID, sess.ExpiresAt)
		if err == nil && !ok {
			err = errSessionEnded
		}
		return err
	})
}

// EndSession signs user out of session id: every token of it is refused
// from now on, on every instance, and the connections it authenticated
// are told (OnSessionsEnded).
func (s *Service) EndSession(ctx context.Context, user *User, sessionID string) error {
	return s.endSessions(ctx, user, []string{sessionID})
}

// EndSessions signs user out everywhere: every session of theirs ends.
func (s *Service) EndSessions(ctx context.Context, user *User) error {
	return s.endSessions(ctx, user, nil)
}

func (s *Service) endSessions(ctx context.Context, user *User, ids []string) error {
	if user == nil {
		return Errorf(EUNAUTHENTICATED, "sign in first")
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		_, err := tx.DeleteSessions(ctx, user.ID, ids)
		return err
	})
	if err != nil {
		return err
	}
	s.SessionsEnded(user.ID)
	return nil
}

// OnSessionsEnded registers fn to be called, after commit, with the user
// whose sessions EndSession or EndSessions ended on this instance.
func (s *Service) OnSessionsEnded(fn func(userID int64)) {
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	s.sessionsEnded = append(s.sessionsEnded, fn)
}

// SessionsEnded tells the OnSessionsEnded hooks that some sessions of
// userID (0: of anyone) may have ended; the server also calls it when
// another instance reports an ending.
func (s *Service) SessionsEnded(userID int64) {
	s.sessionCache.forget(userID)
	s.sessionsMu.Lock()
	hooks := slices.Clone(s.sessionsEnded)
	s.sessionsMu.Unlock()
	for _, h := range hooks {
		h(userID)
	}
}

// LiveSessions returns the ids of the sessions userID has.
func (s *Service) LiveSessions(ctx context.Context, userID int64) (map[string]bool, error) {
	all, err := s.store.Sessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(all))
	for _, sess := range all {
		ids[sess.ID] = true
	}
	return ids, nil
}

// adminSet holds the ids of the accounts -admins named at start-up.
type adminSet map[int64]bool

// ApplyAdmins gives the admin role, for as long as the service runs, to
// the accounts named in Config.Admins that exist, and returns the names
// it gave nothing to. An account signed up under a listed name after the
// first start that listed it never gets the role this way, not even after
// a restart: the first start records, for each name, the account it found
// (or none), and later starts honour only that account. Grant anyone else
// with SetAdmin (`bullpen admin grant`).
func (s *Service) ApplyAdmins(ctx context.Context) (missing []string, err error) {
	ids := adminSet{}
	for name := range s.admins {
		u, err := s.store.UserByUsername(ctx, name)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		exists, found := err == nil, "0"
		if exists {
			found = strconv.FormatInt(u.ID, 10)
		}
		// Several instances may start at once: the first record wins.
		key := "admins_flag:" + name
		err = s.store.Update(ctx, func(tx Tx) error { return tx.InitSetting(ctx, key, found) })
		if err != nil {
			return nil, err
		}
		first, err := s.store.Setting(ctx, key)
		if err != nil {
			return nil, err
		}
		if !exists || first != found {
			missing = append(missing, name)
			continue
		}
		ids[u.ID] = true
	}
	slices.Sort(missing)
	s.adminIDs.Store(&ids)
	return missing, nil
}

// IsAdmin reports whether u holds the admin role: named by Config.Admins
// when ApplyAdmins ran, or stored with SetAdmin. The stored role is read
// afresh each time, so a grant or revoke by another process (the admin
// command) applies at once.
func (s *Service) IsAdmin(ctx context.Context, u *User) (bool, error) {
	if u == nil {
		return false, nil
	}
	if ids := s.adminIDs.Load(); ids != nil && (*ids)[u.ID] {
		return true, nil
	}
	return s.store.UserIsAdmin(ctx, u.ID)
}

// SetAdmin grants (admin true) or revokes the stored admin role of the
// account username.
//
// Errors: NOT_FOUND when there is no such account.
func (s *Service) SetAdmin(ctx context.Context, username string, admin bool) (*User, error) {
	var u *User
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.UserByUsername(ctx, strings.TrimSpace(username)); err != nil {
			return err
		}
		return tx.SetAdmin(ctx, u.ID, admin)
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no account is named %q", username)
	}
	return u, err
}

// Admins lists the accounts with the stored admin role, by username.
func (s *Service) Admins(ctx context.Context) ([]*User, error) {
	return s.store.AdminUsers(ctx)
}
