package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOIDCRoleMap(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		groups []string
		want   Role // "" = no login
		err    string
	}{
		{spec: "omstil-admins=admin,omstil-supervisors=supervisor,*=agent", groups: []string{"omstil-admins"}, want: RoleAdmin},
		{spec: "omstil-admins=admin,omstil-supervisors=supervisor,*=agent", groups: []string{"x", "omstil-supervisors"}, want: RoleSupervisor},
		{spec: "omstil-admins=admin,omstil-supervisors=supervisor,*=agent", groups: []string{"omstil-supervisors", "omstil-admins"}, want: RoleAdmin},
		{spec: "omstil-admins=admin,omstil-supervisors=supervisor,*=agent", groups: nil, want: RoleAgent},
		{spec: " omstil-admins = admin ", groups: []string{"omstil-admins"}, want: RoleAdmin},
		{spec: "omstil-admins=admin", groups: []string{"Omstil-Admins"}, want: ""}, // exact values
		{spec: "", err: "empty"},
		{spec: "omstil-admins", err: "want value=role"},
		{spec: "a=root", err: "not admin, supervisor or agent"},
	} {
		m, err := ParseOIDCRoleMap(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseOIDCRoleMap(%q) error = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseOIDCRoleMap(%q): %v", tc.spec, err)
		}
		got, ok := m.Role(tc.groups)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%q.Role(%v) = %q, %v; want %q", tc.spec, tc.groups, got, ok, tc.want)
		}
	}
}

func TestOIDCSettings(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("oidc secret\n"), 0o600)
	good := map[string]string{"OMSTIL_OIDC_ISSUER": "https://login.kommune.dk/realms/omstil", "OMSTIL_OIDC_CLIENT_ID": "omstil",
		"OMSTIL_OIDC_CLIENT_SECRET_FILE": secret, "OMSTIL_OIDC_ROLE_MAP": "omstil-admins=admin,*=agent"}
	s, _, err := LoadSettings("omstil", nil, envMap(good), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !s.OIDC() || s.OIDCClientSecret.Reveal() != "oidc secret" || s.OIDCRoleClaim != "groups" || strings.Contains(s.OIDCClientSecret.String(), "oidc") {
		t.Errorf("settings: %+v", s)
	}
	if s, _, _ := LoadSettings("omstil", nil, envMap(nil), io.Discard); s.OIDC() {
		t.Error("OIDC on without an issuer")
	}
	for key, want := range map[string]string{
		"OMSTIL_OIDC_ISSUER":    "OMSTIL_OIDC_ISSUER",
		"OMSTIL_OIDC_CLIENT_ID": "OMSTIL_OIDC_CLIENT_ID",
		"OMSTIL_OIDC_ROLE_MAP":  "OMSTIL_OIDC_ROLE_MAP",
	} {
		bad := map[string]string{}
		for k, v := range good {
			bad[k] = v
		}
		bad[key] = ""
		if key == "OMSTIL_OIDC_ISSUER" {
			bad[key] = "login.kommune.dk"
		}
		if _, _, err := LoadSettings("omstil", nil, envMap(bad), io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s bad: error %v, want one naming %s", key, err, want)
		}
	}
}
