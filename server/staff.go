package server

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// A member of staff in one request (POST /api/v1/staff): the agent, a new
// login or a link to an existing one, and the queues it answers, stored
// in one transaction, so a refusal of any part saves nothing.

type staffLoginRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

type staffCreateRequest struct {
	agentCreateRequest
	Login       *staffLoginRequest        `json:"login"`
	Memberships []membershipCreateRequest `json:"memberships"`
}

// New turns the request into the store's new staff member.
func (r staffCreateRequest) New() config.NewStaff {
	n := config.NewStaff{Agent: r.agentCreateRequest.New()}
	if r.Login != nil {
		n.Login = &config.NewUser{Username: r.Login.Username, Password: r.Login.Password, DisplayName: r.Login.DisplayName}
	}
	for _, m := range r.Memberships {
		n.Memberships = append(n.Memberships, config.Membership{QueueID: m.QueueID, Tier: m.Tier, SortOrder: m.Order, Weight: m.Weight})
	}
	return n
}

type staffResponse struct {
	Agent       agentResponse        `json:"agent"`
	User        *userResponse        `json:"user"`
	Memberships []membershipResponse `json:"memberships"`
}

func staffJSON(s config.Staff) staffResponse {
	out := staffResponse{Agent: agentJSON(s.Agent), Memberships: each(membershipJSON)(s.Memberships)}
	if s.User != nil {
		u := userJSON(*s.User)
		out.User = &u
	}
	return out
}

func (s *Server) createStaff(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req staffCreateRequest) (config.Staff, error) {
		return cc.CreateStaff(ctx, a, req.New())
	}, staffJSON)
}
