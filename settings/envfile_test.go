package settings

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// envFile is the example settings file the Debian package installs as
// /etc/omstil/omstil.env.
const envFile = "../deploy/systemd/omstil.env"

// knownSetting tells whether name is a setting's variable, or the _FILE
// variant of a secret's.
func knownSetting(name string) bool {
	for _, d := range settingDefs {
		if name == d.env || (d.secret && name == d.env+"_FILE") {
			return true
		}
	}
	return false
}

// TestEnvFileNamesRealSettings: every variable the example env file
// names, set or commented out, is a setting omstil reads; the lines that
// are set load as valid settings, with the database in the service's
// state directory; and the commented-out examples are valid values too.
func TestEnvFileNamesRealSettings(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`OMSTIL_[A-Z0-9_]+`).FindAllString(string(b), -1) {
		if !knownSetting(name) {
			t.Errorf("%s names %s, which is not a setting", envFile, name)
		}
	}
	set, examples := map[string]string{}, map[string]string{}
	line := regexp.MustCompile(`^(#?)(OMSTIL_[A-Z0-9_]+)=(.*)$`)
	for _, l := range strings.Split(string(b), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] == "" {
			set[m[2]] = m[3]
		}
		if !strings.HasSuffix(m[2], "_FILE") { // the files do not exist here
			examples[m[2]] = m[3]
		}
	}
	s, _, err := Load("omstil", nil, envMap(set), io.Discard)
	if err != nil {
		t.Fatalf("the settings set in %s: %v", envFile, err)
	}
	if s.DB != "/var/lib/omstil/omstil.db" {
		t.Errorf("OMSTIL_DB = %q; want the database in the state directory /var/lib/omstil", s.DB)
	}
	if _, _, err := Load("omstil", nil, envMap(examples), io.Discard); err != nil {
		t.Errorf("the examples in %s: %v", envFile, err)
	}
}
