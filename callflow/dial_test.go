package callflow

import (
	"errors"
	"strings"
	"testing"
)

// guld is Guldborgsund's policy in the tests: its desk phones, its trunk
// and one dialplan context of its own.
var guld = DialPolicy{
	Endpoints:     []string{"PJSIP/guld-*", "pjsip/*@guld-trunk"},
	Trunk:         "PJSIP/{number}@guld-trunk",
	LocalContexts: []string{"guld-agents", "guld-test-*"},
}

// upgrade is what an upgraded single-organisation installation's default
// organisation gets (config's migration 00007).
var upgrade = DialPolicy{
	Endpoints:         []string{"PJSIP/*", "PJSIP/*@*", "SIP/*", "SIP/*@*", "IAX2/*", "IAX2/*@*", "DAHDI/*", "DAHDI/*/*"},
	InstallationTrunk: true,
	LocalContexts:     []string{"*"},
}

func TestDialPolicyCheck(t *testing.T) {
	tests := []struct {
		name   string
		policy DialPolicy
		dest   string
		want   string // "" allowed; else a substring of the refusal
	}{
		{"own desk phone", guld, "PJSIP/guld-1001", ""},
		{"tech in any case", guld, "pjsip/guld-1001", ""},
		{"number through the trunk", guld, "+4512345678", ""},
		{"national number with spaces", guld, "12 34 56 78", ""},
		{"00 prefix", guld, "004512345678", ""},
		{"own trunk by dial string", guld, "PJSIP/+4512345678@guld-trunk", ""},
		{"own Local context", guld, "Local/1001@guld-agents", ""},
		{"Local context by pattern", guld, "Local/1001@guld-test-agents", ""},
		{"other municipality's desk phone", guld, "PJSIP/faxe-1001", "not an endpoint this organisation may dial"},
		{"own prefix through another trunk", guld, "PJSIP/guld-1@faxe-trunk", "not an endpoint"},
		{"own prefix with a contact URI", guld, "PJSIP/guld-1/x@evil", "not an endpoint"},
		{"another trunk", guld, "PJSIP/+4512345678@faxe-trunk", "not an endpoint"},
		{"omstil's inbound context", guld, "Local/1000@omstil-inbound", `context "omstil-inbound" is not one`},
		{"Local with options", guld, "Local/1001@guld-agents/n", "without options"},
		{"Local without context", guld, "Local/1001", "Local/exten@context"},
		{"Console", guld, "Console/dsp", "not an endpoint"},
		{"DAHDI", guld, "DAHDI/g1/12345678", "not an endpoint"},
		{"IAX2", guld, "IAX2/guld-1001", "not an endpoint"},
		{"comma option", guld, "PJSIP/guld-1001,30,tT", "no options"},
		{"ampersand: a second destination", guld, "PJSIP/guld-1001&PJSIP/faxe-1", "no options"},
		{"brackets", guld, "PJSIP/guld-(1)", "no options"},
		{"caret", guld, "PJSIP/guld-1^x", "no options"},
		{"variable", guld, "PJSIP/guld-${EXTEN}", "no options"},
		{"space", guld, "PJSIP/guld- 1", "no options"},
		{"empty", guld, "", "TECH/resource"},
		{"no tech", guld, "/guld-1", "TECH/resource"},
		{"words", guld, "ring til Karen", "TECH/resource"},
		{"empty policy: number", DialPolicy{}, "+4512345678", "phone numbers need a trunk, and none is set"},
		{"empty policy: endpoint", DialPolicy{}, "PJSIP/1001", "may dial nothing yet"},
		{"empty policy: Local", DialPolicy{}, "Local/1@omstil-test-agents", "may dial nothing yet"},
		{"installation trunk: number", DialPolicy{InstallationTrunk: true}, "+4512345678", ""},
		{"upgrade policy", upgrade, "PJSIP/+4512345678@trunk", ""},
		{"upgrade policy: Local", upgrade, "Local/1001@omstil-test-agents", ""},
		{"upgrade policy: Console", upgrade, "Console/dsp", "not an endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.dest)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want allowed", tt.dest, err)
				}
				return
			}
			var de *DialError
			if !errors.As(err, &de) {
				t.Fatalf("Check(%q) = %v, want a *DialError with %q", tt.dest, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "may dial") {
				t.Errorf("Check(%q) = %q, want it to contain %q and say what may be dialled", tt.dest, err, tt.want)
			}
		})
	}
}

