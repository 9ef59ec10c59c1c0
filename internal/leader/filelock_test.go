package leader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockPath(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"omstil.db":                    "omstil.db.lock",
		"/var/lib/omstil/omstil.db":    "/var/lib/omstil/omstil.db.lock",
		"file:/x/o.db?_pragma=foo(1)":  "/x/o.db.lock",
		"/x/o.db?_pragma=busy_timeout": "/x/o.db.lock",
	}
	for dsn, want := range cases {
		if got := LockPath(dsn); got != want {
			t.Errorf("LockPath(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// TestLockFileIsExclusive: a second lock on the same database fails and
// names the holder; after Close the next one succeeds.
func TestLockFileIsExclusive(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "omstil.db")
	first, err := LockFile(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockFile(db)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	again, err := LockFile(db)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Close()
}
