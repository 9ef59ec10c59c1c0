package server

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// The configuration resources (schedules, announcements, queues, agents,
// flows, numbers) share the steps of their handlers: find the call-handling
// store, parse the path's ID, decode the body, call the store, render the
// error or the result. The functions here hold those steps once; each
// resource's file passes its store method (a method expression such as
// CallConfig.GetQueue) and its render function.

// configAndID returns the call-handling store and the path's "id" (what
// names the resource in the "not found" of a bad one).
func (s *Server) configAndID(c *gin.Context, what string) (CallConfig, int64, bool) {
	cc, ok := s.callConfig(c)
	id, ok2 := s.pathID(c, "id", what)
	return cc, id, ok && ok2
}

// each renders every element of a list with render.
func each[M, R any](render func(M) R) func([]M) []R {
	return func(ms []M) []R {
		out := make([]R, len(ms))
		for i, m := range ms {
			out[i] = render(m)
		}
		return out
	}
}

// readOrg answers a GET of what the caller's organisation has (a list,
// the pause reasons).
func readOrg[T, R any](s *Server, c *gin.Context, read func(CallConfig, context.Context, config.OrgID) (T, error), render func(T) R) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	v, err := read(cc, c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, render(v))
}

// readByID answers a GET of the resource in the path.
func readByID[ID ~int64, M, R any](s *Server, c *gin.Context, what string, read func(CallConfig, context.Context, config.OrgID, ID) (M, error), render func(M) R) {
	cc, id, ok := s.configAndID(c, what)
	if !ok {
		return
	}
	m, err := read(cc, c.Request.Context(), actor(c).OrgID, ID(id))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, render(m))
}

// write answers a POST or PUT without an ID in the path: it decodes a Req,
// hands it to save and renders the result with status.
func write[Req, M, R any](s *Server, c *gin.Context, status int, save func(CallConfig, context.Context, config.Actor, Req) (M, error), render func(M) R) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	req, ok := decode[Req](s, c)
	if !ok {
		return
	}
	m, err := save(cc, c.Request.Context(), actor(c), req)
	saved(s, c, status, m, err, render)
}

// patcher is a PATCH request: pointer fields, turned into the store's
// patch.
type patcher[P any] interface {
	Patch() P
}

// patchByID answers a PATCH of the resource in the path with a Req.
func patchByID[Req patcher[P], P any, ID ~int64, M, R any](s *Server, c *gin.Context, what string, update func(CallConfig, context.Context, config.Actor, ID, P) (M, error), render func(M) R) {
	cc, id, ok := s.configAndID(c, what)
	if !ok {
		return
	}
	req, ok := decode[Req](s, c)
	if !ok {
		return
	}
	m, err := update(cc, c.Request.Context(), actor(c), ID(id), req.Patch())
	saved(s, c, http.StatusOK, m, err, render)
}

// deleteByID answers a DELETE of the resource in the path.
func deleteByID[ID ~int64](s *Server, c *gin.Context, what string, del func(CallConfig, context.Context, config.Actor, ID) error) {
	cc, id, ok := s.configAndID(c, what)
	if !ok {
		return
	}
	if err := del(cc, c.Request.Context(), actor(c), ID(id)); err != nil {
		s.failConfig(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// saved renders what a change of the store returned: its error with the
// details failConfig gives, or m with status.
func saved[M, R any](s *Server, c *gin.Context, status int, m M, err error, render func(M) R) {
	if err != nil {
		s.failConfig(c, err)
		return
	}
	c.JSON(status, render(m))
}
