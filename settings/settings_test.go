package settings

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, rest, err := Load("omstil", []string{"serve"}, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:8080" || s.DB != "omstil.db" || s.ARIApp != "omstil" || !s.Demo() || s.PublicURL != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", s)
	}
	if len(rest) != 1 || rest[0] != "serve" {
		t.Fatalf("rest = %v", rest)
	}
	if s.RTPShared {
		t.Error("the shared relay port is on by default")
	}
	for v, want := range map[string]bool{"true": true, "1": true, "false": false, "": false} {
		s, _, err := Load("omstil", nil, envMap(map[string]string{"OMSTIL_RTP_SHARED": v}), io.Discard)
		if err != nil || s.RTPShared != want {
			t.Errorf("OMSTIL_RTP_SHARED=%q: %v, %v; want %v", v, s.RTPShared, err, want)
		}
	}
	if s, _, err := Load("omstil", []string{"--rtp-shared=true"}, envMap(nil), io.Discard); err != nil || !s.RTPShared {
		t.Errorf("--rtp-shared=true: %v, %v", s.RTPShared, err)
	}
	if s.AnnouncementMaxLength() != 10*time.Minute {
		t.Errorf("announcements up to %v by default, want 10 minutes", s.AnnouncementMaxLength())
	}
	if s, _, err := Load("omstil", nil, envMap(map[string]string{"OMSTIL_ANNOUNCEMENT_MAX_SECONDS": "90"}), io.Discard); err != nil || s.AnnouncementMaxLength() != 90*time.Second {
		t.Errorf("OMSTIL_ANNOUNCEMENT_MAX_SECONDS=90: %v, %v", s.AnnouncementMaxLength(), err)
	}
	if s, _, err := Load("omstil", []string{"--announcement-max-seconds=1200"}, envMap(nil), io.Discard); err != nil || s.AnnouncementMaxLength() != 20*time.Minute {
		t.Errorf("--announcement-max-seconds=1200: %v, %v", s.AnnouncementMaxLength(), err)
	}
}

