package agente2e

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// netnsEnv marks the test process that runs inside its own network
// namespace; "off" disables the re-exec.
const netnsEnv = "OMSTIL_E2E_NETNS"

// TestMain re-runs the tests inside a fresh network namespace that has
// only a loopback interface (unshare -n, as root, which CI is), so neither
// Chromium nor pion can use any other interface. Where that is not
// possible the tests run here and rely on the loopback-only settings of
// both sides (softphone.Config.LoopbackOnly, Chromium's
// --allow-loopback-in-peer-connection).
func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" && os.Geteuid() == 0 {
		if _, err := exec.LookPath("unshare"); err == nil && exec.Command("unshare", "-n", "true").Run() == nil {
			args := append([]string{"-n", "sh", "-c", `ip link set lo up && exec "$@"`, "sh"}, os.Args...)
			cmd := exec.Command("unshare", args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			cmd.Env = append(os.Environ(), netnsEnv+"=inside")
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "agente2e: run in a network namespace: %v\n", err)
				os.Exit(1)
			}
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "agente2e: no network namespace (unshare -n not possible); running on the host's loopback")
	}
	os.Exit(m.Run())
}
