package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/omstil/omstil/config"
)

func cmdUser(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: omstil user create --username U --role ROLE (--password-file F | --password-stdin)")
	}
	fs := flag.NewFlagSet("omstil user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "admin, supervisor or agent")
	org := fs.String("org", "default", "organisation slug")
	display := fs.String("display-name", "", "name shown in the UI")
	pwFile := fs.String("password-file", "", "read the password from this file")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	s, _, err := config.LoadSettingsFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	r, err := config.ParseRole(*role)
	if err != nil {
		return err
	}
	var pw string
	switch {
	case *pwFile != "" && *pwStdin:
		return errors.New("give --password-file or --password-stdin, not both")
	case *pwFile != "":
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return err
		}
		pw = strings.TrimRight(string(b), "\r\n")
	case *pwStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
	default:
		return errors.New("give the password with --password-file F or --password-stdin (never on the command line)")
	}
	st, err := openStore(ctx, s, newLogger(s, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := st.OrgBySlug(ctx, *org)
	if err != nil {
		return fmt.Errorf("organisation %q: %w", *org, err)
	}
	u, err := st.CreateUser(ctx, config.SystemActor(o.ID), config.NewUser{OrgID: o.ID, Username: *username, DisplayName: *display, Password: pw, Role: r})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
	return nil
}

func cmdToken(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: omstil token create --username U [--name N] [--scope api|kiosk]")
	}
	fs := flag.NewFlagSet("omstil token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "the user the token acts as")
	name := fs.String("name", "cli", "a name to recognise the token by")
	scopeName := fs.String("scope", "api", "api (the whole API) or kiosk (only the wallboard, for a TV)")
	s, _, err := config.LoadSettingsFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	if *username == "" {
		return errors.New("--username is required")
	}
	scope, err := config.ParseTokenScope(*scopeName)
	if err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	st, err := openStore(ctx, s, newLogger(s, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, *username)
	if err != nil {
		return fmt.Errorf("user %q: %w", *username, err)
	}
	tok, _, err := st.CreateScopedToken(ctx, config.SystemActor(u.OrgID), u.ID, *name, scope)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func cmdOrg(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: omstil org create --slug S --name N")
	}
	fs := flag.NewFlagSet("omstil org create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("slug", "", "short name, e.g. faxe (prefixes the queues' engine IDs)")
	name := fs.String("name", "", "name, e.g. Faxe Kommune")
	s, _, err := config.LoadSettingsFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, s, newLogger(s, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := st.CreateOrg(ctx, *slug, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created organisation %s (id %d); add its admin with: omstil user create --org %s --role admin ...\n", o.Slug, o.ID, o.Slug)
	return nil
}
