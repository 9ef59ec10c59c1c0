package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/omstil/omstil/audio"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
)

// run is the whole program, testable: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, os.LookupEnv, stdin, stdout, stderr)
}

func runEnv(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, env, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args, env, stdout, stderr)
	case "user":
		err = cmdUser(ctx, args, env, stdin, stdout, stderr)
	case "token":
		err = cmdToken(ctx, args, env, stdout, stderr)
	case "org":
		err = cmdOrg(ctx, args, env, stdout, stderr)
	case "doctor":
		err = cmdDoctor(ctx, args, env, stdout, stderr)
	case "config":
		err = cmdConfig(ctx, args, env, stdin, stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args, env, stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args, env, stdout, stderr)
	case "gdpr":
		err = cmdGDPR(ctx, args, env, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "omstil", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "omstil: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "omstil:", err)
		return 1
	}
	return 0
}

const usage = `usage:
  omstil [serve] [flags]          run omstil (demo mode when no ARI URL is set)
  omstil migrate [--status]       apply database migrations, or print the schema version
  omstil user create --username U --role admin|supervisor|agent|system [--org SLUG]
                     (--password-file F | --password-stdin) [--display-name N]
  omstil token create --username U [--name N]   print a new API token once
  omstil org create --slug S --name N          add an organisation (municipality)
  omstil org list | show --slug S               organisations and what each may dial
  omstil org set --slug S [--endpoints P,P] [--trunk T] [--local-contexts C,C]
                 [--installation-trunk=BOOL] [--caller-id ID] [--name N]
                 [--pseudonymise-after-days D] [--delete-after-months M]
                                               set what an organisation may dial, how long it keeps numbers
  omstil doctor [--probe-number N] [--inbound-context C]
                                               check the installation end to end
  omstil config export --org SLUG [--out FILE]  an organisation's configuration as one file
  omstil config import --org SLUG [--dry-run] [--replace] FILE
                                               check it, then write it in one transaction
  omstil backup FILE              a consistent copy of the SQLite database, while serve runs
                                  (PostgreSQL: it prints the pg_dump command)
  omstil restore FILE             a backup into a new, empty database (OMSTIL_DB)
  omstil gdpr export --org SLUG --number N|-    every record of a citizen's number, as JSON
  omstil gdpr delete --org SLUG --number N|- --yes   delete them (both audited by pseudonym)
  omstil version

Every setting is a flag and an environment variable; see omstil serve -h.
`

// newLogger configures slog once, from the settings.
func newLogger(s settings.Settings, w io.Writer) *slog.Logger {
	level, _ := settings.ParseLogLevel(s.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens and migrates the store named by the settings.
func openStore(ctx context.Context, s settings.Settings, log *slog.Logger) (*config.Store, error) {
	conv := audio.NewConverter(audio.Limits{MaxLength: s.AnnouncementMaxLength()})
	st, err := config.Open(ctx, s.DB, config.Options{Logger: log, Audio: conv})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openOrg opens the store (migrating it) and finds the organisation by
// its slug; the caller closes the store.
func openOrg(ctx context.Context, s settings.Settings, slug string, stderr io.Writer) (*config.Store, config.Organisation, error) {
	st, err := openStore(ctx, s, newLogger(s, stderr))
	if err != nil {
		return nil, config.Organisation{}, err
	}
	o, err := st.OrgBySlug(ctx, slug)
	if err != nil {
		st.Close()
		return nil, config.Organisation{}, fmt.Errorf("organisation %q: %w", slug, err)
	}
	return st, o, nil
}

func cmdMigrate(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.Bool("status", false, "print the schema version and exit")
	s, _, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	log := newLogger(s, stderr)
	st, err := config.Open(ctx, s.DB, config.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	if !*status {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	cur, known, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	state := "up to date"
	switch {
	case cur < known:
		state = "migrations pending; run omstil migrate"
	case cur > known:
		state = "NEWER than this binary; run a newer omstil"
	}
	fmt.Fprintf(stdout, "schema version %d (this binary knows %d): %s\n", cur, known, state)
	return nil
}
