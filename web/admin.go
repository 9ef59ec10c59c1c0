package web

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// AdminSection is one page of /admin: the module static/admin/<Name>.js.
// A module is a section when its first line is
//
//	// admin-section <order> <API path>
//
// Order places it in the section list (lowest first); the page is offered
// only when the API path is registered. Modules without that line
// (resource.js) are helpers the sections import. Its title and
// introduction are the strings "section.<Name>" and "section.<Name>.intro".
type AdminSection struct {
	Name  string
	Order int
	API   string
}

const sectionDirective = "// admin-section "

// AdminSections finds the admin sections among the embedded modules,
// sorted by order, and checks that each has its title and introduction in
// every language.
func AdminSections() ([]AdminSection, error) {
	secs, err := adminSections(files, "static/admin")
	if err != nil {
		return nil, err
	}
	strs, err := LoadStrings()
	if err != nil {
		return nil, err
	}
	if err := checkSectionStrings(secs, strs); err != nil {
		return nil, err
	}
	return secs, nil
}

func adminSections(fsys fs.FS, dir string) ([]AdminSection, error) {
	mods, err := fs.Glob(fsys, dir+"/*.js")
	if err != nil {
		return nil, err
	}
	var out []AdminSection
	for _, m := range mods {
		f, err := fsys.Open(m)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		first := sc.Text()
		f.Close()
		rest, ok := strings.CutPrefix(first, sectionDirective)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(path.Base(m), ".js")
		fields := strings.Fields(rest)
		if len(fields) != 2 || !strings.HasPrefix(fields[1], "/api/v1/") {
			return nil, fmt.Errorf("web: %s: first line must be %q<order> /api/v1/<path>, not %q", m, sectionDirective, first)
		}
		order, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("web: %s: order %q: %w", m, fields[0], err)
		}
		out = append(out, AdminSection{Name: name, Order: order, API: fields[1]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// checkSectionStrings reports the sections whose title or introduction
// is missing from strs.
func checkSectionStrings(secs []AdminSection, strs map[string]Strings) error {
	var missing []string
	for _, s := range secs {
		for _, k := range []string{"section." + s.Name, "section." + s.Name + ".intro"} {
			for _, lang := range Languages {
				if _, ok := strs[lang][k]; !ok {
					missing = append(missing, lang+":"+k)
				}
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("web: admin section strings missing: %v", missing)
	}
	return nil
}
