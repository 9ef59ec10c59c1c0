package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// NewStaff is a member of staff made in one step: the agent, its login
// and the queues it answers. Either Login makes a new local login (role
// agent) or Agent.UserID links an existing user of the organisation (or
// neither: an agent without a login, e.g. a desk phone nobody logs in for).
type NewStaff struct {
	Agent NewAgent
	// Login, when set, is created as a new local user of the actor's
	// organisation with role agent; its display name defaults to the
	// agent's name. OrgID and Role are set by CreateStaff.
	Login *NewUser
	// Memberships put the agent in queues (QueueID, Tier, SortOrder,
	// Weight; AgentID and OrgID are set by CreateStaff).
	Memberships []Membership
}

// Staff is what CreateStaff made.
type Staff struct {
	Agent       Agent
	User        *User // the new login, when one was made
	Memberships []Membership
}

// CreateStaff validates every part first, then stores the login, the
// agent and its memberships in one transaction, audited: a refusal of any
// part saves nothing. Errors name the field as the request does:
// "login.username", "memberships[1].queue_id", or the agent's own.
func (s *Store) CreateStaff(ctx context.Context, actor Actor, n NewStaff) (Staff, error) {
	a := Agent{OrgID: actor.OrgID, Name: n.Agent.Name, UserID: n.Agent.UserID, Skills: n.Agent.Skills, WrapUpSeconds: n.Agent.WrapUpSeconds,
		DeviceKind: n.Agent.DeviceKind, DialString: n.Agent.DialString, Active: true}
	if a.Skills == nil {
		a.Skills = map[string]int{}
	}
	if err := a.validate(); err != nil {
		return Staff{}, err
	}
	var u *User
	if n.Login != nil {
		if a.UserID != nil {
			return Staff{}, Invalid("login", "give a new login or user_id, not both")
		}
		nu := *n.Login
		nu.OrgID, nu.Role, nu.SystemAdmin = actor.OrgID, RoleAgent, false
		if nu.DisplayName == "" {
			nu.DisplayName = a.Name
		}
		if err := nu.validate(); err != nil {
			return Staff{}, inField("login.", err)
		}
		hash, err := HashPassword(nu.Password)
		if err != nil {
			return Staff{}, fmt.Errorf("config: hash password: %w", err)
		}
		now := s.now().UTC()
		u = &User{OrgID: nu.OrgID, Username: nu.Username, DisplayName: nu.DisplayName, PasswordHash: hash, Role: nu.Role, Active: true, CreatedAt: now, UpdatedAt: now}
	}
	ms := make([]Membership, len(n.Memberships))
	for i, m := range n.Memberships {
		m.ID, m.OrgID = 0, actor.OrgID
		if err := m.validate(); err != nil {
			return Staff{}, inField(fmt.Sprintf("memberships[%d].", i), err)
		}
		ms[i] = m
	}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		if u != nil {
			if err := s.insertUser(tx, actor, u); err != nil {
				if errors.Is(err, ErrUsernameTaken) {
					return &ConflictError{Field: "login.username", Message: "that username is taken"}
				}
				return err
			}
			a.UserID = &u.ID
		}
		if err := s.insertAgent(tx, actor, &a); err != nil {
			return err
		}
		for i := range ms {
			ms[i].AgentID = a.ID
			if err := s.insertMembership(tx, actor, &ms[i]); err != nil {
				return inField(fmt.Sprintf("memberships[%d].", i), err)
			}
		}
		return nil
	})
	if err != nil {
		return Staff{}, wrapErr("create", "staff member", nil, err)
	}
	return Staff{Agent: a, User: u, Memberships: ms}, nil
}

// inField puts prefix before the field of a validation or conflict
// error; other errors are returned as they are.
func inField(prefix string, err error) error {
	var ve *ValidationError
	var ce *ConflictError
	field := func(f string) string {
		if f == "" {
			return strings.TrimSuffix(prefix, ".")
		}
		return prefix + f
	}
	switch {
	case errors.As(err, &ve):
		return &ValidationError{Field: field(ve.Field), Message: ve.Message}
	case errors.As(err, &ce):
		return &ConflictError{Field: field(ce.Field), Message: ce.Message}
	}
	return err
}
