package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/leader"
	"github.com/omstil/omstil/prompts"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// shutdownGrace is how long in-flight HTTP requests get after a signal.
const shutdownGrace = 10 * time.Second

func cmdServe(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s, _, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	log := newLogger(s, stderr)
	log.Info("starting omstil", "version", version, "listen", s.Listen, "db", dbKind(s), "demo", s.Demo())

	st, err := openStore(ctx, s, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if !s.IsPostgres() {
		// One engine per database: a second serve on this file would
		// fight the first over the same calls.
		lock, err := leader.LockFile(s.DB)
		if err != nil {
			return fmt.Errorf("OMSTIL_DB: %w", err)
		}
		defer lock.Close()
	}

	adminPW, err := ensureAdmin(ctx, st, s)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	w, err := listenWeb(s, log)
	if err != nil {
		return err
	}
	defer w.close()

	oidc, err := server.OIDCOptionsFrom(s)
	if err != nil {
		return err
	}
	// the default voice prompts, which call handling plays from
	// promptURI (/media/prompts/da/<name>.wav)
	da, err := prompts.FS(prompts.Danish)
	if err != nil {
		return err
	}
	publicURL := s.PublicURL
	if publicURL == s.ListenURL() {
		publicURL = "" // not set: the site is what the request names
	}
	n := newNode(s, st, reg, log, server.Options{
		PublicURL:      publicURL,
		Demo:           s.Demo(),
		OIDC:           oidc,
		Store:          st,
		Logger:         log,
		SecureCookies:  s.SecureCookies(),
		TrustedProxies: s.TrustedProxies,
		Registry:       reg,
		Prompts:        da,
	})
	defer n.closeCalls()

	// On PostgreSQL the elector decides who handles the calls; until it
	// says so this process is a standby. On SQLite the file lock above
	// made it the only one.
	var stopElector func()
	if s.IsPostgres() {
		adv, err := advertiseURL(s, w.siteLn)
		if err != nil {
			return err
		}
		if u, err := neturl.Parse(adv); err == nil {
			if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
				log.Warn("this node's address for the other nodes is a loopback address: a standby on another host cannot pass requests to it; set OMSTIL_ADVERTISE_URL or listen on the node's own address", "advertise", adv)
			}
		}
		el, err := leader.New(leader.Config{
			DSN: s.DB, Name: adv, Takeover: s.LeaderTakeover, Logger: log.With("part", "leader"),
			OnLead: n.onLead, OnFence: n.onFence,
		})
		if err != nil {
			return err
		}
		n.role = func() string { return string(el.Role()) }
		n.setHandler(server.NewStandby(server.StandbyOptions{
			Ping: st.Ping, Logger: log.With("part", "standby"), Registry: reg,
			Leader: func() string {
				if l := el.LeaderName(); l != adv {
					return l
				}
				return "" // ourselves, just before leading or just after losing the lock
			},
		}))
		ectx, cancel := context.WithCancel(context.Background())
		edone := make(chan struct{})
		go func() {
			defer close(edone)
			el.Run(ectx)
		}()
		stopElector = func() {
			n.closeCalls() // no command to Asterisk once the lock is gone
			cancel()
			<-edone
		}
		defer stopElector()
		tm := el.Timing()
		log.Info("standby: taking over the calls when the leader goes", "advertise", adv, "takeover", s.LeaderTakeover, "retry", tm.Retry, "lease", tm.Lease, "check", tm.Check)
	} else {
		if err := n.startCalls(ctx); err != nil {
			return err
		}
	}
	errc := make(chan error, 2)
	w.serve(n, errc)

	w.banner(stdout, s)
	if adminPW != "" {
		fmt.Fprintf(stdout, "First start: log in as user \"admin\" with password %s (shown once; change it)\n", adminPW)
	}
	if s.Demo() {
		fmt.Fprintln(stdout, "DEMO MODE: no OMSTIL_ARI_URL is set, so omstil runs on its built-in ARI simulator with synthetic calls. This is not a telephone system.")
	}
	printDemoLogin(stdout, w.siteURL(s), n.calls)

	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := w.shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
	for stopping := false; !stopping; {
		select {
		case err := <-errc:
			return fmt.Errorf("http server: %w", err)
		case <-n.lead:
			if err := n.startCalls(ctx); err != nil {
				return fmt.Errorf("taking over the calls: %w", err)
			}
			log.Info("leader: handling the calls")
			printDemoLogin(stdout, w.siteURL(s), n.calls)
		case err := <-n.fenced:
			// The ARI client is closed already (onFence); what is left
			// of this process's engine is stale: end, and let the
			// service manager start a fresh standby.
			n.closeCalls()
			shutdown()
			return fmt.Errorf("fenced: lost the leader lock, so another omstil may be handling the calls now; exiting (restart to join as a standby): %w", err)
		case <-ctx.Done():
			stopping = true
		}
	}
	log.Info("shutting down: no new calls; waiting calls stay in Asterisk for the next start")
	n.drain()
	// Stop sending commands to Asterisk before the lock goes: a standby
	// takes over as soon as it is released.
	n.closeCalls()
	if stopElector != nil {
		stopElector()
	}
	if err := shutdown(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// printDemoLogin prints the demo staff login that this start seeded,
// once, on stdout only (never in the log): the newcomer answers the demo's
// calls in the browser with it.
func printDemoLogin(stdout io.Writer, site string, calls *callHandling) {
	if calls == nil || calls.demoLogin == nil {
		return
	}
	l := calls.demoLogin
	fmt.Fprintf(stdout, "Demo: answer calls in Chrome: open %s/agent, log in as user %q with password %s (shown once), press Klar (Ready) and answer when it rings.\n", site, l.username, l.password)
	calls.demoLogin = nil
}

// advertiseURL is how the other nodes reach this one: the setting, or
// http:// and the address listened on (the host's name when it listens
// on every interface).
func advertiseURL(s settings.Settings, ln net.Listener) (string, error) {
	if s.AdvertiseURL != "" {
		return strings.TrimRight(s.AdvertiseURL, "/"), nil
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("OMSTIL_ADVERTISE_URL: not set, and the host's name is unknown: %w", err)
		}
	}
	u := strings.TrimSuffix(s.ListenURL(), s.Listen) + net.JoinHostPort(host, port)
	if len(u) > leader.MaxNameLength {
		return "", fmt.Errorf("OMSTIL_ADVERTISE_URL: not set, and %q is longer than %d characters: set a shorter one", u, leader.MaxNameLength)
	}
	return u, nil
}

func dbKind(s settings.Settings) string {
	if s.IsPostgres() {
		return "postgres"
	}
	return "sqlite:" + s.DB
}

// newPassword is a generated password: 120 random bits in 20 URL-safe
// characters (no spaces, so it can be copied from the terminal).
func newPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ensureAdmin creates the first admin when the database has none. It
// returns the generated password, or "" when none was generated.
func ensureAdmin(ctx context.Context, st *config.Store, s settings.Settings) (string, error) {
	n, err := st.CountAdmins(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		return "", err
	}
	pw, generated := s.AdminPassword.Reveal(), false
	if pw == "" {
		pw, generated = newPassword(), true
	}
	if _, err := st.CreateUser(ctx, config.SystemActor(org.ID), config.NewUser{OrgID: org.ID, Username: "admin", DisplayName: "Administrator", Password: pw, Role: config.RoleAdmin}); err != nil {
		if errors.Is(err, config.ErrConflict) {
			return "", errors.New("no active admin exists but the username \"admin\" is taken; create one with omstil user create --role admin")
		}
		return "", fmt.Errorf("OMSTIL_ADMIN_PASSWORD: %w", err)
	}
	if generated {
		return pw, nil
	}
	return "", nil
}
