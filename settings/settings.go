// Package settings reads omstil's start-up settings from flags and the
// environment (OMSTIL_*) and validates them. What an installation changes
// while it runs (queues, agents, flows, ...) is in the configuration store,
// package config.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/leader"
)

// Settings is omstil's whole configuration, read once at start from flags
// and the environment (a flag wins over its variable). Every field is
// validated by Validate before anything is started.
type Settings struct {
	Listen    string // OMSTIL_LISTEN
	DB        string // OMSTIL_DB: a SQLite path or a postgres:// URL
	PublicURL string // OMSTIL_PUBLIC_URL: how browsers reach omstil
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// Forwarded headers name the client (OMSTIL_TRUSTED_PROXIES: a
	// comma-separated list of CIDR ranges or addresses); empty: the peer
	// is the client.
	TrustedProxies []netip.Prefix
	// TLS: omstil serves HTTPS itself with this certificate and key (PEM
	// files, read again when they change); empty: plain HTTP, e.g. behind
	// a reverse proxy that terminates TLS.
	TLSCertFile string // OMSTIL_TLS_CERT_FILE
	TLSKeyFile  string // OMSTIL_TLS_KEY_FILE
	// HTTPRedirectListen is a plain-HTTP address that redirects every
	// request to the public URL (OMSTIL_HTTP_REDIRECT_LISTEN, e.g. :80);
	// empty: none.
	HTTPRedirectListen string

	ARIURL      string // OMSTIL_ARI_URL; empty means: start the built-in simulator (demo)
	ARIUser     string // OMSTIL_ARI_USER
	ARIPassword Secret // OMSTIL_ARI_PASSWORD or OMSTIL_ARI_PASSWORD_FILE
	ARIApp      string // OMSTIL_ARI_APP
	// ARIREST is how REST calls reach Asterisk (OMSTIL_ARI_REST): "http",
	// "websocket" (on the event socket: Asterisk 20.12/21.7/22.2+) or
	// "auto" (the socket when Asterisk is new enough).
	ARIREST string

	AdminPassword Secret // OMSTIL_ADMIN_PASSWORD(_FILE): first start only

	LogFormat string // OMSTIL_LOG_FORMAT: text | json
	LogLevel  string // OMSTIL_LOG_LEVEL: debug | info | warn | error

	// Softphone media relay (the WebRTC bridge).
	RTPPortMin int    // OMSTIL_RTP_PORT_MIN
	RTPPortMax int    // OMSTIL_RTP_PORT_MAX
	RTPHost    string // OMSTIL_RTP_HOST: the address Asterisk sends RTP to
	RTPShared  bool   // OMSTIL_RTP_SHARED: one relay port (OMSTIL_RTP_PORT_MIN) for every call
	ICEServers string // OMSTIL_ICE_SERVERS: comma-separated stun:/turn: URLs
	PublicIP   string // OMSTIL_PUBLIC_IP: 1:1 NAT address announced to browsers

	// MediaURL is the base URL Asterisk uses to fetch prompts and
	// announcements from omstil (OMSTIL_MEDIA_URL; default PublicURL).
	MediaURL string
	// CallbackEndpoint is the dial string template for callbacks and
	// transfers to numbers; {number} is replaced (OMSTIL_CALLBACK_ENDPOINT).
	CallbackEndpoint string

	// AnnouncementMaxSeconds is the longest announcement an upload may
	// hold (OMSTIL_ANNOUNCEMENT_MAX_SECONDS, 1–3600).
	AnnouncementMaxSeconds int

	// The call-event log's backlog while the database does not answer:
	// EventBacklogMemory events in memory (OMSTIL_EVENT_BACKLOG_MEMORY),
	// the newer ones in the spill file EventSpillFile
	// (OMSTIL_EVENT_SPILL_FILE; empty: EventSpillPath's default).
	EventBacklogMemory int
	EventSpillFile     string
	// LeaderTakeover bounds, on PostgreSQL, the time from the leader's
	// death to a standby handling the calls (OMSTIL_LEADER_TAKEOVER,
	// 1 s–60 s).
	LeaderTakeover time.Duration
	// AdvertiseURL is how the other omstil nodes reach this one
	// (OMSTIL_ADVERTISE_URL; PostgreSQL only): a standby passes requests
	// to the leader there. Empty: http:// and the listen address, with
	// the host's name when it listens on every interface.
	AdvertiseURL string

	// Demo mode (only when no ARI URL is set).
	DemoCallsPerMinute float64 // OMSTIL_DEMO_CALLS_PER_MINUTE

	// Login through an OpenID Connect provider (off when OIDCIssuer is
	// empty). The redirect URL registered at the provider is
	// PublicURL + "/auth/oidc/callback".
	OIDCIssuer       string // OMSTIL_OIDC_ISSUER
	OIDCClientID     string // OMSTIL_OIDC_CLIENT_ID
	OIDCClientSecret Secret // OMSTIL_OIDC_CLIENT_SECRET or OMSTIL_OIDC_CLIENT_SECRET_FILE
	OIDCRoleClaim    string // OMSTIL_OIDC_ROLE_CLAIM, e.g. "groups"
	OIDCRoleMap      string // OMSTIL_OIDC_ROLE_MAP, e.g. "omstil-admins=admin,*=agent" (see config.ParseOIDCRoleMap)
}

