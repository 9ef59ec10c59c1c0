package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// Routes is what other parts get to register their endpoints on the API
// with the same authentication and error handling.
type Routes struct {
	API *gin.RouterGroup // /api/v1, authenticated (user may be absent)
	// Role returns a middleware refusing callers below a role.
	Role func(min config.Role) gin.HandlerFunc
	// Fail renders an error in the API's one error shape.
	Fail func(c *gin.Context, err error)
	// Root is the engine, for pages outside /api/v1.
	Root *gin.Engine
}

// registerRoutes registers every route of omstil in one place.
func (s *Server) registerRoutes() {
	e := s.engine
	e.Use(s.metrics.observe, s.recover)
	e.NoRoute(func(c *gin.Context) { s.fail(c, errNotFound("route")) })
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed", ""})
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metricsHandler())

	api := e.Group("/api/v1", s.authenticate)
	api.GET("/openapi.json", s.openAPI)
	api.POST("/auth/login", s.login)
	api.POST("/auth/logout", s.logout)
	api.GET("/auth/me", s.requireRole(config.RoleAgent), s.me)

	admin := s.requireRole(config.RoleAdmin)
	api.GET("/users", admin, s.listUsers)
	api.POST("/users", admin, s.createUser)
	api.GET("/users/:id", admin, s.getUser)
	api.PATCH("/users/:id", admin, s.patchUser)
	api.DELETE("/users/:id", admin, s.deleteUser)
	agent := s.requireRole(config.RoleAgent)
	api.GET("/users/:id/tokens", agent, s.listTokens)
	api.POST("/users/:id/tokens", agent, s.createToken)
	api.DELETE("/users/:id/tokens/:tokenId", agent, s.deleteToken)
	api.GET("/audit", admin, s.listAudit)
	api.GET("/organisation", admin, s.ownOrg)
	api.GET("/organisations", s.requireSystem, s.listOrgs)
	api.POST("/organisations", s.requireSystem, s.createOrg)
	api.GET("/organisations/:id", s.requireSystem, s.getOrg)
	api.PATCH("/organisations/:id", s.requireSystem, s.patchOrg)
	s.registerCallConfigRoutes(api)

	r := &Routes{API: api, Role: s.requireRole, Fail: s.fail, Root: e}
	for _, extra := range s.opts.Extra {
		extra(r)
	}
	s.registerAgentPages()
	s.registerPages()
}

// recover turns a panic in a handler into a logged 500 with the API's
// error shape.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panicked", "route", c.FullPath(), "panic", v)
			s.fail(c, &apiError{http.StatusInternalServerError, "internal", "internal error", ""})
		}
	}()
	c.Next()
}
