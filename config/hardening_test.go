package config_test

import (
	"context"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

func TestOIDCDisplayNameLosesHiddenCharacters(t *testing.T) {
	t.Parallel()
	st := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.UpsertOIDCUser(ctx, org.ID, config.OIDCIdentity{Issuer: "https://idp", Subject: "s1", Username: "anne", DisplayName: "Anne\u202e Holm\u200b", Role: config.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Anne Holm" {
		t.Fatalf("display name %q", u.DisplayName)
	}
}
