package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Users who log in through OpenID Connect (OMSTIL_OIDC_*).
//
// Such a user has no password (an empty hash never verifies). The link to
// the identity provider is the column oidc_subject: "oidc$" +
// SHA-256(issuer, subject). A local user of the same name is never taken
// over by an OIDC login.

// ErrDeactivated refuses a login to a deactivated user.
var ErrDeactivated = errors.New("user is deactivated")

// OIDCIdentity is a person as the identity provider vouches for them.
type OIDCIdentity struct {
	Issuer      string
	Subject     string // the provider's stable ID of the person ("sub")
	Username    string // preferred_username or e-mail; used for a new user
	DisplayName string
	Role        Role // from the role map
}

const oidcMarkerPrefix = "oidc$"

func oidcMarker(issuer, subject string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return oidcMarkerPrefix + hex.EncodeToString(h[:])
}

// IsOIDCUser tells whether a user logs in through OpenID Connect.
func IsOIDCUser(u User) bool { return u.OIDCSubject != nil }

// UpsertOIDCUser returns the user linked to the identity, creating it in
// org on its first login. The role and display name follow the identity
// provider on every login. Every creation and change is audited, with the
// user as the actor. A deactivated user gets ErrDeactivated; a username
// already taken by another user gets ErrConflict.
func (s *Store) UpsertOIDCUser(ctx context.Context, org OrgID, id OIDCIdentity) (User, error) {
	if id.Issuer == "" || id.Subject == "" {
		return User{}, Invalid("sub", "the identity provider gave no subject")
	}
	if _, err := ParseRole(string(id.Role)); err != nil {
		return User{}, err
	}
	// The provider's name is taken as it comes, less what validText
	// would refuse in a name typed here.
	id.DisplayName = strings.Map(func(r rune) rune {
		if _, hidden := hiddenChar(string(r)); hidden || r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, id.DisplayName)
	if len(id.DisplayName) > 128 {
		id.DisplayName = id.DisplayName[:128]
	}
	marker := oidcMarker(id.Issuer, id.Subject)
	var out User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		err := tx.Where("oidc_subject = ?", marker).First(&u).Error
		switch {
		case err == nil:
			if !u.Active {
				return ErrDeactivated
			}
			if u.Role == id.Role && (id.DisplayName == "" || u.DisplayName == id.DisplayName) {
				out = u
				return nil
			}
			before := userView(u)
			u.Role = id.Role
			if id.DisplayName != "" {
				u.DisplayName = id.DisplayName
			}
			u.UpdatedAt = s.now().UTC()
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"role": u.Role, "display_name": u.DisplayName, "updated_at": u.UpdatedAt}).Error; err != nil {
				return err
			}
			out = u
			return s.audit(tx, Actor{UserID: u.ID, Username: u.Username, OrgID: u.OrgID}, "update", "user", u.ID, before, oidcUserView(u))
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		name := strings.TrimSpace(id.Username)
		if !usernameRE.MatchString(name) {
			name = "oidc-" + marker[len(oidcMarkerPrefix):len(oidcMarkerPrefix)+12]
		}
		var count int64
		if err := tx.Model(&User{}).Where("LOWER(username) = LOWER(?)", name).Count(&count).Error; err != nil {
			return err
		}
		if count > 0 {
			return &ConflictError{Field: "username", Message: fmt.Sprintf("the username %q is taken by another user; rename one of them", name)}
		}
		now := s.now().UTC()
		u = User{OrgID: org, Username: name, DisplayName: id.DisplayName, OIDCSubject: &marker, Role: id.Role, Active: true, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		out = u
		return s.audit(tx, Actor{UserID: u.ID, Username: u.Username, OrgID: org}, "create", "user", u.ID, nil, oidcUserView(u))
	})
	if err != nil {
		if errors.Is(err, ErrDeactivated) || errors.Is(err, ErrConflict) {
			return User{}, fmt.Errorf("config: oidc login: %w", err)
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			return User{}, err
		}
		return User{}, fmt.Errorf("config: oidc login: %w", mapErr(err))
	}
	return out, nil
}

func oidcUserView(u User) map[string]any {
	v := userView(u)
	v["login"] = "oidc"
	return v
}

// OIDCRoleMap maps values of the identity provider's role claim (e.g.
// groups) to roles, written "omstil-admins=admin,omstil-supervisors=
// supervisor,*=agent"; "*" is everyone else. A person in several groups
// gets the highest role; nobody matched and no "*": no login.
type OIDCRoleMap struct {
	rules    map[string]Role
	fallback Role
}

// ParseOIDCRoleMap reads a role map; empty is an error (nobody could log in).
func ParseOIDCRoleMap(s string) (OIDCRoleMap, error) {
	m := OIDCRoleMap{rules: map[string]Role{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return OIDCRoleMap{}, fmt.Errorf("%q: want value=role", part)
		}
		r, err := ParseRole(v)
		if err != nil {
			return OIDCRoleMap{}, fmt.Errorf("%q: %q is not admin, supervisor or agent", part, v)
		}
		if k == "*" {
			m.fallback = r
			continue
		}
		m.rules[k] = r
	}
	if len(m.rules) == 0 && m.fallback == "" {
		return OIDCRoleMap{}, errors.New("empty: give at least one value=role, e.g. omstil-admins=admin,*=agent")
	}
	return m, nil
}

// Role returns the highest role the claim's values map to, and false when
// none does and there is no "*".
func (m OIDCRoleMap) Role(values []string) (Role, bool) {
	var best Role
	for _, v := range values {
		if r, ok := m.rules[v]; ok && roleRank(r) > roleRank(best) {
			best = r
		}
	}
	if best == "" {
		best = m.fallback
	}
	return best, best != ""
}
