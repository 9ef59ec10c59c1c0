package queue

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the engine pure: it may import nothing but
// the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/omstil/omstil/queue" {
			t.Errorf("queue depends on %s; it must use the standard library only", p)
		}
	}
}
