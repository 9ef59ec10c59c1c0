package config_test

import (
	"context"
	"errors"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

// TestCreateStaff: a member of staff with a new login, an existing login
// or none is made in one step; a refused part (an agent field, the login,
// a queue) names its field and leaves no user, agent or membership behind.
func TestCreateStaff(t *testing.T) {
	ctx := context.Background()
	st := configtest.SQLite(t, config.Options{})
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(org.ID)
	q1, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: "borgerservice", Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	q2, err := st.CreateQueue(ctx, sys, config.NewQueue{Name: "sundhed", Settings: config.DefaultQueueSettings()})
	if err != nil {
		t.Fatal(err)
	}
	taken, err := st.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: "karen", Password: "a long test password", Role: config.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	login := func(name string) *config.NewUser {
		return &config.NewUser{Username: name, Password: "a long test password"}
	}
	browser := config.NewAgent{Name: "Anna Holm", DeviceKind: config.DeviceWebRTC, Skills: map[string]int{"tysk": 80}}
	members := []config.Membership{{QueueID: q1.ID}, {QueueID: q2.ID, Tier: 1}}

	// refusals first: nothing may be left of them
	refused := []struct {
		name  string
		in    config.NewStaff
		field string
	}{
		{"empty name", config.NewStaff{Agent: config.NewAgent{DeviceKind: config.DeviceWebRTC}, Login: login("anna")}, "name"},
		{"bad skill level", config.NewStaff{Agent: config.NewAgent{Name: "A", DeviceKind: config.DeviceWebRTC, Skills: map[string]int{"tysk": 101}}, Login: login("anna")}, "skills"},
		{"username taken", config.NewStaff{Agent: browser, Login: login("Karen"), Memberships: members}, "login.username"},
		{"bad username", config.NewStaff{Agent: browser, Login: login("-x")}, "login.username"},
		{"short password", config.NewStaff{Agent: browser, Login: &config.NewUser{Username: "anna", Password: "kort"}}, "login.password"},
		{"login and user", config.NewStaff{Agent: config.NewAgent{Name: "A", DeviceKind: config.DeviceWebRTC, UserID: &taken.ID}, Login: login("anna")}, "login"},
		{"unknown queue", config.NewStaff{Agent: browser, Login: login("anna"), Memberships: []config.Membership{{QueueID: q1.ID}, {QueueID: 9999}}}, "memberships[1].queue_id"},
		{"queue twice", config.NewStaff{Agent: browser, Login: login("anna"), Memberships: []config.Membership{{QueueID: q1.ID}, {QueueID: q1.ID}}}, "memberships[1].queue_id"},
		{"bad tier", config.NewStaff{Agent: browser, Login: login("anna"), Memberships: []config.Membership{{QueueID: q1.ID, Tier: 101}}}, "memberships[0].tier"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.CreateStaff(ctx, sys, c.in)
			var ve *config.ValidationError
			var ce *config.ConflictError
			field := ""
			switch {
			case errors.As(err, &ve):
				field = ve.Field
			case errors.As(err, &ce):
				field = ce.Field
			}
			if field != c.field {
				t.Errorf("err %v (field %q), want field %q", err, field, c.field)
			}
			if _, err := st.UserByUsername(ctx, "anna"); !errors.Is(err, config.ErrNotFound) {
				t.Errorf("a user anna was left: %v", err)
			}
			if as, _ := st.ListAgents(ctx, org.ID); len(as) != 0 {
				t.Errorf("agents left: %+v", as)
			}
			if ms, _ := st.ListMemberships(ctx, org.ID, 0, 0); len(ms) != 0 {
				t.Errorf("memberships left: %+v", ms)
			}
		})
	}

	// a new login: role agent, the agent's name, linked, in both queues
	made, err := st.CreateStaff(ctx, sys, config.NewStaff{Agent: browser, Login: login("anna"), Memberships: members})
	if err != nil {
		t.Fatal(err)
	}
	if made.User == nil || made.User.Role != config.RoleAgent || made.User.DisplayName != "Anna Holm" || made.User.OrgID != org.ID {
		t.Fatalf("login %+v", made.User)
	}
	if made.Agent.UserID == nil || *made.Agent.UserID != made.User.ID || made.Agent.Skills["tysk"] != 80 {
		t.Errorf("agent %+v", made.Agent)
	}
	if _, err := st.Authenticate(ctx, "anna", "a long test password"); err != nil {
		t.Errorf("the new login does not log in: %v", err)
	}
	ms, _ := st.ListMemberships(ctx, org.ID, made.Agent.ID, 0)
	if len(ms) != 2 || ms[0].Tier != 0 || ms[1].Tier != 1 {
		t.Errorf("memberships %+v", ms)
	}

	// an existing login; and one already linked is refused
	linked, err := st.CreateStaff(ctx, sys, config.NewStaff{Agent: config.NewAgent{Name: "Karen", DeviceKind: config.DeviceWebRTC, UserID: &taken.ID}})
	if err != nil || linked.User != nil || linked.Agent.UserID == nil || *linked.Agent.UserID != taken.ID {
		t.Fatalf("link an existing login: %+v, %v", linked, err)
	}
	_, err = st.CreateStaff(ctx, sys, config.NewStaff{Agent: config.NewAgent{Name: "Karen igen", DeviceKind: config.DeviceWebRTC, UserID: &taken.ID}})
	var ce *config.ConflictError
	if !errors.As(err, &ce) || ce.Field != "user_id" {
		t.Errorf("a login linked twice: %v", err)
	}
	// no login: a desk phone
	if _, err := st.CreateStaff(ctx, sys, config.NewStaff{Agent: config.NewAgent{Name: "Skranke", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1001"}}); err != nil {
		t.Errorf("a desk phone without login: %v", err)
	}
}
