package softphone

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	turn := ICEServer{URLs: []string{"turn:turn.example.dk:3478"}, Username: "u", Credential: "p"}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"zero value uses defaults", Config{}, nil},
		{"loopback test config", Config{PortMin: 30000, PortMax: 30010, LoopbackOnly: true}, nil},
		{"stun and turn", Config{ICEServers: []ICEServer{{URLs: []string{"stun:stun.example.dk:3478"}}, turn}}, nil},
		{"public IP", Config{PublicIP: "203.0.113.7", RelayHost: "10.0.0.5"}, nil},
		{"ICE range apart", Config{PortMin: 40000, PortMax: 40100, ICEPortMin: 50000, ICEPortMax: 50100}, nil},
		{"min above max", Config{PortMin: 30010, PortMax: 30000}, []string{"relay port range", "min is above max"}},
		{"only max", Config{PortMax: 30000}, []string{"0-30000 must lie within"}},
		{"port too high", Config{PortMin: 65000, PortMax: 70000}, []string{"within 1-65535"}},
		{"ICE overlaps relay", Config{PortMin: 40000, PortMax: 40100, ICEPortMin: 40050, ICEPortMax: 40200}, []string{"overlaps"}},
		{"bad scheme", Config{ICEServers: []ICEServer{{URLs: []string{"http://x"}}}}, []string{"must start with stun:"}},
		{"turn without creds", Config{ICEServers: []ICEServer{{URLs: []string{"turn:x:3478"}}}}, []string{"needs a username and a credential"}},
		{"no URL", Config{ICEServers: []ICEServer{{}}}, []string{"has no URL"}},
		{"public IP not IP", Config{PublicIP: "omstil.example.dk"}, []string{"PublicIP", "not an IP"}},
		{"public IP loopback", Config{PublicIP: "127.0.0.1"}, []string{"routable"}},
		{"public IP with loopback only", Config{PublicIP: "203.0.113.7", LoopbackOnly: true}, []string{"cannot both"}},
		{"relay host name", Config{RelayHost: "localhost"}, []string{"RelayHost", "not an IP"}},
		{"relay host wildcard", Config{RelayHost: "0.0.0.0"}, []string{"wildcard"}},
		{"relay host not loopback in loopback mode", Config{RelayHost: "10.0.0.5", LoopbackOnly: true}, []string{"loopback address"}},
		{"several at once", Config{PortMin: 5, PortMax: 1, RelayHost: "x"}, []string{"min is above max", "RelayHost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.PortMin != DefaultPortMin || c.PortMax != DefaultPortMax || c.RelayHost != DefaultRelayHost {
		t.Errorf("withDefaults() = %+v", c)
	}
	if _, err := New(Config{PortMin: 2, PortMax: 1}, nil); err == nil {
		t.Error("New accepted an invalid config")
	}
}
