package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

type userStore interface {
	ListUsers(ctx context.Context, org config.OrgID) ([]config.User, error)
	GetUser(ctx context.Context, org config.OrgID, id config.UserID) (config.User, error)
	CreateUser(ctx context.Context, actor config.Actor, n config.NewUser) (config.User, error)
	UpdateUser(ctx context.Context, actor config.Actor, id config.UserID, p config.UserPatch) (config.User, error)
	DeleteUser(ctx context.Context, actor config.Actor, id config.UserID) error
	CreateScopedToken(ctx context.Context, actor config.Actor, user config.UserID, name string, scope config.TokenScope) (string, config.APIToken, error)
	ListTokens(ctx context.Context, user config.UserID) ([]config.APIToken, error)
	DeleteToken(ctx context.Context, actor config.Actor, user config.UserID, id int64) error
}

type userResponse struct {
	ID          config.UserID `json:"id"`
	Username    string        `json:"username"`
	DisplayName string        `json:"display_name"`
	Role        config.Role   `json:"role"`
	Active      bool          `json:"active"`
	OIDC        bool          `json:"oidc"` // logs in through OpenID Connect
	SystemAdmin bool          `json:"system_admin,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

func userJSON(u config.User) userResponse {
	return userResponse{u.ID, u.Username, u.DisplayName, u.Role, u.Active, config.IsOIDCUser(u), u.SystemAdmin, u.CreatedAt, u.UpdatedAt}
}

type userCreateRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
	Role        string `json:"role"`
}

type userPatchRequest struct {
	DisplayName *string `json:"display_name"`
	Role        *string `json:"role"`
	Active      *bool   `json:"active"`
	Password    *string `json:"password"`
}

// Patch turns the request into the store's patch, validating the role.
func (r userPatchRequest) Patch() (config.UserPatch, error) {
	p := config.UserPatch{DisplayName: r.DisplayName, Active: r.Active, Password: r.Password}
	if r.Role != nil {
		role, err := config.ParseRole(*r.Role)
		if err != nil {
			return p, err
		}
		p.Role = &role
	}
	return p, nil
}

// userInPath parses the path's user ID; a bad one is "not found".
func (s *Server) userInPath(c *gin.Context) (config.UserID, bool) {
	id, err := config.ParseUserID(c.Param("id"))
	if err != nil {
		s.fail(c, errNotFound("user"))
		return 0, false
	}
	return id, true
}

func (s *Server) listUsers(c *gin.Context) {
	us, err := s.opts.Store.ListUsers(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, each(userJSON)(us))
}

func (s *Server) getUser(c *gin.Context) {
	id, ok := s.userInPath(c)
	if !ok {
		return
	}
	u, err := s.opts.Store.GetUser(c.Request.Context(), actor(c).OrgID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, userJSON(u))
}

func (s *Server) createUser(c *gin.Context) {
	req, ok := decode[userCreateRequest](s, c)
	if !ok {
		return
	}
	role, err := config.ParseRole(req.Role)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := actor(c)
	u, err := s.opts.Store.CreateUser(c.Request.Context(), a, config.NewUser{OrgID: a.OrgID, Username: req.Username, DisplayName: req.DisplayName, Password: req.Password, Role: role})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, userJSON(u))
}

func (s *Server) patchUser(c *gin.Context) {
	id, ok := s.userInPath(c)
	if !ok {
		return
	}
	req, ok := decode[userPatchRequest](s, c)
	if !ok {
		return
	}
	p, err := req.Patch()
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := s.opts.Store.UpdateUser(c.Request.Context(), actor(c), id, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.conns.recheckUser(c.Request.Context(), id) // deactivated, a lower role, a new password
	c.JSON(http.StatusOK, userJSON(u))
}

func (s *Server) deleteUser(c *gin.Context) {
	id, ok := s.userInPath(c)
	if !ok {
		return
	}
	if me, _ := currentUser(c); me.ID == id {
		s.fail(c, &apiError{http.StatusConflict, "self", "you cannot delete yourself", ""})
		return
	}
	if err := s.opts.Store.DeleteUser(c.Request.Context(), actor(c), id); err != nil {
		s.fail(c, err)
		return
	}
	s.conns.recheckUser(c.Request.Context(), id)
	c.Status(http.StatusNoContent)
}

type tokenResponse struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Scope      config.TokenScope `json:"scope"`
	CreatedAt  time.Time         `json:"created_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	Token      string            `json:"token,omitempty"` // only in the create response
}

// tokenOwner resolves the user in the path, allowing admins any user of
// their organisation and everyone else only themselves.
func (s *Server) tokenOwner(c *gin.Context) (config.UserID, bool) {
	id, ok := s.userInPath(c)
	if !ok {
		return 0, false
	}
	me, _ := currentUser(c)
	if me.ID != id && me.Role != config.RoleAdmin {
		s.fail(c, errForbidden())
		return 0, false
	}
	if _, err := s.opts.Store.GetUser(c.Request.Context(), me.OrgID, id); err != nil {
		s.fail(c, err)
		return 0, false
	}
	return id, true
}

func (s *Server) listTokens(c *gin.Context) {
	id, ok := s.tokenOwner(c)
	if !ok {
		return
	}
	ts, err := s.opts.Store.ListTokens(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]tokenResponse, len(ts))
	for i, t := range ts {
		out[i] = tokenResponse{ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
	}
	c.JSON(http.StatusOK, out)
}

type tokenCreateRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"` // api (default) or kiosk
}

func (s *Server) createToken(c *gin.Context) {
	id, ok := s.tokenOwner(c)
	if !ok {
		return
	}
	req, ok := decode[tokenCreateRequest](s, c)
	if !ok {
		return
	}
	scope, err := config.ParseTokenScope(req.Scope)
	if err != nil {
		s.fail(c, err)
		return
	}
	tok, t, err := s.opts.Store.CreateScopedToken(c.Request.Context(), actor(c), id, req.Name, scope)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tokenResponse{ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedAt: t.CreatedAt, Token: tok})
}

func (s *Server) deleteToken(c *gin.Context) {
	id, ok := s.tokenOwner(c)
	if !ok {
		return
	}
	tid, err := strconv.ParseInt(c.Param("tokenId"), 10, 64)
	if err != nil {
		s.fail(c, errNotFound("token"))
		return
	}
	if err := s.opts.Store.DeleteToken(c.Request.Context(), actor(c), id, tid); err != nil {
		s.fail(c, err)
		return
	}
	s.conns.recheckUser(c.Request.Context(), id) // connections opened with that token
	c.Status(http.StatusNoContent)
}
