package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/doctor"
	"github.com/omstil/omstil/prompts"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
)

// doctorPrompt is the prompt the media check has Asterisk fetch.
const doctorPrompt = "all-busy"

func cmdDoctor(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	number := fs.String("probe-number", "0000000", "number of the test call into the inbound context (must match its pattern; no citizen's number)")
	inbound := fs.String("inbound-context", "omstil-inbound", "dialplan context the trunk's calls go to")
	s, _, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	fmt.Fprintf(stdout, "omstil %s doctor: database %s, ARI %s\n", version, dbKind(s), ariText(s))

	cfg := doctor.Config{
		App: s.ARIApp, Sounds: ari.AsteriskSounds(), Language: "da",
		Probe:   &doctor.Probe{Number: *number, Context: *inbound},
		RTPHost: s.RTPHost, RTPMin: s.RTPPortMin, RTPMax: s.RTPPortMax, RTPShared: s.RTPShared,
		MediaURL: s.MediaURL, Prompt: doctorPrompt,
		ARI: ariclient.Config{URL: s.ARIURL, User: s.ARIUser, Password: s.ARIPassword.Reveal(), Logger: log, Timeout: 5 * time.Second},
	}
	st, err := openForDoctor(ctx, s, log)
	if err != nil {
		cfg.Schema = func(context.Context) (int, int, error) { return 0, 0, err }
	} else {
		defer st.Close()
		cfg.Schema = func(ctx context.Context) (int, int, error) {
			cur, known, err := st.SchemaVersion(ctx)
			return int(cur), int(known), err
		}
		cfg.NeedPJSIP = usesPJSIP(ctx, st, s)
		cfg.ServeMedia = func() (func(), error) { return serveMediaOnly(s, st, log) }
	}
	if !s.IsPostgres() {
		abs, _ := filepath.Abs(s.DB)
		cfg.DataDir = filepath.Dir(abs)
	}
	if s.Demo() {
		// the simulator fetches sound:http URLs as Asterisk's media cache
		// does, so that the media check means something in demo mode too
		url, pass, _, stop, err := startSimulator(log, fetchable)
		if err != nil {
			return err
		}
		defer stop()
		cfg.ARI.URL, cfg.ARI.User, cfg.ARI.Password = url, "omstil", pass
	}
	rs := doctor.Run(ctx, cfg)
	doctor.Print(stdout, rs)
	if doctor.Failed(rs) {
		n := 0
		for _, r := range rs {
			if r.Status == doctor.Fail {
				n++
			}
		}
		return fmt.Errorf("doctor: %d of %d checks failed", n, len(rs))
	}
	fmt.Fprintln(stdout, "no check failed")
	return nil
}

// fetchable says whether a sound:http(s) URL answers 200; other sounds
// exist.
func fetchable(name string) bool {
	if !strings.HasPrefix(name, "http://") && !strings.HasPrefix(name, "https://") {
		return true
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(name)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func ariText(s settings.Settings) string {
	if s.Demo() {
		return "the built-in simulator (demo mode: no OMSTIL_ARI_URL)"
	}
	return s.ARIURL
}

// openForDoctor opens the database without creating or migrating it.
func openForDoctor(ctx context.Context, s settings.Settings, log *slog.Logger) (*config.Store, error) {
	if !s.IsPostgres() {
		if _, err := os.Stat(s.DB); err != nil {
			return nil, fmt.Errorf("no database at %s (OMSTIL_DB): %w", s.DB, err)
		}
	}
	return config.Open(ctx, s.DB, config.Options{Logger: log})
}

// usesPJSIP reports whether agents or the installation's trunk dial PJSIP
// endpoints.
func usesPJSIP(ctx context.Context, st *config.Store, s settings.Settings) bool {
	if strings.HasPrefix(strings.ToUpper(s.CallbackEndpoint), "PJSIP/") {
		return true
	}
	rt, err := st.LoadRuntime(ctx)
	if err != nil {
		return false
	}
	for _, a := range rt.AgentInfo {
		if strings.HasPrefix(strings.ToUpper(a.DialString), "PJSIP/") {
			return true
		}
	}
	for _, d := range rt.Dialing {
		if strings.HasPrefix(strings.ToUpper(d.Policy.Trunk), "PJSIP/") {
			return true
		}
	}
	return false
}

// serveMediaOnly serves omstil's web server, without call handling, on
// OMSTIL_LISTEN for the media check (omstil is not running then).
func serveMediaOnly(s settings.Settings, st *config.Store, log *slog.Logger) (func(), error) {
	da, err := prompts.FS(prompts.Danish)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(da, doctorPrompt+".wav"); err != nil {
		return nil, err
	}
	srv, err := server.New(server.Options{Store: st, Logger: log, Prompts: da})
	if err != nil {
		return nil, err
	}
	w, err := listenWeb(s, log)
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 2)
	w.serve(srv, errc)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := w.shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Error("doctor: stopping the media server", "err", err)
		}
	}, nil
}
