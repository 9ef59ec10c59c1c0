package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Role is what a user may do within their organisation.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"      // everything in the organisation
	RoleSupervisor Role = "supervisor" // see everything, change agents' state and membership
	RoleAgent      Role = "agent"      // own state, own calls
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleSupervisor, RoleAgent:
		return r, nil
	}
	return "", Invalid("role", "%q is not admin, supervisor or agent", s)
}

// AtLeast orders roles: admin > supervisor > agent.
func (r Role) AtLeast(min Role) bool { return roleRank(r) >= roleRank(min) }

func roleRank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleSupervisor:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// OrgID identifies an organisation (a municipality).
type OrgID int64

// UserID identifies a user.
type UserID int64

// Organisation is a municipality sharing the installation.
type Organisation struct {
	ID   OrgID
	Slug string
	Name string
	// What the organisation may dial (see DialPolicy); set by a system
	// administrator only.
	DialEndpoints         []string `gorm:"serializer:json"`
	DialTrunk             string
	DialInstallationTrunk bool
	DialLocalContexts     []string `gorm:"serializer:json"`
	// CallerID shown to citizens on callbacks and transfers to numbers
	// (empty: the installation's, when DialInstallationTrunk).
	CallerID string `gorm:"column:caller_id"`
	// How long citizens' numbers stay in the call-event log (Retention);
	// set by a system administrator.
	RetentionPseudonymiseDays int
	RetentionDeleteMonths     int
	CreatedAt                 time.Time
}

