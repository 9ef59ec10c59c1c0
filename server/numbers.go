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
	Number      string          `json:"number"`  // canonical: +4570101010, or a short number
	Display     string          `json:"display"` // as typed
	FlowID      config.FlowID   `json:"flow_id"`
	Description string          `json:"description"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func numberJSON(n config.Number) numberResponse {
	return numberResponse{n.ID, n.Number, n.Display, n.FlowID, n.Description, n.CreatedAt, n.UpdatedAt}
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
	readOrg(s, c, CallConfig.ListNumbers, each(numberJSON))
}

func (s *Server) getNumber(c *gin.Context) {
	readByID(s, c, "number", CallConfig.GetNumber, numberJSON)
}

func (s *Server) createNumber(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req numberCreateRequest) (config.Number, error) {
		return cc.CreateNumber(ctx, a, req.Number, req.FlowID, req.Description)
	}, numberJSON)
}

func (s *Server) patchNumber(c *gin.Context) {
	patchByID[numberPatchRequest](s, c, "number", CallConfig.UpdateNumber, numberJSON)
}

func (s *Server) deleteNumber(c *gin.Context) {
	deleteByID(s, c, "number", CallConfig.DeleteNumber)
}
