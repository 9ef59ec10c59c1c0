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

// readyz answers 200 only when the database and every other check (the
// ARI connection) are up; otherwise 503 with the reasons.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := append([]Check{{Name: "database", Check: s.opts.Store.Ping}}, s.opts.Checks...)
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
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "checks": out,
			"error": errorDetail{Code: "not_ready", Message: "not ready: see checks"}})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": out})
}