func TestDialPolicyDial(t *testing.T) {
	tests := []struct {
		name         string
		policy       DialPolicy
		dest, instal string
		want         string // "" refused
	}{
		{"number through own trunk", guld, "+45 12 34 56 78", "PJSIP/{number}@trunk", "PJSIP/+4512345678@guld-trunk"},
		{"00 becomes +", guld, "004512345678", "", "PJSIP/+4512345678@guld-trunk"},
		{"installation trunk", DialPolicy{InstallationTrunk: true}, "12345678", "PJSIP/{number}@trunk", "PJSIP/12345678@trunk"},
		{"own trunk wins", DialPolicy{Trunk: "PJSIP/{number}@a", InstallationTrunk: true}, "12345678", "PJSIP/{number}@b", "PJSIP/12345678@a"},
		{"installation trunk not configured", DialPolicy{InstallationTrunk: true}, "12345678", "", ""},
		{"no trunk", DialPolicy{Endpoints: []string{"PJSIP/*"}}, "12345678", "PJSIP/{number}@trunk", ""},
		{"endpoint as is", guld, "PJSIP/guld-7", "", "PJSIP/guld-7"},
		{"endpoint outside", guld, "PJSIP/faxe-7", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Dial(tt.dest, tt.instal)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Dial(%q) = %q, want refused", tt.dest, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Dial(%q) = %q, %v; want %q", tt.dest, got, err, tt.want)
			}
		})
	}
}

func TestDialPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy DialPolicy
		want   string // "" valid
	}{
		{"guld", guld, ""},
		{"upgrade", upgrade, ""},
		{"empty", DialPolicy{}, ""},
		{"trunk without number", DialPolicy{Trunk: "PJSIP/guld-trunk"}, "{number}"},
		{"trunk twice number", DialPolicy{Trunk: "PJSIP/{number}@{number}"}, "{number}"},
		{"trunk with options", DialPolicy{Trunk: "PJSIP/{number}@t,30"}, "no options"},
		{"Local endpoint pattern", DialPolicy{Endpoints: []string{"Local/*@x"}}, "local_contexts"},
		{"no tech", DialPolicy{Endpoints: []string{"guld-*"}}, "TECH/resource"},
		{"pattern with option", DialPolicy{Endpoints: []string{"PJSIP/guld-*,tT"}}, "no options"},
		{"context with @", DialPolicy{LocalContexts: []string{"a@b"}}, "context name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"guld-*", "guld-1001", true},
		{"guld-*", "guld-", true},
		{"guld-*", "faxe-1", false},
		{"guld-*", "guld-1@x", false},
		{"guld-*", "guld-1/x", false},
		{"*@guld-trunk", "+4512@guld-trunk", true},
		{"*@guld-trunk", "a@b@guld-trunk", false},
		{"10??", "1001", true},
		{"10??", "100", false},
		{"10??", "10@1", false},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestValidateTransferAgainstPolicy(t *testing.T) {
	tests := []struct {
		name string
		dial *DialPolicy
		dest string
		want Code // "" valid
	}{
		{"no policy known: form only", nil, "PJSIP/faxe-1000", ""},
		{"inside", &guld, "PJSIP/guld-1000", ""},
		{"number with a trunk", &guld, "+4512345678", ""},
		{"another municipality's phone", &guld, "PJSIP/faxe-1000", CodeNotAllowed},
		{"omstil-inbound", &guld, "Local/1000@omstil-inbound", CodeNotAllowed},
		{"Console", &guld, "Console/dsp", CodeNotAllowed},
		{"number without trunk", &DialPolicy{}, "+4512345678", CodeNotAllowed},
		{"malformed stays bad-value", &guld, "PJSIP/10 00", CodeBadValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlow()
			f.step("omstilling").Transfer.Destination = tt.dest
			refs := testRefs()
			refs.Dial = tt.dial
			err := f.Validate(refs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("Validate = %v, want one problem", err)
			}
			p := ve.Problems[0]
			if p.Code != tt.want || p.Field != "transfer.destination" || p.Step != "omstilling" {
				t.Errorf("problem = %+v, want %s on omstilling transfer.destination", p, tt.want)
			}
		})
	}
}
