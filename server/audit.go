package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

type auditStore interface {
	ListAudit(ctx context.Context, org config.OrgID, f config.AuditFilter) ([]config.AuditEntry, error)
}

type auditResponse struct {
	ID         int64           `json:"id"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	At         time.Time       `json:"at"`
}

func (s *Server) listAudit(c *gin.Context) {
	f := config.AuditFilter{ObjectType: c.Query("object_type")}
	for name, dst := range map[string]*int64{"before": &f.Before} {
		if v := c.Query(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				s.fail(c, &apiError{http.StatusBadRequest, "invalid", name + ": not a whole number", name})
				return
			}
			*dst = n
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", "limit: must be 1-500", "limit"})
			return
		}
		f.Limit = n
	}
	es, err := s.opts.Store.ListAudit(c.Request.Context(), actor(c).OrgID, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]auditResponse, len(es))
	for i, e := range es {
		out[i] = auditResponse{ID: e.ID, Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, At: e.CreatedAt}
		if e.BeforeJSON != "" {
			out[i].Before = json.RawMessage(e.BeforeJSON)
		}
		if e.AfterJSON != "" {
			out[i].After = json.RawMessage(e.AfterJSON)
		}
	}
	c.JSON(http.StatusOK, out)
}
