package config

import (
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	got := redactDSN("postgres://u:topsecret@h/db")
	if strings.Contains(got, "topsecret") {
		t.Fatal(got)
	}
}
