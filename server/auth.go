package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
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
		u, scope, err := s.opts.Store.TokenUser(ctx, strings.TrimSpace(tok))
		if err != nil {
			if !errors.Is(err, config.ErrNotFound) {
				s.fail(c, err)
				return
			}
			s.fail(c, errUnauthorized())
			return
		}
		if scope != config.ScopeAPI && !kioskRoute(c) {
			s.fail(c, &apiError{http.StatusForbidden, "forbidden", "a kiosk token reads only the wallboard and its live feed", ""})
			return
		}
		c.Set(ctxUser, u)
		if scope == config.ScopeKiosk {
			c.Set(ctxKiosk, true)
		}
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

// kioskRoute tells whether the request is one a kiosk token may make:
// the wallboard page and its live feed, read only.
func kioskRoute(c *gin.Context) bool {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		return false
	}
	switch c.FullPath() {
	case "/api/v1/live", "/wallboard":
		return true
	}
	return false
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
	addr := s.clientAddr(c.Request)
	account := strings.ToLower(strings.TrimSpace(req.Username))
	if wait := s.limiter.wait(addr, account); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		s.fail(c, &apiError{http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later", ""})
		return
	}
	u, err := s.opts.Store.Authenticate(c.Request.Context(), req.Username, req.Password)
	if err != nil {
		if errors.Is(err, config.ErrNotFound) {
			s.limiter.fail(addr, account)
			s.log.Warn("login failed", "ip", s.clientIP(c.Request))
			s.fail(c, &apiError{http.StatusUnauthorized, "bad_credentials", "wrong username or password", ""})
			return
		}
		s.fail(c, err)
		return
	}
	s.limiter.succeed(addr, account)
	tok, err := s.opts.Store.CreateSession(c.Request.Context(), u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setSessionCookie(c, tok, int(config.SessionTTL.Seconds()))
	s.log.Info("login", "user", u.Username, "ip", s.clientIP(c.Request))
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
