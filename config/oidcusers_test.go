package config

import (
	"strings"
	"testing"
)

func TestOIDCRoleMap(t *testing.T) {
	t.Parallel()
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
