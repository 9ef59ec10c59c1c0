package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoctorCommand runs omstil doctor in demo mode (the built-in
// simulator); internal/doctor tests each check, also on a real Asterisk.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "o.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the media check
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	env := map[string]string{"OMSTIL_DB": db, "OMSTIL_LISTEN": listen, "OMSTIL_RTP_PORT_MIN": "42100", "OMSTIL_RTP_PORT_MAX": "42120"}

	code, out, stderr := runCmd(t, env, "", "doctor")
	if code != 1 || !strings.Contains(out, "FAIL  database") || !strings.Contains(out, "no database at") || !strings.Contains(stderr, "checks failed") {
		t.Errorf("without a database: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	code, out, stderr = runCmd(t, env, "", "doctor")
	if code != 0 || !strings.Contains(out, "no check failed") {
		t.Fatalf("demo installation: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"ok    database", "ok    inbound", "ok    channel-variable", "ok    media", "the built-in simulator"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
