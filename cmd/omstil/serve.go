package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/leader"
	"github.com/omstil/omstil/internal/telephony"
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

	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("OMSTIL_LISTEN %s: %w", s.Listen, err)
	}
	defer ln.Close()

	calls, err := startCallHandling(ctx, s, st, reg, log)
	if err != nil {
		return err
	}
	defer calls.Close()

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
	if publicURL == "http://"+s.Listen {
		publicURL = "" // not set: the site is what the request names
	}
	srv, err := server.New(server.Options{
		PublicURL:      publicURL,
		Demo:           s.Demo(),
		OIDC:           oidc,
		Store:          st,
		Logger:         log,
		SecureCookies:  s.SecureCookies(),
		TrustedProxies: s.TrustedProxies,
		Registry:       reg,
		Checks:         calls.Checks(),
		Prompts:        da,
		Live:           telephony.LiveView{Adapter: calls.adapter, Runtime: calls.reload.Runtime},
		LiveSource:     calls.feed,
		Softphone:      &server.AgentOptions{Manager: calls.phones, Directory: telephony.AgentDirectory{Adapter: calls.adapter, Runtime: calls.reload.Runtime}},
	})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	url := s.PublicURL
	if s.PublicURL == "http://"+s.Listen {
		url = "http://" + ln.Addr().String()
	}
	fmt.Fprintf(stdout, "omstil is running: open %s/\n", url)
	if adminPW != "" {
		fmt.Fprintf(stdout, "First start: log in as user \"admin\" with password %s (shown once; change it)\n", adminPW)
	}
	if s.Demo() {
		fmt.Fprintln(stdout, "DEMO MODE: no OMSTIL_ARI_URL is set, so omstil runs on its built-in ARI simulator with synthetic calls. This is not a telephone system.")
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: no new calls; waiting calls stay in Asterisk for the next start")
	calls.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}

func dbKind(s settings.Settings) string {
	if s.IsPostgres() {
		return "postgres"
	}
	return "sqlite:" + s.DB
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
		b := make([]byte, 15)
		rand.Read(b)
		pw, generated = base64.RawURLEncoding.EncodeToString(b), true
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
