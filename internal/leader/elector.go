package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Role is what a process is to the calls: the leader handles them, a
// standby waits to take over.
type Role string

const (
	RoleStandby Role = "standby"
	RoleLeader  Role = "leader"
)

// DefaultTakeover is how long at most a standby takes, after the leader
// died, to start handling the calls (OMSTIL_LEADER_TAKEOVER).
const DefaultTakeover = 5 * time.Second

// DefaultKey is the advisory lock omstil's leader holds ("omst" in
// ASCII). Advisory locks are per database, so installations on different
// databases of one server do not meet.
const DefaultKey int64 = 0x6f6d7374

// appPrefix starts the application_name of a lock connection; the rest
// is the holder's Name, which standbys read as the leader's address.
const appPrefix = "omstil "

// MaxNameLength is how long a Name may be: application_name keeps 63
// bytes.
const MaxNameLength = 63 - len(appPrefix)

// Config configures an Elector.
type Config struct {
	// DSN is the postgres:// URL of the shared database.
	DSN string
	// Name is what the others see of this process while it leads: its
	// URL for the other nodes (OMSTIL_ADVERTISE_URL). Printable ASCII, at
	// most 56 bytes (it travels as the lock connection's
	// application_name).
	Name string
	// Takeover bounds the time from a leader's death to a standby leading
	// (DefaultTakeover when zero); Timing derives the intervals from it.
	Takeover time.Duration
	// Key is the advisory lock (DefaultKey when zero).
	Key    int64
	Logger *slog.Logger
	// OnLead is called on Run's goroutine once this process leads: it
	// holds the lock and any earlier leader's lease has run out, so that
	// leader has fenced itself.
	OnLead func()
	// OnFence is called on Run's goroutine the moment this leader can no
	// longer be sure it holds the lock. It must stop every command to
	// Asterisk before it returns and return quickly: the lease that
	// protects the next leader is already running.
	OnFence func(err error)
}

// Timing is the schedule an Elector keeps, all derived from Takeover T.
type Timing struct {
	// Retry (T/5) is how often a standby tries to take the lock.
	Retry time.Duration
	// Lease (2T/5): a leader fences itself when its last confirmed check
	// was sent longer ago than this; a new leader waits this long after
	// taking the lock before it leads.
	Lease time.Duration
	// Check (T/10) is how often a leader confirms its lock connection.
	Check time.Duration
}

// TimingFor returns the schedule for a takeover bound (DefaultTakeover
// when zero or less).
func TimingFor(takeover time.Duration) Timing {
	if takeover <= 0 {
		takeover = DefaultTakeover
	}
	return Timing{Retry: takeover / 5, Lease: 2 * takeover / 5, Check: takeover / 10}
}

// Elector takes part in electing the leader of a PostgreSQL database.
// Run does the work; Role and LeaderName may be read from any goroutine.
type Elector struct {
	cfg    Config
	timing Timing
	log    *slog.Logger

	role   atomic.Value // Role
	leader atomic.Value // string: the leader's Name as last seen
	pid    atomic.Uint32

	runOnce sync.Once
}

// New checks cfg and returns an Elector; it does not connect.
func New(cfg Config) (*Elector, error) {
	if _, err := pgx.ParseConfig(cfg.DSN); err != nil {
		return nil, errors.New("leader: the database URL does not parse")
	}
	if len(cfg.Name) > MaxNameLength {
		return nil, fmt.Errorf("leader: name %q is longer than %d bytes", cfg.Name, MaxNameLength)
	}
	for _, r := range cfg.Name {
		if r < 0x20 || r > 0x7e {
			return nil, fmt.Errorf("leader: name %q is not printable ASCII", cfg.Name)
		}
	}
	if cfg.Key == 0 {
		cfg.Key = DefaultKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnLead == nil {
		cfg.OnLead = func() {}
	}
	if cfg.OnFence == nil {
		cfg.OnFence = func(error) {}
	}
	e := &Elector{cfg: cfg, timing: TimingFor(cfg.Takeover), log: cfg.Logger}
	e.role.Store(RoleStandby)
	e.leader.Store("")
	return e, nil
}

// Timing is the elector's schedule.
func (e *Elector) Timing() Timing { return e.timing }

// Role is this process's role now.
func (e *Elector) Role() Role { return e.role.Load().(Role) }

// LeaderName is the leader's Name: this process's own while it leads, as
// a standby the holder of the lock at the last try ("" when none was
// seen, or it published no name).
func (e *Elector) LeaderName() string { return e.leader.Load().(string) }

// BackendPID is the PostgreSQL process of the lock connection (0 when
// none is open); tests use it to cut the connection.
func (e *Elector) BackendPID() uint32 { return e.pid.Load() }

// Run takes part in the election until ctx is done: as a standby it tries
// for the lock every Retry; once it holds it, it waits out Lease, calls
// OnLead and confirms the lock every Check; when a confirmation fails or
// is late it calls OnFence at once and is a standby again. When ctx ends
// it closes the lock connection, which releases the lock: stop call
// handling before. Run may be called once.
func (e *Elector) Run(ctx context.Context) error {
	first := false
	e.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("leader: Run called twice")
	}
	var conn *pgx.Conn
	defer func() { e.close(conn) }()
	var lastErr string
	for {
		var (
			got  bool
			sent time.Time
			err  error
		)
		conn, got, sent, err = e.try(ctx, conn)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if err.Error() != lastErr {
				e.log.Warn("leader election: cannot reach the database; trying again", "err", err, "every", e.timing.Retry)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		if got {
			conn = e.hold(ctx, conn, sent)
			if ctx.Err() != nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.timing.Retry):
		}
	}
}

