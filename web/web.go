// Package web holds omstil's pages: HTML templates, the static assets
// (CSS and plain ES modules, no build step) and the interface strings, one
// file per language. Everything is embedded in the binary.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"sort"
)

//go:embed templates/*.html static i18n/*.json
var files embed.FS

// Languages the interface is available in; the first is the default.
var Languages = []string{"da", "en"}

// DefaultLanguage is used when the browser has not chosen one.
const DefaultLanguage = "da"

// Static returns the assets served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Strings are the interface texts of one language, key → text.
type Strings map[string]string

// T returns the text of key, or the key itself when it is missing (a
// visible mistake rather than an empty label).
func (s Strings) T(key string) string {
	if v, ok := s[key]; ok {
		return v
	}
	return key
}

// LoadStrings reads every language's texts and checks that each language
// has exactly the keys of the default one.
func LoadStrings() (map[string]Strings, error) {
	out := map[string]Strings{}
	for _, lang := range Languages {
		b, err := files.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: strings %s: %w", lang, err)
		}
		var s Strings
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("web: strings %s: %w", lang, err)
		}
		out[lang] = s
	}
	base := out[DefaultLanguage]
	for _, lang := range Languages {
		var missing []string
		for k := range base {
			if _, ok := out[lang][k]; !ok {
				missing = append(missing, lang+":"+k)
			}
		}
		for k := range out[lang] {
			if _, ok := base[k]; !ok {
				missing = append(missing, DefaultLanguage+":"+k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, fmt.Errorf("web: strings missing: %v", missing)
		}
	}
	return out, nil
}

// Templates parses the page templates. Each page template defines
// "title" and "main" and is rendered through "layout".
func Templates() (map[string]*template.Template, error) {
	layout, err := template.ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := p[len("templates/") : len(p)-len(".html")]
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, fmt.Errorf("web: %s: %w", p, err)
		}
		out[name] = t
	}
	return out, nil
}
