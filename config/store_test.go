package config_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"gorm.io/gorm"
)

func mustAdmin(t *testing.T, s *config.Store) (config.Organisation, config.Actor) {
	t.Helper()
	org, err := s.DefaultOrg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return org, config.SystemActor(org.ID)
}

func TestUsersLifecycle(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			org, sys := mustAdmin(t, s)

			u, err := s.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: "anna", Password: "correct horse battery", Role: config.RoleAdmin})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if u.ID == 0 || !u.Active || strings.Contains(u.PasswordHash, "correct") {
				t.Fatalf("bad user %+v", u)
			}
			// duplicate username, in any case, is a conflict and changes nothing
			_, err = s.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: "ANNA", Password: "another password!", Role: config.RoleAgent})
			if !errors.Is(err, config.ErrConflict) {
				t.Fatalf("duplicate: got %v, want ErrConflict", err)
			}
			users, _ := s.ListUsers(ctx, org.ID)
			if len(users) != 1 {
				t.Fatalf("users after duplicate = %d, want 1", len(users))
			}
			// authentication
			if _, err := s.Authenticate(ctx, "anna", "correct horse battery"); err != nil {
				t.Fatalf("authenticate: %v", err)
			}
			for _, pw := range []string{"wrong password", ""} {
				if _, err := s.Authenticate(ctx, "anna", pw); !errors.Is(err, config.ErrNotFound) {
					t.Fatalf("wrong password %q: %v", pw, err)
				}
			}
			if _, err := s.Authenticate(ctx, "nobody", "correct horse battery"); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
			// the last admin cannot be demoted, deactivated or deleted
			agent := config.RoleAgent
			if _, err := s.UpdateUser(ctx, sys, u.ID, config.UserPatch{Role: &agent}); !isValidation(err) {
				t.Fatalf("demote last admin: %v", err)
			}
			if err := s.DeleteUser(ctx, sys, u.ID); !isValidation(err) {
				t.Fatalf("delete last admin: %v", err)
			}
			// sessions end when the password changes
			tok, err := s.CreateSession(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.SessionUser(ctx, tok); err != nil || got.ID != u.ID {
				t.Fatalf("session user: %v %v", got, err)
			}
			pw := "a brand new password"
			if _, err := s.UpdateUser(ctx, sys, u.ID, config.UserPatch{Password: &pw}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionUser(ctx, tok); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("session after password change: %v", err)
			}
			// audit rows: create + update, nothing for the refused changes
			entries, err := s.ListAudit(ctx, org.ID, config.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 2 || entries[0].Action != "update" || entries[1].Action != "create" {
				t.Fatalf("audit = %+v", entries)
			}
			if strings.Contains(entries[0].AfterJSON, "brand new") || strings.Contains(entries[1].AfterJSON, "argon2") {
				t.Fatalf("audit leaks a secret: %+v", entries)
			}
		})
	}
}

func isValidation(err error) bool {
	var ve *config.ValidationError
	return errors.As(err, &ve)
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	s := configtest.SQLite(t, config.Options{})
	ctx := context.Background()
	org, sys := mustAdmin(t, s)
	cases := []struct {
		name  string
		in    config.NewUser
		field string
	}{
		{"unknown role", config.NewUser{Username: "bo", Password: "long enough pw", Role: "king"}, "role"},
		{"short password", config.NewUser{Username: "bo", Password: "short", Role: config.RoleAgent}, "password"},
		{"bad username", config.NewUser{Username: "b o", Password: "long enough pw", Role: config.RoleAgent}, "username"},
		{"empty username", config.NewUser{Username: "", Password: "long enough pw", Role: config.RoleAgent}, "username"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.OrgID = org.ID
			_, err := s.CreateUser(ctx, sys, c.in)
			var ve *config.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("got %v, want a validation error on %q", err, c.field)
			}
		})
	}
	users, _ := s.ListUsers(ctx, org.ID)
	if len(users) != 0 {
		t.Fatalf("invalid input created %d users", len(users))
	}
}