// AnnouncementMaxLength is AnnouncementMaxSeconds as a duration.
func (s Settings) AnnouncementMaxLength() time.Duration {
	return time.Duration(s.AnnouncementMaxSeconds) * time.Second
}

// EventSpillPath is the call-event log's spill file: EventSpillFile, or
// by default next to the SQLite database (its path +
// ".call-events.jsonl"), or omstil-call-events.jsonl in the working
// directory on PostgreSQL.
func (s Settings) EventSpillPath() string {
	if s.EventSpillFile != "" {
		return s.EventSpillFile
	}
	if s.IsPostgres() {
		return "omstil-call-events.jsonl"
	}
	db, _, _ := strings.Cut(strings.TrimPrefix(s.DB, "file:"), "?")
	return db + ".call-events.jsonl"
}

// OIDC tells whether login through OpenID Connect is configured.
func (s Settings) OIDC() bool { return s.OIDCIssuer != "" }

func (s Settings) validateOIDC() []error {
	if !s.OIDC() {
		return nil
	}
	var errs []error
	if u, err := url.Parse(s.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OMSTIL_OIDC_ISSUER: %q is not an http(s) URL", s.OIDCIssuer))
	}
	if s.OIDCClientID == "" {
		errs = append(errs, errors.New("OMSTIL_OIDC_CLIENT_ID: required when OMSTIL_OIDC_ISSUER is set"))
	}
	if s.OIDCRoleClaim == "" {
		errs = append(errs, errors.New("OMSTIL_OIDC_ROLE_CLAIM: required when OMSTIL_OIDC_ISSUER is set, e.g. groups"))
	}
	if _, err := config.ParseOIDCRoleMap(s.OIDCRoleMap); err != nil {
		errs = append(errs, fmt.Errorf("OMSTIL_OIDC_ROLE_MAP: %w", err))
	}
	return errs
}

// Secret is a string that never prints itself, so that a settings struct
// can be logged without leaking passwords.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "********"
}

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret's value; call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// IsPostgres tells whether DB names a PostgreSQL database.
func (s Settings) IsPostgres() bool { return config.IsPostgresDSN(s.DB) }

// TLS tells whether omstil serves HTTPS itself.
func (s Settings) TLS() bool { return s.TLSCertFile != "" }

// ListenURL is the URL of the listen address itself: https:// when omstil
// serves TLS. It is the public URL when none is set.
func (s Settings) ListenURL() string {
	if s.TLS() {
		return "https://" + s.Listen
	}
	return "http://" + s.Listen
}

// MicrophoneBlocked tells whether browsers reach omstil over plain HTTP on
// an address that is not the machine itself: Chrome then gives the
// softphone no microphone (getUserMedia needs a secure context).
func (s Settings) MicrophoneBlocked() bool {
	u, err := url.Parse(s.PublicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return false
	}
	a, err := netip.ParseAddr(h)
	return err != nil || !a.IsLoopback()
}

// SecureCookies tells whether session cookies must carry the Secure flag.
func (s Settings) SecureCookies() bool { return strings.HasPrefix(s.PublicURL, "https://") }

// Demo tells whether omstil runs on its built-in ARI simulator.
func (s Settings) Demo() bool { return s.ARIURL == "" }

// settingDef describes one setting: its flag, its variable, its default.
type settingDef struct {
	flag, env, def, usage string
	secret                bool // also read ENV_FILE
	set                   func(*Settings, string) error
}

func stringSetter(f func(*Settings) *string) func(*Settings, string) error {
	return func(s *Settings, v string) error { *f(s) = v; return nil }
}

