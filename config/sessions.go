package config

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Session is a browser login. The database keeps only the hash of the
// cookie's value.
type Session struct {
	ID         string // SHA-256 of the cookie value, hex
	UserID     UserID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// TokenScope is what a token may be used for.
type TokenScope string

// The scopes.
const (
	ScopeAPI   TokenScope = "api"   // the whole API, as its user
	ScopeKiosk TokenScope = "kiosk" // only the wallboard and GET /api/v1/live
)

// ParseTokenScope validates a scope; empty is ScopeAPI.
func ParseTokenScope(s string) (TokenScope, error) {
	switch sc := TokenScope(s); sc {
	case "":
		return ScopeAPI, nil
	case ScopeAPI, ScopeKiosk:
		return sc, nil
	}
	return "", Invalid("scope", "%q is not api or kiosk", s)
}

// APIToken is a bearer token for scripts and integrations.
type APIToken struct {
	ID         int64
	UserID     UserID
	Name       string
	Scope      TokenScope
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// SessionTTL is how long a session lives without use.
const SessionTTL = 12 * time.Hour

// CreateSession starts a session for a user and returns the cookie value.
func (s *Store) CreateSession(ctx context.Context, user UserID) (string, error) {
	token, hash, err := newSecret("", 32)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	sess := Session{ID: hash, UserID: user, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.db.WithContext(ctx).Create(&sess).Error; err != nil {
		return "", fmt.Errorf("config: create session: %w", mapErr(err))
	}
	return token, nil
}

// SessionUser returns the active user of a live session and slides its
// expiry forward. Unknown, expired and deactivated all give ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, token string) (User, error) {
	sess, u, now, err := s.liveSession(ctx, token)
	if err != nil {
		return User{}, err
	}
	// Write the sliding expiry at most once a minute.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sess.ID).Updates(map[string]any{"last_seen_at": now, "expires_at": now.Add(SessionTTL)})
	}
	return u, nil
}

// CheckSession returns the active user of a live session as SessionUser
// does, without counting it as use: the expiry does not slide. An open
// connection's periodic re-check uses it, so that an open page does not
// keep its login alive for ever.
func (s *Store) CheckSession(ctx context.Context, token string) (User, error) {
	_, u, _, err := s.liveSession(ctx, token)
	return u, err
}

// liveSession finds an unexpired session of an active user; unknown,
// expired and deactivated all give ErrNotFound.
func (s *Store) liveSession(ctx context.Context, token string) (Session, User, time.Time, error) {
	if token == "" {
		return Session{}, User{}, time.Time{}, ErrNotFound
	}
	now := s.now().UTC()
	var sess Session
	if err := s.db.WithContext(ctx).Where("id = ? AND expires_at > ?", hashSecret(token), now).First(&sess).Error; err != nil {
		return Session{}, User{}, now, mapErr(err)
	}
	u, err := s.GetUser(ctx, 0, sess.UserID)
	if err != nil || !u.Active {
		return Session{}, User{}, now, ErrNotFound
	}
	return sess, u, now, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	return mapErr(s.db.WithContext(ctx).Where("id = ?", hashSecret(token)).Delete(&Session{}).Error)
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at <= ?", s.now().UTC()).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// CreateToken makes a new API token of scope api for a user and returns
// it; only its hash is stored, so it can be shown once.
func (s *Store) CreateToken(ctx context.Context, actor Actor, user UserID, name string) (string, APIToken, error) {
	return s.CreateScopedToken(ctx, actor, user, name, ScopeAPI)
}

// CreateScopedToken is CreateToken with a scope.
func (s *Store) CreateScopedToken(ctx context.Context, actor Actor, user UserID, name string, scope TokenScope) (string, APIToken, error) {
	if _, err := ParseTokenScope(string(scope)); err != nil || scope == "" {
		return "", APIToken{}, Invalid("scope", "%q is not api or kiosk", scope)
	}
	if name == "" {
		name = "api"
	}
	if err := validText("name", name, 64); err != nil {
		return "", APIToken{}, err
	}
	token, hash, err := newSecret("omst_", 32)
	if err != nil {
		return "", APIToken{}, err
	}
	t := APIToken{UserID: user, Name: name, Scope: scope, TokenHash: hash, CreatedAt: s.now().UTC()}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		q := tx.Where("id = ?", user)
		if actor.OrgID != 0 {
			q = q.Where("org_id = ?", actor.OrgID)
		}
		if err := q.First(&u).Error; err != nil {
			return err
		}
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "create", "api_token", t.ID, nil, map[string]any{"user": u.Username, "name": name, "scope": scope})
	})
	if err != nil {
		return "", APIToken{}, fmt.Errorf("config: create token: %w", mapErr(err))
	}
	return token, t, nil
}

// TokenUser returns the active user owning a bearer token, and the
// token's scope: the caller enforces it.
func (s *Store) TokenUser(ctx context.Context, token string) (User, TokenScope, error) {
	var t APIToken
	db := s.db.WithContext(ctx)
	if err := db.Where("token_hash = ?", hashSecret(token)).First(&t).Error; err != nil {
		return User{}, "", mapErr(err)
	}
	u, err := s.GetUser(ctx, 0, t.UserID)
	if err != nil || !u.Active {
		return User{}, "", ErrNotFound
	}
	now := s.now().UTC()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		db.Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now)
	}
	return u, t.Scope, nil
}

// ListTokens lists a user's tokens (without secrets).
func (s *Store) ListTokens(ctx context.Context, user UserID) ([]APIToken, error) {
	var out []APIToken
	if err := s.db.WithContext(ctx).Where("user_id = ?", user).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token of a user, audited.
func (s *Store) DeleteToken(ctx context.Context, actor Actor, user UserID, id int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var t APIToken
		if err := tx.Where("id = ? AND user_id = ?", id, user).First(&t).Error; err != nil {
			return err
		}
		if err := tx.Delete(&t).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "api_token", t.ID, map[string]any{"name": t.Name}, nil)
	})
	if err != nil {
		return fmt.Errorf("config: delete token %d: %w", id, mapErr(err))
	}
	return nil
}
