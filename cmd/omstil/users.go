package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
)

func cmdUser(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: omstil user create --username U --role ROLE (--password-file F | --password-stdin)")
	}
	fs := flag.NewFlagSet("omstil user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "admin, supervisor, agent, or system (an admin of --org who also manages every organisation's dial limits)")
	org := fs.String("org", "default", "organisation slug")
	display := fs.String("display-name", "", "name shown in the UI")
	pwFile := fs.String("password-file", "", "read the password from this file")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	s, _, err := settings.LoadFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	system := *role == "system"
	if system {
		*role = string(config.RoleAdmin)
	}
	r, err := config.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("%w (or system)", err)
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
	st, o, err := openOrg(ctx, s, *org, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, config.SystemActor(o.ID), config.NewUser{OrgID: o.ID, Username: *username, DisplayName: *display, Password: pw, Role: r, SystemAdmin: system})
	if err != nil {
		return err
	}
	if u.SystemAdmin {
		fmt.Fprintf(stdout, "created user %s (id %d, role %s, system administrator)\n", u.Username, u.ID, u.Role)
		return nil
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
	s, _, err := settings.LoadFlags(fs, args[1:], env)
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

const orgUsage = `usage:
  omstil org create --slug S --name N
  omstil org list
  omstil org show --slug S
  omstil org set --slug S [--name N] [--endpoints P,P] [--trunk T] [--installation-trunk=true|false]
                 [--local-contexts C,C] [--caller-id ID]
                 [--pseudonymise-after-days D] [--delete-after-months M]
     endpoints: TECH/resource patterns it may dial, e.g. PJSIP/guld-* (* never matches / or @)
     trunk: dial string numbers go out through, e.g. PJSIP/{number}@guld-trunk
     an empty value (--endpoints "") clears a list
     pseudonymise-after-days: citizens' numbers in the call-event log become pseudonyms (default 30)
     delete-after-months: call events are deleted (default 13); see docs/data-protection.md`

func cmdOrg(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(orgUsage)
	}
	switch args[0] {
	case "create":
		return cmdOrgCreate(ctx, args[1:], env, stdout, stderr)
	case "list":
		return cmdOrgList(ctx, args[1:], env, stdout, stderr)
	case "show":
		return cmdOrgSet(ctx, args[1:], env, stdout, stderr, false)
	case "set":
		return cmdOrgSet(ctx, args[1:], env, stdout, stderr, true)
	}
	return errors.New(orgUsage)
}

func cmdOrgList(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil org list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s, _, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, s, newLogger(s, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	orgs, err := st.ListOrgs(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		fmt.Fprintf(stdout, "%s\t%d\t%s\n", o.Slug, o.ID, o.Name)
	}
	return nil
}

// listFlag is a comma-separated list flag that knows whether it was given.
type listFlag struct {
	set  bool
	vals []string
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }
func (l *listFlag) Set(v string) error {
	l.set, l.vals = true, []string{}
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			l.vals = append(l.vals, x)
		}
	}
	return nil
}

// cmdOrgSet shows an organisation's dial limits, after changing them when
// change is true (omstil org set): the command line acts as the system
// administrator, audited as "system".
func cmdOrgSet(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer, change bool) error {
	name := "omstil org show"
	if change {
		name = "omstil org set"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("slug", "", "the organisation")
	var p config.OrgPatch
	var endpoints, contexts listFlag
	var orgName, trunk, callerID string
	var instTrunk bool
	var pseudDays, delMonths int
	if change {
		fs.StringVar(&orgName, "name", "", "new name")
		fs.Var(&endpoints, "endpoints", "comma-separated TECH/resource patterns it may dial, e.g. PJSIP/guld-*")
		fs.StringVar(&trunk, "trunk", "", "dial string numbers go out through, e.g. PJSIP/{number}@guld-trunk")
		fs.BoolVar(&instTrunk, "installation-trunk", false, "numbers may go out through OMSTIL_CALLBACK_ENDPOINT when --trunk is empty")
		fs.Var(&contexts, "local-contexts", "comma-separated contexts Local/exten@context may enter")
		fs.StringVar(&callerID, "caller-id", "", `caller ID on callbacks and transfers, e.g. "Guldborgsund" <54731000>`)
		fs.IntVar(&pseudDays, "pseudonymise-after-days", 0, "citizens' numbers in the call-event log become pseudonyms after this many days (1-3650)")
		fs.IntVar(&delMonths, "delete-after-months", 0, "call events are deleted after this many months (1-120)")
	}
	s, _, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	if *slug == "" {
		return errors.New("--slug is required\n" + orgUsage)
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Name = &orgName
		case "endpoints":
			p.Endpoints = &endpoints.vals
		case "trunk":
			p.Trunk = &trunk
		case "installation-trunk":
			p.InstallationTrunk = &instTrunk
		case "local-contexts":
			p.LocalContexts = &contexts.vals
		case "caller-id":
			p.CallerID = &callerID
		case "pseudonymise-after-days":
			p.PseudonymiseDays = &pseudDays
		case "delete-after-months":
			p.DeleteMonths = &delMonths
		}
	})
	st, o, err := openOrg(ctx, s, *slug, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if change {
		if o, err = st.UpdateOrg(ctx, config.Actor{Username: "system"}, o.ID, p); err != nil {
			return err
		}
	}
	pol := o.DialPolicy()
	fmt.Fprintf(stdout, "organisation %s (id %d): %s\n", o.Slug, o.ID, o.Name)
	fmt.Fprintf(stdout, "  endpoints:          %s\n", strings.Join(pol.Endpoints, ", "))
	fmt.Fprintf(stdout, "  trunk:              %s\n", pol.Trunk)
	fmt.Fprintf(stdout, "  installation trunk: %t\n", pol.InstallationTrunk)
	fmt.Fprintf(stdout, "  local contexts:     %s\n", strings.Join(pol.LocalContexts, ", "))
	fmt.Fprintf(stdout, "  caller ID:          %s\n", o.CallerID)
	ret := o.Retention()
	fmt.Fprintf(stdout, "  retention:          numbers pseudonymised after %d days, events deleted after %d months\n", ret.PseudonymiseDays, ret.DeleteMonths)
	fmt.Fprintf(stdout, "  %s\n", pol.Allowed())
	return nil
}

func cmdOrgCreate(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil org create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("slug", "", "short name, e.g. faxe (prefixes the queues' engine IDs)")
	name := fs.String("name", "", "name, e.g. Faxe Kommune")
	s, _, err := settings.LoadFlags(fs, args, env)
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
	fmt.Fprintf(stdout, "it may dial nothing yet; set its limits with: omstil org set --slug %s --endpoints 'PJSIP/%s-*' --trunk 'PJSIP/{number}@%s-trunk'\n", o.Slug, o.Slug, o.Slug)
	if def, err := st.DefaultOrg(ctx); err == nil && o.ID != def.ID && slices.Equal(def.DialPolicy().Endpoints, config.UpgradeDialPolicy.Endpoints) {
		fmt.Fprintf(stderr, "warning: organisation %s still may dial any endpoint (the limits an upgrade gave it); narrow them before %s shares the Asterisk: omstil org set --slug %s ...\n", def.Slug, o.Slug, def.Slug)
	}
	return nil
}
