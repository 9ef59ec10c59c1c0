package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
)

const configUsage = `usage:
  omstil config export --org SLUG [--out FILE]       write the organisation's configuration (stdout by default)
  omstil config import --org SLUG [--dry-run] [--replace] FILE
                                                     check a configuration and write it into the organisation
                                                     (FILE - reads standard input); --replace updates objects
                                                     of the same name instead of refusing the import`

// cmdConfig moves an organisation's configuration as one file (see
// config.Bundle): omstil config export / import.
func cmdConfig(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(configUsage)
	}
	switch args[0] {
	case "export":
		return cmdConfigExport(ctx, args[1:], env, stdout, stderr)
	case "import":
		return cmdConfigImport(ctx, args[1:], env, stdin, stdout, stderr)
	}
	return errors.New(configUsage)
}

func cmdConfigExport(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil config export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("org", "", "the organisation to export")
	out := fs.String("out", "", "write to this file instead of standard output")
	s, rest, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	if *slug == "" || len(rest) > 0 {
		return errors.New("--org is required and nothing follows the flags\n" + configUsage)
	}
	st, o, err := openOrg(ctx, s, *slug, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := st.ExportOrg(ctx, o.ID)
	if err != nil {
		return err
	}
	b.Omstil = version
	js, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	js = append(js, '\n')
	if *out == "" {
		_, err := stdout.Write(js)
		return err
	}
	if err := writeFileAtomic(*out, js); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote the configuration of %s to %s: %s\n", o.Slug, *out, bundleSummary(b))
	return nil
}

// writeFileAtomic writes data to a new file next to path and renames it
// into place, so a failed export never leaves half a file under path. The
// file is readable by its owner only: dial strings and recordings are the
// organisation's business.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

func bundleSummary(b config.Bundle) string {
	return fmt.Sprintf("%d numbers, %d flows, %d schedules, %d queues, %d agents, %d announcements, %d pause reasons",
		len(b.Numbers), len(b.Flows), len(b.Schedules), len(b.Queues), len(b.Agents), len(b.Announcements), len(b.PauseReasons))
}

func cmdConfigImport(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omstil config import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("org", "", "the organisation to write into")
	dryRun := fs.Bool("dry-run", false, "check everything and say what would be written, but write nothing")
	replace := fs.Bool("replace", false, "update objects the organisation has of the same name, instead of refusing the import")
	s, rest, err := settings.LoadFlags(fs, args, env)
	if err != nil {
		return err
	}
	if *slug == "" || len(rest) != 1 {
		return errors.New("give --org and one FILE, flags first\n" + configUsage)
	}
	var data []byte
	if rest[0] == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(rest[0])
	}
	if err != nil {
		return err
	}
	b, err := config.ReadBundle(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	st, o, err := openOrg(ctx, s, *slug, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.ImportOrg(ctx, config.SystemActor(o.ID), o.ID, b, config.ImportOptions{DryRun: *dryRun, Replace: *replace})
	var ie *config.ImportError
	if errors.As(err, &ie) {
		var msg strings.Builder
		msg.WriteString("import refused, nothing written:")
		for _, c := range ie.Conflicts {
			msg.WriteString("\n  exists already: " + c)
		}
		for _, p := range ie.Problems {
			msg.WriteString("\n  " + p)
		}
		return errors.New(msg.String())
	}
	if err != nil {
		return err
	}
	created, updated := "created", "updated"
	if rep.DryRun {
		created, updated = "would create", "would update"
	}
	for _, c := range rep.Created {
		fmt.Fprintf(stdout, "%s %s\n", created, c)
	}
	for _, c := range rep.Updated {
		fmt.Fprintf(stdout, "%s %s\n", updated, c)
	}
	if len(rep.Unchanged) > 0 {
		fmt.Fprintf(stdout, "%d objects are as the file has them already\n", len(rep.Unchanged))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if rep.DryRun {
		fmt.Fprintf(stdout, "dry run: the configuration is valid for %s; nothing was written\n", o.Slug)
		return nil
	}
	fmt.Fprintf(stdout, "imported into %s (%d created, %d updated)\n", o.Slug, len(rep.Created), len(rep.Updated))
	return nil
}
