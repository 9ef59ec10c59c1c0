package config_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

func transferFlow(dest string) callflow.Flow {
	return callflow.Flow{Start: "videre", Steps: []callflow.Step{
		{ID: "videre", Kind: callflow.KindTransfer, Transfer: &callflow.TransferStep{Destination: dest}},
	}}
}

// TestUpgradeKeepsDefaultOrganisationDialling: the default organisation
// an upgrade leaves behind may dial what omstil dialled before, a new
// organisation nothing.
func TestUpgradeKeepsDefaultOrganisationDialling(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			def, err := b.Store.DefaultOrg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := def.DialPolicy(); !reflect.DeepEqual(got, config.UpgradeDialPolicy) {
				t.Fatalf("default organisation's policy = %+v, want %+v", got, config.UpgradeDialPolicy)
			}
			for _, d := range []string{"PJSIP/1001", "PJSIP/+4512345678@trunk", "Local/1001@omstil-test-agents", "+4512345678"} {
				if err := def.DialPolicy().Check(d); err != nil {
					t.Errorf("default organisation may not dial %q: %v", d, err)
				}
			}
			o, err := b.Store.CreateOrg(ctx, "faxe", "Faxe Kommune")
			if err != nil {
				t.Fatal(err)
			}
			if p := o.DialPolicy(); p.Check("+4512345678") == nil || p.Check("PJSIP/1001") == nil {
				t.Fatalf("a new organisation may dial: %+v", p)
			}
		})
	}
}

func TestDialLimitsAreEnforcedOnSave(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	guld, err := s.CreateOrg(ctx, "guld", "Guldborgsund")
	if err != nil {
		t.Fatal(err)
	}
	act := config.Actor{Username: "guld-admin", OrgID: guld.ID}

	// Nothing allowed yet: an agent's desk phone and a flow's transfer are
	// refused, naming the field and saying why.
	_, err = s.CreateAgent(ctx, act, config.NewAgent{Name: "Bo", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/guld-1001"})
	var ve *config.ValidationError
	if !errors.As(err, &ve) || ve.Field != "dial_string" || !strings.Contains(ve.Message, "may dial nothing yet") {
		t.Fatalf("agent before limits: %v", err)
	}

	sys := config.Actor{UserID: 0, Username: "root"}
	endpoints, trunk, ctxs, cid := []string{"PJSIP/guld-*"}, "PJSIP/{number}@guld-trunk", []string{"guld-agents"}, `"Guldborgsund" <54731000>`
	o, err := s.UpdateOrg(ctx, sys, guld.ID, config.OrgPatch{Endpoints: &endpoints, Trunk: &trunk, LocalContexts: &ctxs, CallerID: &cid})
	if err != nil {
		t.Fatal(err)
	}
	if o.DialTrunk != trunk || o.CallerID != cid {
		t.Fatalf("updated = %+v", o)
	}
	got, err := s.GetOrg(ctx, guld.ID)
	if err != nil || !reflect.DeepEqual(got.DialPolicy(), callflow.DialPolicy{Endpoints: endpoints, Trunk: trunk, LocalContexts: ctxs}) || got.CallerID != cid {
		t.Fatalf("stored = %+v, %v", got, err)
	}

	tests := []struct {
		dial string
		ok   bool
	}{
		{"PJSIP/guld-1001", true},
		{"Local/1001@guld-agents", true},
		{"PJSIP/faxe-1001", false},
		{"PJSIP/guld-1@faxe-trunk", false},
		{"Local/1000@omstil-inbound", false},
		{"IAX2/guld-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.dial, func(t *testing.T) {
			a, err := s.CreateAgent(ctx, act, config.NewAgent{Name: "A " + tt.dial, DeviceKind: config.DeviceEndpoint, DialString: tt.dial})
			if tt.ok != (err == nil) {
				t.Fatalf("CreateAgent(%q) = %v, want ok=%v", tt.dial, err, tt.ok)
			}
			if !tt.ok && (!errors.As(err, &ve) || ve.Field != "dial_string") {
				t.Fatalf("CreateAgent(%q) = %v, want a dial_string field error", tt.dial, err)
			}
			if tt.ok {
				// and a patch cannot move it outside.
				bad := "PJSIP/faxe-1001"
				if _, err := s.UpdateAgent(ctx, act, a.ID, config.AgentPatch{DialString: &bad}); !errors.As(err, &ve) || ve.Field != "dial_string" {
					t.Fatalf("UpdateAgent to %q = %v", bad, err)
				}
				if err := s.DeleteAgent(ctx, act, a.ID); err != nil {
					t.Fatal(err)
				}
			}
			_, err = s.CreateFlow(ctx, act, "f-"+strings.NewReplacer("/", "-", "@", "-", "+", "").Replace(strings.ToLower(tt.dial)), transferFlow(tt.dial))
			if tt.ok != (err == nil) {
				t.Fatalf("CreateFlow(transfer %q) = %v, want ok=%v", tt.dial, err, tt.ok)
			}
			var cve *callflow.ValidationError
			if !tt.ok && (!errors.As(err, &cve) || cve.Problems[0].Code != callflow.CodeNotAllowed || cve.Problems[0].Field != "transfer.destination") {
				t.Fatalf("CreateFlow(transfer %q) = %v, want not-allowed on transfer.destination", tt.dial, err)
			}
		})
	}

	// The organisation's audit log shows who changed its limits.
	es, err := s.ListAudit(ctx, guld.ID, config.AuditFilter{ObjectType: "organisation"})
	if err != nil || len(es) != 2 || es[0].Actor != "root" || es[0].Action != "update" || !strings.Contains(es[0].AfterJSON, "guld-trunk") {
		t.Fatalf("audit = %+v, %v", es, err)
	}
}

func TestDialLimitsThatStrandAgentsAreRefused(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	def, act := mustAdmin(t, s)
	if _, err := s.CreateAgent(ctx, act, config.NewAgent{Name: "Karen", DeviceKind: config.DeviceEndpoint, DialString: "PJSIP/1001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFlow(ctx, act, "videre", transferFlow("Local/1@omstil-test-agents")); err != nil {
		t.Fatal(err)
	}
	narrow := []string{"PJSIP/guld-*"}
	none := []string{}
	_, err := s.UpdateOrg(ctx, config.Actor{Username: "root"}, def.ID, config.OrgPatch{Endpoints: &narrow, LocalContexts: &none})
	var se *config.StrandedError
	if !errors.As(err, &se) || !errors.Is(err, config.ErrInUse) || len(se.By) != 2 ||
		se.By[0] != "agent 'Karen' (PJSIP/1001)" || se.By[1] != "flow 'videre' step 'videre' (Local/1@omstil-test-agents)" {
		t.Fatalf("narrowing = %v, want the agent and the flow listed", err)
	}
	got, err := s.GetOrg(ctx, def.ID)
	if err != nil || !reflect.DeepEqual(got.DialPolicy(), config.UpgradeDialPolicy) {
		t.Fatalf("after a refused update: %+v, %v", got.DialPolicy(), err)
	}
}

func TestUpdateOrgValidation(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	o, err := s.CreateOrg(ctx, "roskilde", "Roskilde")
	if err != nil {
		t.Fatal(err)
	}
	str := func(v string) *string { return &v }
	list := func(v ...string) *[]string { return &v }
	tests := []struct {
		name  string
		p     config.OrgPatch
		field string
	}{
		{"trunk without number", config.OrgPatch{Trunk: str("PJSIP/ros-trunk")}, "trunk"},
		{"trunk with options", config.OrgPatch{Trunk: str("PJSIP/{number}@t,30")}, "trunk"},
		{"Local as endpoint", config.OrgPatch{Endpoints: list("Local/*@x")}, "endpoints"},
		{"bad context", config.OrgPatch{LocalContexts: list("a b")}, "local_contexts"},
		{"two-line caller ID", config.OrgPatch{CallerID: str("a\nb")}, "caller_id"},
		{"empty name", config.OrgPatch{Name: str(" ")}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateOrg(ctx, config.Actor{Username: "root"}, o.ID, tt.p)
			var ve *config.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("UpdateOrg = %v, want a %s field error", err, tt.field)
			}
		})
	}
	if _, err := s.UpdateOrg(ctx, config.Actor{Username: "root"}, 9999, config.OrgPatch{Name: str("x")}); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("unknown organisation: %v", err)
	}
	os, err := s.ListOrgs(ctx)
	if err != nil || len(os) != 2 || os[0].Slug != "default" || os[1].Slug != "roskilde" {
		t.Fatalf("ListOrgs = %+v, %v", os, err)
	}
}