// try connects when needed and tries for the lock once. sent is when the
// successful try was sent; on an error the connection is closed (nil).
func (e *Elector) try(ctx context.Context, conn *pgx.Conn) (_ *pgx.Conn, got bool, sent time.Time, err error) {
	if conn == nil {
		if conn, err = e.connect(ctx); err != nil {
			return nil, false, time.Time{}, err
		}
	}
	qctx, cancel := context.WithTimeout(ctx, e.timing.Lease)
	defer cancel()
	sent = time.Now()
	if err := conn.QueryRow(qctx, "SELECT pg_try_advisory_lock($1)", e.cfg.Key).Scan(&got); err != nil {
		e.close(conn)
		return nil, false, time.Time{}, fmt.Errorf("leader: try lock: %w", err)
	}
	if got {
		return conn, true, sent, nil
	}
	var app string
	err = conn.QueryRow(qctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid::int8 = $1 AND l.objid::int8 = $2`, e.cfg.Key>>32, e.cfg.Key&0xffffffff).Scan(&app)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		e.leader.Store("") // released between the two queries
	case err != nil:
		e.close(conn)
		return nil, false, time.Time{}, fmt.Errorf("leader: find the leader: %w", err)
	default:
		if name := strings.TrimPrefix(app, appPrefix); name != e.LeaderName() {
			e.log.Info("leader election: standby", "leader", name)
			e.leader.Store(name)
		}
	}
	return conn, false, time.Time{}, nil
}

// hold keeps the lock taken at sent: it waits out Lease before it leads,
// then confirms the lock every Check. It returns when the lock is lost
// (the connection closed, nil) or ctx is done (the connection still open
// for Run to close).
func (e *Elector) hold(ctx context.Context, conn *pgx.Conn, sent time.Time) *pgx.Conn {
	t := e.timing
	// The old leader's last confirmed check was sent before our lock was
	// granted, so it has fenced itself by the time Lease has passed since
	// the grant; our grant came after `sent`, and a margin of one Check
	// covers the old leader's fence function and the two clocks' rates.
	leadAt := time.Now().Add(t.Lease + t.Check)
	lastOK := sent
	e.log.Info("leader election: took the lock; leading once the old leader's lease has passed", "in", time.Until(leadAt).Round(time.Millisecond))
	tick := time.NewTicker(t.Check)
	defer tick.Stop()
	leading := false
	for {
		if !leading && !time.Now().Before(leadAt) {
			leading = true
			e.leader.Store(e.cfg.Name)
			e.role.Store(RoleLeader)
			e.log.Info("leader election: leading")
			e.cfg.OnLead()
		}
		select {
		case <-ctx.Done():
			if leading {
				e.role.Store(RoleStandby)
			}
			return conn
		case <-tick.C:
		}
		ts := time.Now()
		// A check must answer before the lease runs out: a late answer
		// proves nothing about now.
		qctx, cancel := context.WithDeadline(ctx, lastOK.Add(t.Lease))
		_, err := conn.Exec(qctx, "SELECT 1")
		cancel()
		if ctx.Err() != nil {
			continue // stopping, not lost: the next select returns
		}
		if err != nil {
			e.close(conn)
			err = fmt.Errorf("leader: lock connection: %w", err)
			if leading {
				e.role.Store(RoleStandby)
				e.leader.Store("")
				e.log.Error("leader election: lost the lock; fenced: no more commands to Asterisk", "err", err)
				e.cfg.OnFence(err)
			} else {
				e.log.Warn("leader election: lost the lock before leading", "err", err)
			}
			return nil
		}
		lastOK = ts
	}
}

func (e *Elector) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(e.cfg.DSN)
	if err != nil {
		return nil, errors.New("leader: the database URL does not parse")
	}
	cfg.RuntimeParams["application_name"] = appPrefix + e.cfg.Name
	cfg.ConnectTimeout = e.timing.Lease
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("leader: connect: %w", redact(err, cfg.Password))
	}
	// PostgreSQL ends the session, and so frees the lock, when the
	// leader's host vanishes without closing the connection only once TCP
	// notices: make that about Retry+Check rather than the system's
	// two hours.
	idle := strconv.Itoa(max(1, int(e.timing.Retry.Round(time.Second)/time.Second)))
	for _, set := range []string{
		"SET tcp_keepalives_idle = " + idle,
		"SET tcp_keepalives_interval = 1",
		"SET tcp_keepalives_count = 1",
		"SET tcp_user_timeout = " + strconv.Itoa(int(e.timing.Lease/time.Millisecond)),
	} {
		if _, err := conn.Exec(ctx, set); err != nil {
			e.log.Debug("leader election: keepalive setting refused", "set", set, "err", err)
		}
	}
	e.pid.Store(conn.PgConn().PID())
	return conn, nil
}

// close ends the lock connection, which releases the lock.
func (e *Elector) close(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
	e.pid.Store(0)
}

// redact keeps the password out of a connection error.
func redact(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
}
