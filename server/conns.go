package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/softphone"
)

// Long-lived connections (the agent page's WebSocket, the live feed's
// event stream) outlive the request that authenticated them. The
// connection registry remembers how each was authenticated and ends it
// once that credential no longer holds:
//
//   - at once, when this server ends it: logout ends the connections of
//     that session; a change to a user (patch, delete, token deletion)
//     re-checks that user's connections;
//   - within connRecheck otherwise: every open connection re-checks its
//     credential against the store (session expiry, a change made by
//     another path such as `omstil user` or an OIDC login);
//   - before every message of the agent page (softphone.Authorize).
//
// One rule decides: the credential must still resolve to the same active
// user, in the same organisation, with the same role as when the
// connection was opened (which was at least the route's). Any role change
// ends the connection, a promotion too: roles are coarse (an agent route
// admits every role), and the page opened again runs with the new role.

// connRecheck is how often an open connection re-checks its credential.
const connRecheck = 2 * time.Second

// errLoginEnded is why a connection ended: its credential no longer holds.
var errLoginEnded = errors.New("server: the connection's login has ended")

type credKind int

const (
	credSession credKind = iota // the session cookie
	credToken                   // an API token: bearer header or kiosk cookie
)

// connCred is how a connection was authenticated.
type connCred struct {
	kind   credKind
	secret string // the cookie's or token's value; never logged
	user   config.UserID
	role   config.Role
	org    config.OrgID
}

// credStore resolves credentials without counting a re-check as use.
type credStore interface {
	CheckSession(ctx context.Context, token string) (config.User, error)
	TokenUser(ctx context.Context, token string) (config.User, config.TokenScope, error)
}

// connRegistry holds the open long-lived connections.
type connRegistry struct {
	store credStore
	every time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	open map[*liveConn]struct{}
}

func newConnRegistry(store credStore, every time.Duration, log *slog.Logger) *connRegistry {
	if every <= 0 || every > connRecheck {
		every = connRecheck
	}
	return &connRegistry{store: store, every: every, log: log, open: map[*liveConn]struct{}{}}
}

// liveConn is one registered connection.
type liveConn struct {
	reg  *connRegistry
	cred connCred
	min  config.Role // the route's role
	// ended is cancelled, with errLoginEnded, only when the credential no
	// longer holds; never when the connection ends otherwise.
	ended context.Context
	end   context.CancelCauseFunc
	stop  chan struct{} // closed by release
}

// track registers the request's connection, which needs role min, and
// re-checks it every r.every until release. ok is false (and the request
// answered 401) when the request carries no credential to re-check.
func (r *connRegistry) track(s *Server, c *gin.Context, min config.Role) (*liveConn, bool) {
	cred, ok := credOf(c)
	if !ok {
		s.fail(c, errUnauthorized())
		return nil, false
	}
	ended, end := context.WithCancelCause(context.Background())
	lc := &liveConn{reg: r, cred: cred, min: min, ended: ended, end: end, stop: make(chan struct{})}
	r.mu.Lock()
	r.open[lc] = struct{}{}
	r.mu.Unlock()
	go lc.recheck()
	return lc, true
}

// release unregisters lc once its connection has ended.
func (r *connRegistry) release(lc *liveConn) {
	r.mu.Lock()
	delete(r.open, lc)
	r.mu.Unlock()
	close(lc.stop)
}

// endSession ends every connection of a session (logout).
func (r *connRegistry) endSession(token string) {
	if token == "" {
		return
	}
	for _, lc := range r.matching(func(cr connCred) bool { return cr.kind == credSession && cr.secret == token }) {
		lc.end(fmt.Errorf("%w: logged out", errLoginEnded))
	}
}

// recheckUser re-checks every connection of a user now, after a change
// to the user or the user's tokens; the ones whose credential no longer
// holds end before it returns.
func (r *connRegistry) recheckUser(ctx context.Context, id config.UserID) {
	for _, lc := range r.matching(func(cr connCred) bool { return cr.user == id }) {
		if err := lc.check(ctx); err != nil && !errors.Is(err, errLoginEnded) {
			r.log.Warn("connection re-check failed; trying again shortly", "user", id, "err", err)
		}
	}
}

func (r *connRegistry) matching(f func(connCred) bool) []*liveConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*liveConn
	for lc := range r.open {
		if f(lc.cred) {
			out = append(out, lc)
		}
	}
	return out
}

// recheck re-checks the credential every r.every until the connection is
// released or has ended.
func (lc *liveConn) recheck() {
	t := time.NewTicker(lc.reg.every)
	defer t.Stop()
	for {
		select {
		case <-lc.stop:
			return
		case <-lc.ended.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), lc.reg.every)
			err := lc.check(ctx)
			cancel()
			if err != nil && !errors.Is(err, errLoginEnded) {
				lc.reg.log.Warn("connection re-check failed; trying again", "user", lc.cred.user, "err", err)
			}
		}
	}
}

// check asks the store whether the credential still holds. It ends the
// connection and returns an error wrapping errLoginEnded when it does not;
// a store failure is returned as it is and ends nothing.
func (lc *liveConn) check(ctx context.Context) error {
	if lc.ended.Err() != nil {
		return context.Cause(lc.ended)
	}
	var (
		u   config.User
		err error
	)
	if lc.cred.kind == credSession {
		u, err = lc.reg.store.CheckSession(ctx, lc.cred.secret)
	} else {
		// (a token's scope never changes; authenticate checked it)
		u, _, err = lc.reg.store.TokenUser(ctx, lc.cred.secret)
	}
	var why string
	switch {
	case errors.Is(err, config.ErrNotFound):
		why = "the session or token is gone, expired or its user deactivated"
	case err != nil:
		return err
	case u.ID != lc.cred.user || u.OrgID != lc.cred.org:
		why = "the credential belongs to another user"
	case u.Role != lc.cred.role || !u.Role.AtLeast(lc.min):
		why = "the user's role has changed"
	default:
		return nil
	}
	lc.end(fmt.Errorf("%w: %s", errLoginEnded, why))
	return context.Cause(lc.ended)
}

// authorize is the agent page's per-message check (softphone.Authorize):
// a credential that no longer holds ends the page; a store failure
// refuses only the message.
func (lc *liveConn) authorize(ctx context.Context) error {
	err := lc.check(ctx)
	if err != nil && !errors.Is(err, errLoginEnded) {
		lc.reg.log.Warn("agent socket: cannot check the login", "user", lc.cred.user, "err", err)
		return &softphone.ControlError{Code: softphone.CodeUnavailable, Message: "your login cannot be checked just now; try again"}
	}
	return err
}

// credOf finds how the request was authenticated, in the order
// authenticate and authenticateKiosk take the credentials.
func credOf(c *gin.Context) (connCred, bool) {
	u, ok := currentUser(c)
	if !ok {
		return connCred{}, false
	}
	cred := connCred{user: u.ID, role: u.Role, org: u.OrgID}
	if h := c.GetHeader("Authorization"); h != "" {
		// a bearer token, kiosk-scoped or not: authenticate takes it first
		tok, _ := strings.CutPrefix(h, "Bearer ")
		cred.kind, cred.secret = credToken, strings.TrimSpace(tok)
	} else if _, kiosk := c.Get(ctxKiosk); kiosk {
		cred.kind = credToken
		cred.secret, _ = c.Cookie(KioskCookie)
	} else {
		cred.kind = credSession
		cred.secret, _ = c.Cookie(SessionCookie)
	}
	return cred, cred.secret != ""
}
