package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// servedProcess is an `omstil serve` run in-process by a test.
type servedProcess struct {
	out, err *syncBuffer
	done     chan int
	cancel   context.CancelFunc
}

// startServe runs `omstil serve` with env until the test ends.
func startServe(t *testing.T, env map[string]string) *servedProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &servedProcess{out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan int, 1), cancel: cancel}
	go func() { p.done <- runEnv(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), p.out, p.err) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return p
}

var bannerRE = regexp.MustCompile(`open (http://\S+)/\n`)

// waitBanner waits until serve prints its URL, or ends, and returns the
// URL ("" when it ended, with its exit code).
func (p *servedProcess) waitBanner(t *testing.T) (base string, exit int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := bannerRE.FindStringSubmatch(p.out.String()); m != nil {
			return m[1], 0
		}
		select {
		case code := <-p.done:
			p.done <- code // for the cleanup
			return "", code
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no banner: %s", p.err.String())
		}
	}
}

// TestSecondServeOnOneSQLiteFileRefuses: two engines on one database
// would fight over the same calls, so a second `omstil serve` on the same
// SQLite file refuses to start and names the process that runs the first.
// Commands that do not handle calls still work meanwhile.
func TestSecondServeOnOneSQLiteFileRefuses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "omstil.db")
	env := map[string]string{"OMSTIL_DB": db, "OMSTIL_LISTEN": "127.0.0.1:0", "OMSTIL_DEMO_CALLS_PER_MINUTE": "0"}
	first := startServe(t, env)
	if base, code := first.waitBanner(t); base == "" {
		t.Fatalf("first serve ended with %d: %s", code, first.err.String())
	}
	second := startServe(t, env)
	base, code := second.waitBanner(t)
	if base != "" || code != 1 {
		t.Fatalf("second serve on the same file started (%q, exit %d); stderr: %s", base, code, second.err.String())
	}
	if want := fmt.Sprintf("process %d", os.Getpid()); !strings.Contains(second.err.String(), want) || !strings.Contains(second.err.String(), db+".lock") {
		t.Fatalf("second serve's error does not name %q and the lock file: %s", want, second.err.String())
	}
	// migrate --status and user create open the database without running calls.
	if code, out, errOut := runCmd(t, env, "", "migrate", "--status"); code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate --status while serve runs: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, env, "a good long password\n", "user", "create", "--username", "anna", "--role", "agent", "--password-stdin"); code != 0 || !strings.Contains(out, "created user anna") {
		t.Fatalf("user create while serve runs: %d %q %q", code, out, errOut)
	}
	// once the first has stopped, a new serve starts
	first.cancel()
	if code := <-first.done; code != 0 {
		t.Fatalf("first serve exit %d: %s", code, first.err.String())
	}
	first.done <- 0
	third := startServe(t, env)
	if base, code := third.waitBanner(t); base == "" {
		t.Fatalf("serve after the first stopped ended with %d: %s", code, third.err.String())
	}
}
