package web

import (
	"strings"
	"testing"
	"testing/fstest"
)

// The embedded modules are the section list: sorted by their declared
// order, each with its strings (AdminSections checks them), and helpers
// (resource.js) are not sections. A new section may sit anywhere.
func TestAdminSectionsEmbedded(t *testing.T) {
	secs, err := AdminSections()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, s := range secs {
		names = append(names, s.Name)
		if !strings.HasPrefix(s.API, "/api/v1/") {
			t.Errorf("%s: API path %q", s.Name, s.API)
		}
		if i > 0 && secs[i-1].Order > s.Order {
			t.Errorf("%s (order %d) after %s (order %d)", s.Name, s.Order, secs[i-1].Name, secs[i-1].Order)
		}
	}
	// the sections there were before modules declared themselves, in
	// their old order
	want := []string{"numbers", "flows", "schedules", "queues", "agents", "users", "announcements", "audit"}
	i := 0
	for _, n := range names {
		if n == "resource" {
			t.Errorf("resource.js (a helper) is listed as a section")
		}
		if i < len(want) && n == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("sections %v do not hold %v in that order", names, want)
	}
}

func TestAdminSectionsParse(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		want    string // names in order
		wantErr string
	}{
		{"order then name", map[string]string{
			"a/z.js":        "// admin-section 10 /api/v1/z\nexport function render() {}",
			"a/b.js":        "// admin-section 20 /api/v1/b\n",
			"a/a.js":        "// admin-section 10 /api/v1/a\n",
			"a/helper.js":   "// a helper\n// admin-section 5 /api/v1/x\n",
			"a/notjs.txt":   "// admin-section 1 /api/v1/n\n",
			"a/sub/deep.js": "// admin-section 1 /api/v1/d\n",
		}, "a z b", ""},
		{"no order", map[string]string{"a/x.js": "// admin-section /api/v1/x\n"}, "", "first line must be"},
		{"bad order", map[string]string{"a/x.js": "// admin-section ten /api/v1/x\n"}, "", `order "ten"`},
		{"not an API path", map[string]string{"a/x.js": "// admin-section 1 /admin/x\n"}, "", "first line must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, body := range c.files {
				fsys[p] = &fstest.MapFile{Data: []byte(body)}
			}
			secs, err := adminSections(fsys, "a")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range secs {
				names = append(names, s.Name)
			}
			if got := strings.Join(names, " "); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// A section without its title or introduction in a language is refused.
func TestAdminSectionStrings(t *testing.T) {
	secs := []AdminSection{{Name: "x", Order: 1, API: "/api/v1/x"}}
	full := Strings{"section.x": "X", "section.x.intro": "om X"}
	if err := checkSectionStrings(secs, map[string]Strings{"da": full, "en": full}); err != nil {
		t.Errorf("complete strings refused: %v", err)
	}
	err := checkSectionStrings(secs, map[string]Strings{"da": full, "en": {"section.x": "X"}})
	if err == nil || !strings.Contains(err.Error(), "en:section.x.intro") {
		t.Errorf("missing intro: err %v", err)
	}
}