func TestSystemAdministrator(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	def, act := mustAdmin(t, s)
	u, err := s.CreateUser(ctx, act, config.NewUser{OrgID: def.ID, Username: "root", Password: "a good long password", Role: config.RoleAdmin, SystemAdmin: true})
	if err != nil || !u.SystemAdmin {
		t.Fatalf("CreateUser system = %+v, %v", u, err)
	}
	back, err := s.GetUser(ctx, def.ID, u.ID)
	if err != nil || !back.SystemAdmin {
		t.Fatalf("stored = %+v, %v", back, err)
	}
	if _, err := s.CreateUser(ctx, act, config.NewUser{OrgID: def.ID, Username: "halv", Password: "a good long password", Role: config.RoleSupervisor, SystemAdmin: true}); err == nil {
		t.Fatal("a supervisor was made system administrator")
	}

	// an organisation's admin cannot take the role over: no new password,
	// no demotion, no deletion of the system administrator.
	admin, err := s.CreateUser(ctx, act, config.NewUser{OrgID: def.ID, Username: "lokal", Password: "a good long password", Role: config.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	by := config.Actor{UserID: admin.ID, Username: admin.Username, OrgID: def.ID}
	pw, agent := "another long password", config.RoleAgent
	var ve *config.ValidationError
	if _, err := s.UpdateUser(ctx, by, u.ID, config.UserPatch{Password: &pw}); !errors.As(err, &ve) {
		t.Fatalf("org admin sets the system administrator's password: %v", err)
	}
	if _, err := s.UpdateUser(ctx, by, u.ID, config.UserPatch{Role: &agent}); !errors.As(err, &ve) {
		t.Fatalf("org admin demotes the system administrator: %v", err)
	}
	if err := s.DeleteUser(ctx, by, u.ID); !errors.As(err, &ve) {
		t.Fatalf("org admin deletes the system administrator: %v", err)
	}
	// the system administrator itself may.
	if _, err := s.UpdateUser(ctx, config.Actor{UserID: u.ID, Username: "root", OrgID: def.ID}, u.ID, config.UserPatch{Password: &pw}); err != nil {
		t.Fatalf("system administrator's own password: %v", err)
	}
}