// sessionOnClock is a store on a clock the test moves (advance), with
// agent bo and a fresh session of bo's.
func sessionOnClock(t *testing.T) (s *config.Store, u config.User, tok string, advance func(time.Duration)) {
	t.Helper()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	s = configtest.SQLite(t, config.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	org, sys := mustAdmin(t, s)
	u, err := s.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: "bo", Password: "long enough pw", Role: config.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = s.CreateSession(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	return s, u, tok, func(d time.Duration) { now = now.Add(d) }
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	s, _, tok, advance := sessionOnClock(t)
	ctx := context.Background()
	advance(config.SessionTTL - time.Minute)
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("session before expiry: %v", err)
	}
	// use slid the expiry forward
	advance(config.SessionTTL - time.Minute)
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("session after sliding: %v", err)
	}
	advance(config.SessionTTL + time.Minute)
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if n, _ := s.DeleteExpiredSessions(ctx); n != 1 {
		t.Fatalf("deleted %d expired sessions, want 1", n)
	}
}

// TestCheckSessionDoesNotSlide: an open connection's re-check
// (CheckSession) sees the session like SessionUser but does not keep it
// alive.
func TestCheckSessionDoesNotSlide(t *testing.T) {
	t.Parallel()
	s, u, tok, advance := sessionOnClock(t)
	ctx := context.Background()
	advance(config.SessionTTL - time.Minute)
	if got, err := s.CheckSession(ctx, tok); err != nil || got.ID != u.ID {
		t.Fatalf("check before expiry: %v %v", got.ID, err)
	}
	advance(2 * time.Minute) // past the expiry the check did not move
	if _, err := s.CheckSession(ctx, tok); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("check after expiry: %v", err)
	}
	if _, err := s.CheckSession(ctx, ""); !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("empty token: %v", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Store
			ctx := context.Background()
			org, sys := mustAdmin(t, s)
			u, _ := s.CreateUser(ctx, sys, config.NewUser{OrgID: org.ID, Username: "robot", Password: "long enough pw", Role: config.RoleSupervisor})
			tok, info, err := s.CreateToken(ctx, sys, u.ID, "wallboard")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, "omst_") || strings.Contains(info.TokenHash, tok) {
				t.Fatalf("token %q hash %q", tok, info.TokenHash)
			}
			if got, scope, err := s.TokenUser(ctx, tok); err != nil || got.ID != u.ID || scope != config.ScopeAPI {
				t.Fatalf("token user: %v %v", got, err)
			}
			if _, _, err := s.TokenUser(ctx, tok+"x"); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("wrong token: %v", err)
			}
			if err := s.DeleteToken(ctx, sys, u.ID, info.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.TokenUser(ctx, tok); !errors.Is(err, config.ErrNotFound) {
				t.Fatalf("revoked token: %v", err)
			}
		})
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			_, known, err := b.Store.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A newer omstil recorded a migration this binary does not know.
			db := rawDB(t, b.DSN)
			if err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", known+1, true).Error; err != nil {
				t.Fatal(err)
			}
			err = b.Store.Migrate(ctx)
			if !errors.Is(err, config.ErrSchemaTooNew) {
				t.Fatalf("migrate on newer schema: %v", err)
			}
			if err := b.Store.CheckSchema(ctx); !errors.Is(err, config.ErrSchemaTooNew) {
				t.Fatalf("check on newer schema: %v", err)
			}
		})
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"", "mysql://x/y", "postgres://", "postgres://host-only"} {
		if _, err := config.Open(context.Background(), dsn, config.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
	if _, err := config.Open(context.Background(), filepath.Join(t.TempDir(), "missing", "dir", "x.db"), config.Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "omstil.db")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		s, err := config.Open(ctx, dsn, config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate run %d: %v", i, err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// rawDB opens a second handle on the same database, as another program would.
func rawDB(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	s, err := config.Open(context.Background(), dsn, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return config.GormForTest(s)
}
