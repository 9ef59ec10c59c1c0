package omstil

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsStayPure keeps the functional core free of I/O
// libraries: queue and staffing import only the standard library,
// callflow only the standard library and the holiday calendar.
func TestCoreImportsStayPure(t *testing.T) {
	allowed := map[string][]string{
		"./queue/...":    nil,
		"./callflow/...": {"github.com/rickar/cal/v2"},
		"./staffing/...": nil,
	}
	for pkg, extra := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/omstil/omstil/queue") || strings.HasPrefix(dep, "github.com/omstil/omstil/callflow") ||
				strings.HasPrefix(dep, "github.com/omstil/omstil/staffing") {
				continue
			}
			ok := false
			for _, e := range extra {
				if strings.HasPrefix(dep, e) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s depends on %s: the core must stay free of I/O libraries", pkg, dep)
			}
		}
	}
}
