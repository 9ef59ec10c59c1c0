package config

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Device kinds of an agent.
const (
	DeviceWebRTC   = "webrtc"   // the browser softphone
	DeviceEndpoint = "endpoint" // an Asterisk dial string (desk phone, mobile through a trunk)
)

// Agent is a member of staff who takes calls.
type Agent struct {
	ID     AgentID
	OrgID  OrgID
	Name   string
	UserID *UserID        // the login user, at most one agent per user
	Skills map[string]int `gorm:"serializer:json"`
	// WrapUpSeconds overrides the queues' wrap-up when not nil.
	WrapUpSeconds *int
	DeviceKind    string // DeviceWebRTC or DeviceEndpoint
	DialString    string // for DeviceEndpoint, e.g. PJSIP/1001
	Active        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewAgent is what it takes to create an agent.
type NewAgent struct {
	Name          string
	UserID        *UserID
	Skills        map[string]int
	WrapUpSeconds *int
	DeviceKind    string
	DialString    string
}

// AgentPatch changes some fields of an agent; nil fields stay. ClearUser
// and ClearWrapUp remove the user link and the wrap-up override.
type AgentPatch struct {
	Name          *string
	UserID        *UserID
	ClearUser     bool
	Skills        *map[string]int
	WrapUpSeconds *int
	ClearWrapUp   bool
	DeviceKind    *string
	DialString    *string
	Active        *bool
}

// dialRE accepts an Asterisk dial string: TECH/resource[@context or trunk],
// e.g. PJSIP/1001, PJSIP/+4512345678@trunk, Local/1001@agents, SIP/x.
var (
	dialTechRE = regexp.MustCompile(`^(PJSIP|SIP|IAX2|DAHDI|Local|WebRTC)$`)
	dialResRE  = regexp.MustCompile(`^[A-Za-z0-9+_.*#-]{1,80}(@[A-Za-z0-9_.-]{1,80})?(/[A-Za-z0-9_.-]{1,80})?$`)
)

// ValidDialString reports whether d is a dial string omstil will originate.
func ValidDialString(d string) error {
	tech, res, ok := strings.Cut(d, "/")
	if !ok || !dialTechRE.MatchString(tech) || !dialResRE.MatchString(res) {
		return Invalid("dial_string", "%q: want TECH/resource such as PJSIP/1001, PJSIP/+4512345678@trunk or Local/1001@agents (TECH one of PJSIP, SIP, IAX2, DAHDI, Local)", d)
	}
	if tech == "Local" && !strings.Contains(res, "@") {
		return Invalid("dial_string", "%q: a Local channel needs a context: Local/exten@context", d)
	}
	return nil
}

func (a *Agent) validate() error {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return Invalid("name", "is required")
	}
	if err := validText("name", a.Name, 128); err != nil {
		return err
	}
	for k, v := range a.Skills {
		if err := validSkillName("skills", k); err != nil {
			return err
		}
		if v < 0 || v > 100 {
			return Invalid("skills", "%q: level must be 0-100", k)
		}
	}
	if a.WrapUpSeconds != nil && (*a.WrapUpSeconds < 0 || *a.WrapUpSeconds > 3600) {
		return Invalid("wrap_up_seconds", "must be 0-3600 (or null: the queue's)")
	}
	switch a.DeviceKind {
	case DeviceWebRTC:
		if a.DialString != "" {
			return Invalid("dial_string", "must be empty for a webrtc device")
		}
	case DeviceEndpoint:
		if err := ValidDialString(a.DialString); err != nil {
			return err
		}
	default:
		return Invalid("device_kind", "%q: want webrtc or endpoint", a.DeviceKind)
	}
	return nil
}

func agentView(a Agent) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "user_id": a.UserID, "skills": a.Skills, "wrap_up_seconds": a.WrapUpSeconds,
		"device_kind": a.DeviceKind, "dial_string": a.DialString, "active": a.Active}
}

// checkAgentUser makes sure the linked user is in the organisation and not
// linked to another agent.
func checkAgentUser(tx *gorm.DB, org OrgID, a *Agent) error {
	if a.UserID == nil {
		return nil
	}
	var u User
	if err := tx.Where("id = ? AND org_id = ?", *a.UserID, org).First(&u).Error; err != nil {
		if mapErr(err) == ErrNotFound {
			return Invalid("user_id", "there is no user %d in this organisation", *a.UserID)
		}
		return err
	}
	var other Agent
	err := tx.Where("user_id = ? AND id <> ?", *a.UserID, a.ID).First(&other).Error
	switch mapErr(err) {
	case nil:
		return &ConflictError{Field: "user_id", Message: fmt.Sprintf("user %q is already agent %q", u.Username, other.Name)}
	case ErrNotFound:
		return nil
	}
	return err
}

