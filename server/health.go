package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

type readyCheck struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Roles /readyz reports: the process that handles the calls, and one that
// waits to take over (PostgreSQL; docs/operations.md, "Two nodes").
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
)

// readiness is /readyz's answer: 200 only when every check passes and,
// when the request asks for a role (?role=leader), this process has it;
// otherwise 503 with the reasons. A load balancer routes by
// /readyz?role=leader to the leader only.
func readiness(r *http.Request, role string, checks []Check) (int, gin.H) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := make([]readyCheck, 0, len(checks))
	ready := true
	for _, ch := range checks {
		rc := readyCheck{Name: ch.Name, OK: true}
		if err := ch.Check(ctx); err != nil {
			rc.OK, rc.Error, ready = false, err.Error(), false
		}
		out = append(out, rc)
	}
	if !ready {
		return http.StatusServiceUnavailable, gin.H{"status": "not ready", "role": role, "checks": out,
			"error": errorDetail{Code: "not_ready", Message: "not ready: see checks"}}
	}
	if want := r.URL.Query().Get("role"); want != "" && want != role {
		return http.StatusServiceUnavailable, gin.H{"status": "ready", "role": role, "checks": out,
			"error": errorDetail{Code: "wrong_role", Message: "this omstil is the " + role + ", not the " + want}}
	}
	return http.StatusOK, gin.H{"status": "ready", "role": role, "checks": out}
}

// readyz answers 200 only when the database and every other check (the
// ARI connection) are up; otherwise 503 with the reasons.
func (s *Server) readyz(c *gin.Context) {
	role := RoleLeader
	if s.opts.Role != nil {
		role = s.opts.Role()
	}
	checks := append([]Check{{Name: "database", Check: s.opts.Store.Ping}}, s.opts.Checks...)
	code, body := readiness(c.Request, role, checks)
	c.JSON(code, body)
}
