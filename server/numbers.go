package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

type numberStore interface {
	ListNumbers(ctx context.Context, org config.OrgID) ([]config.Number, error)
	GetNumber(ctx context.Context, org config.OrgID, id config.NumberID) (config.Number, error)
	CreateNumber(ctx context.Context, actor config.Actor, number string, flow config.FlowID, description string) (config.Number, error)
	UpdateNumber(ctx context.Context, actor config.Actor, id config.NumberID, p config.NumberPatch) (config.Number, error)
	DeleteNumber(ctx context.Context, actor config.Actor, id config.NumberID) error
}

type numberResponse struct {
	ID          config.NumberID `json:"id"`
	Number      string          `json:"number"`
	FlowID      config.FlowID   `json:"flow_id"`
	Description string          `json:"description"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func numberJSON(n config.Number) numberResponse {
	return numberResponse{n.ID, n.Number, n.FlowID, n.Description, n.CreatedAt, n.UpdatedAt}
}

type numberCreateRequest struct {
	Number      string        `json:"number"`
	FlowID      config.FlowID `json:"flow_id"`
	Description string        `json:"description"`
}

type numberPatchRequest struct {
	Number      *string        `json:"number"`
	FlowID      *config.FlowID `json:"flow_id"`
	Description *string        `json:"description"`
}

// Patch turns the request into the store's patch.
func (r numberPatchRequest) Patch() config.NumberPatch {
	return config.NumberPatch{Number: r.Number, FlowID: r.FlowID, Description: r.Description}
}

func (s *Server) listNumbers(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	ns, err := cc.ListNumbers(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]numberResponse, len(ns))
	for i, n := range ns {
		out[i] = numberJSON(n)
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getNumber(c *gin.Context) {
	cc, ok := s.callConfig(c)
	id, ok2 := s.pathID(c, "id", "number")
	if !ok || !ok2 {
		return
	}
	n, err := cc.GetNumber(c.Request.Context(), actor(c).OrgID, config.NumberID(id))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, numberJSON(n))
}

func (s *Server) createNumber(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	var req numberCreateRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	n, err := cc.CreateNumber(c.Request.Context(), actor(c), req.Number, req.FlowID, req.Description)
	if err != nil {
		s.failConfig(c, err)
		return
	}
	c.JSON(http.StatusCreated, numberJSON(n))
}

func (s *Server) patchNumber(c *gin.Context) {
	cc, ok := s.callConfig(c)
	id, ok2 := s.pathID(c, "id", "number")
	if !ok || !ok2 {
		return
	}
	var req numberPatchRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	n, err := cc.UpdateNumber(c.Request.Context(), actor(c), config.NumberID(id), req.Patch())
	if err != nil {
		s.failConfig(c, err)
		return
	}
	c.JSON(http.StatusOK, numberJSON(n))
}

func (s *Server) deleteNumber(c *gin.Context) {
	cc, ok := s.callConfig(c)
	id, ok2 := s.pathID(c, "id", "number")
	if !ok || !ok2 {
		return
	}
	if err := cc.DeleteNumber(c.Request.Context(), actor(c), config.NumberID(id)); err != nil {
		s.failConfig(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
