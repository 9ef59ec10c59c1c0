package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

type flowStore interface {
	ListFlows(ctx context.Context, org config.OrgID) ([]config.Flow, error)
	GetFlow(ctx context.Context, org config.OrgID, id config.FlowID) (config.Flow, error)
	CreateFlow(ctx context.Context, actor config.Actor, name string, def callflow.Flow) (config.Flow, error)
	UpdateFlow(ctx context.Context, actor config.Actor, id config.FlowID, p config.FlowPatch) (config.Flow, error)
	DeleteFlow(ctx context.Context, actor config.Actor, id config.FlowID) error
	FlowForNumber(ctx context.Context, org config.OrgID, number string) (config.Flow, error)
	Refs(ctx context.Context, org config.OrgID) (callflow.Refs, error)
}

type flowResponse struct {
	ID         config.FlowID `json:"id"`
	Name       string        `json:"name"`
	Definition callflow.Flow `json:"definition"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

func flowJSON(f config.Flow) flowResponse {
	return flowResponse{f.ID, f.Name, f.Definition, f.CreatedAt, f.UpdatedAt}
}

type flowCreateRequest struct {
	Name       string        `json:"name"`
	Definition callflow.Flow `json:"definition"`
}

type flowPatchRequest struct {
	Name       *string        `json:"name"`
	Definition *callflow.Flow `json:"definition"`
}

// Patch turns the request into the store's patch.
func (r flowPatchRequest) Patch() config.FlowPatch {
	return config.FlowPatch{Name: r.Name, Definition: r.Definition}
}

func (s *Server) listFlows(c *gin.Context) {
	readOrg(s, c, CallConfig.ListFlows, each(flowJSON))
}

func (s *Server) getFlow(c *gin.Context) {
	readByID(s, c, "flow", CallConfig.GetFlow, flowJSON)
}

func (s *Server) createFlow(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req flowCreateRequest) (config.Flow, error) {
		return cc.CreateFlow(ctx, a, req.Name, req.Definition)
	}, flowJSON)
}

func (s *Server) patchFlow(c *gin.Context) {
	patchByID[flowPatchRequest](s, c, "flow", CallConfig.UpdateFlow, flowJSON)
}

func (s *Server) deleteFlow(c *gin.Context) {
	deleteByID(s, c, "flow", CallConfig.DeleteFlow)
}

type flowCheckResponse struct {
	Valid    bool               `json:"valid"`
	Problems []callflow.Problem `json:"problems"` // errors and warnings
}

// validateFlow checks a flow against the organisation's queues,
// announcements and schedules without saving it.
func (s *Server) validateFlow(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	def, ok := decode[callflow.Flow](s, c)
	if !ok {
		return
	}
	refs, err := cc.Refs(c.Request.Context(), actor(c).OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	ps := def.Check(refs)
	out := flowCheckResponse{Valid: true, Problems: ps}
	if out.Problems == nil {
		out.Problems = []callflow.Problem{}
	}
	for _, p := range ps {
		if p.Severity == callflow.SeverityError {
			out.Valid = false
		}
	}
	c.JSON(http.StatusOK, out)
}

// simulateRequest is a routing dry-run: a call to Number (or through an
// inline Flow, or the saved flow FlowID) from Caller at Time.
type simulateRequest struct {
	Number        string                  `json:"number"`
	FlowID        config.FlowID           `json:"flow_id"`
	Flow          *callflow.Flow          `json:"flow"`
	Caller        string                  `json:"caller"`
	Time          *time.Time              `json:"time"`
	Digits        []string                `json:"digits"`
	QueueOutcomes []callflow.QueueOutcome `json:"queueOutcomes"`
}

type simulateResponse struct {
	Flow     string              `json:"flow"`
	Path     []callflow.PathStep `json:"path"`
	Broken   string              `json:"broken,omitempty"` // why the run ended on a flow error
	Problems []callflow.Problem  `json:"problems"`         // warnings of the flow
}

func (s *Server) simulateFlow(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	req, ok := decode[simulateRequest](s, c)
	if !ok {
		return
	}
	ctx, org := c.Request.Context(), actor(c).OrgID
	var (
		def  callflow.Flow
		name string
	)
	switch given := btoi(req.Number != "") + btoi(req.FlowID != 0) + btoi(req.Flow != nil); {
	case given != 1:
		s.fail(c, &apiError{http.StatusBadRequest, "invalid", "give exactly one of number, flow_id and flow", "number"})
		return
	case req.Number != "":
		f, err := cc.FlowForNumber(ctx, org, req.Number)
		if errors.Is(err, config.ErrNotFound) {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", "number: " + req.Number + " is not routed to a flow", "number"})
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		def, name = f.Definition, f.Name
	case req.FlowID != 0:
		f, err := cc.GetFlow(ctx, org, req.FlowID)
		if errors.Is(err, config.ErrNotFound) {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", "flow_id: no such flow", "flow_id"})
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		def, name = f.Definition, f.Name
	default:
		def, name = *req.Flow, req.Flow.Name
	}
	refs, err := cc.Refs(ctx, org)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := def.Validate(refs); err != nil {
		s.failConfig(c, err)
		return
	}
	in := callflow.SimInput{Number: req.Number, Caller: req.Caller, Time: s.opts.Now(), Digits: req.Digits, QueueOutcomes: req.QueueOutcomes}
	if req.Time != nil {
		in.Time = *req.Time
	}
	path, err := callflow.Simulate(&def, in, refs)
	out := simulateResponse{Flow: name, Path: path, Problems: def.Check(refs)}
	switch {
	case errors.Is(err, callflow.ErrFlowBroken):
		out.Broken = err.Error()
	case err != nil:
		s.fail(c, &apiError{http.StatusBadRequest, "invalid", err.Error(), ""})
		return
	}
	if out.Path == nil {
		out.Path = []callflow.PathStep{}
	}
	if out.Problems == nil {
		out.Problems = []callflow.Problem{}
	}
	c.JSON(http.StatusOK, out)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