func secretSetter(f func(*Settings) *Secret) func(*Settings, string) error {
	return func(s *Settings, v string) error { *f(s) = Secret(v); return nil }
}

// parsedSetter sets a field from v parsed by parse; empty is the zero
// value. want says what v must be, in the error.
func parsedSetter[T any](name, want string, parse func(string) (T, error), f func(*Settings) *T) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		if v == "" {
			var zero T
			*f(s) = zero
			return nil
		}
		x, err := parse(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not %s", name, v, want)
		}
		*f(s) = x
		return nil
	}
}

func boolSetter(name string, f func(*Settings) *bool) func(*Settings, string) error {
	return parsedSetter(name, "true or false", strconv.ParseBool, f)
}

func intSetter(name string, f func(*Settings) *int) func(*Settings, string) error {
	return parsedSetter(name, "a whole number", strconv.Atoi, f)
}

var settingDefs = []settingDef{
	{"listen", "OMSTIL_LISTEN", "127.0.0.1:8080", "address the HTTP server listens on", false,
		stringSetter(func(s *Settings) *string { return &s.Listen })},
	{"db", "OMSTIL_DB", "omstil.db", "SQLite file path or postgres:// URL", false,
		stringSetter(func(s *Settings) *string { return &s.DB })},
	{"public-url", "OMSTIL_PUBLIC_URL", "", "URL browsers use to reach omstil (default http://LISTEN)", false,
		stringSetter(func(s *Settings) *string { return &s.PublicURL })},
	{"trusted-proxies", "OMSTIL_TRUSTED_PROXIES", "", "comma-separated CIDR ranges of reverse proxies whose X-Forwarded-For/Forwarded headers name the client", false,
		func(s *Settings, v string) error {
			p, err := ParseTrustedProxies(v)
			if err != nil {
				return fmt.Errorf("OMSTIL_TRUSTED_PROXIES: %w", err)
			}
			s.TrustedProxies = p
			return nil
		}},
	{"tls-cert-file", "OMSTIL_TLS_CERT_FILE", "", "PEM certificate (with its chain) to serve HTTPS with; read again when it changes (empty: plain HTTP)", false,
		stringSetter(func(s *Settings) *string { return &s.TLSCertFile })},
	{"tls-key-file", "OMSTIL_TLS_KEY_FILE", "", "PEM private key of OMSTIL_TLS_CERT_FILE", false,
		stringSetter(func(s *Settings) *string { return &s.TLSKeyFile })},
	{"http-redirect-listen", "OMSTIL_HTTP_REDIRECT_LISTEN", "", "plain-HTTP address that redirects to the public URL, e.g. :80 (empty: none)", false,
		stringSetter(func(s *Settings) *string { return &s.HTTPRedirectListen })},
	{"ari-url", "OMSTIL_ARI_URL", "", "Asterisk ARI base URL, e.g. http://127.0.0.1:8088/ari (empty: built-in simulator, demo mode)", false,
		stringSetter(func(s *Settings) *string { return &s.ARIURL })},
	{"ari-user", "OMSTIL_ARI_USER", "", "ARI user", false,
		stringSetter(func(s *Settings) *string { return &s.ARIUser })},
	{"ari-password", "OMSTIL_ARI_PASSWORD", "", "ARI password (prefer OMSTIL_ARI_PASSWORD_FILE)", true,
		secretSetter(func(s *Settings) *Secret { return &s.ARIPassword })},
	{"ari-app", "OMSTIL_ARI_APP", "omstil", "name of the Stasis application", false,
		stringSetter(func(s *Settings) *string { return &s.ARIApp })},
	{"ari-rest", "OMSTIL_ARI_REST", "auto", "how REST calls reach Asterisk: http, websocket (on the event socket, Asterisk 20.12/21.7/22.2+) or auto", false,
		stringSetter(func(s *Settings) *string { return &s.ARIREST })},
	{"admin-password", "OMSTIL_ADMIN_PASSWORD", "", "password of the first admin, used only when no admin exists", true,
		secretSetter(func(s *Settings) *Secret { return &s.AdminPassword })},
	{"log-format", "OMSTIL_LOG_FORMAT", "text", "log format: text or json", false,
		stringSetter(func(s *Settings) *string { return &s.LogFormat })},
	{"log-level", "OMSTIL_LOG_LEVEL", "info", "log level: debug, info, warn or error", false,
		stringSetter(func(s *Settings) *string { return &s.LogLevel })},
	{"rtp-port-min", "OMSTIL_RTP_PORT_MIN", "40000", "lowest UDP port of the softphone relay", false,
		intSetter("OMSTIL_RTP_PORT_MIN", func(s *Settings) *int { return &s.RTPPortMin })},
	{"rtp-port-max", "OMSTIL_RTP_PORT_MAX", "44999", "highest UDP port of the softphone relay", false,
		intSetter("OMSTIL_RTP_PORT_MAX", func(s *Settings) *int { return &s.RTPPortMax })},
	{"rtp-host", "OMSTIL_RTP_HOST", "127.0.0.1", "address Asterisk sends softphone RTP to", false,
		stringSetter(func(s *Settings) *string { return &s.RTPHost })},
	{"rtp-shared", "OMSTIL_RTP_SHARED", "false", "relay every browser call's audio through one UDP port (OMSTIL_RTP_PORT_MIN), in batches; needs no NAT between Asterisk and omstil", false,
		boolSetter("OMSTIL_RTP_SHARED", func(s *Settings) *bool { return &s.RTPShared })},
	{"ice-servers", "OMSTIL_ICE_SERVERS", "", "comma-separated STUN/TURN URLs for browsers behind NAT", false,
		stringSetter(func(s *Settings) *string { return &s.ICEServers })},
	{"public-ip", "OMSTIL_PUBLIC_IP", "", "public address announced to browsers (1:1 NAT)", false,
		stringSetter(func(s *Settings) *string { return &s.PublicIP })},
	{"media-url", "OMSTIL_MEDIA_URL", "", "base URL Asterisk fetches prompts and announcements from (default the public URL)", false,
		stringSetter(func(s *Settings) *string { return &s.MediaURL })},
	{"callback-endpoint", "OMSTIL_CALLBACK_ENDPOINT", "PJSIP/{number}@trunk", "dial string for callbacks and transfers to numbers; {number} is replaced", false,
		stringSetter(func(s *Settings) *string { return &s.CallbackEndpoint })},
	{"announcement-max-seconds", "OMSTIL_ANNOUNCEMENT_MAX_SECONDS", "600", "longest announcement an upload may hold, in seconds (1-3600); a longer one is refused", false,
		intSetter("OMSTIL_ANNOUNCEMENT_MAX_SECONDS", func(s *Settings) *int { return &s.AnnouncementMaxSeconds })},
	{"event-backlog-memory", "OMSTIL_EVENT_BACKLOG_MEMORY", "100000", "call events kept in memory while the database does not answer (1-10000000); newer ones go to the spill file", false,
		intSetter("OMSTIL_EVENT_BACKLOG_MEMORY", func(s *Settings) *int { return &s.EventBacklogMemory })},
	{"event-spill-file", "OMSTIL_EVENT_SPILL_FILE", "", "file the call events beyond the memory backlog wait in while the database does not answer (default: next to the SQLite file, or omstil-call-events.jsonl in the working directory)", false,
		stringSetter(func(s *Settings) *string { return &s.EventSpillFile })},
	{"leader-takeover", "OMSTIL_LEADER_TAKEOVER", "5s", "PostgreSQL: longest time from the leader's death to a standby handling the calls (1s-60s)", false,
		parsedSetter("OMSTIL_LEADER_TAKEOVER", "a duration such as 5s", time.ParseDuration, func(s *Settings) *time.Duration { return &s.LeaderTakeover })},
	{"advertise-url", "OMSTIL_ADVERTISE_URL", "", "PostgreSQL: URL the other omstil nodes reach this one at, at most 56 characters (default http://LISTEN)", false,
		stringSetter(func(s *Settings) *string { return &s.AdvertiseURL })},
	{"demo-calls-per-minute", "OMSTIL_DEMO_CALLS_PER_MINUTE", "6", "synthetic citizen calls per minute in demo mode", false,
		func(s *Settings, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("OMSTIL_DEMO_CALLS_PER_MINUTE: %q is not a number", v)
			}
			s.DemoCallsPerMinute = f
			return nil
		}},
	{"oidc-issuer", "OMSTIL_OIDC_ISSUER", "", "OpenID Connect issuer URL for single sign-on (empty: local users only)", false,
		stringSetter(func(s *Settings) *string { return &s.OIDCIssuer })},
	{"oidc-client-id", "OMSTIL_OIDC_CLIENT_ID", "", "OpenID Connect client ID", false,
		stringSetter(func(s *Settings) *string { return &s.OIDCClientID })},
	{"oidc-client-secret", "OMSTIL_OIDC_CLIENT_SECRET", "", "OpenID Connect client secret (prefer OMSTIL_OIDC_CLIENT_SECRET_FILE)", true,
		secretSetter(func(s *Settings) *Secret { return &s.OIDCClientSecret })},
	{"oidc-role-claim", "OMSTIL_OIDC_ROLE_CLAIM", "groups", "ID-token claim holding the person's groups or roles", false,
		stringSetter(func(s *Settings) *string { return &s.OIDCRoleClaim })},
	{"oidc-role-map", "OMSTIL_OIDC_ROLE_MAP", "", "claim value to role, e.g. omstil-admins=admin,omstil-supervisors=supervisor,*=agent", false,
		stringSetter(func(s *Settings) *string { return &s.OIDCRoleMap })},
}

