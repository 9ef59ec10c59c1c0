package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

type agentStore interface {
	ListAgents(ctx context.Context, org config.OrgID) ([]config.Agent, error)
	GetAgent(ctx context.Context, org config.OrgID, id config.AgentID) (config.Agent, error)
	AgentByUser(ctx context.Context, user config.UserID) (config.Agent, error)
	CreateAgent(ctx context.Context, actor config.Actor, n config.NewAgent) (config.Agent, error)
	UpdateAgent(ctx context.Context, actor config.Actor, id config.AgentID, p config.AgentPatch) (config.Agent, error)
	DeleteAgent(ctx context.Context, actor config.Actor, id config.AgentID) error
	ListMemberships(ctx context.Context, org config.OrgID, agent config.AgentID, q config.QueueID) ([]config.Membership, error)
	CreateMembership(ctx context.Context, actor config.Actor, m config.Membership) (config.Membership, error)
	UpdateMembership(ctx context.Context, actor config.Actor, agent config.AgentID, id config.MembershipID, p config.MembershipPatch) (config.Membership, error)
	DeleteMembership(ctx context.Context, actor config.Actor, agent config.AgentID, id config.MembershipID) error
	CreateStaff(ctx context.Context, actor config.Actor, n config.NewStaff) (config.Staff, error)
}

// nullable is a JSON field that may be absent (Set false), null (Set,
// Value nil) or a value.
type nullable[T any] struct {
	Set   bool
	Value *T
}

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