// CreateAgent validates and stores an agent (active), audited.
func (s *Store) CreateAgent(ctx context.Context, actor Actor, n NewAgent) (Agent, error) {
	a := Agent{OrgID: actor.OrgID, Name: n.Name, UserID: n.UserID, Skills: n.Skills, WrapUpSeconds: n.WrapUpSeconds,
		DeviceKind: n.DeviceKind, DialString: n.DialString, Active: true}
	if a.Skills == nil {
		a.Skills = map[string]int{}
	}
	if err := a.validate(); err != nil {
		return Agent{}, err
	}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertAgent(tx, actor, &a) })
	return a, wrapErr("create", "agent", nil, err)
}

// insertAgent stores a validated agent inside a change, audited; its user
// and dial string are checked against the transaction.
func (s *Store) insertAgent(tx *gorm.DB, actor Actor, a *Agent) error {
	if err := checkAgentUser(tx, actor.OrgID, a); err != nil {
		return err
	}
	if err := checkAgentDial(tx, actor.OrgID, a); err != nil {
		return err
	}
	if err := tx.Create(a).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "agent", a.ID, nil, agentView(*a))
}

// GetAgent loads an agent of an organisation.
func (s *Store) GetAgent(ctx context.Context, org OrgID, id AgentID) (Agent, error) {
	var a Agent
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&a).Error
	return a, wrapErr("load", "agent", id, err)
}

// AgentByUser loads the agent a login user is (ErrNotFound: none).
func (s *Store) AgentByUser(ctx context.Context, user UserID) (Agent, error) {
	var a Agent
	err := s.db.WithContext(ctx).Where("user_id = ?", user).First(&a).Error
	return a, wrapErr("load", "agent of user", user, err)
}

// ListAgents lists an organisation's agents by name.
func (s *Store) ListAgents(ctx context.Context, org OrgID) ([]Agent, error) {
	var out []Agent
	err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("name, id").Find(&out).Error
	return out, wrapErr("list", "agents", nil, err)
}

// UpdateAgent applies a patch, audited.
func (s *Store) UpdateAgent(ctx context.Context, actor Actor, id AgentID, p AgentPatch) (Agent, error) {
	var out Agent
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var a Agent
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&a).Error; err != nil {
			return err
		}
		before := agentView(a)
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.ClearUser {
			a.UserID = nil
		}
		if p.UserID != nil {
			u := *p.UserID
			a.UserID = &u
		}
		if p.Skills != nil {
			a.Skills = *p.Skills
			if a.Skills == nil {
				a.Skills = map[string]int{}
			}
		}
		if p.ClearWrapUp {
			a.WrapUpSeconds = nil
		}
		if p.WrapUpSeconds != nil {
			w := *p.WrapUpSeconds
			a.WrapUpSeconds = &w
		}
		if p.DeviceKind != nil {
			a.DeviceKind = *p.DeviceKind
			if a.DeviceKind == DeviceWebRTC && p.DialString == nil {
				a.DialString = ""
			}
		}
		if p.DialString != nil {
			a.DialString = *p.DialString
		}
		if p.Active != nil {
			a.Active = *p.Active
		}
		if err := a.validate(); err != nil {
			return err
		}
		if err := checkAgentUser(tx, actor.OrgID, &a); err != nil {
			return err
		}
		if err := checkAgentDial(tx, actor.OrgID, &a); err != nil {
			return err
		}
		if err := tx.Save(&a).Error; err != nil {
			return err
		}
		out = a
		return s.audit(tx, actor, "update", "agent", a.ID, before, agentView(a))
	})
	return out, wrapErr("update", "agent", id, err)
}

// DeleteAgent removes an agent and its memberships, audited.
func (s *Store) DeleteAgent(ctx context.Context, actor Actor, id AgentID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var a Agent
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&a).Error; err != nil {
			return err
		}
		if err := tx.Where("agent_id = ?", a.ID).Delete(&Membership{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(&a).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "agent", a.ID, agentView(a), nil)
	})
	return wrapErr("delete", "agent", id, err)
}

