package leader

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/config/configtest"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// testTakeover is the takeover bound of the tests: Retry 200 ms, Lease
// 400 ms, Check 100 ms.
const testTakeover = time.Second

// journal records the role changes of several electors in order.
type journal struct {
	mu      sync.Mutex
	entries []string
	changed chan struct{}
}

func newJournal() *journal { return &journal{changed: make(chan struct{}, 100)} }

func (j *journal) add(s string) {
	j.mu.Lock()
	j.entries = append(j.entries, s)
	j.mu.Unlock()
	j.changed <- struct{}{}
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

// waitFor waits until the journal holds want, or fails after d.
func (j *journal) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, e := range j.list() {
			if e == want {
				return
			}
		}
		select {
		case <-j.changed:
		case <-deadline:
			t.Fatalf("no %q within %v: %v", want, d, j.list())
		}
	}
}

type node struct {
	e      *Elector
	cancel context.CancelFunc
	done   chan struct{}
}

func startNode(t *testing.T, dsn, name string, j *journal) *node {
	t.Helper()
	var e *Elector
	e, err := New(Config{DSN: dsn, Name: name, Takeover: testTakeover, Logger: slog.New(slog.DiscardHandler),
		OnLead:  func() { j.add(name + " leads") },
		OnFence: func(error) { j.add(name + " fenced") },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{e: e, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		if err := e.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	n.cancel()
	<-n.done
}

func postgres(t *testing.T) string {
	t.Helper()
	dsn := configtest.PostgresDSN(t)
	if dsn == "" {
		t.Skip("OMSTIL_TEST_POSTGRES not set: the leader election needs PostgreSQL")
	}
	return dsn
}

// TestOneLeaderAndTakeover: of two electors exactly one leads and the
// other names it; when the leader's database session is killed the
// leader fences itself before the standby leads (the bound is
// TestTimingFitsTheBound's); a leader that stops hands over too.
func TestOneLeaderAndTakeover(t *testing.T) {
	dsn := postgres(t)
	j := newJournal()
	a := startNode(t, dsn, "http://a:8080", j)
	j.waitFor(t, "http://a:8080 leads", 5*testTakeover)
	b := startNode(t, dsn, "http://b:8080", j)
	// b sees a as the leader and does not lead, through several retries
	for deadline := time.Now().Add(5 * testTakeover); b.e.LeaderName() != "http://a:8080"; {
		if time.Now().After(deadline) {
			t.Fatalf("standby names %q as leader", b.e.LeaderName())
		}
		select {
		case <-j.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-j.changed:
		t.Fatalf("a second role change with one leader running: %v", j.list())
	case <-time.After(3 * testTakeover):
	}
	if a.e.Role() != RoleLeader || b.e.Role() != RoleStandby {
		t.Fatalf("roles: a %s, b %s", a.e.Role(), b.e.Role())
	}

	// kill a's session from a third connection
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	killed := time.Now()
	var ok bool
	if err := admin.QueryRow("SELECT pg_terminate_backend($1)", int64(a.e.BackendPID())).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the leader's session: %v %v", ok, err)
	}
	// The bound itself is arithmetic (TestTimingFitsTheBound); here the
	// takeover only has to happen, and its time is reported, not judged,
	// as a loaded machine may take longer.
	j.waitFor(t, "http://b:8080 leads", 30*time.Second)
	t.Logf("takeover took %v (bound %v)", time.Since(killed), testTakeover)
	want := []string{"http://a:8080 leads", "http://a:8080 fenced", "http://b:8080 leads"}
	if got := j.list(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("order of events %v, want %v (the old leader fenced before the new one leads)", got, want)
	}
	if b.e.Role() != RoleLeader || a.e.Role() != RoleStandby {
		t.Fatalf("roles after takeover: a %s, b %s", a.e.Role(), b.e.Role())
	}
	// a comes back as a standby naming b
	for deadline := time.Now().Add(5 * testTakeover); a.e.LeaderName() != "http://b:8080"; {
		if time.Now().After(deadline) {
			t.Fatalf("the old leader names %q as leader", a.e.LeaderName())
		}
		select {
		case <-j.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}

	// a leader that stops releases the lock: a leads again, nobody fenced
	b.stop()
	for deadline := time.After(3 * testTakeover); len(j.list()) < 4; {
		select {
		case <-j.changed:
		case <-deadline:
			t.Fatalf("no leader after the leader stopped: %v", j.list())
		}
	}
	if got := j.list(); len(got) != 4 || got[3] != "http://a:8080 leads" {
		t.Fatalf("events after b stopped: %v", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]Config{
		"long name": {DSN: "postgres://u@h/db", Name: "http://" + strings.Repeat("x", 60)},
		"not ascii": {DSN: "postgres://u@h/db", Name: "http://æ"},
		"bad dsn":   {DSN: "postgres://u@h:notaport/db"},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{DSN: "postgres://u@h/db", Name: "http://10.0.0.1:8080"}); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestTimingFitsTheBound(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, time.Second, 5 * time.Second, 30 * time.Second} {
		tm := TimingFor(d)
		bound := d
		if d == 0 {
			bound = DefaultTakeover
		}
		// worst case after a clean death: one Retry, then Lease+Check
		if worst := tm.Retry + tm.Lease + tm.Check; worst >= bound {
			t.Errorf("%v: worst case %v", d, worst)
		}
		if tm.Check >= tm.Lease {
			t.Errorf("%v: check %v not shorter than lease %v", d, tm.Check, tm.Lease)
		}
	}
}