// User is a person who logs in.
type User struct {
	ID           UserID
	OrgID        OrgID
	Username     string
	DisplayName  string
	PasswordHash string
	Role         Role
	Active       bool
	// OIDCSubject links a user who logs in through OpenID Connect to the
	// identity provider (see UpsertOIDCUser); nil for local users.
	OIDCSubject *string `gorm:"column:oidc_subject"`
	// SystemAdmin: an installation-wide system administrator, who creates
	// organisations and sets what each may dial. Only the command line
	// (omstil user create --role system) makes one; an organisation's
	// admin cannot.
	SystemAdmin bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Actor is who makes a change, for the audit log.
type Actor struct {
	UserID   UserID // 0 for the system itself
	Username string
	OrgID    OrgID
}

// SystemActor is omstil itself (first start, the command line).
func SystemActor(org OrgID) Actor { return Actor{Username: "system", OrgID: org} }

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._@-]{1,63}$`)

// NewUser is what it takes to create a user.
type NewUser struct {
	OrgID       OrgID
	Username    string
	DisplayName string
	Password    string
	Role        Role
	SystemAdmin bool // only with Role admin
}

func (n *NewUser) validate() error {
	n.Username = strings.TrimSpace(n.Username)
	if !usernameRE.MatchString(n.Username) {
		return Invalid("username", "must be 2-64 characters: letters, digits and . _ @ -, starting with a letter or digit")
	}
	if err := validText("display_name", n.DisplayName, 128); err != nil {
		return err
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return err
	}
	if n.SystemAdmin && n.Role != RoleAdmin {
		return Invalid("role", "a system administrator is an admin of its own organisation too")
	}
	return ValidatePassword(n.Password)
}

// userView is what the audit log keeps of a user (never the hash).
func userView(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Username, "display_name": u.DisplayName, "role": u.Role, "active": u.Active, "system_admin": u.SystemAdmin}
}

// DefaultOrg returns the organisation created by the first migration.
func (s *Store) DefaultOrg(ctx context.Context) (Organisation, error) {
	var o Organisation
	err := s.db.WithContext(ctx).Where("slug = ?", "default").First(&o).Error
	if err != nil {
		return o, fmt.Errorf("config: default organisation: %w", mapErr(err))
	}
	return o, nil
}

// CreateUser validates and stores a new user, audited.
func (s *Store) CreateUser(ctx context.Context, actor Actor, n NewUser) (User, error) {
	if err := n.validate(); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return User{}, fmt.Errorf("config: hash password: %w", err)
	}
	now := s.now().UTC()
	u := User{OrgID: n.OrgID, Username: n.Username, DisplayName: n.DisplayName, PasswordHash: hash, Role: n.Role, SystemAdmin: n.SystemAdmin, Active: true, CreatedAt: now, UpdatedAt: now}
	err = s.tx(ctx, func(tx *gorm.DB) error { return s.insertUser(tx, actor, &u) })
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, ErrConflict) {
			return User{}, fmt.Errorf("config: create user %q: %w", u.Username, ErrUsernameTaken)
		}
		return User{}, fmt.Errorf("config: create user: %w", err)
	}
	return u, nil
}

// insertUser stores a validated user with its password hash inside a
// transaction, audited; a username taken in any organisation is
// ErrUsernameTaken.
func (s *Store) insertUser(tx *gorm.DB, actor Actor, u *User) error {
	var count int64
	if err := tx.Model(&User{}).Where("LOWER(username) = LOWER(?)", u.Username).Count(&count).Error; err != nil {
		return err
	}
	if count > 0 {
		return ErrUsernameTaken
	}
	if err := tx.Create(u).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "user", u.ID, nil, userView(*u))
}

// GetUser loads a user of an organisation (org 0: any organisation).
func (s *Store) GetUser(ctx context.Context, org OrgID, id UserID) (User, error) {
	var u User
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if org != 0 {
		q = q.Where("org_id = ?", org)
	}
	if err := q.First(&u).Error; err != nil {
		return u, fmt.Errorf("config: load user %d: %w", id, mapErr(err))
	}
	return u, nil
}

// UserByUsername loads a user by name (case-insensitive).
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("LOWER(username) = LOWER(?)", username).First(&u).Error; err != nil {
		return u, fmt.Errorf("config: load user: %w", mapErr(err))
	}
	return u, nil
}

// ListUsers lists an organisation's users by username.
func (s *Store) ListUsers(ctx context.Context, org OrgID) ([]User, error) {
	var us []User
	if err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("username").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("config: list users: %w", err)
	}
	return us, nil
}

// CountAdmins counts active admins in all organisations.
func (s *Store) CountAdmins(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Where("role = ? AND active = ?", RoleAdmin, true).Count(&n).Error
	return n, err
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	DisplayName *string
	Role        *Role
	Active      *bool
	Password    *string
}

// UpdateUser applies a patch, audited. It refuses to remove the last
// active admin of an organisation.
func (s *Store) UpdateUser(ctx context.Context, actor Actor, id UserID, p UserPatch) (User, error) {
	if p.DisplayName != nil {
		if err := validText("display_name", *p.DisplayName, 128); err != nil {
			return User{}, err
		}
	}
	if p.Role != nil {
		if _, err := ParseRole(string(*p.Role)); err != nil {
			return User{}, err
		}
	}
	var hash string
	if p.Password != nil {
		if err := ValidatePassword(*p.Password); err != nil {
			return User{}, err
		}
		h, err := HashPassword(*p.Password)
		if err != nil {
			return User{}, err
		}
		hash = h
	}
	var out User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&u).Error; err != nil {
			return err
		}
		if err := systemAdminGuard(tx, actor, u); err != nil {
			return err
		}
		before := userView(u)
		wasAdmin := u.Role == RoleAdmin && u.Active
		if p.DisplayName != nil {
			u.DisplayName = *p.DisplayName
		}
		if p.Role != nil {
			u.Role = *p.Role
		}
		if p.Active != nil {
			u.Active = *p.Active
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if wasAdmin && (u.Role != RoleAdmin || !u.Active) {
			if err := lastAdminGuard(tx, u.OrgID, u.ID); err != nil {
				return err
			}
		}
		u.UpdatedAt = s.now().UTC()
		if err := tx.Save(&u).Error; err != nil {
			return err
		}
		deactivated := p.Active != nil && !*p.Active
		if hash != "" || deactivated {
			// A new password or a deactivation ends the user's sessions.
			if err := tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		if deactivated {
			// and a deactivation revokes the API tokens, so that
			// reactivating the user does not bring them back.
			if err := tx.Where("user_id = ?", u.ID).Delete(&APIToken{}).Error; err != nil {
				return err
			}
		}
		after := userView(u)
		if hash != "" {
			after["password"] = "changed"
		}
		out = u
		return s.audit(tx, actor, "update", "user", u.ID, before, after)
	})
	if err != nil {
		return User{}, wrapUserErr("update", id, err)
	}
	return out, nil
}

// DeleteUser removes a user, audited; never the last admin.
func (s *Store) DeleteUser(ctx context.Context, actor Actor, id UserID) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&u).Error; err != nil {
			return err
		}
		if err := systemAdminGuard(tx, actor, u); err != nil {
			return err
		}
		if u.Role == RoleAdmin && u.Active {
			if err := lastAdminGuard(tx, u.OrgID, u.ID); err != nil {
				return err
			}
		}
		if err := tx.Delete(&u).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "user", u.ID, userView(u), nil)
	})
	return wrapUserErr("delete", id, err)
}

func wrapUserErr(op string, id UserID, err error) error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("config: %s user %d: %w", op, id, mapErr(err))
}

// systemAdminGuard keeps an organisation's admin from changing (a new
// password, a lower role) or deleting a system administrator of its
// organisation, which would hand it the installation-wide role. Only
// another system administrator or the command line (UserID 0) may.
func systemAdminGuard(tx *gorm.DB, actor Actor, u User) error {
	if !u.SystemAdmin || actor.UserID == 0 || actor.UserID == u.ID {
		return nil
	}
	var by User
	if err := tx.Where("id = ?", actor.UserID).First(&by).Error; err != nil {
		return err
	}
	if by.SystemAdmin {
		return nil
	}
	return Invalid("id", "%s is a system administrator: only a system administrator may change or delete the user", u.Username)
}

func lastAdminGuard(tx *gorm.DB, org OrgID, except UserID) error {
	var n int64
	if err := tx.Model(&User{}).Where("org_id = ? AND role = ? AND active = ? AND id <> ?", org, RoleAdmin, true, except).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return Invalid("role", "this is the organisation's last active admin; make another user admin first")
	}
	return nil
}

// Authenticate checks a username and password. It returns ErrNotFound for
// an unknown user, an inactive one, or a wrong password alike, and takes
// the same time in each case.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	u, err := s.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash
	}
	ok, verr := VerifyPassword(hash, password)
	if err != nil || verr != nil || !ok || !u.Active || u.PasswordHash == "" {
		return User{}, ErrNotFound
	}
	return u, nil
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64
	OrgID      OrgID
	ActorID    *UserID
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	BeforeJSON string
	AfterJSON  string
	CreatedAt  time.Time
}

// TableName is the audit log's table.
func (AuditEntry) TableName() string { return "audit_log" }

// audit writes one audit row inside the transaction of the change.
func (s *Store) audit(tx *gorm.DB, actor Actor, action, objType string, objID any, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return err
	}
	a, err := enc(after)
	if err != nil {
		return err
	}
	e := AuditEntry{OrgID: actor.OrgID, Actor: actor.Username, Action: action, ObjectType: objType,
		ObjectID: fmt.Sprint(objID), BeforeJSON: b, AfterJSON: a, CreatedAt: s.now().UTC()}
	if actor.UserID != 0 {
		id := actor.UserID
		e.ActorID = &id
	}
	return tx.Create(&e).Error
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	ObjectType string
	Before     int64 // entries with an ID below this (paging); 0: newest
	Limit      int
}

// ListAudit returns an organisation's audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, org OrgID, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := s.db.WithContext(ctx).Where("org_id = ?", org)
	if f.ObjectType != "" {
		q = q.Where("object_type = ?", f.ObjectType)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var out []AuditEntry
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: list audit log: %w", err)
	}
	return out, nil
}

// ParseUserID parses a user ID from a path.
func ParseUserID(s string) (UserID, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, Invalid("id", "%q is not a user ID", s)
	}
	return UserID(n), nil
}

// OrgBySlug loads an organisation by its short name.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (Organisation, error) {
	var o Organisation
	if err := s.db.WithContext(ctx).Where("slug = ?", slug).First(&o).Error; err != nil {
		return o, fmt.Errorf("config: organisation %q: %w", slug, mapErr(err))
	}
	return o, nil
}

var orgSlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,31}$`)