// Membership puts an agent in a queue.
type Membership struct {
	ID        MembershipID
	OrgID     OrgID
	AgentID   AgentID
	QueueID   QueueID
	Tier      int // 0 first line; see the queue's escalation
	SortOrder int // linear / round-robin order, lower first
	Weight    int // weighted-random weight, 1-1000
}

// MembershipPatch changes some fields of a membership.
type MembershipPatch struct {
	Tier      *int
	SortOrder *int
	Weight    *int
}

func (m *Membership) validate() error {
	if m.Tier < 0 || m.Tier > 100 {
		return Invalid("tier", "must be 0-100")
	}
	if m.SortOrder < 0 || m.SortOrder > 100000 {
		return Invalid("order", "must be 0-100000")
	}
	if m.Weight == 0 {
		m.Weight = 1
	}
	if m.Weight < 1 || m.Weight > 1000 {
		return Invalid("weight", "must be 1-1000")
	}
	return nil
}

func membershipView(m Membership) map[string]any {
	return map[string]any{"id": m.ID, "agent_id": m.AgentID, "queue_id": m.QueueID, "tier": m.Tier, "order": m.SortOrder, "weight": m.Weight}
}

// ListMemberships lists an organisation's memberships; agent or queue
// (when not 0) narrow it.
func (s *Store) ListMemberships(ctx context.Context, org OrgID, agent AgentID, q QueueID) ([]Membership, error) {
	db := s.db.WithContext(ctx).Where("org_id = ?", org)
	if agent != 0 {
		db = db.Where("agent_id = ?", agent)
	}
	if q != 0 {
		db = db.Where("queue_id = ?", q)
	}
	var out []Membership
	err := db.Order("agent_id, queue_id").Find(&out).Error
	return out, wrapErr("list", "memberships", nil, err)
}

// CreateMembership puts an agent of the organisation in one of its queues,
// audited. An agent is in a queue at most once (ErrConflict).
func (s *Store) CreateMembership(ctx context.Context, actor Actor, m Membership) (Membership, error) {
	m.ID, m.OrgID = 0, actor.OrgID
	if err := m.validate(); err != nil {
		return Membership{}, err
	}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertMembership(tx, actor, &m) })
	return m, wrapErr("create", "membership", nil, err)
}

// insertMembership stores a validated membership inside a change, audited.
func (s *Store) insertMembership(tx *gorm.DB, actor Actor, m *Membership) error {
	var n int64
	if err := tx.Model(&Agent{}).Where("id = ? AND org_id = ?", m.AgentID, actor.OrgID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	if err := tx.Model(&Queue{}).Where("id = ? AND org_id = ?", m.QueueID, actor.OrgID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return Invalid("queue_id", "there is no queue %d in this organisation", m.QueueID)
	}
	if err := tx.Model(&Membership{}).Where("agent_id = ? AND queue_id = ?", m.AgentID, m.QueueID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &ConflictError{Field: "queue_id", Message: "the agent is already a member of this queue"}
	}
	if err := tx.Create(m).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "membership", m.ID, nil, membershipView(*m))
}

// UpdateMembership changes a membership of an agent, audited.
func (s *Store) UpdateMembership(ctx context.Context, actor Actor, agent AgentID, id MembershipID, p MembershipPatch) (Membership, error) {
	var out Membership
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var m Membership
		if err := tx.Where("id = ? AND agent_id = ? AND org_id = ?", id, agent, actor.OrgID).First(&m).Error; err != nil {
			return err
		}
		before := membershipView(m)
		if p.Tier != nil {
			m.Tier = *p.Tier
		}
		if p.SortOrder != nil {
			m.SortOrder = *p.SortOrder
		}
		if p.Weight != nil {
			m.Weight = *p.Weight
			if m.Weight == 0 {
				return Invalid("weight", "must be 1-1000")
			}
		}
		if err := m.validate(); err != nil {
			return err
		}
		if err := tx.Save(&m).Error; err != nil {
			return err
		}
		out = m
		return s.audit(tx, actor, "update", "membership", m.ID, before, membershipView(m))
	})
	return out, wrapErr("update", "membership", id, err)
}

// DeleteMembership takes an agent out of a queue, audited.
func (s *Store) DeleteMembership(ctx context.Context, actor Actor, agent AgentID, id MembershipID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var m Membership
		if err := tx.Where("id = ? AND agent_id = ? AND org_id = ?", id, agent, actor.OrgID).First(&m).Error; err != nil {
			return err
		}
		if err := tx.Delete(&m).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "membership", m.ID, membershipView(m), nil)
	})
	return wrapErr("delete", "membership", id, err)
}
