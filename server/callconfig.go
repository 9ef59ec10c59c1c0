package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

// CallConfig is what the call-handling endpoints need of the store: one
// small interface per resource, joined.
type CallConfig interface {
	scheduleStore
	announcementStore
	queueStore
	agentStore
	flowStore
	numberStore
	GetOrg(ctx context.Context, id config.OrgID) (config.Organisation, error)
	PauseReasons(ctx context.Context, org config.OrgID) ([]string, error)
	SetPauseReasons(ctx context.Context, actor config.Actor, reasons []string) ([]string, error)
}

// callConfig returns the store for the call-handling endpoints, or fails
// the request with 503 when there is none.
func (s *Server) callConfig(c *gin.Context) (CallConfig, bool) {
	cc := s.opts.CallConfig
	if cc == nil {
		cc, _ = s.opts.Store.(CallConfig)
	}
	if cc == nil {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "the configuration store does not support call handling", ""})
		return nil, false
	}
	return cc, true
}

// problemsBody is the API's error shape with the problems of a flow or
// schedule that was refused.
type problemsBody struct {
	Error problemsDetail `json:"error"`
}

type problemsDetail struct {
	Code     string             `json:"code"`
	Message  string             `json:"message"`
	Field    string             `json:"field,omitempty"`
	Problems []callflow.Problem `json:"problems"`
}

// failConfig renders the call-handling store's errors with their details:
// which object uses the one being deleted, which field is taken, which
// steps of a flow are wrong. Everything else goes to fail.
func (s *Server) failConfig(c *gin.Context, err error) {
	var (
		iu  *config.InUseError
		ce  *config.ConflictError
		cve *callflow.ValidationError
	)
	switch {
	case errors.As(err, &iu):
		s.fail(c, &apiError{http.StatusConflict, "in_use", iu.Error(), ""})
	case errors.As(err, &ce):
		s.fail(c, &apiError{http.StatusConflict, "conflict", ce.Error(), ce.Field})
	case errors.As(err, &cve):
		msgs := make([]string, len(cve.Problems))
		for i, p := range cve.Problems {
			msgs[i] = p.String()
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, problemsBody{problemsDetail{Code: "invalid",
			Message: "definition: " + strings.Join(msgs, "; "), Field: "definition", Problems: cve.Problems}})
	default:
		s.fail(c, err)
	}
}

// pathID parses the path parameter name as a database ID; a bad one is
// "not found", as for users.
func (s *Server) pathID(c *gin.Context, name, what string) (int64, bool) {
	id, err := config.ParseID(name, c.Param(name))
	if err != nil {
		s.fail(c, errNotFound(what))
		return 0, false
	}
	return id, true
}

// orgSlug is the slug of the caller's organisation (engine IDs use it).
func (s *Server) orgSlug(c *gin.Context, cc CallConfig) (string, bool) {
	o, err := cc.GetOrg(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return "", false
	}
	return o.Slug, true
}

// registerCallConfigRoutes registers the call-handling configuration and
// live endpoints: admin changes, supervisor reads, agents see their own.
func (s *Server) registerCallConfigRoutes(api *gin.RouterGroup) {
	admin := s.requireRole(config.RoleAdmin)
	sup := s.requireRole(config.RoleSupervisor)
	agent := s.requireRole(config.RoleAgent)

	api.GET("/schedules", sup, s.listSchedules)
	api.POST("/schedules", admin, s.createSchedule)
	api.GET("/schedules/holidays", sup, s.holidays)
	api.GET("/schedules/:id", sup, s.getSchedule)
	api.PATCH("/schedules/:id", admin, s.patchSchedule)
	api.DELETE("/schedules/:id", admin, s.deleteSchedule)

	api.GET("/announcements", sup, s.listAnnouncements)
	api.POST("/announcements", admin, s.createAnnouncement)
	api.GET("/announcements/:id", sup, s.getAnnouncement)
	api.PATCH("/announcements/:id", admin, s.patchAnnouncement)
	api.DELETE("/announcements/:id", admin, s.deleteAnnouncement)
	api.GET("/announcements/:id/audio", sup, s.announcementAudio)
	api.PUT("/announcements/:id/audio", admin, s.replaceAnnouncementAudio)
	s.engine.GET("/media/announcements/:file", s.announcementMedia)

	api.GET("/strategies", sup, s.listStrategies)
	api.GET("/queues", sup, s.listQueues)
	api.POST("/queues", admin, s.createQueue)
	api.GET("/queues/:id", sup, s.getQueue)
	api.PATCH("/queues/:id", admin, s.patchQueue)
	api.DELETE("/queues/:id", admin, s.deleteQueue)
	api.GET("/queues/:id/status", agent, s.queueStatus)

	api.GET("/agents", sup, s.listAgents)
	api.POST("/agents", admin, s.createAgent)
	api.GET("/agents/:id", sup, s.getAgent)
	api.PATCH("/agents/:id", admin, s.patchAgent)
	api.DELETE("/agents/:id", admin, s.deleteAgent)
	api.GET("/agents/:id/memberships", sup, s.listMemberships)
	api.POST("/agents/:id/memberships", sup, s.createMembership)
	api.PATCH("/agents/:id/memberships/:membershipId", sup, s.patchMembership)
	api.DELETE("/agents/:id/memberships/:membershipId", sup, s.deleteMembership)
	api.PUT("/agents/:id/state", agent, s.putAgentState)
	api.GET("/agents/:id/status", agent, s.agentStatus)

	api.GET("/flows", sup, s.listFlows)
	api.POST("/flows", admin, s.createFlow)
	api.POST("/flows/validate", sup, s.validateFlow)
	api.POST("/flows/simulate", sup, s.simulateFlow)
	api.GET("/flows/:id", sup, s.getFlow)
	api.PATCH("/flows/:id", admin, s.patchFlow)
	api.DELETE("/flows/:id", admin, s.deleteFlow)

	api.GET("/numbers", sup, s.listNumbers)
	api.POST("/numbers", admin, s.createNumber)
	api.GET("/numbers/:id", sup, s.getNumber)
	api.PATCH("/numbers/:id", admin, s.patchNumber)
	api.DELETE("/numbers/:id", admin, s.deleteNumber)

	api.GET("/pause-reasons", agent, s.getPauseReasons)
	api.PUT("/pause-reasons", admin, s.putPauseReasons)

	api.GET("/calls", agent, s.listCalls)
}