// LoadSettings reads settings from args (flags) and env (a lookup function,
// os.LookupEnv in production), applies defaults and validates the result.
// It returns the remaining positional arguments.
func Load(name string, args []string, env func(string) (string, bool), stderr io.Writer) (Settings, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return LoadFlags(fs, args, env)
}

// LoadSettingsFlags is LoadSettings on a flag set that may already hold a
// subcommand's own flags.
func LoadFlags(fs *flag.FlagSet, args []string, env func(string) (string, bool)) (Settings, []string, error) {
	values := make([]*string, len(settingDefs))
	for i, d := range settingDefs {
		values[i] = fs.String(d.flag, "", d.usage+" (env "+d.env+", default "+quoteDefault(d.def)+")")
	}
	if err := fs.Parse(args); err != nil {
		return Settings{}, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var s Settings
	for i, d := range settingDefs {
		v, err := settingValue(d, set[d.flag], *values[i], env)
		if err != nil {
			return Settings{}, nil, err
		}
		if err := d.set(&s, v); err != nil {
			return Settings{}, nil, err
		}
	}
	if s.PublicURL == "" {
		s.PublicURL = s.ListenURL()
	}
	if s.MediaURL == "" {
		s.MediaURL = s.PublicURL
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	s.MediaURL = strings.TrimRight(s.MediaURL, "/")
	if err := s.Validate(); err != nil {
		return Settings{}, nil, err
	}
	return s, fs.Args(), nil
}

func quoteDefault(d string) string {
	if d == "" {
		return "empty"
	}
	return d
}

func settingValue(d settingDef, flagSet bool, flagValue string, env func(string) (string, bool)) (string, error) {
	if flagSet {
		return flagValue, nil
	}
	if v, ok := env(d.env); ok {
		return v, nil
	}
	if d.secret {
		if path, ok := env(d.env + "_FILE"); ok && path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", d.env, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return d.def, nil
}

// Validate checks every setting and names the one that is wrong.
func (s Settings) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Errorf("OMSTIL_LISTEN: %q is not host:port", s.Listen))
	}
	if err := config.ValidateDSN(s.DB); err != nil {
		errs = append(errs, fmt.Errorf("OMSTIL_DB: %w", err))
	}
	if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OMSTIL_PUBLIC_URL: %q is not an http(s) URL", s.PublicURL))
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		errs = append(errs, errors.New("OMSTIL_TLS_CERT_FILE and OMSTIL_TLS_KEY_FILE: set both or neither"))
	}
	if s.HTTPRedirectListen != "" {
		if _, _, err := net.SplitHostPort(s.HTTPRedirectListen); err != nil {
			errs = append(errs, fmt.Errorf("OMSTIL_HTTP_REDIRECT_LISTEN: %q is not host:port", s.HTTPRedirectListen))
		} else if !strings.HasPrefix(s.PublicURL, "https://") {
			errs = append(errs, errors.New("OMSTIL_HTTP_REDIRECT_LISTEN: redirects to an https:// OMSTIL_PUBLIC_URL; set one (or OMSTIL_TLS_CERT_FILE)"))
		}
	}
	if s.LeaderTakeover < time.Second || s.LeaderTakeover > time.Minute {
		errs = append(errs, fmt.Errorf("OMSTIL_LEADER_TAKEOVER: %v is not between 1s and 60s", s.LeaderTakeover))
	}
	if s.AdvertiseURL != "" {
		if u, err := url.Parse(s.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.AdvertiseURL) > leader.MaxNameLength {
			errs = append(errs, fmt.Errorf("OMSTIL_ADVERTISE_URL: %q is not an http(s) URL of at most %d characters", s.AdvertiseURL, leader.MaxNameLength))
		}
	}
	if u, err := url.Parse(s.MediaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OMSTIL_MEDIA_URL: %q is not an http(s) URL", s.MediaURL))
	}
	if !strings.Contains(s.CallbackEndpoint, "{number}") || !strings.Contains(s.CallbackEndpoint, "/") {
		errs = append(errs, fmt.Errorf("OMSTIL_CALLBACK_ENDPOINT: %q must be a dial string with {number}, e.g. PJSIP/{number}@trunk", s.CallbackEndpoint))
	}
	if s.ARIURL != "" {
		if u, err := url.Parse(s.ARIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OMSTIL_ARI_URL: %q is not an http(s) URL such as http://127.0.0.1:8088/ari", s.ARIURL))
		}
		if s.ARIUser == "" {
			errs = append(errs, errors.New("OMSTIL_ARI_USER: required when OMSTIL_ARI_URL is set"))
		}
	}
	if s.ARIApp == "" || strings.ContainsAny(s.ARIApp, ",/ ?&") {
		errs = append(errs, fmt.Errorf("OMSTIL_ARI_APP: %q is not a valid application name", s.ARIApp))
	}
	switch s.ARIREST {
	case "http", "websocket", "auto":
	default:
		errs = append(errs, fmt.Errorf("OMSTIL_ARI_REST: %q is not http, websocket or auto", s.ARIREST))
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("OMSTIL_LOG_FORMAT: %q is not text or json", s.LogFormat))
	}
	if _, err := ParseLogLevel(s.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("OMSTIL_LOG_LEVEL: %w", err))
	}
	if s.RTPPortMin < 1024 || s.RTPPortMax > 65535 || s.RTPPortMin > s.RTPPortMax {
		errs = append(errs, fmt.Errorf("OMSTIL_RTP_PORT_MIN/MAX: %d-%d is not a port range within 1024-65535", s.RTPPortMin, s.RTPPortMax))
	}
	if net.ParseIP(s.RTPHost) == nil {
		errs = append(errs, fmt.Errorf("OMSTIL_RTP_HOST: %q is not an IP address", s.RTPHost))
	}
	if s.PublicIP != "" && net.ParseIP(s.PublicIP) == nil {
		errs = append(errs, fmt.Errorf("OMSTIL_PUBLIC_IP: %q is not an IP address", s.PublicIP))
	}
	for _, u := range s.ICEServerList() {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			errs = append(errs, fmt.Errorf("OMSTIL_ICE_SERVERS: %q is not a stun:, turn: or turns: URL", u))
		}
	}
	if s.AnnouncementMaxSeconds < 1 || s.AnnouncementMaxSeconds > 3600 {
		errs = append(errs, fmt.Errorf("OMSTIL_ANNOUNCEMENT_MAX_SECONDS: %d is not between 1 and 3600", s.AnnouncementMaxSeconds))
	}
	if s.EventBacklogMemory < 1 || s.EventBacklogMemory > 10_000_000 {
		errs = append(errs, fmt.Errorf("OMSTIL_EVENT_BACKLOG_MEMORY: %d is not between 1 and 10000000", s.EventBacklogMemory))
	}
	if strings.HasSuffix(s.EventSpillFile, "/") {
		errs = append(errs, fmt.Errorf("OMSTIL_EVENT_SPILL_FILE: %q is a directory; name a file in it", s.EventSpillFile))
	}
	if s.DemoCallsPerMinute < 0 || s.DemoCallsPerMinute > 6000 {
		errs = append(errs, fmt.Errorf("OMSTIL_DEMO_CALLS_PER_MINUTE: %g is not between 0 and 6000", s.DemoCallsPerMinute))
	}
	errs = append(errs, s.validateOIDC()...)
	return errors.Join(errs...)
}

// ParseTrustedProxies reads a comma-separated list of CIDR ranges; a
// bare address is the range of that one address. Empty is none.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if a, err := netip.ParseAddr(e); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR range", e)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%q has host bits set; did you mean %s?", e, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// ICEServerList splits ICEServers.
func (s Settings) ICEServerList() []string {
	var out []string
	for _, p := range strings.Split(s.ICEServers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseLogLevel maps a level name to slog's level.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}