type agentResponse struct {
	ID            config.AgentID `json:"id"`
	EngineID      queue.AgentID  `json:"engine_id"`
	Name          string         `json:"name"`
	UserID        *config.UserID `json:"user_id"`
	Skills        map[string]int `json:"skills"`
	WrapUpSeconds *int           `json:"wrap_up_seconds"`
	DeviceKind    string         `json:"device_kind"`
	DialString    string         `json:"dial_string"`
	Active        bool           `json:"active"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

func agentJSON(a config.Agent) agentResponse {
	sk := a.Skills
	if sk == nil {
		sk = map[string]int{}
	}
	return agentResponse{a.ID, config.EngineAgentID(a.ID), a.Name, a.UserID, sk, a.WrapUpSeconds, a.DeviceKind, a.DialString, a.Active, a.CreatedAt, a.UpdatedAt}
}

type agentCreateRequest struct {
	Name          string         `json:"name"`
	UserID        *config.UserID `json:"user_id"`
	Skills        map[string]int `json:"skills"`
	WrapUpSeconds *int           `json:"wrap_up_seconds"`
	DeviceKind    string         `json:"device_kind"`
	DialString    string         `json:"dial_string"`
}

// New turns the request into the store's new agent.
func (r agentCreateRequest) New() config.NewAgent {
	return config.NewAgent{Name: r.Name, UserID: r.UserID, Skills: r.Skills,
		WrapUpSeconds: r.WrapUpSeconds, DeviceKind: r.DeviceKind, DialString: r.DialString}
}

type agentPatchRequest struct {
	Name          *string                 `json:"name"`
	UserID        nullable[config.UserID] `json:"user_id"`
	Skills        *map[string]int         `json:"skills"`
	WrapUpSeconds nullable[int]           `json:"wrap_up_seconds"`
	DeviceKind    *string                 `json:"device_kind"`
	DialString    *string                 `json:"dial_string"`
	Active        *bool                   `json:"active"`
}

// Patch turns the request into the store's patch; null clears user_id and
// wrap_up_seconds.
func (r agentPatchRequest) Patch() config.AgentPatch {
	return config.AgentPatch{Name: r.Name, UserID: r.UserID.Value, ClearUser: r.UserID.Set && r.UserID.Value == nil,
		Skills: r.Skills, WrapUpSeconds: r.WrapUpSeconds.Value, ClearWrapUp: r.WrapUpSeconds.Set && r.WrapUpSeconds.Value == nil,
		DeviceKind: r.DeviceKind, DialString: r.DialString, Active: r.Active}
}

func (s *Server) listAgents(c *gin.Context) {
	readOrg(s, c, CallConfig.ListAgents, each(agentJSON))
}

func (s *Server) getAgent(c *gin.Context) {
	readByID(s, c, "agent", CallConfig.GetAgent, agentJSON)
}

func (s *Server) createAgent(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req agentCreateRequest) (config.Agent, error) {
		return cc.CreateAgent(ctx, a, req.New())
	}, agentJSON)
}

func (s *Server) patchAgent(c *gin.Context) {
	patchByID[agentPatchRequest](s, c, "agent", CallConfig.UpdateAgent, agentJSON)
}

func (s *Server) deleteAgent(c *gin.Context) {
	deleteByID(s, c, "agent", CallConfig.DeleteAgent)
}

// --- memberships ---

type membershipResponse struct {
	ID      config.MembershipID `json:"id"`
	AgentID config.AgentID      `json:"agent_id"`
	QueueID config.QueueID      `json:"queue_id"`
	Tier    int                 `json:"tier"`
	Order   int                 `json:"order"`
	Weight  int                 `json:"weight"`
}

func membershipJSON(m config.Membership) membershipResponse {
	return membershipResponse{m.ID, m.AgentID, m.QueueID, m.Tier, m.SortOrder, m.Weight}
}

type membershipCreateRequest struct {
	QueueID config.QueueID `json:"queue_id"`
	Tier    int            `json:"tier"`
	Order   int            `json:"order"`
	Weight  int            `json:"weight"`
}

type membershipPatchRequest struct {
	Tier   *int `json:"tier"`
	Order  *int `json:"order"`
	Weight *int `json:"weight"`
}

// Patch turns the request into the store's patch.
func (r membershipPatchRequest) Patch() config.MembershipPatch {
	return config.MembershipPatch{Tier: r.Tier, SortOrder: r.Order, Weight: r.Weight}
}

// membershipPath returns the store and the agent and membership in the
// path.
func (s *Server) membershipPath(c *gin.Context) (CallConfig, config.AgentID, config.MembershipID, bool) {
	cc, id, ok := s.configAndID(c, "agent")
	if !ok {
		return nil, 0, 0, false
	}
	mid, ok := s.pathID(c, "membershipId", "membership")
	return cc, config.AgentID(id), config.MembershipID(mid), ok
}

func (s *Server) listMemberships(c *gin.Context) {
	cc, id, ok := s.configAndID(c, "agent")
	if !ok {
		return
	}
	org := actor(c).OrgID
	if _, err := cc.GetAgent(c.Request.Context(), org, config.AgentID(id)); err != nil {
		s.fail(c, err)
		return
	}
	ms, err := cc.ListMemberships(c.Request.Context(), org, config.AgentID(id), 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, each(membershipJSON)(ms))
}

func (s *Server) createMembership(c *gin.Context) {
	cc, id, ok := s.configAndID(c, "agent")
	if !ok {
		return
	}
	req, ok := decode[membershipCreateRequest](s, c)
	if !ok {
		return
	}
	m, err := cc.CreateMembership(c.Request.Context(), actor(c), config.Membership{AgentID: config.AgentID(id), QueueID: req.QueueID,
		Tier: req.Tier, SortOrder: req.Order, Weight: req.Weight})
	saved(s, c, http.StatusCreated, m, err, membershipJSON)
}

func (s *Server) patchMembership(c *gin.Context) {
	cc, agent, id, ok := s.membershipPath(c)
	if !ok {
		return
	}
	req, ok := decode[membershipPatchRequest](s, c)
	if !ok {
		return
	}
	m, err := cc.UpdateMembership(c.Request.Context(), actor(c), agent, id, req.Patch())
	saved(s, c, http.StatusOK, m, err, membershipJSON)
}

func (s *Server) deleteMembership(c *gin.Context) {
	cc, agent, id, ok := s.membershipPath(c)
	if !ok {
		return
	}
	if err := cc.DeleteMembership(c.Request.Context(), actor(c), agent, id); err != nil {
		s.failConfig(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// --- live agent state ---

// ownAgent returns the store and resolves the agent in the path:
// supervisors and admins may act on any agent of their organisation, an
// agent only on themself.
func (s *Server) ownAgent(c *gin.Context) (CallConfig, config.Agent, bool) {
	cc, ok := s.callConfig(c)
	if !ok {
		return nil, config.Agent{}, false
	}
	id, ok := s.pathID(c, "id", "agent")
	if !ok {
		return nil, config.Agent{}, false
	}
	me, _ := currentUser(c)
	a, err := cc.GetAgent(c.Request.Context(), me.OrgID, config.AgentID(id))
	if err != nil {
		s.fail(c, err)
		return nil, config.Agent{}, false
	}
	if !me.Role.AtLeast(config.RoleSupervisor) && (a.UserID == nil || *a.UserID != me.ID) {
		s.fail(c, errForbidden())
		return nil, config.Agent{}, false
	}
	return cc, a, true
}

type agentStateRequest struct {
	State  string   `json:"state"`
	Reason string   `json:"reason"`
	Queues []string `json:"queues"` // queue names; absent: every queue the agent is a member of
}

func (s *Server) putAgentState(c *gin.Context) {
	cc, a, ok := s.ownAgent(c)
	if !ok {
		return
	}
	req, ok := decode[agentStateRequest](s, c)
	if !ok {
		return
	}
	ctx, org := c.Request.Context(), actor(c).OrgID
	// The body's state is queue.State's text form (the REST API, the
	// engine and the database spell it the same way); only ready, paused
	// and logged_out can be chosen.
	st, err := queue.ParseState(req.State)
	if err != nil || (st != queue.Ready && st != queue.Paused && st != queue.LoggedOut) {
		s.fail(c, &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("state: %q: want ready, paused or logged_out", req.State), "state"})
		return
	}
	switch st {
	case queue.Ready, queue.LoggedOut:
		if req.Reason != "" {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", "reason: only a pause has a reason", "reason"})
			return
		}
	case queue.Paused:
		reasons, err := cc.PauseReasons(ctx, org)
		if err != nil {
			s.fail(c, err)
			return
		}
		found := false
		for _, r := range reasons {
			if strings.EqualFold(r, strings.TrimSpace(req.Reason)) {
				req.Reason, found = r, true
			}
		}
		if !found {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("reason: %q is not one of the pause reasons (%s)", req.Reason, strings.Join(reasons, ", ")), "reason"})
			return
		}
	}
	if !a.Active {
		s.fail(c, &apiError{http.StatusConflict, "inactive", "the agent is deactivated", ""})
		return
	}
	var queues []queue.QueueID
	if req.Queues != nil {
		slug, ok := s.orgSlug(c, cc)
		if !ok {
			return
		}
		qs, err := cc.ListQueues(ctx, org)
		if err != nil {
			s.fail(c, err)
			return
		}
		known := map[string]bool{}
		for _, q := range qs {
			known[q.Name] = true
		}
		queues = []queue.QueueID{}
		for i, n := range req.Queues {
			if !known[n] {
				s.fail(c, &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("queues[%d]: there is no queue named %q", i, n), fmt.Sprintf("queues[%d]", i)})
				return
			}
			queues = append(queues, config.EngineQueueID(slug, n))
		}
	}
	if s.opts.Live == nil {
		s.fail(c, errLiveDown())
		return
	}
	eid := config.EngineAgentID(a.ID)
	if err := s.opts.Live.SetAgentState(ctx, eid, st, req.Reason, queues); err != nil {
		s.failLive(c, err)
		return
	}
	s.log.Info("agent state set", "agent", string(eid), "state", st.String(), "by", actor(c).Username)
	snap, err := s.opts.Live.Snapshot(ctx)
	if err != nil {
		s.failLive(c, err)
		return
	}
	c.JSON(http.StatusOK, agentStatusJSON(a, snap))
}

type agentStatusResponse struct {
	ID            config.AgentID  `json:"id"`
	EngineID      queue.AgentID   `json:"engine_id"`
	State         string          `json:"state"`
	Reason        string          `json:"reason,omitempty"`
	Since         *time.Time      `json:"since,omitempty"`
	Call          queue.CallID    `json:"call,omitempty"`
	Queue         queue.QueueID   `json:"queue,omitempty"`
	Queues        []queue.QueueID `json:"queues"`
	CallsToday    int             `json:"calls_today"`
	DeviceBusy    bool            `json:"device_busy"`
	PendingPause  string          `json:"pending_pause,omitempty"`
	PendingLogout bool            `json:"pending_logout"`
	At            time.Time       `json:"at"`
}

func agentStatusJSON(a config.Agent, snap queue.Snapshot) agentStatusResponse {
	eid := config.EngineAgentID(a.ID)
	out := agentStatusResponse{ID: a.ID, EngineID: eid, State: queue.LoggedOut.String(), Queues: []queue.QueueID{}, At: snap.At}
	for _, as := range snap.Agents {
		if as.ID != eid {
			continue
		}
		since := as.Since
		out.State, out.Reason, out.Since, out.Call, out.Queue = as.State.String(), as.Reason, &since, as.Call, as.Queue
		out.Queues = append(out.Queues, as.Queues...)
		out.CallsToday, out.DeviceBusy, out.PendingPause, out.PendingLogout = as.CallsToday, as.DeviceBusy, as.PendingPause, as.PendingLogout
	}
	return out
}

func (s *Server) agentStatus(c *gin.Context) {
	_, a, ok := s.ownAgent(c)
	if !ok {
		return
	}
	snap, ok := s.liveSnapshot(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, agentStatusJSON(a, snap))
}
