package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// orgStore is what the organisation endpoints need of the store.
type orgStore interface {
	ListOrgs(ctx context.Context) ([]config.Organisation, error)
	GetOrg(ctx context.Context, id config.OrgID) (config.Organisation, error)
	CreateOrgAs(ctx context.Context, actor config.Actor, slug, name string) (config.Organisation, error)
	UpdateOrg(ctx context.Context, actor config.Actor, id config.OrgID, p config.OrgPatch) (config.Organisation, error)
}

// orgResponse is an organisation with what it may dial. Allowed says it
// in words, for the admin UI to explain a refused dial string.
type orgResponse struct {
	ID                config.OrgID `json:"id"`
	Slug              string       `json:"slug"`
	Name              string       `json:"name"`
	Endpoints         []string     `json:"endpoints"`
	Trunk             string       `json:"trunk"`
	InstallationTrunk bool         `json:"installation_trunk"`
	LocalContexts     []string     `json:"local_contexts"`
	CallerID          string       `json:"caller_id"`
	Allowed           string       `json:"allowed"`
	PseudonymiseDays  int          `json:"pseudonymise_after_days"`
	DeleteMonths      int          `json:"delete_after_months"`
	CreatedAt         time.Time    `json:"created_at"`
}

func orgJSON(o config.Organisation) orgResponse {
	p := o.DialPolicy()
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	r := o.Retention()
	return orgResponse{o.ID, o.Slug, o.Name, nonNil(p.Endpoints), p.Trunk, p.InstallationTrunk, nonNil(p.LocalContexts), o.CallerID, p.Allowed(),
		r.PseudonymiseDays, r.DeleteMonths, o.CreatedAt}
}

type orgCreateRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type orgPatchRequest struct {
	Name              *string   `json:"name"`
	Endpoints         *[]string `json:"endpoints"`
	Trunk             *string   `json:"trunk"`
	InstallationTrunk *bool     `json:"installation_trunk"`
	LocalContexts     *[]string `json:"local_contexts"`
	CallerID          *string   `json:"caller_id"`
	PseudonymiseDays  *int      `json:"pseudonymise_after_days"`
	DeleteMonths      *int      `json:"delete_after_months"`
}

// Patch turns the request into the store's patch.
func (r orgPatchRequest) Patch() config.OrgPatch {
	return config.OrgPatch{Name: r.Name, Endpoints: r.Endpoints, Trunk: r.Trunk, InstallationTrunk: r.InstallationTrunk,
		LocalContexts: r.LocalContexts, CallerID: r.CallerID, PseudonymiseDays: r.PseudonymiseDays, DeleteMonths: r.DeleteMonths}
}

// requireSystem refuses callers who are not system administrators: an
// organisation's admin, however high its role, gets 403.
func (s *Server) requireSystem(c *gin.Context) {
	u, ok := currentUser(c)
	if !ok {
		s.fail(c, errUnauthorized())
		return
	}
	if !u.SystemAdmin || u.Role != config.RoleAdmin {
		s.fail(c, &apiError{http.StatusForbidden, "forbidden", "only a system administrator may do this", ""})
		return
	}
	c.Next()
}

func (s *Server) listOrgs(c *gin.Context) {
	os, err := s.opts.Store.ListOrgs(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, each(orgJSON)(os))
}

func (s *Server) orgInPath(c *gin.Context) (config.OrgID, bool) {
	id, ok := s.pathID(c, "id", "organisation")
	return config.OrgID(id), ok
}

func (s *Server) getOrg(c *gin.Context) {
	id, ok := s.orgInPath(c)
	if !ok {
		return
	}
	o, err := s.opts.Store.GetOrg(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, orgJSON(o))
}

// ownOrg is the caller's own organisation and its dial limits, read-only.
func (s *Server) ownOrg(c *gin.Context) {
	o, err := s.opts.Store.GetOrg(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, orgJSON(o))
}

func (s *Server) createOrg(c *gin.Context) {
	req, ok := decode[orgCreateRequest](s, c)
	if !ok {
		return
	}
	o, err := s.opts.Store.CreateOrgAs(c.Request.Context(), actor(c), req.Slug, req.Name)
	if err != nil {
		if errors.Is(err, config.ErrConflict) {
			s.fail(c, &apiError{http.StatusConflict, "conflict", "slug: an organisation " + req.Slug + " exists already", "slug"})
			return
		}
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, orgJSON(o))
}

func (s *Server) patchOrg(c *gin.Context) {
	id, ok := s.orgInPath(c)
	if !ok {
		return
	}
	req, ok := decode[orgPatchRequest](s, c)
	if !ok {
		return
	}
	o, err := s.opts.Store.UpdateOrg(c.Request.Context(), actor(c), id, req.Patch())
	var se *config.StrandedError
	switch {
	case errors.As(err, &se):
		s.fail(c, &apiError{http.StatusConflict, "in_use", se.Error(), ""})
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, orgJSON(o))
}
