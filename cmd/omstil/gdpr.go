package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
)

const gdprUsage = `usage:
  omstil gdpr export --org SLUG --number N         every record of a citizen's number, as JSON
  omstil gdpr delete --org SLUG --number N [--yes] delete them
     --number - reads the number from the first line of standard input (so it
     stays out of the shell history and the process list). Both are in the
     organisation's audit log with the number's pseudonym, never the number.`

func cmdGDPR(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "delete") {
		return errors.New(gdprUsage)
	}
	del := args[0] == "delete"
	fs := flag.NewFlagSet("omstil gdpr "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("org", "", "the organisation (slug)")
	number := fs.String("number", "", "the citizen's number, or - to read it from standard input")
	yes := false
	if del {
		fs.BoolVar(&yes, "yes", false, "really delete")
	}
	s, _, err := settings.LoadFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	if *slug == "" || *number == "" {
		return errors.New("--org and --number are required\n" + gdprUsage)
	}
	if *number == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the number from standard input: %w", err)
		}
		*number = strings.TrimSpace(line)
	}
	if del && !yes {
		return fmt.Errorf("this deletes every record of the number in organisation %s; run again with --yes", *slug)
	}
	st, o, err := openOrg(ctx, s, *slug, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := config.SystemActor(o.ID)
	if !del {
		r, err := st.ExportSubject(ctx, actor, *number)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(server.NewSubjectExport(r, time.Now()))
	}
	d, err := st.DeleteSubject(ctx, actor, *number)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %d call events and %d pending callbacks of %s in organisation %s\n", d.CallEvents, d.PendingCallbacks, d.Pseudonym, o.Slug)
	return nil
}
