package server

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// SessionCookie is the name of the login cookie.
const SessionCookie = "omstil_session"

const ctxUser = "omstil.user"

// authenticate finds the caller from a bearer token or a session cookie.
// It does not refuse anonymous requests; requireRole does.
func (s *Server) authenticate(c *gin.Context) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			s.fail(c, errUnauthorized())
			return
		}
		u, err := s.opts.Store.TokenUser(ctx, strings.TrimSpace(tok))
		if err != nil {
			if !errors.Is(err, config.ErrNotFound) {
				s.fail(c, err)
				return
			}
			s.fail(c, errUnauthorized())
			return
		}
		c.Set(ctxUser, u)
		c.Next()
		return
	}
	if ck, err := c.Cookie(SessionCookie); err == nil && ck != "" {
		u, err := s.opts.Store.SessionUser(ctx, ck)
		switch {
		case err == nil:
			c.Set(ctxUser, u)
		case !errors.Is(err, config.ErrNotFound):
			s.fail(c, err)
			return
		}
	}
	c.Next()
}

// currentUser returns the authenticated user, if any.
func currentUser(c *gin.Context) (config.User, bool) {
	v, ok := c.Get(ctxUser)
	if !ok {
		return config.User{}, false
	}
	u, ok := v.(config.User)
	return u, ok
}

// actor is the audit identity of the request's user.
func actor(c *gin.Context) config.Actor {
	u, _ := currentUser(c)
	return config.Actor{UserID: u.ID, Username: u.Username, OrgID: u.OrgID}
}

// requireRole refuses anonymous callers (401) and callers below min (403).
func (s *Server) requireRole(min config.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, ok := currentUser(c)
		if !ok {
			s.fail(c, errUnauthorized())
			return
		}
		if !u.Role.AtLeast(min) {
			s.fail(c, errForbidden())
			return
		}
		c.Next()
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(c *gin.Context) {
	req, ok := decode[loginRequest](s, c)
	if !ok {
		return
	}
	if req.Username == "" || req.Password == "" {
		s.fail(c, &apiError{http.StatusBadRequest, "invalid", "username and password are required", "username"})
		return
	}
	ip := clientIP(c.Request)
	user := strings.ToLower(req.Username)
	if wait := s.limiter.blocked(ip, user); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.fail(c, &apiError{http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later", ""})
		return
	}
	u, err := s.opts.Store.Authenticate(c.Request.Context(), req.Username, req.Password)
	if err != nil {
		if errors.Is(err, config.ErrNotFound) {
			s.limiter.fail(ip, user)
			s.log.Warn("login failed", "ip", ip)
			s.fail(c, &apiError{http.StatusUnauthorized, "bad_credentials", "wrong username or password", ""})
			return
		}
		s.fail(c, err)
		return
	}
	s.limiter.succeed(user)
	tok, err := s.opts.Store.CreateSession(c.Request.Context(), u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setSessionCookie(c, tok, int(config.SessionTTL.Seconds()))
	s.log.Info("login", "user", u.Username)
	c.JSON(http.StatusOK, userJSON(u))
}

func (s *Server) setSessionCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.opts.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) logout(c *gin.Context) {
	if ck, err := c.Cookie(SessionCookie); err == nil && ck != "" {
		if err := s.opts.Store.DeleteSession(c.Request.Context(), ck); err != nil && !errors.Is(err, config.ErrNotFound) {
			s.fail(c, err)
			return
		}
		s.conns.endSession(ck)
	}
	s.setSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	u, _ := currentUser(c)
	c.JSON(http.StatusOK, userJSON(u))
}

// clientIP is the peer address. omstil does not trust X-Forwarded-For:
// a reverse proxy in front of it is expected to be the only peer.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter counts failed logins per username and per client address
// within a window and blocks further tries once a limit is reached.
type loginLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	window  time.Duration
	maxUser int
	maxIP   int
	fails   map[string][]time.Time // "u:name" or "ip:addr" → failure times
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, window: 15 * time.Minute, maxUser: 5, maxIP: 20, fails: map[string][]time.Time{}}
}

func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}

// blocked returns how long the caller must wait, 0 if not blocked.
func (l *loginLimiter) blocked(ip, user string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for key, max := range map[string]int{"u:" + user: l.maxUser, "ip:" + ip: l.maxIP} {
		ts := l.recent(key, now)
		if len(ts) >= max {
			if w := ts[len(ts)-max].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

func (l *loginLimiter) fail(ip, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, key := range []string{"u:" + user, "ip:" + ip} {
		l.fails[key] = append(l.recent(key, now), now)
	}
	if len(l.fails) > 100000 { // bound memory under a spray attack
		for k := range l.fails {
			l.recent(k, now)
		}
	}
}

func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+user)
}