func TestLoadSettingsPrecedenceAndFiles(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	env := envMap(map[string]string{
		"OMSTIL_LISTEN":            "0.0.0.0:9000",
		"OMSTIL_ARI_URL":           "http://asterisk:8088/ari",
		"OMSTIL_ARI_USER":          "omstil",
		"OMSTIL_ARI_PASSWORD_FILE": pwFile,
		"OMSTIL_LOG_FORMAT":        "json",
	})
	s, _, err := Load("omstil", []string{"--listen", "127.0.0.1:7000"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:7000" {
		t.Errorf("flag did not win over env: %q", s.Listen)
	}
	if s.ARIPassword.Reveal() != "s3cret" {
		t.Errorf("password from file = %q", s.ARIPassword.Reveal())
	}
	if s.ARIPassword.String() == "s3cret" || strings.Contains(strings.Join([]string{s.ARIPassword.String()}, ""), "s3cret") {
		t.Error("secret prints itself")
	}
	if s.Demo() {
		t.Error("demo with an ARI URL")
	}
}

func TestLoadSettingsErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"OMSTIL_DB":                                    {"OMSTIL_DB": "mysql://db/omstil"},
		"OMSTIL_LOG_FORMAT":                            {"OMSTIL_LOG_FORMAT": "xml"},
		"OMSTIL_LOG_LEVEL":                             {"OMSTIL_LOG_LEVEL": "loud"},
		"OMSTIL_LISTEN":                                {"OMSTIL_LISTEN": "8080"},
		"OMSTIL_ARI_URL":                               {"OMSTIL_ARI_URL": "asterisk:8088", "OMSTIL_ARI_USER": "x"},
		"OMSTIL_ARI_USER":                              {"OMSTIL_ARI_URL": "http://a:8088/ari"},
		"OMSTIL_RTP_PORT":                              {"OMSTIL_RTP_PORT_MIN": "30000", "OMSTIL_RTP_PORT_MAX": "20000"},
		"OMSTIL_RTP_PORT_MI":                           {"OMSTIL_RTP_PORT_MIN": "lots"},
		"OMSTIL_RTP_SHARED":                            {"OMSTIL_RTP_SHARED": "sometimes"},
		"OMSTIL_ICE_SERVERS":                           {"OMSTIL_ICE_SERVERS": "http://stun.example"},
		"OMSTIL_DEMO_CALLS":                            {"OMSTIL_DEMO_CALLS_PER_MINUTE": "6abc"},
		"OMSTIL_ANNOUNCEMENT_MAX_SECONDS: \"ten\"":     {"OMSTIL_ANNOUNCEMENT_MAX_SECONDS": "ten"},
		"OMSTIL_ANNOUNCEMENT_MAX_SECONDS: 0 is not":    {"OMSTIL_ANNOUNCEMENT_MAX_SECONDS": "0"},
		"OMSTIL_ANNOUNCEMENT_MAX_SECONDS: 3601 is not": {"OMSTIL_ANNOUNCEMENT_MAX_SECONDS": "3601"},
		"_FILE":       {"OMSTIL_ARI_PASSWORD_FILE": "/nonexistent/pw"},
		"postgres://": {"OMSTIL_DB": "postgres://localhost"},
	}
	for want, env := range cases {
		t.Run(want, func(t *testing.T) {
			_, _, err := Load("omstil", nil, envMap(env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(want, "postgres://")) {
				t.Fatalf("got %v, want an error naming %s", err, want)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value, want, err string
	}{
		{"", "[]", ""},
		{"10.0.0.0/8", "[10.0.0.0/8]", ""},
		{" 10.0.0.0/8 , 2001:db8::/32,192.0.2.7", "[10.0.0.0/8 2001:db8::/32 192.0.2.7/32]", ""},
		{"10.0.0.1/8", "", `OMSTIL_TRUSTED_PROXIES: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?`},
		{"10.0.0.0/8,proxy.example", "", `OMSTIL_TRUSTED_PROXIES: "proxy.example" is not an address or CIDR range`},
		{"10.0.0.0/33", "", `OMSTIL_TRUSTED_PROXIES: "10.0.0.0/33" is not an address or CIDR range`},
		{"10.0.0.0/8,,", "", `OMSTIL_TRUSTED_PROXIES: "" is not an address or CIDR range`},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			s, _, err := Load("omstil", nil, envMap(map[string]string{"OMSTIL_TRUSTED_PROXIES": c.value}), io.Discard)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(s.TrustedProxies); got != c.want {
				t.Fatalf("TrustedProxies = %s, want %s", got, c.want)
			}
		})
	}
	s, _, err := Load("omstil", []string{"--trusted-proxies", "127.0.0.1"}, envMap(nil), io.Discard)
	if err != nil || fmt.Sprint(s.TrustedProxies) != "[127.0.0.1/32]" {
		t.Fatalf("flag: %v %v", s.TrustedProxies, err)
	}
}

func TestOIDCSettings(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("oidc secret\n"), 0o600)
	good := map[string]string{"OMSTIL_OIDC_ISSUER": "https://login.kommune.dk/realms/omstil", "OMSTIL_OIDC_CLIENT_ID": "omstil",
		"OMSTIL_OIDC_CLIENT_SECRET_FILE": secret, "OMSTIL_OIDC_ROLE_MAP": "omstil-admins=admin,*=agent"}
	s, _, err := Load("omstil", nil, envMap(good), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !s.OIDC() || s.OIDCClientSecret.Reveal() != "oidc secret" || s.OIDCRoleClaim != "groups" || strings.Contains(s.OIDCClientSecret.String(), "oidc") {
		t.Errorf("settings: %+v", s)
	}
	if s, _, _ := Load("omstil", nil, envMap(nil), io.Discard); s.OIDC() {
		t.Error("OIDC on without an issuer")
	}
	for key, want := range map[string]string{
		"OMSTIL_OIDC_ISSUER":    "OMSTIL_OIDC_ISSUER",
		"OMSTIL_OIDC_CLIENT_ID": "OMSTIL_OIDC_CLIENT_ID",
		"OMSTIL_OIDC_ROLE_MAP":  "OMSTIL_OIDC_ROLE_MAP",
	} {
		bad := map[string]string{}
		for k, v := range good {
			bad[k] = v
		}
		bad[key] = ""
		if key == "OMSTIL_OIDC_ISSUER" {
			bad[key] = "login.kommune.dk"
		}
		if _, _, err := Load("omstil", nil, envMap(bad), io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s bad: error %v, want one naming %s", key, err, want)
		}
	}
}

func TestMicrophoneWarning(t *testing.T) {
	for url, blocked := range map[string]bool{
		"http://127.0.0.1:8080":      false,
		"http://localhost:8080":      false,
		"http://[::1]:8080":          false,
		"https://omstil.kommune.dk":  false,
		"http://omstil.kommune.dk":   true,
		"http://10.20.0.5:8080":      true,
		"http://omstil.localhost:80": false,
	} {
		s := Settings{PublicURL: url}
		if got := s.MicrophoneBlocked(); got != blocked {
			t.Errorf("%s: blocked %v, want %v", url, got, blocked)
		}
	}
}

func TestEventBacklogSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		env       map[string]string
		memory    int
		spillPath string
		err       string
	}{
		{"defaults on SQLite: next to the database", nil, 100000, "omstil.db.call-events.jsonl", ""},
		{"SQLite in a directory with options", map[string]string{"OMSTIL_DB": "file:/var/lib/omstil/omstil.db?_pragma=x"}, 100000, "/var/lib/omstil/omstil.db.call-events.jsonl", ""},
		{"PostgreSQL: the working directory", map[string]string{"OMSTIL_DB": "postgres://u:p@db:5432/omstil"}, 100000, "omstil-call-events.jsonl", ""},
		{"set", map[string]string{"OMSTIL_EVENT_BACKLOG_MEMORY": "5000", "OMSTIL_EVENT_SPILL_FILE": "/var/spool/omstil/events.jsonl"}, 5000, "/var/spool/omstil/events.jsonl", ""},
		{"not a number", map[string]string{"OMSTIL_EVENT_BACKLOG_MEMORY": "lots"}, 0, "", `OMSTIL_EVENT_BACKLOG_MEMORY: "lots" is not a whole number`},
		{"zero", map[string]string{"OMSTIL_EVENT_BACKLOG_MEMORY": "0"}, 0, "", "OMSTIL_EVENT_BACKLOG_MEMORY: 0 is not between 1 and 10000000"},
		{"too many", map[string]string{"OMSTIL_EVENT_BACKLOG_MEMORY": "10000001"}, 0, "", "OMSTIL_EVENT_BACKLOG_MEMORY: 10000001 is not between 1 and 10000000"},
		{"a directory", map[string]string{"OMSTIL_EVENT_SPILL_FILE": "/var/spool/omstil/"}, 0, "", `OMSTIL_EVENT_SPILL_FILE: "/var/spool/omstil/" is a directory; name a file in it`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _, err := Load("omstil", nil, envMap(c.env), io.Discard)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.EventBacklogMemory != c.memory || s.EventSpillPath() != c.spillPath {
				t.Fatalf("memory %d, spill file %q; want %d, %q", s.EventBacklogMemory, s.EventSpillPath(), c.memory, c.spillPath)
			}
		})
	}
	if s, _, err := Load("omstil", []string{"--event-backlog-memory=7", "--event-spill-file=x.jsonl"}, envMap(nil), io.Discard); err != nil || s.EventBacklogMemory != 7 || s.EventSpillPath() != "x.jsonl" {
		t.Fatalf("flags: %d %q %v", s.EventBacklogMemory, s.EventSpillPath(), err)
	}
}
