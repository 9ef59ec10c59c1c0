package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/web"
)

// registerRoutes registers every route of omstil, and is the only place
// that does (TestRoutesRegisteredInOneFunction): method, path, the role a
// caller needs, handler. The handlers live in one file per resource.
//
// Middleware runs in this order: metrics and panic recovery on every
// route; then, per group, authenticate (session cookie or bearer token;
// the user may stay absent), the kiosk cookie where a wallboard TV may
// read, and the role check. The CSRF/origin checks and the security
// headers wrap the whole engine (New).
func (s *Server) registerRoutes() {
	e := s.engine
	e.Use(s.metrics.observe, s.recover)
	e.NoRoute(func(c *gin.Context) { s.fail(c, errNotFound("route")) })
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed", ""})
	})

	admin := s.requireRole(config.RoleAdmin)
	sup := s.requireRole(config.RoleSupervisor)
	agent := s.requireRole(config.RoleAgent)
	system := s.requireSystem // the system organisation's admins

	// Operations: no login.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metricsHandler())

	// Media Asterisk fetches over HTTP: no login (announcements.go, prompts.go).
	e.GET("/media/announcements/:file", s.announcementMedia) // the signed name is the credential
	if s.opts.Prompts != nil {
		e.GET("/media/prompts/da/:file", s.promptMedia)
	}

	// The JSON API (docs/api.md, openapi.json).
	api := e.Group("/api/v1", s.authenticate)
	api.GET("/openapi.json", s.openAPI)
	api.POST("/auth/login", s.login)
	api.POST("/auth/logout", s.logout)
	api.GET("/auth/me", agent, s.me)

	api.GET("/users", admin, s.listUsers)
	api.POST("/users", admin, s.createUser)
	api.GET("/users/:id", admin, s.getUser)
	api.PATCH("/users/:id", admin, s.patchUser)
	api.DELETE("/users/:id", admin, s.deleteUser)
	api.GET("/users/:id/tokens", agent, s.listTokens) // own; admins any user of the organisation (users.go tokenOwner)
	api.POST("/users/:id/tokens", agent, s.createToken)
	api.DELETE("/users/:id/tokens/:tokenId", agent, s.deleteToken)
	api.GET("/audit", admin, s.listAudit)

	// A data subject's requests (gdpr.go): the number in the body, never
	// the URL; the organisation's own records only; audited by pseudonym.
	api.POST("/gdpr/export", admin, s.exportSubject)
	api.POST("/gdpr/delete", admin, s.deleteSubject)

	api.GET("/organisation", admin, s.ownOrg)
	api.GET("/organisations", system, s.listOrgs)
	api.POST("/organisations", system, s.createOrg)
	api.GET("/organisations/:id", system, s.getOrg)
	api.PATCH("/organisations/:id", system, s.patchOrg)

	// Call-handling configuration: admins change, supervisors read.
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
	api.PUT("/agents/:id/state", agent, s.putAgentState) // own; supervisors any agent (agents.go ownAgent)
	api.GET("/agents/:id/status", agent, s.agentStatus)
	api.POST("/staff", admin, s.createStaff) // an agent, its login and queues in one (staff.go)

	api.GET("/step-kinds", sup, s.listStepKinds)
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

	// Reports (reports.go, docs/reports.md): supervisors and admins of the
	// organisation, about its own queues.
	api.GET("/reports/staffing", sup, s.staffingReport)

	// Live call handling (live.go, calls.go).
	api.GET("/calls", agent, s.listCalls)
	api.POST("/calls/:call/caller", sup, s.revealCaller)   // the number in clear, audited (gdpr.go)
	api.GET("/live", s.authenticateKiosk, sup, s.liveFeed) // a wallboard TV's kiosk cookie too

	// The agent softphone page (agent.go, agent_ws.go).
	e.GET("/agent", s.agentIndex)
	e.StaticFS("/agent/assets", http.FS(s.agentPage.assets))
	ag := e.Group("/agent", s.authenticate)
	ag.GET("/setup", agent, s.agentSetup)
	ag.PUT("/queues", agent, s.agentQueues)
	ag.GET("/colleagues", agent, s.agentColleagues)
	ag.GET("/ws", agent, s.agentSocket)

	// OpenID Connect login (oidc.go), when configured.
	if s.oidc != nil {
		e.GET(oidcLoginPath, s.oidcStart)
		e.GET(oidcCallbackPath, s.oidcCallback)
	}

	// HTML pages (pages.go): a page checks the role itself, to send an
	// anonymous visitor to the login page and show others "no access".
	e.StaticFS("/static", http.FS(web.Static()))
	pg := e.Group("", s.language, s.authenticate)
	pg.GET("/", s.homePage)
	pg.GET("/login", s.loginPage)
	pg.GET("/wallboard", s.kioskLogin, s.wallboardPage)
	pg.GET("/admin", s.adminPage)
	pg.GET("/admin/:section", s.adminPage)
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

// registerStandbyRoutes is the route table of a standby (NewStandby): its
// own health, readiness and metrics; every other request goes to the
// leader, which serves the routes above.
func (sb *standby) registerStandbyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", sb.healthz)
	mux.HandleFunc("GET /readyz", sb.readyz)
	mux.Handle("GET /metrics", sb.metrics())
	mux.HandleFunc("/", sb.pass)
}
